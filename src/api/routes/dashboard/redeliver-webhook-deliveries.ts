import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { redeliverIds } from '../../../webhooks/admin.js';
import { sendData } from '../../envelope.js';
import { NO_URL } from './webhook-view.js';

const Redeliver = Type.Object(
  { ids: Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { minItems: 1, maxItems: 100, uniqueItems: true }) },
  { additionalProperties: false },
);

export function registerRedeliverWebhookDeliveries(app: FastifyInstance, store: Store): void {
  app.post<{ Body: { ids: number[] } }>(
    '/dashboard/api/webhook/deliveries/redeliver',
    { config: { access: 'webhooks.write' }, schema: { hide: true, body: Redeliver } },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      const settings = await store.webhooks.settings(accountId);
      if (!settings?.url) throw new ApiError('CONFLICT', NO_URL);
      const done = await redeliverIds(store, accountId, request.body.ids);
      if ('unknown' in done) throw new ApiError('NOT_FOUND', `Delivery ${done.unknown.join(', ')}`);
      return sendData(request, reply, { queued: done.queued, already_pending: done.alreadyPending });
    },
  );
}
