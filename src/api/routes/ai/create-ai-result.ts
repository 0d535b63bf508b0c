import type { FastifyInstance } from 'fastify';
import { ratingResource, summaryResource, transcriptionResource, type AiService, type RequestOutcome } from '../../ai/service.js';
import type { AiKind } from '../../domain/ai.js';
import { ApiError } from '../../domain/errors.js';
import type { Scope } from '../../domain/scopes.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { RatingResource, Summary, Transcription } from '../schemas/ai.js';
import { IdParams } from '../schemas/common.js';
import { Data, GUARDED, errors, needs } from '../schemas/responses.js';

const NAMES: Record<AiKind, string> = { transcription: 'Transcription', summary: 'Summary', rating: 'Rating' };

/** A summary or rating that will be made once the call's transcript is: it has no record yet. */
function waiting(kind: AiKind, callId: number) {
  if (kind === 'summary') return { call_id: callId, status: 'pending', summary: null };
  if (kind === 'rating') return { call_id: callId, status: 'pending', overall_score: null, criteria_scores: [], highlights: [], improvements: [] };
  return { speech_state: 'speech_sent_to_recognition', payload: [] };
}

function refuse(outcome: Exclude<RequestOutcome, { result: 'queued' }>, callId: number, kind: AiKind): never {
  switch (outcome.result) {
    case 'no-call':
      // Another account's call is reported exactly like a missing one.
      throw new ApiError('NOT_FOUND', 'Call');
    case 'off':
      throw new ApiError('AI_OFF');
    case 'cannot':
      throw new ApiError('NO_RECORDING', outcome.reason);
    case 'busy':
      throw new ApiError('CONFLICT', `A ${kind} of call ${callId} is already in progress: GET it until it is done`);
  }
}

/**
 * The AI features of a call: POST starts the work (201, asynchronous), GET
 * answers where it stands. A transcript is followed by a summary and a rating;
 * both are made from the transcript.
 */
export function registerCallAi(app: FastifyInstance, store: Store, service: AiService): void {
  const routes: Array<{ kind: AiKind; path: string; read: Scope; write: Scope; schema: typeof Transcription | typeof Summary | typeof RatingResource; describe: string }> = [
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
  const resource = { transcription: transcriptionResource, summary: summaryResource, rating: ratingResource };

  for (const r of routes) {
    const name = NAMES[r.kind];
    app.post<{ Params: { id: number } }>(
      `/api/v2/calls/:id/${r.path}`,
      {
        preValidation: requireScope(store, r.write),
        schema: {
          tags: ['AI'],
          operationId: `create${name}`,
          summary: `Start the ${r.kind} of a call`,
          description:
            `${r.describe}. Answers 201 at once; the work runs in the background, and GET answers where it stands` +
            (r.kind === 'transcription' ? '; a speech webhook goes out when it is done, then summary and rating ones.' : '; its webhook goes out when it is done.') +
            ' A 409 when the call has no recording or the same work is already in progress; a 503 when this server has no engine.',
          ...needs(r.write),
          params: IdParams('call'),
          response: { 201: Data(r.schema, `The ${r.kind}, started`, 201), ...errors(400, 404, 409, ...GUARDED) },
        },
      },
      async (request, reply) => {
        const accountId = request.auth!.accountId;
        const callId = request.params.id;
        const outcome =
          r.kind === 'transcription' ? await service.requestTranscription(accountId, callId) : await service.requestFromTranscript(accountId, callId, r.kind);
        if (outcome.result !== 'queued') refuse(outcome, callId, r.kind);
        // A summary or rating that waits for the transcript has no row yet: it is shown as pending.
        return sendData(request, reply, outcome.job ? resource[r.kind](outcome.job) : waiting(r.kind, callId), 201);
      },
    );

    app.get<{ Params: { id: number } }>(
      `/api/v2/calls/:id/${r.path}`,
      {
        preValidation: requireScope(store, r.read),
        schema: {
          tags: ['AI'],
          operationId: `get${name}`,
          summary: `Retrieve the ${r.kind} of a call`,
          description: `Where the ${r.kind} stands, with its result once done. A 404 for a call whose ${r.kind} was never asked for.`,
          ...needs(r.read),
          params: IdParams('call'),
          response: { 200: Data(r.schema, `The ${r.kind}`), ...errors(400, 404, ...GUARDED) },
        },
      },
      async (request, reply) => {
        const accountId = request.auth!.accountId;
        const callId = request.params.id;
        const job = await store.aiJobs.get(accountId, callId, r.kind);
        if (job) return sendData(request, reply, resource[r.kind](job));
        if (!(await store.aiJobs.callFacts(accountId, callId))) throw new ApiError('NOT_FOUND', 'Call');
        if (r.kind !== 'transcription') {
          const transcript = await store.aiJobs.get(accountId, callId, 'transcription');
          // Made once the transcript is: pending until then.
          if (transcript && transcript.status !== 'failed') return sendData(request, reply, waiting(r.kind, callId));
        }
        throw new ApiError('NOT_FOUND', `${name} of call ${callId} (POST to this path to start one)`);
      },
    );
  }
}
