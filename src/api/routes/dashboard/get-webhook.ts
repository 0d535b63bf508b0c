import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { webhookView } from './webhook-view.js';

/** The dashboard's Integrations page: the webhook and its deliveries (these routes), and the API clients (the *-client(s) routes). */
export function registerGetWebhook(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/webhook', { config: { access: 'webhooks.read' }, schema: { hide: true } }, async (request, reply) =>
    sendData(request, reply, await webhookView(store, request.auth!.accountId)),
  );
}
