import { SipsimError } from './errors.js';

/**
 * The receiving side of SIPSIM webhooks: checking a delivery's signature and
 * reading its event. Only WebCrypto and TextEncoder are used, so this runs
 * in Node.js 20+, browsers, Deno, Bun and edge runtimes alike.
 *
 * A delivery is signed as HMAC-SHA256(secret, "{X-Webhook-Timestamp}.{raw body}"),
 * in hex, in X-Webhook-Signature. Verify the body exactly as it arrived: JSON
 * parsed and serialised again may differ by a space and fail.
 */

/**
 * The event names of SIPSIM's webhooks, in SIPSIM's order: the ones an account
 * subscribes to, plus `test`. The server's list, which a test holds this one to.
 */
export const WEBHOOK_EVENT_NAMES = [
  'incoming_call_start',
  'incoming_call_start_chain_member_call',
  'incoming_call_end_chain_member_call',
  'incoming_call_answer',
  'incoming_call_end',
  'outgoing_call_start',
  'outgoing_call_answer',
  'outgoing_call_end',
  'voicemail',
  'tags',
  'speech',
  'summary',
  'sms',
  'rating',
  'test',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENT_NAMES)[number];

// ---- payloads, as SIPSIM documents them ----

/** The fields every call-lifecycle event has. */
export interface WebhookCallFields {
  /** The caller's number, such as "+33612345678". */
  caller: string;
  /** The called number, or the extension of the chain member or of who answered. */
  receiver: string;
  /** When it happened, RFC 3339, such as "2025-01-15T10:30:00Z". */
  time: string;
  /** The call's id in the PBX: the key to deduplicate on. */
  pbx_id: string;
}

/** The documented end words; a PBX that reports its own word is passed through as it is. */
export type IncomingCallEndStatus = 'ANSWER' | 'MISSED' | 'BUSY' | 'NOANSWER' | (string & {});
export type OutgoingCallEndStatus = 'ANSWER' | 'BUSY' | 'NOANSWER' | (string & {});

export interface IncomingCallStartEvent extends WebhookCallFields {
  event: 'incoming_call_start';
}
export interface IncomingCallStartChainMemberCallEvent extends WebhookCallFields {
  event: 'incoming_call_start_chain_member_call';
}
export interface IncomingCallEndChainMemberCallEvent extends WebhookCallFields {
  event: 'incoming_call_end_chain_member_call';
}
export interface IncomingCallAnswerEvent extends WebhookCallFields {
  event: 'incoming_call_answer';
}
export interface IncomingCallEndEvent extends WebhookCallFields {
  event: 'incoming_call_end';
  /** Seconds; 0 when not answered. */
  duration: number;
  /** The recording's URL; null when there is none. */
  audio_path: string | null;
  status: IncomingCallEndStatus;
}
export interface OutgoingCallStartEvent extends WebhookCallFields {
  event: 'outgoing_call_start';
}
export interface OutgoingCallAnswerEvent extends WebhookCallFields {
  event: 'outgoing_call_answer';
}
export interface OutgoingCallEndEvent extends WebhookCallFields {
  event: 'outgoing_call_end';
  duration: number;
  audio_path: string | null;
  status: OutgoingCallEndStatus;
}
export interface VoicemailEvent extends WebhookCallFields {
  event: 'voicemail';
  /** The message's length in seconds. */
  duration: number;
  audio_path: string | null;
}
export interface TagsEvent extends WebhookCallFields {
  event: 'tags';
  /** Every tag the call has now, by name: not only the ones just added or removed. */
  tags: string[];
}

export interface SpeechSegment {
  text: string;
  start: number;
  end: number;
  /** Seconds from the start of the call. */
  start_sec: number;
  /** "left" is usually the caller, "right" the receiver. */
  channel: 'left' | 'right' | (string & {});
}

/**
 * SIPSIM documents `speech` and `summary` without an `event` field: tell them
 * apart with `'speech_state' in e` and `'summary' in e`, or with `webhookEventName`.
 */
export interface SpeechEvent {
  event?: 'speech';
  call_id: number;
  /** Such as "speech_stored". */
  speech_state: string;
  payload: SpeechSegment[];
}
export interface SummaryEvent {
  event?: 'summary';
  /** The summary's own id. */
  id: number;
  summary: string;
  call_id: number;
}
export interface SmsEvent {
  event: 'sms';
  /** The sender. */
  caller: string;
  /** The recipient. */
  receiver: string;
  message: string;
  time: string;
  direction: 'inbound' | 'outbound';
}
export interface RatingCriterionScore {
  name: string;
  score: number;
  feedback: string;
}
export interface RatingEvent {
  event: 'rating';
  call_id: number;
  overall_score: number;
  criteria_scores: RatingCriterionScore[];
  highlights: string[];
  improvements: string[];
}
export interface TestEvent {
  event: 'test';
  message: string;
  /** When the test was sent, RFC 3339. */
  timestamp: string;
  /** Always "test_000000". */
  pbx_id: string;
}

export type WebhookEvent =
  | IncomingCallStartEvent
  | IncomingCallStartChainMemberCallEvent
  | IncomingCallEndChainMemberCallEvent
  | IncomingCallAnswerEvent
  | IncomingCallEndEvent
  | OutgoingCallStartEvent
  | OutgoingCallAnswerEvent
  | OutgoingCallEndEvent
  | VoicemailEvent
  | TagsEvent
  | SpeechEvent
  | SummaryEvent
  | SmsEvent
  | RatingEvent
  | TestEvent;

/** An event's name, also for `speech` and `summary`, which may come without one. */
export function webhookEventName(event: WebhookEvent): WebhookEventName {
  if (event.event) return event.event;
  return 'speech_state' in event ? 'speech' : 'summary';
}

// ---- verification ----

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;
export type WebhookBody = string | Uint8Array | ArrayBuffer;

export interface VerifyWebhookOptions {
  /**
   * How far X-Webhook-Timestamp may be from now, either way, in seconds.
   * Default 300. Bounds how long a captured delivery can be replayed;
   * Infinity turns the check off (to check deliveries stored earlier).
   */
  toleranceSeconds?: number;
  /** The current time in Unix milliseconds; for tests. Default Date.now. */
  now?: () => number;
}

export type WebhookVerificationReason =
  /** X-Webhook-Signature or X-Webhook-Timestamp is absent or empty. */
  | 'missing_headers'
  /** The timestamp is not whole Unix seconds, or the signature not 64 hex digits. */
  | 'malformed_headers'
  /** The timestamp is further from now than the tolerance: a replay, or a clock far off. */
  | 'stale_timestamp'
  /** The signature does not match: another secret (rotated?), or a body changed on the way. */
  | 'bad_signature'
  /** Signed correctly, but not a UTF-8 JSON object. */
  | 'bad_json'
  /** Signed correctly, but not an event this SDK knows; use verifyWebhookSignature to accept any. */
  | 'unknown_event';

/** A delivery that must not be trusted, or cannot be read; `reason` says which check failed. */
export class WebhookVerificationError extends SipsimError {
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message, { code: reason });
  }
}

const SIGNATURE_HEADER = 'X-Webhook-Signature';
const TIMESTAMP_HEADER = 'X-Webhook-Timestamp';
const DEFAULT_TOLERANCE_SECONDS = 300;
const HEX_SIGNATURE = /^[0-9a-fA-F]{64}$/;
const encoder = new TextEncoder();

/** A header by name whatever its case; an array (repeated header) gives its first value. */
function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() !== wanted) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') return first;
  }
  return undefined;
}

function bodyBytes(body: WebhookBody): Uint8Array {
  if (typeof body === 'string') return encoder.encode(body);
  // Any view (a Node Buffer is one), read over its own bytes only: a Buffer may share a larger pool.
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (Object.prototype.toString.call(body) === '[object ArrayBuffer]') return new Uint8Array(body as ArrayBuffer);
  throw new TypeError('the webhook body must be a string, a Uint8Array or an ArrayBuffer');
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Null when the delivery is authentic and fresh; otherwise the failure. */
async function check(body: Uint8Array, headers: WebhookHeaders, secret: string, options: VerifyWebhookOptions): Promise<WebhookVerificationError | null> {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('the webhook signing secret must be a non-empty string');
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) throw new TypeError('toleranceSeconds must be a number of seconds, 0 or more');

  const signature = header(headers, SIGNATURE_HEADER)?.trim();
  const timestamp = header(headers, TIMESTAMP_HEADER)?.trim();
  if (!signature || !timestamp) {
    return new WebhookVerificationError('missing_headers', `the ${!signature ? SIGNATURE_HEADER : TIMESTAMP_HEADER} header is missing`);
  }
  if (!/^\d{1,15}$/.test(timestamp)) return new WebhookVerificationError('malformed_headers', `${TIMESTAMP_HEADER} is not Unix seconds`);
  // Hex of either case: case is only how the bytes are written, and the bytes are what is compared.
  if (!HEX_SIGNATURE.test(signature)) return new WebhookVerificationError('malformed_headers', `${SIGNATURE_HEADER} is not 64 hex digits`);

  const skew = ((options.now ?? Date.now)() / 1000) - Number(timestamp);
  if (Math.abs(skew) > tolerance) {
    return new WebhookVerificationError(
      'stale_timestamp',
      `${TIMESTAMP_HEADER} is ${Math.round(Math.abs(skew))} s in the ${skew > 0 ? 'past' : 'future'}, beyond the ${tolerance} s allowed`,
    );
  }

  // The signed bytes are "{timestamp}." then the body's bytes as they came, never re-encoded.
  const prefix = encoder.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  const key = await globalThis.crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  // subtle.verify compares in constant time, so the check leaks nothing of the expected signature.
  const valid = await globalThis.crypto.subtle.verify('HMAC', key, hexBytes(signature), signed);
  return valid ? null : new WebhookVerificationError('bad_signature', `${SIGNATURE_HEADER} does not match the body and the signing secret`);
}

/**
 * Whether a delivery really comes from SIPSIM, unchanged, and recently: its
 * X-Webhook-Signature matches the raw body and the signing secret, and its
 * X-Webhook-Timestamp is within the tolerance of now. Headers may be a
 * `Headers` object or a plain object (Node's `req.headers`), in any case.
 */
export async function verifyWebhookSignature(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<boolean> {
  return (await check(bodyBytes(rawBody), headers, secret, options)) === null;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const KNOWN_EVENTS: ReadonlySet<string> = new Set(WEBHOOK_EVENT_NAMES);

/**
 * Verifies a delivery as `verifyWebhookSignature` does and returns its event,
 * or throws a WebhookVerificationError saying what failed. Only the payload's
 * kind is checked, not each field: the signature vouches for the rest.
 */
export async function parseWebhookEvent(
  rawBody: WebhookBody,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const body = bodyBytes(rawBody);
  const failure = await check(body, headers, secret, options);
  if (failure) throw failure;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    throw new WebhookVerificationError('bad_json', 'the body is not UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WebhookVerificationError('bad_json', 'the body is not a JSON object');
  }
  const event = (value as { event?: unknown }).event;
  const known =
    event === undefined
      ? 'speech_state' in value || 'summary' in value
      : typeof event === 'string' && KNOWN_EVENTS.has(event);
  if (!known) {
    throw new WebhookVerificationError('unknown_event', `not a known webhook event${typeof event === 'string' ? `: ${event}` : ''}`);
  }
  return value as WebhookEvent;
}
