import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import { deepTextProblem } from '../../../domain/text.js';
import { recordFromFreeswitchCdr, skippedFreeswitchLeg } from '../../../ingest/formats/freeswitch-json.js';
import { importRecords } from '../../../ingest/ingest.js';
import type { FormatOptions } from '../../../ingest/record.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { CdrStored, FreeswitchCdrBody } from '../../schemas/ingest.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

/** mod_json_cdr's `encode` setting sends the record raw, url-encoded as `cdr=`, or base64 in `cdr=`. */
function cdrOf(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError('INVALID_BODY', 'The body must be a mod_json_cdr record');
  const form = (body as { cdr?: unknown }).cdr;
  if (form === undefined) return body;
  if (typeof form !== 'string') throw new ApiError('INVALID_BODY', "'cdr' must be sent once, as JSON text");
  const text = form.trimStart().startsWith('{') ? form : Buffer.from(form, 'base64').toString('utf8');
  let cdr: unknown;
  try {
    cdr = JSON.parse(text);
  } catch {
    throw new ApiError('INVALID_BODY', "'cdr' must hold the record as JSON (or base64 of it)");
  }
  // The body parsers check text as it arrives; this record was still encoded then.
  const problem = deepTextProblem(cdr);
  if (problem) throw new ApiError('INVALID_BODY', `Text in 'cdr' ${problem}`);
  return cdr;
}

/**
 * FreeSWITCH posts each call's record here as the call ends (mod_json_cdr's
 * `url`, with `cred` as HTTP Basic client credentials), so a FreeSWITCH box
 * feeds sipsim with nothing in between. A record posted again (mod_json_cdr
 * retries) changes nothing. Any answer but 2xx makes FreeSWITCH retry and
 * then keep the record in its error folder.
 */
export function registerPostFreeswitchCdr(app: FastifyInstance, store: Store, options: FormatOptions): void {
  app.post<{ Body: unknown }>(
    '/api/v2/pbx/freeswitch/cdr',
    {
      config: { access: { scope: 'calls.write', clientCredentials: true } },
      schema: {
        tags: ['Ingest'],
        operationId: 'postFreeswitchCdr',
        summary: 'Take a call record from FreeSWITCH mod_json_cdr',
        body: {
          content: {
            'application/json': { schema: FreeswitchCdrBody },
            'application/x-www-form-urlencoded': { schema: FreeswitchCdrBody },
          },
        },
        response: {
          200: Data(CdrStored, 'The call the record created, updated or left as it was; or, for a B-leg, why it was left out'),
          ...errors(...BODY_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const cdr = cdrOf(request.body);
      // With log-b-leg on, FreeSWITCH posts both legs; a 2xx for the B-leg keeps it from retrying.
      const skipped = skippedFreeswitchLeg(cdr);
      if (skipped) return sendData(request, reply, { skipped });
      const record = recordFromFreeswitchCdr(cdr, options);
      if (typeof record === 'string') throw new ApiError('INVALID_BODY', record);
      // A CDR is posted as its call ends: the call's end webhook goes out with it (a repeat post creates nothing, so sends nothing).
      const [result] = await importRecords(store, request.auth!.accountId, [record], undefined, { notify: true });
      if (!result || 'error' in result) throw new ApiError('INVALID_BODY', result && 'error' in result ? result.error : 'The record could not be read');
      return sendData(request, reply, { pbx_id: result.pbxId, id: result.id, outcome: result.outcome });
    },
  );
}
