import type { Rating, Segment } from './ai.js';
import type { CallType, SipStatus } from './call.js';
import { sipStatusFromCode } from './call.js';
import { sipCodeOfOutcome } from './outcomes.js';
import { formatDateTime } from './time.js';
import type { WebhookEventName } from './webhook-events.js';

/**
 * The webhooks sipsim sends, built here as the exact bodies SIPSIM documents:
 * services decide when to send them, the store queues them in the transaction
 * of the change they tell.
 */

/** One webhook to queue: its event, the call it is about, and the exact body to send. */
export interface WebhookMessage {
  event: WebhookEventName | 'test';
  pbxId: string | null;
  body: string;
}

const message = (event: WebhookEventName | 'test', pbxId: string | null, payload: Record<string, unknown>): WebhookMessage => ({
  event,
  pbxId,
  body: JSON.stringify(payload),
});

const ENDS = new Set(['incoming_call_end', 'outgoing_call_end']);

/**
 * The end status words SIPSIM documents: ANSWER, MISSED, BUSY, NOANSWER for
 * incoming calls, and ANSWER, BUSY, NOANSWER for outgoing ones. Every other
 * outcome is told as the nearest of them.
 */
export function endStatusWord(direction: 'incoming' | 'outgoing', sipStatus: SipStatus): string {
  switch (sipStatus) {
    case 'answer':
      return 'ANSWER';
    case 'busy':
      return 'BUSY';
    case 'no_answer':
      return 'NOANSWER';
    default:
      return direction === 'incoming' ? 'MISSED' : 'NOANSWER';
  }
}

/** A live event of a call as a PBX posts it (ingest's parsed PbxEvent is one). */
export interface LiveCallEvent {
  event: WebhookEventName;
  pbx_id: string;
  caller: string;
  receiver: string;
  /** Unix seconds. */
  time: number;
  duration?: number;
  status?: string;
  sip_code?: number;
  audio_path?: string;
}

/**
 * The webhook a live PBX event produces: the same event with SIPSIM's fields,
 * the time as RFC 3339. An end event always carries duration, audio_path and
 * status, worked out from the SIP code when the PBX sent only that.
 */
export function messageOfPbxEvent(e: LiveCallEvent): WebhookMessage {
  const payload: Record<string, unknown> = {
    event: e.event,
    caller: e.caller,
    receiver: e.receiver,
    time: formatDateTime(e.time),
    pbx_id: e.pbx_id,
  };
  if (ENDS.has(e.event)) {
    const code = e.sip_code ?? (e.status ? sipCodeOfOutcome(e.status) : null) ?? ((e.duration ?? 0) > 0 ? 200 : 487);
    const direction = e.event === 'incoming_call_end' ? 'incoming' : 'outgoing';
    payload.duration = e.duration ?? 0;
    payload.audio_path = e.audio_path ?? null;
    // Whatever words the PBX used, receivers get SIPSIM's documented ones.
    payload.status = endStatusWord(direction, sipStatusFromCode(code));
  } else if (e.event === 'voicemail') {
    payload.duration = e.duration ?? 0;
    payload.audio_path = e.audio_path ?? null;
  }
  return message(e.event, e.pbx_id, payload);
}

/** An SMS sent or received on one of the account's numbers; it has no call, so no PBX id. */
export function smsMessage(sms: { caller: string; receiver: string; message: string; time: number; direction: 'inbound' | 'outbound' }): WebhookMessage {
  return message('sms', null, {
    event: 'sms',
    caller: sms.caller,
    receiver: sms.receiver,
    message: sms.message,
    time: formatDateTime(sms.time),
    direction: sms.direction,
  });
}

/** What the end of a stored call needs; both stored calls and imported records have it. */
export interface FinishedCall {
  pbxId: string | null;
  callType: CallType;
  sipStatus: SipStatus;
  callerNumber: string;
  targetNumber: string;
  answeredTime: number | null;
  endTime: number;
  durationSec: number;
  playRecordLink: string | null;
}

/**
 * The webhooks of a call that came in finished (a CDR, an import asked to
 * notify): its end event, and for a voicemail also the voicemail event that
 * follows the missed call, as SIPSIM sends them.
 */
export function messagesOfFinishedCall(call: FinishedCall & { pbxId: string }): WebhookMessage[] {
  const base = { caller: call.callerNumber, receiver: call.targetNumber, time: formatDateTime(call.endTime), pbx_id: call.pbxId };
  const direction = call.callType === 'outbound' ? 'outgoing' : 'incoming';
  const end = message(`${direction}_call_end`, call.pbxId, {
    event: `${direction}_call_end`,
    ...base,
    duration: call.durationSec,
    audio_path: call.callType === 'voicemail' ? null : call.playRecordLink,
    status: endStatusWord(direction, call.sipStatus),
  });
  if (call.callType !== 'voicemail') return [end];
  return [end, message('voicemail', call.pbxId, { event: 'voicemail', ...base, duration: 0, audio_path: call.playRecordLink })];
}

/** A call's tags changed: the event carries the whole current list, by name. */
export function tagsMessage(call: { id: number; pbxId: string | null; callerNumber: string; targetNumber: string }, tagNames: string[], nowSeconds: number): WebhookMessage {
  // Calls that never came from a PBX (the demo data, for one) have no PBX id; the
  // call's own id stands in, so that a receiver still has a key to deduplicate on.
  const pbxId = call.pbxId ?? `call_${call.id}`;
  return message('tags', pbxId, {
    event: 'tags',
    caller: call.callerNumber,
    receiver: call.targetNumber,
    time: formatDateTime(nowSeconds),
    pbx_id: pbxId,
    tags: tagNames,
  });
}

export const TEST_PBX_ID = 'test_000000';

export function testMessage(nowSeconds: number): WebhookMessage {
  return message('test', TEST_PBX_ID, {
    event: 'test',
    message: 'This is a test webhook from sipsim. If you receive this, your endpoint is configured correctly.',
    timestamp: formatDateTime(nowSeconds),
    pbx_id: TEST_PBX_ID,
  });
}

// ---- the AI features' events, with the documented payloads ----

/** The key a receiver deduplicates on: the call's PBX id, or its own id for calls that never came from a PBX. */
const callKey = (call: { id: number; pbxId: string | null }) => call.pbxId ?? `call_${call.id}`;

/** A transcript was stored: SIPSIM names the channels left (caller) and right (receiver) here. */
export function speechMessage(call: { id: number; pbxId: string | null }, segments: Segment[]): WebhookMessage {
  return message('speech', callKey(call), {
    call_id: call.id,
    speech_state: 'speech_stored',
    payload: segments.map((s) => ({ text: s.text, start: s.start, end: s.end, start_sec: s.start, channel: s.channel === 0 ? 'left' : 'right' })),
  });
}

export function summaryMessage(call: { id: number; pbxId: string | null }, summaryId: number, summary: string): WebhookMessage {
  return message('summary', callKey(call), { id: summaryId, summary, call_id: call.id });
}

export function ratingMessage(call: { id: number; pbxId: string | null }, rating: Rating): WebhookMessage {
  return message('rating', callKey(call), { event: 'rating', call_id: call.id, ...rating });
}
