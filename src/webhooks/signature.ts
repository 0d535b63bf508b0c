import { createHmac } from 'node:crypto';

/**
 * SIPSIM's webhook signature: the hex HMAC-SHA256, keyed by the account's
 * signing secret, of "{timestamp}.{raw body}". The receiver's side of it is
 * `verifyWebhookSignature` in the SDK.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
