import type { FastifyInstance } from 'fastify';
import { clickCallResource } from '../../../click-to-call/service.js';
import type { Store } from '../../../store/store.js';
import type { RecordingService } from '../../../recordings/service.js';
import { nowSeconds } from '../../../domain/time.js';
import { baseUrlOf } from '../../base-url.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, OneOf, errors } from '../../schemas/responses.js';

export function registerGetCall(app: FastifyInstance, store: Store, recordings: RecordingService): void {
  app.get<{ Params: { id: number } }>(
    '/api/v2/calls/:id',
    {
      config: { access: 'calls.read' },
      schema: {
        tags: ['Calls'],
        operationId: 'getCall',
        summary: 'Retrieve a call',
        description:
          'A call started with POST /api/v2/calls is followed here from its first ring: as it stands while it lasts, ' +
          'then as the call record, each time with its click-to-call `status` and `failure`.',
        params: IdParams('call'),
        response: { 200: Data(OneOf('Call', 'ClickToCall'), 'The call'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const clickCall = await store.clickCalls.get(request.auth!.accountId, request.params.id);
      if (clickCall) return sendData(request, reply, await clickCallResource(store, clickCall));
      // Another account's call is reported exactly like a missing one.
      const call = await store.calls.get(request.auth!.accountId, request.params.id);
      const [linked] = await recordings.linkCalls(baseUrlOf(request), request.auth!.accountId, [call], nowSeconds());
      return sendData(request, reply, linked);
    },
  );
}
