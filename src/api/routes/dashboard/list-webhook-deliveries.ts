import type { FastifyInstance } from 'fastify';
import { invalidParameter } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../../../store/webhook-store.js';
import { deliveryJson } from '../../../webhooks/admin.js';
import { sendList } from '../../envelope.js';
import { positiveInteger } from './query-values.js';

const DELIVERIES_MAX = 200;

export function registerListWebhookDeliveries(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/webhook/deliveries', { config: { access: 'webhooks.read' }, schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const status = query.status;
    if (status !== undefined && status !== '' && !(DELIVERY_STATUSES as readonly unknown[]).includes(status)) {
      throw invalidParameter(`Invalid parameter 'status': expected one of ${DELIVERY_STATUSES.join(', ')}`);
    }
    const limit = positiveInteger(query.limit, 'limit', DELIVERIES_MAX) ?? 50;
    const before = positiveInteger(query.before, 'before', Number.MAX_SAFE_INTEGER);
    const found = await store.webhooks.list(request.auth!.accountId, {
      ...(status ? { status: status as DeliveryStatus } : {}),
      ...(before !== undefined ? { beforeId: before } : {}),
      limit: limit + 1,
    });
    const rows = found.slice(0, limit);
    const more = found.length > limit;
    return sendList(request, reply, rows.map(deliveryJson), {
      count: rows.length,
      limit,
      has_more: more,
      ...(more ? { page: String(rows[rows.length - 1]!.id) } : {}),
    });
  });
}
