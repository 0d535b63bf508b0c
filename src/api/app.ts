import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import { registerOpenApi } from './openapi.js';
import { registerAuth } from './plugins/auth.js';
import { registerDraining } from './plugins/draining.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerMetrics, registerMetricsRoute, type MetricsOptions } from './plugins/metrics.js';
import { registerRateLimit, type RateLimitSettings } from './plugins/rate-limit.js';
import { registerGetAccount } from './routes/get-account.js';
import { registerGetCall } from './routes/get-call.js';
import { registerHealth } from './routes/health.js';
import { registerListCalls } from './routes/list-calls.js';
import { registerExportCalls } from './routes/export-calls.js';
import { registerOauthToken } from './routes/oauth-token.js';
import { registerFreeswitchCdr } from './routes/freeswitch-cdr.js';
import { registerImportCalls } from './routes/import-calls.js';
import { registerPbxEvents } from './routes/pbx-events.js';
import { registerCallTags } from './routes/call-tags.js';
import { registerEmployees } from './routes/employees.js';
import { registerWebhooks } from './routes/webhooks.js';
import { registerClickToCall } from './routes/click-to-call.js';
import type { ClickToCallService } from '../click-to-call/service.js';
import { registerPhones } from './routes/phones.js';
import { registerCallAi } from './routes/call-ai.js';
import { registerAiSettings } from './routes/ai-settings.js';
import { AiService } from '../ai/service.js';
import type { AiEngine } from '../ai/engine.js';
import { registerRecordings } from './routes/recordings.js';
import { RecordingService } from '../recordings/service.js';
import { DEFAULT_RECORDINGS_CONFIG } from '../config.js';
import { registerTags } from './routes/tags.js';
import { validatorCompiler } from './validation.js';
import { VERSION } from '../version.js';

export interface AppOptions {
  store: Store;
  /** Rate limits default to in-process counters with the default rules. */
  config: Pick<Config, 'logLevel' | 'tokenTtlSeconds' | 'bodyLimit'> & { rateLimit?: RateLimitSettings; recordingBaseUrl?: string | null };
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
  metrics?: MetricsOptions;
  /** Click-to-call; without it POST /api/v2/calls answers 503. */
  clickToCall?: ClickToCallService | null;
  /** What makes transcripts, summaries and ratings; without it their POSTs answer 503. */
  ai?: AiEngine | null;
  /** Recordings pushed by a PBX; by default kept under ./data/recordings. */
  recordings?: RecordingService;
}

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Credentials never reach a log line, whatever a future log call passes along. */
const LOG_REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  'client_secret',
  'access_token',
  '*.client_secret',
  '*.access_token',
];

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || hasNul(v));
}

const nulError = () => new ApiError('INVALID_BODY', 'Text in the request body must not contain NUL characters (\\u0000)');

/** Builds the API without listening, so that tests can inject requests. */
export function buildApp({ store, config, logStream, metrics, clickToCall, ai, recordings }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel, redact: LOG_REDACT, stream: logStream },
    // One line per request is logged in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // A request id given by a proxy in front is kept, so that logs line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && INCOMING_REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Idle keep-alive connections close at shutdown; busy ones finish their request.
    forceCloseConnections: 'idle',
    // A request that reaches a closing server on a kept-alive connection is still served.
    return503OnClosing: false,
    // Longer than load balancers' idle timeouts (60 s for AWS ALB and nginx), so
    // that they never send a request on a connection this end is closing.
    keepAliveTimeout: 65_000,
    // A client gets this long to send a whole request, so slow ones cannot hold connections forever.
    requestTimeout: 60_000,
  });

  // OAuth token requests are form-encoded (RFC 6749).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      const previous = form[key];
      form[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
    }
    done(hasNul(form) ? nulError() : null, form);
  });
  // JSON as Fastify parses it (prototype poisoning refused), and no NUL in any
  // text: PostgreSQL cannot store one, and no name or number contains one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Clients that label every request JSON send DELETEs with no body; a
    // route that needs one says so through its schema.
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, (error, value) => {
      if (error) return done(error);
      done(hasNul(value) ? nulError() : null, value);
    });
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    // The same rule for the query string: a NUL reaching PostgreSQL in a filter is a 500, never a result.
    if (hasNul(request.query)) throw new ApiError('INVALID_PARAMETER', 'Query parameters must not contain NUL characters (\\u0000)');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  const recordingService = recordings ?? new RecordingService(store, DEFAULT_RECORDINGS_CONFIG);

  app.setValidatorCompiler(validatorCompiler);
  // Response schemas only document: bodies leave as strings built with
  // JSON.stringify (measured faster), so serializers compiled from the schemas
  // would never run, and compiling them made startup several times slower.
  app.setSerializerCompiler(() => JSON.stringify);
  registerErrorHandling(app);
  registerAuth(app);
  registerDraining(app);
  registerMetrics(app, store, metrics);
  registerRateLimit(app, store, config.rateLimit, { onReject: (group) => app.metrics.rateLimitRejected(group) });
  registerOpenApi(app, VERSION);
  // Routes are added once the OpenAPI plugin has loaded, so that it sees every one.
  app.register(async (api) => {
    registerHealth(api, store);
    registerMetricsRoute(api, metrics);
    registerOauthToken(api, store, config.tokenTtlSeconds);
    registerGetAccount(api, store);
    registerListCalls(api, store, recordingService);
    registerExportCalls(api, store);
    registerImportCalls(api, store);
    registerPbxEvents(api, store);
    registerFreeswitchCdr(api, store, { recordingBaseUrl: config.recordingBaseUrl ?? undefined });
    registerGetCall(api, store, recordingService);
    registerTags(api, store);
    registerCallTags(api, store);
    registerPhones(api, store);
    registerEmployees(api, store);
    registerWebhooks(api, store);
    registerClickToCall(api, store, clickToCall ?? null);
    registerCallAi(api, store, new AiService(store, ai ?? null));
    registerAiSettings(api, store);
    registerRecordings(api, store, recordingService);
  });
  return app;
}
