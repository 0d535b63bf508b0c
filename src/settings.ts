import { DEFAULT_DATABASE_URL } from './store/engine.js';

/**
 * Every setting sipsim reads from the environment, described once. `Config`
 * (config.ts) loads and checks them from here, the CLI builds its options from
 * here, and docs/configuration.md is generated from here (`npm run docs:settings`).
 * Nothing else reads a SIPSIM_* variable. Over 500 lines because it is one
 * table, an entry per setting, kept whole so that it is the one place to look.
 */

export type SettingType =
  /** A whole number from `min` to `max`. */
  | 'integer'
  /** `on` or `off`. */
  | 'switch'
  /** One of `values`. */
  | 'choice'
  | 'text'
  /** Text never shown (passwords, keys); kept as given, spaces included. */
  | 'secret'
  /** An http(s) URL. */
  | 'url'
  /** Names separated by commas. */
  | 'list'
  /** Requests per window, such as 1200/60s. */
  | 'rate';

/** Another name a setting is read from when its variable is unset. */
export interface SettingAlias {
  readonly variable: string;
  /** An older name, still read so that no deployment breaks; the docs say to move to the new one. */
  readonly deprecated: boolean;
}

export interface Setting {
  readonly variable: string;
  readonly aliases?: readonly SettingAlias[];
  /** The command-line flag that sets it too, as commander spells it. */
  readonly flag?: string;
  /** What the flag's help says it is. */
  readonly flagHelp?: string;
  readonly type: SettingType;
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  /** How a text setting is written, when it has a form. */
  readonly format?: string;
  /** As the variable would be written; null when unset means "none" or when `defaultText` says what happens. */
  readonly default: string | null;
  /** When the default depends on other settings, in words. */
  readonly defaultText?: string;
  readonly group: SettingGroup;
  readonly description: string;
}

export const SETTING_GROUPS = [
  'Server',
  'Store',
  'Requests and rate limits',
  'Shutdown',
  'Metrics',
  'Dashboard',
  'Webhooks',
  'Click-to-call',
  'AI',
  'Recordings',
  'Client commands',
] as const;
export type SettingGroup = (typeof SETTING_GROUPS)[number];

const SECONDS_IN_DAY = 86400;

const deprecated = (variable: string): SettingAlias => ({ variable, deprecated: true });

export const SETTINGS = {
  // ---- Server ----
  host: {
    variable: 'SIPSIM_HOST',
    flag: '--host <host>',
    flagHelp: 'address to listen on',
    type: 'text',
    default: '127.0.0.1',
    group: 'Server',
    description: 'The address `serve` listens on.',
  },
  port: {
    variable: 'SIPSIM_PORT',
    aliases: [{ variable: 'PORT', deprecated: false }],
    flag: '--port <port>',
    flagHelp: 'port to listen on',
    type: 'integer',
    min: 0,
    max: 65535,
    default: '3000',
    group: 'Server',
    description: 'The port `serve` listens on; `PORT` is read when SIPSIM_PORT is unset, as hosting platforms set it.',
  },
  logLevel: {
    variable: 'SIPSIM_LOG_LEVEL',
    flag: '--log-level <level>',
    type: 'choice',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    group: 'Server',
    description: 'How much the server logs (JSON lines on stdout).',
  },
  workers: {
    variable: 'SIPSIM_WORKERS',
    flag: '--workers <n>',
    flagHelp: 'processes serving the port, or auto for one per CPU',
    type: 'integer',
    unit: 'processes',
    min: 1,
    max: 1024,
    values: ['auto'],
    default: '1',
    group: 'Server',
    description: 'Processes serving the port; 1 serves from this process, without a cluster; `auto` starts one per CPU.',
  },
  trustProxy: {
    variable: 'SIPSIM_TRUST_PROXY',
    type: 'switch',
    default: 'off',
    group: 'Server',
    description: "Whether X-Forwarded-* headers from the peer are believed (on behind a reverse proxy): the protocol then decides the session cookie's Secure flag.",
  },
  tokenTtlSeconds: {
    variable: 'SIPSIM_TOKEN_TTL_SECONDS',
    aliases: [deprecated('SIPSIM_TOKEN_TTL')],
    type: 'integer',
    unit: 'seconds',
    min: 60,
    max: SECONDS_IN_DAY * 30,
    default: '7200',
    group: 'Server',
    description: 'How long an access token lives.',
  },

  // ---- Store ----
  databaseUrl: {
    variable: 'SIPSIM_DATABASE_URL',
    flag: '--database <url>',
    type: 'text',
    format: '`sqlite:PATH` or a `postgres://` URL',
    default: DEFAULT_DATABASE_URL,
    group: 'Store',
    description: '`sqlite:PATH` names an SQLite file; a `postgres://USER@HOST/DB` URL selects PostgreSQL.',
  },
  databasePoolSize: {
    variable: 'SIPSIM_DATABASE_POOL_SIZE',
    type: 'integer',
    unit: 'connections',
    min: 1,
    max: 1000,
    default: '10',
    group: 'Store',
    description: 'Connections each process keeps to PostgreSQL at most.',
  },
  migrateOnStart: {
    variable: 'SIPSIM_MIGRATE_ON_START',
    flag: '--no-migrate',
    type: 'switch',
    default: 'on',
    group: 'Store',
    description: 'Whether `serve` applies pending migrations before it listens (`--no-migrate` turns it off for one run).',
  },

  // ---- Requests and rate limits ----
  bodyLimitBytes: {
    variable: 'SIPSIM_BODY_LIMIT_BYTES',
    aliases: [deprecated('SIPSIM_BODY_LIMIT')],
    type: 'integer',
    unit: 'bytes',
    min: 1024,
    max: 1024 * 1024 * 100,
    default: '1048576',
    group: 'Requests and rate limits',
    description: 'Largest request body accepted.',
  },
  rateLimit: {
    variable: 'SIPSIM_RATE_LIMIT',
    type: 'switch',
    default: 'on',
    group: 'Requests and rate limits',
    description: 'Whether each client gets a budget of requests per window.',
  },
  rateLimitAuth: {
    variable: 'SIPSIM_RATE_LIMIT_AUTH',
    type: 'rate',
    unit: 'requests/window',
    default: '60/60s',
    group: 'Requests and rate limits',
    description: "Each client's budget at the token endpoint: requests per window (s, m or h) of at most a day, like 60/60s or 5000/h.",
  },
  rateLimitRead: {
    variable: 'SIPSIM_RATE_LIMIT_READ',
    type: 'rate',
    unit: 'requests/window',
    default: '1200/60s',
    group: 'Requests and rate limits',
    description: "Each client's budget of reads under /api/v2.",
  },
  rateLimitWrite: {
    variable: 'SIPSIM_RATE_LIMIT_WRITE',
    type: 'rate',
    unit: 'requests/window',
    default: '300/60s',
    group: 'Requests and rate limits',
    description: "Each client's budget of writes under /api/v2.",
  },
  redisUrl: {
    variable: 'SIPSIM_REDIS_URL',
    type: 'text',
    format: 'a `redis://` or `rediss://` URL',
    default: null,
    defaultText: 'none: counters live in each process',
    group: 'Requests and rate limits',
    description: 'A `redis://` or `rediss://` URL: rate-limit counters live there, so that limits hold across processes.',
  },
  redisKeyPrefix: {
    variable: 'SIPSIM_REDIS_KEY_PREFIX',
    type: 'text',
    default: 'sipsim:ratelimit:',
    group: 'Requests and rate limits',
    description: 'Prefix of the counter keys in Redis, so that deployments can share one server.',
  },

  // ---- Shutdown ----
  shutdownDelaySeconds: {
    variable: 'SIPSIM_SHUTDOWN_DELAY_SECONDS',
    aliases: [deprecated('SIPSIM_SHUTDOWN_DELAY')],
    type: 'integer',
    unit: 'seconds',
    min: 0,
    max: 600,
    default: '0',
    group: 'Shutdown',
    description: 'How long to go on serving after a shutdown signal, /health/ready answering 503, so that load balancers stop routing here before the listener closes.',
  },
  shutdownTimeoutSeconds: {
    variable: 'SIPSIM_SHUTDOWN_TIMEOUT_SECONDS',
    aliases: [deprecated('SIPSIM_SHUTDOWN_TIMEOUT')],
    type: 'integer',
    unit: 'seconds',
    min: 1,
    max: 3600,
    default: '10',
    group: 'Shutdown',
    description: 'How long requests in flight get to finish at shutdown, before the process exits anyway.',
  },

  // ---- Metrics ----
  metrics: {
    variable: 'SIPSIM_METRICS',
    type: 'switch',
    default: 'on',
    group: 'Metrics',
    description: 'Prometheus metrics at /metrics.',
  },
  metricsPort: {
    variable: 'SIPSIM_METRICS_PORT',
    type: 'integer',
    min: 1,
    max: 65535,
    default: null,
    defaultText: "none: /metrics is on the API's port",
    group: 'Metrics',
    description: "When set, /metrics is served on this port (same host) instead of the API's.",
  },

  // ---- Dashboard ----
  sessionIdleMinutes: {
    variable: 'SIPSIM_SESSION_IDLE_MINUTES',
    type: 'integer',
    unit: 'minutes',
    min: 1,
    max: 525600,
    default: '720',
    group: 'Dashboard',
    description: 'A dashboard session ends after this long without a request.',
  },
  sessionMaxHours: {
    variable: 'SIPSIM_SESSION_MAX_HOURS',
    type: 'integer',
    unit: 'hours',
    min: 1,
    max: 8760,
    default: '168',
    group: 'Dashboard',
    description: 'A dashboard session ends this long after sign-in, whatever the activity.',
  },

  // ---- Webhooks ----
  webhooks: {
    variable: 'SIPSIM_WEBHOOKS',
    type: 'switch',
    default: 'on',
    group: 'Webhooks',
    description: 'Whether this process delivers webhooks from the outbox (off leaves it to other processes).',
  },
  webhookTimeoutMs: {
    variable: 'SIPSIM_WEBHOOK_TIMEOUT_MS',
    type: 'integer',
    unit: 'ms',
    min: 100,
    max: 60000,
    default: '2000',
    group: 'Webhooks',
    description: 'How long a receiver has to answer.',
  },
  webhookRetryWindowSeconds: {
    variable: 'SIPSIM_WEBHOOK_RETRY_WINDOW_SECONDS',
    aliases: [deprecated('SIPSIM_WEBHOOK_RETRY_WINDOW')],
    type: 'integer',
    unit: 'seconds',
    min: 0,
    max: SECONDS_IN_DAY * 30,
    default: '86400',
    group: 'Webhooks',
    description: 'How long a failing delivery is retried before it is kept as failed.',
  },
  webhookRetryBaseMs: {
    variable: 'SIPSIM_WEBHOOK_RETRY_BASE_MS',
    type: 'integer',
    unit: 'ms',
    min: 10,
    max: 3600000,
    default: '1000',
    group: 'Webhooks',
    description: "The first retry's delay; each further one doubles, up to SIPSIM_WEBHOOK_RETRY_MAX_MS.",
  },
  webhookRetryMaxMs: {
    variable: 'SIPSIM_WEBHOOK_RETRY_MAX_MS',
    type: 'integer',
    unit: 'ms',
    min: 10,
    max: 86400000,
    default: '3600000',
    group: 'Webhooks',
    description: 'The longest delay between two retries.',
  },
  webhookConcurrency: {
    variable: 'SIPSIM_WEBHOOK_CONCURRENCY',
    type: 'integer',
    unit: 'deliveries',
    min: 1,
    max: 1000,
    default: '16',
    group: 'Webhooks',
    description: 'Deliveries in flight at once, per process.',
  },
  webhookKeepDays: {
    variable: 'SIPSIM_WEBHOOK_KEEP_DAYS',
    type: 'integer',
    unit: 'days',
    min: 0,
    max: 3650,
    default: '30',
    group: 'Webhooks',
    description: 'How long a finished delivery stays listed before it is deleted; 0 keeps them all.',
  },
  webhookAllowHttp: {
    variable: 'SIPSIM_WEBHOOK_ALLOW_HTTP',
    type: 'list',
    default: '',
    defaultText: 'none',
    group: 'Webhooks',
    description: 'Hosts that may receive webhooks over plain http besides the loopback, separated by commas (`sipsim webhooks set-url` reads it too).',
  },

  // ---- Click-to-call ----
  clickToCall: {
    variable: 'SIPSIM_CLICK_TO_CALL',
    type: 'choice',
    values: ['sip', 'simulate', 'off'],
    default: null,
    defaultText: '`sip` when SIPSIM_SIP_PROXY is set, else `simulate` under `serve --demo` with one worker, else `off`',
    group: 'Click-to-call',
    description: 'POST /api/v2/calls: `sip` places real calls through a SIP proxy; `simulate` runs calls through their states on timers; `off` answers 503. Needs a single worker.',
  },
  clickToCallLimit: {
    variable: 'SIPSIM_CLICK_TO_CALL_LIMIT',
    type: 'integer',
    unit: 'calls',
    min: 1,
    max: 10000,
    default: '10',
    group: 'Click-to-call',
    description: 'Calls in progress each account may have at once.',
  },
  sipProxy: {
    variable: 'SIPSIM_SIP_PROXY',
    type: 'text',
    format: 'a SIP URI',
    default: null,
    defaultText: 'none',
    group: 'Click-to-call',
    description: 'Where every INVITE goes: a SIP URI such as sip:pbx.internal:5060.',
  },
  sipListen: {
    variable: 'SIPSIM_SIP_LISTEN',
    type: 'text',
    format: 'host:port',
    default: '0.0.0.0:5060',
    group: 'Click-to-call',
    description: 'The address the SIP stack listens on.',
  },
  sipPublicHost: {
    variable: 'SIPSIM_SIP_PUBLIC_HOST',
    type: 'text',
    default: null,
    defaultText: 'the listen address',
    group: 'Click-to-call',
    description: 'The address put in Via and Contact, when the listen address is not the one peers reach.',
  },
  sipDomain: {
    variable: 'SIPSIM_SIP_DOMAIN',
    type: 'text',
    default: null,
    defaultText: "the proxy's host",
    group: 'Click-to-call',
    description: "The registrar's domain: phones are rung at sip:EXTENSION@DOMAIN, numbers dialled at sip:NUMBER@DOMAIN.",
  },
  sipUsername: {
    variable: 'SIPSIM_SIP_USERNAME',
    type: 'secret',
    default: null,
    defaultText: 'none',
    group: 'Click-to-call',
    description: 'The user name for digest authentication at the proxy.',
  },
  sipPassword: {
    variable: 'SIPSIM_SIP_PASSWORD',
    type: 'secret',
    default: null,
    defaultText: 'none',
    group: 'Click-to-call',
    description: 'The password for digest authentication at the proxy.',
  },
  sipPhoneRingTimeoutSeconds: {
    variable: 'SIPSIM_SIP_PHONE_RING_TIMEOUT_SECONDS',
    aliases: [deprecated('SIPSIM_SIP_PHONE_RING_TIMEOUT')],
    type: 'integer',
    unit: 'seconds',
    min: 1,
    max: 600,
    default: '30',
    group: 'Click-to-call',
    description: "How long the employee's phone rings before the call is given up.",
  },
  sipTargetRingTimeoutSeconds: {
    variable: 'SIPSIM_SIP_TARGET_RING_TIMEOUT_SECONDS',
    aliases: [deprecated('SIPSIM_SIP_TARGET_RING_TIMEOUT')],
    type: 'integer',
    unit: 'seconds',
    min: 1,
    max: 600,
    default: '60',
    group: 'Click-to-call',
    description: 'How long the number called rings before the call is given up.',
  },
  sipStripPlus: {
    variable: 'SIPSIM_SIP_STRIP_PLUS',
    type: 'switch',
    default: 'off',
    group: 'Click-to-call',
    description: 'Dial 33612345678 rather than +33612345678, for proxies and trunks that want digits.',
  },

  // ---- AI ----
  aiEngine: {
    variable: 'SIPSIM_AI_ENGINE',
    type: 'choice',
    values: ['openai', 'sandbox', 'off'],
    default: null,
    defaultText: '`openai` when SIPSIM_TRANSCRIBE_URL is set, else `sandbox` under `serve --demo`, else `off`',
    group: 'AI',
    description: "Transcripts, summaries and ratings: `openai` reaches a recognizer and a language model over OpenAI's HTTP API; `sandbox` makes them up for demo calls; `off` answers 503.",
  },
  aiWorker: {
    variable: 'SIPSIM_AI_WORKER',
    type: 'switch',
    default: 'on',
    group: 'AI',
    description: 'Whether this process runs AI jobs (off leaves them to other processes).',
  },
  transcribeUrl: {
    variable: 'SIPSIM_TRANSCRIBE_URL',
    type: 'url',
    default: null,
    defaultText: 'none',
    group: 'AI',
    description: 'An OpenAI-compatible speech-to-text server, up to /v1 (whisper.cpp, vLLM, ...).',
  },
  transcribeModel: {
    variable: 'SIPSIM_TRANSCRIBE_MODEL',
    type: 'text',
    default: 'whisper-1',
    group: 'AI',
    description: 'The model to ask the speech-to-text server for.',
  },
  transcribeApiKey: {
    variable: 'SIPSIM_TRANSCRIBE_API_KEY',
    type: 'secret',
    default: null,
    defaultText: 'none',
    group: 'AI',
    description: 'The speech-to-text server\'s key, when it wants one.',
  },
  llmUrl: {
    variable: 'SIPSIM_LLM_URL',
    type: 'url',
    default: null,
    defaultText: 'none: no summaries or ratings',
    group: 'AI',
    description: 'An OpenAI-compatible language model server, up to /v1 (Ollama, vLLM, ...).',
  },
  llmModel: {
    variable: 'SIPSIM_LLM_MODEL',
    type: 'text',
    default: 'gpt-4o-mini',
    group: 'AI',
    description: 'The model to ask the language model server for.',
  },
  llmApiKey: {
    variable: 'SIPSIM_LLM_API_KEY',
    type: 'secret',
    default: null,
    defaultText: 'none',
    group: 'AI',
    description: "The language model server's key, when it wants one.",
  },
  aiConcurrency: {
    variable: 'SIPSIM_AI_CONCURRENCY',
    type: 'integer',
    unit: 'jobs',
    min: 1,
    max: 256,
    default: '2',
    group: 'AI',
    description: 'Jobs running at once, per process.',
  },
  aiJobTimeoutMs: {
    variable: 'SIPSIM_AI_JOB_TIMEOUT_MS',
    type: 'integer',
    unit: 'ms',
    min: 100,
    max: 86_400_000,
    default: '600000',
    group: 'AI',
    description: 'How long one attempt of a job may take.',
  },
  aiMaxAttempts: {
    variable: 'SIPSIM_AI_MAX_ATTEMPTS',
    type: 'integer',
    unit: 'attempts',
    min: 1,
    max: 100,
    default: '5',
    group: 'AI',
    description: 'Attempts of a job before it is kept as failed.',
  },
  aiRetryBaseMs: {
    variable: 'SIPSIM_AI_RETRY_BASE_MS',
    type: 'integer',
    unit: 'ms',
    min: 10,
    max: 3_600_000,
    default: '5000',
    group: 'AI',
    description: "The first retry's delay; each further one doubles, up to SIPSIM_AI_RETRY_MAX_MS.",
  },
  aiRetryMaxMs: {
    variable: 'SIPSIM_AI_RETRY_MAX_MS',
    type: 'integer',
    unit: 'ms',
    min: 10,
    max: 86_400_000,
    default: '600000',
    group: 'AI',
    description: 'The longest delay between two attempts.',
  },
  aiSandboxDelayMs: {
    variable: 'SIPSIM_AI_SANDBOX_DELAY_MS',
    type: 'integer',
    unit: 'ms',
    min: 0,
    max: 600_000,
    default: '1500',
    group: 'AI',
    description: 'How long each step of the sandbox engine takes, so that clients see work in progress.',
  },

  // ---- Recordings ----
  recordingBaseUrl: {
    variable: 'SIPSIM_RECORDING_BASE_URL',
    flag: '--recording-base-url <url>',
    flagHelp: 'turn recording paths into links under this URL',
    type: 'url',
    default: null,
    defaultText: 'none: only http(s) links are kept',
    group: 'Recordings',
    description: 'Recording paths a PBX reports (/var/spool/asterisk/monitor/x.wav) become links under this URL, by file name (`sipsim import` takes it too).',
  },
  recordingsStoreDir: {
    variable: 'SIPSIM_RECORDINGS_STORE_DIR',
    type: 'text',
    default: './data/recordings',
    group: 'Recordings',
    description: 'Where recordings pushed by a PBX are kept.',
  },
  recordingsDir: {
    variable: 'SIPSIM_RECORDINGS_DIR',
    type: 'text',
    default: null,
    defaultText: 'none',
    group: 'Recordings',
    description: 'A directory the PBX writes recordings to, matched by the file name an event or CDR gives.',
  },
  recordingsMaxMb: {
    variable: 'SIPSIM_RECORDINGS_MAX_MB',
    type: 'integer',
    unit: 'MiB',
    min: 1,
    max: 10_000,
    default: '200',
    group: 'Recordings',
    description: 'Largest recording accepted.',
  },
  recordingsKeepDays: {
    variable: 'SIPSIM_RECORDINGS_KEEP_DAYS',
    type: 'integer',
    unit: 'days',
    min: 0,
    max: 36500,
    default: '0',
    group: 'Recordings',
    description: 'How long the audio of a pushed recording is kept (the call stays); 0 keeps it for ever.',
  },
  recordingsLinkTtlSeconds: {
    variable: 'SIPSIM_RECORDINGS_LINK_TTL_SECONDS',
    aliases: [deprecated('SIPSIM_RECORDINGS_LINK_TTL')],
    type: 'integer',
    unit: 'seconds',
    min: 60,
    max: 7 * SECONDS_IN_DAY,
    default: '3600',
    group: 'Recordings',
    description: 'How long a play_record_link works.',
  },

  // ---- Client commands (`sipsim calls`, `report`, `trigger`, `login`) ----
  apiUrl: {
    variable: 'SIPSIM_API_URL',
    flag: '--api-url <url>',
    type: 'url',
    default: 'http://127.0.0.1:3000',
    defaultText: "the profile's, else http://127.0.0.1:3000",
    group: 'Client commands',
    description: 'The server the client commands talk to.',
  },
  clientId: {
    variable: 'SIPSIM_CLIENT_ID',
    flag: '--client-id <id>',
    flagHelp: 'OAuth client id',
    type: 'text',
    default: null,
    defaultText: "the profile's, else the sandbox's",
    group: 'Client commands',
    description: 'The OAuth client the client commands sign in as.',
  },
  clientSecret: {
    variable: 'SIPSIM_CLIENT_SECRET',
    flag: '--client-secret <secret>',
    flagHelp: 'OAuth client secret',
    type: 'secret',
    default: null,
    defaultText: "the profile's, else the sandbox's",
    group: 'Client commands',
    description: "That client's secret.",
  },
  token: {
    variable: 'SIPSIM_TOKEN',
    flag: '--token <token>',
    flagHelp: 'a bearer token, instead of client credentials',
    type: 'secret',
    default: null,
    defaultText: 'none',
    group: 'Client commands',
    description: 'A bearer token, used instead of client credentials.',
  },
  profile: {
    variable: 'SIPSIM_PROFILE',
    flag: '--profile <name>',
    type: 'text',
    default: 'default',
    group: 'Client commands',
    description: 'A profile saved by `sipsim login` (in $XDG_CONFIG_HOME/sipsim/config.json, else ~/.config/sipsim/config.json).',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;

/** The environment a setting's value comes from, and which name it was given under (for messages). */
export interface SettingText {
  readonly text: string;
  readonly from: string;
}

/** The text given for a setting, under its name or else an alias; undefined when none is set. */
export function settingText(env: NodeJS.ProcessEnv, setting: Setting): SettingText | undefined {
  for (const variable of [setting.variable, ...(setting.aliases ?? []).map((a) => a.variable)]) {
    const text = env[variable];
    if (text !== undefined) return { text, from: variable };
  }
  return undefined;
}
