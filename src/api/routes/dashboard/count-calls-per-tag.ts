import type { FastifyInstance } from 'fastify';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';

/** The Tags page's counts: one GROUP BY rather than paging the calls list per tag. */
export function registerCountCallsPerTag(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/tags/counts', { config: { access: 'tags.read' }, schema: { hide: true } }, async (request, reply) => {
    const counts = await store.tags.callsPerTag(request.auth!.accountId);
    return sendData(request, reply, counts.map((c) => ({ tag_id: c.tagId, calls: c.calls })));
  });
}
