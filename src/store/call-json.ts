import { directionOf, type CallResource, type CallType, type SipStatus } from '../domain/call.js';
import { formatDateTime } from '../domain/time.js';
import { CALL_COLUMNS, type CallColumn, type CallTags } from './call-resource.js';

/**
 * A page of the list written as JSON from the rows the driver reads as arrays
 * (values in CALL_COLUMNS order), with no row object from the driver nor a
 * call object built key by key. The output is byte for byte
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

/**
 * One call object from its array row, with `link` for its play_record_link (the
 * recording link the API serves). One object literal, so that every call has
 * the same hidden class and JSON.stringify takes its fast path: measured on a
 * page of 1,000 calls, this and one JSON.stringify took about 1.5 ms, where
 * toCallResource's field-by-field object took several times that and writing
 * the JSON text by hand, field by field, about 10 ms.
 */
export function callObject(row: CallRowArray, tags: CallTags, link: string | null): CallResource {
  const callType = row[at.call_type] as CallType;
  const answeredTime = row[at.answered_time] as number | null;
  return {
    id: row[at.id] as number,
    call_type: callType,
    direction: directionOf(callType),
    sip_status: row[at.sip_status] as SipStatus,
    caller_number: row[at.caller_number] as string,
    caller_name: row[at.caller_name] as string | null,
    target_number: row[at.target_number] as string,
    receiver_number: row[at.target_number] as string,
    answered_phone_number: row[at.answered_phone_number] as string | null,
    answered: answeredTime !== null,
    wait_duration_sec: row[at.wait_duration_sec] as number,
    duration_sec: row[at.duration_sec] as number,
    play_record_link: link,
    phone_id: row[at.phone_id] as number | null,
    answered_phone_id: row[at.answered_phone_id] as number | null,
    employee_id: row[at.employee_id] as number | null,
    registration_time: formatDateTime(row[at.registration_time] as number),
    start_time: formatDateTime(row[at.start_time] as number),
    answered_time: answeredTime === null ? null : formatDateTime(answeredTime),
    end_time: formatDateTime(row[at.end_time] as number),
    tags,
  };
}

/** The calls of a page as a JSON array; `links[i]` is the play_record_link of `rows[i]`. */
export function callsJson(rows: readonly CallRowArray[], tagsOf: ReadonlyMap<number, CallTags>, links: ReadonlyArray<string | null>): string {
  const calls = new Array<CallResource>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    calls[i] = callObject(row, tagsOf.get(callRowId(row)) ?? [], links[i] ?? null);
  }
  return JSON.stringify(calls);
}
