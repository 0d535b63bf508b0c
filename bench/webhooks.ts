/**
 * Webhook delivery, measured against a real receiver on a local port, on each
 * engine, with `sipsim serve` from the built CLI:
 *
 *   throughput  a backlog of --backlog webhooks is queued in the outbox while no
 *               server runs; then the server starts and the time until the
 *               receiver has every one gives deliveries/s. The floor: the same
 *               signed bodies POSTed to the same receiver by a plain loop in this
 *               process, with as many requests in flight as the dispatcher keeps
 *               (16), so the ratio is what the outbox (claims, records) costs.
 *   delay       live events POSTed to /api/v2/pbx/events at --rate per second for
 *               --seconds; the delay of each is from just before its POST to its
 *               arrival at the receiver (p50, p99), beside the POST's own answer
 *               time, which is the floor a delivery made after the write can meet.
 *
 *   npm run bench:webhooks [-- --engines sqlite,postgres --backlog 20000 --rate 200 --seconds 15]
 *
 * Environment: SIPSIM_BENCH_DATABASE_URL (admin connection for PostgreSQL).
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { issueClient } from '../src/admin.js';
import { Store } from '../src/store/store.js';
import type { WebhookMessage } from '../src/domain/webhook-messages.js';
import {
  Cleanup,
  checkBuild,
  fixed,
  freshDatabase,
  log,
  machine,
  percentile,
  sleep,
  startServer,
  tempDir,
  writeJson,
  writeSection,
} from './support/deployment.js';

const { values: args } = parseArgs({
  options: {
    engines: { type: 'string', default: 'sqlite,postgres' },
    backlog: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '15' },
  },
});
const ENGINES = args.engines!.split(',') as Array<'sqlite' | 'postgres'>;
const BACKLOG = Number(args.backlog);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const IN_FLIGHT = 16;

/** A receiver that answers 204 at once and notes when each delivery arrived, by its X-Webhook-Id. */
async function startReceiver(secret: () => string) {
  const arrivals = new Map<string, number>();
  const byBody = new Map<string, number>();
  let requests = 0;
  let badSignatures = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const at = performance.now();
      requests++;
      const raw = Buffer.concat(chunks).toString('utf8');
      const expected = createHmac('sha256', secret()).update(`${request.headers['x-webhook-timestamp']}.${raw}`).digest('hex');
      if (expected !== request.headers['x-webhook-signature']) badSignatures++;
      const id = String(request.headers['x-webhook-id'] ?? '');
      if (!arrivals.has(id)) arrivals.set(id, at);
      const body = JSON.parse(raw) as { event: string; pbx_id: string };
      const key = `${body.event}:${body.pbx_id}`;
      if (!byBody.has(key)) byBody.set(key, at);
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    arrivals,
    byBody,
    get requests() {
      return requests;
    },
    get badSignatures() {
      return badSignatures;
    },
    reset() {
      arrivals.clear();
      byBody.clear();
      requests = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const message = (n: number): WebhookMessage => ({
  event: 'incoming_call_end',
  pbxId: `backlog-${n}`,
  body: JSON.stringify({
    event: 'incoming_call_end',
    caller: `+3361${String(n % 10_000_000).padStart(7, '0')}`,
    receiver: '+33198765432',
    time: '2025-06-02T08:01:05Z',
    pbx_id: `backlog-${n}`,
    duration: 60,
    audio_path: null,
    status: 'ANSWER',
  }),
});

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

interface Result {
  engine: string;
  backlog: number;
  deliveriesPerSecond: number;
  floorPerSecond: number;
  ratio: number;
  liveEvents: number;
  delayP50: number;
  delayP99: number;
  postP50: number;
  postP99: number;
  badSignatures: number;
  machine?: Record<string, unknown>;
}

async function benchEngine(engine: 'sqlite' | 'postgres', cleanup: Cleanup, dir: string): Promise<Result> {
  const url = engine === 'sqlite' ? `sqlite:${join(dir, 'webhooks.db')}` : (await freshDatabase(cleanup, 'sipsim_webhooks')).url;
  let secret = '';
  const receiver = await startReceiver(() => secret);
  cleanup.add('close the receiver', () => receiver.close());
  const store = Store.open(url);
  await store.migrate();
  const accountId = (await store.accounts.create({ name: 'Webhook bench' })).id;
  await store.directory.createPhone(accountId, { number: '+33198765432', name: 'Sales', internalNumber: 101 });
  secret = (await store.webhooks.setUrl(accountId, receiver.url)).secret;
  const { client, clientSecret } = await issueClient(store, accountId, { scopes: 'calls.write' });

  // ---- the floor: the same signed POSTs from a plain loop ----
  const floorCount = Math.min(BACKLOG, 10_000);
  let next = 0;
  const floorStart = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < floorCount) {
        const m = message(next++);
        const timestamp = Math.floor(Date.now() / 1000);
        const response = await fetch(receiver.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-webhook-timestamp': String(timestamp),
            'x-webhook-signature': createHmac('sha256', secret).update(`${timestamp}.${m.body}`).digest('hex'),
            'x-webhook-id': `floor-${next}`,
          },
          body: m.body,
        });
        await response.arrayBuffer();
      }
    }),
  );
  const floorPerSecond = floorCount / ((performance.now() - floorStart) / 1000);
  log(`${engine}: floor ${Math.round(floorPerSecond)} POSTs/s`);
  receiver.reset();

  // ---- throughput: drain a backlog ----
  for (let i = 0; i < BACKLOG; i += 5000) {
    await store.webhooks.queue(accountId, Array.from({ length: Math.min(5000, BACKLOG - i) }, (_, j) => message(i + j)));
  }
  log(`${engine}: ${BACKLOG} webhooks queued; starting the server`);
  const server = await startServer(cleanup, {
    label: `webhooks-${engine}`,
    databaseUrl: url,
    workers: 1,
    env: { SIPSIM_RATE_LIMIT: 'off', SIPSIM_WEBHOOK_CONCURRENCY: String(IN_FLIGHT) },
    logLevel: 'warn',
    dir,
  });
  // Timed from the first arrival: the server's own start is not delivery.
  await until(() => receiver.arrivals.size > 0, 30_000, 'the first delivery');
  const first = Math.min(...receiver.arrivals.values());
  await until(() => receiver.arrivals.size >= BACKLOG, 600_000, 'the backlog to drain');
  const last = Math.max(...receiver.arrivals.values());
  const deliveriesPerSecond = (BACKLOG - 1) / ((last - first) / 1000);
  log(`${engine}: drained at ${Math.round(deliveriesPerSecond)}/s (${receiver.requests} requests for ${BACKLOG} deliveries)`);
  receiver.reset();

  // ---- delay: live events at a steady rate ----
  const authorization = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
  const total = RATE * SECONDS;
  const sentAt = new Map<string, number>();
  const postTimes: number[] = [];
  const posts: Promise<void>[] = [];
  const started = performance.now();
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const pbxId = `live-${n}`;
    const body = JSON.stringify({ event: 'incoming_call_start', pbx_id: pbxId, caller: '+33612345678', receiver: '+33198765432', time: 1748851200 + n });
    const at = performance.now();
    sentAt.set(`incoming_call_start:${pbxId}`, at);
    posts.push(
      fetch(`${server.base}/api/v2/pbx/events`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body }).then(async (r) => {
        await r.arrayBuffer();
        if (r.status !== 202) throw new Error(`POST /api/v2/pbx/events answered ${r.status}`);
        postTimes.push(performance.now() - at);
      }),
    );
  }
  await Promise.all(posts);
  await until(() => receiver.byBody.size >= total, 60_000, 'every live event to arrive');
  const delays = [...sentAt].map(([key, at]) => receiver.byBody.get(key)! - at).sort((a, b) => a - b);
  postTimes.sort((a, b) => a - b);
  await server.stop();
  await store.close();
  const result: Result = {
    engine,
    backlog: BACKLOG,
    deliveriesPerSecond,
    floorPerSecond,
    ratio: floorPerSecond / deliveriesPerSecond,
    liveEvents: total,
    delayP50: percentile(delays, 50),
    delayP99: percentile(delays, 99),
    postP50: percentile(postTimes, 50),
    postP99: percentile(postTimes, 99),
    badSignatures: receiver.badSignatures,
  };
  log(`${engine}: live delay p50 ${fixed(result.delayP50)} ms, p99 ${fixed(result.delayP99)} ms; POST p50 ${fixed(result.postP50)} ms`);
  return result;
}

function markdown(results: Result[]): string {
  const info = results[0]?.machine ?? {};
  return [
    '## Webhook delivery',
    '',
    `\`npm run bench:webhooks\`: \`sipsim serve\` (one process, 16 deliveries in flight) posting to a receiver on a local port that answers 204 at once. Machine: ${JSON.stringify(info)}.`,
    '',
    '| Engine | Backlog drained (deliveries/s) | Floor: plain signed POSTs (/s) | Floor / outbox | Live events | Event → delivery p50 | p99 | POST of the event p50 | p99 | Bad signatures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.engine} | ${Math.round(r.deliveriesPerSecond).toLocaleString('en')} (${r.backlog.toLocaleString('en')}) | ${Math.round(r.floorPerSecond).toLocaleString('en')} | ${fixed(r.ratio, 2)}x | ${r.liveEvents.toLocaleString('en')} at ${RATE}/s | ${fixed(r.delayP50)} ms | ${fixed(r.delayP99)} ms | ${fixed(r.postP50)} ms | ${fixed(r.postP99)} ms | ${r.badSignatures} |`,
    ),
    '',
    'The floor is the same bodies, signed, POSTed by a plain loop with 16 requests in flight: what the receiver and HTTP take on this machine, without the outbox. The delay of a live event runs from just before its POST to /api/v2/pbx/events until the receiver has it; the POST\'s own answer time is beside it, since a delivery can only start once the event is stored.',
  ].join('\n');
}

async function main(): Promise<void> {
  checkBuild();
  const cleanup = new Cleanup();
  try {
    const dir = tempDir(cleanup, 'sipsim-bench-webhooks', () => false);
    const results: Result[] = [];
    for (const engine of ENGINES) results.push(await benchEngine(engine, cleanup, dir));
    const info = machine();
    for (const r of results) r.machine = info;
    writeSection('webhooks', markdown(results));
    writeJson('webhooks', results);
  } finally {
    await cleanup.run();
  }
}

main().catch((error) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
