import { sql, type Kysely, type Selectable } from 'kysely';
import { NotFoundError } from '../domain/errors.js';
import { nowSeconds } from '../domain/time.js';
import type { Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import type { Database } from './schema.js';

export interface Account {
  id: number;
  name: string;
  email: string | null;
  timezone: string;
  createdAt: number;
}

export interface AccountDeletion {
  /** Rows removed, by table (the account row itself as `accounts: 1`). */
  rows: Record<string, number>;
}

/**
 * Accounts: creating, reading, and removing one with everything of it. To
 * remove one, every table with an `account_id` column is found from the
 * schema itself, so that a table a later migration adds is never left behind.
 * Rows go in batches, each its own short statement, so that an account of
 * millions of calls never holds a long lock; a deletion that stops half-way
 * is finished by running it again. The account row goes last.
 */
export class AccountStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guarded: Guarded,
  ) {}

  async create(input: { name: string; email?: string | null; timezone?: string }): Promise<Account> {
    const createdAt = nowSeconds();
    const row = await this.guarded(() =>
      this.db
        .insertInto('accounts')
        .values({ name: input.name, email: input.email ?? null, timezone: input.timezone ?? 'UTC', created_at: createdAt })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return { id: row.id, name: input.name, email: input.email ?? null, timezone: input.timezone ?? 'UTC', createdAt };
  }

  /** The account; NotFoundError when there is none. */
  async get(id: number): Promise<Account> {
    const account = await this.find(id);
    if (!account) throw new NotFoundError('Account', { id });
    return account;
  }

  /** The account, or null: for callers to whom a missing account is an answer (a session outliving it). */
  async find(id: number): Promise<Account | null> {
    const row = await this.guarded(() => this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? toAccount(row) : null;
  }

  async list(): Promise<Account[]> {
    const rows = await this.guarded(() => this.db.selectFrom('accounts').selectAll().orderBy('id').execute());
    return rows.map(toAccount);
  }

  /** Tables holding rows of an account, in a fixed order (the largest first). */
  async accountTables(): Promise<string[]> {
    return this.guarded(async () => {
      const tables = await this.db.introspection.getTables();
      const names = tables.filter((t) => t.name !== 'accounts' && t.columns.some((c) => c.name === 'account_id')).map((t) => t.name);
      const first = ['call_tags', 'pbx_events', 'webhook_deliveries', 'click_calls', 'calls'];
      return [...first.filter((n) => names.includes(n)), ...names.filter((n) => !first.includes(n)).sort()];
    });
  }

  /** How many rows of the account each table holds: what a deletion would remove. */
  async countRows(accountId: number): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const table of await this.accountTables()) {
      const row = await this.guarded(() => sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE account_id = ${accountId}`.execute(this.db));
      const n = Number(row.rows[0]?.n ?? 0);
      if (n) counts[table] = n;
    }
    return counts;
  }

  /** Deletes the account and all of it; NotFoundError when there is no such account. */
  async delete(accountId: number, options: { batchSize?: number; onBatch?: (table: string, deleted: number) => void } = {}): Promise<AccountDeletion> {
    const batch = options.batchSize ?? 5000;
    const exists = await this.guarded(() => this.db.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst());
    if (!exists) throw new NotFoundError('Account', { id: accountId });
    const rows: Record<string, number> = {};
    for (const table of await this.accountTables()) {
      for (;;) {
        const deleted = await this.guarded(() => this.deleteBatch(table, accountId, batch));
        if (deleted) {
          rows[table] = (rows[table] ?? 0) + deleted;
          options.onBatch?.(table, deleted);
        }
        if (deleted < batch) break;
      }
    }
    const result = await this.guarded(() => this.db.deleteFrom('accounts').where('id', '=', accountId).executeTakeFirst());
    rows.accounts = Number(result.numDeletedRows);
    return { rows };
  }

  private async deleteBatch(table: string, accountId: number, batch: number): Promise<number> {
    const t = sql.table(table);
    // A row's physical address picks the batch: (tableoid, ctid) on PostgreSQL, which stays right for a partitioned table; rowid on SQLite.
    const query =
      this.engine === 'postgres'
        ? sql`DELETE FROM ${t} WHERE (tableoid, ctid) IN (SELECT tableoid, ctid FROM ${t} WHERE account_id = ${accountId} LIMIT ${batch})`
        : sql`DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE account_id = ${accountId} LIMIT ${batch})`;
    const result = await query.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }
}

function toAccount(row: Selectable<Database['accounts']>): Account {
  return { id: row.id, name: row.name, email: row.email, timezone: row.timezone, createdAt: row.created_at };
}
