import type { FastifyInstance } from 'fastify';
import { formatDateTime, nowSeconds } from '../../../domain/time.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { instant, type Query } from './query-values.js';

/** Largest number of calls one poll returns; more arrive in the next. */
const CHANGES_LIMIT = 100;

/**
 * The calls stored since the last look: the Calls page polls it to show new
 * calls without a reload, which works whichever process stored them.
 */
export function registerListCallChanges(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/calls/changes', { config: { access: 'calls.read' }, schema: { hide: true } }, async (request, reply) => {
    const accountId = request.auth!.accountId;
    // Read before the query: a call stored while it runs is in the next poll, not lost.
    const now = nowSeconds();
    const since = instant(request.query as Query, 'since', false);
    const found = since === undefined ? [] : await store.callReports.storedSince(accountId, since, CHANGES_LIMIT + 1);
    const ids = found.slice(0, CHANGES_LIMIT);
    const calls = (await Promise.all(ids.map((id) => store.calls.find(accountId, id)))).filter((c) => c !== null);
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
