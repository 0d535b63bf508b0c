import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../../../store/store.js';
import { changeCallTags } from '../../../tags/service.js';
import { sendData } from '../../envelope.js';
import { Data, errors } from '../../schemas/responses.js';

/**
 * Tagging calls. Each change is all or nothing, and answers with the call as
 * it now stands; a tag is visible in `GET /calls?tags=` as soon as it is set.
 */
export async function applyCallTagChange(
  store: Store,
  request: FastifyRequest,
  reply: FastifyReply,
  callId: number,
  change: { add?: number[]; remove?: number[]; replace?: number[] },
) {
  const accountId = request.auth!.accountId;
  await changeCallTags(store, accountId, callId, change);
  return sendData(request, reply, await store.calls.get(accountId, callId));
}

/** What a change of a call's tags answers: the call, or the errors given and a 404. */
export const callTagAnswers = (...statuses: Parameters<typeof errors>) => ({
  200: Data('Call', 'The call with its tags as they now stand'),
  ...errors(...statuses, 404),
});
