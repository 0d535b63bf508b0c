import type { FastifyInstance } from 'fastify';
import { ApiError } from '../../../domain/errors.js';
import { ingestEvents } from '../../../ingest/ingest.js';
import type { Store } from '../../../store/store.js';
import { sendData } from '../../envelope.js';
import { EventsAccepted, PbxEventsBody, PbxEventsBodyDocumented, documentBodyAs } from '../../schemas/ingest.js';
import { BODY_ERRORS, Data, errors } from '../../schemas/responses.js';

/**
 * A PBX posts each call's lifecycle events here as they happen. Events of one
 * call are assembled by pbx_id whatever order they come in; the call appears
 * in the list once it has ended. A bad event is reported and the others taken.
 */
export function registerPostPbxEvents(app: FastifyInstance, store: Store): void {
  app.post<{ Body: unknown }>(
    '/api/v2/pbx/events',
    {
      config: { access: { scope: 'calls.write', clientCredentials: true }, swaggerTransform: documentBodyAs(PbxEventsBodyDocumented) },
      schema: {
        tags: ['Ingest'],
        operationId: 'postPbxEvents',
        summary: 'Post call-lifecycle events from a PBX',
        description:
          'Events shaped as SIPSIM\'s webhooks, and SMS sent or received on the account\'s numbers (`sms`, which sends the sms webhook). Repeats change nothing. Answers 202 with the outcome of each event; ' +
          'a post in which no event could be taken is a 400 that names each problem.',
        body: PbxEventsBody,
        response: { 202: Data(EventsAccepted, 'The events were taken; each one\'s outcome', 202), ...errors(...BODY_ERRORS) },
      },
    },
    async (request, reply) => {
      const values = Array.isArray(request.body) ? request.body : [request.body];
      if (values.length === 0) throw new ApiError('INVALID_BODY', 'The body must hold at least one event');
      const { events, calls, refusedCalls } = await ingestEvents(store, request.auth!.accountId, values);
      if (events.every((e) => e.status === 'rejected')) {
        const prefix = (i: number) => (Array.isArray(request.body) ? `events[${i}]: ` : '');
        throw new ApiError('INVALID_BODY', events.map((e, i) => `${prefix(i)}${'error' in e ? e.error : ''}`));
      }
      const count = (status: string) => events.filter((e) => e.status === status).length;
      return sendData(
        request,
        reply,
        {
          accepted: count('accepted'),
          duplicates: count('duplicate'),
          rejected: count('rejected'),
          events: events.map((e, index) =>
            'error' in e
              ? { index, status: e.status, error: e.error }
              : 'pbxId' in e
                ? { index, status: e.status, pbx_id: e.pbxId }
                : { index, status: e.status, ...(e.smsId === undefined ? {} : { sms_id: e.smsId }) },
          ),
          calls: calls.map((c) => ({ pbx_id: c.pbxId, id: c.id, outcome: c.outcome })),
          refused_calls: refusedCalls.map((c) => ({ pbx_id: c.pbxId, error: c.error })),
        },
        202,
      );
    },
  );
}
