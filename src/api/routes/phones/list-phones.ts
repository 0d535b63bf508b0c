import type { FastifyInstance } from 'fastify';
import { phoneResource, type PhoneStatus } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendIdPage } from '../../pagination.js';
import { PhonesQuery } from '../../schemas/directory.js';
import { List, errors } from '../../schemas/responses.js';

/** The phone lines of the account, as the Click-to-Call guide shows them. */
export function registerListPhones(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: PhonesQuery & { limit: number } }>(
    '/api/v2/phones',
    {
      config: { access: 'phones.read' },
      schema: {
        tags: ['Phones'],
        operationId: 'listPhones',
        summary: 'List phones',
        querystring: PhonesQuery,
        response: { 200: List('Phone', 'A page of phones, in id order'), ...errors(400) },
      },
    },
    async (request, reply) => {
      const { limit, page, status } = request.query;
      const accountId = request.auth!.accountId;
      const statuses = status ? ([...new Set(status.split(','))].sort() as PhoneStatus[]) : undefined;
      const read = (after: number | null) => store.directory.listPhones(accountId, { statuses }, limit, after);
      return sendIdPage(store, request, reply, { scope: ['phones', statuses ?? null], limit, page }, read, phoneResource);
    },
  );
}
