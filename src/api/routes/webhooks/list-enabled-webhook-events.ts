import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { WebhookEventList } from '../../schemas/webhooks.js';
import { Data } from '../../schemas/responses.js';

export function registerListEnabledWebhookEvents(app: FastifyInstance, store: Store): void {
  app.get(
    '/api/v2/webhooks',
    {
      config: { access: 'webhooks.read' },
      schema: {
        tags: ['Webhooks'],
        operationId: 'listEnabledWebhookEvents',
        summary: 'List the events the account\'s webhook receives',
        description: 'Empty while the account has no webhook URL.',
        response: { 200: Data(WebhookEventList, 'The enabled events') },
      },
    },
    async (request, reply) => {
      const settings = await store.webhooks.settings(request.auth!.accountId);
      return sendData(request, reply, settings?.url ? settings.events.map((event) => ({ event })) : []);
    },
  );
}
