import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { IdParams } from '../../schemas/common.js';
import { CallTagsReplace, type CallTagsBody } from '../../schemas/directory.js';
import { BODY_ERRORS } from '../../schemas/responses.js';
import { applyCallTagChange, callTagAnswers } from './call-tag-change.js';

export function registerReplaceCallTags(app: FastifyInstance, store: Store): void {
  app.put<{ Params: { id: number }; Body: CallTagsBody }>(
    '/api/v2/calls/:id/tags',
    {
      config: { access: 'calls.tags.write' },
      schema: {
        tags: ['Calls'],
        operationId: 'replaceCallTags',
        summary: 'Replace the tags of a call',
        params: IdParams('call'),
        body: CallTagsReplace,
        response: callTagAnswers(...BODY_ERRORS),
      },
    },
    (request, reply) => applyCallTagChange(store, request, reply, request.params.id, { replace: request.body.tag_ids }),
  );
}
