import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, type SipsimError } from './errors.js';

/**
 * When a failed request is sent again, and after how long.
 *
 * Retried: connection errors, timeouts, 408, 429 and 5xx answers; never
 * another 4xx, which would fail the same way again (a 409 here is a taken
 * tag name, not a lock). A request that may have been processed is resent
 * only when doing it twice does what doing it once does: every read, PUT,
 * DELETE and PATCH of this API, and adding tags to a call. Creating a tag is
 * not: a resent creation whose first answer was lost would meet its own name
 * and fail with a 409. It is resent only when the server cannot have handled
 * it: the connection was refused, or a 429 (the rate limit answers before any
 * handler runs).
 */

export interface RetryDelays {
  /** The first backoff; each next one doubles. */
  initialDelayMs: number;
  /** No backoff is longer. */
  maxDelayMs: number;
  /**
   * The longest Retry-After obeyed. A server that asks for a longer wait gets
   * it: the error is thrown at once rather than the request resent too early.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_DELAYS: RetryDelays = { initialDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

/** Each backoff is shortened by up to this fraction, so that clients that failed together do not retry together. */
export const JITTER = 0.25;

export function isRetryable(error: SipsimError, idempotent: boolean): boolean {
  if (error instanceof APIUserAbortError) return false;
  if (error instanceof APIConnectionTimeoutError) return idempotent;
  if (error instanceof APIConnectionError) return idempotent || error.notSent;
  if (error instanceof APIError) {
    if (error.status === 429) return true;
    return idempotent && (error.status === 408 || error.status >= 500);
  }
  return false;
}

/** Retry-After in milliseconds, from seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date names its day and month in words; anything else (a negative number) is unreadable.
  const date = /[a-z]/i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The exponential backoff before retry number `retry` (0 for the first), with jitter. */
export function backoffDelay(retry: number, delays: RetryDelays, random: () => number = Math.random): number {
  const nominal = Math.min(delays.initialDelayMs * 2 ** retry, delays.maxDelayMs);
  return nominal * (1 - JITTER * random());
}

/**
 * How long to wait before resending after `error`, or null to give up:
 * the server's Retry-After when it gave one, else the backoff.
 */
export function delayBeforeRetryMs(error: SipsimError, retry: number, delays: RetryDelays, random?: () => number): number | null {
  const retryAfter = parseRetryAfter(error.headers?.get('retry-after'));
  if (retryAfter !== null) return retryAfter <= delays.maxRetryAfterMs ? retryAfter : null;
  return backoffDelay(retry, delays, random);
}
