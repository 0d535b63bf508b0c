import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { serveCli } from '../helpers/serve-cli.js';
import { ADMIN, BROWSER_READY, MEMBER, accessibilityProblems, launchBrowser, newPage, screenshot, signIn, startDashboard, type Dashboard } from '../helpers/dashboard-browser.js';

// Code run inside the page: the browser's globals, untyped here (the tests compile without the DOM library).
declare const document: any;

// A browser, a server and a database per suite on a shared machine: steps wait on events, never on a clock, but may be slow.
vi.setConfig({ testTimeout: 120_000 });

describeEngines("the call page's transcript, summary and rating", { skipIf: !BROWSER_READY }, (engine) => {
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    [dashboard, browser] = await Promise.all([
      // The sandbox engine, quick: the page still meets the pending state, for a moment.
      startDashboard(engine, { calls: 300, env: { SIPSIM_AI_ENGINE: 'sandbox', SIPSIM_AI_SANDBOX_DELAY_MS: '50' } }),
      launchBrowser(),
    ]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
  });

  const since = () => new Date(Date.now() - 30 * 86_400_000).toISOString();
  const calls = async (): Promise<any[]> => (await dashboard.api(`/api/v2/calls?start_time=${since()}&limit=300`)).body.data;

  it('asks for a transcript, shows its lines in order with who said them, then the summary and the rating as the API has them', async () => {
    const call = (await calls()).find((c) => c.answered && c.play_record_link && c.duration_sec > 20);
    expect(call).toBeTruthy();
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, `/calls/${call.id}`);
    await page.getByRole('heading', { name: new RegExp(`Call ${call.id}`) }).waitFor();
    const before = await dashboard.api(`/api/v2/calls/${call.id}/transcription`);
    if (before.status === 404) {
      await page.getByRole('button', { name: 'Transcribe', exact: true }).click();
    }
    await page.locator('.transcript .line').first().waitFor();

    const transcript = await dashboard.api(`/api/v2/calls/${call.id}/transcription`);
    expect(transcript.status).toBe(200);
    expect(transcript.body.data.speech_state).toBe('speech_recognized');
    const segments = transcript.body.data.payload as Array<{ channel: 0 | 1; start: number; text: string }>;
    expect(segments.length).toBeGreaterThan(1);
    expect(await page.locator('.transcript .line .said').allTextContents()).toEqual(segments.map((s) => s.text));
    // Channel 0 is the caller, channel 1 the receiver, each named.
    const who = await page.locator('.transcript .line .who').allTextContents();
    const callerName = call.direction === 'inbound' ? call.caller_name || call.caller_number : null;
    segments.forEach((s, i) => {
      expect(who[i]).toBeTruthy();
      if (callerName && s.channel === 0) expect(who[i]).toBe(callerName);
      if (callerName && s.channel === 1) expect(who[i]).not.toBe(callerName);
    });
    const times = await page.locator('.transcript .line .when').allTextContents();
    expect(times).toEqual(segments.map((s) => `${Math.floor(s.start / 60)}:${String(Math.floor(s.start % 60)).padStart(2, '0')}`));

    // Summary and rating follow the transcript: the page shows them once they are done.
    await page.locator('.summary-text').waitFor();
    await page.locator('.overall-score').waitFor();
    const summary = await dashboard.api(`/api/v2/calls/${call.id}/summary`);
    expect(summary.body.data.status).toBe('done');
    expect(await page.locator('.summary-text').textContent()).toBe(summary.body.data.summary);
    const rating = await dashboard.api(`/api/v2/calls/${call.id}/rating`);
    expect(rating.body.data.status).toBe('done');
    expect(await page.locator('.overall-score').textContent()).toBe(String(rating.body.data.overall_score));
    expect(await page.locator('.criteria tbody tr td:first-child').allTextContents()).toEqual(rating.body.data.criteria_scores.map((c: any) => c.name));
    expect(await page.locator('.criteria tbody tr td.num').allTextContents()).toEqual(rating.body.data.criteria_scores.map((c: any) => String(c.score)));
    expect(await page.locator('.highlights li').allTextContents()).toEqual(rating.body.data.highlights);
    expect(await page.locator('.improvements li').allTextContents()).toEqual(rating.body.data.improvements);

    // The line being spoken is marked as the player moves (its time stood in for: the demo's recordings are links, not audio).
    const target = segments.length - 1;
    await page.evaluate((at: number) => {
      const audio = document.querySelector('audio');
      Object.defineProperty(audio, 'currentTime', { configurable: true, get: () => at, set: () => undefined });
      audio.dispatchEvent(new Event('timeupdate'));
    }, segments[target]!.start + 0.01);
    await page.locator(`.transcript .line.speaking .said`).waitFor();
    expect(await page.locator('.transcript .line.speaking .said').textContent()).toBe(segments[target]!.text);
    expect(await page.locator('.transcript .line.speaking').count()).toBe(1);
    // Clicking a line seeks the player to its start.
    await page.evaluate(() => {
      const audio = document.querySelector('audio');
      let at = 0;
      Object.defineProperty(audio, 'currentTime', { configurable: true, get: () => at, set: (v: number) => ((at = v), audio.dispatchEvent(new Event('timeupdate'))) });
    });
    await page.locator('.transcript .line-seek').nth(1).click();
    expect(await page.evaluate(() => document.querySelector('audio').currentTime)).toBe(segments[1]!.start);
    await page.locator('.transcript .line.speaking .said', { hasText: segments[1]!.text }).waitFor();

    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, `call-ai-${engine}`);
    await context.close();
  });

  it('an unanswered call says there is no recording to transcribe', async () => {
    const call = (await calls()).find((c) => !c.answered);
    expect(call).toBeTruthy();
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, ADMIN, `/calls/${call.id}`);
    await page.locator('.transcript-panel').getByText(/No recording to transcribe/).waitFor();
    expect(await page.getByRole('button', { name: 'Transcribe', exact: true }).count()).toBe(0);
    expect(await accessibilityProblems(page)).toEqual([]);
    await context.close();
  });

  it('a member reads transcripts but is offered no Transcribe button (the role has no calls.transcription.write)', async () => {
    const answered = (await calls()).filter((c) => c.answered && c.play_record_link);
    const untouched = answered[answered.length - 1];
    expect((await dashboard.api(`/api/v2/calls/${untouched.id}/transcription`)).status).toBe(404);
    const { context, page } = await newPage(browser);
    await signIn(page, dashboard.url, MEMBER, `/calls/${untouched.id}`);
    await page.locator('.transcript-panel').getByText(/no transcript yet/).waitFor();
    expect(await page.getByRole('button', { name: 'Transcribe', exact: true }).count()).toBe(0);
    await context.close();
  });
  it('a server without a transcription engine says so when asked for a transcript', async () => {
    // A second server over the same store, with the engine turned off.
    const off = await serveCli(dashboard.database.url, { SIPSIM_AI_ENGINE: 'off' });
    try {
      const answered = (await calls()).filter((c) => c.answered && c.play_record_link);
      const untouched = answered[answered.length - 2];
      const { context, page } = await newPage(browser);
      await signIn(page, off.url, ADMIN, `/calls/${untouched.id}`);
      await page.getByRole('button', { name: 'Transcribe', exact: true }).click();
      await page.locator('.transcript-panel').getByText(/Transcription is not configured/).waitFor();
      expect((await dashboard.api(`/api/v2/calls/${untouched.id}/transcription`)).status).toBe(404);
      await context.close();
    } finally {
      await off.stop();
    }
  });
});
