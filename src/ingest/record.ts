import type { Direction } from '../domain/call.js';

/**
 * A finished call as a PBX reports it, before it is matched against the
 * account's directory. Every way in (live events, the import endpoint, every
 * file format) produces these, so that one piece of code turns them into
 * stored calls.
 */
export interface PbxCallRecord {
  /** The PBX's own id for the call: the key that makes every way in idempotent. */
  pbxId: string;
  /** Null or absent: decided from the account's numbers and extensions. */
  direction?: Direction | null;
  /** The caller left a voicemail (inbound, unanswered). */
  voicemail?: boolean;
  callerNumber: string;
  callerName?: string | null;
  /** The number or extension that was dialled. */
  targetNumber: string;
  /** The number or extension of the phone that answered, when known. */
  answeredBy?: string | null;
  /** When the PBX registered the call, if before it started ringing (Unix seconds); else the start. */
  registrationTime?: number | null;
  /** Unix seconds. */
  startTime: number;
  answeredTime?: number | null;
  endTime: number;
  /** The final SIP code; absent: 200 when answered, else a cancel (487). */
  sipCode?: number | null;
  playRecordLink?: string | null;
  /** Tag names; absent leaves an existing call's tags as they are. */
  tags?: string[];
  /** Explicit directory ids, when the source has them; else found from the numbers. */
  phoneId?: number | null;
  answeredPhoneId?: number | null;
  employeeId?: number | null;
}

/**
 * One item read from an import source: a record, the reason it was refused,
 * or the reason a sound item is left out (a FreeSWITCH B-leg, whose A-leg
 * already tells the call), which is counted but is no error.
 */
export type ParsedItem =
  | { source: string; line: number; raw: string; record: PbxCallRecord; error?: undefined; skipped?: undefined }
  | { source: string; line: number; raw: string; record?: undefined; error: string; skipped?: undefined }
  | { source: string; line: number; raw: string; record?: undefined; error?: undefined; skipped: string };

export interface FormatOptions {
  /** IANA zone of local times in the source (Asterisk's Master.csv); UTC when absent. */
  timeZone?: string;
  /** Recording paths are turned into links under this URL (its basename appended). */
  recordingBaseUrl?: string;
}
