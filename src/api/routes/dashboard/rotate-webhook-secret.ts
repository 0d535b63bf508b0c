import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';

export function registerRotateWebhookSecret(app: FastifyInstance, store: Store): void {
  app.post('/dashboard/api/webhook/rotate-secret', { config: { access: 'webhooks.write' }, schema: { hide: true } }, async (request, reply) => {
    const settings = await store.webhooks.rotateSecret(request.auth!.accountId);
    return sendData(request, reply, { secret: settings.secret });
  });
}
