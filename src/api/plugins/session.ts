import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../domain/errors.js';
import type { User } from '../../store/user-store.js';
import { csrfTokenMatches, scopesOfRole, type ActiveSession, type UserService } from '../../users/service.js';
import type { AuthContext } from './auth.js';

export const SESSION_COOKIE = 'sipsim_session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyInstance {
    /** Dashboard sign-in; null when the app was built without it. */
    userService: UserService | null;
    /** Whether X-Forwarded-* headers are believed. */
    trustsProxy: boolean;
  }
}

export interface SessionAuth extends AuthContext {
  user: User;
  sessionId: string;
  session: ActiveSession;
}

/**
 * Dashboard sessions: the cookie plugin, and authentication by the session
 * cookie for requests that send no Authorization header. Such requests reach
 * the user's account with their role's scopes; when they write (any method but
 * GET, HEAD and OPTIONS) they must also carry the session's CSRF token and, if
 * the browser sends an Origin, come from this host.
 */
export function registerSessions(app: FastifyInstance, userService: UserService | null, trustProxy: boolean): void {
  app.register(cookie);
  app.decorate('userService', userService);
  app.decorate('trustsProxy', trustProxy);
}

/** The session cookie's value, when the request has one. */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[SESSION_COOKIE];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Whether the request came over https: directly, or (when trusted) through a proxy that says so. */
export function cameOverHttps(request: FastifyRequest): boolean {
  if ((request.raw.socket as { encrypted?: boolean }).encrypted) return true;
  if (!request.server.trustsProxy) return false;
  const forwarded = request.headers['x-forwarded-proto'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return first === 'https';
}

function requestHost(request: FastifyRequest): string | undefined {
  if (request.server.trustsProxy) {
    const forwarded = request.headers['x-forwarded-host'];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    if (first) return first.toLowerCase();
  }
  return request.headers.host?.toLowerCase();
}

/** Whether an Origin names this host; both read as URLs of the Origin's scheme, so that a default port compares equal to none. */
function sameHost(origin: string, host: string | undefined): boolean {
  if (!host || origin === 'null') return false;
  try {
    const from = new URL(origin);
    return from.host === new URL(`${from.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

/** A write through a cookie must prove it comes from the dashboard's own page. */
function checkCsrf(request: FastifyRequest, sessionId: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined) {
    if (!sameHost(origin, requestHost(request))) throw new ApiError('CSRF', 'the request comes from another site (Origin does not match this host)');
  }
  const token = request.headers['x-csrf-token'];
  if (typeof token !== 'string' || token === '') throw new ApiError('CSRF', 'send the X-CSRF-Token header the session endpoint gave');
  if (!csrfTokenMatches(sessionId, token)) throw new ApiError('CSRF', 'the X-CSRF-Token header does not match the session');
}

/**
 * The session behind the request's cookie, checked against CSRF rules for
 * writes; null when there is no cookie. An expired or unknown session is a 401.
 */
export async function authenticateSession(request: FastifyRequest): Promise<SessionAuth | null> {
  const service = request.server.userService;
  const sessionId = sessionCookie(request);
  if (!service || sessionId === undefined) return null;
  const session = await service.resolveSession(sessionId);
  if (!session) throw new ApiError('NO_SESSION');
  checkCsrf(request, sessionId);
  return {
    accountId: session.user.accountId,
    clientId: `user:${session.user.id}`,
    scopes: new Set(scopesOfRole(session.user.role)),
    user: session.user,
    sessionId,
    session,
  };
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, sessionId: string, maxAgeSeconds: number): void {
  reply.setCookie(SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: cameOverHttps(request),
    maxAge: maxAgeSeconds,
  });
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', path: '/', secure: cameOverHttps(request) });
}
