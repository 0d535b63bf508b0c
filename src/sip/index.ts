/**
 * sipsim's SIP user agent: click-to-call as an RFC 3725 third-party call
 * controller over UDP. Independent of the store and the HTTP API.
 */
export {
  SipAgent,
  ClickToCall,
  InvalidNumberError,
  numberToUri,
  ringingSnapshot,
  type CallSnapshot,
  type CallerId,
  type ClickToCallRequest,
  type ClickToCallStatus,
  type EndedBy,
  type SipAgentOptions,
} from './click-to-call.js';
export type { SipLogger, SipTraceEvent } from './core.js';
export type { TimerConfig } from './transaction.js';
