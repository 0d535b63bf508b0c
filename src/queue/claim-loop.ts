import type { Lease } from '../store/leased-queue.js';

export interface ClaimLoopOptions<J extends Lease> {
  /** Jobs in flight at once in this process. */
  concurrency: number;
  /** How often to look for due jobs when nothing wakes the loop, in ms. */
  pollMs: number;
  /** How long a claim lasts, in ms: longer than an attempt may take, so that no lease runs out under one. */
  leaseMs: number;
  /** Claims up to `limit` due jobs until `leaseUntil` (a LeasedQueue's claimDue, through its store). */
  claimDue(limit: number, now: number, leaseUntil: number): Promise<J[]>;
  /**
   * Runs one claimed job and records how it went: done, failed, due again
   * later (with backoffAfterAttempt), or handed back untried while `running`
   * is false.
   */
  attempt(job: J): Promise<void>;
  /** Subscribes to this process's announcements that jobs were queued; returns the unsubscribe. */
  onQueued(listener: () => void): () => void;
  /** Work for every pass before the claim (it fails and is retried with it). */
  beforeClaim?(): Promise<void>;
  log?: { warn(obj: object, msg: string): void };
  /** How the warnings name things: the key for a job's id, and what could not be done. */
  warnings: { idKey: string; claimFailed: string; attemptFailed: string };
}

/**
 * The worker side of a leased queue (see LeasedQueue): claims due jobs, up to
 * the room left, runs each as its own task, and claims again. Every serving
 * process runs one loop per queue; they cooperate through the store alone,
 * where each claim is a lease, so a job is run by one worker at a time and
 * taken up again if that worker dies. This process's own writes wake the loop
 * at once (`onQueued`); other processes' are found by polling. A store that
 * fails is polled a little slower each time, up to 10 s.
 */
export class ClaimLoop<J extends Lease> {
  private active = false;
  private inFlight = 0;
  private loopDone: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  /** Whether the last claim took all the room there was: more may be due. */
  private saturated = false;
  private unsubscribe: (() => void) | null = null;
  private readonly idle = new Set<() => void>();
  private readonly stopController = new AbortController();

  constructor(private readonly options: ClaimLoopOptions<J>) {}

  /** Whether the loop claims; false from stop() on, when attempts hand their jobs back. */
  get running(): boolean {
    return this.active;
  }

  /** Aborts at stop(): attempts in flight end early and hand their jobs back, for the next process to take up. */
  get stopping(): AbortSignal {
    return this.stopController.signal;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.unsubscribe = this.options.onQueued(() => this.wake());
    this.loopDone = this.loop();
  }

  /** Looks for due jobs now. */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /** Stops claiming and waits for the attempts in flight (each ends within its timeout). */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.stopController.abort();
    this.unsubscribe?.();
    this.wakeUp?.();
    await this.loopDone;
    await this.settled();
  }

  /** Resolves once nothing is in flight. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private async loop(): Promise<void> {
    const { pollMs, concurrency } = this.options;
    let failures = 0;
    while (this.active) {
      this.pendingWake = false;
      const room = concurrency - this.inFlight;
      let claimed = 0;
      try {
        await this.options.beforeClaim?.();
        if (room > 0) {
          const now = Date.now();
          const batch = await this.options.claimDue(room, now, now + this.options.leaseMs);
          claimed = batch.length;
          this.saturated = claimed === room;
          for (const job of batch) this.run(job);
        }
        failures = 0;
      } catch (error) {
        // The store is away (restarting, network): keep polling, a little slower each time.
        failures++;
        this.options.log?.warn({ err: error }, this.options.warnings.claimFailed);
      }
      if (claimed > 0 && claimed === room) continue;
      if (this.pendingWake && room > 0 && failures === 0) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(pollMs * 2 ** failures, 10_000));
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private run(job: J): void {
    this.inFlight++;
    void this.options
      .attempt(job)
      .catch((error) => this.options.log?.warn({ err: error, [this.options.warnings.idKey]: job.id }, this.options.warnings.attemptFailed))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) {
          const waiting = [...this.idle];
          this.idle.clear();
          for (const resolve of waiting) resolve();
        }
        // The last claim took all it could, so more may be due. Claiming again once
        // half the room is free, rather than at every free slot, keeps a backlog's
        // claims to a few per batch instead of one per job.
        if (this.saturated && this.inFlight <= this.options.concurrency / 2) this.wake();
      });
  }
}
