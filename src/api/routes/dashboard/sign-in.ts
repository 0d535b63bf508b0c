import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../../domain/errors.js';
import { MAX_PASSWORD_LENGTH } from '../../../domain/passwords.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { setSessionCookie } from '../../plugins/session.js';
import { service, sessionData } from './session-data.js';

const SignIn = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH }),
  },
  { additionalProperties: false },
);

/**
 * Signing in to the dashboard. Sign-in answers the same for an unknown email
 * as for a wrong password; the store counts failures per email and locks it
 * for a while after too many.
 */
export function registerSignIn(app: FastifyInstance, store: Store, maxHours: number): void {
  app.post<{ Body: { email: string; password: string } }>(
    '/dashboard/api/session',
    { config: { access: 'public' }, schema: { hide: true, body: SignIn } },
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
}
