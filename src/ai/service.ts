import { speechStateOf, type AiKind, type Rating, type Segment } from '../domain/ai.js';
import type { AiJob } from '../store/ai-job-store.js';
import { NotFoundError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { AiEngine } from './engine.js';

export type RequestOutcome =
  | { result: 'queued'; job: AiJob | null }
  | { result: 'off' }
  | { result: 'busy'; job: AiJob }
  | { result: 'cannot'; reason: string };

/**
 * How the API asks for transcripts, summaries and ratings; the worker makes them.
 * A call the account does not have is a NotFoundError, as everywhere.
 */
export class AiService {
  constructor(
    private readonly store: Store,
    /** Null when the server has no engine: requests then say so. */
    readonly engine: AiEngine | null,
  ) {}

  async requestTranscription(accountId: number, callId: number): Promise<RequestOutcome> {
    const call = await this.store.aiJobs.callFacts(accountId, callId);
    if (!call) throw new NotFoundError('Call');
    if (!this.engine) return { result: 'off' };
    const reason = await this.engine.cannotTranscribe(call);
    if (reason) return { result: 'cannot', reason };
    const requested = await this.store.aiJobs.request(accountId, callId, 'transcription');
    return 'busy' in requested ? { result: 'busy', job: requested.busy } : { result: 'queued', job: requested.queued };
  }

  /**
   * A summary or rating is made from the transcript. With one, it is made
   * again now; while the transcript is in progress, it follows it; without one,
   * the call is transcribed first, and the summary and rating follow.
   */
  async requestFromTranscript(accountId: number, callId: number, kind: Exclude<AiKind, 'transcription'>): Promise<RequestOutcome> {
    if (!(await this.store.aiJobs.callFacts(accountId, callId))) throw new NotFoundError('Call');
    // A recognizer with no language model beside it transcribes, and no more.
    if (!this.engine?.summarizes) return { result: 'off' };
    const transcript = await this.store.aiJobs.get(accountId, callId, 'transcription');
    if (transcript?.status === 'done') {
      const requested = await this.store.aiJobs.request(accountId, callId, kind);
      return 'busy' in requested ? { result: 'busy', job: requested.busy } : { result: 'queued', job: requested.queued };
    }
    if (transcript?.status === 'pending') return { result: 'queued', job: null };
    const transcription = await this.requestTranscription(accountId, callId);
    return transcription.result === 'queued' ? { result: 'queued', job: null } : transcription;
  }
}

/** The transcript of a call as GET /calls/{id}/transcription answers it. */
export function transcriptionResource(job: AiJob) {
  return {
    speech_state: speechStateOf(job.status),
    payload: job.status === 'done' ? (job.result as { segments: Segment[] }).segments : [],
    ...(job.status === 'failed' ? { error: job.lastError ?? 'failed' } : {}),
  };
}

export function summaryResource(job: AiJob) {
  return {
    id: job.id,
    call_id: job.callId,
    status: job.status,
    summary: job.status === 'done' ? (job.result as { summary: string }).summary : null,
    ...(job.status === 'failed' ? { error: job.lastError ?? 'failed' } : {}),
  };
}

export function ratingResource(job: AiJob) {
  const rating = job.status === 'done' ? (job.result as Rating) : null;
  return {
    call_id: job.callId,
    status: job.status,
    overall_score: rating?.overall_score ?? null,
    criteria_scores: rating?.criteria_scores ?? [],
    highlights: rating?.highlights ?? [],
    improvements: rating?.improvements ?? [],
    ...(job.status === 'failed' ? { error: job.lastError ?? 'failed' } : {}),
  };
}
