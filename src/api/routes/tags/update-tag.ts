import type { FastifyInstance } from 'fastify';
import { tagResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { updateTag } from '../../../tags/service.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { TagPatch } from '../../schemas/directory.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

export function registerUpdateTag(app: FastifyInstance, store: Store): void {
  app.patch<{ Params: { id: number }; Body: TagPatch }>(
    '/api/v2/tags/:id',
    {
      config: { access: 'tags.write' },
      schema: {
        tags: ['Tags'],
        operationId: 'updateTag',
        summary: 'Update a tag',
        params: IdParams('tag'),
        body: TagPatch,
        response: { 200: Data('Tag', 'The tag as it now stands'), ...errors(...BODY_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      const { name, color, description } = request.body;
      const change = { name: name?.trim(), color, description };
      const tag = await updateTag(store, request.auth!.accountId, request.params.id, change);
      return sendData(request, reply, tagResource(tag));
    },
  );
}
