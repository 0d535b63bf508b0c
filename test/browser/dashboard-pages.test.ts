import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { ADMIN, BROWSER_READY, accessibilityProblems, launchBrowser, newPage, screenshot, signIn, startDashboard, type Dashboard } from '../helpers/dashboard-browser.js';

// A browser, a server and a database per suite on a shared machine: steps wait on events, never on a clock, but may be slow.
vi.setConfig({ testTimeout: 120_000 });

describeEngines('the dashboard pages', { skipIf: !BROWSER_READY }, (engine) => {
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    [dashboard, browser] = await Promise.all([startDashboard(engine), launchBrowser()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  const recentCall = async (filter = '') => {
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
    return (await dashboard.api(`/api/v2/calls?start_time=${since}&limit=50${filter}`)).body.data[0];
  };

  it('a call: every field, its timeline, its recording, and tags added, created and removed as the API sees them', async () => {
    const call = (await dashboard.api(`/api/v2/calls?start_time=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&limit=200`)).body.data.find(
      (c: any) => c.play_record_link,
    );
    expect(call).toBeTruthy();
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, `/calls/${call.id}`);
    await page.getByRole('heading', { name: new RegExp(`Call ${call.id}`) }).waitFor();
    for (const value of [call.caller_number, call.target_number, call.sip_status, `${call.duration_sec} s`, `${call.wait_duration_sec} s`]) {
      expect(await page.locator('.facts').textContent()).toContain(String(value));
    }
    expect(await page.locator('.timeline li').count()).toBe(4);
    expect(await page.locator('audio').getAttribute('src')).toBe(call.play_record_link);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `call-${engine}`);

    const tags = (await dashboard.api('/api/v2/tags')).body.data as Array<{ id: number; name: string }>;
    const tag = tags.find((t) => !call.tags.some((c: any) => c.id === t.id))!;
    await page.getByLabel('Add a tag').selectOption(String(tag.id));
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('.panel .tags .chip', { hasText: tag.name }).waitFor();
    const tagged = async (tagId: number) => {
      const since = new Date(Date.parse(call.start_time) - 1000).toISOString();
      const until = new Date(Date.parse(call.start_time) + 1000).toISOString();
      const { body } = await dashboard.api(`/api/v2/calls?start_time=${since}&end_time=${until}&tags=${tagId}`);
      return body.data.some((c: any) => c.id === call.id);
    };
    expect(await tagged(tag.id)).toBe(true);

    await page.getByLabel('New tag').fill('Callback promised');
    await page.getByRole('button', { name: 'Create and add' }).click();
    await page.locator('.panel .tags .chip', { hasText: 'Callback promised' }).waitFor();
    const created = ((await dashboard.api('/api/v2/tags')).body.data as Array<{ id: number; name: string }>).find((t) => t.name === 'Callback promised')!;
    expect(await tagged(created.id)).toBe(true);

    await page.getByRole('button', { name: `Remove tag ${tag.name}` }).click();
    await page.locator('.panel .tags .chip', { hasText: tag.name }).waitFor({ state: 'detached' });
    expect(await tagged(tag.id)).toBe(false);
    await context.close();
  });

  it('a call that does not exist says so', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/calls/999999999');
    await page.getByRole('alert').getByText(/not found/i).waitFor();
    await context.close();
  });

  it('calls back from the call page in the sandbox: live states, hang-up, and the call ends completed', async () => {
    const call = await recentCall('&call_types=inbound');
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, `/calls/${call.id}`);
    await page.getByRole('button', { name: 'Call back' }).click();
    const state = page.locator('.call-state strong');
    await page.locator('.call-state strong[data-status="connected"]').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Hang up' }).click();
    await page.locator('.call-state strong[data-status="completed"]').waitFor({ timeout: 20_000 });
    const id = (await page.locator('.call-state').textContent())!.match(/Call (\d+)/)![1];
    const placed = await dashboard.api(`/api/v2/calls/${id}`);
    expect(placed.body.data.status ?? 'completed').toBe('completed');
    expect(placed.body.data.target_number ?? placed.body.data.caller_number).toBeTruthy();
    expect(await state.textContent()).toBe('completed');
    await context.close();
  });

  it('reports: every figure equals the API for the same window, with charts and tables', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN);
    const asked = page.waitForRequest((r) => r.url().includes('/dashboard/api/reports?'));
    await page.goto(`${dashboard.url}/reports?period=week`);
    const query = new URL((await asked).url()).search;
    const { body } = await dashboard.api(`/dashboard/api/reports${query}`);
    const report = body.data;
    await page.locator('[data-figure="total_calls"]').waitFor();
    expect(await page.locator('[data-figure="total_calls"]').textContent()).toBe(String(report.total_calls));
    expect(await page.locator('[data-figure="answer_rate"]').textContent()).toBe(
      report.answer_rate === null ? '—' : `${(report.answer_rate * 100).toFixed(1)} %`,
    );
    expect(await page.locator('[data-figure="wait_p50_sec"]').textContent()).toBe(report.wait_p50_sec === null ? '—' : `${report.wait_p50_sec} s`);
    expect(await page.locator('[data-figure="wait_p90_sec"]').textContent()).toBe(report.wait_p90_sec === null ? '—' : `${report.wait_p90_sec} s`);
    expect(await page.locator('[data-table="employees"] tbody tr').count()).toBe(report.employees.length);
    expect(await page.locator('[data-table="longest"] tbody tr').count()).toBe(report.longest_calls.length);
    expect(await page.locator('.chart canvas').count()).toBe(2);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `reports-${engine}`);
    await context.close();
  });

  it('tags: counts as /calls?tags= gives them, create, rename, recolour, delete', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/tags');
    const first = ((await dashboard.api('/api/v2/tags')).body.data as Array<{ id: number; name: string }>)[0]!;
    const row = page.locator(`tr[data-tag-id="${first.id}"]`);
    await row.getByRole('link').waitFor();
    let count = 0;
    let next: string | undefined;
    do {
      const { body } = await dashboard.api(`/api/v2/calls?start_time=1970-01-01T00:00:00Z&tags=${first.id}&limit=1000${next ? `&page=${next}` : ''}`);
      count += body.data.length;
      next = body.pagination.has_more ? body.pagination.page : undefined;
    } while (next);
    expect(await row.getByRole('link').textContent()).toBe(count.toLocaleString('en'));
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `tags-${engine}`);

    await page.getByLabel('New tag').fill('Escalated');
    await page.getByRole('button', { name: 'Create tag' }).click();
    await page.getByLabel('Name of tag Escalated').waitFor();
    const made = ((await dashboard.api('/api/v2/tags')).body.data as Array<{ id: number; name: string }>).find((t) => t.name === 'Escalated')!;
    expect(made).toBeTruthy();

    await page.getByLabel('Name of tag Escalated').fill('Escalated to level 2');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Name of tag Escalated to level 2').waitFor();
    expect((await dashboard.api(`/api/v2/tags/${made.id}`)).body.data.name).toBe('Escalated to level 2');

    await page.getByLabel('Colour of tag Escalated to level 2').fill('#22c55e');
    await expect.poll(async () => (await dashboard.api(`/api/v2/tags/${made.id}`)).body.data.color).toBe('#22C55E');

    page.once('dialog', (dialog) => dialog.accept());
    await page.locator(`tr[data-tag-id="${made.id}"]`).getByRole('button', { name: 'Delete' }).click();
    await page.locator(`tr[data-tag-id="${made.id}"]`).waitFor({ state: 'detached' });
    expect((await dashboard.api(`/api/v2/tags/${made.id}`)).status).toBe(404);
    await context.close();
  });

  it('directory: employees and their phones, and a phone edited as PATCH /phones allows', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, '/directory');
    const phone = ((await dashboard.api('/api/v2/phones')).body.data as Array<any>)[0];
    const row = page.locator(`tr[data-phone-id="${phone.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain(phone.number);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `directory-${engine}`);
    await row.getByRole('button', { name: /Edit/ }).click();
    const form = page.getByRole('form', { name: `Edit ${phone.name}` });
    await form.getByLabel('Name').fill('Front desk');
    await form.getByLabel('Record outbound').setChecked(!phone.record_setting.record_outbound_call);
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });
    const after = (await dashboard.api(`/api/v2/phones/${phone.id}`)).body.data;
    expect(after.name).toBe('Front desk');
    expect(after.record_setting.record_outbound_call).toBe(!phone.record_setting.record_outbound_call);
    expect(after.record_setting.record_inbound_call).toBe(phone.record_setting.record_inbound_call);
    await context.close();
  });

  it('integrations: webhook URL, secret, events, a test event that reaches a real receiver, deliveries, API clients', async () => {
    const receiver = await new WebhookReceiver().start();
    try {
      const { context, page } = await newPage(browser);
      await signIn(page, dashboard.url, ADMIN, '/integrations');
      await page.getByLabel('URL').fill(receiver.url);
      await page.getByRole('button', { name: 'Save URL' }).click();
      await page.getByRole('button', { name: 'Reveal' }).click();
      await page.locator('code[data-secret]', { hasText: /^whsec_[^*]+$/ }).waitFor();
      receiver.secret = (await page.locator('code[data-secret]').textContent())!;

      const events = page.locator('fieldset.events input[type=checkbox]');
      expect(await events.count()).toBe(14);
      await page.getByRole('checkbox', { name: 'incoming_call_start', exact: true }).uncheck();
      await expect
        .poll(async () => ((await dashboard.api('/api/v2/webhooks')).body.data as Array<{ event: string }>).map((e) => e.event))
        .not.toContain('incoming_call_start');
      await page.getByRole('checkbox', { name: 'incoming_call_start', exact: true }).check();
      await expect
        .poll(async () => ((await dashboard.api('/api/v2/webhooks')).body.data as Array<{ event: string }>).map((e) => e.event))
        .toContain('incoming_call_start');

      await page.getByRole('button', { name: 'Send test event' }).click();
      await page.locator('[data-test-result="success"]').waitFor();
      await receiver.waitFor((received) => received.some((r) => r.valid && JSON.stringify(r.body).includes('test')));

      await page.getByRole('button', { name: 'Refresh' }).click();
      const delivery = page.locator('table.deliveries tbody tr').first();
      await delivery.waitFor();
      expect(await delivery.textContent()).toContain('delivered');
      const before = receiver.received.length;
      await delivery.getByRole('button', { name: /Redeliver/ }).click();
      await page.getByText(/Queued again/).waitFor();
      await receiver.waitFor((received) => received.length > before);

      await page.getByLabel('Name', { exact: true }).fill('Helpdesk sync');
      await page.getByRole('button', { name: 'Create client' }).click();
      const secret = (await page.locator('code[data-client-secret]').textContent())!;
      const clientId = (await page.locator('code[data-client-id]').textContent())!;
      const token = await fetch(`${dashboard.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      });
      expect(token.status).toBe(200);
      expect(await accessibilityProblems(page)).toEqual([]);
      await screenshot(page, `integrations-${engine}`);
      await page.getByRole('button', { name: 'I have saved it' }).click();
      expect(await page.locator('code[data-client-secret]').count()).toBe(0);

      page.once('dialog', (dialog) => dialog.accept());
      await page.locator(`tr[data-client="${clientId}"]`).getByRole('button', { name: /Revoke/ }).click();
      await page.locator(`tr[data-client="${clientId}"]`).getByText(/revoked/).waitFor();
      const refused = await fetch(`${dashboard.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
      });
      expect(refused.status).toBe(401);
      await context.close();
    } finally {
      await receiver.stop();
    }
  });
});
