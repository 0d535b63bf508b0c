import type { RatingCriterion, Segment } from '../domain/ai.js';
import type { CallFacts } from '../store/ai-job-store.js';

/**
 * What transcribes, summarises and rates calls: the sandbox's built-in
 * engine for demo calls, or OpenAI-compatible servers reached over HTTP.
 * Each step gets a signal that aborts it when the job's time is up.
 */
export interface AiEngine {
  /** Says what it is, for the startup banner and logs. */
  readonly description: string;
  /** Whether it makes summaries and ratings too; a transcript is followed by them only then. */
  readonly summarizes: boolean;
  /** Why this call cannot be transcribed (no recording), or null when it can. */
  cannotTranscribe(call: CallFacts): Promise<string | null>;
  transcribe(call: CallFacts, signal: AbortSignal): Promise<Segment[]>;
  summarize(call: CallFacts, segments: Segment[], instructions: string | null, signal: AbortSignal): Promise<string>;
  /** Returns the rating as the engine gave it: the worker checks it (checkRating) before storing it. */
  rate(call: CallFacts, segments: Segment[], criteria: readonly RatingCriterion[], signal: AbortSignal): Promise<unknown>;
}

/**
 * A step that did not work. `permanent` ones (no recording, unreadable audio)
 * fail the job at once; others (an engine down, an answer that is not what
 * was asked for) are tried again with backoff.
 */
export class AiStepError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'AiStepError';
  }
}
