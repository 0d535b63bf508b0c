import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config, WebhookConfig } from '../config.js';
import { ApiError } from '../domain/errors.js';
import { deepTextProblem } from '../domain/text.js';
import type { Store } from '../store/store.js';
import { sendErrors } from './envelope.js';
import { registerOpenApi } from './openapi.js';
import { registerAuth, registerRouteAccess } from './plugins/auth.js';
import { registerDraining } from './plugins/draining.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerMetrics, type MetricsOptions } from './plugins/metrics.js';
import { registerRateLimit, type RateLimitSettings } from './plugins/rate-limit.js';
import type { ClickToCallService } from '../click-to-call/service.js';
import { AiService } from '../ai/service.js';
import type { AiEngine } from '../ai/engine.js';
import { RecordingService } from '../recordings/service.js';
import { DEFAULT_RECORDINGS_CONFIG } from '../config.js';
import { registerRoutes } from './routes/index.js';
import { validatorCompiler } from './validation.js';
import { registerSessions } from './plugins/session.js';
import { DEFAULT_WEB_DIR, registerWebApp } from './plugins/web-app.js';
import { DEFAULT_SESSION_SETTINGS, UserService } from '../users/service.js';
import { VERSION } from '../version.js';

export interface AppOptions {
  store: Store;
  /** Rate limits default to in-process counters with the default rules. */
  config: Pick<Config, 'logLevel' | 'tokenTtlSeconds' | 'bodyLimit'> & {
    rateLimit?: RateLimitSettings;
    recordingBaseUrl?: string | null;
    /** Dashboard sessions; the defaults when absent. */
    sessions?: Config['sessions'];
    /** Believe X-Forwarded-* (behind a reverse proxy). */
    trustProxy?: boolean;
    /** The webhook rules the dashboard's Integrations page applies. */
    webhooks?: Pick<WebhookConfig, 'allowHttpHosts' | 'timeoutMs'>;
  };
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
  metrics?: MetricsOptions;
  /** Click-to-call; without it POST /api/v2/calls answers 503. */
  clickToCall?: ClickToCallService | null;
  /** The dashboard's built files (dist/web by default); null serves no pages. */
  webDir?: string | null;
  /** What makes transcripts, summaries and ratings; without it their POSTs answer 503. */
  ai?: AiEngine | null;
  /** Recordings pushed by a PBX; by default kept under ./data/recordings. */
  recordings?: RecordingService;
}

/** Longest path parameter the router takes; a longer one is a 414. */
const MAX_PARAM_LENGTH = 200;

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

const badBody = (problem: string) => new ApiError('INVALID_BODY', `Text in the request body ${problem}`);
/** Builds the API without listening, so that tests can inject requests. */
export function buildApp({ store, config, logStream, metrics, clickToCall, webDir = DEFAULT_WEB_DIR, ai, recordings }: AppOptions): FastifyInstance {
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
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // Errors the router raises before any hook runs, in the API's envelope like every other.
    frameworkErrors: (error, request, reply) => {
      reply.header('X-Request-Id', request.id);
      const apiError =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new ApiError('PATH_PARAMETER_TOO_LONG', String(MAX_PARAM_LENGTH))
          : new ApiError('BAD_URL', request.url.split('?')[0]!.slice(0, 200));
      void sendErrors(request, reply, apiError.status, apiError.code, apiError.messages);
    },
    // Idle keep-alive connections close at shutdown; busy ones finish their request.
    forceCloseConnections: 'idle',
    // A request that reaches a closing server on a kept-alive connection is still served.
    return503OnClosing: false,
    // Longer than load balancers' idle timeouts (60 s for AWS ALB and nginx), so
    // that they never send a request on a connection this end is closing.
    keepAliveTimeout: 65_000,
    // A client gets this long to send a whole request, so slow ones cannot hold connections forever.
    requestTimeout: 60_000,
    trustProxy: config.trustProxy ?? false,
  });

  // OAuth token requests are form-encoded (RFC 6749).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    // No prototype: a field named __proto__ or constructor is a field like any other.
    const form: Record<string, string | string[]> = Object.create(null);
    for (const [key, value] of new URLSearchParams(body as string)) {
      const previous = form[key];
      form[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
    }
    const problem = deepTextProblem(form);
    done(problem ? badBody(problem) : null, form);
  });
  // JSON as Fastify parses it (prototype poisoning refused), and no NUL or lone
  // surrogate in any text (see textProblem).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // Clients that label every request JSON send DELETEs with no body; a
    // route that needs one says so through its schema.
    if ((body as string).trim() === '') return done(null, undefined);
    parseJson(request, body as string, (error, value) => {
      if (error) return done(error);
      const problem = deepTextProblem(value);
      done(problem ? badBody(problem) : null, value);
    });
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
    // The same rule for the query string: a NUL reaching PostgreSQL in a filter would be a 500, never a result.
    const problem = deepTextProblem(request.query);
    if (problem) throw new ApiError('INVALID_PARAMETER', `Query parameters ${problem}`);
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
  registerErrorHandling(app, webDir === null ? undefined : registerWebApp(app, webDir));
  registerAuth(app);
  const sessions = config.sessions ?? DEFAULT_SESSION_SETTINGS;
  registerSessions(app, new UserService(store, sessions), config.trustProxy ?? false);
  registerDraining(app);
  registerMetrics(app, store, metrics);
  registerRateLimit(app, store, config.rateLimit, { onReject: (group) => app.metrics.rateLimitRejected(group) });
  registerOpenApi(app, VERSION);
  // Routes are added once the OpenAPI plugin has loaded, so that it sees every one.
  app.register(async (api) => {
    registerRouteAccess(api, store);
    registerRoutes(api, {
      store,
      recordings: recordingService,
      clickToCall: clickToCall ?? null,
      ai: new AiService(store, ai ?? null),
      metrics,
      tokenTtlSeconds: config.tokenTtlSeconds,
      cdrFormat: { recordingBaseUrl: config.recordingBaseUrl ?? undefined },
      sessionMaxHours: sessions.maxHours,
      integrations: {
        allowHttpHosts: config.webhooks?.allowHttpHosts ?? [],
        webhookTimeoutMs: config.webhooks?.timeoutMs ?? 2000,
      },
    });
  });
  // After every route: each known path answers the methods it lacks with a 405.
  app.register(async (scope) => scope.answerOtherMethods());
  return app;
}
