import { ratingResource, summaryResource, transcriptionResource, type RequestOutcome } from '../../../ai/service.js';
import type { AiKind } from '../../../domain/ai.js';
import { ApiError } from '../../../domain/errors.js';
import type { Scope } from '../../../domain/scopes.js';
import { RatingResource, Summary, Transcription } from '../../schemas/ai.js';

/**
 * The AI results of a call: POST starts the work (201, asynchronous), GET
 * answers where it stands (create-ai-result.ts, get-ai-result.ts). A
 * transcript is followed by a summary and a rating; both are made from the
 * transcript. Each kind is one pair of operations: createTranscription and
 * getTranscription, createSummary and getSummary, createRating and getRating.
 */
export interface AiResultRoute {
  kind: AiKind;
  path: string;
  read: Scope;
  write: Scope;
  schema: typeof Transcription | typeof Summary | typeof RatingResource;
  describe: string;
}

export const AI_RESULT_ROUTES: AiResultRoute[] = [
  {
    kind: 'transcription',
    path: 'transcription',
    read: 'calls.transcription.read',
    write: 'calls.transcription.write',
    schema: Transcription,
    describe: "Transcribes the call's recording, channel by channel: the caller on channel 0, the receiver on channel 1",
  },
  { kind: 'summary', path: 'summary', read: 'calls.summary.read', write: 'calls.summary.write', schema: Summary, describe: "Summarises the call from its transcript, following the account's summary instructions" },
  { kind: 'rating', path: 'rating', read: 'calls.summary.read', write: 'calls.summary.write', schema: RatingResource, describe: "Rates the call from its transcript against the account's rating criteria" },
];

export const resource = { transcription: transcriptionResource, summary: summaryResource, rating: ratingResource };

export const NAMES: Record<AiKind, string> = { transcription: 'Transcription', summary: 'Summary', rating: 'Rating' };

/** A summary or rating that will be made once the call's transcript is: it has no record yet. */
export function waiting(kind: AiKind, callId: number) {
  if (kind === 'summary') return { call_id: callId, status: 'pending', summary: null };
  if (kind === 'rating') return { call_id: callId, status: 'pending', overall_score: null, criteria_scores: [], highlights: [], improvements: [] };
  return { speech_state: 'speech_sent_to_recognition', payload: [] };
}

export function refuse(outcome: Exclude<RequestOutcome, { result: 'queued' }>, callId: number, kind: AiKind): never {
  switch (outcome.result) {
    case 'off':
      throw new ApiError('AI_OFF');
    case 'cannot':
      throw new ApiError('NO_RECORDING', outcome.reason);
    case 'busy':
      throw new ApiError('CONFLICT', `A ${kind} of call ${callId} is already in progress: GET it until it is done`);
  }
}
