import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import { formatDateTime } from '../../domain/time.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';

export function registerGetAccount(app: FastifyInstance, store: Store): void {
  app.get('/api/v2/account', { preHandler: requireScope(store, 'account.read') }, async (request, reply) => {
    const account = await store.getAccount(request.auth!.accountId);
    if (!account) throw new ApiError('NOT_FOUND', 'Account');
    return sendData(request, reply, {
      id: account.id,
      company_name: account.name,
      email: account.email,
      timezone: account.timezone,
      created_at: formatDateTime(account.createdAt),
    });
  });
}
