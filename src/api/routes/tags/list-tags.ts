import type { FastifyInstance } from 'fastify';
import { tagResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendIdPage } from '../../pagination.js';
import { ListQuery } from '../../schemas/common.js';
import { List, errors } from '../../schemas/responses.js';

export function registerListTags(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: { limit: number; page?: string } }>(
    '/api/v2/tags',
    {
      config: { access: 'tags.read' },
      schema: {
        tags: ['Tags'],
        operationId: 'listTags',
        summary: 'List tags',
        querystring: ListQuery,
        response: { 200: List('Tag', 'A page of tags, in id order'), ...errors(400) },
      },
    },
    async (request, reply) => {
      const { limit, page } = request.query;
      const accountId = request.auth!.accountId;
      return sendIdPage(store, request, reply, { scope: ['tags'], limit, page }, (after) => store.tags.list(accountId, limit, after), tagResource);
    },
  );
}
