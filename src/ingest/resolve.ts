import { deriveCall, type Direction } from '../domain/call.js';
import type { PhoneRef, ResolvedCall } from '../domain/resolved-call.js';
import type { PbxCallRecord } from './record.js';

/**
 * The account's phones indexed by what a PBX calls them: an extension, or a
 * number however it is written (`+33 1 98 76 54 32`, `33198765432`).
 */
export class DirectoryIndex {
  private readonly byDigits = new Map<string, PhoneRef>();
  private readonly byExtension = new Map<string, PhoneRef>();
  private readonly phoneIds = new Set<number>();
  private readonly employeeIds = new Set<number>();

  constructor(phones: PhoneRef[]) {
    for (const phone of phones) {
      this.phoneIds.add(phone.id);
      if (phone.employeeId !== null) this.employeeIds.add(phone.employeeId);
      this.byDigits.set(digitsOf(phone.number), phone);
      if (phone.internalNumber !== null) this.byExtension.set(String(phone.internalNumber), phone);
    }
  }

  /** An id a record names is taken only when it is this account's; another account's never leaks in. */
  ownPhone(id: number | null | undefined): number | null {
    return id != null && this.phoneIds.has(id) ? id : null;
  }

  ownEmployee(id: number | null | undefined): number | null {
    return id != null && this.employeeIds.has(id) ? id : null;
  }

  /** The phone a PBX number or extension names, if it is the account's. */
  find(numberOrExtension: string | null | undefined): PhoneRef | null {
    if (!numberOrExtension) return null;
    const text = numberOrExtension.trim();
    const extension = this.byExtension.get(text);
    if (extension) return extension;
    const digits = digitsOf(text);
    // Short digit strings are extensions, never the tail of a public number.
    return digits.length >= 6 ? (this.byDigits.get(digits) ?? null) : null;
  }
}

function digitsOf(text: string): string {
  return text.replace(/\D/g, '');
}

/**
 * Turns a PBX record into a call as the API shows it. Direction, when the
 * source does not say, follows from who the account's phone is: a call from
 * one of its numbers or extensions goes out, any other comes in. Extensions
 * are shown as the phone's public number, as SIPSIM shows them.
 */
export function resolveCall(record: PbxCallRecord, directory: DirectoryIndex): ResolvedCall {
  const callerPhone = directory.find(record.callerNumber);
  const targetPhone = directory.find(record.targetNumber);
  const direction: Direction = record.direction ?? (callerPhone ? 'outbound' : 'inbound');
  const answered = record.answeredTime !== null && record.answeredTime !== undefined;

  const ownPhone = direction === 'outbound' ? callerPhone : targetPhone;
  const answeringPhone = answered
    ? direction === 'outbound'
      ? ownPhone
      : (directory.find(record.answeredBy) ?? (record.answeredBy ? null : ownPhone))
    : null;

  const phoneId = directory.ownPhone(record.phoneId) ?? ownPhone?.id ?? null;
  const answeredPhoneId = answered ? (directory.ownPhone(record.answeredPhoneId) ?? answeringPhone?.id ?? null) : null;
  const employeeId = directory.ownEmployee(record.employeeId) ?? (answered ? answeringPhone?.employeeId : ownPhone?.employeeId) ?? null;

  const callerNumber = direction === 'outbound' && callerPhone ? callerPhone.number : record.callerNumber;
  const targetNumber = direction === 'inbound' && targetPhone ? targetPhone.number : record.targetNumber;
  let answeredPhoneNumber: string | null = null;
  if (answered) {
    answeredPhoneNumber = direction === 'outbound' ? targetNumber : (answeringPhone?.number ?? record.answeredBy ?? targetNumber);
  }

  const row = deriveCall({
    direction,
    voicemail: direction === 'inbound' && !answered && (record.voicemail ?? false),
    callerNumber,
    callerName: record.callerName ?? null,
    targetNumber,
    answeredPhoneNumber,
    phoneId,
    answeredPhoneId,
    employeeId,
    sipCode: record.sipCode ?? (answered ? 200 : 487),
    playRecordLink: record.playRecordLink ?? null,
    pbxId: record.pbxId,
    registrationTime: record.registrationTime ?? null,
    startTime: record.startTime,
    answeredTime: record.answeredTime ?? null,
    endTime: record.endTime,
  });
  return record.tags === undefined ? { ...row, pbxId: record.pbxId } : { ...row, pbxId: record.pbxId, tagNames: record.tags };
}
