/**
 * The events of SIPSIM's webhooks, in SIPSIM's order: what an account can
 * subscribe to. `test` is not among them: it is sent on request only. Shared
 * by the server and the SDK, so it imports nothing.
 */
export const WEBHOOK_EVENTS = [
  'incoming_call_start',
  'incoming_call_start_chain_member_call',
  'incoming_call_end_chain_member_call',
  'incoming_call_answer',
  'incoming_call_end',
  'outgoing_call_start',
  'outgoing_call_answer',
  'outgoing_call_end',
  'voicemail',
  'tags',
  'speech',
  'summary',
  'sms',
  'rating',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];
