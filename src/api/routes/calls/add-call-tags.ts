import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { IdParams } from '../../schemas/common.js';
import { CallTagsAdd, type CallTagsBody } from '../../schemas/directory.js';
import { BODY_ERRORS } from '../../schemas/responses.js';
import { applyCallTagChange, callTagAnswers } from './call-tag-change.js';

export function registerAddCallTags(app: FastifyInstance, store: Store): void {
  app.post<{ Params: { id: number }; Body: CallTagsBody }>(
    '/api/v2/calls/:id/tags',
    {
      config: { access: 'calls.tags.write' },
      schema: {
        tags: ['Calls'],
        operationId: 'addCallTags',
        summary: 'Add tags to a call',
        params: IdParams('call'),
        body: CallTagsAdd,
        response: callTagAnswers(...BODY_ERRORS),
      },
    },
    (request, reply) => applyCallTagChange(store, request, reply, request.params.id, { add: request.body.tag_ids }),
  );
}
