import { send } from '@fastify/send';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { ApiError } from '../../../domain/errors.js';
import { nowSeconds } from '../../../domain/time.js';
import type { RecordingService } from '../../../recordings/service.js';
import { errors } from '../../schemas/responses.js';

/**
 * GET /recordings/{token}: plays a recording a PBX handed over (see
 * ingest/put-recording.ts), by a signed link, with HTTP Range so that a player
 * can seek.
 */
export function registerPlayRecording(app: FastifyInstance, recordings: RecordingService): void {
  app.get<{ Params: { token: string } }>(
    '/recordings/:token',
    {
      // The signed link is the credential: a browser's <audio> sends no token.
      config: { access: 'public' },
      schema: {
        tags: ['Calls'],
        operationId: 'playRecording',
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
