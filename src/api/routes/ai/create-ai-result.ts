import type { FastifyInstance } from 'fastify';
import type { AiService } from '../../../ai/service.js';
import { sendData } from '../../envelope.js';
import { IdParams } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';
import { NAMES, refuse, resource, waiting, type AiResultRoute } from './ai-results.js';

/** POST /api/v2/calls/{id}/{transcription,summary,rating}: createTranscription, createSummary or createRating, as `r` says. */
export function registerCreateAiResult(app: FastifyInstance, service: AiService, r: AiResultRoute): void {
  const name = NAMES[r.kind];
  app.post<{ Params: { id: number } }>(
    `/api/v2/calls/:id/${r.path}`,
    {
      config: { access: r.write },
      schema: {
        tags: ['AI'],
        operationId: `create${name}`,
        summary: `Start the ${r.kind} of a call`,
        description:
          `${r.describe}. Answers 201 at once; the work runs in the background, and GET answers where it stands` +
          (r.kind === 'transcription' ? '; a speech webhook goes out when it is done, then summary and rating ones.' : '; its webhook goes out when it is done.') +
          ' A 409 when the call has no recording or the same work is already in progress; a 503 when this server has no engine.',
        params: IdParams('call'),
        response: { 201: Data(r.schema, `The ${r.kind}, started`, 201), ...errors(400, 404, 409) },
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
}
