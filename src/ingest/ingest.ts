import { MAX_DURATION_SEC, PHONE_NUMBER_HINT, isPhoneNumber } from '../domain/call.js';
import { textProblem } from '../domain/text.js';
import { tagNameKey } from '../domain/directory.js';
import { MAX_NUMBER_LENGTH, MAX_PBX_ID_LENGTH, MAX_TAG_LENGTH } from './call-object.js';
import type { UpsertResult } from '../store/ingest-tx.js';
import type { Store } from '../store/store.js';
import { assembleCall, EARLIEST_TIME, ENDING_EVENTS, eventKey, LATEST_TIME, parsePbxEvent, type PbxEvent } from './events.js';
import type { PbxCallRecord } from './record.js';
import { DirectoryIndex, resolveCall } from './resolve.js';
import type { ResolvedCall } from '../domain/resolved-call.js';
import { messageOfPbxEvent, messagesOfFinishedCall, smsMessage } from '../domain/webhook-messages.js';
import { parseSmsEvent, smsKey, type SmsEvent } from './sms.js';

/** Rules every record must keep whatever its source; the reason names the field. */
export function checkRecord(record: PbxCallRecord): string | null {
  if (!record.pbxId || record.pbxId.length > MAX_PBX_ID_LENGTH) return `pbx_id must be 1 to ${MAX_PBX_ID_LENGTH} characters`;
  for (const [field, value] of [['caller_number', record.callerNumber], ['target_number', record.targetNumber]] as const) {
    if (!value || !value.trim()) return `${field} is required`;
    if (value.length > MAX_NUMBER_LENGTH) return `${field} must be at most ${MAX_NUMBER_LENGTH} characters`;
  }
  for (const [field, value] of [['caller_number', record.callerNumber], ['target_number', record.targetNumber], ['answered_phone_number', record.answeredBy]] as const) {
    if (value != null && value !== '' && !isPhoneNumber(value)) return `${field} must be ${PHONE_NUMBER_HINT}, not ${JSON.stringify(value.slice(0, 40))}`;
  }
  // Every text a record holds, whatever its source: no NUL, no lone surrogate.
  const texts = [['pbx_id', record.pbxId], ['caller_name', record.callerName], ['play_record_link', record.playRecordLink], ...(record.tags ?? []).map((t) => ['tags', t] as const)] as const;
  for (const [field, value] of texts) {
    const problem = typeof value === 'string' ? textProblem(value) : null;
    if (problem) return `${field} ${problem}`;
  }
  const times = [['registration_time', record.registrationTime], ['start_time', record.startTime], ['answered_time', record.answeredTime], ['end_time', record.endTime]] as const;
  for (const [field, value] of times) {
    if (value === null || value === undefined) continue;
    if (!Number.isInteger(value) || value < EARLIEST_TIME || value >= LATEST_TIME) return `${field} must be between 1990 and 2100`;
  }
  if (record.registrationTime != null && record.registrationTime > record.startTime) return 'registration_time must not be after start_time';
  if (record.answeredTime != null && record.answeredTime < record.startTime) return 'answered_time must not be before start_time';
  if (record.endTime < (record.answeredTime ?? record.startTime)) return 'end_time must not be before start_time or answered_time';
  // Wait and talk time are both at most end minus start, and are stored as 32-bit integers.
  if (record.endTime - record.startTime > MAX_DURATION_SEC) {
    return `end_time must be at most ${MAX_DURATION_SEC} seconds (about 68 years) after start_time`;
  }
  for (const name of record.tags ?? []) {
    if (typeof name !== 'string' || !name.trim()) return 'tag names must not be empty';
    if (name.trim().length > MAX_TAG_LENGTH) return `tag names must be at most ${MAX_TAG_LENGTH} characters`;
  }
  return null;
}

export type RecordResult = ({ pbxId: string } & UpsertResult) | { pbxId: string | null; error: string };

/** At most this many tags are created by one import request; records past it are refused. */
export const MAX_NEW_TAGS_PER_REQUEST = 100;

/** Whether records may create the tags they name and how many; absent: any (the operator's own CLI). */
export interface NewTagPolicy {
  allowed: boolean;
  max: number;
}

/** Refuses, one record at a time, those that name tags this request may not create. */
async function applyTagPolicy(
  store: Store,
  accountId: number,
  records: PbxCallRecord[],
  policy: NewTagPolicy,
): Promise<Array<string | null>> {
  const keysOf = (record: PbxCallRecord) => [...new Set((record.tags ?? []).map(tagNameKey))];
  const existing = await store.tags.existingKeys(accountId, records.flatMap(keysOf));
  const created = new Set<string>();
  return records.map((record) => {
    const fresh = keysOf(record).filter((key) => !existing.has(key) && !created.has(key));
    if (!fresh.length) return null;
    if (!policy.allowed) {
      const names = (record.tags ?? []).filter((name) => fresh.includes(tagNameKey(name)));
      return `tags ${names.map((n) => `'${n.trim()}'`).join(', ')} do not exist, and creating tags needs the 'tags.write' scope`;
    }
    if (created.size + fresh.length > policy.max) return `tags: one request may create at most ${policy.max} new tags`;
    for (const key of fresh) created.add(key);
    return null;
  });
}

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
  options: { notify?: boolean; newTags?: NewTagPolicy } = {},
): Promise<RecordResult[]> {
  const index = directory ?? new DirectoryIndex(await store.ingest.phoneRefs(accountId));
  const results: RecordResult[] = new Array(records.length);
  const sound: Array<{ record: PbxCallRecord; at: number }> = [];
  records.forEach((record, i) => {
    const problem = 'error' in record ? record.error : checkRecord(record);
    if (problem !== null && problem !== undefined) {
      results[i] = { pbxId: (record as { pbxId?: string | null }).pbxId ?? null, error: problem };
      return;
    }
    sound.push({ record: record as PbxCallRecord, at: i });
  });
  const tagProblems = options.newTags ? await applyTagPolicy(store, accountId, sound.map((s) => s.record), options.newTags) : [];
  const accepted: ResolvedCall[] = [];
  const positions: number[] = [];
  sound.forEach(({ record, at }, j) => {
    const problem = tagProblems[j];
    if (problem) {
      results[at] = { pbxId: record.pbxId, error: problem };
      return;
    }
    accepted.push(resolveCall(record, index));
    positions.push(at);
  });
  const stored = await store.ingest.upsertCalls(accountId, accepted, options.notify ? { webhooksOfNew: messagesOfFinishedCall } : {});
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
): Promise<{ events: EventResult[]; calls: Array<{ pbxId: string } & UpsertResult>; refusedCalls: Array<{ pbxId: string; error: string }> }> {
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
  // Each event is sound alone; the call they make together may still be one
  // that cannot be stored (it would last a century). Its events are kept, the
  // call is not made, and the answer says why.
  let refusedCalls: Array<{ pbxId: string; error: string }> = [];
  const { fresh, calls } = await store.ingest.events(accountId, rows, (payloads, phones) => {
    const directory = new DirectoryIndex(phones);
    const assembled: ResolvedCall[] = [];
    refusedCalls = [];
    for (const list of payloads.values()) {
      const record = assembleCall(list.map((p) => JSON.parse(p) as PbxEvent));
      if (!record) continue;
      const problem = checkRecord(record);
      if (problem === null) assembled.push(resolveCall(record, directory));
      else refusedCalls.push({ pbxId: record.pbxId, error: problem });
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
  return { events, calls, refusedCalls };
}
