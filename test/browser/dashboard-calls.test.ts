import { readFileSync } from 'node:fs';
import { TZDate } from '@date-fns/tz';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import {
  ADMIN,
  BROWSER_READY,
  BROWSER_SKIP_NOTICE,
  accessibilityProblems,
  apiCallIds,
  launchBrowser,
  newPage,
  screenshot,
  shownCallIds,
  signIn,
  startDashboard,
  type Dashboard,
} from '../helpers/dashboard-browser.js';

// Code run inside the page by page.evaluate: the browser's globals, untyped here (the tests compile without the DOM library).
declare const document: any;


if (!BROWSER_READY) console.warn(BROWSER_SKIP_NOTICE);

const ZONE = 'Europe/Paris';
/** Midnight of the day `daysAgo` before today, in the account's zone, as the API's filters take it. */
const dayStart = (daysAgo: number) => {
  const now = TZDate.tz(ZONE);
  return new TZDate(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, ZONE);
};
const ymd = (d: TZDate) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

// A browser, a server and a database per suite on a shared machine: steps wait on events, never on a clock, but may be slow.
vi.setConfig({ testTimeout: 120_000 });

describeEngines('the Calls page', { skipIf: !BROWSER_READY }, (engine) => {
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    [dashboard, browser] = await Promise.all([startDashboard(engine), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  it('shows exactly the calls the API lists for every filter, in its order, paging by token as it scrolls', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    const employees = (await dashboard.api('/api/v2/employees')).body.data as Array<{ id: number }>;
    const tags = (await dashboard.api('/api/v2/tags')).body.data as Array<{ id: number }>;
    const from = dayStart(13);
    const to = dayStart(0);
    const nextDay = new TZDate(to.getFullYear(), to.getMonth(), to.getDate() + 1, ZONE);
    const window = { start_time: new Date(from.getTime()).toISOString(), end_time: new Date(nextDay.getTime() - 1).toISOString() };
    const someCall = (await dashboard.api(`/api/v2/calls?start_time=${window.start_time}&limit=20`)).body.data[3];
    const cases: Array<{ view: Record<string, string>; api: Record<string, string> }> = [
      { view: {}, api: {} },
      { view: { types: 'missed' }, api: { call_types: 'missed' } },
      { view: { types: 'inbound,voicemail' }, api: { call_types: 'inbound,voicemail' } },
      { view: { employees: `${employees[0]!.id},${employees[1]!.id}` }, api: { employees: `${employees[0]!.id},${employees[1]!.id}` } },
      { view: { tags: String(tags[0]!.id) }, api: { tags: String(tags[0]!.id) } },
      { view: { q: someCall.caller_number.slice(-6) }, api: { search: someCall.caller_number.slice(-6) } },
      { view: { types: 'outbound', employees: String(employees[2]!.id) }, api: { call_types: 'outbound', employees: String(employees[2]!.id) } },
    ];
    const expectedOf: Array<number[]> = [];
    for (const { view, api } of cases) {
      const address = `/calls?${new URLSearchParams({ when: 'custom', from: ymd(from), to: ymd(to), ...view })}`;
      // The view's own list request starts at the account's midnight, whatever the browser's zone; the page
      // may send others meanwhile (the live log's re-ask), so the one awaited is the one that starts there.
      const startsAt = (r: { url(): string }) => {
        if (!r.url().includes('/api/v2/calls?')) return false;
        const start = new URL(r.url()).searchParams.get('start_time');
        return start !== null && new Date(start).toISOString() === window.start_time;
      };
      const listRequest = page.waitForRequest(startsAt);
      await page.goto(`${dashboard.url}${address}`);
      const asked = new URL((await listRequest).url()).searchParams;
      // ...and ends at the last second of the last day, in the account's zone.
      expect(new Date(asked.get('end_time')!).toISOString()).toBe(window.end_time);
      const expected = await apiCallIds(dashboard, { ...window, ...api });
      expect(await shownCallIds(page), `${address}`).toEqual(expected);
      expectedOf.push(expected);
    }
    // The view lives in the address: back restores the previous one, rows included.
    await page.goBack();
    expect(new URL(page.url()).searchParams.get('q')).toBe(someCall.caller_number.slice(-6));
    expect(await shownCallIds(page)).toEqual(expectedOf[cases.length - 2]);
    await context.close();
  });

  it('pages through more calls than one page holds by token, never by offset', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    const asked: string[] = [];
    page.on('request', (r) => r.url().includes('/api/v2/calls?') && asked.push(r.url()));
    await page.goto(`${dashboard.url}/calls?when=30d`);
    const shown = await shownCallIds(page);
    expect(shown.length).toBeGreaterThan(100);
    const tokens = asked.map((u) => new URL(u).searchParams).filter((p) => p.has('page'));
    expect(tokens.length).toBeGreaterThan(0);
    expect(asked.every((u) => !new URL(u).searchParams.has('offset'))).toBe(true);
    const start = new URL(asked[0]!).searchParams.get('start_time')!;
    expect(shown).toEqual(await apiCallIds(dashboard, { start_time: start }));
    await context.close();
  });

  it('filters from the controls and updates the address, and exports exactly /calls/export', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    await page.goto(`${dashboard.url}/calls`);
    await page.getByRole('button', { name: '7 days' }).click();
    await page.locator('summary', { hasText: 'Type' }).click();
    await page.getByRole('checkbox', { name: 'Missed' }).check();
    await page.keyboard.press('Escape');
    await expect.poll(() => new URL(page.url()).search).toContain('types=missed');
    expect(new URL(page.url()).searchParams.get('when')).toBe('7d');
    // Back, within the app, drops the last filter again; forward brings it back.
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get('types')).toBe(null);
    expect(await page.getByRole('button', { name: '7 days' }).getAttribute('aria-pressed')).toBe('true');
    const refiltered = page.waitForResponse((r) => r.url().includes('/api/v2/calls?') && new URL(r.url()).searchParams.get('call_types') === 'missed');
    await page.goForward();
    await expect.poll(() => new URL(page.url()).searchParams.get('types')).toBe('missed');
    await refiltered;
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const file = readFileSync((await (await download).path())!, 'utf8');
    const href = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const direct = await dashboard.api(href!);
    expect(direct.status).toBe(200);
    expect(file).toBe(direct.text);
    // The filtered answer is in, but its rows are drawn a moment later: until then the page still shows the
    // unfiltered ones. The page must come to list exactly as many calls as the export holds.
    const exported = file.trim().split('\n').length - 1;
    await expect.poll(async () => (await shownCallIds(page)).length, { timeout: 20_000 }).toBe(exported);
    await context.close();
  });

  it('shows a new call without a reload', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    await page.goto(`${dashboard.url}/calls`);
    await page.waitForFunction(() => !document.querySelector('.list-state .loading'));
    const now = new Date();
    const at = (s: number) => new Date(now.getTime() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const imported = await dashboard.api('/api/v2/calls/import', {
      method: 'POST',
      body: {
        calls: [
          {
            pbx_id: 'browser-live-1', call_type: 'inbound', caller_number: '+33655501234', caller_name: 'Zoé <b>Live</b>', target_number: '+33198765432',
            start_time: at(30), answered_time: at(25), end_time: at(1),
          },
        ],
      },
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    expect(imported.body.data.created).toBe(1);
    // Names are text, never markup.
    await page.getByText('Zoé <b>Live</b>').waitFor({ timeout: 20_000 });
    expect(await page.locator('.caller b').count()).toBe(0);
    await context.close();
  });

  it('after a bulk import while the page is open, shows exactly the API list, with no gap', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/calls?when=7d');
    await page.locator('[data-call-id]').first().waitFor();
    const asked = page.waitForRequest((r) => r.url().includes('/api/v2/calls?') && !new URL(r.url()).searchParams.has('page'));
    const now = Date.now();
    const at = (s: number) => new Date(now - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const calls = Array.from({ length: 150 }, (_, i) => ({
      pbx_id: `browser-bulk-${i}`, call_type: 'inbound', caller_number: `+3365550${String(1000 + i)}`, caller_name: `Bulk ${i}`,
      target_number: '+33198765432', start_time: at(200 - i), answered_time: at(199 - i), end_time: at(190 - i),
    }));
    const imported = await dashboard.api('/api/v2/calls/import', { method: 'POST', body: { calls } });
    expect(imported.body.data.created).toBe(150);
    await page.getByText('Bulk 149', { exact: true }).waitFor({ timeout: 20_000 });
    const start = new URL((await asked).url()).searchParams.get('start_time')!;
    expect(await shownCallIds(page)).toEqual(await apiCallIds(dashboard, { start_time: start }));
    await context.close();
  });

  it('works at phone width, by keyboard, with no serious accessibility problem', async () => {
    const { context, page } = await newPage(browser, { width: 390, height: 844 });
    await signIn(page, dashboard.url, ADMIN);
    await page.goto(`${dashboard.url}/calls?when=7d`);
    await page.locator('[data-call-id]').first().waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `calls-390-${engine}`);
    // Keyboard alone: tab to the first call's link and open it.
    const first = page.locator('[data-call-id] a').first();
    await first.focus();
    const id = await page.locator('[data-call-id]').first().getAttribute('data-call-id');
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/calls/${id}`);
    await page.getByRole('heading', { name: new RegExp(`Call ${id}`) }).waitFor();
    await context.close();

    const wide = await newPage(browser);
    await signIn(wide.page, dashboard.url, ADMIN);
    await wide.page.goto(`${dashboard.url}/calls?when=7d`);
    await wide.page.locator('[data-call-id]').first().waitFor();
    expect(await accessibilityProblems(wide.page)).toEqual([]);
    expect(await wide.page.getByText(/Europe\/Paris/).first().isVisible()).toBe(true);
    await screenshot(wide.page, `calls-1366-${engine}`);
    await wide.context.close();
  });
});
