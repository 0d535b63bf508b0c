import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { registerAuth, requireScope } from '../../src/api/plugins/auth.js';
import { registerErrorHandling } from '../../src/api/plugins/errors.js';
import { registerRateLimit, type RateLimitSettings } from '../../src/api/plugins/rate-limit.js';
import { DEFAULT_RATE_LIMIT, loadConfig } from '../../src/config.js';
import { createHarness, TEST_CONFIG, type ApiHarness } from '../helpers/fixture.js';
import { CuttableProxy } from '../helpers/tcp-proxy.js';
import { REDIS_URL, redisAvailable } from '../helpers/redis.js';

describe('rate-limit configuration', () => {
  it('reads limits per group from the environment', () => {
    const config = loadConfig({}, { SIPSIM_RATE_LIMIT_READ: '100/10s', SIPSIM_RATE_LIMIT_WRITE: '5000/h', SIPSIM_RATE_LIMIT_AUTH: '7/m' });
    expect(config.rateLimit).toEqual({
      enabled: true,
      rules: { read: { max: 100, windowSeconds: 10 }, write: { max: 5000, windowSeconds: 3600 }, auth: { max: 7, windowSeconds: 60 } },
      redisUrl: null,
      redisKeyPrefix: 'sipsim:ratelimit:',
    });
    expect(loadConfig({}, {}).rateLimit).toEqual(DEFAULT_RATE_LIMIT);
    expect(loadConfig({}, { SIPSIM_RATE_LIMIT: 'off', SIPSIM_REDIS_URL: 'redis://cache:6379' }).rateLimit).toMatchObject({
      enabled: false,
      redisUrl: 'redis://cache:6379',
    });
  });

  it.each([
    ['SIPSIM_RATE_LIMIT_READ', '1200'],
    ['SIPSIM_RATE_LIMIT_READ', '0/60s'],
    ['SIPSIM_RATE_LIMIT_WRITE', '10/2d'],
    ['SIPSIM_RATE_LIMIT_AUTH', '10/25h'],
    ['SIPSIM_RATE_LIMIT', 'no'],
    ['SIPSIM_REDIS_URL', 'localhost:6379'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => loadConfig({}, { [name]: value })).toThrow(name);
  });
});

const REDIS_READY = await redisAvailable();
const uniquePrefix = () => `sipsim-test:${randomBytes(6).toString('hex')}:`;
const tiny = (max: number) => ({ max, windowSeconds: 60 });

/** Rate limiting does not depend on the store engine: SQLite only. */
describe('rate limits', () => {
  let h: ApiHarness;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(() => h?.close());

  async function appWith(rateLimit: RateLimitSettings): Promise<FastifyInstance> {
    const app = buildApp({ store: h.store, config: { ...TEST_CONFIG, rateLimit } });
    apps.push(app);
    await app.ready();
    return app;
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const headersOf = (r: { headers: Record<string, unknown> }) => ({
    limit: r.headers['ratelimit-limit'],
    remaining: r.headers['ratelimit-remaining'],
    reset: Number(r.headers['ratelimit-reset']),
  });

  it('sends RateLimit headers on every response: 200, 401, 403, 404, 405 and 413', async () => {
    const app = await appWith({ rules: { read: tiny(50), write: tiny(40) } });
    const token = await h.token();
    const phonesOnly = await h.token('phones.read');
    const responses = [
      await app.inject({ url: '/api/v2/account', headers: bearer(token) }),
      await app.inject({ url: '/api/v2/account' }),
      await app.inject({ url: '/api/v2/account', headers: bearer('sst_unknown') }),
      await app.inject({ url: '/api/v2/account', headers: bearer(phonesOnly) }),
      await app.inject({ url: '/api/v2/no-such-thing', headers: bearer(token) }),
      await app.inject({ url: '/nowhere' }),
    ];
    expect(responses.map((r) => r.statusCode)).toEqual([200, 401, 401, 403, 404, 404]);
    for (const r of responses) {
      expect(headersOf(r).limit).toBe('50');
      expect(Number(headersOf(r).remaining)).toBeLessThan(50);
      expect(headersOf(r).reset).toBeGreaterThanOrEqual(1);
      expect(headersOf(r).reset).toBeLessThanOrEqual(60);
    }
    const wrongMethod = await app.inject({ method: 'DELETE', url: '/api/v2/account', headers: bearer(token) });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers['ratelimit-limit']).toBe('40');
    const tooLarge = await app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=${'x'.repeat(2 * 1024 * 1024)}`,
    });
    expect(tooLarge.statusCode).toBe(413);
    expect(tooLarge.headers['ratelimit-limit']).toBe('60');
  });

  it('answers auth failures as it does without limits', async () => {
    const app = await appWith({});
    const missing = await app.inject({ url: '/api/v2/account' });
    expect(missing.json()).toMatchObject({ status: 401, code: 'MISSING_TOKEN', path: '/api/v2/account' });
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="sipsim"');
    const scope = await app.inject({ url: '/api/v2/account', headers: bearer(await h.token('phones.read')) });
    expect(scope.statusCode).toBe(403);
    expect(scope.headers['www-authenticate']).toBe('Bearer realm="sipsim", error="insufficient_scope", scope="account.read"');
  });

  it('looks the token up once per request, for the limiter and the scope check together', async () => {
    const app = await appWith({});
    const token = await h.token();
    const findToken = vi.spyOn(h.store.credentials, 'findToken');
    expect((await app.inject({ url: '/api/v2/account', headers: bearer(token) })).statusCode).toBe(200);
    expect(findToken).toHaveBeenCalledTimes(1);
  });

  it('refuses the request after the limit with a 429, Retry-After and the error envelope', async () => {
    const app = await appWith({ rules: { read: tiny(3) } });
    const token = await h.token();
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ url: '/api/v2/account', headers: bearer(token) });
      expect(r.statusCode).toBe(200);
      remaining.push(r.headers['ratelimit-remaining']);
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const refused = await app.inject({ url: '/api/v2/account?x=1', headers: { ...bearer(token), 'x-request-id': 'req-429' } });
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-request-id']).toBe('req-429');
    expect(refused.json()).toEqual({
      status: 429,
      errors: [`Rate limit exceeded: retry after ${retryAfter}s`],
      code: 'RATE_LIMITED',
      request_id: 'req-429',
      path: '/api/v2/account',
    });
  });

  it('gives each OAuth client its own budget, shared by its tokens, and reads apart from writes', async () => {
    const app = await appWith({ rules: { read: tiny(2), write: tiny(2) } });
    const { client, clientSecret } = await issueClient(h.store, h.accountId);
    const grant = async () =>
      (
        await app.inject({
          method: 'POST',
          url: '/oauth/token',
          payload: { grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret },
        })
      ).json().access_token as string;
    const [first, second] = [await grant(), await grant()];
    const other = await h.token();
    const account = (token: string) => app.inject({ url: '/api/v2/account', headers: bearer(token) });

    expect((await account(first)).statusCode).toBe(200);
    expect((await account(second)).statusCode).toBe(200);
    expect((await account(first)).statusCode).toBe(429);
    expect((await account(second)).statusCode).toBe(429);
    expect((await account(other)).statusCode).toBe(200);
    const write = await app.inject({ method: 'POST', url: '/api/v2/account', headers: bearer(first) });
    expect(write.statusCode).toBe(405);
    expect(write.headers['ratelimit-remaining']).toBe('1');
  });

  it('limits requests without a valid token by address, whatever token or path they send', async () => {
    const app = await appWith({ rules: { read: tiny(3) } });
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push((await app.inject({ url: '/api/v2/account', headers: bearer(`sst_guess_${i}`) })).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await app.inject({ url: '/nowhere' })).statusCode).toBe(429);
    expect((await app.inject({ url: '/api/v2/account', headers: bearer(await h.token()) })).statusCode).toBe(200);
  });

  describe('client authentication budgets', () => {
    const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    const grantFrom = (app: FastifyInstance, address: string, form: Record<string, string>, authorization?: string) =>
      app.inject({
        method: 'POST',
        url: '/oauth/token',
        remoteAddress: address,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
        payload: new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString(),
      });

    it('gives an address one budget of failures whatever client ids it makes up', async () => {
      const app = await appWith({ rules: { auth: tiny(5) } });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) {
        const r = await grantFrom(app, '203.0.113.7', { client_id: `made-up-${i}-${randomBytes(4).toString('hex')}`, client_secret: 'guess' });
        statuses.push(r.statusCode);
      }
      expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
      expect(statuses.slice(5)).toEqual(Array(15).fill(429));
      const refused = await grantFrom(app, '203.0.113.7', { client_id: 'another', client_secret: 'guess' });
      expect(refused.json()).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/^Rate limit exceeded/) });
      expect(refused.headers['retry-after']).toBeDefined();
      // Another address has its own budget.
      expect((await grantFrom(app, '203.0.113.8', { client_id: 'x', client_secret: 'y' })).statusCode).toBe(401);
    });

    it('counts a Basic header split into base64 chunks, or malformed, as failures of the address', async () => {
      const app = await appWith({ rules: { auth: tiny(3) } });
      const { client } = await issueClient(h.store, h.accountId);
      const split = `Basic ${Buffer.from(`${client.clientId}:`).toString('base64')}${Buffer.from('wrong').toString('base64')}`;
      const statuses = [];
      for (const authorization of [split, split, 'Basic !!!', basicOf(client.clientId, 'wrong')]) {
        statuses.push((await grantFrom(app, '203.0.113.9', {}, authorization)).statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    });

    it('a stranger who knows a client id cannot lock that client out', async () => {
      const app = await appWith({ rules: { auth: tiny(3) } });
      const { client, clientSecret } = await issueClient(h.store, h.accountId);
      for (let i = 0; i < 10; i++) await grantFrom(app, '198.51.100.66', { client_id: client.clientId, client_secret: 'wrong' });
      expect((await grantFrom(app, '198.51.100.66', { client_id: client.clientId, client_secret: 'wrong' })).statusCode).toBe(429);
      // The real client, from its own address, still has its whole budget.
      const own = await grantFrom(app, '192.0.2.10', { client_id: client.clientId, client_secret: clientSecret });
      expect(own.statusCode).toBe(200);
      expect(own.headers['ratelimit-remaining']).toBe('2');
      // Its own budget counts its own successes, from any address.
      expect((await grantFrom(app, '192.0.2.11', {}, basicOf(client.clientId, clientSecret))).statusCode).toBe(200);
      expect((await grantFrom(app, '192.0.2.12', { client_id: client.clientId, client_secret: clientSecret })).statusCode).toBe(200);
      const spent = await grantFrom(app, '192.0.2.10', { client_id: client.clientId, client_secret: clientSecret });
      expect(spent.statusCode).toBe(429);
      expect(spent.json().error).toBe('temporarily_unavailable');
    });

    it('counts Basic failures at /pbx/events against the same budget as the token endpoint', async () => {
      const app = await appWith({ rules: { auth: tiny(3), write: tiny(100) } });
      const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.write' });
      const post = (authorization: string) =>
        app.inject({ method: 'POST', url: '/api/v2/pbx/events', remoteAddress: '203.0.113.20', headers: { authorization, 'content-type': 'application/json' }, payload: '[]' });
      expect((await grantFrom(app, '203.0.113.20', { client_id: client.clientId, client_secret: 'wrong' })).statusCode).toBe(401);
      expect((await post(basicOf(client.clientId, 'wrong'))).statusCode).toBe(401);
      expect((await post(basicOf('nobody', 'wrong'))).statusCode).toBe(401);
      // The address has spent its failures: even the right secret is refused now, at either door.
      const refused = await post(basicOf(client.clientId, clientSecret));
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect((await grantFrom(app, '203.0.113.20', { client_id: client.clientId, client_secret: clientSecret })).statusCode).toBe(429);
    });

    it('answers a right secret of a client without calls.write at /pbx/events as a wrong secret', async () => {
      const app = await appWith({ rules: { auth: tiny(100), write: tiny(100) } });
      const { client, clientSecret } = await issueClient(h.store, h.accountId, { scopes: 'calls.read' });
      const post = (authorization: string) =>
        app.inject({ method: 'POST', url: '/api/v2/pbx/events', remoteAddress: '203.0.113.30', headers: { authorization, 'content-type': 'application/json' }, payload: '[]' });
      const right = await post(basicOf(client.clientId, clientSecret));
      const wrong = await post(basicOf(client.clientId, 'wrong'));
      expect(right.statusCode).toBe(401);
      expect(wrong.statusCode).toBe(401);
      const strip = (r: typeof right) => ({ ...r.json(), request_id: null, www: r.headers['www-authenticate'] });
      expect(strip(right)).toEqual(strip(wrong));
    });
  });

  it('never limits health, metrics, docs or the OpenAPI document', async () => {
    const app = await appWith({ rules: { read: tiny(1) } });
    for (let i = 0; i < 3; i++) {
      for (const url of ['/health', '/metrics', '/docs', '/docs/static/index.html', '/api/v2/openapi.json']) {
        const r = await app.inject({ url });
        expect(r.statusCode, url).not.toBe(429);
        expect(r.headers['ratelimit-limit'], url).toBeUndefined();
      }
    }
  });

  it('can be switched off', async () => {
    const app = await appWith({ enabled: false, rules: { read: tiny(1) } });
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ url: '/api/v2/account' });
      expect(r.statusCode).toBe(401);
      expect(r.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it('reports each refusal with its group, for metrics', async () => {
    const rejected: string[] = [];
    const app = Fastify();
    apps.push(app);
    registerErrorHandling(app);
    registerAuth(app);
    registerRateLimit(app, h.store, { rules: { read: tiny(1), write: tiny(1) } }, { onReject: (group) => rejected.push(group) });
    app.get('/api/v2/thing', { preHandler: requireScope(h.store, 'calls.read') }, async () => ({ ok: true }));
    const token = await h.token();
    for (let i = 0; i < 3; i++) await app.inject({ url: '/api/v2/thing', headers: bearer(token) });
    for (let i = 0; i < 2; i++) await app.inject({ method: 'POST', url: '/api/v2/thing', headers: bearer(token) });
    expect(rejected).toEqual(['read', 'read', 'write']);
  });

  it('fails open, logging once, when Redis cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const app = buildApp({ store: h.store, config: { ...TEST_CONFIG, rateLimit: { rules: { read: tiny(2) }, redisUrl: `redis://127.0.0.1:${port}` } } });
    apps.push(app);
    const warn = vi.spyOn(app.log, 'warn');
    await app.ready();
    const token = await h.token();
    // On a stopped clock: a request that waited for a reconnect (the offline
    // queue) would never end, and the test would time out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval'] });
    for (let i = 0; i < 10; i++) {
      const r = await app.inject({ url: '/api/v2/account', headers: bearer(token) });
      expect(r.statusCode).toBe(200);
      expect(r.headers['ratelimit-limit']).toBe('2');
    }
    vi.useRealTimers();
    expect(warn.mock.calls.filter(([, message]) => String(message).includes('Redis unreachable'))).toHaveLength(1);
  });

  describe.skipIf(!REDIS_READY)('with Redis', () => {
    let redis: Redis;
    const prefixes: string[] = [];
    beforeAll(async () => {
      // In CI a missing Redis fails here, instead of being skipped.
      redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
      redis.on('error', () => {});
      await redis.connect().catch((err: Error) => {
        throw new Error(`Redis is required here and does not answer at ${REDIS_URL}: ${err.message}`);
      });
    });
    afterAll(async () => {
      if (redis?.status !== 'ready') return redis?.disconnect();
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
      }
      redis?.disconnect();
    });
    const newPrefix = () => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      return prefix;
    };

    it('shares one budget between processes', async () => {
      const settings = { rules: { read: tiny(4) }, redisUrl: REDIS_URL, redisKeyPrefix: newPrefix() };
      const [one, two] = [await appWith(settings), await appWith(settings)];
      const token = await h.token();
      const call = (app: FastifyInstance) => app.inject({ url: '/api/v2/account', headers: bearer(token) });
      const seen = [];
      for (const app of [one, two, one, two, one, two]) {
        const r = await call(app);
        seen.push([r.statusCode, r.headers['ratelimit-remaining']]);
      }
      expect(seen).toEqual([
        [200, '3'],
        [200, '2'],
        [200, '1'],
        [200, '0'],
        [429, '0'],
        [429, '0'],
      ]);
      expect(await redis.keys(`${settings.redisKeyPrefix}*`)).toHaveLength(1);
    });

    it('serves through a Redis outage and limits again when Redis returns', async () => {
      const target = new URL(REDIS_URL);
      const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 6379) });
      await proxy.up();
      onTestFinished(() => proxy.down());
      const viaProxy = new URL(REDIS_URL);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const app = buildApp({
        store: h.store,
        config: { ...TEST_CONFIG, rateLimit: { rules: { read: tiny(3) }, redisUrl: viaProxy.toString(), redisKeyPrefix: newPrefix() } },
      });
      apps.push(app);
      const warn = vi.spyOn(app.log, 'warn');
      const info = vi.spyOn(app.log, 'info');
      await app.ready();
      const token = await h.token();
      const call = () => app.inject({ url: '/api/v2/account', headers: bearer(token) });
      expect((await call()).headers['ratelimit-remaining']).toBe('2');

      await proxy.down();
      // That none of these waits for Redis is shown on a stopped clock above; here
      // the clock runs, since ioredis's own reconnect timer must fire later.
      for (let i = 0; i < 10; i++) expect((await call()).statusCode).toBe(200);
      expect(warn.mock.calls.filter(([, message]) => String(message).includes('Redis unreachable'))).toHaveLength(1);

      await proxy.up();
      // ioredis reconnects by itself; the counter kept in Redis during the outage is still there.
      await vi.waitFor(async () => expect((await call()).headers['ratelimit-remaining']).not.toBe('3'), { timeout: 10000, interval: 100 });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call()).statusCode);
      expect(statuses).toContain(429);
      expect(info.mock.calls.filter(([message]) => String(message).includes('Redis reachable again'))).toHaveLength(1);
    });
  });
});
