import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import { authenticateSession, clearSessionCookie, sessionCookie } from '../../plugins/session.js';
import { service } from './session-data.js';

/** Signing out: public, since an expired session may sign out too; a live one must pass the CSRF rules. */
export function registerSignOut(app: FastifyInstance): void {
  app.delete('/dashboard/api/session', { config: { access: 'public' }, schema: { hide: true } }, async (request, reply: FastifyReply) => {
    const users = service(request);
    const sessionId = sessionCookie(request);
    if (sessionId !== undefined) {
      let live = true;
      try {
        // A live session is ended only by its own page (CSRF rules); an expired one needs no proof.
        await authenticateSession(request);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'NO_SESSION')) throw error;
        live = false;
      }
      if (live) await users.signOut(sessionId);
    }
    clearSessionCookie(request, reply);
    return reply.code(204).send();
  });
}
