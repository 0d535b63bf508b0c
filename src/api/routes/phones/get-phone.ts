import type { FastifyInstance } from 'fastify';
import { phoneResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';

export function registerGetPhone(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: number } }>(
    '/api/v2/phones/:id',
    {
      config: { access: 'phones.read' },
      schema: {
        tags: ['Phones'],
        operationId: 'getPhone',
        summary: 'Retrieve a phone',
        params: IdParams('phone'),
        response: { 200: Data('Phone', 'The phone'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const phone = await store.directory.getPhone(request.auth!.accountId, request.params.id);
      return sendData(request, reply, phoneResource(phone));
    },
  );
}
