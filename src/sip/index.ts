/**
 * sipsim's SIP user agent: RFC 3725 third-party calls over UDP, the way
 * click-to-call reaches phones. Independent of the store and the HTTP API.
 */
export {
  SipAgent,
  ThirdPartyCall,
  InvalidNumberError,
  numberToUri,
  ringingSnapshot,
  type CallSnapshot,
  type CallerId,
  type ThirdPartyCallRequest,
  type ThirdPartyCallStatus,
  type EndedBy,
  type SipAgentOptions,
} from './third-party-call.js';
export type { SipLogger, SipTraceEvent } from './core.js';
export type { TimerConfig } from './transaction.js';
