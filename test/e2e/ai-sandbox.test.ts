import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { DEMO_ACCOUNT_NAME } from '../../src/demo/seed.js';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { serveCli, type Served } from '../helpers/serve-cli.js';
import { CLIENT_TOOLS_READY } from '../helpers/tools.js';
import { callInput } from '../helpers/fixture.js';
import { deriveCall } from '../../src/domain/call.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { CLI, EXAMPLES_DIR, fillPlaceholders, GUIDE_BASE_URL, lines, runPython, scratchDir } from '../helpers/programs.js';

/**
 * The AI features through a real `sipsim serve`: the guide's Python examples
 * against the sandbox of `serve --demo`, and a job cut short by kill -9 that
 * the next process finishes, once, with one webhook of each kind.
 */

const AI_EXAMPLES = join(EXAMPLES_DIR, 'ai-features');
const ENV = { SIPSIM_LOG_LEVEL: 'warn', SIPSIM_RATE_LIMIT: 'off', SIPSIM_WEBHOOK_RETRY_BASE_MS: '100', SIPSIM_WEBHOOK_RETRY_MAX_MS: '500' };

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` does it).`);
});

const tokenFor = async (base: string, store: Store, accountId: number): Promise<string> => {
  const { client, clientSecret } = await issueClient(store, accountId, {});
  const r = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }),
  });
  return ((await r.json()) as { access_token: string }).access_token;
};

describeEngines('AI features of a real sipsim serve', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let receiver: WebhookReceiver;
  const servers: Served[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    receiver = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await receiver?.stop();
    await store?.close();
    await database?.drop();
  });

  it.skipIf(!CLIENT_TOOLS_READY)("runs the guide's transcription examples against a demo call, and the three webhooks arrive", async () => {
    const server = await serveCli(database.url, { ...ENV, SIPSIM_AI_SANDBOX_DELAY_MS: '1500' }, { args: ['--demo', '--demo-calls', '300'], ready: /^Transcripts, summaries and ratings: /m });
    servers.push(server);
    expect(server.output()).toMatch(/^Transcripts, summaries and ratings: sandbox \(made-up/m);
    store = Store.open(database.url);
    const account = (await store.listAccounts()).find((a) => a.name === DEMO_ACCOUNT_NAME)!;
    receiver.secret = (await store.webhooks.setUrl(account.id, receiver.url)).secret;
    const call = await store.db
      .selectFrom('calls')
      .select(['id', 'caller_name', 'duration_sec'])
      .where('account_id', '=', account.id)
      .where('call_type', '=', 'inbound')
      .where('caller_name', 'is not', null)
      .where('duration_sec', '>', 60)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const token = await tokenFor(server.url, store, account.id);
    const scratch = scratchDir('sipsim-e2e-ai-');
    try {
      const example = (name: string) =>
        fillPlaceholders(readFileSync(join(AI_EXAMPLES, name), 'utf8'), {
          [GUIDE_BASE_URL]: server.url,
          YOUR_ACCESS_TOKEN: token,
          'call_id = "12345"': `call_id = "${call.id}"`,
        });
      const started = await runPython(example('trigger-transcription.py'), scratch.path);
      expect(started.stderr).toBe('');
      expect(lines(started.stdout)).toEqual(['Transcription started!']);
      // The guide stops at the function; calling it and printing what it returns is the test's own.
      const driver = [
        '',
        'transcription = get_transcription_with_polling(call_id)',
        'for segment in transcription["payload"]:',
        '    print(f"{segment[\'channel\']} {segment[\'start\']} {segment[\'end\']} {segment[\'text\']}")',
        '',
      ].join('\n');
      const polled = await runPython(example('get-transcription.py') + driver, scratch.path);
      expect(polled.code, polled.stderr).toBe(0);
      const printed = lines(polled.stdout);
      const segments = printed.filter((l) => l !== 'Transcription still processing...').map((l) => /^([01]) ([\d.]+) ([\d.]+) (.+)$/.exec(l)!);
      expect(segments.length).toBeGreaterThan(3);
      expect(segments.every(Boolean)).toBe(true);
      expect(segments.find((m) => m[4]!.includes(call.caller_name!))?.[1]).toBe('0');
      for (const m of segments) expect(Number(m[3])).toBeLessThanOrEqual(call.duration_sec);

      await receiver.waitFor((got) => ['speech', 'summary', 'rating'].every((e) => got.some((r) => r.headers['x-webhook-event'] === e && r.body.call_id === call.id)), 30_000);
      const hooks = receiver.delivered.filter((r) => r.body.call_id === call.id);
      expect(hooks.map((r) => r.headers['x-webhook-event']).sort()).toEqual(['rating', 'speech', 'summary']);
      expect(hooks.every((r) => r.valid)).toBe(true);
      const summary = hooks.find((r) => r.headers['x-webhook-event'] === 'summary')!.body.summary as string;
      expect(summary.startsWith(`${call.caller_name} called about `)).toBe(true);
    } finally {
      scratch.remove();
      await server.stop();
    }
  });

  it('finishes a job cut short by kill -9 in the next process, once, with one webhook of each kind', async () => {
    store ??= Store.open(database.url);
    await store.migrate();
    const account = await store.createAccount({ name: 'Crash test' });
    receiver.secret = (await store.webhooks.setUrl(account.id, receiver.url)).secret;
    const [callId] = await store.insertCalls(account.id, [
      deriveCall({ ...callInput({ start: '2025-01-15T10:30:00Z' }), pbxId: 'crash-1', callerName: 'Karim Roux' }),
    ]);
    // The first process's engine never finishes: it is killed holding the job.
    const first = await serveCli(database.url, { ...ENV, SIPSIM_AI_ENGINE: 'sandbox', SIPSIM_AI_SANDBOX_DELAY_MS: '600000', SIPSIM_AI_JOB_TIMEOUT_MS: '3000' });
    servers.push(first);
    const token = await tokenFor(first.url, store, account.id);
    const started = await fetch(`${first.url}/api/v2/calls/${callId}/transcription`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(started.status).toBe(201);
    for (;;) {
      const job = await store.aiJobs.get(account.id, callId!, 'transcription');
      if (job!.attempts === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await first.kill();
    expect(await store.aiJobs.get(account.id, callId!, 'transcription')).toMatchObject({ status: 'pending', attempts: 1 });

    const second = await serveCli(database.url, { ...ENV, SIPSIM_AI_ENGINE: 'sandbox', SIPSIM_AI_SANDBOX_DELAY_MS: '0', SIPSIM_AI_JOB_TIMEOUT_MS: '3000' });
    servers.push(second);
    await receiver.waitFor((got) => ['speech', 'summary', 'rating'].every((e) => got.some((r) => r.headers['x-webhook-event'] === e && r.body.call_id === callId)), 30_000);
    expect(await store.aiJobs.get(account.id, callId!, 'transcription')).toMatchObject({ status: 'done', attempts: 2 });
    // Whatever else is in flight settles before counting.
    await second.stop();
    const hooks = receiver.delivered.filter((r) => r.body.call_id === callId);
    expect(hooks.map((r) => r.headers['x-webhook-event']).sort()).toEqual(['rating', 'speech', 'summary']);
    const deliveries = (await store.webhooks.list(account.id, { limit: 100 })).map((d) => d.event).sort();
    expect(deliveries).toEqual(['rating', 'speech', 'summary']);
  });
});

describe('the AI features example fixtures', () => {
  const guide = '/work/shared/spec/sipsim-docs/ai-features.md';
  const normalise = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  it.skipIf(!existsSync(guide))('are the guide\'s own, but for the end of the message where its copy breaks off', () => {
    const guideLines = normalise(readFileSync(guide, 'utf8').replace('timeo[...gap...]', 'timeout")'));
    for (const name of ['trigger-transcription.py', 'get-transcription.py']) {
      const fixture = normalise(readFileSync(join(AI_EXAMPLES, name), 'utf8'));
      const found = guideLines.some((_, i) => fixture.every((line, j) => guideLines[i + j] === line));
      expect(found, `${name} is not in the guide as written`).toBe(true);
    }
  });
});
