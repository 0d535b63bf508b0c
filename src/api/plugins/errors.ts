import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, StoreConflictError, StoreUnavailableError, errorRegistry, type ErrorCode } from '../../domain/errors.js';
import { sendErrors } from '../envelope.js';

/** Fastify's own client errors, mapped onto the registry. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
};

/** Every failure leaves in the documented error envelope; nothing a client sends yields a 500. */
export function registerErrorHandling(
  app: FastifyInstance,
  /** Answers what no route matched before the 404 (the dashboard's pages); false leaves it to the 404. */
  fallback?: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>,
): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return sendErrors(request, reply, error.status, error.code, error.messages);
    }
    if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error.cause }, 'store unavailable');
      reply.header('Retry-After', '5');
      const entry = errorRegistry.STORE_UNAVAILABLE;
      return sendErrors(request, reply, entry.status, 'STORE_UNAVAILABLE', [entry.message()]);
    }
    if (error instanceof StoreConflictError) {
      return sendErrors(request, reply, 409, 'CONFLICT', ['The request conflicts with the current state of the resource']);
    }
    const fastifyError = error as FastifyError;
    const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
    if (mapped || (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500)) {
      const code = mapped ?? 'INVALID_BODY';
      const status = mapped ? errorRegistry[mapped].status : fastifyError.statusCode!;
      const message =
        code === 'BODY_TOO_LARGE'
          ? errorRegistry.BODY_TOO_LARGE.message()
          : code === 'UNSUPPORTED_MEDIA_TYPE'
            ? errorRegistry.UNSUPPORTED_MEDIA_TYPE.message(String(request.headers['content-type'] ?? ''))
            : `Invalid request body: ${fastifyError.message}`;
      return sendErrors(request, reply, status, code, [message]);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendErrors(request, reply, 500, 'INTERNAL', [errorRegistry.INTERNAL.message()]);
  });

  // Every route's path as a pattern, so that a known path asked with another
  // method gets a 405 that lists the methods it has.
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const literal = route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`^${literal.replace(/:[^/]+/g, '[^/]+')}/?$`);
    routes.push({ pattern, methods: ([] as string[]).concat(route.method) });
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (fallback && (await fallback(request, reply))) return reply;
    const path = request.url.split('?')[0]!;
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => r.methods))];
    if (allowed.length) {
      reply.header('Allow', allowed.join(', '));
      return sendErrors(request, reply, 405, 'METHOD_NOT_ALLOWED', [errorRegistry.METHOD_NOT_ALLOWED.message(`${request.method} ${path}`)]);
    }
    return sendErrors(request, reply, 404, 'ROUTE_NOT_FOUND', [errorRegistry.ROUTE_NOT_FOUND.message(`${request.method} ${path}`)]);
  });
}
