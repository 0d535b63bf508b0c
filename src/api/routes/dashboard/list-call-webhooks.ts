import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { deliveryJson } from '../../../webhooks/admin.js';
import { sendData } from '../../envelope.js';
import { positiveInteger } from './query-values.js';

export function registerListCallWebhooks(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: string } }>('/dashboard/api/calls/:id/webhooks', { config: { access: 'webhooks.read' }, schema: { hide: true } }, async (request, reply) => {
    const accountId = request.auth!.accountId;
    const id = positiveInteger(request.params.id, 'id', Number.MAX_SAFE_INTEGER)!;
    const pbxId = await store.callReports.pbxIdOfCall(accountId, id);
    if (pbxId === undefined) throw new ApiError('NOT_FOUND', 'Call');
    // A call's tag changes are sent under call_<id> when it has no pbx id of its own.
    const pbxIds = [...new Set([pbxId, `call_${id}`].filter((p): p is string => p !== null))];
    const deliveries = await store.webhooks.listForPbxIds(accountId, pbxIds, 200);
    return sendData(request, reply, deliveries.map(deliveryJson));
  });
}
