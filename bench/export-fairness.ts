/**
 * How long a small list waits while NDJSON exports stream on SQLite.
 *
 *   npm run bench:export-fairness [-- --calls 300000 --exports 1]
 *
 * One process serves the API on a real port over a demo store (bench/data/,
 * shared with the other export benchmarks when the size matches). First the
 * idle latency of `GET /api/v2/calls?limit=20` and `/health/live` (median of
 * 30), then the same requests sent every 100 ms while `--exports` exports of
 * the whole history stream to clients that read as fast as they can. The
 * figure that matters is the ratio of the busy latency to the idle one.
 * Writes bench/export-fairness-results.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueClient } from '../src/admin.js';
import { buildApp } from '../src/api/app.js';
import { formatDateTime } from '../src/domain/time.js';
import { Store } from '../src/store/store.js';
import { BENCH_DIR, log, machine, median, sleep } from './support/deployment.js';
import { prepareDemoStore } from './support/demo-store.js';

const UNTIL_ISO = '2026-11-27T00:00:00Z';
const UNTIL = Date.parse(UNTIL_ISO) / 1000;
const WINDOW = `start_time=${formatDateTime(UNTIL - 90 * 86400)}&end_time=${UNTIL_ISO}`;

async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return performance.now() - started;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;
const round = (ms: number) => Math.round(ms * 10) / 10;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { calls: { type: 'string', default: '300000' }, exports: { type: 'string', default: '1' } },
  });
  const calls = Number(values.calls);
  const exports = Number(values.exports);
  const prepared = await prepareDemoStore({ seed: 1, calls, until: UNTIL, log });
  const store = Store.open(`sqlite:${prepared.path}`);
  const account = (await store.accounts.list())[0]!;
  const { client, clientSecret } = await issueClient(store, account.id, { scopes: 'calls.read' });
  const app = buildApp({ store, config: { logLevel: 'silent', tokenTtlSeconds: 7200, bodyLimit: 1048576, rateLimit: { enabled: false } } });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const tokenResponse = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }),
    });
    const auth = { authorization: `Bearer ${((await tokenResponse.json()) as { access_token: string }).access_token}` };
    const listUrl = `${base}/api/v2/calls?limit=20&${WINDOW}`;
    const liveUrl = `${base}/health/live`;

    const idle = { list: [] as number[], live: [] as number[] };
    for (let i = 0; i < 30; i++) {
      idle.list.push(await timed(listUrl, auth));
      idle.live.push(await timed(liveUrl, {}));
    }

    const busy = { list: [] as number[], live: [] as number[] };
    let running = exports;
    const exportStarted = performance.now();
    const exportSeconds: number[] = [];
    const streams = Array.from({ length: exports }, async () => {
      const response = await fetch(`${base}/api/v2/calls/export?format=ndjson&${WINDOW}`, { headers: auth });
      for await (const _chunk of response.body!) void _chunk;
      exportSeconds.push((performance.now() - exportStarted) / 1000);
      running--;
    });
    await sleep(1000);
    while (running > 0) {
      const [list, live] = await Promise.all([timed(listUrl, auth), timed(liveUrl, {})]);
      if (running > 0) {
        busy.list.push(list);
        busy.live.push(live);
      }
      await sleep(100);
    }
    await Promise.all(streams);

    const summary = (samples: number[]) => ({ samples: samples.length, median_ms: round(median(samples)), p95_ms: round(percentile(samples, 0.95)), max_ms: round(Math.max(...samples)) });
    const results = {
      when: new Date().toISOString(),
      machine: machine(),
      calls,
      exports,
      export_seconds: exportSeconds.map((s) => Math.round(s * 10) / 10),
      idle: { list: summary(idle.list), live: summary(idle.live) },
      during_export: { list: summary(busy.list), live: summary(busy.live) },
      list_median_ratio: Math.round((median(busy.list) / median(idle.list)) * 10) / 10,
    };
    writeFileSync(join(BENCH_DIR, `export-fairness-results${exports > 1 ? `-${exports}` : ''}.json`), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await app.close();
    await store.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
