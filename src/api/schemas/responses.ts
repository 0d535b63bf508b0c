import Type, { type Static, type TSchema } from 'typebox';
import { CALL_TYPES, SIP_STATUSES, type CallResource } from '../../domain/call.js';
import { HEX_COLOR, PHONE_STATUSES, type EmployeeResource, type PhoneResource, type TagResource } from '../../domain/directory.js';
import { errorRegistry, type ErrorCode } from '../../domain/errors.js';
import type { Scope } from '../../domain/scopes.js';
import type { Access } from '../plugins/auth.js';
import { ImportedCall, PbxEvent } from './ingest.js';

/**
 * What the API answers, as JSON Schemas for the OpenAPI document. Bodies are
 * sent as JSON strings built by envelope.ts, so these schemas never shape a
 * response; test/api/openapi.test.ts checks real responses against them.
 */

const closed = { additionalProperties: false } as const;

/** Times leave as UTC with `Z`, in whole seconds. */
const DateTime = (description: string) =>
  Type.String({ format: 'date-time', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$', description });
const Identifier = (description: string) => Type.Integer({ minimum: 1, description });
const OrNull = <T extends TSchema>(schema: T, description: string) => Type.Union([schema, Type.Null()], { description });
const Words = <T extends string>(values: readonly T[], description: string) => Type.Enum([...values], { type: 'string', description });

// ---- resources ----

const CallTag = Type.Object({ id: Identifier('Tag identifier'), name: Type.String({ description: 'Tag name' }) }, closed);

const Call = Type.Object(
  {
    id: Identifier('Call identifier'),
    call_type: Words(CALL_TYPES, 'inbound (answered), outbound, missed or voicemail'),
    direction: Words(['inbound', 'outbound'], 'inbound or outbound, whatever the outcome'),
    sip_status: Words(SIP_STATUSES, 'The final SIP outcome'),
    caller_number: Type.String({ description: 'Number of the caller (E.164)' }),
    caller_name: OrNull(Type.String(), 'Name of the caller, when known'),
    target_number: Type.String({ description: 'Number that was called (E.164)' }),
    receiver_number: Type.String({ description: 'Same as target_number' }),
    answered_phone_number: OrNull(Type.String(), 'Number that answered; null when unanswered'),
    answered: Type.Boolean({ description: 'Whether the call was answered' }),
    wait_duration_sec: Type.Integer({ minimum: 0, description: 'Seconds from start until answered (or until the end when unanswered)' }),
    duration_sec: Type.Integer({ minimum: 0, description: 'Seconds from answer to end; 0 when unanswered' }),
    play_record_link: OrNull(Type.String(), 'URL of the recording'),
    phone_id: OrNull(Identifier('Phone'), 'The phone the call was for'),
    answered_phone_id: OrNull(Identifier('Phone'), 'The phone that answered'),
    employee_id: OrNull(Identifier('Employee'), 'The employee the call belongs to'),
    registration_time: DateTime('When the call was registered'),
    start_time: DateTime('When the call started'),
    answered_time: OrNull(DateTime('When the call was answered'), 'When the call was answered; null when unanswered'),
    end_time: DateTime('When the call ended'),
    tags: Type.Array(CallTag, { description: 'Tags on the call, by name' }),
  },
  { ...closed, description: 'A call record' },
);

export const CLICK_TO_CALL_STATUSES = ['ringing_phone', 'ringing_target', 'connected', 'completed', 'failed'] as const;

/**
 * A call started with POST /api/v2/calls, as it stands: the call object's
 * fields known so far, then all of them once it has ended, with its status
 * and, when it failed, why.
 */
const ClickToCall = Type.Object(
  {
    ...(Object.fromEntries(Object.entries(Call.properties).map(([name, schema]) => [name, Type.Optional(schema)])) as {
      [K in keyof typeof Call.properties]: ReturnType<typeof Type.Optional<(typeof Call.properties)[K]>>;
    }),
    id: Identifier('Call identifier: the id of its record in /calls once it has ended'),
    status: Words(
      CLICK_TO_CALL_STATUSES,
      "ringing_phone (the employee's phone rings), ringing_target (the employee answered; the number rings), connected, completed or failed",
    ),
    failure: OrNull(Type.String(), 'Why the call failed, in words; null otherwise'),
  },
  { ...closed, description: 'A click-to-call call as it stands' },
);

const Tag = Type.Object(
  {
    id: Identifier('Tag identifier'),
    name: Type.String({ description: 'Unique within the account whatever its case' }),
    color: Type.String({ pattern: HEX_COLOR, description: 'Hex colour, #RRGGBB' }),
    description: OrNull(Type.String(), 'What the tag is for'),
  },
  { ...closed, description: 'A tag to put on calls' },
);

const FileId = (description: string) => OrNull(Identifier('File'), description);

const Phone = Type.Object(
  {
    id: Identifier('Phone identifier'),
    name: Type.String({ description: 'Name or label of the phone' }),
    status: Words(PHONE_STATUSES, 'not_activated, active or inactive'),
    internal_number: OrNull(Type.Integer(), 'Extension'),
    number: Type.String({ description: 'Public number (E.164)' }),
    employee_id: OrNull(Identifier('Employee'), 'The employee the phone belongs to'),
    created_at: DateTime('When the phone was added'),
    updated_at: DateTime('When the phone last changed'),
    group: OrNull(
      Type.Object({ group_id: Identifier('Group identifier'), group_title: OrNull(Type.String(), 'Group name') }, closed),
      'The group the phone is in',
    ),
    outbound_setting: Type.Object(
      {
        outbound_number: OrNull(Type.String(), 'Caller id shown on outbound calls'),
        use_different_outbound_number: Type.Boolean(),
        outbound_number_phone_id: OrNull(Identifier('Phone'), 'Phone whose number is shown instead'),
      },
      closed,
    ),
    record_setting: Type.Object({ record_inbound_call: Type.Boolean(), record_outbound_call: Type.Boolean() }, closed),
    voicemail_setting: Type.Object({ allow_voicemail: Type.Boolean(), voicemail_file_id: FileId('Greeting file') }, closed),
    forwarding_setting: Type.Object(
      {
        forced: Type.Object({ enabled: Type.Boolean(), forward_number: OrNull(Type.String(), 'Every call is forwarded here') }, closed),
        conditional: Type.Object(
          {
            enabled: Type.Boolean(),
            timeout_seconds: Type.Integer({ description: 'Ring this long before forwarding' }),
            forward_number: OrNull(Type.String(), 'Unanswered calls are forwarded here'),
          },
          closed,
        ),
      },
      closed,
    ),
    audio_setting: Type.Object(
      {
        inbound_call_preroll_id: FileId('Played to callers before ringing'),
        outbound_call_preroll_id: FileId('Played before an outbound call connects'),
        no_answer_file_id: FileId('Played when nobody answers'),
        wait_preroll_dial: Type.Integer({ minimum: 0, description: 'Seconds before dialling' }),
      },
      closed,
    ),
  },
  { ...closed, description: 'A phone line with its settings' },
);

const Employee = Type.Object(
  {
    id: Identifier('Employee identifier'),
    name: Type.String({ description: 'Full name' }),
    email: OrNull(Type.String(), 'Email address'),
    phone_ids: Type.Array(Identifier('Phone'), { description: 'The employee\'s phones, in id order' }),
    created_at: DateTime('When the employee was added'),
    updated_at: DateTime('When the employee last changed'),
  },
  { ...closed, description: 'A person of the account' },
);

const Account = Type.Object(
  {
    id: Identifier('Account identifier'),
    company_name: Type.String({ description: 'Name of the company' }),
    email: OrNull(Type.String(), 'Contact email'),
    timezone: Type.String({ description: 'IANA time zone, such as Europe/Paris' }),
    created_at: DateTime('When the account was created'),
  },
  { ...closed, description: 'The account of the token' },
);

export const Health = Type.Object(
  { status: Type.Literal('ok'), store: Words(['sqlite', 'postgres'], 'The store engine, which answered') },
  closed,
);
export const Liveness = Type.Object({ status: Type.Literal('ok') }, closed);

// The documented shapes are exactly the ones the code builds: a field added to
// one and not the other fails the typecheck.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<Static<typeof Call>, CallResource>;
true satisfies Same<Static<typeof Tag>, TagResource>;
true satisfies Same<Static<typeof Phone>, PhoneResource>;
true satisfies Same<Static<typeof Employee>, EmployeeResource>;

const Pagination = Type.Object(
  {
    count: Type.Integer({ minimum: 0, description: 'Items on this page' }),
    limit: Type.Integer({ minimum: 1, description: 'The page size asked for' }),
    page: Type.Optional(Type.String({ description: 'Token for the next page; absent on the last one' })),
    has_more: Type.Boolean({ description: 'Whether a next page exists' }),
  },
  { ...closed, description: 'Where this page is in the list' },
);

// ---- envelopes ----

const HttpStatus = (status: number) => Type.Integer({ const: status, description: 'The HTTP status, repeated' });
const RequestId = Type.String({ description: 'Identifies the request in logs; also sent as X-Request-Id' });
const Timestamp = DateTime('When the answer was made');

const REQUEST_ID_HEADER = { 'X-Request-Id': { type: 'string', description: 'Identifies the request; the one a proxy sent is kept' } };

/** An OpenAPI response: a description, a JSON body, headers. */
export function answer(description: string, schema: TSchema, headers: Record<string, object> = {}) {
  return { description, content: { 'application/json': { schema } }, headers: { ...REQUEST_ID_HEADER, ...headers } };
}

/** A reference to one of COMPONENTS (below). */
const ref = (name: string) => Type.Unsafe<unknown>({ $ref: name });

/** Either of several resources, by reference. */
export const OneOf = (...names: ResourceName[]) => Type.Union(names.map(ref));

/** `{status, request_id, timestamp, data}`, data being a resource or a schema of its own. */
export const Data = (data: ResourceName | TSchema, description: string, status = 200) =>
  answer(
    description,
    Type.Object(
      {
        status: HttpStatus(status),
        request_id: RequestId,
        timestamp: Timestamp,
        data: typeof data === 'string' ? ref(data as ResourceName) : data,
      },
      closed,
    ),
  );

/** `{status, request_id, timestamp, data: [...], pagination}` */
export const List = (item: ResourceName, description: string) =>
  answer(
    description,
    Type.Object(
      { status: HttpStatus(200), request_id: RequestId, timestamp: Timestamp, data: Type.Array(ref(item)), pagination: ref('Pagination') },
      closed,
    ),
  );

export const NoContent = (description: string) => ({ description, type: 'null', headers: REQUEST_ID_HEADER });

/** A file rather than an envelope, in one of several media types. */
export const Download = (description: string, media: Record<string, TSchema>, headers: Record<string, object> = {}) => ({
  description,
  content: Object.fromEntries(Object.entries(media).map(([type, schema]) => [type, { schema }])),
  headers: { ...REQUEST_ID_HEADER, ...headers },
});

// ---- errors ----

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 414 | 415 | 429 | 503;

/** Each error status: its component's name, what it means, the headers it comes with. */
const ERROR_KINDS: Record<ErrorStatus, { name: string; meaning: string; headers?: Record<string, object> }> = {
  400: { name: 'BadRequest', meaning: 'Invalid parameter or body: each message names the field and what it accepts' },
  401: {
    name: 'Unauthorized',
    meaning: 'Missing, malformed, unknown or expired access token; or, where a route also takes them, wrong client credentials',
    headers: {
      'WWW-Authenticate': { type: 'string', description: 'Bearer challenge, with error and error_description; Basic for client credentials' },
    },
  },
  403: {
    name: 'Forbidden',
    meaning: 'The access token was not granted the scope this operation needs',
    headers: { 'WWW-Authenticate': { type: 'string', description: 'Bearer challenge naming the scope needed' } },
  },
  404: { name: 'NotFound', meaning: 'No such object in the account of the token' },
  409: { name: 'Conflict', meaning: 'Conflicts with the current state, such as a name that is taken' },
  413: { name: 'PayloadTooLarge', meaning: 'Request body too large' },
  414: { name: 'PathParameterTooLong', meaning: 'A path parameter is longer than the router takes (200 characters)' },
  415: { name: 'UnsupportedMediaType', meaning: 'Unsupported content type' },
  429: {
    name: 'TooManyRequests',
    meaning: 'Rate limited: retry after Retry-After seconds',
    headers: { 'Retry-After': { type: 'integer', description: 'Seconds until the limit resets' } },
  },
  503: {
    name: 'ServiceUnavailable',
    meaning: 'The data store is unavailable or the server is shutting down: retry later',
    headers: { 'Retry-After': { type: 'integer', description: 'Seconds to wait, when the store is unavailable' } },
  },
};

/** `{status, errors, code, request_id, path}`, with the codes of that status. */
const ErrorEnvelope = (status: ErrorStatus) =>
  Type.Object(
    {
      status: HttpStatus(status),
      errors: Type.Array(Type.String(), { minItems: 1, description: 'What went wrong, for people' }),
      code: Words(
        (Object.keys(errorRegistry) as ErrorCode[]).filter((code) => errorRegistry[code].status === status),
        'Stable code, for programs',
      ),
      request_id: RequestId,
      path: Type.String({ description: 'The path that was asked, without the query' }),
    },
    { ...closed, description: ERROR_KINDS[status].meaning },
  );

/** The error answers of a route, by status. */
export function errors(...statuses: ErrorStatus[]): Record<number, object> {
  return Object.fromEntries(
    statuses.map((s) => [s, answer(ERROR_KINDS[s].meaning, ref(ERROR_KINDS[s].name), ERROR_KINDS[s].headers)]),
  );
}

/** The errors of every route that reads a body: a broken, oversized or unreadable one. */
export const BODY_ERRORS: ErrorStatus[] = [400, 413, 415];

type Security = Array<Record<string, string[]>>;

/**
 * What a route's access (see plugins/auth.ts) puts in its operation: the
 * security, and for a route behind credentials the answers that checking them
 * and counting them give (no valid credentials, a missing scope, the rate
 * limit, the store gone).
 */
export function documentAccess(access: Access): { security: Security; errors: Record<number, object> | null } {
  if (access === 'public') return { security: [], errors: null };
  const scope: Scope = access === 'admin' ? 'settings.write' : typeof access === 'string' ? access : access.scope;
  const security: Security = [{ oauth2: [scope] }];
  if (typeof access === 'object' && access.clientCredentials) security.push({ clientBasic: [] });
  return { security, errors: errors(401, 403, 429, 503) };
}

// ---- the token endpoint (RFC 6749 section 5) ----

export const TokenRequest = Type.Object(
  {
    grant_type: Type.Literal('client_credentials', { description: 'client_credentials, the only grant supported' }),
    client_id: Type.Optional(Type.String({ description: 'The client id, unless sent with HTTP Basic' })),
    client_secret: Type.Optional(Type.String({ description: 'The client secret, unless sent with HTTP Basic' })),
    scope: Type.Optional(Type.String({ description: 'Space-separated scopes to grant; every scope of the client when absent' })),
  },
  // RFC 6749 section 3.2: parameters the server does not know are ignored.
  { description: 'Client credentials in the body, or in an HTTP Basic Authorization header' },
);

const TokenGranted = Type.Object(
  {
    access_token: Type.String({ description: 'Send as Authorization: Bearer <token>' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1, description: 'Seconds the token is valid' }),
    scope: Type.String({ description: 'The scopes granted, space-separated' }),
    created_at: Type.Integer({ description: 'When the token was issued, in Unix seconds' }),
  },
  closed,
);

const OAuthError = Type.Object(
  {
    error: Words(
      ['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope', 'temporarily_unavailable', 'server_error'],
      'RFC 6749 error code',
    ),
    error_description: Type.Optional(Type.String({ description: 'What went wrong, for people' })),
  },
  { ...closed, description: 'A token-endpoint error, in the shape of RFC 6749 section 5.2' },
);

const NO_STORE = { 'Cache-Control': { type: 'string', description: 'no-store' } };

export const tokenResponses = {
  200: answer('A new access token', TokenGranted, NO_STORE),
  400: answer('invalid_request (also for a body that cannot be parsed), unsupported_grant_type or invalid_scope', ref('OAuthError'), NO_STORE),
  401: answer('invalid_client: unknown client, wrong secret or no credentials', ref('OAuthError'), {
    ...NO_STORE,
    'WWW-Authenticate': {
      type: 'string',
      pattern: '^Basic ',
      description: 'Only when the credentials came with HTTP Basic: a Basic challenge. Credentials sent in the body get no challenge',
    },
  }),
  // Refused before the handler runs, still in RFC 6749's shape.
  413: answer('invalid_request: request body too large', ref('OAuthError'), NO_STORE),
  415: answer('invalid_request: unsupported content type', ref('OAuthError'), NO_STORE),
  429: answer('temporarily_unavailable: too many failed authentications from this address, or too many tokens for this client', ref('OAuthError'), {
    ...NO_STORE,
    'Retry-After': { type: 'integer', description: 'Seconds until the limit resets' },
  }),
  503: answer('temporarily_unavailable: the data store is unavailable or the server is shutting down', ref('OAuthError'), {
    ...NO_STORE,
    'Retry-After': { type: 'integer', description: 'Seconds to wait, when the store is unavailable' },
  }),
};

// ---- components ----

const RESOURCES = { Call, ClickToCall, Tag, Phone, Employee, Account, Pagination };
type ResourceName = keyof typeof RESOURCES;

/**
 * The shapes several operations share, registered with `app.addSchema` under
 * these names, so that the document lists each once in components.schemas.
 */
export const COMPONENTS: Record<string, TSchema> = {
  ...RESOURCES,
  PbxEvent,
  ImportedCall,
  OAuthError,
  ...Object.fromEntries(
    (Object.keys(ERROR_KINDS).map(Number) as ErrorStatus[]).map((status) => [ERROR_KINDS[status].name, ErrorEnvelope(status)]),
  ),
};
