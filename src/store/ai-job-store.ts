import type { Kysely, Selectable } from 'kysely';
import type { AiJobStatus, AiKind } from '../domain/ai.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import { LeasedQueue, type Lease } from './leased-queue.js';
import type { Database } from './schema.js';
import { executeOn, queueWebhooks } from './webhook-store.js';

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

export interface ClaimedJob extends AiJob, Lease {}

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

const AI_JOB_STATUSES: readonly AiJobStatus[] = ['pending', 'done', 'failed'];

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
 * workers for a lease as webhook deliveries are (see LeasedQueue),
 * and finished with their webhooks in one transaction, so that a job whose
 * worker died is done again by another, once, and its webhook goes out once.
 */
export class AiJobStore {
  constructor(
    private readonly db: Kysely<Database>,
    engine: Engine,
    private readonly guarded: Guarded,
    /** Tells this process's dispatcher that webhooks were queued. */
    private readonly announceWebhooks: () => void,
  ) {
    this.jobs = new LeasedQueue(db, engine, 'call_ai_jobs', 'updated_at');
  }

  /** The pending jobs, claimed by workers for a lease. */
  private readonly jobs: LeasedQueue<'call_ai_jobs'>;

  /** Called after a transaction that queued jobs has committed, so that this process's worker starts them at once. */
  onQueued(listener: () => void): () => void {
    return this.jobs.onQueued(listener);
  }

  /** The facts of a call the jobs need, or null when the account has no such call. */
  async callFacts(accountId: number, callId: number): Promise<CallFacts | null> {
    return this.guarded(async () => {
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
    return this.guarded(async () => {
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
    const result = await this.guarded(() => queueJob(this.db, accountId, callId, kind, Date.now()));
    if ('queued' in result) this.jobs.announce();
    return result;
  }

  /** Claims up to `limit` due jobs for one attempt each (see LeasedQueue). */
  async claimDue(limit: number, now: number, leaseUntil: number): Promise<ClaimedJob[]> {
    return this.guarded(async () => (await this.jobs.claimDue(limit, now, leaseUntil)).map((r) => ({ ...toJob(r), leaseUntil })));
  }

  /**
   * Records how a job went, if the claim is still this worker's (a job whose
   * lease ran out and that another worker claimed is theirs to finish).
   * Returns whether it was recorded.
   */
  async finish(claim: Lease & Pick<ClaimedJob, 'callId'>, outcome: JobOutcome, now: number): Promise<boolean> {
    const done = await this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        let recorded: boolean;
        switch (outcome.result) {
          case 'done':
            recorded = await this.jobs.record(trx, claim, { status: 'done', result: JSON.stringify(outcome.value), last_error: null, finished_at: now, updated_at: now });
            break;
          case 'retry':
            recorded = await this.jobs.record(trx, claim, { next_attempt_at: outcome.nextAttemptAt, last_error: outcome.error.slice(0, MAX_ERROR), updated_at: now });
            break;
          case 'release':
            recorded = await this.jobs.release(trx, claim, now, { updated_at: now });
            break;
          case 'failed':
            recorded = await this.jobs.record(trx, claim, { status: 'failed', last_error: outcome.error.slice(0, MAX_ERROR), finished_at: now, updated_at: now });
            break;
        }
        let webhooks = 0;
        let followUps = 0;
        if (recorded && outcome.result === 'done') {
          webhooks = await queueWebhooks(trx, executeOn(trx), claim.accountId, outcome.webhooks);
          for (const kind of outcome.then) if ('queued' in (await queueJob(trx, claim.accountId, claim.callId, kind, now))) followUps++;
        }
        return { recorded, webhooks, followUps };
      }),
    );
    if (done.webhooks) this.announceWebhooks();
    if (done.followUps || (done.recorded && outcome.result === 'release')) this.jobs.announce();
    return done.recorded;
  }

  /** Jobs by status, across every account: for tests, metrics and benchmarks. */
  async countByStatus(): Promise<Record<AiJobStatus, number>> {
    return this.guarded(() => this.jobs.countByStatus(AI_JOB_STATUSES));
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
