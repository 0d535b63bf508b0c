import fastifyRateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { DEFAULT_RATE_LIMIT, type RateLimitGroup, type RateLimitRule } from '../../config.js';
import { ApiError } from '../../domain/errors.js';
import type { Store } from '../../store/store.js';
import { resolveAuth } from './auth.js';

/** Any part of the rate-limit configuration; the rest comes from the defaults. */
export interface RateLimitSettings {
  enabled?: boolean;
  rules?: Partial<Record<RateLimitGroup, RateLimitRule>>;
  redisUrl?: string | null;
  redisKeyPrefix?: string;
}

/**
 * Budgets for client authentication, kept apart from the route groups. Every
 * failed client authentication (a wrong id or secret at the token endpoint, in
 * HTTP Basic at the PBX routes) is counted against the source address,
 * whatever client id it named, so that guessing costs the same with one id or
 * a thousand. A client's own budget counts only the requests that
 * authenticated it, so that nobody who merely knows its id can spend it.
 */
export interface AuthBudget {
  /** Throws the 429 when this address has spent its failed-authentication budget. */
  checkAddress(request: FastifyRequest): Promise<void>;
  /** Counts one failed client authentication against the address. */
  failed(request: FastifyRequest): Promise<void>;
  /** Counts a correctly authenticated token request against its client; throws the 429 when spent. */
  succeeded(request: FastifyRequest, clientId: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    authBudget: AuthBudget;
  }
}

const UNLIMITED_AUTH: AuthBudget = { checkAddress: async () => {}, failed: async () => {}, succeeded: async () => {} };

export interface RateLimitHooks {
  /** Called once for every request refused with a 429, with its group (for metrics). */
  onReject?: (group: RateLimitGroup) => void;
}

/** Probes, documentation, the OpenAPI document, the OAuth metadata and the dashboard's hashed files are never limited. */
const UNLIMITED = /^\/(health|metrics|docs|assets|api\/v2\/openapi\.json|\.well-known\/oauth-authorization-server)(\/|$)/;
/** Where credentials are tried: the token endpoint, and the dashboard's sign-in. */
const TOKEN_ENDPOINT = /^\/(oauth\/token|dashboard\/api\/session)\/?$/;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
function groupOf(request: FastifyRequest): RateLimitGroup | null {
  const path = request.url.split('?')[0]!;
  if (UNLIMITED.test(path)) return null;
  if (TOKEN_ENDPOINT.test(path)) return 'auth';
  return READ_METHODS.has(request.method) ? 'read' : 'write';
}

/**
 * Per-client rate limits, one budget per client and route group, counted by
 * @fastify/rate-limit in process or in Redis. The package's per-route hooks
 * would give each route its own counter and skip the not-found handler, so one
 * limiter is applied here to every request instead, with the IETF
 * `RateLimit-*` headers on every response and the API's own error envelope.
 */
export function registerRateLimit(
  app: FastifyInstance,
  store: Store,
  settings: RateLimitSettings = {},
  hooks: RateLimitHooks = {},
): void {
  if (!(settings.enabled ?? DEFAULT_RATE_LIMIT.enabled)) {
    app.decorate('authBudget', UNLIMITED_AUTH);
    return;
  }
  const rules = { ...DEFAULT_RATE_LIMIT.rules, ...settings.rules };
  const redisUrl = settings.redisUrl ?? DEFAULT_RATE_LIMIT.redisUrl;

  const redis = redisUrl
    ? new Redis(redisUrl, {
        lazyConnect: true,
        connectTimeout: 1000,
        // While Redis is away, a command fails at once instead of waiting in a
        // queue, and one sent on a stalled connection gives up after 500 ms (less
        // would fire on a healthy Redis while a busy worker's event loop lags):
        // either way the request goes on unlimited. ioredis keeps reconnecting.
        enableOfflineQueue: false,
        commandTimeout: 500,
        maxRetriesPerRequest: 0,
      })
    : null;

  // Fail open: without its counters the API still serves, and says so once per outage.
  let redisDown = false;
  const markDown = (err: unknown) => {
    if (redisDown) return;
    redisDown = true;
    app.log.warn({ err }, 'rate limiting: Redis unreachable, serving without limits until it returns');
  };
  const markUp = () => {
    if (!redisDown) return;
    redisDown = false;
    app.log.info('rate limiting: Redis reachable again, limits apply');
  };
  if (redis) {
    redis.on('error', markDown);
    redis.on('ready', markUp);
    app.addHook('onReady', async () => {
      await redis.connect().catch(markDown);
    });
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
  }

  // The limiter below reads each request's group and key from here.
  const pending = new WeakMap<FastifyRequest, { group: RateLimitGroup; key: string }>();
  const rule = (request: FastifyRequest) => rules[pending.get(request)!.group];
  app.register(fastifyRateLimit, {
    global: false,
    redis,
    nameSpace: settings.redisKeyPrefix ?? DEFAULT_RATE_LIMIT.redisKeyPrefix,
    cache: 10000,
    keyGenerator: (request) => pending.get(request)!.key,
    max: (request) => rule(request).max,
    timeWindow: (request) => rule(request).windowSeconds * 1000,
  });
  let check: ReturnType<FastifyInstance['createRateLimit']>;
  app.after(() => {
    check = app.createRateLimit();
  });

  // The address is gone when the client has already hung up.
  const addressOf = (request: FastifyRequest) => `ip:${request.ip ? normalizeIP(request.ip) : 'unknown'}`;

  async function clientKey(request: FastifyRequest): Promise<string> {
    try {
      return `client:${(await resolveAuth(store, request)).clientId}`;
    } catch {
      // No valid token (or no store to ask): the address is all there is,
      // so that a flood of bad tokens is limited too.
      return addressOf(request);
    }
  }

  /** One counter of the auth rule: read only, or counted; null while the counters are unreachable. */
  async function authCounter(request: FastifyRequest, key: string, increment: boolean) {
    pending.set(request, { group: 'auth', key });
    try {
      const result = await check(request, { increment });
      if (redis) markUp();
      return result;
    } catch (err) {
      markDown(err);
      return null;
    }
  }

  function refuse(reply: FastifyReply | null, result: { max: number; ttlInSeconds: number }): never {
    const reset = Math.max(1, result.ttlInSeconds);
    reply?.header('RateLimit-Limit', result.max).header('RateLimit-Remaining', 0).header('RateLimit-Reset', reset);
    hooks.onReject?.('auth');
    throw new ApiError('RATE_LIMITED', String(reset), { 'Retry-After': String(reset) });
  }

  const replies = new WeakMap<FastifyRequest, FastifyReply>();
  const showBudget = (request: FastifyRequest, result: { max: number; remaining: number; ttlInSeconds: number }) => {
    replies.get(request)?.header('RateLimit-Limit', result.max).header('RateLimit-Remaining', result.remaining).header('RateLimit-Reset', Math.max(1, result.ttlInSeconds || rules.auth.windowSeconds));
  };
  app.decorate('authBudget', {
    async checkAddress(request) {
      const result = await authCounter(request, `authfail:${addressOf(request)}`, false);
      if (!result || result.isAllowed) return;
      showBudget(request, result);
      if (result.remaining <= 0) refuse(replies.get(request) ?? null, result);
    },
    async failed(request) {
      const result = await authCounter(request, `authfail:${addressOf(request)}`, true);
      if (result && !result.isAllowed) showBudget(request, result);
    },
    async succeeded(request, clientId) {
      const result = await authCounter(request, `auth:client:${clientId}`, true);
      const reply = replies.get(request);
      if (result && !result.isAllowed) {
        showBudget(request, result);
        if (result.isExceeded) refuse(reply ?? null, result);
      }
    },
  } satisfies AuthBudget);

  const counted = new WeakSet<FastifyRequest>();

  /** Counts the request and sets the headers; refuses it with a 429 when `enforce` and over budget. */
  async function limit(request: FastifyRequest, reply: FastifyReply, enforce: boolean): Promise<void> {
    const group = groupOf(request);
    if (!group || counted.has(request)) return;
    counted.add(request);
    replies.set(request, reply);
    // The token endpoint is counted by authBudget, as its handler learns who the client is.
    if (group === 'auth') {
      if (enforce) await app.authBudget.checkAddress(request);
      else {
        const result = await authCounter(request, `authfail:${addressOf(request)}`, false);
        if (result && !result.isAllowed) showBudget(request, result);
      }
      return;
    }
    pending.set(request, { group, key: `${group}:${await clientKey(request)}` });

    let result: Awaited<ReturnType<typeof check>>;
    try {
      result = await check(request);
      if (redis) markUp();
    } catch (err) {
      markDown(err);
      // Nothing was counted: say the whole budget is left.
      const { max, windowSeconds } = rules[group];
      reply.header('RateLimit-Limit', max).header('RateLimit-Remaining', max).header('RateLimit-Reset', windowSeconds);
      return;
    }
    if (result.isAllowed) return;
    const reset = Math.max(1, result.ttlInSeconds);
    reply.header('RateLimit-Limit', result.max).header('RateLimit-Remaining', result.remaining).header('RateLimit-Reset', reset);
    if (enforce && result.isExceeded) {
      hooks.onReject?.(group);
      throw new ApiError('RATE_LIMITED', String(reset), { 'Retry-After': String(reset) });
    }
  }

  // After the body is parsed (the token endpoint is keyed by the client it
  // names) and before requireScope, which reuses the token lookup.
  app.addHook('preValidation', async (request, reply) => {
    await limit(request, reply, true);
  });
  // Requests refused before that (a body too large or unreadable) still count
  // and still carry the headers.
  app.addHook('onSend', async (request, reply, payload) => {
    await limit(request, reply, false);
    return payload;
  });
}
