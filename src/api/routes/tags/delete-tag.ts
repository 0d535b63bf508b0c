import type { FastifyInstance } from 'fastify';
import { deleteTag } from '../../../tags/service.js';
import type { Store } from '../../../store/store.js';
import { IdParams } from '../../schemas/common.js';
import { NoContent, errors } from '../../schemas/responses.js';

export function registerDeleteTag(app: FastifyInstance, store: Store): void {
  app.delete<{ Params: { id: number } }>(
    '/api/v2/tags/:id',
    {
      config: { access: 'tags.write' },
      schema: {
        tags: ['Tags'],
        operationId: 'deleteTag',
        summary: 'Delete a tag and take it off every call',
        params: IdParams('tag'),
        response: { 204: NoContent('Deleted'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      await deleteTag(store, request.auth!.accountId, request.params.id);
      return reply.code(204).send();
    },
  );
}
