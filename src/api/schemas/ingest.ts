import Type from 'typebox';
import { PBX_EVENT_NAMES } from '../../ingest/events.js';

/**
 * Bodies and answers of the ways calls get in. Bodies are checked item by
 * item by the ingest code, so that one bad record is reported and the others
 * are still taken; the schemas here only bound the shape and the size.
 */

export const MAX_BATCH = 1000;

const AnyObject = Type.Object({}, { additionalProperties: true });
/** An item of a batch: checked one by one by the ingest code, so that one bad item is reported alone. */
const AnyItem = Type.Unknown({ description: 'An item, checked on its own' });

export const PbxEventsBody = Type.Union([AnyObject, Type.Array(AnyItem, { maxItems: MAX_BATCH })], {
  description:
    `One event or an array of up to ${MAX_BATCH}. An event: event (${PBX_EVENT_NAMES.join(', ')}), ` +
    'pbx_id (the PBX\'s id of the call, the same on all its events), caller, receiver (for an answer: who answered), ' +
    'time (RFC 3339 or Unix seconds), caller_name; end events add duration (seconds of talk), status ' +
    '(ANSWER, MISSED, BUSY, NOANSWER, CANCEL, UNAVAILABLE), sip_code (the final SIP code, which wins over status) and audio_path. ' +
    'An SMS: event "sms", caller (the sender), receiver, message, direction (inbound or outbound), time (optional: when it was received).',
  examples: [
    { event: 'incoming_call_start', caller: '+33612345678', receiver: '+33198765432', time: '2025-01-15T10:30:00Z', pbx_id: 'call_abc123' },
    { event: 'sms', caller: '+33612345678', receiver: '+33198765432', message: 'Can you call me back?', direction: 'inbound' },
  ],
});

export const EventsAccepted = Type.Object(
  {
    accepted: Type.Integer({ minimum: 0, description: 'New events stored' }),
    duplicates: Type.Integer({ minimum: 0, description: 'Events already received, which changed nothing' }),
    rejected: Type.Integer({ minimum: 0, description: 'Events refused; see events[].error' }),
    events: Type.Array(
      Type.Object(
        {
          index: Type.Integer({ minimum: 0 }),
          status: Type.String({ enum: ['accepted', 'duplicate', 'rejected'] }),
          pbx_id: Type.Optional(Type.String()),
          sms_id: Type.Optional(Type.Integer({ minimum: 1, description: 'The SMS stored, for an sms event' })),
          error: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
      { description: 'Each event\'s outcome, in the order posted' },
    ),
    calls: Type.Array(
      Type.Object(
        { pbx_id: Type.String(), id: Type.Integer({ minimum: 1 }), outcome: Type.String({ enum: ['created', 'updated', 'unchanged'] }) },
        { additionalProperties: false },
      ),
      { description: 'The calls these events completed or changed' },
    ),
  },
  { additionalProperties: false },
);

export const ImportQuery = Type.Object(
  {
    emit_webhooks: Type.Optional(
      Type.Boolean({ description: 'Queue the end webhook of each call this import creates. Off by default: history is not news.' }),
    ),
  },
  { additionalProperties: false },
);

export const ImportBody = Type.Union(
  [
    Type.Array(AnyItem, { minItems: 1, maxItems: MAX_BATCH }),
    Type.Object({ calls: Type.Array(AnyItem, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
  ],
  {
    description:
      `Up to ${MAX_BATCH} finished calls, as an array or as {"calls": [...]}: the call object's fields plus pbx_id ` +
      '(the key that makes a repeat an update), caller_name, and tags by name (created when missing).',
  },
);

const RecordOutcome = Type.Object(
  {
    index: Type.Integer({ minimum: 0 }),
    pbx_id: Type.Union([Type.String(), Type.Null()]),
    status: Type.String({ enum: ['created', 'updated', 'unchanged', 'rejected'] }),
    id: Type.Optional(Type.Integer({ minimum: 1, description: 'The call\'s id' })),
    error: Type.Optional(Type.String({ description: 'Why the record was refused' })),
  },
  { additionalProperties: false },
);

export const ImportResult = Type.Object(
  {
    created: Type.Integer({ minimum: 0 }),
    updated: Type.Integer({ minimum: 0 }),
    unchanged: Type.Integer({ minimum: 0 }),
    rejected: Type.Integer({ minimum: 0 }),
    results: Type.Array(RecordOutcome, { description: 'Each record\'s outcome, in the order sent' }),
  },
  { additionalProperties: false },
);

export const FreeswitchCdrBody = Type.Union([AnyObject, Type.Object({ cdr: Type.String() }, { additionalProperties: true })], {
  description: 'A mod_json_cdr record: raw JSON, or url-encoded as cdr=<JSON> (or base64 JSON)',
});

export const CdrStored = Type.Union([
  Type.Object(
    {
      pbx_id: Type.String(),
      id: Type.Integer({ minimum: 1 }),
      outcome: Type.String({ enum: ['created', 'updated', 'unchanged'] }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { skipped: Type.String({ description: 'Why a sound record was left out: the B-leg of a call, whose A-leg tells it' }) },
    { additionalProperties: false },
  ),
]);
