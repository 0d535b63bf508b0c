import type { FastifyInstance } from 'fastify';
import { invalidParameter } from '../../../domain/errors.js';
import { formatDateTime } from '../../../domain/time.js';
import { buildCallReport, MAX_REPORT_SECONDS } from '../../../reports/call-report.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { instant, type Query } from './query-values.js';

/** The Reports page's figures, which the API has no operation for. */
export function registerGetReport(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/reports', { config: { access: 'calls.read' }, schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Query;
    const from = instant(query, 'from', true)!;
    const to = instant(query, 'to', true)!;
    if (from > to) throw invalidParameter(`Invalid window: 'from' (${formatDateTime(from)}) is after 'to' (${formatDateTime(to)})`);
    if (to - from > MAX_REPORT_SECONDS) throw invalidParameter("Invalid window: a report covers at most 366 days between 'from' and 'to'");
    return sendData(request, reply, await buildCallReport(store, request.auth!.accountId, from, to));
  });
}
