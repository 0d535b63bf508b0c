import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { NO_URL } from './webhook-view.js';

export function registerRevealWebhookSecret(app: FastifyInstance, store: Store): void {
  app.post('/dashboard/api/webhook/reveal-secret', { config: { access: 'webhooks.write' }, schema: { hide: true } }, async (request, reply) => {
    const settings = await store.webhooks.settings(request.auth!.accountId);
    if (!settings) throw new ApiError('CONFLICT', NO_URL);
    return sendData(request, reply, { secret: settings.secret });
  });
}
