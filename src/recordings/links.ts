import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links to recordings that work without a bearer token (an <audio> element
 * cannot send one) for a limited time: the account, the call's PBX id and the
 * expiry, signed with a key of the server's. Changing any of them breaks the
 * signature.
 */
export interface RecordingLink {
  accountId: number;
  pbxId: string;
  /** Unix seconds. */
  expiresAt: number;
}

const signature = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

/** A key for recording links only, derived from a server secret. */
export const recordingLinkKey = (serverSecret: Buffer): Buffer => createHmac('sha256', serverSecret).update('sipsim recording links').digest();

export function signRecordingLink(key: Buffer, link: RecordingLink): string {
  const payload = `${link.accountId}.${Buffer.from(link.pbxId).toString('base64url')}.${link.expiresAt}`;
  return `${payload}.${signature(key, payload)}`;
}

/** The link a token names, 'expired', or null when it is not one of ours. */
export function verifyRecordingLink(key: Buffer, token: string, nowSeconds: number): RecordingLink | 'expired' | null {
  const parts = token.split('.');
  if (parts.length !== 4) return null;
  const [account, pbx, expires, given] = parts as [string, string, string, string];
  const expected = Buffer.from(signature(key, `${account}.${pbx}.${expires}`));
  const actual = Buffer.from(given);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  if (!/^\d+$/.test(account) || !/^\d+$/.test(expires)) return null;
  if (Number(expires) < nowSeconds) return 'expired';
  return { accountId: Number(account), pbxId: Buffer.from(pbx, 'base64url').toString(), expiresAt: Number(expires) };
}
