import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { textProblem } from './text.js';

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

/**
 * HTTP Basic credentials, form-url-decoded as RFC 6749 section 2.3.1 asks;
 * null when the header is not Basic.
 */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | null | 'malformed' {
  if (!header || !/^Basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const unescape = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    const credentials = { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
    // No id or secret holds a NUL or a lone surrogate; such text never reaches a query.
    if (textProblem(credentials.id) || textProblem(credentials.secret)) return 'malformed';
    return credentials;
  } catch {
    return 'malformed';
  }
}
