import { sql, type Kysely, type Selectable, type Updateable } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';

/**
 * The tables that hold leased work: webhook deliveries (the outbox) and AI
 * jobs. Each row is keyed by (account_id, id) and has `status` ('pending'
 * while it waits or is held), `attempts`, and `next_attempt_at`: when it is
 * due, and while a worker holds it, when that worker's lease runs out.
 */
export type LeasedTable = 'webhook_deliveries' | 'call_ai_jobs';

/** A row a worker holds: which one, and the lease that marks the claim as that worker's. */
export interface Lease {
  accountId: number;
  id: number;
  /** When the claim runs out, in Unix milliseconds. */
  leaseUntil: number;
}

/**
 * Work queued in a table and claimed by workers for a lease, so that any
 * number of processes share it through the store alone. A claim moves the
 * row's due time to the end of the lease and counts the attempt: a worker
 * that dies mid-attempt leaves the row to be claimed again once the lease runs
 * out, and no two workers hold a row at a time. The attempt is then recorded
 * only while the claim is still its worker's (the row still pending, its due
 * time still that lease), so a worker whose lease ran out and whose row was
 * claimed again records nothing. Rows are claimed in the order they are due,
 * then by id.
 */
export class LeasedQueue<T extends LeasedTable> {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly table: T,
    /** The column a claim sets to its time: when the attempt started, or when the row last changed. */
    private readonly claimedAtColumn: 'last_attempt_at' | 'updated_at',
  ) {}

  private readonly listeners = new Set<() => void>();

  /**
   * Called once a transaction that queued rows has committed, so that this
   * process's worker claims them at once instead of at its next poll.
   * Returns the unsubscribe.
   */
  onQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  announce(): void {
    for (const listener of this.listeners) listener();
  }

  /** Rows by status: one account's, or every account's. */
  async countByStatus<S extends string>(statuses: readonly S[], accountId?: number): Promise<Record<S, number>> {
    const rows = await this.db
      .selectFrom(this.table as LeasedTable)
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .$if(accountId !== undefined, (qb) => qb.where('account_id', '=', accountId!))
      .groupBy('status')
      .execute();
    const counts = Object.fromEntries(statuses.map((status) => [status, 0])) as Record<S, number>;
    for (const r of rows) counts[r.status as S] = Number(r.n);
    return counts;
  }

  /**
   * Claims up to `limit` due rows for one attempt each, returned by id. On
   * PostgreSQL rows another worker is claiming are skipped, not waited for;
   * on SQLite the write lock makes the claim atomic.
   */
  async claimDue(limit: number, now: number, leaseUntil: number): Promise<Selectable<Database[T]>[]> {
    const table = sql.table(this.table);
    const claimedAt = sql.ref(this.claimedAtColumn);
    // A read first: an idle poll then takes no write lock, which on SQLite
    // every other writer of the file would have to wait for.
    const due = await sql`SELECT id FROM ${table} WHERE status = 'pending' AND next_attempt_at <= ${now} LIMIT 1`.execute(this.db);
    if (!due.rows.length) return [];
    const claimed =
      this.engine === 'postgres'
        ? await sql<Selectable<Database[T]>>`
            UPDATE ${table} AS held
               SET next_attempt_at = ${leaseUntil}, attempts = held.attempts + 1, ${claimedAt} = ${now}
              FROM (SELECT account_id, id FROM ${table}
                     WHERE status = 'pending' AND next_attempt_at <= ${now}
                     ORDER BY next_attempt_at, id LIMIT ${limit}
                     FOR UPDATE SKIP LOCKED) due
             WHERE held.account_id = due.account_id AND held.id = due.id
            RETURNING held.*`.execute(this.db)
        : await sql<Selectable<Database[T]>>`
            UPDATE ${table}
               SET next_attempt_at = ${leaseUntil}, attempts = attempts + 1, ${claimedAt} = ${now}
             WHERE id IN (SELECT id FROM ${table}
                           WHERE status = 'pending' AND next_attempt_at <= ${now}
                           ORDER BY next_attempt_at, id LIMIT ${limit})
            RETURNING *`.execute(this.db);
    const id = (row: Selectable<Database[T]>) => Number((row as Selectable<Database[LeasedTable]>).id);
    return claimed.rows.sort((a, b) => id(a) - id(b));
  }

  /**
   * Records how an attempt went (`changes` to the row: done, failed, or due
   * again later), if the claim is still held. `db` is the store's connection,
   * or the transaction that records the attempt's other writes with it.
   * Returns whether it was recorded.
   */
  async record(db: Kysely<Database>, claim: Lease, changes: Updateable<Database[T]>): Promise<boolean> {
    const result = await this.whereHeld(db, claim)
      .set(changes as Updateable<Database[LeasedTable]>)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Hands a claim back untried (its worker is stopping, or could not start
   * in time): the row is due again now, and the attempt the claim counted is
   * taken back. Returns whether the claim was still held.
   */
  async release(db: Kysely<Database>, claim: Lease, now: number, changes: Updateable<Database[T]> = {}): Promise<boolean> {
    const result = await this.whereHeld(db, claim)
      .set((eb) => ({ ...(changes as Updateable<Database[LeasedTable]>), next_attempt_at: now, attempts: eb('attempts', '-', 1) }))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  private whereHeld(db: Kysely<Database>, claim: Lease) {
    return db
      .updateTable(this.table as LeasedTable)
      .where('account_id', '=', claim.accountId)
      .where('id', '=', claim.id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '=', claim.leaseUntil);
  }
}
