import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import { nowSeconds } from '../domain/time.js';
import type { Guarded } from './guarded.js';
import type { Database } from './schema.js';

export interface OAuthClient {
  clientId: string;
  accountId: number;
  name: string;
  secretHash: string;
  scopes: string[];
  createdAt: number;
  revokedAt: number | null;
}

export interface AccessToken {
  tokenHash: string;
  accountId: number;
  clientId: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number;
}

/**
 * What programs sign in with: OAuth clients, the access tokens issued to
 * them (kept as hashes), and the server's secret that signs page cursors.
 */
export class CredentialStore {
  private cursorSecretCache: Buffer | null = null;
  private findClientQuery: CompiledQuery<Selectable<Database['oauth_clients']>> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly guarded: Guarded,
  ) {}

  async createClient(client: Omit<OAuthClient, 'createdAt' | 'revokedAt'>): Promise<OAuthClient> {
    const createdAt = nowSeconds();
    await this.guarded(() =>
      this.db
        .insertInto('oauth_clients')
        .values({
          client_id: client.clientId,
          account_id: client.accountId,
          name: client.name,
          secret_hash: client.secretHash,
          scopes: client.scopes.join(' '),
          created_at: createdAt,
          revoked_at: null,
        })
        .execute(),
    );
    return { ...client, createdAt, revokedAt: null };
  }

  /** The client of that id, revoked or not; null when there is none (a wrong id at sign-in is an answer). */
  async findClient(clientId: string): Promise<OAuthClient | null> {
    // Every PBX request signs in with this lookup: the query is built once and
    // only its parameter changes. The row itself is read each time, so that a
    // revoked client is refused from the next request on.
    const query = (this.findClientQuery ??= this.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', '').compile());
    const { rows } = await this.guarded(() => this.db.executeQuery<Selectable<Database['oauth_clients']>>({ ...query, parameters: [clientId] }));
    return rows[0] ? toClient(rows[0]) : null;
  }

  async listClients(accountId?: number): Promise<OAuthClient[]> {
    let query = this.db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('client_id');
    if (accountId !== undefined) query = query.where('account_id', '=', accountId);
    const rows = await this.guarded(() => query.execute());
    return rows.map(toClient);
  }

  /**
   * Revokes a client and every token it was issued. Whether it did: false
   * when there is no such client or it was revoked already, which the CLI
   * reports with its own wording.
   */
  async revokeClient(clientId: string): Promise<boolean> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('oauth_clients')
          .set({ revoked_at: nowSeconds() })
          .where('client_id', '=', clientId)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        await trx.deleteFrom('access_tokens').where('client_id', '=', clientId).execute();
        return Number(result.numUpdatedRows) > 0;
      }),
    );
  }

  async saveToken(token: AccessToken): Promise<void> {
    await this.guarded(async () => {
      await this.db
        .insertInto('access_tokens')
        .values({
          token_hash: token.tokenHash,
          account_id: token.accountId,
          client_id: token.clientId,
          scopes: token.scopes.join(' '),
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        })
        .execute();
      // Expired tokens are useless; sweep them as new ones are issued.
      await this.db.deleteFrom('access_tokens').where('expires_at', '<', token.createdAt - 3600).execute();
    });
  }

  /** The token of that hash; null when there is none (an unknown bearer token is an answer, a 401). */
  async findToken(tokenHash: string): Promise<AccessToken | null> {
    const row = await this.guarded(() => this.db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst());
    return row
      ? {
          tokenHash: row.token_hash,
          accountId: row.account_id,
          clientId: row.client_id,
          scopes: row.scopes.split(' ').filter(Boolean),
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        }
      : null;
  }

  /** The key page cursors are signed with, made by the first migration; read once per process. */
  async cursorSecret(): Promise<Buffer> {
    if (!this.cursorSecretCache) {
      const row = await this.guarded(() =>
        this.db.selectFrom('server_settings').select('value').where('key', '=', 'cursor_secret').executeTakeFirstOrThrow(),
      );
      this.cursorSecretCache = Buffer.from(row.value, 'base64');
    }
    return this.cursorSecretCache;
  }
}

function toClient(row: Selectable<Database['oauth_clients']>): OAuthClient {
  return {
    clientId: row.client_id,
    accountId: row.account_id,
    name: row.name,
    secretHash: row.secret_hash,
    scopes: row.scopes.split(' ').filter(Boolean),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
