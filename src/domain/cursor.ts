import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Keyset page tokens. A token carries the position after which the next page
 * starts and a fingerprint of the filters it was issued for, signed with the
 * server's secret so that a client can neither forge a position nor reuse a
 * token with other filters.
 */
export interface Position {
  startTime: number;
  id: number;
}

export type CursorProblem = 'malformed' | 'tampered' | 'filters';

/** The sort key of the last item of a page: [start_time, id] for calls, [id] for the directory. */
export type PageKey = readonly number[];

export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(key: PageKey, fingerprint: string): string {
    const payload = Buffer.from(JSON.stringify([...key, fingerprint])).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The key a token carries, when the token is this server's and was issued for these filters. */
  decode(token: string, fingerprint: string, arity: number): number[] | CursorProblem {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 512) return 'malformed';
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'tampered';
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return 'malformed';
    }
    if (!Array.isArray(parsed) || parsed.length !== arity + 1) return 'malformed';
    const key = parsed.slice(0, arity) as unknown[];
    const fp = parsed[arity] as unknown;
    if (!key.every((n) => Number.isSafeInteger(n)) || typeof fp !== 'string') return 'malformed';
    if (fp !== fingerprint) return 'filters';
    return key as number[];
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, 16).toString('base64url');
  }
}

/** A short stable digest of any JSON-serialisable value. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 16);
}
