import type { Store } from '../store/store.js';
import type { WebhookDelivery, WebhookSettings } from '../store/webhook-store.js';
import type { AttemptResult } from './dispatcher.js';
import { testMessage } from '../domain/webhook-messages.js';
import { webhookUrlProblem } from './url.js';

/**
 * What whoever runs an account does with its webhook, shared by the
 * `sipsim webhooks` commands and the dashboard's Integrations page: the URL
 * checked and normalised, the secret masked, the test event sent at once,
 * deliveries shown in one JSON shape.
 */

/** The URL as the URL parser writes it (host in lower case, path escaped), the form fetch uses; or what is wrong with it. */
export function checkWebhookUrl(text: string, allowHttpHosts: readonly string[]): { url: string } | { problem: string } {
  const problem = webhookUrlProblem(text, allowHttpHosts);
  return problem ? { problem } : { url: new URL(text).href };
}

/** All but the last 4 characters hidden; the whsec_ prefix says what it is, not what it is worth. */
export function maskSecret(secret: string): string {
  const prefix = secret.startsWith('whsec_') ? 'whsec_' : '';
  return `${prefix}${'*'.repeat(12)}${secret.slice(-4)}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function deliveryJson(d: WebhookDelivery) {
  return {
    id: d.id,
    event: d.event,
    pbx_id: d.pbxId,
    status: d.status,
    attempts: d.attempts,
    created_at: iso(d.createdAt),
    // Only a pending delivery has a next attempt; on the others the column is a leftover.
    next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    last_attempt_at: iso(d.lastAttemptAt),
    delivered_at: iso(d.deliveredAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
    body: d.body,
  };
}

export type TestResultWord = 'success' | 'connection_failed' | 'http_error';

/** How the test went, in the dashboard's three words. */
export function testOutcome(result: AttemptResult): { result: TestResultWord; text: string } {
  if (result.ok) return { result: 'success', text: `Success (HTTP ${result.status})` };
  if (result.status === null) return { result: 'connection_failed', text: `Connection failed: ${result.error}` };
  return { result: 'http_error', text: `Error (HTTP ${result.status}): the endpoint answered ${result.error}` };
}

export interface TestSend {
  url: string;
  result: AttemptResult;
  delivery: WebhookDelivery;
}

/**
 * Sends the `test` event to the account's URL now, signed as every delivery,
 * and records it among the deliveries. Sent directly rather than through the
 * outbox, so that the answer is known at once; the delivery has no id until it
 * is recorded, after the send, so X-Webhook-Id is absent for a test.
 * 'no-url' when the account has none.
 */
export async function sendTestEvent(store: Store, accountId: number, timeoutMs: number): Promise<TestSend | 'no-url'> {
  const settings = await store.webhooks.settings(accountId);
  if (!settings?.url) return 'no-url';
  // Loaded here only: the dispatcher brings prom-client, which short CLI commands need not pay for.
  const { postWebhook } = await import('./dispatcher.js');
  const message = testMessage(Math.floor(Date.now() / 1000));
  // Sent from here rather than through the outbox, so that the answer is known at once;
  // recorded first, so that it carries its X-Webhook-Id as every delivery does.
  const started = Date.now();
  const claim = await store.webhooks.beginDelivery(accountId, message, started, started + timeoutMs + 60_000);
  const result = await postWebhook(settings.url, settings.secret, { id: claim.id, event: message.event, body: message.body }, timeoutMs);
  const outcome = result.ok
    ? { result: 'delivered' as const, status: result.status! }
    : { result: 'failed' as const, status: result.status, error: result.error ?? 'failed' };
  await store.webhooks.finishAttempt(claim, outcome, Date.now());
  const delivery = (await store.webhooks.get(accountId, claim.id)) ?? claim;
  return { url: settings.url, result, delivery };
}

/**
 * Queues the named deliveries again. Every id must be the account's (else
 * `unknown` lists them and nothing is queued); those still pending are left
 * as they are.
 */
export async function redeliverIds(
  store: Store,
  accountId: number,
  ids: number[],
): Promise<{ unknown: number[] } | { queued: number[]; alreadyPending: number[] }> {
  const unknown: number[] = [];
  for (const id of ids) if (!(await store.webhooks.get(accountId, id))) unknown.push(id);
  if (unknown.length) return { unknown };
  const queued = await store.webhooks.redeliver(accountId, { ids });
  return { queued, alreadyPending: ids.filter((id) => !queued.includes(id)) };
}

export type { WebhookSettings };
