/**
 * How long to wait before trying again after `attempts` attempts failed:
 * exponential backoff with jitter, attempt n waiting base·2^(n-1), capped at
 * `maxMs`, times a random 0.5 to 1, so that workers retrying together spread out.
 */
export function backoffAfterAttempt(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 40));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}
