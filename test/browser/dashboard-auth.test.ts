import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { ADMIN, BROWSER_READY, LOCKED, MEMBER, accessibilityProblems, launchBrowser, newPage, screenshot, signIn, startDashboard, type Dashboard } from '../helpers/dashboard-browser.js';

// Code run inside the page by page.evaluate: the browser's globals, untyped here (the tests compile without the DOM library).
declare const document: any;


// A browser, a server and a database per suite on a shared machine: steps wait on events, never on a clock, but may be slow.
vi.setConfig({ testTimeout: 120_000 });

describeEngines('signing in to the dashboard', { skipIf: !BROWSER_READY }, (engine) => {
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    [dashboard, browser] = await Promise.all([startDashboard(engine, { calls: 300 }), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('refuses a wrong password without saying whether the email exists, then signs in and lands on the asked view', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${dashboard.url}/calls?when=7d&types=missed`);
    await page.getByRole('heading', { name: 'Sign in to sipsim' }).waitFor();
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `sign-in-${engine}`);

    const attempt = async (email: string, password: string) => {
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    };
    await attempt(ADMIN.email, 'not the password');
    const wrongPassword = await page.getByRole('alert').textContent();
    await attempt('nobody@browser.test', 'not the password');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toBe(wrongPassword);

    await attempt(ADMIN.email, ADMIN.password);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const url = new URL(page.url());
    expect(url.pathname + url.search).toBe('/calls?when=7d&types=missed');
    expect(await page.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed')).toBe('true');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'sipsim_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Lax');
    await context.close();
  });

  it('locks an email after repeated wrong passwords, even against the right one', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${dashboard.url}/`);
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Email').fill(LOCKED.email);
      await page.getByLabel('Password').fill(`wrong ${i}`);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    }
    const answer = page.waitForResponse((r) => r.url().endsWith('/dashboard/api/session') && r.request().method() === 'POST');
    await page.getByLabel('Password').fill(LOCKED.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answer).status()).toBe(429);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await context.close();
  });

  it('an expired session asks to sign in again and comes back to the same view, filters kept', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/calls?when=30d&types=inbound');
    await page.locator('[data-call-id]').first().waitFor();
    // The session ends on the server (as when it expires); the browser still holds its cookie.
    const cookie = (await context.cookies()).find((c) => c.name === 'sipsim_session')!;
    const csrf = await page.evaluate(async () => ((await (await fetch('/dashboard/api/session')).json()) as any).data.csrf_token as string);
    const ended = await fetch(`${dashboard.url}/dashboard/api/session`, {
      method: 'DELETE',
      headers: { cookie: `sipsim_session=${cookie.value}`, 'x-csrf-token': csrf },
    });
    expect(ended.status).toBe(204);
    await page.getByRole('button', { name: '7 days' }).click();
    await page.getByText('Your session has expired').waitFor();
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-call-id]').first().waitFor();
    const url = new URL(page.url());
    expect(url.searchParams.get('when')).toBe('7d');
    expect(url.searchParams.get('types')).toBe('inbound');
    await context.close();
  });

  it('refuses a forged cross-site write and a write without the CSRF token', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    const target = dashboard.url;
    // Another site on another local port, with a page that posts to sipsim as the signed-in person's browser.
    const evil: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(
        `<form id=f method=POST action="${target}/api/v2/tags" enctype="text/plain"><input name='{"name":"forged","x":"' value='"}'></form>` +
          `<script>fetch(${JSON.stringify(`${target}/api/v2/tags`)}, {method:'POST', credentials:'include', mode:'no-cors', headers:{'content-type':'text/plain'}, body:JSON.stringify({name:'forged2'})}).finally(() => document.getElementById('f').submit())</script>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, 'localhost', resolve));
    try {
      // In a tab of its own, as a person who has the dashboard open would visit another site.
      const elsewhere = await context.newPage();
      const refused = elsewhere.waitForResponse((r) => r.url() === `${target}/api/v2/tags` && r.request().method() === 'POST' && r.request().resourceType() === 'document');
      await elsewhere.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`);
      expect([401, 403]).toContain((await refused).status());
      await elsewhere.close();
    } finally {
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
    const names = ((await dashboard.api('/api/v2/tags')).body.data as Array<{ name: string }>).map((t) => t.name);
    expect(names.filter((n) => n.startsWith('forged'))).toEqual([]);

    await page.goto(`${dashboard.url}/tags`);
    const withoutToken: { status: number; body: any } = await page.evaluate(async () => {
      const r = await fetch('/api/v2/tags', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'no token' }) });
      return { status: r.status, body: await r.json() };
    });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.body.code).toBe('CSRF');
    await context.close();
  });

  it('a member sees calls but neither the integrations page nor its API', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, MEMBER);
    expect(await page.getByRole('navigation').getByRole('link', { name: 'Integrations' }).count()).toBe(0);
    await page.locator('[data-call-id]').first().waitFor({ state: 'attached' }).catch(() => undefined);
    await page.goto(`${dashboard.url}/integrations`);
    await page.getByText(/Only an admin/).waitFor();
    const answers = await page.evaluate(async () => {
      const session: any = await (await fetch('/dashboard/api/session')).json();
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.data.csrf_token };
      const statuses: Record<string, number> = {};
      statuses.webhook = (await fetch('/dashboard/api/webhook')).status;
      statuses.clients = (await fetch('/dashboard/api/clients')).status;
      statuses.createClient = (await fetch('/dashboard/api/clients', { method: 'POST', headers, body: JSON.stringify({ name: 'x' }) })).status;
      statuses.rotate = (await fetch('/dashboard/api/webhook/rotate-secret', { method: 'POST', headers, body: '{}' })).status;
      statuses.setUrl = (await fetch('/dashboard/api/webhook', { method: 'PUT', headers, body: JSON.stringify({ url: 'http://127.0.0.1:9/x' }) })).status;
      statuses.calls = (await fetch(`/api/v2/calls?start_time=${new Date(Date.now() - 86400000).toISOString()}`)).status;
      return statuses;
    });
    expect(answers).toEqual({ webhook: 403, clients: 403, createClient: 403, rotate: 403, setUrl: 403, calls: 200 });
    await context.close();
  });

  // Last: it stops the server.
  it('says so when the server does not answer', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/calls?when=7d');
    await page.locator('[data-call-id]').first().waitFor();
    await dashboard.served.stop();
    await page.getByRole('button', { name: '30 days' }).click();
    await page.getByRole('alert').getByText('The server does not answer').waitFor();
    expect(await page.getByRole('button', { name: 'Try again' }).isVisible()).toBe(true);
    await context.close();
  });
});
