/**
 * The call model: what a call record holds, and the fields that follow from its
 * timestamps so that every stored call stays coherent however it got in.
 */
export const CALL_TYPES = ['inbound', 'outbound', 'missed', 'voicemail'] as const;
export type CallType = (typeof CALL_TYPES)[number];

export const SIP_STATUSES = ['answer', 'cancel', 'no_answer', 'busy', 'unavailable', 'other'] as const;
export type SipStatus = (typeof SIP_STATUSES)[number];

export type Direction = 'inbound' | 'outbound';

/** The final SIP response code of a call, as the SIPSIM status word. */
export function sipStatusFromCode(code: number): SipStatus {
  switch (code) {
    case 200:
      return 'answer';
    case 487:
      return 'cancel';
    case 408:
    case 480:
      return 'no_answer';
    case 486:
    case 600:
      return 'busy';
    case 404:
    case 410:
    case 484:
    case 503:
    case 603:
      return 'unavailable';
    default:
      return 'other';
  }
}

/**
 * The longest wait or talk time a call may have, in seconds: the largest value
 * of the 32-bit integer columns that hold durations on PostgreSQL (about 68
 * years). Anything longer is refused before it reaches the store.
 */
export const MAX_DURATION_SEC = 2_147_483_647;

/**
 * A number as a PBX reports it: an E.164 or national number, an extension, a
 * feature code (`*97`), a SIP user (letters too: `anonymous`, `alice`), with
 * the separators people write (` .-()/`) and an optional `@host`. Permissive
 * on purpose, yet it starts with a digit, a letter, `+`, `*`, `#` or `(`, and holds
 * none of `< > " ' = ; & \` or control characters: whatever shows a number
 * (a terminal, a spreadsheet, a web page) gets no markup, formula or escape.
 */
const PHONE_NUMBER = /^[+*#(]?[A-Za-z0-9][A-Za-z0-9 .()*#_/-]*(@[A-Za-z0-9.:[\]-]+)?$/;
export const PHONE_NUMBER_HINT = 'a phone number, extension or SIP user (digits, letters, + * # . - _ ( ) / spaces, and an optional @host)';

export function isPhoneNumber(text: string): boolean {
  return PHONE_NUMBER.test(text);
}

/** What a call record is made of before the derived fields are computed. */
export interface CallInput {
  direction: Direction;
  /** True when the caller left a voicemail (inbound, unanswered). */
  voicemail?: boolean;
  callerNumber: string;
  callerName?: string | null;
  targetNumber: string;
  answeredPhoneNumber?: string | null;
  phoneId?: number | null;
  answeredPhoneId?: number | null;
  employeeId?: number | null;
  sipCode: number;
  playRecordLink?: string | null;
  pbxId?: string | null;
  /** Unix seconds. */
  registrationTime?: number | null;
  startTime: number;
  answeredTime?: number | null;
  endTime: number;
}

/** A call as the store keeps it: the input plus every derived field. */
export interface CallRow {
  callType: CallType;
  sipStatus: SipStatus;
  sipCode: number;
  callerNumber: string;
  callerName: string | null;
  targetNumber: string;
  answeredPhoneNumber: string | null;
  phoneId: number | null;
  answeredPhoneId: number | null;
  employeeId: number | null;
  answered: boolean;
  waitDurationSec: number;
  durationSec: number;
  playRecordLink: string | null;
  pbxId: string | null;
  registrationTime: number;
  startTime: number;
  answeredTime: number | null;
  endTime: number;
  searchNumbers: string;
  searchName: string;
}

export function callTypeOf(direction: Direction, answered: boolean, voicemail: boolean): CallType {
  if (direction === 'outbound') return 'outbound';
  if (answered) return 'inbound';
  return voicemail ? 'voicemail' : 'missed';
}

export function directionOf(callType: CallType): Direction {
  return callType === 'outbound' ? 'outbound' : 'inbound';
}

/** Derives answered, durations, type and status from the timestamps. */
export function deriveCall(input: CallInput): CallRow {
  const answeredTime = input.answeredTime ?? null;
  const answered = answeredTime !== null;
  const endTime = Math.max(input.endTime, answeredTime ?? input.startTime, input.startTime);
  const waitEnd = answered ? answeredTime : endTime;
  return {
    callType: callTypeOf(input.direction, answered, input.voicemail ?? false),
    sipStatus: sipStatusFromCode(input.sipCode),
    sipCode: input.sipCode,
    callerNumber: input.callerNumber,
    callerName: input.callerName ?? null,
    targetNumber: input.targetNumber,
    answeredPhoneNumber: answered ? (input.answeredPhoneNumber ?? null) : null,
    phoneId: input.phoneId ?? null,
    answeredPhoneId: answered ? (input.answeredPhoneId ?? null) : null,
    employeeId: input.employeeId ?? null,
    answered,
    waitDurationSec: Math.max(0, waitEnd - input.startTime),
    durationSec: answered ? Math.max(0, endTime - answeredTime) : 0,
    playRecordLink: input.playRecordLink ?? null,
    pbxId: input.pbxId ?? null,
    registrationTime: input.registrationTime ?? input.startTime,
    startTime: input.startTime,
    answeredTime,
    endTime,
    searchNumbers: searchNumbersOf([input.callerNumber, input.targetNumber, answered ? input.answeredPhoneNumber : null]),
    searchName: foldText(input.callerName ?? ''),
  };
}

/** The digits of each number, space-separated so that no match spans two numbers. */
export function searchNumbersOf(numbers: Array<string | null | undefined>): string {
  return numbers
    .map((n) => (n ?? '').replace(/\D/g, ''))
    .filter(Boolean)
    .join(' ');
}

/** Lower case without accents, so that "elodie" finds "Élodie". */
export function foldText(text: string): string {
  // Most names are plain ASCII; only the rest pay for Unicode decomposition.
  if (/^[\x00-\x7f]*$/.test(text)) return text.toLowerCase();
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

/** A call as the API shows it. `direction` and `receiver_number` are served
 * because the guide's own example program reads them. */
export interface CallResource {
  id: number;
  call_type: CallType;
  direction: Direction;
  sip_status: SipStatus;
  caller_number: string;
  caller_name: string | null;
  target_number: string;
  receiver_number: string;
  answered_phone_number: string | null;
  answered: boolean;
  wait_duration_sec: number;
  duration_sec: number;
  play_record_link: string | null;
  phone_id: number | null;
  answered_phone_id: number | null;
  employee_id: number | null;
  registration_time: string;
  start_time: string;
  answered_time: string | null;
  end_time: string;
  tags: Array<{ id: number; name: string }>;
}
