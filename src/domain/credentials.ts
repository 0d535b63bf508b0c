import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets and access tokens are long random strings, so a plain SHA-256
 * is a sufficient one-way hash for storage; a slow password hash would only
 * cost latency. Comparisons are constant-time.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

export function newClientId(): string {
  return `sipsim_${randomBytes(12).toString('hex')}`;
}

export function newClientSecret(): string {
  return `sss_${randomBytes(32).toString('base64url')}`;
}

export function newAccessToken(): string {
  return `sst_${randomBytes(32).toString('base64url')}`;
}
