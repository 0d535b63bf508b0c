import type { FastifyInstance } from 'fastify';
import { parseListCallsQuery } from '../../domain/call-filters.js';
import { CursorCodec } from '../../domain/cursor.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { sendList } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';

const TOKEN_PROBLEMS = {
  malformed: 'not a page token issued by this server',
  tampered: 'not a page token issued by this server',
  filters:
    'it was issued for other filters; send it with the same start_time, end_time, employees, tags, call_types and search as the request that returned it',
} as const;

export function registerListCalls(app: FastifyInstance, store: Store): void {
  app.get('/api/v2/calls', { preHandler: requireScope(store, 'calls.read') }, async (request, reply) => {
    const accountId = request.auth!.accountId;
    const { filter, limit, page, fingerprint } = parseListCallsQuery(request.query as Record<string, unknown>, accountId);
    const codec = new CursorCodec(await store.cursorSecret());
    let after = null;
    if (page) {
      const decoded = codec.decode(page, fingerprint);
      if (typeof decoded === 'string') throw new ApiError('INVALID_PAGE_TOKEN', TOKEN_PROBLEMS[decoded]);
      after = decoded;
    }
    const result = await store.listCalls(accountId, filter, limit, after);
    return sendList(request, reply, result.calls, {
      count: result.calls.length,
      limit,
      ...(result.next ? { page: codec.encode(result.next, fingerprint) } : {}),
      has_more: result.next !== null,
    });
  });
}
