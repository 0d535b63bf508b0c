import type { FastifyInstance } from 'fastify';
import { cannotHangUp, type ClickToCallService } from '../../../click-to-call/service.js';
import { ConflictError } from '../../../domain/errors.js';
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
        if (row && row.endedAt === null) throw new ConflictError(`Call ${id} was left in progress by a sipsim process that stopped, and click-to-call is off here`);
        return cannotHangUp(store, accountId, id, row);
      }
      return sendData(request, reply, await service.hangup(accountId, id));
    },
  );
}
