import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseWebhookEvent, WebhookVerificationError, type WebhookEvent } from '../../packages/sdk/src/index.js';
import { Store } from '../../src/store/store.js';
import { WEBHOOK_EVENTS } from '../../src/domain/webhook-events.js';
import { messageOfPbxEvent } from '../../src/domain/webhook-messages.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, run, type RunResult } from '../helpers/programs.js';

/**
 * `sipsim webhooks`, the built CLI against a real store and a real receiver:
 * an operator sets the URL, reads and rotates the secret, sends the test
 * event to an endpoint that checks its signature with the SDK, and looks
 * after the outbox (listing, redelivering, and `sipsim serve` sending again).
 */

interface Received {
  raw: Buffer;
  headers: IncomingHttpHeaders;
  event: WebhookEvent | null;
  reason: string | null;
}

/** A webhook endpoint as the guide describes it: raw body, signature checked with the SDK, 401 when it fails. */
async function startReceiver() {
  const state = { secret: 'unset', received: [] as Received[] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      parseWebhookEvent(raw, req.headers, state.secret).then(
        (event) => {
          state.received.push({ raw, headers: req.headers, event, reason: null });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
        },
        (error: unknown) => {
          const reason = error instanceof WebhookVerificationError ? error.reason : String(error);
          state.received.push({ raw, headers: req.headers, event: null, reason });
          res.writeHead(401, { 'content-type': 'text/plain' }).end(`signature refused: ${reason}`);
        },
      );
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  return { state, url: `http://127.0.0.1:${port}/hooks/sipsim`, close: () => new Promise<void>((done) => server.close(() => done())) };
}

/** A loopback port with nothing listening: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describeEngines('sipsim webhooks', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  /** The built CLI with this test's database; `env` adds to the environment. */
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run(process.execPath, [CLI, 'webhooks', ...args, '--database', database.url], { env, timeoutMs: 60000 });
  const json = async <T = any>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> => {
    const result = await cli([...args, '--json'], env);
    expect(result.code, `sipsim webhooks ${args.join(' ')}:\n${result.stderr}${result.stdout}`).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const newAccount = async () => ['--account', String((await store.accounts.create({ name: 'Dupont & Associés' })).id)];

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = Store.open(database.url);
    await store.migrate();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await store?.close();
    await database?.drop();
  });

  it('set-url refuses what it must not post to, saying why, and keeps nothing', async () => {
    const acc = await newAccount();
    const refusals: Array<[string, RegExp]> = [
      ['http://hooks.example.com/sipsim', /must be https:\/\/.*SIPSIM_WEBHOOK_ALLOW_HTTP.*hooks\.example\.com[\s\S]*SIPSIM_WEBHOOK_ALLOW_HTTP=hooks\.example\.com/],
      ['ftp://hooks.example.com/sipsim', /must be https:\/\/ \(got ftp:\/\/\)/],
      ['not a url', /'not a url' is not a URL/],
      ['https://user:password@hooks.example.com/', /credentials/],
      ['http://10.0.0.5/hook', /SIPSIM_WEBHOOK_ALLOW_HTTP=10\.0\.0\.5/],
    ];
    for (const [url, message] of refusals) {
      const result = await cli(['set-url', url, ...acc]);
      expect(result.code, url).toBe(1);
      expect(result.stderr, url).toMatch(/^sipsim: Cannot use this webhook URL: /);
      expect(result.stderr, url).toMatch(message);
      expect(result.stdout).toBe('');
    }
    expect(await json(['show', ...acc])).toEqual({ account_id: Number(acc[1]), url: null, secret: null, events: [] });

    // The operator may allow plain http to named hosts, such as a service on a private network.
    const allowed = await json(['set-url', 'http://10.0.0.5/hook', ...acc], { SIPSIM_WEBHOOK_ALLOW_HTTP: 'hooks.internal, 10.0.0.5' });
    expect(allowed.url).toBe('http://10.0.0.5/hook');

    const missing = await cli(['set-url', 'https://hooks.example.com/', '--account', '999999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('sipsim: No account 999999; see: sipsim accounts list\n');
  }, 120000);

  it('set-url takes https and loopback http, and --events picks the events', async () => {
    const acc = await newAccount();
    const first = await cli(['set-url', 'https://Hooks.Example.com/sipsim?tenant=42', ...acc]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('Webhook URL of account');
    expect(first.stdout).toContain(': https://hooks.example.com/sipsim?tenant=42\n');
    expect(first.stdout).toContain(`Events: all ${WEBHOOK_EVENTS.length} events`);
    expect(first.stdout).toContain(`sipsim webhooks show ${acc.join(' ')} --json`);

    // Given in any order, kept in SIPSIM's; set again without --events, kept as they are.
    const loopback = await json(['set-url', 'http://127.0.0.1:8080/hook', '--events', 'tags, incoming_call_end,tags', ...acc]);
    expect(loopback).toEqual({ account_id: Number(acc[1]), url: 'http://127.0.0.1:8080/hook', events: ['incoming_call_end', 'tags'] });
    expect((await json(['set-url', 'http://localhost:8080/hook', ...acc])).events).toEqual(['incoming_call_end', 'tags']);
    const text = await cli(['set-url', 'http://localhost:8080/hook', ...acc]);
    expect(text.stdout).toContain('Events: incoming_call_end, tags (2 of 14)\n');
    expect((await json(['set-url', 'https://hooks.example.com/a', '--events', 'none', ...acc])).events).toEqual([]);
    expect((await json(['set-url', 'https://hooks.example.com/a', '--events', 'all', ...acc])).events).toEqual([...WEBHOOK_EVENTS]);

    const bad: Array<[string, string]> = [
      ['incoming_call_end,call_exploded', 'unknown event call_exploded'],
      ['foo,bar', 'unknown events foo, bar'],
      ['test', 'test is not subscribed to'],
      ['all,tags', 'all and none stand alone'],
      [',', '--events is empty'],
    ];
    for (const [events, message] of bad) {
      const result = await cli(['set-url', 'https://hooks.example.com/b', '--events', events, ...acc]);
      expect(result.code, events).toBe(1);
      expect(result.stderr, events).toContain(message);
    }
    // Nothing of the refused commands was kept.
    expect(await json(['show', ...acc])).toMatchObject({ url: 'https://hooks.example.com/a', events: [...WEBHOOK_EVENTS] });

    // unset-url turns delivery off and keeps the rest for a later set-url.
    const before = await json(['show', ...acc]);
    expect(await json(['unset-url', ...acc])).toEqual({ account_id: Number(acc[1]), url: null, previous_url: 'https://hooks.example.com/a' });
    expect(await json(['show', ...acc])).toEqual({ ...before, url: null });
    expect((await cli(['unset-url', ...acc])).stdout).toMatch(/has no webhook URL: nothing was being delivered/);
  }, 120000);

  it('show masks the secret in text and gives it in full with --json; rotate-secret replaces it', async () => {
    const acc = await newAccount();
    const none = await cli(['show', ...acc]);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe(`Account ${acc[1]} has no webhook URL; set one with: sipsim webhooks set-url URL ${acc.join(' ')}\n`);

    await json(['set-url', 'https://hooks.example.com/x', '--events', 'incoming_call_start,outgoing_call_end', ...acc]);
    const shown = await json(['show', ...acc]);
    expect(Object.keys(shown)).toEqual(['account_id', 'url', 'secret', 'events']);
    expect(shown).toMatchObject({ url: 'https://hooks.example.com/x', events: ['incoming_call_start', 'outgoing_call_end'] });
    expect(shown.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);

    const text = await cli(['show', ...acc]);
    expect(text.code).toBe(0);
    expect(text.stdout).not.toContain(shown.secret);
    expect(text.stdout).not.toContain(shown.secret.slice(6, -4));
    expect(text.stdout).toContain(`Secret:     whsec_************${shown.secret.slice(-4)}`);
    expect(text.stdout).toContain('URL:        https://hooks.example.com/x');
    expect(text.stdout).toContain('Deliveries: 0 pending, 0 failed');

    const rotated = await json(['rotate-secret', ...acc]);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(shown.secret);
    expect((await json(['show', ...acc])).secret).toBe(rotated.secret);
    const again = await cli(['rotate-secret', ...acc]);
    expect(again.code).toBe(0);
    const printed = /secret of account \d+: (whsec_\S+)/.exec(again.stdout)?.[1];
    expect(printed).toBeDefined();
    expect(printed).not.toBe(rotated.secret);
    expect((await json(['show', ...acc])).secret).toBe(printed);
  }, 120000);

  it('test posts a signed test event that the SDK verifies, and records how it went', async () => {
    const acc = await newAccount();
    const noUrl = await cli(['test', ...acc]);
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toContain('has no webhook URL; set one with: sipsim webhooks set-url URL');

    await json(['set-url', receiver.url, ...acc]);
    receiver.state.secret = (await json(['show', ...acc])).secret;
    receiver.state.received.length = 0;
    const sent = await cli(['test', ...acc]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(new RegExp(`^Success \\(HTTP 200\\)\\n  to ${receiver.url} \\(delivery \\d+\\)\\n$`));
    expect(receiver.state.received).toHaveLength(1);
    const got = receiver.state.received[0]!;
    expect(got.reason).toBeNull();
    expect(got.event).toMatchObject({ event: 'test', pbx_id: 'test_000000', message: expect.stringContaining('test webhook') });
    expect(got.headers['content-type']).toBe('application/json');

    const [row] = await json(['deliveries', ...acc]);
    expect(row).toMatchObject({ event: 'test', pbx_id: 'test_000000', status: 'delivered', attempts: 1, last_status: 200, last_error: null, next_attempt_at: null });
    expect(row.body).toBe(got.raw.toString('utf8'));
    expect(Date.parse(row.delivered_at)).toBeGreaterThan(Date.now() - 60000);
    expect(sent.stdout).toContain(`(delivery ${row.id})`);
    // Like every delivery, the test carries its id.
    expect(got.headers['x-webhook-id']).toBe(String(row.id));

    // After a rotation the receiver still holds the old secret: the endpoint refuses, and the test says so.
    await json(['rotate-secret', ...acc]);
    const refused = await cli(['test', ...acc]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^sipsim: Error \(HTTP 401\): the endpoint answered HTTP 401: signature refused: bad_signature\n/);
    expect(refused.stderr).toContain("check the endpoint's logs");
    expect(receiver.state.received[1]).toMatchObject({ event: null, reason: 'bad_signature' });
    const [failed] = await json(['deliveries', ...acc]);
    expect(failed).toMatchObject({ event: 'test', status: 'failed', attempts: 1, last_status: 401, last_error: 'HTTP 401: signature refused: bad_signature' });

    // With the new secret the same endpoint accepts it again.
    receiver.state.secret = (await json(['show', ...acc])).secret;
    const fixed = await json(['test', ...acc]);
    expect(fixed).toMatchObject({ ok: true, result: 'success', url: receiver.url, status: 200, error: null });
    expect(receiver.state.received[2]!.reason).toBeNull();
  }, 120000);

  it('test against a closed port fails with exit 1 and a failed delivery carrying the error', async () => {
    const acc = await newAccount();
    const url = `http://127.0.0.1:${await closedPort()}/hook`;
    await json(['set-url', url, ...acc]);
    const result = await cli(['test', ...acc]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^sipsim: Connection failed: ECONNREFUSED/);
    expect(result.stderr).toContain(`to ${url} (delivery `);
    expect(result.stderr).toContain('check that the URL is reachable');

    const asJson = await cli(['test', ...acc, '--json']);
    expect(asJson.code).toBe(1);
    const outcome = JSON.parse(asJson.stdout);
    expect(outcome).toMatchObject({ ok: false, result: 'connection_failed', url, status: null, error: expect.stringMatching(/^ECONNREFUSED/) });

    const rows = await json(['deliveries', ...acc, '--status', 'failed']);
    expect(rows).toHaveLength(2);
    expect(rows[0].id).toBe(outcome.delivery_id);
    for (const row of rows) {
      expect(row).toMatchObject({ event: 'test', status: 'failed', attempts: 1, last_status: null, delivered_at: null });
      expect(row.last_error).toMatch(/^ECONNREFUSED/);
    }
    const table = await cli(['deliveries', ...acc]);
    expect(table.stdout).toMatch(/^ID\s+EVENT\s+PBX_ID\s+STATUS\s+ATTEMPTS\s+CREATED\s+LAST_ATTEMPT\s+LAST_RESULT\n/);
    expect(table.stdout).toMatch(new RegExp(`\\n${rows[1].id}\\s+test\\s+test_000000\\s+failed\\s+1\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s+\\S+Z\\s+ECONNREFUSED`));

    // A short timeout and a receiver that never answers: reported as no answer.
    const silent = createServer(() => {});
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    try {
      await json(['set-url', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, ...acc]);
      const slow = await cli(['test', ...acc], { SIPSIM_WEBHOOK_TIMEOUT_MS: '300' });
      expect(slow.code).toBe(1);
      expect(slow.stderr).toMatch(/^sipsim: Connection failed: no answer within 0.3 s/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((done) => silent.close(() => done()));
    }
  }, 120000);

  it('deliveries filters by status and event, pages with --before, and checks its options', async () => {
    const acc = await newAccount();
    const accountId = Number(acc[1]);
    await json(['set-url', `http://127.0.0.1:${await closedPort()}/hook`, ...acc]);
    // Pending rows as the server queues them (nothing serves here, so they stay pending), then a failed test.
    const call = (event: 'incoming_call_start' | 'incoming_call_end', pbx: string) =>
      messageOfPbxEvent({ event, pbx_id: pbx, caller: '+33612345678', receiver: '+33198765432', time: 1_736_937_000, duration: 30, sip_code: 200 });
    await store.webhooks.queue(accountId, [call('incoming_call_start', 'c1'), call('incoming_call_end', 'c1'), call('incoming_call_start', 'c2')]);
    expect((await cli(['test', ...acc])).code).toBe(1);

    const all = await json(['deliveries', ...acc]);
    expect(all.map((d: any) => [d.event, d.pbx_id, d.status])).toEqual([
      ['test', 'test_000000', 'failed'],
      ['incoming_call_start', 'c2', 'pending'],
      ['incoming_call_end', 'c1', 'pending'],
      ['incoming_call_start', 'c1', 'pending'],
    ]);
    expect(JSON.parse(all[2].body)).toMatchObject({ event: 'incoming_call_end', pbx_id: 'c1', status: 'ANSWER', duration: 30 });
    expect(all[2]).toMatchObject({ attempts: 0, last_attempt_at: null, last_error: null });
    expect(Date.parse(all[2].next_attempt_at)).toBeGreaterThan(0);
    const ids = all.map((d: any) => d.id as number);

    expect((await json(['deliveries', ...acc, '--status', 'pending'])).map((d: any) => d.id)).toEqual(ids.slice(1));
    expect((await json(['deliveries', ...acc, '--status', 'failed'])).map((d: any) => d.id)).toEqual([ids[0]]);
    expect(await json(['deliveries', ...acc, '--status', 'delivered'])).toEqual([]);
    expect((await json(['deliveries', ...acc, '--event', 'incoming_call_start'])).map((d: any) => d.id)).toEqual([ids[1], ids[3]]);
    expect((await json(['deliveries', ...acc, '--event', 'incoming_call_start', '--status', 'failed']))).toEqual([]);
    expect((await json(['deliveries', ...acc, '--limit', '2'])).map((d: any) => d.id)).toEqual(ids.slice(0, 2));
    expect((await json(['deliveries', ...acc, '--limit', '2', '--before', String(ids[1])])).map((d: any) => d.id)).toEqual(ids.slice(2, 4));
    const page = await cli(['deliveries', ...acc, '--limit', '2']);
    expect(page.stdout.trimEnd().split('\n')).toHaveLength(4);
    expect(page.stdout).toContain(`Older ones: --before ${ids[1]}`);
    // The last page points nowhere further.
    const last = await cli(['deliveries', ...acc, '--limit', '2', '--before', String(ids[1])]);
    expect(last.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(last.stdout).not.toContain('Older ones');
    expect((await cli(['deliveries', ...acc, '--status', 'delivered'])).stdout).toBe('No deliveries\n');

    // Another account's deliveries are not listed.
    expect(await json(['deliveries', ...(await newAccount())])).toEqual([]);

    const refused: Array<[string[], RegExp]> = [
      [['--status', 'lost'], /argument 'lost' is invalid.*pending, delivered, failed/],
      [['--event', 'call_exploded'], /sipsim: --event: unknown event call_exploded/],
      [['--limit', '0'], /--limit must be a positive integer/],
      [['--limit', '1001'], /--limit must be at most 1000/],
      [['--before', 'x'], /--before must be a positive integer/],
    ];
    for (const [args, message] of refused) {
      const result = await cli(['deliveries', ...acc, ...args]);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
  }, 120000);

  it('redeliver queues failed deliveries again, and a running sipsim serve sends them', async () => {
    const acc = await newAccount();
    const accountId = Number(acc[1]);
    await json(['set-url', `http://127.0.0.1:${await closedPort()}/hook`, ...acc]);
    for (let i = 0; i < 3; i++) expect((await cli(['test', ...acc])).code).toBe(1);
    const failed = (await json(['deliveries', ...acc])).map((d: any) => d.id as number).reverse();
    expect(failed).toHaveLength(3);

    const first = await json(['redeliver', String(failed[0]), ...acc]);
    expect(first).toEqual({ account_id: accountId, queued: [failed[0]], already_pending: [] });
    const row = (await json(['deliveries', ...acc, '--status', 'pending']))[0];
    expect(row).toMatchObject({ id: failed[0], status: 'pending', attempts: 0 });
    expect(Math.abs(Date.parse(row.next_attempt_at) - Date.now())).toBeLessThan(60000);
    // Queued already: left alone, and said so.
    const twice = await cli(['redeliver', `${failed[0]},${failed[1]}`, ...acc]);
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stdout).toContain(`Queued again: ${failed[1]}\n`);
    expect(twice.stdout).toContain(`Already pending, left as they are: ${failed[0]}\n`);
    expect(twice.stdout).toContain('sipsim serve');

    const refused: Array<[string[], string]> = [
      [['999999'], `No delivery 999999 in account ${accountId}`],
      [[], 'Give the delivery ids to redeliver, or --failed'],
      [['--failed', String(failed[2])], 'not both'],
      [['abc'], "Not a delivery id: 'abc'"],
    ];
    for (const [args, message] of refused) {
      const result = await cli(['redeliver', ...args, ...acc]);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
    // A delivery of another account is not this one's to queue.
    const other = await newAccount();
    await json(['set-url', 'https://hooks.example.com/', ...other]);
    expect((await cli(['redeliver', String(failed[2]), ...other])).stderr).toContain(`No delivery ${failed[2]} in account`);
    expect((await json(['deliveries', ...acc, '--status', 'failed'])).map((d: any) => d.id)).toEqual([failed[2]]);

    expect(await json(['redeliver', '--failed', ...acc])).toEqual({ account_id: accountId, queued: [failed[2]], already_pending: [] });
    expect((await cli(['redeliver', '--failed', ...acc])).stdout).toBe('No failed deliveries to redeliver\n');
    expect((await json(['deliveries', ...acc, '--status', 'pending'])).map((d: any) => d.id).sort()).toEqual([...failed].sort());

    // The receiver is up now; a server picks the queued deliveries from the outbox and they arrive, verified.
    await json(['set-url', receiver.url, ...acc]);
    receiver.state.secret = (await json(['show', ...acc])).secret;
    receiver.state.received.length = 0;
    const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'warn', '--database', database.url], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // A receiver slowed past the 2 s default by a loaded machine would get the delivery again
      // (at least once), and each delivery is asserted below to take one attempt.
      env: { ...process.env, SIPSIM_WORKERS: '1', SIPSIM_METRICS: 'off', SIPSIM_WEBHOOK_TIMEOUT_MS: '30000' },
    });
    let stderr = '';
    server.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((done) => server.on('exit', (code) => done(code)));
    try {
      const deadline = Date.now() + 30000;
      let delivered = 0;
      while (delivered < 3) {
        if (server.exitCode !== null || Date.now() > deadline) throw new Error(`not delivered (serve exit ${server.exitCode}):\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
        delivered = (await store.webhooks.list(accountId, { status: 'delivered', limit: 10 })).length;
      }
    } finally {
      server.kill('SIGTERM');
      const killer = setTimeout(() => server.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(killer);
    }
    // Delivery is at least once: an answer slower than the timeout would be sent again, with the same id.
    expect(receiver.state.received.every((r) => r.reason === null)).toBe(true);
    expect([...new Set(receiver.state.received.map((r) => Number(r.headers['x-webhook-id'])))].sort()).toEqual([...failed].sort());
    const rows = await json(['deliveries', ...acc]);
    expect(rows.map((d: any) => [d.status, d.attempts, d.last_status, d.last_error])).toEqual([
      ['delivered', 1, 200, null],
      ['delivered', 1, 200, null],
      ['delivered', 1, 200, null],
    ]);

    // Without a URL a redelivery would only fail again: refused.
    await json(['unset-url', ...acc]);
    const noUrl = await cli(['redeliver', String(failed[0]), ...acc]);
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toContain('has no webhook URL');
  }, 180000);
});
