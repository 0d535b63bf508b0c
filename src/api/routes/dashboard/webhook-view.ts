import type { Store } from '../../../store/store.js';
import type { WebhookSettings } from '../../../store/webhook-store.js';
import { maskSecret } from '../../../webhooks/admin.js';
import { WEBHOOK_EVENTS } from '../../../domain/webhook-events.js';

export const NO_URL = 'The account has no webhook URL: set one first';

export interface IntegrationOptions {
  /** Hosts plain-http webhook URLs may go to (SIPSIM_WEBHOOK_ALLOW_HTTP). */
  allowHttpHosts: readonly string[];
  /** How long the test send waits for the receiver. */
  webhookTimeoutMs: number;
}

/** The Integrations page's webhook: its URL, events, masked secret and deliveries by status. */
export async function webhookView(store: Store, accountId: number, settings?: WebhookSettings | null) {
  const s = settings === undefined ? await store.webhooks.settings(accountId) : settings;
  return {
    url: s?.url ?? null,
    events: s?.url ? s.events : [],
    available_events: [...WEBHOOK_EVENTS],
    secret_masked: s ? maskSecret(s.secret) : null,
    deliveries: await store.webhooks.countByStatus(accountId),
  };
}
