import { SIP_STATUSES, sipStatusFromCode, type Direction, type SipStatus } from '../domain/call.js';
import { CALL_TYPE_ALIASES } from '../domain/call-filters.js';
import { SIP_CODE_OF_STATUS } from '../domain/outcomes.js';
import { TAG_NAME_MAX } from '../domain/directory.js';
import { parseDateTime, zonedTimeToUnix } from '../domain/time.js';
import type { FormatOptions, PbxCallRecord } from './record.js';
import { recordingLink } from './formats/recording-link.js';

/**
 * A SIPSIM call object, as the API serves it, turned into a PBX record. The
 * NDJSON and sipsim CSV imports and `POST /api/v2/calls/import` all go through
 * here, so each refusal is a message fit for an API client: it names the field
 * and says what is allowed.
 */

export const MAX_PBX_ID_LENGTH = 200;
export const MAX_NUMBER_LENGTH = 64;
export const MAX_NAME_LENGTH = 200;
export const MAX_TAG_LENGTH = TAG_NAME_MAX;
export const MAX_TAGS = 100;
/** 9999-12-31T23:59:59Z: past it a number is more likely milliseconds than seconds. */
const MAX_UNIX_SECONDS = 253402300799;
/** Sources that keep fractions of a second may round each time separately. */
const DURATION_TOLERANCE_SEC = 1;

const DIRECTION_WORDS: Record<string, Direction> = {
  inbound: 'inbound',
  incoming: 'inbound',
  outbound: 'outbound',
  outgoing: 'outbound',
};

const SIP_STATUS_WORDS = Object.fromEntries(SIP_STATUSES.map((s) => [s, s])) as Record<string, SipStatus>;

/** Raised inside the conversion and turned into the returned reason at its edge. */
class Refusal {
  constructor(readonly reason: string) {}
}

function refuse(reason: string): never {
  throw new Refusal(reason);
}

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `"${value.slice(0, 40)}..."` : JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function optionalString(object: Record<string, unknown>, field: string, maxLength: number): string | null {
  const value = object[field];
  if (!isPresent(value)) return null;
  if (typeof value !== 'string') refuse(`${field} must be a string`);
  const text = value.trim();
  if (text.length > maxLength) refuse(`${field} must be at most ${maxLength} characters`);
  return text === '' ? null : text;
}

function phoneNumber(object: Record<string, unknown>, field: string): string | null {
  let value = object[field];
  if (!isPresent(value)) return null;
  // Extensions are often written as bare JSON numbers.
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) value = String(value);
  if (typeof value !== 'string') refuse(`${field} must be a string`);
  const text = value.trim();
  if (text === '') refuse(`${field} must not be empty`);
  if (text.length > MAX_NUMBER_LENGTH) refuse(`${field} must be at most ${MAX_NUMBER_LENGTH} characters`);
  return text;
}

function optionalInteger(object: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number | null {
  const value = object[field];
  if (!isPresent(value)) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 0 ? 'a non-negative integer' : `an integer of at least ${min}`) : `an integer from ${min} to ${max}`;
    refuse(`${field} must be ${range}, not ${describe(value)}`);
  }
  return value;
}

function optionalBoolean(object: Record<string, unknown>, field: string): boolean | null {
  const value = object[field];
  if (!isPresent(value)) return null;
  if (typeof value !== 'boolean') refuse(`${field} must be true or false, not ${describe(value)}`);
  return value;
}

function optionalWord<T>(object: Record<string, unknown>, field: string, words: Record<string, T>, allowed: string): T | null {
  const value = object[field];
  if (!isPresent(value)) return null;
  if (typeof value !== 'string') refuse(`${field} must be one of ${allowed}`);
  if (Object.hasOwn(words, value)) return words[value]!;
  const key = value.trim().toLowerCase();
  if (key === '') return null;
  const word = Object.hasOwn(words, key) ? words[key] : undefined;
  if (word === undefined) refuse(`${field} must be one of ${allowed}, not ${describe(value)}`);
  return word;
}

let cachedDate = '';
let cachedDateSeconds = 0;

/**
 * `YYYY-MM-DDTHH:MM:SSZ`, the form SIPSIM itself writes, read without a
 * regular expression: a large import reads four per call, mostly of the same
 * day. Anything else (or an impossible date) gives null and goes the long way.
 */
function quickDateTime(text: string): number | null {
  if (text.length !== 20 || text.charCodeAt(10) !== 84 /* T */ || text.charCodeAt(19) !== 90 /* Z */) return null;
  const hour = twoDigits(text, 11), minute = twoDigits(text, 14), second = twoDigits(text, 17);
  if (hour > 23 || minute > 59 || second > 59 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  if (!text.startsWith(cachedDate) || cachedDate === '') {
    const date = text.slice(0, 10);
    const parsed = parseDateTime(`${date}T00:00:00Z`);
    if (!parsed) return null;
    cachedDate = date;
    cachedDateSeconds = parsed.seconds;
  }
  return cachedDateSeconds + hour * 3600 + minute * 60 + second;
}

/** Two decimal digits at a position, or 99 when they are not digits. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48, b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : 99;
}

/** A date-time field: RFC 3339 text, or Unix seconds; with a zone option, also a local time. */
function optionalTime(object: Record<string, unknown>, field: string, options: FormatOptions): number | null {
  const value = object[field];
  if (!isPresent(value)) return null;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > MAX_UNIX_SECONDS) {
      refuse(`${field} must be an RFC 3339 date-time or Unix seconds (not milliseconds), not ${describe(value)}`);
    }
    return Math.floor(value);
  }
  if (typeof value !== 'string') refuse(`${field} must be an RFC 3339 date-time`);
  const quick = quickDateTime(value);
  if (quick !== null) return quick;
  const text = value.trim();
  if (text === '') return null;
  const parsed = parseDateTime(text);
  if (parsed) return parsed.seconds;
  if (/^\d{9,11}(?:\.\d+)?$/.test(text)) return Math.floor(Number(text));
  if (options.timeZone) {
    const local = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?$/.exec(text);
    if (local) {
      const [, y, mo, d, h, mi, s = '0'] = local as unknown as string[];
      const month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
      if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59) {
        return zonedTimeToUnix({ year: Number(y), month, day, hour, minute, second }, options.timeZone);
      }
    }
  }
  return refuse(`${field} must be an RFC 3339 date-time (such as 2024-01-15T10:30:05Z), not ${describe(value)}`);
}

function tagNames(value: unknown): string[] | undefined {
  if (!isPresent(value)) return undefined;
  if (!Array.isArray(value)) refuse('tags must be an array of tag names or of {"id", "name"} objects');
  if (value.length > MAX_TAGS) refuse(`tags must hold at most ${MAX_TAGS} tags`);
  const names: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const tag: unknown = value[i];
    let name: unknown = tag;
    if (tag !== null && typeof tag === 'object' && !Array.isArray(tag)) name = (tag as Record<string, unknown>).name;
    if (typeof name !== 'string') refuse(`tags[${i}] must be a tag name or an object with a "name"`);
    const text = name.trim();
    if (text === '') refuse(`tags[${i}] must not be an empty name`);
    if (text.length > MAX_TAG_LENGTH) refuse(`tags[${i}] must be at most ${MAX_TAG_LENGTH} characters`);
    if (!names.includes(text)) names.push(text);
  }
  return names;
}

function pbxIdOf(object: Record<string, unknown>): string {
  const pbxId = object.pbx_id;
  if (isPresent(pbxId)) {
    const text = typeof pbxId === 'number' && Number.isSafeInteger(pbxId) ? String(pbxId) : pbxId;
    if (typeof text !== 'string') refuse('pbx_id must be a string');
    const trimmed = text.trim();
    if (trimmed === '') refuse('pbx_id must not be empty');
    if (trimmed.length > MAX_PBX_ID_LENGTH) refuse(`pbx_id must be at most ${MAX_PBX_ID_LENGTH} characters`);
    return trimmed;
  }
  const id = optionalInteger(object, 'id', 1);
  if (id === null) refuse('pbx_id is required (or id, for a call exported from SIPSIM)');
  return `sipsim-${id}`;
}

function convert(object: Record<string, unknown>, options: FormatOptions): PbxCallRecord {
  const pbxId = pbxIdOf(object);

  const callType = optionalWord(object, 'call_type', CALL_TYPE_ALIASES, 'inbound, outbound, missed, voicemail');
  const directionWord = optionalWord(object, 'direction', DIRECTION_WORDS, 'inbound, outbound');
  const sipStatus = optionalWord(object, 'sip_status', SIP_STATUS_WORDS, SIP_STATUSES.join(', '));
  const sipCodeField = optionalInteger(object, 'sip_code', 100, 699);
  const answeredFlag = optionalBoolean(object, 'answered');

  const callerNumber = phoneNumber(object, 'caller_number');
  if (callerNumber === null) refuse('caller_number is required');
  const targetField = phoneNumber(object, 'target_number');
  const receiverField = phoneNumber(object, 'receiver_number');
  if (targetField !== null && receiverField !== null && targetField !== receiverField) {
    refuse(`target_number ${targetField} and receiver_number ${receiverField} differ; give one of them`);
  }
  const targetNumber = targetField ?? receiverField;
  if (targetNumber === null) refuse('target_number is required');
  const answeredPhoneNumber = phoneNumber(object, 'answered_phone_number');
  const callerName = optionalString(object, 'caller_name', MAX_NAME_LENGTH);

  const waitDuration = optionalInteger(object, 'wait_duration_sec', 0);
  const duration = optionalInteger(object, 'duration_sec', 0);
  const phoneId = optionalInteger(object, 'phone_id', 1);
  const answeredPhoneId = optionalInteger(object, 'answered_phone_id', 1);
  const employeeId = optionalInteger(object, 'employee_id', 1);

  const startTime = optionalTime(object, 'start_time', options);
  if (startTime === null) refuse('start_time is required');
  const registrationTime = optionalTime(object, 'registration_time', options);
  const answeredField = optionalTime(object, 'answered_time', options);
  const endField = optionalTime(object, 'end_time', options);

  // Direction: the call type and the direction field must agree.
  let direction: Direction | null = directionWord;
  if (callType !== null) {
    const implied: Direction = callType === 'outbound' ? 'outbound' : 'inbound';
    if (directionWord !== null && directionWord !== implied) refuse(`call_type ${callType} contradicts direction ${directionWord}`);
    direction = implied;
  }

  // Answered or not: every field that says so must agree. Each claim names its field for the refusal.
  let saysAnswered: string | null = null;
  let saysUnanswered: string | null = null;
  const claim = (answered: boolean, field: string) => {
    if (answered) saysAnswered ??= field;
    else saysUnanswered ??= field;
  };
  if (answeredFlag !== null) claim(answeredFlag, answeredFlag ? 'answered true' : 'answered false');
  if (callType === 'inbound') claim(true, 'call_type inbound');
  if (callType === 'missed' || callType === 'voicemail') claim(false, `call_type ${callType}`);
  if (sipStatus !== null) claim(sipStatus === 'answer', `sip_status ${sipStatus}`);
  if (sipCodeField !== null && sipStatus === null) claim(sipCodeField === 200, `sip_code ${sipCodeField}`);
  if (answeredField !== null) claim(true, 'answered_time');
  if (duration !== null && duration > 0) claim(true, `duration_sec ${duration}`);
  if (answeredPhoneNumber !== null) claim(true, 'answered_phone_number');
  if (answeredPhoneId !== null) claim(true, 'answered_phone_id');
  if (saysAnswered !== null && saysUnanswered !== null) {
    refuse(`${saysAnswered} says the call was answered but ${saysUnanswered} says it was not`);
  }
  const answered = saysAnswered !== null;

  if (sipCodeField !== null && sipStatus !== null && sipStatusFromCode(sipCodeField) !== sipStatus) {
    refuse(`sip_code ${sipCodeField} is sip_status ${sipStatusFromCode(sipCodeField)}, not ${sipStatus}`);
  }

  if (registrationTime !== null && registrationTime > startTime) refuse('registration_time must not be after start_time');

  // Times: given ones must be in order; missing ones follow from the durations.
  let answeredTime: number | null = null;
  if (answered) {
    answeredTime = answeredField ?? startTime + (waitDuration ?? 0);
    if (answeredTime < startTime) refuse('answered_time must not be before start_time');
  }
  let endTime: number;
  if (endField !== null) {
    endTime = endField;
    if (endTime < startTime) refuse('end_time must not be before start_time');
    if (answeredTime !== null && endTime < answeredTime) refuse('end_time must not be before answered_time');
  } else if (answeredTime !== null) {
    endTime = answeredTime + (duration ?? 0);
  } else {
    endTime = startTime + (waitDuration ?? 0);
  }

  const waitEnd = answeredTime ?? endTime;
  if (waitDuration !== null && Math.abs(waitEnd - startTime - waitDuration) > DURATION_TOLERANCE_SEC) {
    refuse(`wait_duration_sec is ${waitDuration} but the times give ${waitEnd - startTime}`);
  }
  if (answeredTime !== null && duration !== null && Math.abs(endTime - answeredTime - duration) > DURATION_TOLERANCE_SEC) {
    refuse(`duration_sec is ${duration} but the times give ${endTime - answeredTime}`);
  }

  let playRecordLink: string | null = null;
  const linkValue = object.play_record_link;
  if (isPresent(linkValue)) {
    if (typeof linkValue !== 'string') refuse('play_record_link must be a string');
    const text = linkValue.trim();
    if (text !== '') {
      playRecordLink = recordingLink(text, options);
      if (playRecordLink === null) refuse('play_record_link must be an http(s) URL');
    }
  }

  const sipCode = sipCodeField ?? (sipStatus !== null ? SIP_CODE_OF_STATUS[sipStatus] : null);
  const tags = tagNames(object.tags);

  const record: PbxCallRecord = { pbxId, callerNumber, targetNumber, startTime, answeredTime, endTime };
  if (direction !== null) record.direction = direction;
  if (callType !== null) record.voicemail = callType === 'voicemail';
  if (callerName !== null) record.callerName = callerName;
  if (answeredPhoneNumber !== null) record.answeredBy = answeredPhoneNumber;
  if (sipCode !== null) record.sipCode = sipCode;
  if (playRecordLink !== null) record.playRecordLink = playRecordLink;
  if (tags !== undefined) record.tags = tags;
  if (phoneId !== null) record.phoneId = phoneId;
  if (answeredPhoneId !== null) record.answeredPhoneId = answeredPhoneId;
  if (employeeId !== null) record.employeeId = employeeId;
  if (registrationTime !== null) record.registrationTime = registrationTime;
  return record;
}

export const UNREADABLE_CALL = 'the call object could not be read';

/**
 * Reads one call object. Returns the record, or the reason it was refused;
 * never throws, whatever the value.
 */
export function recordFromCallObject(value: unknown, options: FormatOptions = {}): PbxCallRecord | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'a call must be a JSON object';
  try {
    return convert(value as Record<string, unknown>, options);
  } catch (error) {
    if (error instanceof Refusal) return error.reason;
    // Only an exotic value (a throwing getter, a revoked proxy) gets here.
    return UNREADABLE_CALL;
  }
}
