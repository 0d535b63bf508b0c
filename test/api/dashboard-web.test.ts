import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { Store } from '../../src/store/store.js';
import { UserService } from '../../src/users/service.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { TEST_CONFIG } from '../helpers/fixture.js';

const INDEX = '<!doctype html><title>sipsim dashboard</title><script type="module" src="/assets/index-3f2a1b.js"></script>';
const SCRIPT = 'console.log("dashboard")';

/** A built app as Vite leaves it: index.html and hashed files under assets/. */
function builtApp(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sipsim-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-3f2a1b.js'), SCRIPT);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `sipsim serve` serves the dashboard at / from the build: hashed assets cached
 * for good, index.html never cached and answered for the app's own routes,
 * while the API's unknown paths stay JSON 404s.
 */
describe('the dashboard pages', () => {
  let store: Store;
  let closeStore: () => Promise<void>;
  let web: ReturnType<typeof builtApp>;
  let app: ReturnType<typeof buildApp>;

  beforeAll(async () => {
    ({ store, close: closeStore } = await openTestStore('sqlite'));
    web = builtApp();
    app = buildApp({ store, config: TEST_CONFIG, webDir: web.dir });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await closeStore?.();
    web?.remove();
  });

  it('answers / with index.html, never cached', async () => {
    const r = await app.inject({ url: '/' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.body).toBe(INDEX);
  });

  it('serves hashed assets for a year, immutable', async () => {
    const r = await app.inject({ url: '/assets/index-3f2a1b.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.body).toBe(SCRIPT);
    const top = await app.inject({ url: '/favicon.svg' });
    expect(top.statusCode).toBe(200);
    expect(top.headers['cache-control']).toBe('no-cache');
  });

  it("answers the app's own routes with index.html when a browser asks for a page", async () => {
    for (const url of ['/calls?start=2025-01-01', '/calls/42', '/reports/day/2025-01-15', '/integrations']) {
      const r = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(r.statusCode, url).toBe(200);
      expect(r.body).toBe(INDEX);
    }
    // Not a page request: a plain 404 in the API's envelope.
    const json = await app.inject({ url: '/calls/42', headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(404);
    expect(json.json().code).toBe('ROUTE_NOT_FOUND');
  });

  it('keeps JSON 404s on the API, its tools and missing assets, and never leaves the build folder', async () => {
    const html = { accept: 'text/html' };
    for (const url of ['/api/v2/nothing-here', '/oauth/nothing', '/dashboard/api/nothing', '/health/nothing', '/assets/missing-123.js']) {
      const r = await app.inject({ url, headers: html });
      expect(r.statusCode, url).toBe(404);
      expect(r.headers['content-type'], url).toMatch(/^application\/json/);
    }
    for (const url of ['/assets/../../etc/passwd', '/..%2f..%2fetc%2fpasswd', '/assets/..%2f..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd']) {
      const r = await app.inject({ url, headers: html });
      expect(r.body, url).not.toMatch(/root:/);
      if (r.statusCode === 200) expect(r.body, url).toBe(INDEX);
    }
    expect((await app.inject({ method: 'POST', url: '/calls', headers: html })).statusCode).toBe(404);
    // The API answers as before.
    expect((await app.inject({ url: '/api/v2/account' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200);
  });

  it('says to build the dashboard when it has not been built', async () => {
    const bare = buildApp({ store, config: TEST_CONFIG, webDir: join(web.dir, 'absent') });
    try {
      const r = await bare.inject({ url: '/' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.body).toContain('npm run build');
    } finally {
      await bare.close();
    }
  });
});

/**
 * One browser's round over a real port: sign in, the cookie carried by the
 * client, the API read and written with it, signed out. Behind a trusted
 * proxy that says https, the cookie is Secure.
 */
describeEngines('a dashboard session over a real port', (engine) => {
  let store: Store;
  let closeStore: () => Promise<void>;
  let app: ReturnType<typeof buildApp>;
  let base: string;

  beforeAll(async () => {
    ({ store, close: closeStore } = await openTestStore(engine));
    const account = await store.createAccount({ name: 'Acme', timezone: 'Europe/Paris' });
    await new UserService(store).createUser({ accountId: account.id, email: 'ana@acme.example', name: 'Ana', password: 'ana password 1' });
    app = buildApp({ store, config: { ...TEST_CONFIG, trustProxy: true }, webDir: null });
    base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('[::1]', 'localhost');
  });
  afterAll(async () => {
    await app?.close();
    await closeStore?.();
  });

  it('signs in, reads and writes with the cookie, and signs out', async () => {
    const signIn = await fetch(`${base}/dashboard/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ email: 'ana@acme.example', password: 'ana password 1' }),
    });
    expect(signIn.status).toBe(200);
    const { csrf_token: csrf, account } = ((await signIn.json()) as { data: { csrf_token: string; account: { timezone: string } } }).data;
    expect(account.timezone).toBe('Europe/Paris');
    const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;

    const read = await fetch(`${base}/api/v2/account`, { headers: { cookie } });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { data: { company_name: string } }).data.company_name).toBe('Acme');
    const write = await fetch(`${base}/api/v2/tags`, {
      method: 'POST',
      headers: { cookie, origin: base, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Callback' }),
    });
    expect(write.status).toBe(201);
    const forged = await fetch(`${base}/api/v2/tags`, {
      method: 'POST',
      headers: { cookie, origin: 'https://attacker.example', 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Forged' }),
    });
    expect(forged.status).toBe(403);

    const out = await fetch(`${base}/dashboard/api/session`, { method: 'DELETE', headers: { cookie, origin: base, 'x-csrf-token': csrf } });
    expect(out.status).toBe(204);
    expect((await fetch(`${base}/api/v2/account`, { headers: { cookie } })).status).toBe(401);
  });

  it('marks the cookie Secure when a trusted proxy says the request came over https', async () => {
    const signIn = await fetch(`${base}/dashboard/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ email: 'ana@acme.example', password: 'ana password 1' }),
    });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.getSetCookie()[0]).toMatch(/; Secure/);
  });
});
