import { availableParallelism } from 'node:os';
import { SETTINGS, settingText, type Setting, type SettingText } from './settings.js';
import { parseDatabaseUrl } from './store/engine.js';

/**
 * Everything the server can be told, from the environment and flags, checked
 * once: each value is read as src/settings.ts describes it (its variable, the
 * older names it still answers to, its default and its range).
 */
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
  storeDir: SETTINGS.recordingsStoreDir.default,
  pbxDir: null,
  maxBytes: Number(SETTINGS.recordingsMaxMb.default) * 1024 * 1024,
  keepDays: Number(SETTINGS.recordingsKeepDays.default),
  linkTtlSeconds: Number(SETTINGS.recordingsLinkTtlSeconds.default),
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

const RATE_LIMIT_SETTINGS: Record<RateLimitGroup, Setting> = {
  auth: SETTINGS.rateLimitAuth,
  read: SETTINGS.rateLimitRead,
  write: SETTINGS.rateLimitWrite,
};

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

/** A setting's text as given, else its default. */
function textOf(env: NodeJS.ProcessEnv, setting: Setting): SettingText {
  return settingText(env, setting) ?? { text: setting.default ?? '', from: setting.variable };
}

/** An integer setting, checked against its range; the message names the variable it was given under. */
function integerSetting(env: NodeJS.ProcessEnv, setting: Setting): number {
  const { text, from } = textOf(env, setting);
  return integer(from, text, setting.min!, setting.max!);
}

function switchSetting(env: NodeJS.ProcessEnv, setting: Setting): boolean {
  const { text, from } = textOf(env, setting);
  return onOff(from, text);
}

/** A text setting, trimmed; its default when unset or blank. */
function trimmedSetting(env: NodeJS.ProcessEnv, setting: Setting): string | null {
  return settingText(env, setting)?.text.trim() || setting.default;
}

/** A secret, as given: its spaces may be part of it. */
function secretSetting(env: NodeJS.ProcessEnv, setting: Setting): string | null {
  return settingText(env, setting)?.text || null;
}

function choiceSetting(env: NodeJS.ProcessEnv, setting: Setting, otherwise: string): string {
  const given = settingText(env, setting);
  const value = given?.text ?? otherwise;
  const values = setting.values!;
  if (!values.includes(value)) {
    throw new Error(`${given?.from ?? setting.variable} must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}, got '${value}'`);
  }
  return value;
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

function rateSetting(env: NodeJS.ProcessEnv, setting: Setting): RateLimitRule {
  const { text, from } = textOf(env, setting);
  return rateRule(from, text);
}

/** Generous for a sandbox: a busy integration never meets them, a runaway loop does. */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = loadRateLimit({});

function loadRateLimit(env: NodeJS.ProcessEnv): RateLimitConfig {
  const enabled = switchSetting(env, SETTINGS.rateLimit);
  const redisUrl = trimmedSetting(env, SETTINGS.redisUrl);
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) throw new Error('SIPSIM_REDIS_URL must be a redis:// or rediss:// URL');
  const rules = Object.fromEntries(RATE_LIMIT_GROUPS.map((group) => [group, rateSetting(env, RATE_LIMIT_SETTINGS[group])])) as Record<RateLimitGroup, RateLimitRule>;
  return Object.freeze({
    enabled,
    rules: Object.freeze(rules),
    redisUrl,
    redisKeyPrefix: settingText(env, SETTINGS.redisKeyPrefix)?.text ?? SETTINGS.redisKeyPrefix.default,
  });
}

function baseUrl(name: string, value: string | undefined): string | null {
  if (!value?.trim()) return null;
  if (!/^https?:\/\/[^\s]+$/i.test(value.trim())) throw new Error(`${name} must be an http(s) URL, got '${value}'`);
  return value.trim();
}

function urlSetting(env: NodeJS.ProcessEnv, setting: Setting): string | null {
  const given = settingText(env, setting);
  return baseUrl(given?.from ?? setting.variable, given?.text);
}

/** The store's URL from the environment, as given (unchecked): where the sandbox keeps its demo credentials beside it. */
export function databaseUrlSetting(env: NodeJS.ProcessEnv = process.env): string {
  return settingText(env, SETTINGS.databaseUrl)?.text || SETTINGS.databaseUrl.default;
}

export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = overrides.databaseUrl ?? settingText(env, SETTINGS.databaseUrl)?.text ?? SETTINGS.databaseUrl.default;
  parseDatabaseUrl(databaseUrl);
  const logLevel = overrides.logLevel ?? settingText(env, SETTINGS.logLevel)?.text ?? SETTINGS.logLevel.default;
  const levels: readonly string[] = SETTINGS.logLevel.values;
  if (!levels.includes(logLevel)) throw new Error(`log level must be one of ${levels.join(', ')}`);
  const workers = workerCount(overrides.workers ?? textOf(env, SETTINGS.workers).text);
  return Object.freeze({
    databaseUrl,
    host: overrides.host ?? settingText(env, SETTINGS.host)?.text ?? SETTINGS.host.default,
    port: integer('port', overrides.port ?? textOf(env, SETTINGS.port).text, SETTINGS.port.min, SETTINGS.port.max),
    logLevel,
    tokenTtlSeconds: integerSetting(env, SETTINGS.tokenTtlSeconds),
    bodyLimit: integerSetting(env, SETTINGS.bodyLimitBytes),
    rateLimit: loadRateLimit(env),
    workers,
    shutdownDelaySeconds: integerSetting(env, SETTINGS.shutdownDelaySeconds),
    shutdownTimeoutSeconds: integerSetting(env, SETTINGS.shutdownTimeoutSeconds),
    metrics: switchSetting(env, SETTINGS.metrics),
    metricsPort: settingText(env, SETTINGS.metricsPort)?.text ? integerSetting(env, SETTINGS.metricsPort) : null,
    databasePoolSize: integerSetting(env, SETTINGS.databasePoolSize),
    migrateOnStart: overrides.migrate ?? switchSetting(env, SETTINGS.migrateOnStart),
    recordingBaseUrl: urlSetting(env, SETTINGS.recordingBaseUrl),
    webhooks: loadWebhookConfig(env),
    clickToCall: loadClickToCallConfig(env, overrides.demo === true, workers),
    sessions: Object.freeze({
      idleMinutes: integerSetting(env, SETTINGS.sessionIdleMinutes),
      maxHours: integerSetting(env, SETTINGS.sessionMaxHours),
    }),
    trustProxy: switchSetting(env, SETTINGS.trustProxy),
    ai: loadAiConfig(env, overrides.demo === true),
    recordings: Object.freeze({
      storeDir: trimmedSetting(env, SETTINGS.recordingsStoreDir)!,
      pbxDir: trimmedSetting(env, SETTINGS.recordingsDir),
      maxBytes: integerSetting(env, SETTINGS.recordingsMaxMb) * 1024 * 1024,
      keepDays: integerSetting(env, SETTINGS.recordingsKeepDays),
      linkTtlSeconds: integerSetting(env, SETTINGS.recordingsLinkTtlSeconds),
    }),
  });
}

function openAiEndpoint(env: NodeJS.ProcessEnv, url: Setting, model: Setting, apiKey: Setting): OpenAiEndpoint | null {
  const base = urlSetting(env, url);
  if (!base) return null;
  return Object.freeze({ url: base.replace(/\/+$/, ''), model: trimmedSetting(env, model)!, apiKey: secretSetting(env, apiKey) });
}

export function loadAiConfig(env: NodeJS.ProcessEnv, demo: boolean): AiConfig {
  const transcribe = openAiEndpoint(env, SETTINGS.transcribeUrl, SETTINGS.transcribeModel, SETTINGS.transcribeApiKey);
  const llm = openAiEndpoint(env, SETTINGS.llmUrl, SETTINGS.llmModel, SETTINGS.llmApiKey);
  const engine = choiceSetting(env, SETTINGS.aiEngine, transcribe ? 'openai' : demo ? 'sandbox' : 'off') as AiConfig['engine'];
  if (engine === 'openai' && !transcribe) throw new Error('SIPSIM_AI_ENGINE=openai needs SIPSIM_TRANSCRIBE_URL, an OpenAI-compatible speech-to-text server (http://host:port/v1)');
  return Object.freeze({
    engine,
    work: switchSetting(env, SETTINGS.aiWorker),
    transcribe,
    llm,
    concurrency: integerSetting(env, SETTINGS.aiConcurrency),
    jobTimeoutMs: integerSetting(env, SETTINGS.aiJobTimeoutMs),
    maxAttempts: integerSetting(env, SETTINGS.aiMaxAttempts),
    retryBaseMs: integerSetting(env, SETTINGS.aiRetryBaseMs),
    retryMaxMs: integerSetting(env, SETTINGS.aiRetryMaxMs),
    sandboxDelayMs: integerSetting(env, SETTINGS.aiSandboxDelayMs),
  });
}

function loadClickToCallConfig(env: NodeJS.ProcessEnv, demo: boolean, workers: number): ClickToCallConfig {
  const proxy = trimmedSetting(env, SETTINGS.sipProxy);
  // Calls in progress live in the process that placed them (it holds their SIP
  // dialogs), so click-to-call runs in a single process. The sandbox's
  // simulation simply stays off under several workers.
  const mode = choiceSetting(env, SETTINGS.clickToCall, proxy ? 'sip' : demo && workers === 1 ? 'simulate' : 'off') as ClickToCallConfig['mode'];
  if (mode !== 'off' && workers > 1) {
    throw new Error('click-to-call keeps its calls in the process that placed them: serve it with --workers 1, or set SIPSIM_CLICK_TO_CALL=off');
  }
  const maxActivePerAccount = integerSetting(env, SETTINGS.clickToCallLimit);
  if (mode !== 'sip') return Object.freeze({ mode, maxActivePerAccount, sip: null });
  if (!proxy) throw new Error('SIPSIM_CLICK_TO_CALL=sip needs SIPSIM_SIP_PROXY, the SIP proxy to send calls through (sip:host:port)');
  const proxyHost = /^sips?:(?:[^@;]+@)?(\[[^\]]+\]|[^:;>]+)/i.exec(proxy)?.[1];
  if (!proxyHost) throw new Error(`SIPSIM_SIP_PROXY must be a SIP URI such as sip:pbx.internal:5060, got '${proxy}'`);
  const listen = trimmedSetting(env, SETTINGS.sipListen)!;
  const listenMatch = /^(.+):(\d+)$/.exec(listen);
  if (!listenMatch) throw new Error(`SIPSIM_SIP_LISTEN must be host:port, got '${listen}'`);
  return Object.freeze({
    mode,
    maxActivePerAccount,
    sip: Object.freeze({
      listenHost: listenMatch[1]!.replace(/^\[|\]$/g, ''),
      listenPort: integer('SIPSIM_SIP_LISTEN port', listenMatch[2]!, 0, 65535),
      publicHost: trimmedSetting(env, SETTINGS.sipPublicHost),
      proxy,
      domain: trimmedSetting(env, SETTINGS.sipDomain) ?? proxyHost,
      username: secretSetting(env, SETTINGS.sipUsername),
      password: secretSetting(env, SETTINGS.sipPassword),
      phoneRingTimeoutSeconds: integerSetting(env, SETTINGS.sipPhoneRingTimeoutSeconds),
      targetRingTimeoutSeconds: integerSetting(env, SETTINGS.sipTargetRingTimeoutSeconds),
      stripPlus: switchSetting(env, SETTINGS.sipStripPlus),
    }),
  });
}

/** Webhook delivery settings; the CLI reads them too (`webhooks set-url` checks the URL against the allowed hosts). */
export function loadWebhookConfig(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  return Object.freeze({
    deliver: switchSetting(env, SETTINGS.webhooks),
    timeoutMs: integerSetting(env, SETTINGS.webhookTimeoutMs),
    retryWindowSeconds: integerSetting(env, SETTINGS.webhookRetryWindowSeconds),
    retryBaseMs: integerSetting(env, SETTINGS.webhookRetryBaseMs),
    retryMaxMs: integerSetting(env, SETTINGS.webhookRetryMaxMs),
    concurrency: integerSetting(env, SETTINGS.webhookConcurrency),
    keepDays: integerSetting(env, SETTINGS.webhookKeepDays),
    allowHttpHosts: Object.freeze(
      textOf(env, SETTINGS.webhookAllowHttp)
        .text.split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  });
}

/** A number of processes, or `auto` for one per CPU. */
function workerCount(value: number | string): number {
  return value === 'auto' ? availableParallelism() : integer('workers', value, SETTINGS.workers.min, SETTINGS.workers.max);
}

function onOff(name: string, value: string): boolean {
  if (value !== 'on' && value !== 'off') throw new Error(`${name} must be on or off, got '${value}'`);
  return value === 'on';
}
