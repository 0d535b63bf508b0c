/**
 * The AI features' shapes: transcripts, summaries and ratings of calls, as the
 * SIPSIM documentation gives them, and the checks that whatever an engine
 * returns must pass before it is stored.
 */

export const AI_KINDS = ['transcription', 'summary', 'rating'] as const;
export type AiKind = (typeof AI_KINDS)[number];

/** pending: queued or in a worker's hands; done and failed are final until asked again. */
export type AiJobStatus = 'pending' | 'done' | 'failed';

/** The guide's transcription states; sipsim answers the first three through the API. */
export const SPEECH_STATES = [
  'speech_sent_to_recognition',
  'speech_recognized',
  'speech_recognition_failed',
  'speech_stored',
  'speech_storing_failed',
] as const;
export type SpeechState = (typeof SPEECH_STATES)[number];

export function speechStateOf(status: AiJobStatus): SpeechState {
  return status === 'done' ? 'speech_recognized' : status === 'failed' ? 'speech_recognition_failed' : 'speech_sent_to_recognition';
}

/** One stretch of speech: channel 0 is the caller (left), 1 the receiver (right); times in seconds from the start of the recording. */
export interface Segment {
  channel: 0 | 1;
  start: number;
  end: number;
  text: string;
}

export interface CriterionScore {
  name: string;
  score: number;
  feedback: string;
}

export interface Rating {
  overall_score: number;
  criteria_scores: CriterionScore[];
  highlights: string[];
  improvements: string[];
}

export interface RatingCriterion {
  name: string;
  description: string;
}

/** Scores run from 1 to 10, as in the documentation's examples. */
export const SCORE_MIN = 1;
export const SCORE_MAX = 10;

export const DEFAULT_RATING_CRITERIA: readonly RatingCriterion[] = Object.freeze([
  { name: 'Politeness', description: 'Greeting, tone and courtesy towards the caller' },
  { name: 'Problem Resolution', description: 'Whether the reason for the call was dealt with, and next steps agreed' },
  { name: 'Product Knowledge', description: 'Accurate, confident answers about products and services' },
]);

export interface AiSettings {
  summaryInstructions: string | null;
  ratingCriteria: RatingCriterion[];
  /** Answered calls longer than autoTranscribeMinSec are transcribed as they arrive. */
  autoTranscribe: boolean;
  autoTranscribeMinSec: number;
}

export const DEFAULT_AI_SETTINGS: AiSettings = Object.freeze({
  summaryInstructions: null,
  ratingCriteria: [...DEFAULT_RATING_CRITERIA],
  autoTranscribe: false,
  autoTranscribeMinSec: 30,
}) as AiSettings;

/** Seconds, rounded to milliseconds: what segments carry. */
export const roundSeconds = (s: number): number => Math.round(s * 1000) / 1000;

const isText = (v: unknown): v is string => typeof v === 'string';
const isScore = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= SCORE_MIN && (v as number) <= SCORE_MAX;

/**
 * A rating as an engine returned it, checked field by field against the
 * criteria asked for: every criterion scored once, scores whole numbers from
 * 1 to 10, lists of text. Returns the rating, or what is wrong with it.
 */
export function checkRating(value: unknown, criteria: readonly RatingCriterion[]): { rating: Rating } | { problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'the rating is not a JSON object' };
  const v = value as Record<string, unknown>;
  if (!isScore(v.overall_score)) return { problem: `overall_score must be an integer from ${SCORE_MIN} to ${SCORE_MAX}` };
  if (!Array.isArray(v.criteria_scores)) return { problem: 'criteria_scores must be an array' };
  const scores: CriterionScore[] = [];
  for (const item of v.criteria_scores as unknown[]) {
    const c = item as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || !isText(c.name) || !isScore(c.score) || !isText(c.feedback)) {
      return { problem: 'each of criteria_scores must have a name, an integer score from 1 to 10 and feedback' };
    }
    scores.push({ name: c.name, score: c.score, feedback: c.feedback });
  }
  const wanted = criteria.map((c) => c.name);
  const got = scores.map((s) => s.name);
  if (wanted.length !== got.length || wanted.some((name) => !got.includes(name))) {
    return { problem: `criteria_scores must score exactly: ${wanted.join(', ')}` };
  }
  for (const list of ['highlights', 'improvements'] as const) {
    if (!Array.isArray(v[list]) || !(v[list] as unknown[]).every(isText)) return { problem: `${list} must be an array of strings` };
  }
  // In the order the account set its criteria, whatever order the engine used.
  scores.sort((a, b) => wanted.indexOf(a.name) - wanted.indexOf(b.name));
  return {
    rating: {
      overall_score: v.overall_score,
      criteria_scores: scores,
      highlights: v.highlights as string[],
      improvements: v.improvements as string[],
    },
  };
}

/** Segments as an engine returned them, checked; sorted by start time. */
export function checkSegments(value: unknown): { segments: Segment[] } | { problem: string } {
  if (!Array.isArray(value)) return { problem: 'segments must be an array' };
  const segments: Segment[] = [];
  for (const item of value) {
    const s = item as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || (s.channel !== 0 && s.channel !== 1) || typeof s.start !== 'number' || typeof s.end !== 'number' || !isText(s.text)) {
      return { problem: 'each segment must have channel 0 or 1, start, end and text' };
    }
    if (!(s.start >= 0 && s.end >= s.start)) return { problem: 'a segment must end after it starts' };
    segments.push({ channel: s.channel, start: roundSeconds(s.start), end: roundSeconds(s.end), text: s.text });
  }
  return { segments: segments.sort((a, b) => a.start - b.start || a.channel - b.channel) };
}
