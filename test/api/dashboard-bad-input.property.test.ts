import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UserService } from '../../src/users/service.js';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * Random query strings and bodies against the dashboard's endpoints, as an
 * admin's session: whatever the browser sends, never a 5xx, and every error in
 * the API's envelope.
 */
const RUNS = { sqlite: 400, postgres: 200 } as const;

const ENDPOINTS: Array<{ method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; body: boolean }> = [
  { method: 'GET', url: '/dashboard/api/reports', body: false },
  { method: 'GET', url: '/dashboard/api/calls/changes', body: false },
  { method: 'GET', url: '/dashboard/api/tags/counts', body: false },
  { method: 'GET', url: '/dashboard/api/webhook/deliveries', body: false },
  { method: 'GET', url: '/dashboard/api/calls/1/webhooks', body: false },
  { method: 'PUT', url: '/dashboard/api/webhook', body: true },
  { method: 'POST', url: '/dashboard/api/webhook/deliveries/redeliver', body: true },
  { method: 'POST', url: '/dashboard/api/clients', body: true },
  { method: 'POST', url: '/dashboard/api/session', body: true },
];

describeEngines('dashboard endpoints with random input', (engine) => {
  let h: ApiHarness;
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    await h.insert([callInput({ start: '2024-01-10T10:00:00Z' })]);
    await new UserService(h.store).createUser({ accountId: h.accountId, email: 'admin@acme.example', name: 'Admin', role: 'admin', password: 'admin password 1' });
    const signed = await h.app.inject({ method: 'POST', url: '/dashboard/api/session', payload: { email: 'admin@acme.example', password: 'admin password 1' } });
    cookie = String(signed.headers['set-cookie']).split(';')[0]!;
    csrf = signed.json().data.csrf_token;
  });
  afterAll(() => h?.close());

  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-31T23:59:59.5+05:30', '1e3', '-1', '0', '9'.repeat(25), '\u0000', '%zz', 'pending', 'https://hooks.example/x', ''),
  );
  const query = fc.array(fc.tuple(fc.constantFrom('from', 'to', 'since', 'status', 'limit', 'before', 'x', '__proto__'), text), { maxLength: 4 });
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record({
      url: fc.oneof(text, fc.constant(null), fc.integer()),
      events: fc.oneof(fc.array(fc.constantFrom('tags', 'incoming_call_end', 'test', 'x'), { maxLength: 4 }), text),
      ids: fc.oneof(fc.array(fc.oneof(fc.integer(), text), { maxLength: 4 }), text),
      name: text,
      scopes: fc.oneof(fc.array(fc.constantFrom('calls.read', 'nope', ''), { maxLength: 3 }), text),
      email: text,
      password: text,
    }, { requiredKeys: [] }),
  );

  it('never answers 5xx, and every error is in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ENDPOINTS), query, json, async (endpoint, pairs, body) => {
        const search = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const response = await h.app.inject({
          method: endpoint.method,
          url: `${endpoint.url}${search ? `?${search}` : ''}`,
          headers: { cookie, 'x-csrf-token': csrf, ...(endpoint.body ? { 'content-type': 'application/json' } : {}) },
          ...(endpoint.body ? { payload: JSON.stringify(body) } : {}),
        });
        expect(response.statusCode, `${endpoint.method} ${endpoint.url}?${search} ${JSON.stringify(body)}: ${response.body}`).toBeLessThan(500);
        if (response.statusCode >= 400) {
          const error = response.json();
          expect(error.errors.length).toBeGreaterThan(0);
          expect(typeof error.code).toBe('string');
        }
      }),
      { numRuns: RUNS[engine] },
    );
  }, 300000);
});
