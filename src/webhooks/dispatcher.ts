import { Counter, Histogram, type Registry } from 'prom-client';
import { backoffAfterAttempt } from '../queue/backoff.js';
import { ClaimLoop } from '../queue/claim-loop.js';
import type { AttemptOutcome, ClaimedDelivery, WebhookStore } from '../store/webhook-store.js';
import { VERSION } from '../version.js';
import { signWebhook } from './signature.js';

export interface DispatcherOptions {
  /** How long a receiver has to answer, in ms (SIPSIM allows 2 s). */
  timeoutMs: number;
  /** How long a delivery is retried before it is kept as failed, in ms. */
  retryWindowMs: number;
  /** The first retry's delay; each further one doubles it, up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Deliveries in flight at once from this process. */
  concurrency: number;
  /** How often to look for due deliveries when nothing wakes the dispatcher. */
  pollMs?: number;
  /** Finished deliveries older than this are deleted, hourly; 0 keeps them all. */
  keepMs?: number;
  log?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  /** Where to count deliveries for /metrics. */
  registry?: Registry;
}

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  error: string | null;
}

const ERROR_BODY_SNIPPET = 200;

/**
 * Sends one webhook: a JSON POST signed over "{timestamp}.{body}", answered
 * within the timeout. Any 2xx is a delivery; redirects are not followed (the
 * URL is the operator's to fix), and everything else is an error to retry.
 */
export async function postWebhook(
  url: string,
  secret: string,
  /** The recorded delivery: its id is the X-Webhook-Id, the same on every attempt. */
  delivery: { id: number; event: string; body: string },
  timeoutMs: number,
): Promise<AttemptResult> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': `sipsim-webhooks/${VERSION}`,
        'X-Webhook-Timestamp': String(timestamp),
        'X-Webhook-Signature': signWebhook(secret, timestamp, delivery.body),
        'X-Webhook-Event': delivery.event,
        // The same on every attempt of one delivery: a second key to deduplicate on.
        'X-Webhook-Id': String(delivery.id),
      },
      body: delivery.body,
    });
    if (response.status >= 200 && response.status < 300) {
      await response.body?.cancel().catch(() => {});
      return { ok: true, status: response.status, error: null };
    }
    let snippet = '';
    try {
      snippet = (await response.text()).replace(/\s+/g, ' ').trim().slice(0, ERROR_BODY_SNIPPET);
    } catch {
      // the body timed out or broke off: the status says enough
    }
    return { ok: false, status: response.status, error: `HTTP ${response.status}${snippet ? `: ${snippet}` : ''}` };
  } catch (error) {
    return { ok: false, status: null, error: describeFailure(error, signal, timeoutMs) };
  }
}

function describeFailure(error: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  // fetch refuses some ports outright ("bad port"), with no code.
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Delivers what the outbox holds. Each process that serves runs one; they
 * cooperate through the store, where each claim is a lease (see ClaimLoop and
 * LeasedQueue): a delivery is sent by one worker at a time, and picked up
 * again if that worker dies. Deliveries of one call are sent one after the
 * other, in the order they were queued, so a receiver sees a call's start
 * before its end unless a retry intervenes.
 */
export class WebhookDispatcher {
  /** Set by stop(): a prune in progress ends at its next batch. */
  private stopped = false;
  /** The last send of each call, so that the next one waits for it. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pruneTimers: NodeJS.Timeout[] = [];
  private readonly metrics;
  private readonly loop: ClaimLoop<ClaimedDelivery>;

  constructor(
    private readonly store: WebhookStore,
    private readonly options: DispatcherOptions,
  ) {
    const registers = options.registry ? [options.registry] : [];
    this.metrics = {
      attempts: new Counter({
        name: 'sipsim_webhook_attempts_total',
        help: 'Webhook delivery attempts, by result: delivered, retry (to be tried again) or failed (given up)',
        labelNames: ['result'],
        registers,
      }),
      delay: new Histogram({
        name: 'sipsim_webhook_delivery_delay_seconds',
        help: 'Time from queueing a webhook to its successful delivery',
        buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600],
        registers,
      }),
    };
    this.loop = new ClaimLoop({
      concurrency: options.concurrency,
      pollMs: options.pollMs ?? 500,
      leaseMs: this.leaseMs,
      claimDue: (limit, now, leaseUntil) => store.claimDue(limit, now, leaseUntil),
      attempt: (delivery) => this.inCallOrder(delivery),
      onQueued: (listener) => store.onQueued(listener),
      log: options.log,
      warnings: { idKey: 'delivery', claimFailed: 'webhook dispatcher could not claim deliveries', attemptFailed: 'webhook attempt could not be recorded' },
    });
  }

  /**
   * How long a claim lasts. A send starts only while its claim has a timeout's
   * worth left (a delivery queued behind others of its call may wait), so a
   * lease never runs out under a send in progress; and a worker that died
   * leaves its deliveries to others after a few seconds.
   */
  get leaseMs(): number {
    return 2 * this.options.timeoutMs + 5_000;
  }

  start(): void {
    if (this.loop.running) return;
    this.loop.start();
    if (this.options.keepMs) {
      // A minute after start, then hourly: every process does it, and a second pass finds little.
      const prune = () => void this.prune();
      this.pruneTimers.push(setTimeout(prune, 60_000).unref(), setInterval(prune, 3_600_000).unref());
    }
  }

  /** Deletes finished deliveries past the keep time, a batch at a time; returns how many. */
  async prune(): Promise<number> {
    if (!this.options.keepMs) return 0;
    const before = Date.now() - this.options.keepMs;
    let total = 0;
    try {
      for (let deleted = -1; deleted !== 0 && !this.stopped; ) {
        deleted = await this.store.prune(before);
        total += deleted;
      }
    } catch (error) {
      this.options.log?.warn({ err: error }, 'webhook dispatcher could not prune old deliveries');
    }
    return total;
  }

  /** Looks for due deliveries now. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops claiming and waits for the sends in flight (each ends within the timeout). */
  async stop(): Promise<void> {
    if (!this.loop.running) return;
    this.stopped = true;
    for (const timer of this.pruneTimers.splice(0)) clearTimeout(timer);
    await this.loop.stop();
  }

  /** Resolves once nothing is in flight. */
  settled(): Promise<void> {
    return this.loop.settled();
  }

  /** Sends a delivery once the sends of its call claimed before it are done. */
  private inCallOrder(delivery: ClaimedDelivery): Promise<void> {
    const key = `${delivery.accountId}:${delivery.pbxId ?? `#${delivery.id}`}`;
    const previous = this.chains.get(key) ?? Promise.resolve();
    const done = previous.then(() => this.attempt(delivery));
    // The next send of the call waits for this one however it ends.
    const chained = done.catch(() => {});
    this.chains.set(key, chained);
    void chained.finally(() => {
      if (this.chains.get(key) === chained) this.chains.delete(key);
    });
    return done;
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    if (!this.loop.running || Date.now() + this.options.timeoutMs + 1000 > delivery.leaseUntil) {
      // Stopping, or waited too long behind its call's other deliveries: hand it back untried.
      await this.store.finishAttempt(delivery, { result: 'release' }, Date.now());
      return;
    }
    const outcome = await this.send(delivery);
    const now = Date.now();
    this.metrics.attempts.inc({ result: outcome.result });
    if (outcome.result === 'delivered') this.metrics.delay.observe((now - delivery.createdAt) / 1000);
    await this.store.finishAttempt(delivery, outcome, now);
  }

  private async send(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    if (!delivery.url || !delivery.secret) return { result: 'failed', status: null, error: 'the account has no webhook URL' };
    const result = await postWebhook(delivery.url, delivery.secret, delivery, this.options.timeoutMs);
    if (result.ok) return { result: 'delivered', status: result.status! };
    const error = result.error ?? 'failed';
    const next = Date.now() + backoffAfterAttempt(delivery.attempts, this.options.retryBaseMs, this.options.retryMaxMs);
    if (next > delivery.retryFrom + this.options.retryWindowMs) {
      return { result: 'failed', status: result.status, error: `gave up after ${delivery.attempts} attempts: ${error}` };
    }
    return { result: 'retry', status: result.status, error, nextAttemptAt: next };
  }
}
