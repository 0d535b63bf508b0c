import type { FastifyInstance } from 'fastify';
import type { ClickToCallService } from '../../../click-to-call/service.js';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';

/** DELETE /api/v2/calls/{id}: hangs up a call started with POST /api/v2/calls (see create-call.ts). */
export function registerHangUpCall(app: FastifyInstance, store: Store, service: ClickToCallService | null): void {
  app.delete<{ Params: { id: number } }>(
    '/api/v2/calls/:id',
    {
      config: { access: 'calls.create' },
      schema: {
        tags: ['Calls'],
        operationId: 'hangUpCall',
        summary: 'Hang up a click-to-call in progress',
        description: 'Cancels the ringing leg or ends the conversation, and answers with the call as it ended. A 409 once the call has ended.',
        params: IdParams('call'),
        response: { 200: Data('ClickToCall', 'The call, ended'), ...errors(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const accountId = request.auth!.accountId;
      if (!service) {
        const row = await store.clickCalls.get(accountId, id);
        // Left in progress by a process that stopped: the next one with click-to-call on records it.
        if (row && row.endedAt === null) throw new ApiError('CONFLICT', `Call ${id} was left in progress by a sipsim process that stopped, and click-to-call is off here`);
      }
      const result = service ? await service.hangup(accountId, id) : (await store.clickCalls.get(accountId, id)) ? 'not-active' : null;
      if (result === null) {
        if (await store.calls.find(accountId, id)) throw new ApiError('CONFLICT', `Call ${id} is not in progress: only a call started with POST /api/v2/calls can be hung up, while it lasts`);
        throw new ApiError('NOT_FOUND', 'Call');
      }
      if (result === 'not-active') throw new ApiError('CONFLICT', `Call ${id} has already ended`);
      return sendData(request, reply, result);
    },
  );
}
