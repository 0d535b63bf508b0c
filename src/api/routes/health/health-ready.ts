import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { Data, Health, errors } from '../../schemas/responses.js';

/** The store answers and the process is not shutting down. */
export function registerHealthReady(app: FastifyInstance, store: Store): void {
  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Health'],
        operationId: 'healthReady',
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
