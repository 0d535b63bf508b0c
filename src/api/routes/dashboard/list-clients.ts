import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { clientJson } from './client-json.js';

/** API clients are for the account's admins (see Access in plugins/auth.ts). */
export function registerListClients(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/clients', { config: { access: 'admin' }, schema: { hide: true } }, async (request, reply) => {
    const clients = await store.credentials.listClients(request.auth!.accountId);
    return sendData(request, reply, clients.reverse().map(clientJson));
  });
}
