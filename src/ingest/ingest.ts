import { MAX_NUMBER_LENGTH, MAX_PBX_ID_LENGTH, MAX_TAG_LENGTH } from './call-object.js';
import type { UpsertResult } from '../store/ingest-tx.js';
import type { Store } from '../store/store.js';
import { assembleCall, EARLIEST_TIME, ENDING_EVENTS, eventKey, LATEST_TIME, parsePbxEvent, type PbxEvent } from './events.js';
import type { PbxCallRecord } from './record.js';
import { DirectoryIndex, resolveCall, type ResolvedCall } from './resolve.js';
import { messageOfPbxEvent, smsMessage } from '../webhooks/events.js';
import { parseSmsEvent, smsKey, type SmsEvent } from './sms.js';

/** Rules every record must keep whatever its source; the reason names the field. */
export function checkRecord(record: PbxCallRecord): string | null {
  if (!record.pbxId || record.pbxId.length > MAX_PBX_ID_LENGTH) return `pbx_id must be 1 to ${MAX_PBX_ID_LENGTH} characters`;
  for (const [field, value] of [['caller_number', record.callerNumber], ['target_number', record.targetNumber]] as const) {
    if (!value || !value.trim()) return `${field} is required`;
    if (value.length > MAX_NUMBER_LENGTH) return `${field} must be at most ${MAX_NUMBER_LENGTH} characters`;
  }
  const times = [['registration_time', record.registrationTime], ['start_time', record.startTime], ['answered_time', record.answeredTime], ['end_time', record.endTime]] as const;
  for (const [field, value] of times) {
    if (value === null || value === undefined) continue;
    if (!Number.isInteger(value) || value < EARLIEST_TIME || value >= LATEST_TIME) return `${field} must be between 1990 and 2100`;
  }
  if (record.registrationTime != null && record.registrationTime > record.startTime) return 'registration_time must not be after start_time';
  if (record.answeredTime != null && record.answeredTime < record.startTime) return 'answered_time must not be before start_time';
  if (record.endTime < (record.answeredTime ?? record.startTime)) return 'end_time must not be before start_time or answered_time';
  for (const name of record.tags ?? []) {
    if (typeof name !== 'string' || !name.trim()) return 'tag names must not be empty';
    if (name.trim().length > MAX_TAG_LENGTH) return `tag names must be at most ${MAX_TAG_LENGTH} characters`;
  }
  return null;
}

export type RecordResult = ({ pbxId: string } & UpsertResult) | { pbxId: string | null; error: string };

/**
 * Stores a batch of finished-call records: each is checked, matched against
 * the account's phones and created or updated by PBX id, all in one
 * transaction. A refused record does not stop the others. With `notify`, each
 * new call queues its end webhook in that same transaction.
 */
export async function importRecords(
  store: Store,
  accountId: number,
  records: Array<PbxCallRecord | { error: string; pbxId?: string | null }>,
  directory?: DirectoryIndex,
  options: { notify?: boolean } = {},
): Promise<RecordResult[]> {
  const index = directory ?? new DirectoryIndex(await store.phoneRefs(accountId));
  const results: RecordResult[] = new Array(records.length);
  const accepted: ResolvedCall[] = [];
  const positions: number[] = [];
  records.forEach((record, i) => {
    const problem = 'error' in record ? record.error : checkRecord(record);
    if (problem !== null && problem !== undefined) {
      results[i] = { pbxId: (record as { pbxId?: string | null }).pbxId ?? null, error: problem };
      return;
    }
    accepted.push(resolveCall(record as PbxCallRecord, index));
    positions.push(i);
  });
  const stored = await store.upsertCalls(accountId, accepted, options);
  stored.forEach((result, j) => {
    results[positions[j]!] = { pbxId: accepted[j]!.pbxId, ...result };
  });
  return results;
}

export type EventResult =
  | { status: 'accepted' | 'duplicate'; pbxId: string }
  | { status: 'accepted' | 'duplicate'; smsId?: number }
  | { status: 'rejected'; error: string };

const isSms = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && (value as { event?: unknown }).event === 'sms';

/**
 * Takes live events in: stores each new one and rebuilds the call it belongs
 * to, which appears in the calls once it has ended. A repeated event is
 * recognised and changes nothing.
 */
export async function ingestEvents(
  store: Store,
  accountId: number,
  values: unknown[],
): Promise<{ events: EventResult[]; calls: Array<{ pbxId: string } & UpsertResult> }> {
  const receivedAt = Math.floor(Date.now() / 1000);
  const parsed = values.map((v): PbxEvent | SmsEvent | string => (isSms(v) ? parseSmsEvent(v, receivedAt) : parsePbxEvent(v)));
  const rows = parsed
    .filter((p): p is PbxEvent => typeof p !== 'string' && p.event !== 'sms')
    .map((event) => ({
      pbxId: event.pbx_id,
      key: eventKey(event),
      event: event.event,
      ends: ENDING_EVENTS.has(event.event),
      time: event.time,
      payload: JSON.stringify(event),
      receivedAt,
      webhook: messageOfPbxEvent(event),
    }));
  const { fresh, calls } = await store.ingestEvents(accountId, rows, (payloads, phones) => {
    const directory = new DirectoryIndex(phones);
    const assembled: ResolvedCall[] = [];
    for (const list of payloads.values()) {
      const record = assembleCall(list.map((p) => JSON.parse(p) as PbxEvent));
      if (record && checkRecord(record) === null) assembled.push(resolveCall(record, directory));
    }
    return assembled;
  });
  // SMS have no call: they are stored on their own, each with its webhook.
  const texts = parsed.filter((p): p is SmsEvent => typeof p !== 'string' && p.event === 'sms');
  const smsIds = await store.sms.receive(
    accountId,
    texts.map((t) => ({ key: smsKey(t), direction: t.direction, caller: t.caller, receiver: t.receiver, message: t.message, time: t.time, webhook: smsMessage(t) })),
  );
  // The same event twice in one post: the first is taken, the second is the duplicate.
  const taken = new Set<string>();
  let row = 0;
  const events = parsed.map((p): EventResult => {
    if (typeof p === 'string') return { status: 'rejected', error: p };
    if (p.event === 'sms') {
      const key = smsKey(p);
      const id = smsIds.get(key);
      const accepted = id !== undefined && !taken.has(key);
      taken.add(key);
      return accepted ? { status: 'accepted', smsId: id } : { status: 'duplicate' };
    }
    const key = rows[row++]!.key;
    const accepted = fresh.has(key) && !taken.has(key);
    taken.add(key);
    return { status: accepted ? 'accepted' : 'duplicate', pbxId: p.pbx_id };
  });
  return { events, calls };
}
