import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandling } from './plugins/errors.js';
import { registerGetAccount } from './routes/get-account.js';
import { registerGetCall } from './routes/get-call.js';
import { registerHealth } from './routes/health.js';
import { registerListCalls } from './routes/list-calls.js';
import { registerOauthToken } from './routes/oauth-token.js';

export interface AppOptions {
  store: Store;
  config: Pick<Config, 'logLevel' | 'tokenTtlSeconds' | 'bodyLimit'>;
}

const INCOMING_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the API without listening, so that tests can inject requests. */
export function buildApp({ store, config }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel, redact: ['req.headers.authorization'] },
    // One line per request is logged in onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // A request id given by a proxy in front is kept, so that logs line up.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && INCOMING_REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });

  // OAuth token requests are form-encoded (RFC 6749).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const form: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      const previous = form[key];
      form[key] = previous === undefined ? value : ([] as string[]).concat(previous, value);
    }
    done(null, form);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  registerErrorHandling(app);
  registerAuth(app);
  registerHealth(app, store);
  registerOauthToken(app, store, config.tokenTtlSeconds);
  registerGetAccount(app, store);
  registerListCalls(app, store);
  registerGetCall(app, store);
  return app;
}
