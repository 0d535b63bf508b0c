import type { FastifyInstance } from 'fastify';
import { tagResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';

export function registerGetTag(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: number } }>(
    '/api/v2/tags/:id',
    {
      config: { access: 'tags.read' },
      schema: {
        tags: ['Tags'],
        operationId: 'getTag',
        summary: 'Retrieve a tag',
        params: IdParams('tag'),
        response: { 200: Data('Tag', 'The tag'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const tag = await store.tags.get(request.auth!.accountId, request.params.id);
      return sendData(request, reply, tagResource(tag));
    },
  );
}
