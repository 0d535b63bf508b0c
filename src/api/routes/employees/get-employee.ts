import type { FastifyInstance } from 'fastify';
import { employeeResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';

export function registerGetEmployee(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { id: number } }>(
    '/api/v2/employees/:id',
    {
      config: { access: 'account.read' },
      schema: {
        tags: ['Employees'],
        operationId: 'getEmployee',
        summary: 'Retrieve an employee',
        params: IdParams('employee'),
        response: { 200: Data('Employee', 'The employee'), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const employee = await store.directory.getEmployee(request.auth!.accountId, request.params.id);
      return sendData(request, reply, employeeResource(employee));
    },
  );
}
