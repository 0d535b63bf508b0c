import { createHash } from 'node:crypto';
import type { Direction } from '../domain/call.js';
import { sipCodeOfOutcome } from '../domain/outcomes.js';
import { parseDateTime } from '../domain/time.js';
import { PHONE_NUMBER_HINT, isPhoneNumber } from '../domain/call.js';
import { textProblem } from '../domain/text.js';
import { MAX_NUMBER_LENGTH } from './call-object.js';
import type { PbxCallRecord } from './record.js';

/** The call-lifecycle events a PBX posts, named and shaped as SIPSIM's webhooks. */
export const PBX_EVENT_NAMES = [
  'incoming_call_start',
  'incoming_call_start_chain_member_call',
  'incoming_call_answer',
  'incoming_call_end',
  'incoming_call_end_chain_member_call',
  'outgoing_call_start',
  'outgoing_call_answer',
  'outgoing_call_end',
  'voicemail',
] as const;
export type PbxEventName = (typeof PBX_EVENT_NAMES)[number];

/** Events after which a call is complete enough to list (assembleCall needs one of them). */
export const ENDING_EVENTS: ReadonlySet<string> = new Set<PbxEventName>(['incoming_call_end', 'outgoing_call_end', 'voicemail']);

export interface PbxEvent {
  event: PbxEventName;
  pbx_id: string;
  caller: string;
  receiver: string;
  /** Unix seconds. */
  time: number;
  caller_name?: string;
  duration?: number;
  status?: string;
  sip_code?: number;
  audio_path?: string;
}

export const MAX_TEXT = 200;
/** Times before 1990 or after 2100 are a unit mistake (milliseconds, days), not a call. */
export const EARLIEST_TIME = Date.UTC(1990, 0, 1) / 1000;
export const LATEST_TIME = Date.UTC(2100, 0, 1) / 1000;

export function text(value: unknown, field: string, required: boolean, max = MAX_TEXT): string | undefined | Error {
  if (value === undefined || value === null || value === '') {
    return required ? new Error(`${field} is required`) : undefined;
  }
  if (typeof value !== 'string') return new Error(`${field} must be a string`);
  const problem = textProblem(value);
  if (problem) return new Error(`${field} ${problem}`);
  const trimmed = value.trim();
  if (required && !trimmed) return new Error(`${field} must not be empty`);
  if (trimmed.length > max) return new Error(`${field} must be at most ${max} characters`);
  return trimmed || undefined;
}

/** Event times as RFC 3339 text (as SIPSIM sends them) or Unix seconds (as a PBX script most easily does). */
export function eventTime(value: unknown): number | Error {
  let seconds: number | null = null;
  if (typeof value === 'number' && Number.isFinite(value)) seconds = Math.floor(value);
  else if (typeof value === 'string') {
    seconds = /^\d{9,10}(\.\d+)?$/.test(value.trim()) ? Math.floor(Number(value)) : (parseDateTime(value)?.seconds ?? null);
  }
  if (seconds === null) return new Error('time must be an RFC 3339 date-time or Unix seconds');
  if (seconds < EARLIEST_TIME || seconds >= LATEST_TIME) return new Error('time must be between 1990 and 2100');
  return seconds;
}

/** Checks one posted event; the reason names the field when it is refused. */
export function parsePbxEvent(value: unknown): PbxEvent | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an event must be a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.event !== 'string' || !(PBX_EVENT_NAMES as readonly string[]).includes(v.event)) {
    return `event must be one of ${PBX_EVENT_NAMES.join(', ')}, sms`;
  }
  const event = v.event as PbxEventName;
  const pbxId = text(v.pbx_id, 'pbx_id', true);
  const caller = text(v.caller, 'caller', true, MAX_NUMBER_LENGTH);
  const receiver = text(v.receiver, 'receiver', true, MAX_NUMBER_LENGTH);
  const callerName = text(v.caller_name, 'caller_name', false);
  const status = text(v.status, 'status', false);
  const audioPath = typeof v.audio_path === 'string' && v.audio_path.length > 2048 ? new Error('audio_path must be at most 2048 characters') : text(v.audio_path === null ? undefined : v.audio_path, 'audio_path', false);
  const time = eventTime(v.time);
  for (const checked of [pbxId, caller, receiver, callerName, status, time]) if (checked instanceof Error) return checked.message;
  for (const [field, number] of [['caller', caller], ['receiver', receiver]] as const) {
    if (!isPhoneNumber(number as string)) return `${field} must be ${PHONE_NUMBER_HINT}`;
  }
  if (audioPath instanceof Error) return audioPath.message;

  const parsed: PbxEvent = { event, pbx_id: pbxId as string, caller: caller as string, receiver: receiver as string, time: time as number };
  if (callerName) parsed.caller_name = callerName as string;
  if (v.duration !== undefined && v.duration !== null) {
    const duration = typeof v.duration === 'string' && /^\d+$/.test(v.duration) ? Number(v.duration) : v.duration;
    if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 0 || duration > 31 * 86400) {
      return 'duration must be a whole number of seconds, 0 or more';
    }
    parsed.duration = duration;
  }
  if (status) {
    if (sipCodeOfOutcome(status as string) === null) return `status '${status}' is not a known call outcome (ANSWER, MISSED, BUSY, NOANSWER, CANCEL, UNAVAILABLE)`;
    parsed.status = (status as string).toUpperCase();
  }
  if (v.sip_code !== undefined && v.sip_code !== null) {
    const code = typeof v.sip_code === 'string' && /^\d+$/.test(v.sip_code) ? Number(v.sip_code) : v.sip_code;
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 699) return 'sip_code must be a SIP response code from 100 to 699';
    parsed.sip_code = code;
  }
  if (audioPath) parsed.audio_path = audioPath as string;
  return parsed;
}

/** The same event, however often it is posted, has the same key. */
export function eventKey(event: PbxEvent): string {
  const fields = [event.event, event.pbx_id, event.caller, event.receiver, event.time, event.caller_name, event.duration, event.status, event.sip_code, event.audio_path];
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 32);
}

const directionOfEvent = (name: PbxEventName): Direction => (name.startsWith('outgoing') ? 'outbound' : 'inbound');

function earliest(events: PbxEvent[], names: PbxEventName[]): PbxEvent | undefined {
  return events.filter((e) => names.includes(e.event)).sort((a, b) => a.time - b.time)[0];
}

function latest(events: PbxEvent[], names: PbxEventName[]): PbxEvent | undefined {
  return events.filter((e) => names.includes(e.event)).sort((a, b) => b.time - a.time)[0];
}

/**
 * The call that a set of events of one PBX id describes, or null while it has
 * not ended. Only the events themselves count, never the order they came in,
 * so assembling again after any further event gives the same call.
 */
export function assembleCall(events: PbxEvent[]): PbxCallRecord | null {
  const end = latest(events, ['incoming_call_end', 'outgoing_call_end']);
  const voicemail = latest(events, ['voicemail']);
  if (!end && !voicemail) return null;
  const start = earliest(events, ['incoming_call_start', 'outgoing_call_start']);
  const answer = earliest(events, ['incoming_call_answer', 'outgoing_call_answer']);
  const first = [...events].sort((a, b) => a.time - b.time)[0]!;
  const direction = directionOfEvent((start ?? end ?? voicemail ?? first).event);

  const startTime = start?.time ?? first.time;
  const endTime = Math.max(end?.time ?? 0, voicemail ? voicemail.time + (voicemail.duration ?? 0) : 0, startTime);
  const statusCode = end?.sip_code ?? (end?.status ? sipCodeOfOutcome(end.status) : null);
  // An end that reports talk time was answered even when the answer event was lost.
  let answeredTime: number | null = answer ? answer.time : null;
  if (answeredTime === null && end && (statusCode === 200 || (end.duration ?? 0) > 0) && !voicemail) {
    answeredTime = Math.max(startTime, end.time - (end.duration ?? 0));
  }
  if (voicemail && !answer) answeredTime = null;
  const answered = answeredTime !== null;
  const sipCode = answered ? 200 : statusCode !== null && statusCode !== 200 ? statusCode : 487;

  const named = (start ?? end ?? voicemail ?? first) as PbxEvent;
  const callerName = events.find((e) => e.caller_name)?.caller_name ?? null;
  return {
    pbxId: first.pbx_id,
    direction,
    voicemail: Boolean(voicemail) && !answered,
    callerNumber: named.caller,
    callerName,
    targetNumber: named.receiver,
    answeredBy: answered && direction === 'inbound' ? (answer?.receiver ?? null) : null,
    startTime,
    answeredTime,
    endTime: Math.max(endTime, answeredTime ?? startTime),
    sipCode,
    playRecordLink: voicemail?.audio_path ?? end?.audio_path ?? null,
  };
}
