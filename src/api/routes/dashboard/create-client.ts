import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { issueClient } from '../../../admin.js';
import { ALL_SCOPES } from '../../../domain/scopes.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { clientJson } from './client-json.js';

const ClientCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(Type.Array(Type.Enum([...ALL_SCOPES], { type: 'string' }), { minItems: 1, maxItems: ALL_SCOPES.length, uniqueItems: true })),
  },
  { additionalProperties: false },
);

export function registerCreateClient(app: FastifyInstance, store: Store): void {
  app.post<{ Body: { name: string; scopes?: string[] } }>(
    '/dashboard/api/clients',
    { config: { access: 'admin' }, schema: { hide: true, body: ClientCreate } },
    async (request, reply) => {
      const issued = await issueClient(store, request.auth!.accountId, {
        name: request.body.name.trim() || 'API client',
        ...(request.body.scopes ? { scopes: request.body.scopes.join(' ') } : {}),
      });
      return sendData(request, reply, { ...clientJson(issued.client), client_secret: issued.clientSecret }, 201);
    },
  );
}
