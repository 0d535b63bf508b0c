import { Counter, type Registry } from 'prom-client';
import { checkRating, checkSegments, type AiKind, type Segment } from '../domain/ai.js';
import { backoffAfterAttempt } from '../queue/backoff.js';
import { ClaimLoop } from '../queue/claim-loop.js';
import type { AiJobStore, CallFacts, ClaimedJob, JobOutcome } from '../store/ai-job-store.js';
import type { AiSettingsStore } from '../store/ai-settings-store.js';
import { ratingMessage, speechMessage, summaryMessage } from '../domain/webhook-messages.js';
import { AiStepError, type AiEngine } from './engine.js';

export interface AiWorkerOptions {
  /** Jobs running at once in this process. */
  concurrency: number;
  /** How long one attempt of a job may take, in ms, before it is abandoned and retried. */
  timeoutMs: number;
  /** Attempts before a job is kept as failed. */
  maxAttempts: number;
  /** The first retry's delay; each further one doubles it, up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often to look for due jobs (and new calls to transcribe) when nothing wakes the worker. */
  pollMs?: number;
  log?: { warn(obj: object, msg: string): void };
  registry?: Registry;
}

/** What a finished transcript starts: the summary and the rating, as SIPSIM does. */
const AFTER_TRANSCRIPTION: AiKind[] = ['summary', 'rating'];

/**
 * Runs the AI jobs the store holds. Every serving process runs one; they share
 * the work through leased claims (see ClaimLoop and LeasedQueue), so a job is
 * run by one worker at a time and taken up again if that worker dies. A claim
 * lasts the job's timeout and a margin, and an attempt is abandoned at its
 * timeout, so a lease never runs out under a job still running here.
 */
export class AiWorker {
  private readonly attempts;
  private lastSweep = 0;
  private readonly loop: ClaimLoop<ClaimedJob>;

  constructor(
    private readonly jobs: AiJobStore,
    private readonly settings: AiSettingsStore,
    private readonly engine: AiEngine,
    private readonly options: AiWorkerOptions,
  ) {
    this.attempts = new Counter({
      name: 'sipsim_ai_job_attempts_total',
      help: 'AI job attempts (transcription, summary, rating), by kind and result: done, retry or failed',
      labelNames: ['kind', 'result'],
      registers: options.registry ? [options.registry] : [],
    });
    const pollMs = options.pollMs ?? 500;
    this.loop = new ClaimLoop({
      concurrency: options.concurrency,
      pollMs,
      leaseMs: this.leaseMs,
      claimDue: (limit, now, leaseUntil) => jobs.claimDue(limit, now, leaseUntil),
      attempt: (job) => this.attempt(job),
      onQueued: (listener) => jobs.onQueued(listener),
      beforeClaim: async () => {
        if (Date.now() - this.lastSweep >= pollMs) await this.queueNewCalls();
      },
      log: options.log,
      warnings: { idKey: 'job', claimFailed: 'AI worker could not claim jobs', attemptFailed: 'AI job could not be recorded' },
    });
  }

  get leaseMs(): number {
    return this.options.timeoutMs + 5_000;
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Stops claiming and waits for the jobs in flight (each ends within its timeout; stopping aborts them). */
  async stop(): Promise<void> {
    await this.loop.stop();
  }

  settled(): Promise<void> {
    return this.loop.settled();
  }

  /** Queues the transcription of new calls in accounts that transcribe automatically. */
  private async queueNewCalls(): Promise<void> {
    this.lastSweep = Date.now();
    for (const { accountId, callId } of await this.settings.takeNewCallsToTranscribe()) {
      const call = await this.jobs.callFacts(accountId, callId);
      if (call && !(await this.engine.cannotTranscribe(call))) await this.jobs.request(accountId, callId, 'transcription');
    }
  }

  private async attempt(job: ClaimedJob): Promise<void> {
    if (!this.loop.running) {
      await this.jobs.finish(job, { result: 'release' }, Date.now());
      return;
    }
    let outcome: JobOutcome;
    try {
      outcome = await withTimeout(this.options.timeoutMs, this.loop.stopping, (signal) => this.run(job, signal));
    } catch (error) {
      if (!this.loop.running) {
        await this.jobs.finish(job, { result: 'release' }, Date.now());
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof AiStepError && error.permanent;
      if (permanent || job.attempts >= this.options.maxAttempts) {
        outcome = { result: 'failed', error: permanent ? message : `gave up after ${job.attempts} attempts: ${message}` };
      } else {
        outcome = { result: 'retry', error: message, nextAttemptAt: Date.now() + backoffAfterAttempt(job.attempts, this.options.retryBaseMs, this.options.retryMaxMs) };
      }
    }
    this.attempts.inc({ kind: job.kind, result: outcome.result });
    await this.jobs.finish(job, outcome, Date.now());
  }

  /** One attempt of a job: its result, its webhook and the jobs it starts. */
  private async run(job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome> {
    const call = await this.jobs.callFacts(job.accountId, job.callId);
    if (!call) throw new AiStepError(`call ${job.callId} no longer exists`, true);
    if (job.kind === 'transcription') {
      const checked = checkSegments(await this.engine.transcribe(call, signal));
      if ('problem' in checked) throw new AiStepError(`the recognizer's answer was not usable: ${checked.problem}`);
      return { result: 'done', value: { segments: checked.segments }, webhooks: [speechMessage(call, checked.segments)], then: this.engine.summarizes ? AFTER_TRANSCRIPTION : [] };
    }
    const segments = await this.transcriptOf(call);
    const settings = await this.settings.get(call.accountId);
    if (job.kind === 'summary') {
      const summary = await this.engine.summarize(call, segments, settings.summaryInstructions, signal);
      if (typeof summary !== 'string' || !summary.trim()) throw new AiStepError('the language model answered with an empty summary');
      return { result: 'done', value: { summary: summary.trim() }, webhooks: [summaryMessage(call, job.id, summary.trim())], then: [] };
    }
    const checked = checkRating(await this.engine.rate(call, segments, settings.ratingCriteria, signal), settings.ratingCriteria);
    if ('problem' in checked) throw new AiStepError(`the language model's rating was not usable: ${checked.problem}`);
    return { result: 'done', value: checked.rating, webhooks: [ratingMessage(call, checked.rating)], then: [] };
  }

  private async transcriptOf(call: CallFacts): Promise<Segment[]> {
    const transcript = await this.jobs.get(call.accountId, call.id, 'transcription');
    if (transcript?.status !== 'done') throw new AiStepError(`call ${call.id} has no transcript yet: transcribe it first`, true);
    return (transcript.result as { segments: Segment[] }).segments;
  }
}

/**
 * Runs a step with a signal that aborts at the timeout or when `stop` does;
 * rejects then even if the step ignores its signal.
 */
async function withTimeout<T>(timeoutMs: number, stop: AbortSignal, step: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onStop: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new AiStepError(`no result within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    onStop = () => {
      controller.abort();
      reject(new AiStepError('stopped'));
    };
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
  });
  try {
    return await Promise.race([step(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
    if (onStop) stop.removeEventListener('abort', onStop);
  }
}
