import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import { recordFromCallObject } from '../../../ingest/call-object.js';
import { importRecords, MAX_NEW_TAGS_PER_REQUEST } from '../../../ingest/ingest.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { ImportBodyDocumented, documentBodyAs, ImportBody, ImportQuery, ImportResult } from '../../schemas/ingest.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

/**
 * Finished calls in bulk, idempotent by pbx_id: sending the same records again
 * changes nothing, and a changed record updates its call. Each record is
 * answered for; a refused one does not stop the others.
 */
export function registerImportCalls(app: FastifyInstance, store: Store): void {
  app.post<{ Body: unknown[] | { calls: unknown[] }; Querystring: { emit_webhooks?: boolean } }>(
    '/api/v2/calls/import',
    {
      config: { access: 'calls.write', swaggerTransform: documentBodyAs(ImportBodyDocumented) },
      schema: {
        tags: ['Ingest'],
        operationId: 'importCalls',
        summary: 'Import finished calls',
        description:
          'Creates or updates up to 1,000 calls by pbx_id in one transaction. Direction, phones and employees follow from ' +
          'the account\'s numbers and extensions when the record does not give them. Answers 200 with the outcome of each ' +
          'record; a batch of which no record could be taken is a 400 that names each problem. A record naming a tag that does ' +
          'not exist yet creates it only with the `tags.write` scope (else the record is refused), and one request creates ' +
          `at most ${MAX_NEW_TAGS_PER_REQUEST} tags. History sends no webhooks ` +
          'unless `emit_webhooks=true`: then each new call queues its end event (and a voicemail its voicemail event).',
        querystring: ImportQuery,
        body: ImportBody,
        response: { 200: Data(ImportResult, 'Each record\'s outcome'), ...errors(...BODY_ERRORS) },
      },
    },
    async (request, reply) => {
      const items = Array.isArray(request.body) ? request.body : request.body.calls;
      const records = items.map((item) => {
        const record = recordFromCallObject(item);
        if (typeof record !== 'string') return record;
        const pbxId = (item as { pbx_id?: unknown })?.pbx_id;
        return { error: record, pbxId: typeof pbxId === 'string' ? pbxId : null };
      });
      const results = await importRecords(store, request.auth!.accountId, records, undefined, {
        notify: request.query.emit_webhooks === true,
        newTags: { allowed: request.auth!.scopes.has('tags.write'), max: MAX_NEW_TAGS_PER_REQUEST },
      });
      if (results.every((r) => 'error' in r)) {
        throw new ApiError('INVALID_BODY', results.map((r, i) => `calls[${i}]: ${'error' in r ? r.error : ''}`));
      }
      const count = (outcome: string) => results.filter((r) => ('error' in r ? 'rejected' : r.outcome) === outcome).length;
      return sendData(request, reply, {
        created: count('created'),
        updated: count('updated'),
        unchanged: count('unchanged'),
        rejected: count('rejected'),
        results: results.map((r, index) =>
          'error' in r
            ? { index, pbx_id: r.pbxId, status: 'rejected', error: r.error }
            : { index, pbx_id: r.pbxId, status: r.outcome, id: r.id },
        ),
      });
    },
  );
}
