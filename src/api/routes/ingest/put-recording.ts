import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../../domain/errors.js';
import { nowSeconds } from '../../../domain/time.js';
import { NotAudioError, RecordingTooLargeError } from '../../../recordings/files.js';
import type { RecordingService } from '../../../recordings/service.js';
import { baseUrlOf } from '../../base-url.js';
import { sendData } from '../../envelope.js';
import { hinted } from '../../schemas/common.js';
import { Data, errors } from '../../schemas/responses.js';

const PbxIdParams = Type.Object(
  { pbx_id: hinted('^[^\\u0000-\\u001f/]{1,200}$', 'the call\'s id in the PBX: 1 to 200 characters, no slash or control character', { description: "The call's id in the PBX, as its events and records give it" }) },
  { additionalProperties: false },
);

const StoredRecording = Type.Object(
  {
    pbx_id: Type.String({ description: "The call's id in the PBX" }),
    content_type: Type.String({ enum: ['audio/wav', 'audio/mpeg', 'audio/ogg'], description: 'The format, told from the file itself' }),
    size_bytes: Type.Integer({ minimum: 1, description: 'Bytes stored' }),
    play_record_link: Type.String({ description: 'A link that plays it without a token, for a limited time' }),
  },
  { additionalProperties: false, description: 'A recording sipsim now holds' },
);

/**
 * PUT /api/v2/pbx/recordings/{pbx_id}: a PBX hands over a call's audio,
 * streamed to disk; GET /recordings/{token} plays it (see play-recording.ts).
 */
export function registerPutRecording(app: FastifyInstance, recordings: RecordingService): void {
  app.register(async (scope) => {
    // The body reaches the route as the request stream: it is written to disk as it arrives, never held whole.
    const passStream = (_request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
    scope.addContentTypeParser(/^audio\//, passStream);
    scope.addContentTypeParser('application/octet-stream', passStream);

    scope.put<{ Params: { pbx_id: string } }>(
      '/api/v2/pbx/recordings/:pbx_id',
      {
        config: { access: { scope: 'calls.write', clientCredentials: true } },
        bodyLimit: recordings.config.maxBytes,
        schema: {
          tags: ['Ingest'],
          operationId: 'putRecording',
          summary: "Hand over a call's recording",
          description:
            'The audio of the call the PBX knows by pbx_id, as the body (WAV, MP3 or Ogg, told from its first bytes; ' +
            'Content-Type audio/* or application/octet-stream). A stereo recording has the caller on the left channel. ' +
            'Sent again, it replaces the earlier one. The call may arrive before or after it.',
          params: PbxIdParams,
          response: { 201: Data(StoredRecording, 'Stored', 201), ...errors(400, 413, 415) },
        },
      },
      async (request, reply) => {
        const body = request.body as (AsyncIterable<Buffer> & { destroy?(): void }) | undefined;
        if (!body || typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function') {
          throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `${request.headers['content-type'] ?? 'none'} (send the audio as audio/* or application/octet-stream)`);
        }
        const accountId = request.auth!.accountId;
        try {
          const saved = await recordings.save(accountId, request.params.pbx_id, body);
          return sendData(
            request,
            reply,
            {
              pbx_id: saved.pbxId,
              content_type: saved.contentType,
              size_bytes: saved.sizeBytes,
              play_record_link: await recordings.link(baseUrlOf(request), accountId, saved.pbxId, nowSeconds()),
            },
            201,
          );
        } catch (error) {
          if (error instanceof RecordingTooLargeError) throw new ApiError('BODY_TOO_LARGE');
          if (error instanceof NotAudioError) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `${request.headers['content-type']}: ${error.message}`);
          throw error;
        }
      },
    );
  });
}
