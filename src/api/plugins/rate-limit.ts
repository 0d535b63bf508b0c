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

export interface RateLimitHooks {
  /** Called once for every request refused with a 429, with its group (for metrics). */
  onReject?: (group: RateLimitGroup) => void;
}

/** Probes, documentation, the OpenAPI document and the dashboard's hashed files are never limited. */
const UNLIMITED = /^\/(health|metrics|docs|assets|api\/v2\/openapi\.json)(\/|$)/;
/** Where credentials are tried: the token endpoint, and the dashboard's sign-in. */
const TOKEN_ENDPOINT = /^\/(oauth\/token|dashboard\/api\/session)\/?$/;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Client ids as the token endpoint may receive them; anything else is keyed by address. */
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,128}$/;

function groupOf(request: FastifyRequest): RateLimitGroup | null {
  const path = request.url.split('?')[0]!;
  if (UNLIMITED.test(path)) return null;
  if (TOKEN_ENDPOINT.test(path)) return 'auth';
  return READ_METHODS.has(request.method) ? 'read' : 'write';
}

/** The client a token request names, in HTTP Basic or in the form; it is not verified here. */
function tokenRequestClientId(request: FastifyRequest): string | undefined {
  const basic = /^Basic +(\S+)/i.exec(request.headers.authorization ?? '');
  const fromBasic = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':')[0] : undefined;
  const fromBody = (request.body as Record<string, unknown> | undefined)?.client_id;
  const id = fromBasic ?? (typeof fromBody === 'string' ? fromBody : undefined);
  return id !== undefined && CLIENT_ID.test(id) ? id : undefined;
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
  if (!(settings.enabled ?? DEFAULT_RATE_LIMIT.enabled)) return;
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

  async function clientKey(request: FastifyRequest, group: RateLimitGroup): Promise<string> {
    if (group === 'auth') {
      const id = tokenRequestClientId(request);
      if (id) return `client:${id}`;
    } else {
      try {
        return `client:${(await resolveAuth(store, request)).clientId}`;
      } catch {
        // No valid token (or no store to ask): the address is all there is,
        // so that a flood of bad tokens is limited too.
      }
    }
    // The address is gone when the client has already hung up.
    return `ip:${request.ip ? normalizeIP(request.ip) : 'unknown'}`;
  }

  const counted = new WeakSet<FastifyRequest>();

  /** Counts the request and sets the headers; refuses it with a 429 when `enforce` and over budget. */
  async function limit(request: FastifyRequest, reply: FastifyReply, enforce: boolean): Promise<void> {
    const group = groupOf(request);
    if (!group || counted.has(request)) return;
    counted.add(request);
    pending.set(request, { group, key: `${group}:${await clientKey(request, group)}` });

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
