import { createHash } from 'node:crypto';
import { MAX_NUMBER_LENGTH } from './call-object.js';
import { eventTime, text } from './events.js';

/** Ten concatenated SMS segments: a PBX that posts more is sending something else. */
export const MAX_SMS_LENGTH = 1600;
export const SMS_DIRECTIONS = ['inbound', 'outbound'] as const;
export type SmsDirection = (typeof SMS_DIRECTIONS)[number];

/** An SMS as a PBX posts it to /api/v2/pbx/events: `{"event": "sms", ...}`. */
export interface SmsEvent {
  event: 'sms';
  caller: string;
  receiver: string;
  message: string;
  direction: SmsDirection;
  /** Unix seconds; when the post has none, the moment it was received. */
  time: number;
}

/** Checks one posted SMS; the reason names the field when it is refused. */
export function parseSmsEvent(value: Record<string, unknown>, receivedAt: number): SmsEvent | string {
  const caller = text(value.caller, 'caller', true, MAX_NUMBER_LENGTH);
  const receiver = text(value.receiver, 'receiver', true, MAX_NUMBER_LENGTH);
  for (const checked of [caller, receiver]) if (checked instanceof Error) return checked.message;
  if (typeof value.message !== 'string') return value.message === undefined || value.message === null ? 'message is required' : 'message must be a string';
  if (!value.message.trim()) return 'message must not be empty';
  if (value.message.length > MAX_SMS_LENGTH) return `message must be at most ${MAX_SMS_LENGTH} characters`;
  if (typeof value.direction !== 'string' || !(SMS_DIRECTIONS as readonly string[]).includes(value.direction)) {
    return `direction must be one of ${SMS_DIRECTIONS.join(', ')}`;
  }
  const time = value.time === undefined || value.time === null ? receivedAt : eventTime(value.time);
  if (time instanceof Error) return time.message;
  return { event: 'sms', caller: caller as string, receiver: receiver as string, message: value.message, direction: value.direction as SmsDirection, time };
}

/** The same SMS, however often it is posted, has the same key. */
export function smsKey(sms: SmsEvent): string {
  return createHash('sha256').update(JSON.stringify(['sms', sms.caller, sms.receiver, sms.message, sms.direction, sms.time])).digest('hex').slice(0, 32);
}
