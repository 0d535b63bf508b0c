import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { MAX_PASSWORD_LENGTH } from '../../domain/passwords.js';
import { formatDateTime } from '../../domain/time.js';
import type { Store } from '../../store/store.js';
import type { User } from '../../store/user-store.js';
import { csrfTokenOf, scopesOfRole } from '../../users/service.js';
import { sendData } from '../envelope.js';
import { authenticateSession, clearSessionCookie, sessionCookie, setSessionCookie } from '../plugins/session.js';

const SignIn = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
  },
  { additionalProperties: false },
);

const hidden = { hide: true } as const;

/** The signed-in person, their account and what the browser needs to write. */
async function sessionData(store: Store, user: User, sessionId: string, expiresAt: number) {
  const account = await store.getAccount(user.accountId);
  if (!account) throw new ApiError('NO_SESSION');
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role, employee_id: user.employeeId },
    account: { id: account.id, name: account.name, timezone: account.timezone },
    scopes: scopesOfRole(user.role),
    csrf_token: csrfTokenOf(sessionId),
    expires_at: formatDateTime(Math.floor(expiresAt / 1000)),
  };
}

function service(request: FastifyRequest) {
  const users = request.server.userService;
  if (!users) throw new ApiError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
  return users;
}

/**
 * Signing in and out of the dashboard. Sign-in answers the same for an
 * unknown email as for a wrong password; the store counts failures per email
 * and locks it for a while after too many.
 */
export function registerDashboardSession(app: FastifyInstance, store: Store, maxHours: number): void {
  app.post<{ Body: { email: string; password: string } }>(
    '/dashboard/api/session',
    { schema: { ...hidden, body: SignIn } },
    async (request, reply) => {
      const result = await service(request).signIn(request.body.email, request.body.password);
      if (!result.ok) {
        if (result.reason === 'locked') {
          const seconds = String(Math.max(1, result.retryAfterSeconds));
          throw new ApiError('SIGN_IN_LOCKED', seconds, { 'Retry-After': seconds });
        }
        throw new ApiError('INVALID_LOGIN');
      }
      setSessionCookie(request, reply, result.sessionId, maxHours * 3600);
      return sendData(request, reply, await sessionData(store, result.user, result.sessionId, result.expiresAt));
    },
  );

  app.get('/dashboard/api/session', { schema: hidden }, async (request, reply) => {
    service(request);
    const auth = await authenticateSession(request);
    if (!auth) throw new ApiError('NO_SESSION');
    return sendData(request, reply, await sessionData(store, auth.user, auth.sessionId, auth.session.expiresAt));
  });

  app.delete('/dashboard/api/session', { schema: hidden }, async (request, reply: FastifyReply) => {
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
