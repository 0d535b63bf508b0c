import type { FastifyInstance } from 'fastify';
import { employeeResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendIdPage } from '../../pagination.js';
import { ListQuery } from '../../schemas/common.js';
import { List, errors } from '../../schemas/responses.js';

/** The employees behind the `employees` filter of /calls, each with its phones. */
export function registerListEmployees(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: { limit: number; page?: string } }>(
    '/api/v2/employees',
    {
      config: { access: 'account.read' },
      schema: {
        tags: ['Employees'],
        operationId: 'listEmployees',
        summary: 'List employees',
        querystring: ListQuery,
        response: { 200: List('Employee', 'A page of employees, in id order'), ...errors(400) },
      },
    },
    async (request, reply) => {
      const { limit, page } = request.query;
      const accountId = request.auth!.accountId;
      const read = (after: number | null) => store.directory.listEmployees(accountId, limit, after);
      return sendIdPage(store, request, reply, { scope: ['employees'], limit, page }, read, employeeResource);
    },
  );
}
