import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { IdParams } from '../schemas/common.js';
import { Data, GUARDED, errors, needs } from '../schemas/responses.js';

export function registerGetCall(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: number } }>(
    '/api/v2/calls/:id',
    {
      preValidation: requireScope(store, 'calls.read'),
      schema: {
        tags: ['Calls'],
        operationId: 'getCall',
        summary: 'Retrieve a call',
        ...needs('calls.read'),
        params: IdParams('call'),
        response: { 200: Data('Call', 'The call'), ...errors(400, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const call = await store.getCall(request.auth!.accountId, request.params.id);
      // Another account's call is reported exactly like a missing one.
      if (!call) throw new ApiError('NOT_FOUND', 'Call');
      return sendData(request, reply, call);
    },
  );
}
