import type { SipStatus } from './call.js';
import { wordTable } from './lookup.js';

/**
 * Every PBX names the end of a call its own way. These map each vocabulary onto
 * a final SIP response code, from which `sip_status` follows (see call.ts).
 */

/** A representative SIP code for each of SIPSIM's own status words. */
export const SIP_CODE_OF_STATUS: Readonly<Record<SipStatus, number>> = wordTable({
  answer: 200,
  cancel: 487,
  no_answer: 480,
  busy: 486,
  unavailable: 404,
  other: 500,
});

/** The words of SIPSIM's webhook `status` and of Asterisk's CDR `disposition`. */
const WORDS: Readonly<Record<string, number>> = wordTable({
  // SIPSIM webhook statuses and the API's own sip_status values
  ANSWER: 200,
  ANSWERED: 200,
  MISSED: 487,
  CANCEL: 487,
  CANCELLED: 487,
  CANCELED: 487,
  BUSY: 486,
  NOANSWER: 480,
  'NO ANSWER': 480,
  NO_ANSWER: 480,
  UNAVAILABLE: 404,
  OTHER: 500,
  // Asterisk dispositions
  FAILED: 503,
  CONGESTION: 503,
});

/** FreeSWITCH / Q.850 hangup causes, by the SIP response each one stands for (RFC 3398 and FreeSWITCH's own table). */
const HANGUP_CAUSES: Readonly<Record<string, number>> = wordTable({
  NORMAL_CLEARING: 200,
  SUCCESS: 200,
  ORIGINATOR_CANCEL: 487,
  LOSE_RACE: 487,
  PICKED_OFF: 487,
  USER_BUSY: 486,
  NO_ANSWER: 480,
  NO_USER_RESPONSE: 408,
  RECOVERY_ON_TIMER_EXPIRE: 408,
  PROGRESS_TIMEOUT: 408,
  ALLOTTED_TIMEOUT: 408,
  SUBSCRIBER_ABSENT: 480,
  USER_NOT_REGISTERED: 480,
  UNALLOCATED_NUMBER: 404,
  NO_ROUTE_DESTINATION: 404,
  NO_ROUTE_TRANSIT_NET: 404,
  NUMBER_CHANGED: 410,
  INVALID_NUMBER_FORMAT: 484,
  CALL_REJECTED: 603,
  DESTINATION_OUT_OF_ORDER: 502,
  NORMAL_TEMPORARY_FAILURE: 503,
  NORMAL_CIRCUIT_CONGESTION: 503,
  SWITCH_CONGESTION: 503,
  NETWORK_OUT_OF_ORDER: 503,
  REQUESTED_CHAN_UNAVAIL: 503,
  FACILITY_REJECTED: 501,
  SERVICE_UNAVAILABLE: 503,
  INCOMPATIBLE_DESTINATION: 488,
  MEDIA_TIMEOUT: 408,
  EXCHANGE_ROUTING_ERROR: 483,
  BEARERCAPABILITY_NOTAVAIL: 488,
  NORMAL_UNSPECIFIED: 480,
  INTERWORKING: 500,
});

/**
 * The SIP code for an outcome word from any vocabulary above, or a numeric
 * string such as "486"; null when the word is unknown.
 */
export function sipCodeOfOutcome(word: string): number | null {
  const text = word.trim();
  if (/^[1-6]\d\d$/.test(text)) return Number(text);
  const key = text.toUpperCase();
  return WORDS[key] ?? WORDS[key.replace(/_/g, ' ')] ?? HANGUP_CAUSES[key] ?? (SIP_CODE_OF_STATUS as Record<string, number>)[text.toLowerCase()] ?? null;
}
