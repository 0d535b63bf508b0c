import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, ConflictError, NotFoundError, StoreConflictError, StoreUnavailableError, errorRegistry, type ErrorCode } from '../../domain/errors.js';
import { sendErrors, sendJson } from '../envelope.js';

/** Fastify's own client errors, mapped onto the registry. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_BODY',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_BODY',
};

/** The methods a path may lack; each absent one is answered with a 405. */
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

declare module 'fastify' {
  interface FastifyInstance {
    /** Registers the 405 answers; called once every route is registered. */
    answerOtherMethods(): void;
  }
}

const TOKEN_ENDPOINT = /^\/oauth\/token\/?$/;

/**
 * The token endpoint speaks RFC 6749 (section 5.2) even when it fails before
 * its handler runs: a body too large or unreadable is an `invalid_request`;
 * a rate limit or an unavailable store is `temporarily_unavailable` (the code
 * RFC 6749 registers for a server that cannot serve now), with Retry-After.
 */
function sendFailure(request: FastifyRequest, reply: FastifyReply, status: number, code: string, messages: string[]): FastifyReply {
  if (!TOKEN_ENDPOINT.test(request.url.split('?')[0]!)) return sendErrors(request, reply, status, code, messages);
  const error = status === 429 || status >= 500 ? (status === 500 ? 'server_error' : 'temporarily_unavailable') : 'invalid_request';
  return sendJson(reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache'), status, {
    error,
    error_description: messages.join('; '),
  });
}

/** Every failure leaves in the documented error envelope; nothing a client sends yields a 500. */
export function registerErrorHandling(
  app: FastifyInstance,
  /** Answers what no route matched before the 404 (the dashboard's pages); false leaves it to the 404. */
  fallback?: (request: FastifyRequest, reply: FastifyReply) => Promise<boolean>,
): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return sendFailure(request, reply, error.status, error.code, error.messages);
    }
    if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error.cause }, 'store unavailable');
      reply.header('Retry-After', '5');
      const entry = errorRegistry.STORE_UNAVAILABLE;
      return sendFailure(request, reply, entry.status, 'STORE_UNAVAILABLE', [entry.message()]);
    }
    if (error instanceof NotFoundError) {
      return sendFailure(request, reply, 404, 'NOT_FOUND', [errorRegistry.NOT_FOUND.message(error.what)]);
    }
    if (error instanceof ConflictError) {
      return sendFailure(request, reply, 409, 'CONFLICT', [errorRegistry.CONFLICT.message(error.message)]);
    }
    if (error instanceof StoreConflictError) {
      return sendFailure(request, reply, 409, 'CONFLICT', ['The request conflicts with the current state of the resource']);
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
      return sendFailure(request, reply, status, code, [message]);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendFailure(request, reply, 500, 'INTERNAL', [errorRegistry.INTERNAL.message()]);
  });

  // The methods registered on each path, exactly as written (`/api/v2/calls/:id`).
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.config && (route.config as { methodNotAllowed?: boolean }).methodNotAllowed) return;
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of ([] as string[]).concat(route.method)) methods.add(method);
    methodsByPath.set(route.url, methods);
  });

  /**
   * Once every route is registered, each path answers every other method with
   * a 405 listing the methods it really has. Registered as routes, a fixed
   * path (`/calls/import`) keeps the request for itself instead of handing
   * it to a templated sibling (`/calls/:id`) that has the method.
   */
  app.decorate('answerOtherMethods', function answerOtherMethods(this: FastifyInstance) {
    for (const [url, registered] of [...methodsByPath]) {
      const allow = HTTP_METHODS.filter((m) => registered.has(m)).join(', ');
      const missing = HTTP_METHODS.filter((m) => !registered.has(m));
      if (!missing.length) continue;
      this.route({
        method: missing,
        url,
        exposeHeadRoute: false,
        config: { methodNotAllowed: true },
        schema: { hide: true },
        handler: (request, reply) => {
          reply.header('Allow', allow);
          const path = request.url.split('?')[0]!;
          return sendErrors(request, reply, 405, 'METHOD_NOT_ALLOWED', [errorRegistry.METHOD_NOT_ALLOWED.message(`${request.method} ${path}`)]);
        },
      });
    }
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (fallback && (await fallback(request, reply))) return reply;
    const path = request.url.split('?')[0]!;
    return sendErrors(request, reply, 404, 'ROUTE_NOT_FOUND', [errorRegistry.ROUTE_NOT_FOUND.message(`${request.method} ${path}`)]);
  });
}
