import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseListCallsQuery, type ListCallsQuery as ParsedQuery } from '../../../domain/call-filters.js';
import type { Store } from '../../../store/store.js';
import { sendListJson } from '../../envelope.js';
import { callRowId, callRowLink, callsJson } from '../../../store/call-json.js';
import type { RecordingService } from '../../../recordings/service.js';
import { nowSeconds } from '../../../domain/time.js';
import { baseUrlOf } from '../../base-url.js';
import { Pager } from '../../pagination.js';
import { ListCallsQuery } from '../../schemas/calls.js';
import { List, errors } from '../../schemas/responses.js';

const FILTERS_PROBLEM =
  'it was issued for other filters; send it with the same start_time, end_time, employees, tags, call_types and search as the request that returned it';

export function registerListCalls(app: FastifyInstance, store: Store, recordings: RecordingService): void {
  const parsed = new WeakMap<FastifyRequest, ParsedQuery>();

  app.get(
    '/api/v2/calls',
    {
      config: { access: 'calls.read' },
      // The domain parser runs before the schema (and after the access check),
      // so that its messages (which name what a parameter allows, and refuse
      // repeated or unknown ones) are the ones a client gets, every problem of
      // the query in one answer.
      preValidation: async (request) => {
        const query = parseListCallsQuery(request.query as Record<string, unknown>, request.auth!.accountId);
        parsed.set(request, query);
        // The schema checks the query in the shape the document gives it.
        request.query = query.canonical;
      },
      schema: {
        tags: ['Calls'],
        operationId: 'listCalls',
        summary: 'List calls',
        description:
          'Calls whose start_time is in the window, newest first (start_time, then id, descending). Filters combine ' +
          'with AND across parameters and OR within a list. A parameter not listed here is refused with a 400.',
        querystring: ListCallsQuery,
        response: { 200: List('Call', 'A page of calls'), ...errors(400) },
      },
    },
    async (request, reply) => {
      const accountId = request.auth!.accountId;
      const { filter, limit, page, fingerprint } = parsed.get(request)!;
      const pager = await Pager.of(store, fingerprint, 2);
      const key = pager.after(page, { filters: FILTERS_PROBLEM });
      const after = key ? { startTime: key[0]!, id: key[1]! } : null;
      // Rows as arrays, written to JSON directly: the list's hot path (see callsJson).
      const result = await store.calls.listRows(accountId, filter, limit, after);
      const next = result.next ? [result.next.startTime, result.next.id] : null;
      // Where sipsim holds a call's recording, the link is its own signed one.
      const linked = await recordings.linkCalls(
        baseUrlOf(request),
        accountId,
        result.rows.map((row) => ({ id: callRowId(row), play_record_link: callRowLink(row) })),
        nowSeconds(),
      );
      const data = callsJson(result.rows, result.tags, linked.map((call) => call.play_record_link));
      return sendListJson(request, reply, data, pager.pagination(result.rows.length, limit, next));
    },
  );
}
