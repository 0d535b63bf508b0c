import Type, { type TSchema } from 'typebox';
import { CALL_TYPE_ALIASES } from '../../domain/call-filters.js';
import { SIP_STATUSES } from '../../domain/call.js';
import { MAX_NAME_LENGTH, MAX_NUMBER_LENGTH, MAX_PBX_ID_LENGTH, MAX_TAG_LENGTH, MAX_TAGS } from '../../ingest/call-object.js';
import { MAX_TEXT, PBX_EVENT_NAMES } from '../../ingest/events.js';

/**
 * Bodies and answers of the ways calls get in. Bodies are checked item by
 * item by the ingest code, so that one bad record is reported and the others
 * are still taken; the schemas here only bound the shape and the size.
 */

export const MAX_BATCH = 1000;

const AnyObject = Type.Object({}, { additionalProperties: true });
/** An item of a batch: checked one by one by the ingest code, so that one bad item is reported alone. */
const AnyItem = Type.Unknown({ description: 'An item, checked on its own' });

const OrNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Number_ = (description: string) => Type.String({ minLength: 1, maxLength: MAX_NUMBER_LENGTH, description });
const TimeField = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Integer({ minimum: 0, maximum: 253402300799 })], {
    description: `${description}: an RFC 3339 date-time or Unix seconds`,
  });

/**
 * One event of POST /pbx/events, as the document describes it. The server
 * checks each event on its own (parsePbxEvent), so that a bad one is refused
 * alone and the rest of the batch is still taken.
 */
export const PbxEvent = Type.Object(
  {
    event: Type.Enum([...PBX_EVENT_NAMES]),
    pbx_id: Type.String({ minLength: 1, maxLength: MAX_TEXT, description: 'The PBX\'s id of the call, the same on all its events' }),
    caller: Number_('Who called'),
    receiver: Number_('Who was called; on an answer event, who answered'),
    time: Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 631152000, maximum: 4102444799 })], {
      description: 'When: an RFC 3339 date-time or Unix seconds, between 1990 and 2100',
    }),
    caller_name: Type.Optional(OrNull(Type.String({ maxLength: MAX_TEXT }))),
    duration: Type.Optional(OrNull(Type.Integer({ minimum: 0, maximum: 31 * 86400, description: 'End events: seconds of talk' }))),
    status: Type.Optional(
      OrNull(Type.String({ maxLength: MAX_TEXT, description: 'End events: ANSWER, MISSED, BUSY, NOANSWER, CANCEL or UNAVAILABLE, any case' })),
    ),
    sip_code: Type.Optional(OrNull(Type.Integer({ minimum: 100, maximum: 699, description: 'The final SIP code; wins over status' }))),
    audio_path: Type.Optional(OrNull(Type.String({ maxLength: 2048, description: 'Where the recording is' }))),
  },
  { additionalProperties: true, description: 'A call event from a PBX. Text must not contain NUL characters (\\u0000).' },
);

/**
 * One call of POST /calls/import, as the document describes it. As for
 * events, each call is checked on its own by the ingest code (recordFromCallObject).
 */
export const ImportedCall = Type.Object(
  {
    pbx_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: MAX_PBX_ID_LENGTH, description: 'The PBX\'s id of the call: sending it again updates the call' }),
    ),
    id: Type.Optional(Type.Integer({ minimum: 1, description: 'For a call exported from SIPSIM, instead of pbx_id' })),
    caller_number: Number_('Who called'),
    target_number: Type.Optional(Number_('Who was called (or receiver_number)')),
    receiver_number: Type.Optional(Number_('Who was called (or target_number)')),
    answered_phone_number: Type.Optional(OrNull(Number_('Who answered'))),
    caller_name: Type.Optional(OrNull(Type.String({ maxLength: MAX_NAME_LENGTH }))),
    call_type: Type.Optional(OrNull(Type.Enum([...Object.keys(CALL_TYPE_ALIASES)]))),
    direction: Type.Optional(OrNull(Type.Enum(['inbound', 'incoming', 'outbound', 'outgoing']))),
    sip_status: Type.Optional(OrNull(Type.Enum([...SIP_STATUSES]))),
    sip_code: Type.Optional(OrNull(Type.Integer({ minimum: 100, maximum: 699 }))),
    answered: Type.Optional(OrNull(Type.Boolean())),
    start_time: TimeField('When the call started'),
    registration_time: Type.Optional(OrNull(TimeField('When the PBX registered the call'))),
    answered_time: Type.Optional(OrNull(TimeField('When it was answered'))),
    end_time: Type.Optional(OrNull(TimeField('When it ended'))),
    wait_duration_sec: Type.Optional(OrNull(Type.Integer({ minimum: 0 }))),
    duration_sec: Type.Optional(OrNull(Type.Integer({ minimum: 0 }))),
    phone_id: Type.Optional(OrNull(Type.Integer({ minimum: 1 }))),
    answered_phone_id: Type.Optional(OrNull(Type.Integer({ minimum: 1 }))),
    employee_id: Type.Optional(OrNull(Type.Integer({ minimum: 1 }))),
    play_record_link: Type.Optional(OrNull(Type.String({ pattern: '^https?://', description: 'An http(s) URL of the recording' }))),
    tags: Type.Optional(
      Type.Array(
        Type.Union([
          Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH }),
          Type.Object({ name: Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH }), id: Type.Optional(Type.Integer({ minimum: 1 })) }),
        ]),
        { maxItems: MAX_TAGS, description: 'Tags by name, created when missing' },
      ),
    ),
  },
  {
    additionalProperties: true,
    description:
      'A finished call: the call object\'s fields, pbx_id (or id) and the called number (target_number or receiver_number). ' +
      'Text must not contain NUL characters (\\u0000).',
  },
);

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

const ref = (name: string) => Type.Unsafe<unknown>({ $ref: name });

/** The event body as the document gives it: each item a PbxEvent. */
export const PbxEventsBodyDocumented = Type.Union([ref('PbxEvent'), Type.Array(ref('PbxEvent'), { maxItems: MAX_BATCH })], {
  description: `One event or an array of up to ${MAX_BATCH}; each event is taken or refused on its own.`,
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
    refused_calls: Type.Array(
      Type.Object({ pbx_id: Type.String(), error: Type.String() }, { additionalProperties: false }),
      { description: 'Calls these events would make that cannot be stored (their events are kept), with the reason' },
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

/** The import body as the document gives it: each item an ImportedCall. */
export const ImportBodyDocumented = Type.Union(
  [
    Type.Array(ref('ImportedCall'), { minItems: 1, maxItems: MAX_BATCH }),
    Type.Object({ calls: Type.Array(ref('ImportedCall'), { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
  ],
  { description: (ImportBody as { description?: string }).description },
);

/**
 * For a route whose body items are checked one by one by the ingest code:
 * the document shows the items' schema instead of the batch-level bounds.
 */
export const documentBodyAs =
  (body: TSchema) =>
  ({ schema, url }: { schema: unknown; url: string }) => ({ schema: { ...(schema as object), body }, url });

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

export const FreeswitchCdrBody = Type.Union(
  [
    AnyObject,
    Type.Object(
      { cdr: Type.String({ minLength: 2, maxLength: 1_048_576, description: 'The record as JSON text, or base64 of it' }) },
      { additionalProperties: true },
    ),
  ],
  {
    description: 'A mod_json_cdr record: raw JSON, or url-encoded as cdr=<JSON> (or base64 JSON)',
  },
);

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
