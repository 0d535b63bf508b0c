import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';

export function registerRevokeClient(app: FastifyInstance, store: Store): void {
  app.delete<{ Params: { client_id: string } }>('/dashboard/api/clients/:client_id', { config: { access: 'admin' }, schema: { hide: true } }, async (request, reply) => {
    const client = await store.credentials.findClient(request.params.client_id);
    if (!client || client.accountId !== request.auth!.accountId) throw new ApiError('NOT_FOUND', 'API client');
    await store.credentials.revokeClient(client.clientId);
    return reply.code(204).send();
  });
}
