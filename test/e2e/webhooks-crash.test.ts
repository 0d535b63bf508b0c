import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { serveCli, type Served } from '../helpers/serve-cli.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { CLI } from '../helpers/programs.js';

/**
 * `sipsim serve` as users run it, killed with SIGKILL while webhooks wait in
 * the outbox or are on their way, then started again: every event reaches a
 * real receiver, signed, and a repeat is only ever one that was in flight.
 */

const ENV = {
  SIPSIM_LOG_LEVEL: 'warn',
  SIPSIM_RATE_LIMIT: 'off',
  SIPSIM_WEBHOOK_TIMEOUT_MS: '1000',
  SIPSIM_WEBHOOK_RETRY_BASE_MS: '100',
  SIPSIM_WEBHOOK_RETRY_MAX_MS: '500',
};

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` does it).`);
});

describeEngines('webhooks across kill -9', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let receiver: WebhookReceiver;
  let basic: string;
  const servers: Served[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = Store.open(database.url);
    await store.migrate();
    const account = await store.createAccount({ name: 'Crash test' });
    const { client, clientSecret } = await issueClient(store, account.id, { scopes: 'calls.write' });
    basic = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
    receiver = await new WebhookReceiver().start();
    receiver.secret = (await store.webhooks.setUrl(account.id, receiver.url)).secret;
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await receiver?.stop();
    await store?.close();
    await database?.drop();
  });

  const start = async (env?: Record<string, string>) => {
    const served = await serveCli(database.url, { ...ENV, ...env });
    servers.push(served);
    return served;
  };
  /** The three events of an answered call, each posted on its own, as a PBX does. */
  const postCall = async (server: Served, pbxId: string) => {
    const events = [
      { event: 'incoming_call_start', caller: '+33612345678', receiver: '+33198765432', time: '2025-01-15T10:30:00Z', pbx_id: pbxId },
      { event: 'incoming_call_answer', caller: '+33612345678', receiver: '101', time: '2025-01-15T10:30:05Z', pbx_id: pbxId },
      { event: 'incoming_call_end', caller: '+33612345678', receiver: '+33198765432', time: '2025-01-15T10:31:00Z', pbx_id: pbxId, duration: 55, status: 'ANSWER' },
    ];
    for (const event of events) {
      const response = await fetch(`${server.url}/api/v2/pbx/events`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      expect(response.status, server.output()).toBe(202);
    }
  };
  const deliveredCount = async () => (await store.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'delivered').execute()).length;
  const queuedIds = async () => (await store.db.selectFrom('webhook_deliveries').select('id').execute()).map((r) => String(r.id)).sort();
  const receivedIds = () => [...new Set(receiver.delivered.map((r) => String(r.headers['x-webhook-id'])))].sort();
  /** Waits until every delivery is recorded as delivered, retries of claims that a killed process held included. */
  const settled = async () => {
    const deadline = Date.now() + 30_000;
    const done = async () => (await store.db.selectFrom('webhook_deliveries').select('status').execute()).every((r) => r.status === 'delivered');
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('deliveries still pending 30 s after the restart');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  /** How many deliveries arrived more than once. */
  const repeats = () => receiver.delivered.length - receivedIds().length;
  /**
   * What at-least-once allows and no more: every copy of a delivery is the
   * same signed body, and a delivery arrives at most once per attempt the
   * outbox recorded (a claim counts as one, so a send a killed process had
   * in flight is counted too). A repeat thus only ever follows an attempt
   * that did not finish, whatever the machine's speed.
   */
  const expectRepeatsExplained = async () => {
    const attempts = new Map((await store.db.selectFrom('webhook_deliveries').select(['id', 'attempts']).execute()).map((r) => [String(r.id), Number(r.attempts)]));
    const copies = new Map<string, Set<string>>();
    const counts = new Map<string, number>();
    for (const r of receiver.received) {
      const id = String(r.headers['x-webhook-id']);
      copies.set(id, (copies.get(id) ?? new Set()).add(r.raw));
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, n] of counts) {
      expect(copies.get(id)!.size, `delivery ${id}`).toBe(1);
      expect(n, `delivery ${id}: arrivals vs recorded attempts`).toBeLessThanOrEqual(attempts.get(id)!);
    }
  };
  /** What a receiver deduplicates on, as SIPSIM's guide says: the event and the PBX id. */
  const eventKeys = () => new Set(receiver.delivered.map((r) => `${r.body.event}:${r.body.pbx_id}`));

  it('delivers what was queued before the crash once the process is back', async () => {
    await receiver.stop();
    const first = await start();
    for (let i = 0; i < 10; i++) await postCall(first, `down-${i}`);
    // Every event is in the outbox: the receiver is down, so none can have left.
    expect(await queuedIds()).toHaveLength(30);
    await first.kill();
    await receiver.start();
    await start();
    await receiver.waitFor(() => receivedIds().length === 30, 30_000);
    expect(receivedIds()).toEqual(await queuedIds());
    expect(eventKeys().size).toBe(30);
    await settled();
    expect(receiver.received.every((r) => r.valid)).toBe(true);
    // Nothing had left before the crash, so a delivery arrives twice only if an attempt of it failed.
    await expectRepeatsExplained();
  }, 60_000);

  it('loses nothing when killed in the middle of delivering, and repeats only what was in flight', async () => {
    await Promise.all(servers.map((s) => s.kill()));
    const beforeQueued = (await queuedIds()).length;
    const deliveredBefore = await deliveredCount();
    // The receiver answers six deliveries, then holds every later one open,
    // so the kill lands with deliveries in flight, however fast either side runs.
    let arrivals = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let heldArrived!: () => void;
    const firstHeld = new Promise<void>((resolve) => (heldArrived = resolve));
    const held = new Set<string>();
    receiver.behaviour = (request) => {
      if (++arrivals <= 6) return {};
      held.add(String(request.headers['x-webhook-id']));
      heldArrived();
      return { until: released };
    };
    const concurrency = 2;
    const second = await start({ SIPSIM_WEBHOOK_CONCURRENCY: String(concurrency) });
    for (let i = 0; i < 15; i++) await postCall(second, `mid-${i}`);
    await firstHeld;
    await second.kill();
    // At most the six answered ones were recorded as delivered before the kill.
    expect((await deliveredCount()) - deliveredBefore).toBeLessThanOrEqual(6);
    receiver.behaviour = {};
    release();
    await start();
    const expected = await queuedIds();
    expect(expected).toHaveLength(beforeQueued + 45);
    await receiver.waitFor(() => receivedIds().length === expected.length, 40_000);
    expect(receivedIds()).toEqual(expected);
    expect(eventKeys().size).toBe(30 + 45);
    // A delivery that was on its way when the process died is sent again once
    // its claim runs out (a few seconds): at least once, never lost.
    await settled();
    expect(receiver.received.every((r) => r.valid)).toBe(true);
    for (const id of held) expect(receiver.delivered.filter((r) => String(r.headers['x-webhook-id']) === id).length, `held delivery ${id}`).toBeGreaterThanOrEqual(2);
    expect(repeats()).toBeGreaterThanOrEqual(held.size);
    await expectRepeatsExplained();
  }, 90_000);
});
