import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { Data, Health, errors } from '../../schemas/responses.js';

/** 200 when the store answers, as before the probes of health-live.ts and health-ready.ts. */
export function registerHealth(app: FastifyInstance, store: Store): void {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Health'],
        operationId: 'health',
        summary: 'Whether the server and its store answer',
        response: { 200: Data(Health, 'Serving'), ...errors(503) },
      },
    },
    async (request, reply) => {
      await store.ping();
      return sendData(request, reply, { status: 'ok', store: store.engine });
    },
  );
}
