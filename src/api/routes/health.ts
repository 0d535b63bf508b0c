import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';

/** Liveness and readiness in one: 200 when the store answers, 503 when it does not. */
export function registerHealth(app: FastifyInstance, store: Store): void {
  app.get('/health', async (request, reply) => {
    await store.ping();
    return sendData(request, reply, { status: 'ok', store: store.engine });
  });
}
