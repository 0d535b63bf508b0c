import type { FastifyInstance } from 'fastify';
import { sendData } from '../../envelope.js';
import { Data, Liveness } from '../../schemas/responses.js';

/** The process answers: no store access, since a failing store is no reason to restart it. */
export function registerHealthLive(app: FastifyInstance): void {
  app.get(
    '/health/live',
    {
      config: { access: 'public' },
      schema: {
        tags: ['Health'],
        operationId: 'healthLive',
        summary: 'Liveness: the process answers, whatever the store does',
        response: { 200: Data(Liveness, 'Alive') },
      },
    },
    async (request, reply) => sendData(request, reply, { status: 'ok' }),
  );
}
