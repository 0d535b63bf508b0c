import type { FastifyInstance } from 'fastify';
import { tagResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { TagCreate } from '../../schemas/directory.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

export function registerCreateTag(app: FastifyInstance, store: Store): void {
  app.post<{ Body: TagCreate }>(
    '/api/v2/tags',
    {
      config: { access: 'tags.write' },
      schema: {
        tags: ['Tags'],
        operationId: 'createTag',
        summary: 'Create a tag',
        body: TagCreate,
        response: { 201: Data('Tag', 'The new tag', 201), ...errors(...BODY_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      const { name, color, description } = request.body;
      const tag = await store.tags.create(request.auth!.accountId, { name: name.trim(), color, description });
      return sendData(request, reply, tagResource(tag), 201);
    },
  );
}
