import type { FastifyInstance } from 'fastify';
import { phoneResource } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { PhonePatch } from '../../schemas/directory.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

export function registerUpdatePhone(app: FastifyInstance, store: Store): void {
  app.patch<{ Params: { id: number }; Body: PhonePatch }>(
    '/api/v2/phones/:id',
    {
      config: { access: 'phones.write' },
      schema: {
        tags: ['Phones'],
        operationId: 'updatePhone',
        summary: 'Update a phone: its name, status, employee, group or settings (merged into the current ones)',
        params: IdParams('phone'),
        body: PhonePatch,
        response: { 200: Data('Phone', 'The phone as it now stands'), ...errors(...BODY_ERRORS, 404) },
      },
    },
    async (request, reply) => {
      const { name, status, employee_id, group, ...settings } = request.body;
      // A missing phone, or an employee not of the account, is a NotFoundError: a 404.
      const phone = await store.directory.updatePhone(request.auth!.accountId, request.params.id, {
        name: name?.trim(),
        status,
        employeeId: employee_id,
        ...(group === undefined ? {} : { groupId: group?.group_id ?? null, groupTitle: group?.group_title ?? null }),
        settings,
      });
      return sendData(request, reply, phoneResource(phone));
    },
  );
}
