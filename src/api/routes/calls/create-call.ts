import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { ClickToCallService } from '../../click-to-call/service.js';
import { E164 } from '../../domain/directory.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { Id, IdParams, hinted } from '../schemas/common.js';
import { Data, GUARDED, WITH_BODY, errors, needs } from '../schemas/responses.js';

const CreateCallBody = Type.Object(
  {
    phone_id: Id("The employee's phone, which rings first; it must be active and have an extension"),
    number: hinted(E164, 'a number in E.164 format such as +33612345678', { description: 'The number to call once the employee answers' }),
  },
  { additionalProperties: false },
);

/**
 * Click-to-call: POST /api/v2/calls rings the employee's phone, then the
 * number; GET /api/v2/calls/{id} follows it (see get-call.ts); DELETE hangs up.
 */
export function registerClickToCall(app: FastifyInstance, store: Store, service: ClickToCallService | null): void {
  const create = requireScope(store, 'calls.create');

  app.post<{ Body: { phone_id: number; number: string } }>(
    '/api/v2/calls',
    {
      preValidation: create,
      schema: {
        tags: ['Calls'],
        operationId: 'createCall',
        summary: 'Start a click-to-call',
        description:
          "Rings the employee's phone; once the employee answers, calls the number and connects the two. Answers 201 " +
          'with the call as it stands; follow it with GET /api/v2/calls/{id}, whose id is the one its record in /calls ' +
          'gets once it ends (an outbound call, with outgoing_call_* webhooks). A 409 for a phone that is not active or ' +
          'has no extension, or when the account already has as many calls in progress as it may; a 503 when this ' +
          'server has no SIP proxy configured.',
        ...needs('calls.create'),
        body: CreateCallBody,
        response: { 201: Data('ClickToCall', 'The call, ringing the employee\'s phone', 201), ...errors(...WITH_BODY, 404, 409, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      if (!service) {
        // The phone is checked first, so that a wrong id says so on any server.
        if (!(await store.getPhone(accountId, request.body.phone_id))) throw new ApiError('NOT_FOUND', 'Phone');
        throw new ApiError('CLICK_TO_CALL_OFF');
      }
      const call = await service.start(accountId, request.body.phone_id, request.body.number);
      return sendData(request, reply, call, 201);
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/v2/calls/:id',
    {
      preValidation: create,
      schema: {
        tags: ['Calls'],
        operationId: 'hangUpCall',
        summary: 'Hang up a click-to-call in progress',
        description: 'Cancels the ringing leg or ends the conversation, and answers with the call as it ended. A 409 once the call has ended.',
        ...needs('calls.create'),
        params: IdParams('call'),
        response: { 200: Data('ClickToCall', 'The call, ended'), ...errors(400, 404, 409, ...GUARDED) },
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
        if (await store.getCall(accountId, id)) throw new ApiError('CONFLICT', `Call ${id} is not in progress: only a call started with POST /api/v2/calls can be hung up, while it lasts`);
        throw new ApiError('NOT_FOUND', 'Call');
      }
      if (result === 'not-active') throw new ApiError('CONFLICT', `Call ${id} has already ended`);
      return sendData(request, reply, result);
    },
  );
}
