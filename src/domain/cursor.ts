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

export class CursorCodec {
  constructor(private readonly secret: Buffer) {}

  encode(position: Position, fingerprint: string): string {
    const payload = Buffer.from(JSON.stringify([position.startTime, position.id, fingerprint])).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  decode(token: string, fingerprint: string): Position | CursorProblem {
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
    if (!Array.isArray(parsed) || parsed.length !== 3) return 'malformed';
    const [startTime, id, fp] = parsed as unknown[];
    if (!Number.isSafeInteger(startTime) || !Number.isSafeInteger(id) || typeof fp !== 'string') return 'malformed';
    if (fp !== fingerprint) return 'filters';
    return { startTime: startTime as number, id: id as number };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest().subarray(0, 16).toString('base64url');
  }
}

/** A short stable digest of any JSON-serialisable value. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 16);
}
