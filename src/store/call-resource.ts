import { directionOf, type CallResource, type CallType, type SipStatus } from '../domain/call.js';
import { CALL_FIELDS } from '../domain/call-export.js';
import { formatDateTime } from '../domain/time.js';
import type { Database } from './schema.js';

/**
 * The one mapping from a stored call row to the call object the API serves:
 * for each field, the columns it is read from and how it is made of them. A
 * whole call and an export of a few fields are both built from it.
 */

/** The columns a call object is read from. */
export const CALL_COLUMNS = [
  'id',
  'call_type',
  'sip_status',
  'caller_number',
  'caller_name',
  'target_number',
  'answered_phone_number',
  'wait_duration_sec',
  'duration_sec',
  'play_record_link',
  'phone_id',
  'answered_phone_id',
  'employee_id',
  'registration_time',
  'start_time',
  'answered_time',
  'end_time',
] as const;
export type CallColumn = (typeof CALL_COLUMNS)[number];

export type CallSelection = Pick<Database['calls'], Exclude<CallColumn, 'id'>> & { id: number };
export type CallTags = Array<{ id: number; name: string }>;

type FieldSource<K extends keyof CallResource> = {
  columns: readonly CallColumn[];
  value: (row: CallSelection, tags: CallTags) => CallResource[K];
};

/** Each field of a call, in the order the list serves them (CALL_FIELDS). */
export const FIELD_SOURCES: { [K in keyof CallResource]: FieldSource<K> } = {
  id: { columns: ['id'], value: (row) => row.id },
  call_type: { columns: ['call_type'], value: (row) => row.call_type as CallType },
  direction: { columns: ['call_type'], value: (row) => directionOf(row.call_type as CallType) },
  sip_status: { columns: ['sip_status'], value: (row) => row.sip_status as SipStatus },
  caller_number: { columns: ['caller_number'], value: (row) => row.caller_number },
  caller_name: { columns: ['caller_name'], value: (row) => row.caller_name },
  target_number: { columns: ['target_number'], value: (row) => row.target_number },
  receiver_number: { columns: ['target_number'], value: (row) => row.target_number },
  answered_phone_number: { columns: ['answered_phone_number'], value: (row) => row.answered_phone_number },
  answered: { columns: ['answered_time'], value: (row) => row.answered_time !== null },
  wait_duration_sec: { columns: ['wait_duration_sec'], value: (row) => row.wait_duration_sec },
  duration_sec: { columns: ['duration_sec'], value: (row) => row.duration_sec },
  play_record_link: { columns: ['play_record_link'], value: (row) => row.play_record_link },
  phone_id: { columns: ['phone_id'], value: (row) => row.phone_id },
  answered_phone_id: { columns: ['answered_phone_id'], value: (row) => row.answered_phone_id },
  employee_id: { columns: ['employee_id'], value: (row) => row.employee_id },
  registration_time: { columns: ['registration_time'], value: (row) => formatDateTime(row.registration_time) },
  start_time: { columns: ['start_time'], value: (row) => formatDateTime(row.start_time) },
  answered_time: { columns: ['answered_time'], value: (row) => (row.answered_time === null ? null : formatDateTime(row.answered_time)) },
  end_time: { columns: ['end_time'], value: (row) => formatDateTime(row.end_time) },
  tags: { columns: [], value: (_row, tags) => tags },
};

/** Builds the chosen fields of a call from its row; the keys come in the order of `fields`. */
export function callFields<F extends keyof CallResource>(row: CallSelection, tags: CallTags, fields: readonly F[]): Pick<CallResource, F> {
  const call = {} as Record<string, unknown>;
  for (const field of fields) call[field] = FIELD_SOURCES[field].value(row, tags);
  return call as Pick<CallResource, F>;
}

/** The whole call object, every field in the list's order. */
export const toCallResource = (row: CallSelection, tags: CallTags): CallResource => callFields(row, tags, CALL_FIELDS);
