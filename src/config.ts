import { availableParallelism } from 'node:os';
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
  readonly rateLimit: RateLimitConfig;
  /** Processes serving the port; 1 serves from this process, without a cluster. */
  readonly workers: number;
  /**
   * Seconds to go on serving after a shutdown signal, /health/ready answering
   * 503, so that load balancers stop routing here before the listener closes.
   */
  readonly shutdownDelaySeconds: number;
  /** Seconds that requests in flight get to finish at shutdown, before the process exits anyway. */
  readonly shutdownTimeoutSeconds: number;
  /** Prometheus metrics at /metrics; off with SIPSIM_METRICS=off. */
  readonly metrics: boolean;
  /** When set, /metrics is served on this port (same host) instead of the API's. */
  readonly metricsPort: number | null;
  /** Connections each process keeps to PostgreSQL at most. */
  readonly databasePoolSize: number;
  /** Whether `serve` applies pending migrations before it listens. */
  readonly migrateOnStart: boolean;
  /**
   * Recording paths a PBX reports (`/var/spool/asterisk/monitor/x.wav`) become
   * links under this URL, by file name; unset, only http(s) links are kept.
   */
  readonly recordingBaseUrl: string | null;
  readonly webhooks: WebhookConfig;
  readonly clickToCall: ClickToCallConfig;
  /** Dashboard sessions: idle minutes (SIPSIM_SESSION_IDLE_MINUTES) and the absolute cap (SIPSIM_SESSION_MAX_HOURS). */
  readonly sessions: { readonly idleMinutes: number; readonly maxHours: number };
  /**
   * Whether X-Forwarded-* headers from the peer are believed (SIPSIM_TRUST_PROXY=on,
   * behind a reverse proxy): the protocol then decides the session cookie's Secure flag.
   */
  readonly trustProxy: boolean;
  readonly ai: AiConfig;
  readonly recordings: RecordingsConfig;
}

/** Call recordings sipsim holds (pushed by a PBX) or reads (from the directory a PBX writes to). */
export interface RecordingsConfig {
  /** Where pushed recordings are kept. */
  readonly storeDir: string;
  /** A directory the PBX writes recordings to, matched by the file name an event or CDR gives; null when none. */
  readonly pbxDir: string | null;
  /** Largest recording accepted, in bytes. */
  readonly maxBytes: number;
  /** Days the audio of a pushed recording is kept (the call stays); 0 keeps it for ever. */
  readonly keepDays: number;
  /** How long a play_record_link works, in seconds. */
  readonly linkTtlSeconds: number;
}

/** An OpenAI-compatible HTTP API: its base URL (up to /v1), the model to ask for, and a key when it wants one. */
export interface OpenAiEndpoint {
  readonly url: string;
  readonly model: string;
  readonly apiKey: string | null;
}

/**
 * Transcripts, summaries and ratings. `openai` reaches a recognizer
 * (SIPSIM_TRANSCRIBE_URL) and a language model (SIPSIM_LLM_URL) over
 * OpenAI's HTTP API; `sandbox` makes them up for demo calls (the default of
 * `serve --demo`); `off` answers 503.
 */
export interface AiConfig {
  readonly engine: 'openai' | 'sandbox' | 'off';
  /** Whether this process runs jobs (SIPSIM_AI_WORKER=off leaves them to other processes). */
  readonly work: boolean;
  readonly transcribe: OpenAiEndpoint | null;
  readonly llm: OpenAiEndpoint | null;
  /** Jobs running at once, per process. */
  readonly concurrency: number;
  /** How long one attempt of a job may take, in ms. */
  readonly jobTimeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** How long each step of the sandbox engine takes, in ms, so that clients see work in progress. */
  readonly sandboxDelayMs: number;
}

/**
 * POST /api/v2/calls. `sip` places real calls through a SIP proxy; `simulate`
 * runs calls through their states on timers (the sandbox's default); `off`
 * answers 503.
 */
export interface ClickToCallConfig {
  readonly mode: 'sip' | 'simulate' | 'off';
  /** Calls in progress each account may have at once. */
  readonly maxActivePerAccount: number;
  readonly sip: SipConfig | null;
}

export interface SipConfig {
  readonly listenHost: string;
  readonly listenPort: number;
  /** The address put in Via and Contact, when the listen address is not the one peers reach. */
  readonly publicHost: string | null;
  /** Where every INVITE goes: sip:host[:port]. */
  readonly proxy: string;
  /** The registrar's domain: phones are rung at sip:EXTENSION@DOMAIN, numbers dialled at sip:NUMBER@DOMAIN. */
  readonly domain: string;
  readonly username: string | null;
  readonly password: string | null;
  readonly phoneRingTimeoutSeconds: number;
  readonly targetRingTimeoutSeconds: number;
  /** Dial 33612345678 rather than +33612345678, for proxies and trunks that want digits. */
  readonly stripPlus: boolean;
}

export interface WebhookConfig {
  /** Whether this process delivers webhooks from the outbox (SIPSIM_WEBHOOKS=off leaves it to others). */
  readonly deliver: boolean;
  /** How long a receiver has to answer, in ms. */
  readonly timeoutMs: number;
  /** How long a failing delivery is retried, in seconds, before it is kept as failed. */
  readonly retryWindowSeconds: number;
  /** The first retry's delay in ms; each further one doubles, up to an hour. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Deliveries in flight at once, per process. */
  readonly concurrency: number;
  /** Hosts that may receive webhooks over plain http besides the loopback. */
  readonly allowHttpHosts: readonly string[];
  /** Days a finished delivery stays listed before it is deleted; 0 keeps them all. */
  readonly keepDays: number;
}

export const DEFAULT_RECORDINGS_CONFIG: RecordingsConfig = Object.freeze({
  storeDir: './data/recordings',
  pbxDir: null,
  maxBytes: 200 * 1024 * 1024,
  keepDays: 0,
  linkTtlSeconds: 3600,
});

/** Routes share a budget per group: the token endpoint, reads and writes under /api/v2. */
export const RATE_LIMIT_GROUPS = ['auth', 'read', 'write'] as const;
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];

export interface RateLimitRule {
  readonly max: number;
  readonly windowSeconds: number;
}

export interface RateLimitConfig {
  readonly enabled: boolean;
  /** Requests each client may make per window, per group. */
  readonly rules: Readonly<Record<RateLimitGroup, RateLimitRule>>;
  /** When set, counters live in this Redis so that limits hold across processes; otherwise in process. */
  readonly redisUrl: string | null;
  /** Prefix of the counter keys in Redis, so that deployments can share one server. */
  readonly redisKeyPrefix: string;
}

/** Generous for a sandbox: a busy integration never meets them, a runaway loop does. */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = Object.freeze({
  enabled: true,
  rules: Object.freeze({
    auth: Object.freeze({ max: 60, windowSeconds: 60 }),
    read: Object.freeze({ max: 1200, windowSeconds: 60 }),
    write: Object.freeze({ max: 300, windowSeconds: 60 }),
  }),
  redisUrl: null,
  redisKeyPrefix: 'sipsim:ratelimit:',
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface ConfigOverrides {
  databaseUrl?: string;
  host?: string;
  port?: number | string;
  logLevel?: string;
  workers?: number | string;
  migrate?: boolean;
  /** `serve --demo`: a sandbox, where click-to-call is simulated unless configured. */
  demo?: boolean;
}

function integer(name: string, value: string | number, min: number, max: number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** `1200/60s`, `1200/1m` or `1200/m`: requests per window. */
function rateRule(name: string, text: string): RateLimitRule {
  const match = /^(\d+)\/(\d*)([smh])$/.exec(text.trim());
  if (match) {
    const max = Number(match[1]);
    const windowSeconds = Number(match[2] || 1) * UNIT_SECONDS[match[3]!]!;
    if (max >= 1 && windowSeconds >= 1 && windowSeconds <= 86400) return Object.freeze({ max, windowSeconds });
  }
  throw new Error(`${name} must be requests per window of at most a day, like 1200/60s, 300/1m or 5000/h, got '${text}'`);
}

function loadRateLimit(env: NodeJS.ProcessEnv): RateLimitConfig {
  const switchValue = env.SIPSIM_RATE_LIMIT ?? 'on';
  if (switchValue !== 'on' && switchValue !== 'off') throw new Error(`SIPSIM_RATE_LIMIT must be on or off, got '${switchValue}'`);
  const redisUrl = env.SIPSIM_REDIS_URL?.trim() || null;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) throw new Error('SIPSIM_REDIS_URL must be a redis:// or rediss:// URL');
  const rules = Object.fromEntries(
    RATE_LIMIT_GROUPS.map((group) => {
      const name = `SIPSIM_RATE_LIMIT_${group.toUpperCase()}`;
      const text = env[name];
      return [group, text === undefined ? DEFAULT_RATE_LIMIT.rules[group] : rateRule(name, text)];
    }),
  ) as Record<RateLimitGroup, RateLimitRule>;
  return Object.freeze({
    enabled: switchValue === 'on',
    rules: Object.freeze(rules),
    redisUrl,
    redisKeyPrefix: env.SIPSIM_REDIS_KEY_PREFIX ?? DEFAULT_RATE_LIMIT.redisKeyPrefix,
  });
}

function baseUrl(name: string, value: string | undefined): string | null {
  if (!value?.trim()) return null;
  if (!/^https?:\/\/[^\s]+$/i.test(value.trim())) throw new Error(`${name} must be an http(s) URL, got '${value}'`);
  return value.trim();
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
    rateLimit: loadRateLimit(env),
    workers: workerCount(overrides.workers ?? env.SIPSIM_WORKERS ?? 1),
    shutdownDelaySeconds: integer('SIPSIM_SHUTDOWN_DELAY', env.SIPSIM_SHUTDOWN_DELAY ?? 0, 0, 600),
    shutdownTimeoutSeconds: integer('SIPSIM_SHUTDOWN_TIMEOUT', env.SIPSIM_SHUTDOWN_TIMEOUT ?? 10, 1, 3600),
    metrics: onOff('SIPSIM_METRICS', env.SIPSIM_METRICS ?? 'on'),
    metricsPort: env.SIPSIM_METRICS_PORT ? integer('SIPSIM_METRICS_PORT', env.SIPSIM_METRICS_PORT, 1, 65535) : null,
    databasePoolSize: integer('SIPSIM_DATABASE_POOL_SIZE', env.SIPSIM_DATABASE_POOL_SIZE ?? 10, 1, 1000),
    migrateOnStart: overrides.migrate ?? onOff('SIPSIM_MIGRATE_ON_START', env.SIPSIM_MIGRATE_ON_START ?? 'on'),
    recordingBaseUrl: baseUrl('SIPSIM_RECORDING_BASE_URL', env.SIPSIM_RECORDING_BASE_URL),
    webhooks: loadWebhookConfig(env),
    clickToCall: loadClickToCallConfig(env, overrides.demo === true, workerCount(overrides.workers ?? env.SIPSIM_WORKERS ?? 1)),
    sessions: Object.freeze({
      idleMinutes: integer('SIPSIM_SESSION_IDLE_MINUTES', env.SIPSIM_SESSION_IDLE_MINUTES ?? 720, 1, 525600),
      maxHours: integer('SIPSIM_SESSION_MAX_HOURS', env.SIPSIM_SESSION_MAX_HOURS ?? 168, 1, 8760),
    }),
    trustProxy: onOff('SIPSIM_TRUST_PROXY', env.SIPSIM_TRUST_PROXY ?? 'off'),
    ai: loadAiConfig(env, overrides.demo === true),
    recordings: Object.freeze({
      storeDir: env.SIPSIM_RECORDINGS_STORE_DIR?.trim() || DEFAULT_RECORDINGS_CONFIG.storeDir,
      pbxDir: env.SIPSIM_RECORDINGS_DIR?.trim() || null,
      maxBytes: integer('SIPSIM_RECORDINGS_MAX_MB', env.SIPSIM_RECORDINGS_MAX_MB ?? 200, 1, 10_000) * 1024 * 1024,
      keepDays: integer('SIPSIM_RECORDINGS_KEEP_DAYS', env.SIPSIM_RECORDINGS_KEEP_DAYS ?? 0, 0, 36500),
      linkTtlSeconds: integer('SIPSIM_RECORDINGS_LINK_TTL', env.SIPSIM_RECORDINGS_LINK_TTL ?? 3600, 60, 7 * 86400),
    }),
  });
}

function openAiEndpoint(prefix: string, env: NodeJS.ProcessEnv, defaultModel: string): OpenAiEndpoint | null {
  const url = baseUrl(`${prefix}_URL`, env[`${prefix}_URL`]);
  if (!url) return null;
  return Object.freeze({ url: url.replace(/\/+$/, ''), model: env[`${prefix}_MODEL`]?.trim() || defaultModel, apiKey: env[`${prefix}_API_KEY`] || null });
}

export function loadAiConfig(env: NodeJS.ProcessEnv, demo: boolean): AiConfig {
  const transcribe = openAiEndpoint('SIPSIM_TRANSCRIBE', env, 'whisper-1');
  const llm = openAiEndpoint('SIPSIM_LLM', env, 'gpt-4o-mini');
  const engine = env.SIPSIM_AI_ENGINE ?? (transcribe ? 'openai' : demo ? 'sandbox' : 'off');
  if (engine !== 'openai' && engine !== 'sandbox' && engine !== 'off') throw new Error(`SIPSIM_AI_ENGINE must be openai, sandbox or off, got '${engine}'`);
  if (engine === 'openai' && !transcribe) throw new Error('SIPSIM_AI_ENGINE=openai needs SIPSIM_TRANSCRIBE_URL, an OpenAI-compatible speech-to-text server (http://host:port/v1)');
  return Object.freeze({
    engine,
    work: onOff('SIPSIM_AI_WORKER', env.SIPSIM_AI_WORKER ?? 'on'),
    transcribe,
    llm,
    concurrency: integer('SIPSIM_AI_CONCURRENCY', env.SIPSIM_AI_CONCURRENCY ?? 2, 1, 256),
    jobTimeoutMs: integer('SIPSIM_AI_JOB_TIMEOUT_MS', env.SIPSIM_AI_JOB_TIMEOUT_MS ?? 600_000, 100, 86_400_000),
    maxAttempts: integer('SIPSIM_AI_MAX_ATTEMPTS', env.SIPSIM_AI_MAX_ATTEMPTS ?? 5, 1, 100),
    retryBaseMs: integer('SIPSIM_AI_RETRY_BASE_MS', env.SIPSIM_AI_RETRY_BASE_MS ?? 5000, 10, 3_600_000),
    retryMaxMs: integer('SIPSIM_AI_RETRY_MAX_MS', env.SIPSIM_AI_RETRY_MAX_MS ?? 600_000, 10, 86_400_000),
    sandboxDelayMs: integer('SIPSIM_AI_SANDBOX_DELAY_MS', env.SIPSIM_AI_SANDBOX_DELAY_MS ?? 1500, 0, 600_000),
  });
}

function loadClickToCallConfig(env: NodeJS.ProcessEnv, demo: boolean, workers: number): ClickToCallConfig {
  const proxy = env.SIPSIM_SIP_PROXY?.trim() || null;
  const asked = env.SIPSIM_CLICK_TO_CALL ?? (proxy ? 'sip' : null);
  // Calls in progress live in the process that placed them (it holds their SIP
  // dialogs), so click-to-call runs in a single process. The sandbox's
  // simulation simply stays off under several workers.
  const mode = asked ?? (demo && workers === 1 ? 'simulate' : 'off');
  if (mode !== 'sip' && mode !== 'simulate' && mode !== 'off') throw new Error(`SIPSIM_CLICK_TO_CALL must be sip, simulate or off, got '${mode}'`);
  if (mode !== 'off' && workers > 1) {
    throw new Error('click-to-call keeps its calls in the process that placed them: serve it with --workers 1, or set SIPSIM_CLICK_TO_CALL=off');
  }
  const maxActivePerAccount = integer('SIPSIM_CLICK_TO_CALL_LIMIT', env.SIPSIM_CLICK_TO_CALL_LIMIT ?? 10, 1, 10000);
  if (mode !== 'sip') return Object.freeze({ mode, maxActivePerAccount, sip: null });
  if (!proxy) throw new Error('SIPSIM_CLICK_TO_CALL=sip needs SIPSIM_SIP_PROXY, the SIP proxy to send calls through (sip:host:port)');
  const proxyHost = /^sips?:(?:[^@;]+@)?(\[[^\]]+\]|[^:;>]+)/i.exec(proxy)?.[1];
  if (!proxyHost) throw new Error(`SIPSIM_SIP_PROXY must be a SIP URI such as sip:pbx.internal:5060, got '${proxy}'`);
  const listen = env.SIPSIM_SIP_LISTEN?.trim() || '0.0.0.0:5060';
  const listenMatch = /^(.+):(\d+)$/.exec(listen);
  if (!listenMatch) throw new Error(`SIPSIM_SIP_LISTEN must be host:port, got '${listen}'`);
  return Object.freeze({
    mode,
    maxActivePerAccount,
    sip: Object.freeze({
      listenHost: listenMatch[1]!.replace(/^\[|\]$/g, ''),
      listenPort: integer('SIPSIM_SIP_LISTEN port', listenMatch[2]!, 0, 65535),
      publicHost: env.SIPSIM_SIP_PUBLIC_HOST?.trim() || null,
      proxy,
      domain: env.SIPSIM_SIP_DOMAIN?.trim() || proxyHost,
      username: env.SIPSIM_SIP_USERNAME || null,
      password: env.SIPSIM_SIP_PASSWORD || null,
      phoneRingTimeoutSeconds: integer('SIPSIM_SIP_PHONE_RING_TIMEOUT', env.SIPSIM_SIP_PHONE_RING_TIMEOUT ?? 30, 1, 600),
      targetRingTimeoutSeconds: integer('SIPSIM_SIP_TARGET_RING_TIMEOUT', env.SIPSIM_SIP_TARGET_RING_TIMEOUT ?? 60, 1, 600),
      stripPlus: onOff('SIPSIM_SIP_STRIP_PLUS', env.SIPSIM_SIP_STRIP_PLUS ?? 'off'),
    }),
  });
}

/** Webhook delivery settings; the CLI reads them too (`webhooks set-url` checks the URL against the allowed hosts). */
export function loadWebhookConfig(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  return Object.freeze({
    deliver: onOff('SIPSIM_WEBHOOKS', env.SIPSIM_WEBHOOKS ?? 'on'),
    timeoutMs: integer('SIPSIM_WEBHOOK_TIMEOUT_MS', env.SIPSIM_WEBHOOK_TIMEOUT_MS ?? 2000, 100, 60000),
    retryWindowSeconds: integer('SIPSIM_WEBHOOK_RETRY_WINDOW', env.SIPSIM_WEBHOOK_RETRY_WINDOW ?? 86400, 0, 86400 * 30),
    retryBaseMs: integer('SIPSIM_WEBHOOK_RETRY_BASE_MS', env.SIPSIM_WEBHOOK_RETRY_BASE_MS ?? 1000, 10, 3600000),
    retryMaxMs: integer('SIPSIM_WEBHOOK_RETRY_MAX_MS', env.SIPSIM_WEBHOOK_RETRY_MAX_MS ?? 3600000, 10, 86400000),
    concurrency: integer('SIPSIM_WEBHOOK_CONCURRENCY', env.SIPSIM_WEBHOOK_CONCURRENCY ?? 16, 1, 1000),
    keepDays: integer('SIPSIM_WEBHOOK_KEEP_DAYS', env.SIPSIM_WEBHOOK_KEEP_DAYS ?? 30, 0, 3650),
    allowHttpHosts: Object.freeze(
      (env.SIPSIM_WEBHOOK_ALLOW_HTTP ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  });
}

/** A number of processes, or `auto` for one per CPU. */
function workerCount(value: number | string): number {
  return value === 'auto' ? availableParallelism() : integer('workers', value, 1, 1024);
}

function onOff(name: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`${name} must be on or off, got '${value}'`);
  return value === 'on';
}
