import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';
import { NAMES, resource, waiting, type AiResultRoute } from './ai-results.js';

/** GET /api/v2/calls/{id}/{transcription,summary,rating}: getTranscription, getSummary or getRating, as `r` says. */
export function registerGetAiResult(app: FastifyInstance, store: Store, r: AiResultRoute): void {
  const name = NAMES[r.kind];
  app.get<{ Params: { id: number } }>(
    `/api/v2/calls/:id/${r.path}`,
    {
      config: { access: r.read },
      schema: {
        tags: ['AI'],
        operationId: `get${name}`,
        summary: `Retrieve the ${r.kind} of a call`,
        description: `Where the ${r.kind} stands, with its result once done. A 404 for a call whose ${r.kind} was never asked for.`,
        params: IdParams('call'),
        response: { 200: Data(r.schema, `The ${r.kind}`), ...errors(400, 404) },
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
