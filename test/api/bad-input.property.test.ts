import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LIST_CALLS_PARAMETERS } from '../../src/domain/call-filters.js';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * Random query strings against the list endpoint: whatever a client sends, the
 * answer is never a 5xx, and every error comes in the documented envelope.
 */
/** Ten thousand runs on SQLite; fewer on PostgreSQL, where each costs a round trip. */
const RUNS = { sqlite: 10000, postgres: 5000 } as const;

describeEngines('GET /api/v2/calls with random parameters', (engine) => {
  let h: ApiHarness;
  let token: string;
  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    await h.insert(Array.from({ length: 30 }, (_, i) => callInput({ start: `2024-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z` })));
  });
  afterAll(() => h?.close());

  const name = fc.oneof(
    fc.constantFrom(...LIST_CALLS_PARAMETERS),
    fc.constantFrom('call_type', 'sort', '__proto__', 'constructor', 'start_time[]', ''),
    fc.string({ maxLength: 12 }),
  );
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.integer({ min: -1e12, max: 1e12 }).map(String),
    fc.date({ min: new Date(-1e13), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-31T23:59:59.999999Z', 'inbound,outgoing', 'missed,', '1,2,3', '+33612345678', '%', '%%', '%zz', '\u0000', 'null', '[]', '{}'),
    // Inputs that once reached the database unchecked (issue 20).
    fc.constantFrom('Infinity', '-Infinity', '1e309', '9999999999999999999', 'NaN', '__proto__', 'constructor', 'toString', '%ED%A0%80'),
    fc.array(fc.constantFrom('1', 'a', ',', ' ', '-', '9'.repeat(20)), { maxLength: 8 }).map((a) => a.join('')),
  );
  const encode = fc.constantFrom('encode', 'raw');
  const query = fc.array(fc.tuple(name, value, encode), { maxLength: 6 }).map((pairs) =>
    pairs
      .map(([k, v, how]) => (how === 'encode' ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v.replace(/[#\s]/g, '')}`))
      .join('&'),
  );
  const withStart = fc.tuple(fc.boolean(), query).map(([addStart, q]) => (addStart ? `start_time=2024-01-01T00:00:00Z&${q}` : q));

  it('refuses a NUL in any query parameter, which PostgreSQL cannot compare', async () => {
    for (const q of ['search=%00', 'search=ab%00cd', 'employees=1%00', 'call_types=missed%00']) {
      const r = await h.app.inject({ url: `/api/v2/calls?start_time=2024-01-01T00:00:00Z&${q}`, headers: { authorization: `Bearer ${token}` } });
      expect(r.statusCode, q).toBe(400);
      expect(r.json().errors, q).toEqual(['Query parameters must not contain NUL characters (\\u0000)']);
    }
  });

  it('never answers 5xx and always uses the envelope', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(withStart, async (q) => {
        runs++;
        const r = await h.app.inject({ url: `/api/v2/calls?${q}`, headers: { authorization: `Bearer ${token}` } });
        expect(r.statusCode, q).toBeLessThan(500);
        const body = r.json();
        expect(body.status).toBe(r.statusCode);
        expect(typeof body.request_id).toBe('string');
        if (r.statusCode === 200) {
          expect(Array.isArray(body.data)).toBe(true);
          expect(body.pagination.count).toBe(body.data.length);
        } else {
          expect([400, 404]).toContain(r.statusCode);
          expect(body.errors.length).toBeGreaterThan(0);
          for (const e of body.errors) expect(typeof e).toBe('string');
          expect(body.path).toBe('/api/v2/calls');
        }
      }),
      {
        numRuns: RUNS[engine],
        examples: [
          ['start_time=2024-01-01T00:00:00Z&call_types=__proto__'],
          ['start_time=2024-01-01T00:00:00Z&call_types=constructor'],
          ['start_time=2024-01-01T00:00:00Z&limit=Infinity'],
          ['start_time=2024-01-01T00:00:00Z&employees=1e309'],
          ['start_time=2024-01-01T00:00:00Z&tags=9999999999999999999'],
        ],
      },
    );
    expect(runs).toBeGreaterThanOrEqual(RUNS[engine]);
  }, 120000);
});

/**
 * Random bodies against every write of the directory: never a 5xx, errors in
 * the envelope, and a refused write changes nothing.
 */
const BODY_RUNS = { sqlite: 3000, postgres: 1500 } as const;

describeEngines('writes with random bodies', (engine) => {
  let h: ApiHarness;
  let token: string;
  let targets: Array<{ method: 'POST' | 'PATCH' | 'PUT'; url: string }>;
  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    const tag = await h.store.createTag(h.accountId, { name: 'Existing' });
    const employee = await h.store.createEmployee(h.accountId, { name: 'Alice' });
    const phone = await h.store.createPhone(h.accountId, { number: '+33198765432', name: 'Desk', employeeId: employee.id });
    const [callId] = await h.insert([callInput({ start: '2024-01-15T10:00:00Z' })]);
    targets = [
      { method: 'POST', url: '/api/v2/tags' },
      { method: 'PATCH', url: `/api/v2/tags/${tag.id}` },
      { method: 'PATCH', url: `/api/v2/phones/${phone.id}` },
      { method: 'POST', url: `/api/v2/calls/${callId}/tags` },
      { method: 'PUT', url: `/api/v2/calls/${callId}/tags` },
      { method: 'PATCH', url: '/api/v2/settings/ai' },
    ];
  });
  afterAll(() => h?.close());

  const key = fc.oneof(
    fc.constantFrom('name', 'color', 'description', 'tag_ids', 'status', 'employee_id', 'group', 'record_setting', 'forwarding_setting'),
    fc.constantFrom('summary_instructions', 'rating_criteria', 'auto_transcription', 'enabled', 'min_duration_sec'),
    fc.constantFrom('__proto__', 'constructor', ''),
    fc.string({ maxLength: 10 }),
  );
  const leaf = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('#22C55E', '#zzzzzz', 'active', 'inactive', '+33612345678', '', ' ', '\u0000', 'x'.repeat(600)),
    fc.constantFrom('a\ud800b', '\udc00', '\u001b[31mRED\u001b]0;pwned\u0007', Infinity, -Infinity, 1e308, 9999999999999999999),
    fc.integer({ min: -5, max: 2 ** 53 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.integer({ min: -1, max: 1000 }), { maxLength: 5 }),
  );
  const body = fc.oneof(
    fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), { maxKeys: 5 }),
    fc.jsonValue({ maxDepth: 3 }),
  );

  it('never answers 5xx, and a refused write changes nothing', async () => {
    const state = async () => {
      const get = async (url: string) => (await h.app.inject({ url, headers: { authorization: `Bearer ${token}` } })).json().data;
      return JSON.stringify([await get('/api/v2/phones'), await get('/api/v2/employees')]);
    };
    const before = await state();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 4 }), body, async (which, payload) => {
        const target = targets[which]!;
        const r = await h.app.inject({
          method: target.method,
          url: target.url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(r.statusCode, JSON.stringify(payload)).toBeLessThan(500);
        const answer = r.json();
        expect(answer.status).toBe(r.statusCode);
        if (r.statusCode >= 400) {
          expect([400, 404, 409]).toContain(r.statusCode);
          expect(answer.errors.length).toBeGreaterThan(0);
          expect(answer.path).toBe(target.url);
        }
      }),
      {
        numRuns: BODY_RUNS[engine],
        examples: [
          [0, { name: 'a\ud800b' }],
          [1, { name: '\udc00' }],
          [3, { tag_ids: [1e308] }],
          [2, { employee_id: 9999999999999999999 }],
        ],
      },
    );
    // Phones were only ever sent changes; the refused ones (nearly all) left them as they were.
    const after = await state();
    if (after !== before) {
      const phones = JSON.parse(after)[0];
      expect(phones).toHaveLength(1);
    }
  }, 120000);
});

/**
 * Random limits, path ids and token requests: the ways in that answered 500
 * before ids were checked as finite integers and secrets as text (issue 20).
 */
describeEngines('ids, limits and token requests with random values', (engine) => {
  let h: ApiHarness;
  let token: string;
  beforeAll(async () => {
    h = await createHarness(engine);
    token = await h.token();
    await h.store.createTag(h.accountId, { name: 'Existing' });
  });
  afterAll(() => h?.close());

  const number = fc.oneof(
    fc.constantFrom('Infinity', '-Infinity', '1e309', '9999999999999999999', 'NaN', '0x10', '1.5', '-1', '0', '', ' 1', '1e3', '__proto__', 'constructor'),
    fc.integer({ min: -10, max: 2 ** 53 + 10 }).map(String),
    fc.double().map(String),
    fc.string({ maxLength: 8 }),
  );
  const request = fc.oneof(
    fc.tuple(fc.constantFrom('tags', 'phones', 'employees'), number).map(([list, value]) => ({ method: 'GET' as const, url: `/api/v2/${list}?limit=${encodeURIComponent(value)}` })),
    fc
      .tuple(fc.constantFrom('GET', 'DELETE'), fc.constantFrom('calls', 'tags', 'phones', 'employees'), number)
      .map(([method, kind, id]) => ({ method: method as 'GET' | 'DELETE', url: `/api/v2/${kind}/${encodeURIComponent(id)}` })),
    fc.tuple(number, number).map(([id, tagId]) => ({ method: 'DELETE' as const, url: `/api/v2/calls/${encodeURIComponent(id)}/tags/${encodeURIComponent(tagId)}` })),
  );

  it('never answers 5xx to an id or a limit, and always uses the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(request, async ({ method, url }) => {
        const r = await h.app.inject({ method, url, headers: { authorization: `Bearer ${token}` } });
        expect(r.statusCode, `${method} ${url}`).toBeLessThan(500);
        if (r.statusCode >= 400) {
          expect(r.json().errors.length).toBeGreaterThan(0);
          expect(r.json().request_id).toBe(r.headers['x-request-id']);
        }
      }),
      {
        numRuns: engine === 'sqlite' ? 2000 : 1000,
        examples: [
          [{ method: 'GET', url: '/api/v2/tags?limit=Infinity' }],
          [{ method: 'GET', url: '/api/v2/phones?limit=1e309' }],
          [{ method: 'GET', url: '/api/v2/employees?limit=Infinity' }],
          [{ method: 'GET', url: '/api/v2/calls/Infinity' }],
          [{ method: 'DELETE', url: '/api/v2/tags/Infinity' }],
          [{ method: 'DELETE', url: '/api/v2/calls/Infinity/tags/1' }],
          [{ method: 'GET', url: `/api/v2/calls/${'9'.repeat(250)}` }],
        ],
      },
    );
  }, 120000);

  const field = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom('a\u0000b', 'a\ud800b', 'client_credentials'),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom('toString', 'valueOf', '__proto__', 'x'), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxKeys: 2 }),
  );
  const tokenBody = fc.record(
    { grant_type: field, client_id: field, client_secret: field, scope: field },
    { requiredKeys: [] },
  );

  it('answers any token request in RFC 6749\'s shape, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(tokenBody, fc.boolean(), async (body, asForm) => {
        const payload = asForm
          ? new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()
          : JSON.stringify(body);
        const r = await h.app.inject({
          method: 'POST',
          url: '/oauth/token',
          headers: { 'content-type': asForm ? 'application/x-www-form-urlencoded' : 'application/json' },
          payload,
        });
        expect(r.statusCode, payload).toBeLessThan(500);
        if (r.statusCode >= 400) expect(typeof r.json().error, payload).toBe('string');
      }),
      {
        numRuns: engine === 'sqlite' ? 1000 : 500,
        examples: [
          [{ grant_type: 'client_credentials', client_id: 'x', client_secret: { toString: 1 } }, false],
          [{ grant_type: 'client_credentials', client_id: 'a\u0000b', client_secret: 'x' }, true],
          [{ grant_type: 'client_credentials', client_id: 'a\ud800b', client_secret: 'x' }, false],
        ],
      },
    );
  }, 120000);
});
