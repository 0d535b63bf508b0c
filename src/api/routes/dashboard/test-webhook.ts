import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendTestEvent, testOutcome } from '../../../webhooks/admin.js';
import { sendData } from '../../envelope.js';
import { NO_URL, type IntegrationOptions } from './webhook-view.js';

export function registerTestWebhook(app: FastifyInstance, store: Store, options: IntegrationOptions): void {
  app.post('/dashboard/api/webhook/test', { config: { access: 'webhooks.write' }, schema: { hide: true } }, async (request, reply) => {
    const sent = await sendTestEvent(store, request.auth!.accountId, options.webhookTimeoutMs);
    if (sent === 'no-url') throw new ApiError('CONFLICT', NO_URL);
    const outcome = testOutcome(sent.result);
    return sendData(request, reply, {
      ok: sent.result.ok,
      result: outcome.result,
      message: outcome.text,
      url: sent.url,
      status: sent.result.status,
      error: sent.result.error,
      delivery_id: sent.delivery.id,
    });
  });
}
