import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { ClickToCallService } from '../../../click-to-call/service.js';
import { E164 } from '../../../domain/directory.js';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { Id, hinted } from '../../schemas/common.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

const CreateCallBody = Type.Object(
  {
    phone_id: Id("The employee's phone, which rings first; it must be active and have an extension"),
    number: hinted(E164, 'a number in E.164 format such as +33612345678', { description: 'The number to call once the employee answers' }),
  },
  { additionalProperties: false },
);

/**
 * Click-to-call: POST /api/v2/calls rings the employee's phone, then the
 * number; GET /api/v2/calls/{id} follows it (see get-call.ts); DELETE hangs up
 * (see hang-up-call.ts).
 */
export function registerCreateCall(app: FastifyInstance, store: Store, service: ClickToCallService | null): void {
  app.post<{ Body: { phone_id: number; number: string } }>(
    '/api/v2/calls',
    {
      config: { access: 'calls.create' },
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
        body: CreateCallBody,
        response: { 201: Data('ClickToCall', 'The call, ringing the employee\'s phone', 201), ...errors(...BODY_ERRORS, 404, 409) },
      },
    },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      if (!service) {
        // The phone is checked first, so that a wrong id says so on any server.
        await store.directory.getPhone(accountId, request.body.phone_id);
        throw new ApiError('CLICK_TO_CALL_OFF');
      }
      const call = await service.start(accountId, request.body.phone_id, request.body.number);
      return sendData(request, reply, call, 201);
    },
  );
}
