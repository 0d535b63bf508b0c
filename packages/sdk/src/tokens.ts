/** What `POST /oauth/token` answers (RFC 6749 section 5.1). */
export interface TokenGrant {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds the token is valid. */
  expires_in: number;
  /** The scopes granted, space-separated. */
  scope: string;
  /** Unix seconds. */
  created_at: number;
}

/** A token is renewed this long before it expires, so that it never expires in flight. */
export const RENEW_MARGIN_MS = 60_000;

export interface TokenSource {
  /** Whether a token refused with a 401 can be replaced by a new one. */
  readonly renewable: boolean;
  get(): Promise<string>;
  /** The server refused this token: the next get() gets a new one. */
  invalidate(token: string): void;
}

/** A token the caller got elsewhere: used as it is, never renewed. */
export class StaticToken implements TokenSource {
  readonly renewable = false;
  constructor(private readonly token: string) {}
  get(): Promise<string> {
    return Promise.resolve(this.token);
  }
  invalidate(): void {}
}

/**
 * Tokens from client credentials: asked for when first needed, renewed before
 * they expire or after a 401. Concurrent requests share one token request.
 */
export class ClientCredentialsTokens implements TokenSource {
  readonly renewable = true;
  private current: { token: string; renewAt: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly issue: () => Promise<TokenGrant>,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return Promise.resolve(this.current.token);
    return (this.pending ??= this.renew());
  }

  invalidate(token: string): void {
    // Only the token that was refused: another request may already have renewed it.
    if (this.current?.token === token) this.current = null;
  }

  private async renew(): Promise<string> {
    try {
      // Counted from before the request, so that its duration never lets a token outlive its lifetime.
      const askedAt = this.now();
      const grant = await this.issue();
      const lifetimeMs = grant.expires_in * 1000;
      // A short-lived token still gets used for half its life.
      const margin = Math.min(RENEW_MARGIN_MS, lifetimeMs / 2);
      this.current = { token: grant.access_token, renewAt: askedAt + lifetimeMs - margin };
      return grant.access_token;
    } finally {
      this.pending = null;
    }
  }
}
