import type { FastifyInstance } from 'fastify';
import { phoneResource, type PhoneStatus } from '../../domain/directory.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { sendIdPage } from '../pagination.js';
import { requireScope } from '../plugins/auth.js';
import { IdParams } from '../schemas/common.js';
import { PhonePatch, PhonesQuery } from '../schemas/directory.js';
import { Data, GUARDED, List, WITH_BODY, errors, needs } from '../schemas/responses.js';

/** The phone lines of the account, as the Click-to-Call guide shows them. */
export function registerPhones(app: FastifyInstance, store: Store): void {
  const read = requireScope(store, 'phones.read');
  const write = requireScope(store, 'phones.write');
  const tags = { tags: ['Phones'] };

  app.get<{ Querystring: PhonesQuery & { limit: number } }>(
    '/api/v2/phones',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'listPhones',
        summary: 'List phones',
        ...needs('phones.read'),
        querystring: PhonesQuery,
        response: { 200: List('Phone', 'A page of phones, in id order'), ...errors(400, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { limit, page, status } = request.query;
      const accountId = request.auth!.accountId;
      const statuses = status ? ([...new Set(status.split(','))].sort() as PhoneStatus[]) : undefined;
      const read = (after: number | null) => store.listPhones(accountId, { statuses }, limit, after);
      return sendIdPage(store, request, reply, { scope: ['phones', statuses ?? null], limit, page }, read, phoneResource);
    },
  );

  app.get<{ Params: { id: number } }>(
    '/api/v2/phones/:id',
    {
      preValidation: read,
      schema: {
        ...tags,
        operationId: 'getPhone',
        summary: 'Retrieve a phone',
        ...needs('phones.read'),
        params: IdParams('phone'),
        response: { 200: Data('Phone', 'The phone'), ...errors(400, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const phone = await store.getPhone(request.auth!.accountId, request.params.id);
      if (!phone) throw new ApiError('NOT_FOUND', 'Phone');
      return sendData(request, reply, phoneResource(phone));
    },
  );

  app.patch<{ Params: { id: number }; Body: PhonePatch }>(
    '/api/v2/phones/:id',
    {
      preValidation: write,
      schema: {
        ...tags,
        operationId: 'updatePhone',
        summary: 'Update a phone: its name, status, employee, group or settings (merged into the current ones)',
        ...needs('phones.write'),
        params: IdParams('phone'),
        body: PhonePatch,
        response: { 200: Data('Phone', 'The phone as it now stands'), ...errors(...WITH_BODY, 404, ...GUARDED) },
      },
    },
    async (request, reply) => {
      const { name, status, employee_id, group, ...settings } = request.body;
      const outcome = await store.updatePhone(request.auth!.accountId, request.params.id, {
        name: name?.trim(),
        status,
        employeeId: employee_id,
        ...(group === undefined ? {} : { groupId: group?.group_id ?? null, groupTitle: group?.group_title ?? null }),
        settings,
      });
      if (outcome === 'no-phone') throw new ApiError('NOT_FOUND', 'Phone');
      // An employee of another account is reported exactly like a missing one.
      if (outcome === 'no-employee') throw new ApiError('NOT_FOUND', 'Employee');
      return sendData(request, reply, phoneResource(outcome));
    },
  );
}
