import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { WebhookDispatcher, retryDelay, type DispatcherOptions } from '../../src/webhooks/dispatcher.js';
import type { WebhookMessage } from '../../src/webhooks/events.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const FAST: DispatcherOptions = { timeoutMs: 2000, retryWindowMs: 60_000, retryBaseMs: 100, retryMaxMs: 400, concurrency: 8, pollMs: 50 };

const event = (pbxId: string, n: number): WebhookMessage => ({
  event: 'incoming_call_start',
  pbxId,
  body: JSON.stringify({ event: 'incoming_call_start', caller: '+33612345678', receiver: '+33198765432', time: `2025-01-15T10:30:${String(n).padStart(2, '0')}Z`, pbx_id: pbxId }),
});

describe('retry delays', () => {
  it('double from the base, stay under the cap, and are jittered between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, 1000, 60_000, () => 1))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(retryDelay(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(retryDelay(1000, 1000, 3_600_000, () => 0.5)).toBe(2_700_000);
  });
});

/**
 * The dispatcher against a real receiver on a local port, on each engine:
 * what arrives, signed, and what happens when the receiver is down, fails,
 * or answers late; and two workers on one store sending each delivery once.
 */
describeEngines('webhook delivery', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let url: string;
  let accountId: number;
  let receiver: WebhookReceiver;
  const dispatchers: WebhookDispatcher[] = [];

  const dispatcher = (options: Partial<DispatcherOptions> = {}, on = store) => {
    const d = new WebhookDispatcher(on.webhooks, { ...FAST, ...options });
    dispatchers.push(d);
    d.start();
    return d;
  };
  const deliveries = async () => (await store.webhooks.list(accountId, { limit: 1000 })).reverse();

  beforeAll(async () => {
    ({ store, close, database: { url } } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  beforeEach(async () => {
    accountId = (await store.createAccount({ name: 'Hooked' })).id;
    receiver = await new WebhookReceiver().start();
    const settings = await store.webhooks.setUrl(accountId, receiver.url);
    receiver.secret = settings.secret;
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    await receiver.stop();
  });

  it('posts each webhook once, signed, with the stored body byte for byte, in order per call', async () => {
    await store.webhooks.queue(accountId, [event('call-a', 1), event('call-b', 1), event('call-a', 2), event('call-a', 3)]);
    dispatcher();
    await receiver.waitFor((r) => r.length === 4);
    const queued = await deliveries();
    expect(receiver.received.every((r) => r.valid)).toBe(true);
    expect(receiver.received.map((r) => r.raw).sort()).toEqual(queued.map((d) => d.body).sort());
    const first = receiver.received[0]!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(Number(first.headers['x-webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 10);
    expect(first.headers['x-webhook-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(first.headers['x-webhook-event']).toBe('incoming_call_start');
    expect(receiver.received.filter((r) => r.body.pbx_id === 'call-a').map((r) => r.body.time)).toEqual([
      '2025-01-15T10:30:01Z',
      '2025-01-15T10:30:02Z',
      '2025-01-15T10:30:03Z',
    ]);
    await waitUntil(async () => (await deliveries()).every((d) => d.status === 'delivered'));
    expect((await deliveries()).map((d) => [d.status, d.attempts, d.lastStatus])).toEqual(Array(4).fill(['delivered', 1, 200]));
  });

  it('keeps trying while the receiver is down, and delivers everything once it is back', async () => {
    await receiver.stop();
    await store.webhooks.queue(accountId, [1, 2, 3, 4, 5].map((n) => event(`down-${n}`, n)));
    dispatcher();
    await waitUntil(async () => (await deliveries()).every((d) => d.attempts >= 2));
    expect((await deliveries())[0]!.lastError).toMatch(/ECONNREFUSED/);
    await receiver.start();
    await receiver.waitFor((r) => new Set(r.map((x) => x.body.pbx_id)).size === 5);
    await waitUntil(async () => (await deliveries()).every((d) => d.status === 'delivered'));
    expect(receiver.received.every((r) => r.valid)).toBe(true);
  });

  it('retries a 500 with backoff until it is accepted, and counts each attempt for /metrics', async () => {
    receiver.behaviour = (r) => ({ status: r.index < 2 ? 500 : 204 });
    await store.webhooks.queue(accountId, [event('err-1', 1)]);
    const registry = new Registry();
    dispatcher({ registry });
    await receiver.waitFor((r) => r.some((x) => x.answered === 204));
    await waitUntil(async () => (await deliveries())[0]!.status === 'delivered');
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ attempts: 3, lastStatus: 204, lastError: null });
    expect(receiver.received.map((r) => r.answered)).toEqual([500, 500, 204]);
    // Each attempt is signed anew over the same body.
    expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
    expect(receiver.received.every((r) => r.valid)).toBe(true);
    const text = await registry.metrics();
    expect(text).toContain('sipsim_webhook_attempts_total{result="retry"} 2');
    expect(text).toContain('sipsim_webhook_attempts_total{result="delivered"} 1');
    expect(text).toMatch(/sipsim_webhook_delivery_delay_seconds_count 1\b/);
  });

  it('gives up an answer slower than the timeout, and the receiver can tell the repeat by its id', async () => {
    receiver.behaviour = (r) => ({ delayMs: r.index === 0 ? 3000 : 0 });
    await store.webhooks.queue(accountId, [event('slow-1', 1)]);
    dispatcher();
    await waitUntil(async () => (await deliveries())[0]!.status === 'delivered', 15_000);
    const [delivery] = await deliveries();
    expect(delivery!.attempts).toBe(2);
    // The slow answer still arrives in the end: at least once, so twice here, same id and body.
    await receiver.waitFor((r) => r.length === 2);
    expect(new Set(receiver.received.map((r) => r.headers['x-webhook-id']))).toEqual(new Set([String(delivery!.id)]));
    expect(new Set(receiver.received.map((r) => r.raw)).size).toBe(1);
    const [first] = await store.webhooks.list(accountId, { limit: 1 });
    expect(first!.lastError).toBeNull();
  });

  it('keeps a delivery as failed once the retry window has passed, and can send it again', async () => {
    receiver.behaviour = { status: 503 };
    await store.webhooks.queue(accountId, [event('gone-1', 1)]);
    dispatcher({ retryWindowMs: 1000 });
    await waitUntil(async () => (await deliveries())[0]!.status === 'failed');
    const [failed] = await deliveries();
    expect(failed!.lastError).toMatch(/^gave up after \d+ attempts: HTTP 503: receiver says no$/);
    expect(failed!.attempts).toBeGreaterThanOrEqual(2);
    receiver.behaviour = {};
    expect(await store.webhooks.redeliver(accountId, { failed: true })).toEqual([failed!.id]);
    await waitUntil(async () => (await deliveries())[0]!.status === 'delivered');
    expect((await deliveries())[0]!.attempts).toBe(1);
  });

  it('fails a delivery whose account has no URL any more', async () => {
    await store.webhooks.queue(accountId, [event('orphan-1', 1)]);
    await store.webhooks.setUrl(accountId, null);
    dispatcher();
    await waitUntil(async () => (await deliveries())[0]!.status === 'failed');
    expect((await deliveries())[0]!.lastError).toBe('the account has no webhook URL');
    expect(receiver.received).toEqual([]);
  });

  it('shares the outbox between two workers on one database without sending anything twice', async () => {
    const other = Store.open(url);
    try {
      const messages = Array.from({ length: 200 }, (_, i) => event(`shared-${i}`, i % 60));
      await store.webhooks.queue(accountId, messages);
      dispatcher({ concurrency: 4 });
      dispatcher({ concurrency: 4 }, other);
      await waitUntil(async () => (await deliveries()).every((d) => d.status === 'delivered'), 30_000);
      const ids = receiver.received.map((r) => r.headers['x-webhook-id']);
      expect(ids).toHaveLength(200);
      expect(new Set(ids).size).toBe(200);
      expect(receiver.received.every((r) => r.valid)).toBe(true);
    } finally {
      await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
      await other.close();
    }
  });

  it('deletes finished deliveries past the keep time, a batch at a time, and never a pending one', async () => {
    await store.webhooks.queue(accountId, [1, 2, 3, 4].map((n) => event(`old-${n}`, n)));
    const [a, b, c, d] = (await deliveries()).map((x) => x.id);
    const day = 86_400_000;
    const age = async (id: number, status: string, ageMs: number) =>
      store.db.updateTable('webhook_deliveries').set({ status, created_at: Date.now() - ageMs }).where('id', '=', id).execute();
    await age(a!, 'delivered', 40 * day);
    await age(b!, 'failed', 31 * day);
    await age(c!, 'pending', 40 * day); // still to send: kept whatever its age
    await age(d!, 'delivered', 2 * day);
    expect(await store.webhooks.prune(Date.now() - 30 * day, 1)).toBe(1);
    // A running dispatcher prunes hourly; here it is asked to at once.
    const keeper = new WebhookDispatcher(store.webhooks, { ...FAST, keepMs: 30 * day });
    expect(await keeper.prune()).toBe(1);
    expect((await store.webhooks.list(accountId, { limit: 10 })).map((x) => x.id).sort()).toEqual([c, d].sort());
  });

  it('takes over a delivery whose worker died holding it, once the claim runs out', async () => {
    await store.webhooks.queue(accountId, [event('orphaned-claim', 1)]);
    // A worker claims it and dies before sending: nothing else may send it until the lease ends.
    const now = Date.now();
    const [claimed] = await store.webhooks.claimDue(10, now, now + 1500);
    expect(claimed!.attempts).toBe(1);
    dispatcher();
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(receiver.received).toEqual([]);
    await receiver.waitFor((r) => r.length === 1, 5000);
    await waitUntil(async () => (await deliveries())[0]!.status === 'delivered');
    // The dead worker's late report changes nothing.
    expect(await store.webhooks.finishAttempt(claimed!, { result: 'failed', status: null, error: 'late' }, Date.now())).toBe(false);
    expect((await deliveries())[0]).toMatchObject({ status: 'delivered', attempts: 2 });
  });
});

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
