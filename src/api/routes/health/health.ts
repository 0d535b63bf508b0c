import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { Data, Health, Liveness, PUBLIC, errors } from '../schemas/responses.js';

const tags = ['Health'];

/**
 * `/health/live`: the process answers (no store access; a failing store is no
 * reason to restart it). `/health/ready`: the store answers and the process is
 * not shutting down. `/health`: 200 when the store answers, as before.
 */
export function registerHealth(app: FastifyInstance, store: Store): void {
  app.get(
    '/health',
    {
      schema: {
        tags,
        operationId: 'health',
        ...PUBLIC,
        summary: 'Whether the server and its store answer',
        response: { 200: Data(Health, 'Serving'), ...errors(503) },
      },
    },
    async (request, reply) => {
      await store.ping();
      return sendData(request, reply, { status: 'ok', store: store.engine });
    },
  );

  app.get(
    '/health/live',
    {
      schema: {
        tags,
        operationId: 'healthLive',
        ...PUBLIC,
        summary: 'Liveness: the process answers, whatever the store does',
        response: { 200: Data(Liveness, 'Alive') },
      },
    },
    async (request, reply) => sendData(request, reply, { status: 'ok' }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags,
        operationId: 'healthReady',
        ...PUBLIC,
        summary: 'Readiness: the store answers and the server is not shutting down',
        response: { 200: Data(Health, 'Ready for traffic'), ...errors(503) },
      },
    },
    async (request, reply) => {
      if (app.draining) throw new ApiError('SHUTTING_DOWN');
      await store.ping();
      return sendData(request, reply, { status: 'ok', store: store.engine });
    },
  );
}
