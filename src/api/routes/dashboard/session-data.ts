import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import { formatDateTime } from '../../../domain/time.js';
import type { Store } from '../../../store/store.js';
import type { User } from '../../../store/user-store.js';
import { csrfTokenOf, scopesOfRole } from '../../../users/service.js';

/** The signed-in person, their account and what the browser needs to write. */
export async function sessionData(store: Store, user: User, sessionId: string, expiresAt: number) {
  const account = await store.accounts.find(user.accountId);
  if (!account) throw new ApiError('NO_SESSION');
  return {
    user: { id: user.id, email: user.email, name: user.name, role: user.role, employee_id: user.employeeId },
    account: { id: account.id, name: account.name, timezone: account.timezone },
    scopes: scopesOfRole(user.role),
    csrf_token: csrfTokenOf(sessionId),
    expires_at: formatDateTime(Math.floor(expiresAt / 1000)),
  };
}

/** The dashboard's users; without them, the session routes answer as routes that do not exist. */
export function service(request: FastifyRequest) {
  const users = request.server.userService;
  if (!users) throw new ApiError('ROUTE_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`);
  return users;
}
