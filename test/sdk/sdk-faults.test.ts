import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ServerError,
  Sipsim,
  SipsimError,
  type ClientOptions,
  type FetchLike,
} from '../../packages/sdk/src/index.js';
import { backoffDelay, DEFAULT_RETRY_DELAYS, delayBeforeRetryMs, isRetryable, JITTER, parseRetryAfter } from '../../packages/sdk/src/retry.js';

/**
 * The client's behaviour when the network or the server misbehaves, with a
 * scripted fetch: which failures are retried, after how long, and what is thrown.
 */

const BASE = 'http://sipsim.test';
const CALL = { id: 7, call_type: 'inbound' };

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

type Handler = (sent: Sent, signal: AbortSignal) => Response | Promise<Response>;

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

const envelope = (data: unknown) => json(200, { status: 200, request_id: 'req-ok', timestamp: '2024-01-01T00:00:00Z', data });

const apiError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json(status, { status, errors: [message], code, request_id: `req-${status}`, path: '/api/v2/x' }, headers);

const grant = (token: string, expiresIn = 7200) =>
  json(200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'calls.read', created_at: 1 });

const connectionFailure = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

/** A fetch that answers the token endpoint with tok-1, tok-2, … (or `token`) and every other request with `api`. */
function fakeServer(api: Handler, token?: Handler) {
  const requests: Sent[] = [];
  const tokenRequests: Sent[] = [];
  const issue = token ?? (() => grant(`tok-${tokenRequests.length}`));
  const fetch: FetchLike = async (url, init) => {
    const sent: Sent = {
      url,
      method: init.method ?? 'GET',
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body as string | undefined,
    };
    const signal = init.signal!;
    if (url === `${BASE}/oauth/token`) {
      tokenRequests.push(sent);
      return issue(sent, signal);
    }
    requests.push(sent);
    return api(sent, signal);
  };
  return { fetch, requests, tokenRequests };
}

/** Answers these in turn, then the last one again and again. */
function sequence(...answers: Array<Response | Error | (() => Response)>): Handler {
  let i = 0;
  return () => {
    const next = answers[Math.min(i++, answers.length - 1)]!;
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next() : next.clone();
  };
}

/** Never answers; rejects when the request is aborted, as fetch does. */
const hang: Handler = (_sent, signal) =>
  new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

const FAST = { retryDelays: { initialDelayMs: 1, maxDelayMs: 5 } };

function client(fetch: FetchLike, options: Partial<ClientOptions> = {}) {
  return new Sipsim({ baseUrl: BASE, clientId: 'cid', clientSecret: 'secret', fetch, ...FAST, ...options } as ClientOptions);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('retries', () => {
  it('retries a 503 and returns the answer that follows', async () => {
    const server = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'The data store is unavailable'), envelope(CALL)));
    expect(await client(server.fetch).calls.retrieve(7)).toEqual(CALL);
    expect(server.requests).toHaveLength(2);
  });

  it('waits exactly the Retry-After seconds of a 503, not the backoff', async () => {
    vi.useFakeTimers();
    const server = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'down', { 'Retry-After': '2' }), envelope(CALL)));
    const sipsim = client(server.fetch, { retryDelays: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const result = sipsim.calls.retrieve(7);
    await vi.advanceTimersByTimeAsync(1999);
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.requests).toHaveLength(2);
    expect(await result).toEqual(CALL);
  });

  it('honours a Retry-After given as an HTTP date', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const later = new Date('2024-05-01T12:00:03Z').toUTCString();
    const server = fakeServer(sequence(apiError(429, 'RATE_LIMITED', 'slow down', { 'Retry-After': later }), envelope(CALL)));
    const result = client(server.fetch).calls.retrieve(7);
    await vi.advanceTimersByTimeAsync(2999);
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await result).toEqual(CALL);
  });

  it('resends even a creation after a 429, which the server refused before handling it', async () => {
    const tag = { id: 1, name: 'VIP', color: '#6B7280', description: null };
    const server = fakeServer(sequence(apiError(429, 'RATE_LIMITED', 'Rate limit exceeded', { 'Retry-After': '0' }), json(201, { data: tag })));
    expect(await client(server.fetch).tags.create({ name: 'VIP' })).toEqual(tag);
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'POST']);
  });

  it('does not resend a creation after a 5xx, which may have created it', async () => {
    const server = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'down')));
    const error = await client(server.fetch).tags.create({ name: 'VIP' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(server.requests).toHaveLength(1);
  });

  it('gives up after maxRetries and throws the last error', async () => {
    const server = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'down')));
    const error = await client(server.fetch).calls.retrieve(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(3);
    const once = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'down')));
    await expect(client(once.fetch).calls.retrieve(7, { maxRetries: 0 })).rejects.toBeInstanceOf(InternalServerError);
    expect(once.requests).toHaveLength(1);
  });

  it('throws at once when Retry-After asks for longer than the cap', async () => {
    const server = fakeServer(sequence(apiError(429, 'RATE_LIMITED', 'later', { 'Retry-After': '3600' }), envelope(CALL)));
    const error = await client(server.fetch).calls.retrieve(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers.get('retry-after')).toBe('3600');
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    [400, BadRequestError, 'INVALID_PARAMETER'],
    [403, PermissionDeniedError, 'INSUFFICIENT_SCOPE'],
    [404, NotFoundError, 'NOT_FOUND'],
    [409, ConflictError, 'CONFLICT'],
  ])('never retries a %i', async (status, ErrorClass, code) => {
    const server = fakeServer(sequence(apiError(status, code, `failed with ${status}`), envelope(CALL)));
    const error = (await client(server.fetch).calls.retrieve(7).catch((e: unknown) => e)) as SipsimError;
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toMatchObject({ status, code, errors: [`failed with ${status}`], request_id: `req-${status}` });
    expect(server.requests).toHaveLength(1);
  });

  it('retries a connection reset on a read, and then succeeds', async () => {
    const server = fakeServer(sequence(connectionFailure('ECONNRESET'), envelope(CALL)));
    expect(await client(server.fetch).calls.retrieve(7)).toEqual(CALL);
    expect(server.requests).toHaveLength(2);
  });

  it('does not resend a creation whose connection broke, but does when it was refused', async () => {
    const reset = fakeServer(sequence(connectionFailure('ECONNRESET'), json(201, { data: {} })));
    const error = await client(reset.fetch).tags.create({ name: 'VIP' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).toMatchObject({ notSent: false, status: undefined });
    expect((error as Error).message).toContain('ECONNRESET');
    expect(reset.requests).toHaveLength(1);

    const refused = fakeServer(sequence(connectionFailure('ECONNREFUSED'), json(201, { data: { id: 1 } })));
    expect(await client(refused.fetch).tags.create({ name: 'VIP' })).toEqual({ id: 1 });
    expect(refused.requests).toHaveLength(2);
  });

  it('backs off exponentially with jitter between attempts', async () => {
    vi.useFakeTimers();
    // Jitter at its middle: each nominal wait (1000, 2000, then 3000 capped) shortened by an eighth.
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const server = fakeServer(sequence(connectionFailure('ECONNRESET')));
    const sipsim = client(server.fetch, { maxRetries: 3, retryDelays: { initialDelayMs: 1000, maxDelayMs: 3000 } });
    const result = sipsim.calls.retrieve(7).catch((e: unknown) => e);
    for (const [wait, attempts] of [[874, 1], [1, 2], [1749, 2], [1, 3], [2624, 3], [1, 4]] as const) {
      await vi.advanceTimersByTimeAsync(wait);
      expect(server.requests).toHaveLength(attempts);
    }
    expect(await result).toBeInstanceOf(APIConnectionError);
  });
});

describe('retry policy', () => {
  it('keeps each backoff within its jitter bounds and under the cap', () => {
    const delays = { ...DEFAULT_RETRY_DELAYS, initialDelayMs: 100, maxDelayMs: 1000 };
    for (let retry = 0; retry < 8; retry++) {
      const nominal = Math.min(100 * 2 ** retry, 1000);
      expect(backoffDelay(retry, delays, () => 0)).toBe(nominal);
      expect(backoffDelay(retry, delays, () => 0.999999)).toBeCloseTo(nominal * (1 - JITTER), 3);
      for (let i = 0; i < 200; i++) {
        const delay = backoffDelay(retry, delays);
        expect(delay).toBeGreaterThan(nominal * (1 - JITTER));
        expect(delay).toBeLessThanOrEqual(nominal);
      }
    }
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(2, delays)));
    expect(spread.size).toBeGreaterThan(40);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Wed, 01 May 2024 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter('-3', now)).toBeNull();
  });

  it('retries what is safe to retry, and nothing else', () => {
    const headers = (retryAfter?: string) => new Headers(retryAfter ? { 'retry-after': retryAfter } : {});
    const answer = (status: number, retryAfter?: string) => new InternalServerError(status, { headers: headers(retryAfter) });
    expect(isRetryable(new RateLimitError(429, { headers: headers() }), false)).toBe(true);
    expect(isRetryable(answer(503), true)).toBe(true);
    expect(isRetryable(answer(503), false)).toBe(false);
    expect(isRetryable(new APIError(408, { headers: headers() }), true)).toBe(true);
    expect(isRetryable(new APIError(408, { headers: headers() }), false)).toBe(false);
    expect(isRetryable(new ConflictError(409, { headers: headers() }), true)).toBe(false);
    expect(isRetryable(new NotFoundError(404, { headers: headers() }), true)).toBe(false);
    expect(isRetryable(new APIConnectionTimeoutError(10), true)).toBe(true);
    expect(isRetryable(new APIConnectionTimeoutError(10), false)).toBe(false);
    expect(isRetryable(new APIConnectionError('x', { notSent: true }), false)).toBe(true);
    expect(isRetryable(new APIUserAbortError(), true)).toBe(false);
    expect(delayBeforeRetryMs(answer(503, '7'), 0, DEFAULT_RETRY_DELAYS)).toBe(7000);
    expect(delayBeforeRetryMs(answer(503, '61'), 0, DEFAULT_RETRY_DELAYS)).toBeNull();
  });
});

describe('timeouts and aborts', () => {
  it('ends a request that takes too long with APIConnectionTimeoutError', async () => {
    // The server never answers: only the client's own timeout can end this.
    const server = fakeServer(hang);
    const error = await client(server.fetch, { timeoutMs: 50, maxRetries: 0 }).calls.retrieve(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as Error).message).toBe('Request timed out after 50 ms');
  });

  it('retries a read that timed out, with the per-request timeout', async () => {
    let attempts = 0;
    const server = fakeServer((sent, signal) => (attempts++ === 0 ? hang(sent, signal) : envelope(CALL)));
    expect(await client(server.fetch).calls.retrieve(7, { timeoutMs: 30 })).toEqual(CALL);
    expect(attempts).toBe(2);
  });

  it('times out even a fetch that ignores its signal', async () => {
    const deaf: FetchLike = (url) => (url.endsWith('/oauth/token') ? Promise.resolve(grant('t')) : new Promise<Response>(() => {}));
    await expect(client(deaf, { timeoutMs: 20, maxRetries: 0 }).calls.retrieve(7)).rejects.toBeInstanceOf(APIConnectionTimeoutError);
  });

  it('ends a request at once when the caller aborts, without retrying', async () => {
    const server = fakeServer(hang);
    const controller = new AbortController();
    const result = client(server.fetch).calls.retrieve(7, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    controller.abort();
    expect(await result).toBeInstanceOf(APIUserAbortError);
    expect(server.requests).toHaveLength(1);
  });

  it('ends the wait before a retry when the caller aborts', async () => {
    const server = fakeServer(sequence(apiError(503, 'STORE_UNAVAILABLE', 'down', { 'Retry-After': '30' })));
    const controller = new AbortController();
    // On a stopped clock the 30 s wait can never run out: only the abort can end it.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const result = client(server.fetch).calls.retrieve(7, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(server.requests).toHaveLength(1));
    controller.abort();
    expect(await result).toBeInstanceOf(APIUserAbortError);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing with a signal that is already aborted', async () => {
    const server = fakeServer(sequence(envelope(CALL)));
    const error = await client(server.fetch).calls.retrieve(7, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
    expect(server.requests).toHaveLength(0);
    expect(server.tokenRequests).toHaveLength(0);
  });

  it('ends a list iteration when the caller aborts', async () => {
    const controller = new AbortController();
    const server = fakeServer(() =>
      json(200, { data: [{ id: 1 }], pagination: { count: 1, limit: 20, page: 'next', has_more: true }, request_id: 'r' }),
    );
    const seen: number[] = [];
    const iterate = async () => {
      for await (const call of client(server.fetch).calls.list({ start_time: '2024-01-01T00:00:00Z' }, { signal: controller.signal })) {
        seen.push(call.id);
        if (seen.length === 3) controller.abort();
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(APIUserAbortError);
    expect(seen).toEqual([1, 1, 1]);
  });
});

describe('tokens', () => {
  it('asks for a token with the client credentials, form-encoded, and sends it as a bearer', async () => {
    const server = fakeServer(sequence(envelope(CALL)));
    await client(server.fetch, { scopes: ['calls.read', 'tags.read'], userAgent: 'crm-sync/2.1' }).calls.retrieve(7);
    const [tokenRequest] = server.tokenRequests;
    expect(tokenRequest).toMatchObject({ method: 'POST', url: `${BASE}/oauth/token` });
    expect(tokenRequest!.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenRequest!.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'cid',
      client_secret: 'secret',
      scope: 'calls.read tags.read',
    });
    expect(server.requests[0]!.headers).toMatchObject({ Authorization: 'Bearer tok-1', 'User-Agent': 'crm-sync/2.1', Accept: 'application/json' });
  });

  it('names itself sipsim-sdk/<its package version> when no User-Agent is given', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../packages/sdk/package.json', import.meta.url), 'utf8')) as { version: string };
    const server = fakeServer(sequence(envelope(CALL)));
    await client(server.fetch).calls.retrieve(7);
    expect(server.requests[0]!.headers['User-Agent']).toBe(`sipsim-sdk/${version}`);
  });

  it('shares one token request among concurrent requests, and reuses the token', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const server = fakeServer(
      () => envelope(CALL),
      async () => {
        await gate;
        return grant('shared');
      },
    );
    const sipsim = client(server.fetch);
    const all = Promise.all(Array.from({ length: 5 }, () => sipsim.calls.retrieve(7)));
    release();
    await all;
    await sipsim.calls.retrieve(7);
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.requests.map((r) => r.headers.Authorization)).toEqual(Array(6).fill('Bearer shared'));
  });

  it('renews the token once after a 401 and resends the request', async () => {
    const server = fakeServer((sent) =>
      sent.headers.Authorization === 'Bearer tok-1' ? apiError(401, 'INVALID_TOKEN', 'Invalid or expired access token') : envelope(CALL),
    );
    expect(await client(server.fetch, { maxRetries: 0 }).calls.retrieve(7)).toEqual(CALL);
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.requests.map((r) => r.headers.Authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
  });

  it('renews only once: a second 401 is thrown', async () => {
    const server = fakeServer(sequence(apiError(401, 'INVALID_TOKEN', 'Invalid or expired access token')));
    const error = await client(server.fetch).calls.retrieve(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ code: 'INVALID_TOKEN', request_id: 'req-401' });
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.requests).toHaveLength(2);
  });

  it('renews one token for concurrent requests refused together', async () => {
    const server = fakeServer((sent) =>
      sent.headers.Authorization === 'Bearer tok-1' ? apiError(401, 'INVALID_TOKEN', 'expired') : envelope(CALL),
    );
    const sipsim = client(server.fetch);
    await Promise.all(Array.from({ length: 4 }, () => sipsim.calls.retrieve(7)));
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.requests.filter((r) => r.headers.Authorization === 'Bearer tok-2')).toHaveLength(4);
  });

  it('renews a token before it expires', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const server = fakeServer(() => envelope(CALL), () => grant(`tok-${server.tokenRequests.length}`, 120));
    const sipsim = client(server.fetch);
    await sipsim.calls.retrieve(7);
    vi.setSystemTime(new Date('2024-05-01T12:00:59Z'));
    await sipsim.calls.retrieve(7);
    expect(server.tokenRequests).toHaveLength(1);
    // 120 s of life, renewed 60 s before the end.
    vi.setSystemTime(new Date('2024-05-01T12:01:00Z'));
    await sipsim.calls.retrieve(7);
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.requests.map((r) => r.headers.Authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  it('uses a short-lived token for half its life', async () => {
    vi.useFakeTimers({ now: new Date('2024-05-01T12:00:00Z') });
    const server = fakeServer(() => envelope(CALL), () => grant(`tok-${server.tokenRequests.length}`, 10));
    const sipsim = client(server.fetch);
    await sipsim.calls.retrieve(7);
    vi.setSystemTime(new Date('2024-05-01T12:00:04Z'));
    await sipsim.calls.retrieve(7);
    vi.setSystemTime(new Date('2024-05-01T12:00:05Z'));
    await sipsim.calls.retrieve(7);
    expect(server.tokenRequests).toHaveLength(2);
  });

  it('reports refused client credentials as an AuthenticationError with the OAuth code', async () => {
    const server = fakeServer(
      () => envelope(CALL),
      () => json(401, { error: 'invalid_client', error_description: 'Client authentication failed' }, { 'X-Request-Id': 'tok-req' }),
    );
    const error = await client(server.fetch).calls.retrieve(7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_client', errors: ['Client authentication failed'], request_id: 'tok-req' });
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.requests).toHaveLength(0);
  });

  it('retries the token request itself on a 503', async () => {
    let n = 0;
    const server = fakeServer(
      () => envelope(CALL),
      () => (n++ === 0 ? apiError(503, 'STORE_UNAVAILABLE', 'down') : grant('after-retry')),
    );
    expect(await client(server.fetch).calls.retrieve(7)).toEqual(CALL);
    expect(server.requests[0]!.headers.Authorization).toBe('Bearer after-retry');
  });

  it('sends a given access token as it is and never renews it', async () => {
    const server = fakeServer(sequence(apiError(401, 'INVALID_TOKEN', 'expired')));
    const sipsim = new Sipsim({ baseUrl: BASE, accessToken: 'given', fetch: server.fetch });
    await expect(sipsim.calls.retrieve(7)).rejects.toBeInstanceOf(AuthenticationError);
    expect(server.tokenRequests).toHaveLength(0);
    expect(server.requests.map((r) => r.headers.Authorization)).toEqual(['Bearer given']);
  });

  it('refuses options without credentials or with a bad baseUrl', () => {
    expect(() => new Sipsim({ baseUrl: BASE } as ClientOptions)).toThrow(SipsimError);
    expect(() => new Sipsim({ baseUrl: 'not a url', accessToken: 't' })).toThrow(/Invalid baseUrl/);
  });
});

describe('requests and answers', () => {
  it('writes list parameters as the API reads them, and keeps them on the next pages', async () => {
    const pages = [
      { data: [{ id: 3 }, { id: 2 }], pagination: { count: 2, limit: 20, page: 'tok2', has_more: true } },
      { data: [{ id: 1 }], pagination: { count: 1, limit: 20, has_more: false } },
    ];
    const server = fakeServer((sent) => json(200, { status: 200, request_id: 'r', ...pages[sent.url.includes('page=') ? 1 : 0] }));
    const sipsim = new Sipsim({ baseUrl: `${BASE}/api/v2/`, accessToken: 't', fetch: server.fetch });
    const list = sipsim.calls.list({
      start_time: new Date('2024-01-01T00:00:00Z'),
      end_time: new Date('2024-01-31T23:59:59.500Z'),
      employees: [12, 13],
      tags: 5,
      call_types: ['missed', 'voicemail'],
      search: '+33 6 12',
      limit: 20,
    });
    expect(server.requests).toHaveLength(0); // nothing is sent before the list is awaited or iterated
    const ids: number[] = [];
    for await (const call of list) ids.push(call.id);
    expect(ids).toEqual([3, 2, 1]);
    const [first, second] = server.requests.map((r) => new URL(r.url));
    expect(first!.pathname).toBe('/api/v2/calls');
    expect(Object.fromEntries(first!.searchParams)).toEqual({
      start_time: '2024-01-01T00:00:00Z',
      end_time: '2024-01-31T23:59:59.500Z',
      employees: '12,13',
      tags: '5',
      call_types: 'missed,voicemail',
      search: '+33 6 12',
      limit: '20',
    });
    expect(Object.fromEntries(second!.searchParams)).toEqual({ ...Object.fromEntries(first!.searchParams), page: 'tok2' });
  });

  it('gives pages one by one, and refuses a next page after the last', async () => {
    const server = fakeServer((sent) =>
      json(200, {
        data: [{ id: sent.url.includes('page=') ? 2 : 1 }],
        pagination: sent.url.includes('page=') ? { count: 1, limit: 1, has_more: false } : { count: 1, limit: 1, page: 'p2', has_more: true },
        request_id: 'r',
      }),
    );
    const sipsim = new Sipsim({ baseUrl: BASE, accessToken: 't', fetch: server.fetch });
    const first = await sipsim.tags.list({ limit: 1 });
    expect(first.hasNextPage()).toBe(true);
    const second = await first.getNextPage();
    expect(second.data).toEqual([{ id: 2 }]);
    expect(second.hasNextPage()).toBe(false);
    await expect(second.getNextPage()).rejects.toThrow(/No next page/);
    const sizes: number[] = [];
    for await (const page of sipsim.tags.list({ limit: 1 }).iterPages()) sizes.push(page.data.length);
    expect(sizes).toEqual([1, 1]);
  });

  it('sends bodies as JSON and ids in the path', async () => {
    const server = fakeServer(() => envelope(CALL));
    const sipsim = new Sipsim({ baseUrl: BASE, accessToken: 't', fetch: server.fetch });
    await sipsim.calls.addTags(7, { tag_ids: [1, 2] });
    await sipsim.calls.replaceTags(7, { tag_ids: [] });
    await sipsim.calls.removeTag(7, 2);
    await sipsim.phones.update(3, { record_setting: { record_inbound_call: false } });
    await sipsim.phones.list({ status: ['active', 'inactive'] });
    expect(server.requests.map((r) => [r.method, r.url.slice(BASE.length), r.body])).toEqual([
      ['POST', '/api/v2/calls/7/tags', '{"tag_ids":[1,2]}'],
      ['PUT', '/api/v2/calls/7/tags', '{"tag_ids":[]}'],
      ['DELETE', '/api/v2/calls/7/tags/2', undefined],
      ['PATCH', '/api/v2/phones/3', '{"record_setting":{"record_inbound_call":false}}'],
      ['GET', '/api/v2/phones?status=active%2Cinactive', undefined],
    ]);
    expect(server.requests[0]!.headers['Content-Type']).toBe('application/json');
  });

  it('takes the request id from X-Request-Id when a proxy answers without the envelope', async () => {
    const server = fakeServer(() => new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'X-Request-Id': 'edge-1' } }));
    const error = (await client(server.fetch, { maxRetries: 0 }).calls.retrieve(7).catch((e: unknown) => e)) as InternalServerError;
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 502, request_id: 'edge-1', errors: ['<html>Bad Gateway</html>'], code: undefined });
  });

  it('resolves a delete that answers 204 with no body', async () => {
    const server = fakeServer(() => new Response(null, { status: 204 }));
    await expect(new Sipsim({ baseUrl: BASE, accessToken: 't', fetch: server.fetch }).tags.delete(4)).resolves.toBeUndefined();
  });
});
