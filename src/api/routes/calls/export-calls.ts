import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { CallResource } from '../../../domain/call.js';
import {
  EXPORT_CONTENT_TYPES,
  encoderFor,
  exportFileName,
  parseExportCallsQuery,
  type CallEncoder,
  type ExportCallsQuery as ParsedQuery,
} from '../../../domain/call-export.js';
import type { Store } from '../../../store/store.js';
import { ExportCallsQuery } from '../../schemas/calls.js';
import { Download, errors } from '../../schemas/responses.js';

/**
 * The file's bytes: the header, then each batch of calls as the store walks
 * them. Pulled by the response stream, so that a slow client slows the walk
 * instead of filling memory. A store failure once bytes have left cannot
 * become an error answer: it is logged and rethrown, and the response is cut
 * off, so that the client never mistakes a partial file for a whole one.
 */
async function* fileOf(
  first: IteratorResult<CallResource[], void>,
  rest: AsyncGenerator<CallResource[], void, undefined>,
  encoder: CallEncoder,
  log: FastifyBaseLogger,
): AsyncGenerator<string> {
  let calls = 0;
  let finished = false;
  try {
    if (encoder.header) yield encoder.header;
    if (!first.done) {
      calls += first.value.length;
      yield encoder.encode(first.value);
      for await (const batch of rest) {
        calls += batch.length;
        yield encoder.encode(batch);
      }
    }
    finished = true;
  } catch (error) {
    finished = true;
    log.error({ err: error, calls }, 'call export failed after its response began; the transfer was cut off');
    throw error;
  } finally {
    if (!finished) log.info({ calls }, 'call export stopped: the client went away');
  }
}

export function registerExportCalls(app: FastifyInstance, store: Store): void {
  const parsed = new WeakMap<FastifyRequest, ParsedQuery>();

  app.get(
    '/api/v2/calls/export',
    {
      config: { access: 'calls.read' },
      // As on GET /calls, the domain parser words every refusal before the schema sees the query.
      preValidation: async (request) => {
        const query = request.query as Record<string, unknown>;
        const result = parseExportCallsQuery(query, request.auth!.accountId, request.headers.accept);
        parsed.set(request, result);
        request.query = result.canonical;
      },
      schema: {
        tags: ['Calls'],
        operationId: 'exportCalls',
        summary: 'Export calls as CSV or NDJSON',
        description:
          'Every call the filters of GET /api/v2/calls select, newest first, in one streamed file with no page limit. ' +
          'CSV (RFC 4180, a header row, CRLF line breaks; a text cell that a spreadsheet would run as a formula gets a ' +
          'leading apostrophe, plain numbers such as +33612345678 excepted) or NDJSON (one call object per line, as the ' +
          'list serves it). A failure once the file has started ends the transfer abnormally, never as a complete file.',
        querystring: ExportCallsQuery,
        response: {
          200: Download(
            'The calls, as a file to save',
            {
              'text/csv': Type.String({ description: 'A header row, then one row per call' }),
              'application/x-ndjson': Type.String({ description: 'One Call object (components.schemas.Call) per line' }),
            },
            { 'Content-Disposition': { type: 'string', description: 'attachment; filename="calls-<start>-<end>.<csv|ndjson>"' } },
          ),
          ...errors(400),
        },
      },
    },
    async (request, reply) => {
      const { filter, format, fields } = parsed.get(request)!;
      // A CSV reads only the columns it writes; NDJSON lines are whole calls.
      const batches = store.calls.export(request.auth!.accountId, filter, undefined, format === 'csv' ? fields : undefined);
      // The first batch is read before the status line goes out, so that a
      // store that is down still gets its 503 in the error envelope.
      const first = await batches.next();
      const body = Readable.from(fileOf(first, batches, encoderFor(format, fields), request.log), { objectMode: false });
      return reply
        .type(EXPORT_CONTENT_TYPES[format])
        .header('Content-Disposition', `attachment; filename="${exportFileName(filter, format)}"`)
        .send(body);
    },
  );
}
