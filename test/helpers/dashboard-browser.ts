import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CLI } from './programs.js';
import { createTestDatabase, type EngineName, type TestDatabase } from './engines.js';
import { serveCli, type Served } from './serve-cli.js';
import { Store } from '../../src/store/store.js';
import { UserService } from '../../src/users/service.js';

// Code run inside the page by page.evaluate: the browser's globals, untyped here (the tests compile without the DOM library).
declare const document: any;
declare const window: any;
type HTMLElement = any;


/**
 * The dashboard's browser tests drive Debian's chromium through playwright-core
 * (no browser download): a real `sipsim serve` over a demo store, a real
 * browser, real clicks.
 */
export const CHROMIUM = process.env.SIPSIM_CHROMIUM ?? '/usr/bin/chromium';
export const BROWSER_READY = existsSync(CHROMIUM) || Boolean(process.env.CI);
export const BROWSER_SKIP_NOTICE =
  `Browser suites SKIPPED: no Chromium at ${CHROMIUM}. To run them: apt-get install chromium ` +
  '(or point SIPSIM_CHROMIUM at a Chromium binary).';

/** Where the run's screenshots go: outside the repository. */
export const SCREENSHOTS = join(tmpdir(), 'sipsim-dashboard-screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const ADMIN = { email: 'admin@browser.test', password: 'correct horse battery staple', name: 'Ada Admin' };
export const MEMBER = { email: 'member@browser.test', password: 'member password 123', name: 'Max Member' };
/** A member kept for the lock-out test, so that locking it leaves the others usable. */
export const LOCKED = { email: 'locked@browser.test', password: 'locked password 123', name: 'Lou Locked' };

export interface Dashboard {
  url: string;
  served: Served;
  database: TestDatabase;
  accountId: number;
  clientId: string;
  clientSecret: string;
  /** A bearer token of the demo API client: the API's own answer to compare the pages with. */
  api<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; body: T; text: string; headers: Headers }>;
  close(): Promise<void>;
}

function runCli(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sipsim ${args.join(' ')} exited ${code}:\n${out}\n${err}`))));
    child.stdin.end(input ?? '');
  });
}

/** A demo store on the engine, an admin and a member who sign in, and `sipsim serve` over it. */
export async function startDashboard(engine: EngineName, options: { calls?: number; env?: Record<string, string> } = {}): Promise<Dashboard> {
  const database = await createTestDatabase(engine);
  try {
    const demo = JSON.parse(await runCli(['demo', '--database', database.url, '--calls', String(options.calls ?? 1500), '--json']));
    const store = Store.open(database.url);
    try {
      const users = new UserService(store);
      await users.createUser({ accountId: demo.account_id, ...ADMIN, role: 'admin' });
      await users.createUser({ accountId: demo.account_id, ...MEMBER, role: 'member', employeeId: 1 });
      await users.createUser({ accountId: demo.account_id, ...LOCKED, role: 'member' });
    } finally {
      await store.close();
    }
    const served = await serveCli(database.url, { SIPSIM_CLICK_TO_CALL: 'simulate', SIPSIM_WEBHOOK_ALLOW_HTTP: '127.0.0.1', ...options.env });
    let token = '';
    const api: Dashboard['api'] = async (path, init = {}) => {
      if (!token) {
        const answer = await fetch(`${served.url}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'client_credentials', client_id: demo.client_id, client_secret: demo.client_secret }),
        });
        token = ((await answer.json()) as { access_token: string }).access_token;
      }
      const response = await fetch(`${served.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // CSV and other text answers stay text.
      }
      return { status: response.status, body, text, headers: response.headers };
    };
    return {
      url: served.url,
      served,
      database,
      accountId: demo.account_id,
      clientId: demo.client_id,
      clientSecret: demo.client_secret,
      api,
      async close() {
        await served.stop();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}

/** Every call of a list query, through the API, in its order. */
export async function apiCallIds(dashboard: Dashboard, query: Record<string, string>): Promise<number[]> {
  const ids: number[] = [];
  let page: string | undefined;
  do {
    const params = new URLSearchParams({ ...query, limit: '1000', ...(page ? { page } : {}) });
    const { status, body } = await dashboard.api(`/api/v2/calls?${params}`);
    if (status !== 200) throw new Error(`GET /api/v2/calls answered ${status}: ${JSON.stringify(body)}`);
    ids.push(...body.data.map((c: { id: number }) => c.id));
    page = body.pagination.has_more ? body.pagination.page : undefined;
  } while (page);
  return ids;
}

export async function signIn(page: Page, base: string, who: { email: string; password: string }, path = '/calls'): Promise<void> {
  await page.goto(`${base}${path}`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function newPage(browser: Browser, viewport = { width: 1366, height: 768 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  return { context, page };
}

/** The call rows of the Calls page, scrolled through to the end: what a person sees, in order. */
export async function shownCallIds(page: Page): Promise<number[]> {
  // The Calls page is up (a fresh document first checks the session) ...
  await page.locator('.calls-page .scroller').waitFor();
  // ... and its list is not loading.
  await page.waitForFunction(() => !document.querySelector('.list-state .loading'));
  const seen = new Map<number, number>();
  for (;;) {
    const batch = await page.$$eval('[data-call-id]', (rows) => rows.map((r) => [Number(r.getAttribute('data-call-id')), Number(r.getAttribute('aria-rowindex'))] as const));
    for (const [id, index] of batch) seen.set(index, id);
    const done = await page.evaluate(() => {
      const scroller = document.querySelector('.scroller') as HTMLElement;
      const atEnd = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 2;
      const more = /more as you scroll/.test(document.querySelector('.count')?.textContent ?? '');
      const loading = Boolean(document.querySelector('.list-state .loading'));
      if (!atEnd) scroller.scrollTop += scroller.clientHeight * 0.8;
      return atEnd && !more && !loading;
    });
    if (done) break;
    await page.waitForTimeout(30);
  }
  return [...seen.entries()].sort((a, b) => a[0] - b[0]).map(([, id]) => id);
}

const axeSource = (): string => {
  const require = createRequire(import.meta.url);
  return require('fs').readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
};
let axe: string | null = null;

/** axe-core over the page as it stands: the serious and critical violations, described. */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  axe ??= axeSource();
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axe });
  const violations = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')) }));
  });
  return violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical').map((v: any) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}
