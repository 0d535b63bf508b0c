import { sql, type Kysely, type Selectable } from 'kysely';
import type { AiJobStatus, AiKind } from '../domain/ai.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';
import { queueWebhooks, runOn } from './webhook-store.js';

/** A call's AI job and, once done, its result. Times are Unix milliseconds. */
export interface AiJob {
  accountId: number;
  id: number;
  callId: number;
  kind: AiKind;
  status: AiJobStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  lastError: string | null;
  /** The parsed result of a done job. */
  result: unknown;
}

export interface ClaimedJob extends AiJob {
  /** When the claim runs out; it also marks the claim as this worker's when the job is finished. */
  leaseUntil: number;
}

/** What the jobs need to know of a call. */
export interface CallFacts {
  accountId: number;
  id: number;
  pbxId: string | null;
  callType: string;
  callerNumber: string;
  callerName: string | null;
  targetNumber: string;
  employeeId: number | null;
  answered: boolean;
  durationSec: number;
  startTime: number;
  playRecordLink: string | null;
}

export type JobOutcome =
  /** Done: the result is stored, the webhooks queued and the follow-up jobs queued, in one transaction. */
  | { result: 'done'; value: unknown; webhooks: WebhookMessage[]; then: AiKind[] }
  | { result: 'retry'; error: string; nextAttemptAt: number }
  | { result: 'failed'; error: string }
  | { result: 'release' };

export type RequestResult = { queued: AiJob } | { busy: AiJob };

const MAX_ERROR = 500;

const toJob = (r: Selectable<Database['call_ai_jobs']>): AiJob => ({
  accountId: Number(r.account_id),
  id: Number(r.id),
  callId: Number(r.call_id),
  kind: r.kind as AiKind,
  status: r.status as AiJobStatus,
  attempts: Number(r.attempts),
  nextAttemptAt: Number(r.next_attempt_at),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  lastError: r.last_error,
  result: r.result === null ? null : JSON.parse(r.result),
});

/**
 * The AI jobs: queued by a request or by the job before them, claimed by
 * workers for a lease as webhook deliveries are (see WebhookStore.claimDue),
 * and finished with their webhooks in one transaction, so that a job whose
 * worker died is done again by another, once, and its webhook goes out once.
 */
export class AiJobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guard: <T>(operation: () => Promise<T>) => Promise<T>,
    /** Tells this process's dispatcher that webhooks were queued. */
    private readonly announceWebhooks: () => void,
  ) {}

  private readonly listeners = new Set<() => void>();

  /** Called after a transaction that queued jobs has committed, so that this process's worker starts them at once. */
  onQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private announce(): void {
    for (const listener of this.listeners) listener();
  }

  /** The facts of a call the jobs need, or null when the account has no such call. */
  async callFacts(accountId: number, callId: number): Promise<CallFacts | null> {
    return this.guard(async () => {
      const r = await this.db
        .selectFrom('calls')
        .select(['id', 'pbx_id', 'call_type', 'caller_number', 'caller_name', 'target_number', 'employee_id', 'answered_time', 'duration_sec', 'start_time', 'play_record_link'])
        .where('account_id', '=', accountId)
        .where('id', '=', callId)
        .executeTakeFirst();
      if (!r) return null;
      return {
        accountId,
        id: Number(r.id),
        pbxId: r.pbx_id,
        callType: r.call_type,
        callerNumber: r.caller_number,
        callerName: r.caller_name,
        targetNumber: r.target_number,
        employeeId: r.employee_id === null ? null : Number(r.employee_id),
        answered: r.answered_time !== null,
        durationSec: Number(r.duration_sec),
        startTime: Number(r.start_time),
        playRecordLink: r.play_record_link,
      };
    });
  }

  async get(accountId: number, callId: number, kind: AiKind): Promise<AiJob | null> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('call_ai_jobs')
        .selectAll()
        .where('account_id', '=', accountId)
        .where('call_id', '=', callId)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return row ? toJob(row) : null;
    });
  }

  /**
   * Queues a job for a call, now. A job of that kind already pending is left
   * as it is and reported busy; a finished one is queued again, its old result
   * dropped.
   */
  async request(accountId: number, callId: number, kind: AiKind): Promise<RequestResult> {
    const result = await this.guard(() => queueJob(this.db, accountId, callId, kind, Date.now()));
    if ('queued' in result) this.announce();
    return result;
  }

  /**
   * Claims up to `limit` due jobs for one attempt each: the claim moves the
   * job's due time to `leaseUntil` and counts the attempt, so that a worker
   * that dies leaves the job to be claimed again once the lease runs out.
   * PostgreSQL skips rows another worker is claiming; SQLite's write lock
   * makes the claim atomic.
   */
  async claimDue(limit: number, now: number, leaseUntil: number): Promise<ClaimedJob[]> {
    return this.guard(async () => {
      const due = await this.db
        .selectFrom('call_ai_jobs')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .limit(1)
        .executeTakeFirst();
      if (!due) return [];
      const claimed =
        this.engine === 'postgres'
          ? await sql<Selectable<Database['call_ai_jobs']>>`
              UPDATE call_ai_jobs j
                 SET next_attempt_at = ${leaseUntil}, attempts = j.attempts + 1, updated_at = ${now}
                FROM (SELECT account_id, id FROM call_ai_jobs
                       WHERE status = 'pending' AND next_attempt_at <= ${now}
                       ORDER BY next_attempt_at, id LIMIT ${limit}
                       FOR UPDATE SKIP LOCKED) due
               WHERE j.account_id = due.account_id AND j.id = due.id
              RETURNING j.*`.execute(this.db)
          : await sql<Selectable<Database['call_ai_jobs']>>`
              UPDATE call_ai_jobs
                 SET next_attempt_at = ${leaseUntil}, attempts = attempts + 1, updated_at = ${now}
               WHERE id IN (SELECT id FROM call_ai_jobs
                             WHERE status = 'pending' AND next_attempt_at <= ${now}
                             ORDER BY next_attempt_at, id LIMIT ${limit})
              RETURNING *`.execute(this.db);
      return claimed.rows.map((r) => ({ ...toJob(r), leaseUntil })).sort((a, b) => a.id - b.id);
    });
  }

  /**
   * Records how a job went, if the claim is still this worker's (a job whose
   * lease ran out and that another worker claimed is theirs to finish).
   * Returns whether it was recorded.
   */
  async finish(claim: Pick<ClaimedJob, 'accountId' | 'id' | 'callId' | 'leaseUntil'>, outcome: JobOutcome, now: number): Promise<boolean> {
    const done = await this.guard(() =>
      this.db.transaction().execute(async (trx) => {
        const base = trx
          .updateTable('call_ai_jobs')
          .where('account_id', '=', claim.accountId)
          .where('id', '=', claim.id)
          .where('status', '=', 'pending')
          .where('next_attempt_at', '=', claim.leaseUntil);
        let updated;
        if (outcome.result === 'done') {
          updated = await base
            .set({ status: 'done', result: JSON.stringify(outcome.value), last_error: null, finished_at: now, updated_at: now })
            .executeTakeFirst();
        } else if (outcome.result === 'retry') {
          updated = await base.set({ next_attempt_at: outcome.nextAttemptAt, last_error: outcome.error.slice(0, MAX_ERROR), updated_at: now }).executeTakeFirst();
        } else if (outcome.result === 'release') {
          updated = await base.set((eb) => ({ next_attempt_at: now, attempts: eb('attempts', '-', 1), updated_at: now })).executeTakeFirst();
        } else {
          updated = await base.set({ status: 'failed', last_error: outcome.error.slice(0, MAX_ERROR), finished_at: now, updated_at: now }).executeTakeFirst();
        }
        const recorded = Number(updated.numUpdatedRows) > 0;
        let webhooks = 0;
        let followUps = 0;
        if (recorded && outcome.result === 'done') {
          webhooks = await queueWebhooks(trx, runOn(trx), claim.accountId, outcome.webhooks);
          for (const kind of outcome.then) if ('queued' in (await queueJob(trx, claim.accountId, claim.callId, kind, now))) followUps++;
        }
        return { recorded, webhooks, followUps };
      }),
    );
    if (done.webhooks) this.announceWebhooks();
    if (done.followUps || (done.recorded && outcome.result === 'release')) this.announce();
    return done.recorded;
  }

  /** Jobs by status, across every account: for tests, metrics and benchmarks. */
  async countByStatus(): Promise<Record<AiJobStatus, number>> {
    return this.guard(async () => {
      const rows = await this.db
        .selectFrom('call_ai_jobs')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      const counts: Record<AiJobStatus, number> = { pending: 0, done: 0, failed: 0 };
      for (const r of rows) counts[r.status as AiJobStatus] = Number(r.n);
      return counts;
    });
  }
}

/**
 * Queues one job, in the caller's transaction when there is one (see
 * AiJobStore.request). Each step writes first, so that on SQLite no
 * transaction has to turn a read lock into a write lock, which two processes
 * doing so at once cannot both do.
 */
async function queueJob(db: Kysely<Database>, accountId: number, callId: number, kind: AiKind, now: number): Promise<RequestResult> {
  const fresh = { status: 'pending', attempts: 0, next_attempt_at: now, updated_at: now, finished_at: null, last_error: null, result: null };
  const again = await db
    .updateTable('call_ai_jobs')
    .set({ ...fresh, created_at: now })
    .where('account_id', '=', accountId)
    .where('call_id', '=', callId)
    .where('kind', '=', kind)
    .where('status', '<>', 'pending')
    .returningAll()
    .executeTakeFirst();
  if (again) return { queued: toJob(again) };
  const first = await db
    .insertInto('call_ai_jobs')
    .values({ account_id: accountId, call_id: callId, kind, created_at: now, ...fresh })
    .onConflict((oc) => oc.columns(['account_id', 'call_id', 'kind']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (first) return { queued: toJob(first) };
  const pending = await db
    .selectFrom('call_ai_jobs')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('call_id', '=', callId)
    .where('kind', '=', kind)
    .executeTakeFirstOrThrow();
  return { busy: toJob(pending) };
}
