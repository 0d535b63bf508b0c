import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { webhookView } from './webhook-view.js';

/** The Integrations page's webhook: its URL, events, masked secret and deliveries by status. */
export function registerGetWebhook(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/webhook', { config: { access: 'webhooks.read' }, schema: { hide: true } }, async (request, reply) =>
    sendData(request, reply, await webhookView(store, request.auth!.accountId)),
  );
}
