import { formatDateTime } from '../domain/time.js';
import { CALL_COLUMNS, type CallColumn, type CallTags } from './call-resource.js';

/**
 * A page of the list written as JSON straight from the rows the driver reads as
 * arrays (values in CALL_COLUMNS order), without building a call object per row
 * and serialising it again. The output is byte for byte
 * JSON.stringify(toCallResource(row, tags)): the same fields, in the same order
 * (CALL_FIELDS), made of the same columns (FIELD_SOURCES); test/store/call-json.test.ts
 * holds the two to each other. A field added to the call object goes in both.
 */

/** A call row as the driver reads it in array mode: one value per CALL_COLUMNS entry. */
export type CallRowArray = readonly unknown[];

const at = Object.fromEntries(CALL_COLUMNS.map((column, index) => [column, index])) as Record<CallColumn, number>;

export const callRowId = (row: CallRowArray): number => row[at.id] as number;
export const callRowStartTime = (row: CallRowArray): number => row[at.start_time] as number;
export const callRowLink = (row: CallRowArray): string | null => row[at.play_record_link] as string | null;

/** A JSON value as JSON.stringify writes it inside an object (rows hold strings, numbers and nulls). */
function json(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value);
}

const time = (seconds: unknown): string => `"${formatDateTime(seconds as number)}"`;

/** One call as JSON, with `link` for its play_record_link (the recording link the API serves). */
export function callJson(row: CallRowArray, tags: CallTags, link: string | null): string {
  const callType = json(row[at.call_type]);
  const target = json(row[at.target_number]);
  const answeredTime = row[at.answered_time];
  return (
    `{"id":${json(row[at.id])}` +
    `,"call_type":${callType}` +
    `,"direction":${row[at.call_type] === 'outbound' ? '"outbound"' : '"inbound"'}` +
    `,"sip_status":${json(row[at.sip_status])}` +
    `,"caller_number":${json(row[at.caller_number])}` +
    `,"caller_name":${json(row[at.caller_name])}` +
    `,"target_number":${target}` +
    `,"receiver_number":${target}` +
    `,"answered_phone_number":${json(row[at.answered_phone_number])}` +
    `,"answered":${answeredTime !== null}` +
    `,"wait_duration_sec":${json(row[at.wait_duration_sec])}` +
    `,"duration_sec":${json(row[at.duration_sec])}` +
    `,"play_record_link":${json(link)}` +
    `,"phone_id":${json(row[at.phone_id])}` +
    `,"answered_phone_id":${json(row[at.answered_phone_id])}` +
    `,"employee_id":${json(row[at.employee_id])}` +
    `,"registration_time":${time(row[at.registration_time])}` +
    `,"start_time":${time(row[at.start_time])}` +
    `,"answered_time":${answeredTime === null ? 'null' : time(answeredTime)}` +
    `,"end_time":${time(row[at.end_time])}` +
    `,"tags":${tags.length ? JSON.stringify(tags) : '[]'}}`
  );
}

/** The calls of a page as a JSON array; `links[i]` is the play_record_link of `rows[i]`. */
export function callsJson(rows: readonly CallRowArray[], tagsOf: ReadonlyMap<number, CallTags>, links: ReadonlyArray<string | null>): string {
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    parts[i] = callJson(row, tagsOf.get(callRowId(row)) ?? [], links[i] ?? null);
  }
  return `[${parts.join(',')}]`;
}
