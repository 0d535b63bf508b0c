import type { FastifyInstance } from 'fastify';
import { invalidParameter } from '../../domain/errors.js';
import { formatDateTime, nowSeconds, parseDateTime } from '../../domain/time.js';
import { buildCallReport, MAX_REPORT_SECONDS } from '../../reports/call-report.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';

type Query = Record<string, string | string[] | undefined>;

const EXAMPLE = 'an ISO 8601 date-time such as 2024-01-15T00:00:00+01:00';

/** A window end from the query string; `from` rounds up as the calls list's start_time does, so both cover the same calls. */
function instant(query: Query, name: 'from' | 'to' | 'since', required: boolean): number | undefined {
  const raw = query[name];
  if (Array.isArray(raw)) throw invalidParameter(`Invalid parameter '${name}': give it once`);
  if (raw === undefined || raw.trim() === '') {
    if (required) throw invalidParameter(`Missing required parameter '${name}' (${EXAMPLE})`);
    return undefined;
  }
  const parsed = parseDateTime(raw);
  if (!parsed) throw invalidParameter(`Invalid parameter '${name}': '${raw.slice(0, 64)}' is not ${EXAMPLE}`);
  return name === 'from' && parsed.fractional ? parsed.seconds + 1 : parsed.seconds;
}

/** Largest number of calls one poll returns; more arrive in the next. */
const CHANGES_LIMIT = 100;

/**
 * The dashboard's reads that the API has no operation for: the Reports page's
 * figures, and the calls stored since the last look (the Calls page polls it
 * to show new calls without a reload, which works whichever process stored them),
 * and how many calls carry each tag.
 */
export function registerDashboardReports(app: FastifyInstance, store: Store): void {
  const read = requireScope(store, 'calls.read');

  app.get('/dashboard/api/reports', { preValidation: read, schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Query;
    const from = instant(query, 'from', true)!;
    const to = instant(query, 'to', true)!;
    if (from > to) throw invalidParameter(`Invalid window: 'from' (${formatDateTime(from)}) is after 'to' (${formatDateTime(to)})`);
    if (to - from > MAX_REPORT_SECONDS) throw invalidParameter("Invalid window: a report covers at most 366 days between 'from' and 'to'");
    return sendData(request, reply, await buildCallReport(store, request.auth!.accountId, from, to));
  });

  // The Tags page's counts: one GROUP BY rather than paging the calls list per tag.
  app.get('/dashboard/api/tags/counts', { preValidation: requireScope(store, 'tags.read'), schema: { hide: true } }, async (request, reply) => {
    const counts = await store.tagCounts.callsPerTag(request.auth!.accountId);
    return sendData(request, reply, counts.map((c) => ({ tag_id: c.tagId, calls: c.calls })));
  });

  app.get('/dashboard/api/calls/changes', { preValidation: read, schema: { hide: true } }, async (request, reply) => {
    const accountId = request.auth!.accountId;
    // Read before the query: a call stored while it runs is in the next poll, not lost.
    const now = nowSeconds();
    const since = instant(request.query as Query, 'since', false);
    const found = since === undefined ? [] : await store.callReports.storedSince(accountId, since, CHANGES_LIMIT + 1);
    const ids = found.slice(0, CHANGES_LIMIT);
    const calls = (await Promise.all(ids.map((id) => store.getCall(accountId, id)))).filter((c) => c !== null);
    const active = await store.clickCalls.activeOf(accountId);
    return sendData(request, reply, {
      calls,
      // More waiting than one answer holds (a bulk import): reload the list rather than merge.
      truncated: found.length > CHANGES_LIMIT,
      in_progress: active.map((c) => ({
        id: c.id,
        status: c.status,
        phone_id: c.phoneId,
        employee_id: c.employeeId,
        caller_number: c.callerNumber,
        target_number: c.targetNumber,
        started_at: formatDateTime(Math.floor(c.startedAt / 1000)),
      })),
      next_since: formatDateTime(now),
    });
  });
}
