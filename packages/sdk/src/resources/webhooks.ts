import type { RequestOptions, Sipsim } from '../client.js';
import type { SubscribableEvent, WebhookSetting } from '../types.js';

/**
 * Which events the account's webhook receives (scopes webhooks.read and
 * webhooks.write). The URL itself is set by whoever runs the server.
 */
export class Webhooks {
  constructor(private readonly client: Sipsim) {}

  /** Every event there is. */
  available(options?: RequestOptions): Promise<Array<{ event: SubscribableEvent }>> {
    return this.client.requestData({ method: 'GET', path: '/api/v2/webhooks/available' }, options);
  }

  /** The events the webhook receives now; none while the account has no URL. */
  list(options?: RequestOptions): Promise<Array<{ event: SubscribableEvent }>> {
    return this.client.requestData({ method: 'GET', path: '/api/v2/webhooks' }, options);
  }

  /** Enabling twice changes nothing, so a resend is safe. A ConflictError while the account has no URL. */
  enable(event: SubscribableEvent, options?: RequestOptions): Promise<WebhookSetting> {
    return this.client.requestData({ method: 'POST', path: `/api/v2/webhooks/${encodeURIComponent(event)}`, idempotent: true }, options);
  }

  disable(event: SubscribableEvent, options?: RequestOptions): Promise<WebhookSetting> {
    return this.client.requestData({ method: 'DELETE', path: `/api/v2/webhooks/${encodeURIComponent(event)}`, idempotent: true }, options);
  }
}
