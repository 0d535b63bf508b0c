import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { ResolvedCall } from '../domain/resolved-call.js';
import { insertNewCalls, type CallRowWriter } from './call-rows.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';
import { executeOn, queueWebhooks, type ExecuteQuery } from './webhook-store.js';

export interface ClickCallRow {
  accountId: number;
  id: number;
  phoneId: number;
  employeeId: number | null;
  callerNumber: string;
  targetNumber: string;
  status: string;
  failure: string | null;
  sipCode: number | null;
  endedBy: string | null;
  /** Unix milliseconds, as every time here. */
  startedAt: number;
  phoneAnsweredAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
}

export type ClickCallChange = Partial<Pick<ClickCallRow, 'status' | 'failure' | 'sipCode' | 'endedBy' | 'phoneAnsweredAt' | 'answeredAt' | 'endedAt'>>;

const toRow = (r: Selectable<Database['click_calls']>): ClickCallRow => ({
  accountId: Number(r.account_id),
  id: Number(r.id),
  phoneId: Number(r.phone_id),
  employeeId: r.employee_id === null ? null : Number(r.employee_id),
  callerNumber: r.caller_number,
  targetNumber: r.target_number,
  status: r.status,
  failure: r.failure,
  sipCode: r.sip_code === null ? null : Number(r.sip_code),
  endedBy: r.ended_by,
  startedAt: Number(r.started_at),
  phoneAnsweredAt: r.phone_answered_at === null ? null : Number(r.phone_answered_at),
  answeredAt: r.answered_at === null ? null : Number(r.answered_at),
  endedAt: r.ended_at === null ? null : Number(r.ended_at),
});

const columnsOf = (change: ClickCallChange) => {
  const set: Partial<Database['click_calls']> = { updated_at: Date.now() };
  if (change.status !== undefined) set.status = change.status;
  if (change.failure !== undefined) set.failure = change.failure;
  if (change.sipCode !== undefined) set.sip_code = change.sipCode;
  if (change.endedBy !== undefined) set.ended_by = change.endedBy;
  if (change.phoneAnsweredAt !== undefined) set.phone_answered_at = change.phoneAnsweredAt;
  if (change.answeredAt !== undefined) set.answered_at = change.answeredAt;
  if (change.endedAt !== undefined) set.ended_at = change.endedAt;
  return set;
};

/**
 * Click-to-call calls in the store: created, followed and finished each in one
 * transaction with the webhooks they cause; the finish writes the call record.
 */
export class ClickCallStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guard: <T>(operation: () => Promise<T>) => Promise<T>,
    private readonly announce: () => void,
    /** The one writer of call rows, in a transaction of this store's. */
    private readonly callRows: (trx: Transaction<Database>) => CallRowWriter,
  ) {}

  /**
   * A call id no call has and none will get: the next of the calls' own
   * sequence, so that the record written at the end keeps the id the API gave
   * out at the start. On SQLite the sequence is AUTOINCREMENT's row in
   * sqlite_sequence, moved on in one statement.
   */
  async reserveId(): Promise<number> {
    return this.guard(async () => {
      if (this.engine === 'postgres') {
        const { rows } = await sql<{ id: number }>`SELECT nextval(pg_get_serial_sequence('calls', 'id')) AS id`.execute(this.db);
        return Number(rows[0]!.id);
      }
      await sql`INSERT INTO sqlite_sequence (name, seq) SELECT 'calls', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'calls')`.execute(this.db);
      const { rows } = await sql<{ seq: number }>`
        UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT COALESCE(MAX(id), 0) FROM calls)) + 1
         WHERE name = 'calls' RETURNING seq`.execute(this.db);
      return Number(rows[0]!.seq);
    });
  }

  private inTransaction<T>(work: (trx: Transaction<Database>, run: ExecuteQuery) => Promise<T>): Promise<T> {
    return this.guard(() => this.db.transaction().execute((trx) => work(trx, executeOn(trx))));
  }

  private async queue(run: ExecuteQuery, accountId: number, webhooks: WebhookMessage[]): Promise<number> {
    return webhooks.length ? queueWebhooks(this.db, run, accountId, webhooks) : 0;
  }

  async create(row: ClickCallRow, webhooks: WebhookMessage[]): Promise<void> {
    const queued = await this.inTransaction(async (trx, run) => {
      await trx
        .insertInto('click_calls')
        .values({
          account_id: row.accountId,
          id: row.id,
          phone_id: row.phoneId,
          employee_id: row.employeeId,
          caller_number: row.callerNumber,
          target_number: row.targetNumber,
          status: row.status,
          failure: row.failure,
          sip_code: row.sipCode,
          ended_by: row.endedBy,
          started_at: row.startedAt,
          phone_answered_at: row.phoneAnsweredAt,
          answered_at: row.answeredAt,
          ended_at: row.endedAt,
          updated_at: Date.now(),
        })
        .execute();
      return this.queue(run, row.accountId, webhooks);
    });
    if (queued) this.announce();
  }

  async update(accountId: number, id: number, change: ClickCallChange, webhooks: WebhookMessage[] = []): Promise<void> {
    const queued = await this.inTransaction(async (trx, run) => {
      await trx.updateTable('click_calls').set(columnsOf(change)).where('account_id', '=', accountId).where('id', '=', id).execute();
      return this.queue(run, accountId, webhooks);
    });
    if (queued) this.announce();
  }

  /**
   * Ends a call: its last state, its record in `calls` under the id it was
   * given, and its end webhook, all or nothing. Finishing twice writes once:
   * false when the call had ended already, and nothing was written.
   */
  async finish(accountId: number, id: number, change: ClickCallChange, call: ResolvedCall, webhooks: WebhookMessage[]): Promise<boolean> {
    const queued = await this.inTransaction(async (trx, run) => {
      const updated = await trx
        .updateTable('click_calls')
        .set(columnsOf(change))
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .where('ended_at', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return null;
      await insertNewCalls(this.callRows(trx), accountId, [{ call, id, tagIds: [] }], Math.floor(Date.now() / 1000));
      return this.queue(run, accountId, webhooks);
    });
    if (queued) this.announce();
    return queued !== null;
  }

  async get(accountId: number, id: number): Promise<ClickCallRow | null> {
    return this.guard(async () => {
      const row = await this.db.selectFrom('click_calls').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
      return row ? toRow(row) : null;
    });
  }

  async activeCount(accountId: number): Promise<number> {
    return this.guard(async () => {
      const row = await this.db
        .selectFrom('click_calls')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .where('ended_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /** The account's calls in progress, oldest first. */
  async activeOf(accountId: number): Promise<ClickCallRow[]> {
    return this.guard(async () =>
      (await this.db.selectFrom('click_calls').selectAll().where('account_id', '=', accountId).where('ended_at', 'is', null).orderBy('started_at').execute()).map(toRow),
    );
  }

  /** Every call in progress, of every account: at start-up, the ones a previous process left. */
  async active(): Promise<ClickCallRow[]> {
    return this.guard(async () => (await this.db.selectFrom('click_calls').selectAll().where('ended_at', 'is', null).execute()).map(toRow));
  }
}
