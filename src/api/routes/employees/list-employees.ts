import type { FastifyInstance } from 'fastify';
import { employeeResource } from '../../domain/directory.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { sendIdPage } from '../pagination.js';
import { requireScope } from '../plugins/auth.js';
import { IdParams, ListQuery } from '../schemas/common.js';
import { Data, GUARDED, List, errors, needs } from '../schemas/responses.js';

/** The employees behind the `employees` filter of /calls, each with its phones. */
export function registerEmployees(app: FastifyInstance, store: Store): void {
  const read = requireScope(store, 'account.read');
  const tags = { tags: ['Employees'] };

  app.get<{ Querystring: { limit: number; page?: string } }>(
    '/api/v2/employees',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'listEmployees',
        summary: 'List employees',
        ...needs('account.read'),
        querystring: ListQuery,
        response: { 200: List('Employee', 'A page of employees, in id order'), ...errors(400, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { limit, page } = request.query;
      const accountId = request.auth!.accountId;
      const read = (after: number | null) => store.listEmployees(accountId, limit, after);
      return sendIdPage(store, request, reply, { scope: ['employees'], limit, page }, read, employeeResource);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v2/employees/:id',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'getEmployee',
        summary: 'Retrieve an employee',
        ...needs('account.read'),
        params: IdParams('employee'),
        response: { 200: Data('Employee', 'The employee'), ...errors(400, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const employee = await store.getEmployee(request.auth!.accountId, request.params.id);
      if (!employee) throw new ApiError('NOT_FOUND', 'Employee');
      return sendData(request, reply, employeeResource(employee));
    },
  );
}
