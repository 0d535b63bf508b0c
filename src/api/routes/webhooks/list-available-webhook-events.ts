import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import type { WebhookSettings } from '../../store/webhook-store.js';
import { WEBHOOK_EVENTS, type WebhookEventName } from '../../webhooks/events.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { WebhookEventList, WebhookEventParams, WebhookSetting } from '../schemas/webhooks.js';
import { Data, GUARDED, errors, needs } from '../schemas/responses.js';

/** As SIPSIM says it: the URL itself is set outside the API, by whoever runs the account. */
const NO_URL = 'The account has no webhook URL yet: the operator sets one with `sipsim webhooks set-url`';

const settingResource = (s: WebhookSettings) => ({ url: s.url!, events: s.events.map((event) => ({ event })) });

/**
 * Which events an account's webhook receives: the events there are, the ones
 * enabled, and enabling or disabling one. Enabling or disabling is idempotent.
 */
export function registerWebhooks(app: FastifyInstance, store: Store): void {
  const read = requireScope(store, 'webhooks.read');
  const write = requireScope(store, 'webhooks.write');
  const tags = { tags: ['Webhooks'] };

  app.get(
    '/api/v2/webhooks/available',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'listAvailableWebhookEvents',
        summary: 'List the events a webhook can subscribe to',
        ...needs('webhooks.read'),
        response: { 200: Data(WebhookEventList, 'Every event, in a stable order'), ...errors(...GUARDED) },
      },
    },
    async (request, reply) => sendData(request, reply, WEBHOOK_EVENTS.map((event) => ({ event }))),
  );

  app.get(
    '/api/v2/webhooks',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'listEnabledWebhookEvents',
        summary: 'List the events the account\'s webhook receives',
        description: 'Empty while the account has no webhook URL.',
        ...needs('webhooks.read'),
        response: { 200: Data(WebhookEventList, 'The enabled events'), ...errors(...GUARDED) },
      },
    },
    async (request, reply) => {
      const settings = await store.webhooks.settings(request.auth!.accountId);
      return sendData(request, reply, settings?.url ? settings.events.map((event) => ({ event })) : []);
    },
  );

  for (const [method, enabled] of [['POST', true], ['DELETE', false]] as const) {
    app.route<{ Params: { event: WebhookEventName } }>({
      method,
      url: '/api/v2/webhooks/:event',
      preValidation: write,
      schema: {
        ...tags,
        operationId: enabled ? 'enableWebhookEvent' : 'disableWebhookEvent',
        summary: enabled ? 'Enable a webhook event' : 'Disable a webhook event',
        description:
          (enabled ? 'Starts delivering the event. ' : 'Stops delivering the event; deliveries already queued still go out. ') +
          'Doing it twice changes nothing. A 409 while the account has no webhook URL.',
        ...needs('webhooks.write'),
        params: WebhookEventParams,
        response: { 200: Data(WebhookSetting, 'The webhook setting as it now stands'), ...errors(400, 409, ...GUARDED) },
      },
      handler: async (request, reply) => {
        const result = await store.webhooks.setSubscription(request.auth!.accountId, request.params.event, enabled);
        if (result === 'no-url') throw new ApiError('CONFLICT', NO_URL);
        return sendData(request, reply, settingResource(result));
      },
    });
  }
}
