import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
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
      const deleted = await store.deleteTag(request.auth!.accountId, request.params.id);
      if (!deleted) throw new ApiError('NOT_FOUND', 'Tag');
      return reply.code(204).send();
    },
  );
}
