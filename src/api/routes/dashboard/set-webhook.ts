import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { checkWebhookUrl } from '../../../webhooks/admin.js';
import { WEBHOOK_EVENTS } from '../../../domain/webhook-events.js';
import { sendData } from '../../envelope.js';
import { webhookView, type IntegrationOptions } from './webhook-view.js';

const WebhookPut = Type.Object(
  {
    url: Type.Union([Type.String({ minLength: 1, maxLength: 2048 }), Type.Null()]),
    events: Type.Optional(Type.Array(Type.Enum([...WEBHOOK_EVENTS], { type: 'string' }), { maxItems: WEBHOOK_EVENTS.length, uniqueItems: true })),
  },
  { additionalProperties: false },
);

export function registerSetWebhook(app: FastifyInstance, store: Store, options: IntegrationOptions): void {
  app.put<{ Body: { url: string | null; events?: string[] } }>(
    '/dashboard/api/webhook',
    { config: { access: 'webhooks.write' }, schema: { hide: true, body: WebhookPut } },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      let url: string | null = null;
      if (request.body.url !== null) {
        const checked = checkWebhookUrl(request.body.url, options.allowHttpHosts);
        if ('problem' in checked) throw new ApiError('INVALID_BODY', `Cannot use this webhook URL: ${checked.problem}`);
        url = checked.url;
      }
      const events = request.body.events === undefined ? undefined : WEBHOOK_EVENTS.filter((e) => request.body.events!.includes(e));
      const settings = await store.webhooks.setUrl(accountId, url, events);
      return sendData(request, reply, await webhookView(store, accountId, settings));
    },
  );
}
