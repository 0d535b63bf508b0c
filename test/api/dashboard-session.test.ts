import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { Store } from '../../src/store/store.js';
import { UserService } from '../../src/users/service.js';
import { describeEngines } from '../helpers/engines.js';
import { TEST_CONFIG, callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

const PASSWORD = 'correct horse battery';

interface Signed {
  cookie: string;
  csrf: string;
  setCookie: string;
}

/**
 * Dashboard sessions: signing in and out, the lock after wrong passwords,
 * sessions kept in the store (another process accepts them), idle expiry,
 * CSRF rules for writes through the cookie, and roles turned into scopes on
 * the user's own account.
 */
describeEngines('dashboard sessions', (engine) => {
  let h: ApiHarness;
  let users: UserService;
  let otherAccount: number;
  let otherCallId: number;

  const signIn = async (email: string, password: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'POST', url: '/dashboard/api/session', payload: { email, password }, headers });

  const signedIn = async (email: string): Promise<Signed> => {
    const response = await signIn(email, PASSWORD);
    expect(response.statusCode).toBe(200);
    const setCookie = String(response.headers['set-cookie']);
    return { cookie: setCookie.split(';')[0]!, csrf: response.json().data.csrf_token, setCookie };
  };

  beforeAll(async () => {
    h = await createHarness(engine);
    users = new UserService(h.store);
    const employee = await h.store.createEmployee(h.accountId, { name: 'Ana Agent' });
    await users.createUser({ accountId: h.accountId, email: 'Boss@Acme.example', name: 'Boss', role: 'admin', password: PASSWORD });
    await users.createUser({ accountId: h.accountId, email: 'ana@acme.example', name: 'Ana', role: 'member', employeeId: employee.id, password: PASSWORD });
    otherAccount = (await h.store.createAccount({ name: 'Other Ltd' })).id;
    otherCallId = (await h.insert([callInput({ start: '2025-01-15T10:00:00Z' })], otherAccount))[0]!;
    await h.insert([callInput({ start: '2025-01-15T11:00:00Z' })]);
  });
  afterAll(() => h?.close());
  beforeEach(async () => {
    await h.store.db.deleteFrom('sign_in_failures').execute();
  });

  it('signs in with the right password: the user, the account, a CSRF token and an HttpOnly, SameSite=Lax cookie', async () => {
    const response = await signIn('  boss@acme.EXAMPLE ', PASSWORD);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.status).toBe(200);
    expect(body.data.user).toMatchObject({ email: 'Boss@Acme.example', name: 'Boss', role: 'admin', employee_id: null });
    expect(body.data.account).toEqual({ id: h.accountId, name: 'Acme Corporation', timezone: 'UTC' });
    expect(body.data.csrf_token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(body.data.scopes).toContain('webhooks.write');
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/^sipsim_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/Secure/);
    // Only the hash of the session id is stored.
    const id = setCookie.split(';')[0]!.split('=')[1]!;
    const stored = await h.store.db.selectFrom('user_sessions').select('id_hash').execute();
    expect(stored.map((s) => s.id_hash)).not.toContain(id);
  });

  it('answers a wrong password and an unknown email alike', async () => {
    const wrong = await signIn('boss@acme.example', 'not the password');
    const unknown = await signIn('nobody@acme.example', PASSWORD);
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    expect(wrong.json().errors).toEqual(unknown.json().errors);
    expect(wrong.json().code).toBe('INVALID_LOGIN');
    expect(unknown.json().code).toBe('INVALID_LOGIN');
  });

  it('refuses a sign-in body without an email or password with a 400', async () => {
    const response = await h.app.inject({ method: 'POST', url: '/dashboard/api/session', payload: { email: 'boss@acme.example' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('INVALID_BODY');
  });

  it('locks an email after five wrong passwords, the right one included, with Retry-After', async () => {
    for (let i = 0; i < 4; i++) expect((await signIn('ana@acme.example', `wrong ${i}`)).statusCode).toBe(401);
    const fifth = await signIn('ana@acme.example', 'wrong 5');
    expect(fifth.statusCode).toBe(429);
    expect(fifth.json().code).toBe('SIGN_IN_LOCKED');
    const right = await signIn('ana@acme.example', PASSWORD);
    expect(right.statusCode).toBe(429);
    const retryAfter = Number(right.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another email is not locked, and unknown emails lock the same way (nothing tells them apart).
    expect((await signIn('boss@acme.example', PASSWORD)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await signIn('ghost@acme.example', 'x')).statusCode).toBe(401);
    expect((await signIn('ghost@acme.example', 'x')).statusCode).toBe(429);
    // Once the lock has run out, the right password works again.
    await h.store.db.updateTable('sign_in_failures').set({ locked_until: Date.now() - 1, first_failure_at: Date.now() - 3_600_000 }).execute();
    expect((await signIn('ana@acme.example', PASSWORD)).statusCode).toBe(200);
  });

  it('reads the session back, and another process on the same store accepts it', async () => {
    const s = await signedIn('ana@acme.example');
    const again = await h.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: s.cookie } });
    expect(again.statusCode).toBe(200);
    expect(again.json().data.csrf_token).toBe(s.csrf);
    expect(again.json().data.user.role).toBe('member');

    const otherStore = Store.open(h.databaseUrl);
    const other = buildApp({ store: otherStore, config: TEST_CONFIG, webDir: null });
    try {
      await other.ready();
      const there = await other.inject({ method: 'GET', url: '/api/v2/account', headers: { cookie: s.cookie } });
      expect(there.statusCode).toBe(200);
      expect(there.json().data.id).toBe(h.accountId);
    } finally {
      await other.close();
      await otherStore.close();
    }
  });

  it('ends a session left idle longer than the idle time, and one past its absolute cap', async () => {
    const idle = await signedIn('ana@acme.example');
    const capped = await signedIn('ana@acme.example');
    // 12 hours and a minute without a request.
    await h.store.db
      .updateTable('user_sessions')
      .set({ last_seen_at: Date.now() - 721 * 60_000 })
      .where('id_hash', '=', hashOf(idle.cookie))
      .execute();
    await h.store.db.updateTable('user_sessions').set({ expires_at: Date.now() - 1 }).where('id_hash', '=', hashOf(capped.cookie)).execute();
    for (const s of [idle, capped]) {
      const response = await h.app.inject({ method: 'GET', url: '/api/v2/calls?start_time=2025-01-01T00:00:00Z', headers: { cookie: s.cookie } });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('NO_SESSION');
      expect((await h.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: s.cookie } })).statusCode).toBe(401);
    }
  });

  it('signs out: the session is gone from the store and the cookie cleared', async () => {
    const s = await signedIn('boss@acme.example');
    const refused = await h.app.inject({ method: 'DELETE', url: '/dashboard/api/session', headers: { cookie: s.cookie } });
    expect(refused.statusCode).toBe(403);
    const out = await h.app.inject({ method: 'DELETE', url: '/dashboard/api/session', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^sipsim_session=;.*Max-Age=0/);
    expect(await h.store.db.selectFrom('user_sessions').select('id_hash').where('id_hash', '=', hashOf(s.cookie)).execute()).toEqual([]);
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });

  it('refuses writes through the cookie without the CSRF token, with a wrong one, or from another site', async () => {
    const s = await signedIn('ana@acme.example');
    const post = (headers: Record<string, string>) =>
      h.app.inject({ method: 'POST', url: '/api/v2/tags', payload: { name: `t-${Math.random()}` }, headers: { cookie: s.cookie, ...headers } });
    const cases: Array<Record<string, string>> = [
      {},
      { 'x-csrf-token': 'forged' },
      { 'x-csrf-token': `${s.csrf.slice(0, -1)}${s.csrf.endsWith('A') ? 'B' : 'A'}` },
      { 'x-csrf-token': s.csrf, origin: 'https://evil.example' },
      { 'x-csrf-token': s.csrf, origin: 'null' },
    ];
    for (const headers of cases) {
      const response = await post(headers);
      expect(response.statusCode, JSON.stringify(headers)).toBe(403);
      expect(response.json().code).toBe('CSRF');
    }
    expect(await h.store.db.selectFrom('tags').select('id').where('account_id', '=', h.accountId).execute()).toEqual([]);
    // The page's own write: the token, and the Origin of this host.
    const ok = await post({ 'x-csrf-token': s.csrf, origin: 'http://localhost:80', host: 'localhost:80' });
    expect(ok.statusCode).toBe(201);
    // Reads need no token.
    expect((await h.app.inject({ method: 'GET', url: '/api/v2/tags', headers: { cookie: s.cookie } })).statusCode).toBe(200);
  });

  it('gives a member no webhook, settings or API-client powers, on the dashboard or the API', async () => {
    const s = await signedIn('ana@acme.example');
    const as = (method: string, url: string, payload?: unknown) =>
      h.app.inject({ method: method as 'GET', url, headers: { cookie: s.cookie, 'x-csrf-token': s.csrf }, ...(payload ? { payload } : {}) });
    for (const [method, url, payload, code] of [
      ['GET', '/api/v2/webhooks', undefined, 'INSUFFICIENT_SCOPE'],
      ['POST', '/api/v2/webhooks/incoming_call_start', undefined, 'INSUFFICIENT_SCOPE'],
      ['GET', '/dashboard/api/webhook', undefined, 'INSUFFICIENT_SCOPE'],
      ['PUT', '/dashboard/api/webhook', { url: 'https://hooks.example/x' }, 'INSUFFICIENT_SCOPE'],
      ['POST', '/dashboard/api/webhook/reveal-secret', undefined, 'INSUFFICIENT_SCOPE'],
      ['POST', '/dashboard/api/webhook/test', undefined, 'INSUFFICIENT_SCOPE'],
      ['GET', '/dashboard/api/webhook/deliveries', undefined, 'INSUFFICIENT_SCOPE'],
      ['GET', '/dashboard/api/clients', undefined, 'ADMIN_ONLY'],
      ['POST', '/dashboard/api/clients', { name: 'CRM' }, 'ADMIN_ONLY'],
      ['DELETE', '/dashboard/api/clients/sipsim_x', undefined, 'ADMIN_ONLY'],
      ['PATCH', '/api/v2/phones/1', { name: 'x' }, 'INSUFFICIENT_SCOPE'],
    ] as const) {
      const response = await as(method, url, payload);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.json().code, `${method} ${url}`).toBe(code);
    }
    expect(await h.store.listClients(h.accountId)).toHaveLength(0);
    // What a member may do, they can.
    expect((await as('GET', '/api/v2/calls?start_time=2025-01-01T00:00:00Z')).statusCode).toBe(200);
    expect((await as('GET', '/dashboard/api/reports?from=2025-01-15T00:00:00Z&to=2025-01-15T23:59:59Z')).statusCode).toBe(200);
  });

  it("reaches only the signed-in person's account", async () => {
    const s = await signedIn('boss@acme.example');
    const list = await h.app.inject({ method: 'GET', url: '/api/v2/calls?start_time=2025-01-01T00:00:00Z', headers: { cookie: s.cookie } });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((c: { id: number }) => c.id)).not.toContain(otherCallId);
    expect(list.json().data).toHaveLength(1);
    expect((await h.app.inject({ method: 'GET', url: `/api/v2/calls/${otherCallId}`, headers: { cookie: s.cookie } })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: `/dashboard/api/calls/${otherCallId}/webhooks`, headers: { cookie: s.cookie } })).statusCode).toBe(404);
    // A bearer token sent beside the cookie wins: the cookie is not looked at.
    const token = await h.token('calls.read', otherAccount);
    const bearer = await h.app.inject({ method: 'GET', url: `/api/v2/calls/${otherCallId}`, headers: { cookie: s.cookie, authorization: `Bearer ${token}` } });
    expect(bearer.statusCode).toBe(200);
  });

  it('ends the sessions of a disabled user and of one whose password changed', async () => {
    const user = await users.createUser({ accountId: h.accountId, email: `temp-${engine}@acme.example`, name: 'Temp', password: PASSWORD });
    const first = await signedIn(user.email);
    await users.setPassword(user.id, 'another long password');
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie: first.cookie } })).statusCode).toBe(401);
    const second = await signIn(user.email, 'another long password');
    expect(second.statusCode).toBe(200);
    await h.store.users.disable(user.id);
    const cookie = String(second.headers['set-cookie']).split(';')[0]!;
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/api/session', headers: { cookie } })).statusCode).toBe(401);
    expect((await signIn(user.email, 'another long password')).statusCode).toBe(401);
  });

  it('without a cookie or a token the API still answers MISSING_TOKEN', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/api/v2/account' });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('MISSING_TOKEN');
  });
});

const hashOf = (cookie: string): string => createHash('sha256').update(cookie.split('=')[1]!, 'utf8').digest('hex');
