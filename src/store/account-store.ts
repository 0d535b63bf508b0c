import { sql, type Kysely } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';

/**
 * Removing an account and everything of it. Every table with an
 * `account_id` column is found from the schema itself, so that a table a
 * later migration adds is never left behind. Rows go in batches, each its own
 * short statement, so that an account of millions of calls never holds a
 * long lock; a deletion that stops half-way is finished by running it again.
 * The account row goes last.
 */

export interface AccountDeletion {
  /** Rows removed, by table (the account row itself as `accounts: 1`). */
  rows: Record<string, number>;
}

export class AccountStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly run: <T>(operation: () => Promise<T>) => Promise<T>,
  ) {}

  /** Tables holding rows of an account, in a fixed order (the largest first). */
  async accountTables(): Promise<string[]> {
    return this.run(async () => {
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
      const row = await this.run(() => sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE account_id = ${accountId}`.execute(this.db));
      const n = Number(row.rows[0]?.n ?? 0);
      if (n) counts[table] = n;
    }
    return counts;
  }

  /** Deletes the account and all of it; null when there is no such account. */
  async deleteAccount(accountId: number, options: { batchSize?: number; onBatch?: (table: string, deleted: number) => void } = {}): Promise<AccountDeletion | null> {
    const batch = options.batchSize ?? 5000;
    const exists = await this.run(() => this.db.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst());
    if (!exists) return null;
    const rows: Record<string, number> = {};
    for (const table of await this.accountTables()) {
      for (;;) {
        const deleted = await this.run(() => this.deleteBatch(table, accountId, batch));
        if (deleted) {
          rows[table] = (rows[table] ?? 0) + deleted;
          options.onBatch?.(table, deleted);
        }
        if (deleted < batch) break;
      }
    }
    const result = await this.run(() => this.db.deleteFrom('accounts').where('id', '=', accountId).executeTakeFirst());
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
