import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { CallTagParams } from '../../schemas/directory.js';
import { applyCallTagChange, callTagAnswers } from './call-tag-change.js';

export function registerRemoveCallTag(app: FastifyInstance, store: Store): void {
  app.delete<{ Params: { id: number; tag_id: number } }>(
    '/api/v2/calls/:id/tags/:tag_id',
    {
      config: { access: 'calls.tags.write' },
      schema: {
        tags: ['Calls'],
        operationId: 'removeCallTag',
        summary: 'Remove a tag from a call',
        params: CallTagParams,
        response: callTagAnswers(400),
      },
    },
    (request, reply) => applyCallTagChange(store, request, reply, request.params.id, { remove: [request.params.tag_id] }),
  );
}
