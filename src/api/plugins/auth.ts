import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import { basicCredentials, hashSecret, secretMatches } from '../../domain/credentials.js';
import type { Scope } from '../../domain/scopes.js';
import { nowSeconds } from '../../domain/time.js';
import type { Store } from '../../store/store.js';
import type { User } from '../../store/user-store.js';
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

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /**
     * The route also takes the client's own credentials in HTTP Basic: a PBX
     * posting its calls cannot renew tokens, but can send fixed credentials.
     */
    clientCredentials?: boolean;
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
  if (request.routeOptions.config?.clientCredentials && /^Basic /i.test(header)) return authenticateClient(store, request, header);
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
 * the rate limiter keys on it and requireScope checks it. Rejects with the 401
 * ApiError that requireScope answers with (or the store's error).
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
