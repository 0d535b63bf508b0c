import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { authenticateSession } from '../../plugins/session.js';
import { service, sessionData } from './session-data.js';

/** The signed-in person: public, since the route reads the session cookie itself and answers 401 without one. */
export function registerGetSession(app: FastifyInstance, store: Store): void {
  app.get('/dashboard/api/session', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply) => {
    service(request);
    const auth = await authenticateSession(request);
    if (!auth) throw new ApiError('NO_SESSION');
    return sendData(request, reply, await sessionData(store, auth.user, auth.sessionId, auth.session.expiresAt));
  });
}
