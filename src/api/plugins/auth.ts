import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import { basicCredentials, hashSecret, secretMatches } from '../../domain/credentials.js';
import type { Scope } from '../../domain/scopes.js';
import { nowSeconds } from '../../domain/time.js';
import type { Store } from '../../store/store.js';
import type { User } from '../../store/user-store.js';
import { documentAccess } from '../schemas/responses.js';
import { authenticateSession } from './session.js';

export interface AuthContext {
  accountId: number;
  /** The OAuth client, or `user:<id>` for a dashboard session. */
  clientId: string;
  scopes: Set<string>;
  /** A client's own credentials in HTTP Basic (the PBX routes), rather than a bearer token. */
  viaClientCredentials?: boolean;
  /** Set when the request is authenticated by a dashboard session rather than a token. */
  user?: User;
}

/**
 * Who may call a route, stated once in its `config.access`; registerRouteAccess
 * turns it into the check and into the operation's security in the document.
 * - a scope: a bearer token, or a dashboard session, granted it;
 * - `{ scope, clientCredentials: true }`: the same, or the client's own id and
 *   secret in HTTP Basic (a PBX posting its calls cannot renew tokens, but can
 *   send fixed credentials);
 * - `'admin'`: a dashboard session with the admin role, or a token with
 *   settings.write;
 * - `'public'`: anyone; what the route needs it checks itself (the token
 *   endpoint, a signed link, the dashboard's sign-in).
 */
export type Access = Scope | { scope: Scope; clientCredentials: true } | 'admin' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

const REALM = 'Bearer realm="sipsim"';
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

function challenge(error?: string, description?: string): Record<string, string> {
  if (!error) return { 'WWW-Authenticate': REALM };
  return { 'WWW-Authenticate': `${REALM}, error="${error}"${description ? `, error_description="${description}"` : ''}` };
}

async function authenticate(store: Store, request: FastifyRequest): Promise<AuthContext> {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') {
    // No Authorization header: a dashboard session cookie may stand in for a token.
    const session = await authenticateSession(request);
    if (session) return session;
    throw new ApiError('MISSING_TOKEN', '', challenge());
  }
  const access = request.routeOptions.config?.access;
  if (typeof access === 'object' && access.clientCredentials && /^Basic /i.test(header)) return authenticateClient(store, request, header);
  const match = BEARER.exec(header);
  if (!match) {
    throw new ApiError('MALFORMED_AUTHORIZATION', '', challenge('invalid_request', 'Authorization must be: Bearer <token>'));
  }
  // Tokens are looked up by their hash, so the stored value never leaves the database.
  const token = await store.credentials.findToken(hashSecret(match[1]!));
  if (!token || token.expiresAt <= nowSeconds()) {
    throw new ApiError('INVALID_TOKEN', '', challenge('invalid_token', 'The access token is invalid or has expired'));
  }
  return { accountId: token.accountId, clientId: token.clientId, scopes: new Set(token.scopes) };
}

async function authenticateClient(store: Store, request: FastifyRequest, header: string): Promise<AuthContext> {
  // Client secrets are guessed here as at the token endpoint: one budget of failures per address for both.
  await request.server.authBudget.checkAddress(request);
  const credentials = basicCredentials(header);
  const client = credentials && credentials !== 'malformed' ? await store.credentials.findClient(credentials.id) : null;
  // Compare even when the client is unknown, so that timing does not tell which ids exist.
  const secret = credentials && credentials !== 'malformed' ? credentials.secret : '';
  const secretOk = secretMatches(secret, client?.secretHash ?? hashSecret('\u0000'));
  if (!client || client.revokedAt !== null || !secretOk) {
    await request.server.authBudget.failed(request);
    throw new ApiError('INVALID_CLIENT', '', { 'WWW-Authenticate': 'Basic realm="sipsim"' });
  }
  return { accountId: client.accountId, clientId: client.clientId, scopes: new Set(client.scopes), viaClientCredentials: true };
}

const resolved = new WeakMap<FastifyRequest, Promise<AuthContext>>();

/**
 * The request's bearer token resolved to its client, looked up once per request:
 * the rate limiter keys on it and the route's access check reads it. Rejects
 * with the 401 ApiError that the check answers with (or the store's error).
 */
export function resolveAuth(store: Store, request: FastifyRequest): Promise<AuthContext> {
  let auth = resolved.get(request);
  if (!auth) {
    auth = authenticate(store, request);
    resolved.set(request, auth);
  }
  return auth;
}

export function registerAuth(app: FastifyInstance): void {
  app.decorateRequest('auth', null);
}

/** A pre-handler that authenticates the bearer token and checks one scope. */
export function requireScope(store: Store, scope: Scope): preHandlerAsyncHookHandler {
  return async (request) => {
    const auth = await resolveAuth(store, request);
    if (!auth.scopes.has(scope) && auth.viaClientCredentials) {
      // Credentials sent in Basic are a key to this route or nothing: a client
      // without the scope is answered as a wrong secret is (and counted as a
      // failure), so that the answer never tells a right secret from a wrong one.
      await request.server.authBudget.failed(request);
      throw new ApiError('INVALID_CLIENT', '', { 'WWW-Authenticate': 'Basic realm="sipsim"' });
    }
    if (!auth.scopes.has(scope)) {
      throw new ApiError('INSUFFICIENT_SCOPE', scope, {
        'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${scope}"`,
      });
    }
    request.auth = auth;
  };
}

/**
 * API clients are for the account's admins: a session needs the admin role
 * (members are refused whatever they send), a bearer token every power over
 * settings.
 */
function requireAdmin(store: Store): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const auth = await resolveAuth(store, request);
    if (auth.user) {
      if (auth.user.role !== 'admin') throw new ApiError('ADMIN_ONLY');
    } else if (!auth.scopes.has('settings.write')) {
      throw new ApiError('INSUFFICIENT_SCOPE', 'settings.write', { 'WWW-Authenticate': 'Bearer realm="sipsim", error="insufficient_scope", scope="settings.write"' });
    }
    request.auth = auth;
  };
}

function accessCheck(store: Store, access: Access): preHandlerAsyncHookHandler | null {
  if (access === 'public') return null;
  if (access === 'admin') return requireAdmin(store);
  return requireScope(store, typeof access === 'string' ? access : access.scope);
}

/**
 * Every route registered in `app` states its access (see Access): this turns it
 * into the check, which runs before the route's own preValidation, and into the
 * security and the error answers of its operation in the document. A route that
 * states none stops the app from starting.
 */
export function registerRouteAccess(app: FastifyInstance, store: Store): void {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined) throw new Error(`${String(route.method)} ${route.url} does not state who may call it: set config.access`);
    const check = accessCheck(store, access);
    if (check) {
      const own = route.preValidation ?? [];
      route.preValidation = [check, ...(Array.isArray(own) ? own : [own])];
    }
    // A new schema rather than a change to the route's own, which its HEAD twin shares.
    const { security, errors } = documentAccess(access);
    const schema = route.schema ?? {};
    route.schema = { ...schema, security, ...(errors ? { response: { ...(schema.response as object), ...errors } } : {}) };
  });
}
