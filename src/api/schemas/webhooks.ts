import { Type } from 'typebox';
import { WEBHOOK_EVENTS } from '../../domain/webhook-events.js';

const closed = { additionalProperties: false } as const;

export const WebhookEventName = Type.String({ enum: [...WEBHOOK_EVENTS], description: 'A webhook event' });

export const WebhookEventParams = Type.Object({ event: WebhookEventName }, closed);

export const WebhookEventItem = Type.Object({ event: WebhookEventName }, closed);

export const WebhookEventList = Type.Array(WebhookEventItem);

export const WebhookSetting = Type.Object(
  {
    url: Type.String({ description: 'Where the events are posted; set by the operator (`sipsim webhooks set-url`), not through the API' }),
    events: Type.Array(WebhookEventItem, { description: 'The events delivered to the URL' }),
  },
  { ...closed, description: 'The account\'s webhook setting as it stands' },
);

// ---- what is posted to the account's URL, for the document's `webhooks` ----

const Text = (description: string) => Type.String({ description });
const When = (description: string) => Type.String({ format: 'date-time', description });

const callFields = {
  caller: Text('The caller\'s number'),
  receiver: Text('The called number, or the extension of the phone concerned'),
  time: When('When it happened'),
  pbx_id: Text('The call\'s id in the phone system: with `event`, what a receiver deduplicates on'),
};
const endFields = {
  duration: Type.Integer({ minimum: 0, description: 'Seconds of conversation; 0 when unanswered' }),
  audio_path: Type.Union([Type.String(), Type.Null()], { description: 'The recording, when there is one' }),
};

const payload = (event: string, fields: Record<string, ReturnType<typeof Type.String> | object>, description: string) =>
  Type.Object({ event: Type.Literal(event), ...(fields as Record<string, ReturnType<typeof Type.String>>) }, { additionalProperties: false, description });

/** Every event sipsim sends, with its documented payload. */
export const WEBHOOK_PAYLOADS = {
  incoming_call_start: payload('incoming_call_start', callFields, 'A call came in'),
  incoming_call_start_chain_member_call: payload('incoming_call_start_chain_member_call', callFields, 'A phone of the dial chain started ringing'),
  incoming_call_end_chain_member_call: payload('incoming_call_end_chain_member_call', callFields, 'A phone of the dial chain stopped ringing'),
  incoming_call_answer: payload('incoming_call_answer', callFields, 'An incoming call was answered'),
  incoming_call_end: payload(
    'incoming_call_end',
    { ...callFields, ...endFields, status: Type.String({ enum: ['ANSWER', 'MISSED', 'BUSY', 'NOANSWER'] }) },
    'An incoming call ended',
  ),
  outgoing_call_start: payload('outgoing_call_start', callFields, 'A call went out (click-to-call included)'),
  outgoing_call_answer: payload('outgoing_call_answer', callFields, 'The called number answered'),
  outgoing_call_end: payload('outgoing_call_end', { ...callFields, ...endFields, status: Type.String({ enum: ['ANSWER', 'BUSY', 'NOANSWER'] }) }, 'An outgoing call ended'),
  voicemail: payload('voicemail', { ...callFields, ...endFields }, 'A caller left a voicemail'),
  tags: payload('tags', { ...callFields, tags: Type.Array(Type.String(), { description: 'Every tag now on the call, by name' }) }, 'The tags of a call changed'),
  speech: Type.Object(
    {
      call_id: Type.Integer({ minimum: 1, description: 'The call transcribed' }),
      speech_state: Type.Literal('speech_stored'),
      payload: Type.Array(
        Type.Object(
          {
            text: Text('What was said'),
            start: Type.Number({ minimum: 0, description: 'Start, in seconds from the start of the recording' }),
            end: Type.Number({ minimum: 0, description: 'End, in seconds from the start of the recording' }),
            start_sec: Type.Number({ minimum: 0, description: 'The same as start' }),
            channel: Type.String({ enum: ['left', 'right'], description: 'left the caller, right the receiver' }),
          },
          closed,
        ),
      ),
    },
    { ...closed, description: "A call's transcript was stored (no `event` field: X-Webhook-Event names it)" },
  ),
  summary: Type.Object(
    {
      id: Type.Integer({ minimum: 1, description: 'The summary record, as GET /api/v2/calls/{id}/summary gives it' }),
      summary: Text('The summary'),
      call_id: Type.Integer({ minimum: 1, description: 'The call summarised' }),
    },
    { ...closed, description: "A call's summary was made (no `event` field: X-Webhook-Event names it)" },
  ),
  rating: payload(
    'rating',
    {
      call_id: Type.Integer({ minimum: 1, description: 'The call rated' }),
      overall_score: Type.Integer({ minimum: 1, maximum: 10, description: 'Overall quality' }),
      criteria_scores: Type.Array(
        Type.Object({ name: Text('The criterion'), score: Type.Integer({ minimum: 1, maximum: 10 }), feedback: Text('Why') }, closed),
      ),
      highlights: Type.Array(Type.String(), { description: 'What went well' }),
      improvements: Type.Array(Type.String(), { description: 'What to do better' }),
    },
    "A call's quality rating was made",
  ),
  sms: payload(
    'sms',
    {
      caller: Text('The sender\'s number'),
      receiver: Text('The recipient\'s number'),
      message: Text('The text of the message'),
      time: When('When it was sent or received'),
      direction: Type.String({ enum: ['inbound', 'outbound'], description: 'inbound: received on one of the account\'s numbers; outbound: sent from one' }),
    },
    'An SMS was received on, or sent from, one of the account\'s numbers',
  ),
  test: payload(
    'test',
    { message: Text('A line saying the endpoint works'), timestamp: When('When it was sent'), pbx_id: Type.Literal('test_000000') },
    'Sent on request (`sipsim webhooks test`)',
  ),
} as const;
