import type { FastifyInstance } from 'fastify';
import { WEBHOOK_EVENTS } from '../../../domain/webhook-events.js';
import { sendData } from '../../envelope.js';
import { WebhookEventList } from '../../schemas/webhooks.js';
import { Data } from '../../schemas/responses.js';

/** The events there are, whichever the account's webhook receives. */
export function registerListAvailableWebhookEvents(app: FastifyInstance): void {
  app.get(
    '/api/v2/webhooks/available',
    {
      config: { access: 'webhooks.read' },
      schema: {
        tags: ['Webhooks'],
        operationId: 'listAvailableWebhookEvents',
        summary: 'List the events a webhook can subscribe to',
        response: { 200: Data(WebhookEventList, 'Every event, in a stable order') },
      },
    },
    async (request, reply) => sendData(request, reply, WEBHOOK_EVENTS.map((event) => ({ event }))),
  );
}
