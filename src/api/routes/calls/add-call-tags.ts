import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { IdParams } from '../schemas/common.js';
import { CallTagParams, CallTagsAdd, CallTagsReplace, type CallTagsBody } from '../schemas/directory.js';
import { Data, GUARDED, WITH_BODY, errors, needs } from '../schemas/responses.js';

/**
 * Tagging calls. Each change is all or nothing, and answers with the call as
 * it now stands; a tag is visible in `GET /calls?tags=` as soon as it is set.
 */
export function registerCallTags(app: FastifyInstance, store: Store): void {
  const write = requireScope(store, 'calls.tags.write');
  const tags = { tags: ['Calls'], ...needs('calls.tags.write') };
  const answers = (...statuses: Parameters<typeof errors>) => ({
    200: Data('Call', 'The call with its tags as they now stand'),
    ...errors(...statuses, 404, ...GUARDED),
  });

  async function apply(
    request: FastifyRequest,
    reply: FastifyReply,
    callId: number,
    change: { add?: number[]; remove?: number[]; replace?: number[] },
  ) {
    const accountId = request.auth!.accountId;
    const outcome = await store.changeCallTags(accountId, callId, change);
    if (outcome === 'no-call') throw new ApiError('NOT_FOUND', 'Call');
    if (outcome === 'no-tag') throw new ApiError('NOT_FOUND', 'Tag');
    const call = await store.getCall(accountId, callId);
    if (!call) throw new ApiError('NOT_FOUND', 'Call');
    return sendData(request, reply, call);
  }

  app.post<{ Params: { id: number }; Body: CallTagsBody }>(
    '/api/v2/calls/:id/tags',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'addCallTags',
        summary: 'Add tags to a call',
        params: IdParams('call'),
        body: CallTagsAdd,
        response: answers(...WITH_BODY),
      },
    },
    (request, reply) => apply(request, reply, request.params.id, { add: request.body.tag_ids }),
  );

  app.put<{ Params: { id: number }; Body: CallTagsBody }>(
    '/api/v2/calls/:id/tags',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'replaceCallTags',
        summary: 'Replace the tags of a call',
        params: IdParams('call'),
        body: CallTagsReplace,
        response: answers(...WITH_BODY),
      },
    },
    (request, reply) => apply(request, reply, request.params.id, { replace: request.body.tag_ids }),
  );

  app.delete<{ Params: { id: number; tag_id: number } }>(
    '/api/v2/calls/:id/tags/:tag_id',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'removeCallTag',
        summary: 'Remove a tag from a call',
        params: CallTagParams,
        response: answers(400),
      },
    },
    (request, reply) => apply(request, reply, request.params.id, { remove: [request.params.tag_id] }),
  );
}
