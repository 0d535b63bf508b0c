import { DEFAULT_DATABASE_URL, parseDatabaseUrl } from './store/engine.js';

/** Everything the server can be told, from the environment and flags, checked once. */
export interface Config {
  readonly databaseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  /** Access-token lifetime in seconds. */
  readonly tokenTtlSeconds: number;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ConfigOverrides {
  databaseUrl?: string;
  host?: string;
  port?: number | string;
  logLevel?: string;
}

function integer(name: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = overrides.databaseUrl ?? env.SIPSIM_DATABASE_URL ?? DEFAULT_DATABASE_URL;
  parseDatabaseUrl(databaseUrl);
  const logLevel = overrides.logLevel ?? env.SIPSIM_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}`);
  return Object.freeze({
    databaseUrl,
    host: overrides.host ?? env.SIPSIM_HOST ?? '127.0.0.1',
    port: integer('port', overrides.port ?? env.SIPSIM_PORT ?? env.PORT ?? 3000, 0, 65535),
    logLevel,
    tokenTtlSeconds: integer('SIPSIM_TOKEN_TTL', env.SIPSIM_TOKEN_TTL ?? 7200, 60, 86400 * 30),
    bodyLimit: integer('SIPSIM_BODY_LIMIT', env.SIPSIM_BODY_LIMIT ?? 1048576, 1024, 1024 * 1024 * 100),
  });
}
