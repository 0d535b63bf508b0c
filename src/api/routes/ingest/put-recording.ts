import { send } from '@fastify/send';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../domain/errors.js';
import { nowSeconds } from '../../domain/time.js';
import { NotAudioError, RecordingTooLargeError } from '../../recordings/files.js';
import type { RecordingService } from '../../recordings/service.js';
import type { Store } from '../../store/store.js';
import { sendData } from '../envelope.js';
import { requireScope } from '../plugins/auth.js';
import { hinted } from '../schemas/common.js';
import { Data, GUARDED, PUBLIC, errors, needsFromPbx } from '../schemas/responses.js';

/** The base URL clients reached this server at, for links in answers. */
export const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

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
 * streamed to disk; GET /recordings/{token}: plays it, by a signed link, with
 * HTTP Range so that a player can seek.
 */
export function registerRecordings(app: FastifyInstance, store: Store, recordings: RecordingService): void {
  app.register(async (scope) => {
    // The body reaches the route as the request stream: it is written to disk as it arrives, never held whole.
    const passStream = (_request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => done(null, payload);
    scope.addContentTypeParser(/^audio\//, passStream);
    scope.addContentTypeParser('application/octet-stream', passStream);

    scope.put<{ Params: { pbx_id: string } }>(
      '/api/v2/pbx/recordings/:pbx_id',
      {
        config: { clientCredentials: true },
        preValidation: requireScope(store, 'calls.write'),
        bodyLimit: recordings.config.maxBytes,
        schema: {
          tags: ['Ingest'],
          operationId: 'putRecording',
          summary: "Hand over a call's recording",
          description:
            'The audio of the call the PBX knows by pbx_id, as the body (WAV, MP3 or Ogg, told from its first bytes; ' +
            'Content-Type audio/* or application/octet-stream). A stereo recording has the caller on the left channel. ' +
            'Sent again, it replaces the earlier one. The call may arrive before or after it.',
          ...needsFromPbx('calls.write'),
          params: PbxIdParams,
          response: { 201: Data(StoredRecording, 'Stored', 201), ...errors(400, 413, 415, ...GUARDED) },
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

  app.get<{ Params: { token: string } }>(
    '/recordings/:token',
    {
      schema: {
        tags: ['Calls'],
        operationId: 'playRecording',
        // The signed link is the credential: a browser's <audio> sends no token.
        ...PUBLIC,
        summary: 'Play a recording by its link',
        description:
          "What a call's play_record_link points at when sipsim holds the recording: no token needed while the link lasts. " +
          'Answers Range requests (206) so that players can seek. A 404 for a link that is not one of ours, a 410 once it has expired or the audio was deleted.',
        params: Type.Object({ token: Type.String({ maxLength: 1000 }) }, { additionalProperties: false }),
        response: {
          200: { description: 'The audio', content: { 'audio/wav': { schema: {} }, 'audio/mpeg': { schema: {} }, 'audio/ogg': { schema: {} } } },
          206: { description: 'The part of the audio asked for with Range' },
          ...errors(404),
          410: { description: 'The link expired, or the audio was deleted under the retention rule' },
        },
      },
    },
    async (request, reply) => {
      const found = await recordings.resolve(request.params.token, nowSeconds());
      if (found === null) throw new ApiError('NOT_FOUND', 'Recording');
      if (found === 'expired') throw new ApiError('GONE', 'This recording link has expired: get a fresh one from the call');
      if (found === 'gone') throw new ApiError('GONE', "This recording's audio is no longer kept");
      const result = await send(request.raw, found.path, { acceptRanges: true, etag: true, lastModified: true, cacheControl: false, dotfiles: 'allow' });
      if (result.type === 'error') throw new ApiError('GONE', "This recording's audio is no longer kept");
      reply.code(result.statusCode).headers(result.headers as Record<string, string>);
      reply.header('content-type', found.contentType).header('cache-control', 'private, max-age=300');
      return reply.send(result.stream);
    },
  );
}
