/**
 * The dashboard in Chromium over a large demo store (SQLite):
 *
 *   npm run build && npm run bench:dashboard [-- --calls 1000000] [--rounds 7]
 *
 * - first page: from the start of navigation to /calls?when=30d until the first
 *   call row is in the document (the page's own clock, performance.now(), read by
 *   a MutationObserver installed before any script runs), session already open;
 * - next page: from scrolling the call list to its end until the first row of the
 *   next keyset page is in the document;
 * - the JavaScript shipped: every .js file of dist/web, and the ones the Calls page
 *   loads, gzip -9 as a server would send them compressed.
 *
 * The store is bench/data/calls-N-seed1.db (built once by createDemo, reused while
 * its sources are unchanged). Figures go to bench/RESULTS.md, in its dashboard section.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { prepareDemoStore } from './support/demo-store.js';
import { BENCH_DIR, CLI, ROOT, log } from './support/deployment.js';

// Code run inside the page: the browser's globals, untyped here.
declare const document: any;
declare const window: any;
declare const MutationObserver: any;

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '7' } },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const CHROMIUM = process.env.SIPSIM_CHROMIUM ?? '/usr/bin/chromium';
const WEB = join(ROOT, 'dist', 'web');

if (!existsSync(join(WEB, 'index.html')) || !existsSync(CLI)) throw new Error('Run `npm run build` first: the benchmark serves dist/ and dist/web/.');
if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium, or set SIPSIM_CHROMIUM.`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const max = (xs: number[]) => Math.max(...xs);
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

function cli(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`sipsim ${args[0]} exited ${code}: ${out}`))));
    child.stdin.end(input);
  });
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const store = await prepareDemoStore({ seed: 1, calls: CALLS, until: today.getTime() / 1000 + 86400 - 1, log });
  const database = `sqlite:${store.path}`;
  const email = `bench-${randomBytes(4).toString('hex')}@bench.sipsim.local`;
  const password = randomBytes(12).toString('hex');
  await cli(['users', 'create', '--database', database, '--account', '1', '--email', email, '--name', 'Bench', '--role', 'admin', '--password-stdin'], `${password}\n`);

  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--database', database], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SIPSIM_CLICK_TO_CALL: 'off' } });
  let output = '';
  server.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  server.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const base = await new Promise<string>((resolve, reject) => {
    const check = setInterval(() => {
      const found = /sipsim is serving \S+ at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (found) {
        clearInterval(check);
        resolve(found[1]!);
      } else if (server.exitCode !== null) {
        clearInterval(check);
        reject(new Error(output));
      }
    }, 50);
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const first: number[] = [];
  const next: number[] = [];
  const nextRequests: number[] = [];
  const breakdown: Array<{ html: number; script: number; session: number; calls: number }> = [];
  let loadedScripts: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const signed = await context.request.post(`${base}/dashboard/api/session`, { data: { email, password } });
    if (!signed.ok()) throw new Error(`sign-in answered ${signed.status()}: ${await signed.text()}`);
    await context.addInitScript(() => {
      const observer = new MutationObserver(() => {
        if (document.querySelector('[data-call-id]')) {
          window.__firstRowAt = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(document, { childList: true, subtree: true });
    });
    for (let round = 0; round <= ROUNDS; round++) {
      const page = await context.newPage();
      await page.goto(`${base}/calls?when=30d`);
      await page.waitForFunction(() => window.__firstRowAt !== undefined, undefined, { timeout: 60_000 });
      const shown = await page.evaluate(() => window.__firstRowAt as number);
      // Where the time went: when each step's answer was in (the page's clock, from navigation start).
      // (A string, so that the bundler's helpers for named functions do not leak into the page.)
      const steps: { html: number; script: number; session: number; calls: number } = await page.evaluate(`(() => {
        const entries = performance.getEntriesByType('resource');
        const end = (match) => entries.find((e) => match(new URL(e.name).pathname))?.responseEnd ?? NaN;
        return {
          html: performance.getEntriesByType('navigation')[0].responseEnd,
          script: end((p) => p.startsWith('/assets/') && p.endsWith('.js')),
          session: end((p) => p === '/dashboard/api/session'),
          calls: end((p) => p === '/api/v2/calls'),
        };
      })()`);
      const scrolled = await page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const scroller = document.querySelector('.scroller');
            // The first row of the second page (pages of 100; row 1 is the header).
            const target = 101;
            const started = performance.now();
            const observer = new MutationObserver(() => {
              if ([...document.querySelectorAll('[data-call-id]')].some((r: any) => Number(r.getAttribute('aria-rowindex')) > target)) {
                observer.disconnect();
                resolve(performance.now() - started);
              }
            });
            observer.observe(scroller, { childList: true, subtree: true });
            scroller.scrollTop = scroller.scrollHeight;
          }),
      );
      // The second page's own request, start to answer, whenever the list asked for it.
      const nextRequest: number = await page.evaluate(`(() => {
        const pages = performance.getEntriesByType('resource').filter((e) => new URL(e.name).searchParams.has('page') && new URL(e.name).pathname === '/api/v2/calls');
        return pages.length ? pages[0].responseEnd - pages[0].startTime : NaN;
      })()`);
      if (round === 0) {
        loadedScripts = await page.evaluate(() =>
          performance
            .getEntriesByType('resource')
            .map((e) => new URL(e.name).pathname)
            .filter((p) => p.endsWith('.js')),
        );
      } else {
        // Round 0 warms the server's caches and the browser's; it is not counted.
        first.push(shown);
        next.push(scrolled);
        breakdown.push(steps);
        nextRequests.push(nextRequest);
      }
      await page.close();
    }
    await context.close();
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }

  const assets = join(WEB, 'assets');
  const files = readdirSync(assets).filter((f) => f.endsWith('.js'));
  const gz = (file: string) => gzipSync(readFileSync(join(assets, file)), { level: 9 }).length;
  const allJs = files.reduce((sum, f) => sum + gz(f), 0);
  const callsJs = loadedScripts.map((p) => p.replace(/^\/assets\//, '')).filter((f) => files.includes(f));
  const callsJsSize = callsJs.reduce((sum, f) => sum + gz(f), 0);

  const section = [
    '<!-- dashboard:start -->',
    `# The dashboard in Chromium on ${CALLS.toLocaleString('en')} calls (SQLite)`,
    '',
    `Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by \`npm run bench:dashboard${CALLS === 1_000_000 ? '' : ` -- --calls ${CALLS}`}\` (bench/dashboard.ts).`,
    `Machine: ${cpus().length} CPUs, load average ${load} at the start; Node ${process.version}; Chromium at ${CHROMIUM}, headless, 1366x768.`,
    `Data: \`createDemo\` seed 1, ${CALLS.toLocaleString('en')} calls over 90 days up to today, ${store.reused ? 'store reused' : `store built in ${store.loadSeconds?.toFixed(0)} s`}. ` +
      'View: /calls?when=30d (the last 30 days in the account zone, pages of 100 calls), signed in beforehand.',
    `${ROUNDS} measured rounds after one warm-up round, each in a fresh tab.`,
    '',
    '| Figure | Median | Worst | Aim |',
    '|---|---:|---:|---|',
    `| Navigation start to first page of calls shown | ${median(first).toFixed(0)} ms | ${max(first).toFixed(0)} ms | 1500 ms: ${median(first) <= 1500 ? 'met' : 'missed'} |`,
    `| Scroll to the end of the first page to the next page shown | ${median(next).toFixed(0)} ms | ${max(next).toFixed(0)} ms | 300 ms: ${median(next) <= 300 ? 'met' : 'missed'} |`,
    `| JavaScript the Calls page loads, gzip -9 | ${kb(callsJsSize)} KB (${callsJs.length} files) | | 250 KB: ${callsJsSize <= 250 * 1024 ? 'met' : 'missed'} |`,
    `| All JavaScript in dist/web, gzip -9 | ${kb(allJs)} KB (${files.length} files) | | 250 KB: ${allJs <= 250 * 1024 ? 'met' : 'missed'} |`,
    '',
    `First page, each round (ms): ${first.map((x) => x.toFixed(0)).join(', ')}. Next page: ${next.map((x) => x.toFixed(0)).join(', ')}.`,
    '',
    'Where the first page\'s time goes (medians, ms from navigation start, when each answer was in): ' +
      (['html', 'script', 'session', 'calls'] as const).map((k) => `${k} ${median(breakdown.map((b) => b[k])).toFixed(0)}`).join(', ') +
      `, first row shown ${median(first).toFixed(0)}. The list asks for the next page as soon as the first is in ` +
      `(it keeps one page ahead of the view); that request itself took ${median(nextRequests).toFixed(0)} ms (median, start to answer).`,
    '<!-- dashboard:end -->',
  ].join('\n');
  const resultsPath = join(BENCH_DIR, 'RESULTS.md');
  const results = readFileSync(resultsPath, 'utf8');
  const marked = /<!-- dashboard:start -->[\s\S]*<!-- dashboard:end -->/;
  writeFileSync(resultsPath, marked.test(results) ? results.replace(marked, section) : `${results.trimEnd()}\n\n${section}\n`);
  console.log(section);
}

await main();
