import type { FastifyInstance } from 'fastify';
import { formatDateTime } from '../../../domain/time.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { Data, errors } from '../../schemas/responses.js';

export function registerGetAccount(app: FastifyInstance, store: Store): void {
  app.get(
    '/api/v2/account',
    {
      config: { access: 'account.read' },
      schema: {
        tags: ['Account'],
        operationId: 'getAccount',
        summary: 'Retrieve the account of the token',
        response: { 200: Data('Account', 'The account'), ...errors(404) },
      },
    },
    async (request, reply) => {
      const account = await store.accounts.get(request.auth!.accountId);
      return sendData(request, reply, {
        id: account.id,
        company_name: account.name,
        email: account.email,
        timezone: account.timezone,
        created_at: formatDateTime(account.createdAt),
      });
    },
  );
}
