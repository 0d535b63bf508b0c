import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import type { WebhookSettings } from '../../../store/webhook-store.js';
import type { WebhookEventName } from '../../../domain/webhook-events.js';
import { sendData } from '../../envelope.js';
import { WebhookEventParams, WebhookSetting } from '../../schemas/webhooks.js';
import { Data, errors } from '../../schemas/responses.js';

/** As SIPSIM says it: the URL itself is set outside the API, by whoever runs the account. */
const NO_URL = 'The account has no webhook URL yet: the operator sets one with `sipsim webhooks set-url`';

const settingResource = (s: WebhookSettings) => ({ url: s.url!, events: s.events.map((event) => ({ event })) });

/**
 * POST /api/v2/webhooks/{event} (enableWebhookEvent) or DELETE
 * (disableWebhookEvent), as `method` says: whether the account's webhook
 * receives an event. Doing either twice changes nothing.
 */
export function registerSetWebhookEvent(app: FastifyInstance, store: Store, method: 'POST' | 'DELETE'): void {
  const enabled = method === 'POST';
  app.route<{ Params: { event: WebhookEventName } }>({
    method,
    url: '/api/v2/webhooks/:event',
    config: { access: 'webhooks.write' },
    schema: {
      tags: ['Webhooks'],
      operationId: enabled ? 'enableWebhookEvent' : 'disableWebhookEvent',
      summary: enabled ? 'Enable a webhook event' : 'Disable a webhook event',
      description:
        (enabled ? 'Starts delivering the event. ' : 'Stops delivering the event; deliveries already queued still go out. ') +
        'Doing it twice changes nothing. A 409 while the account has no webhook URL.',
      params: WebhookEventParams,
      response: { 200: Data(WebhookSetting, 'The webhook setting as it now stands'), ...errors(400, 409) },
    },
    handler: async (request, reply) => {
      const result = await store.webhooks.setSubscription(request.auth!.accountId, request.params.event, enabled);
      if (result === 'no-url') throw new ApiError('CONFLICT', NO_URL);
      return sendData(request, reply, settingResource(result));
    },
  });
}
