import { Type } from 'typebox';
import { WEBHOOK_EVENTS } from '../../webhooks/events.js';

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
