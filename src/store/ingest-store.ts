import { nowSeconds } from '../domain/time.js';
import type { PhoneRef, ResolvedCall } from '../domain/resolved-call.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import { insertNewCalls, PbxIdTakenError, type NewCall } from './call-rows.js';
import type { Connection } from './engine.js';
import type { Guarded } from './guarded.js';
import { PostgresUpsertTx, SqliteUpsertTx, upsertCalls, type EventRow, type UpsertResult, type UpsertTx } from './ingest-tx.js';
import { queueWebhooks } from './webhook-store.js';
import { EventBatches } from './event-batch.js';

type Assemble = (payloads: Map<string, string[]>, phones: PhoneRef[]) => ResolvedCall[];
interface EventJob {
  accountId: number;
  rows: EventRow[];
  assemble: Assemble;
}
interface EventOutcome {
  fresh: Set<string>;
  calls: Array<{ pbxId: string } & UpsertResult>;
  queued: number;
}

/**
 * Calls coming in: the demo's bulk insert, imported and PBX records created or
 * updated by PBX id, live PBX events. Each batch is one write transaction with
 * the engine's own statements (see ingest-tx.ts), and the webhooks it causes
 * are queued in that same transaction.
 */
export class IngestStore {
  private sqliteTx: SqliteUpsertTx | null = null;
  private readonly eventBatches: EventBatches<EventJob, EventOutcome>;

  constructor(
    private readonly conn: Connection,
    private readonly guarded: Guarded,
    private readonly announce: () => void,
  ) {
    /**
     * SQLite has one writer, so one queue. PostgreSQL takes a few batches at
     * once, in queues chosen by account and PBX id so that one call's events
     * keep their order in one queue; two batches that share a PBX id still take
     * turns on its lock (lockPbxIds).
     */
    this.eventBatches = new EventBatches<EventJob, EventOutcome>(this.conn.engine === 'sqlite' ? 1 : 4, {
      batch: async (jobs) => {
        const outcomes = await this.transaction(async (tx) => {
          // Every PBX id of the batch locked at once, in one order, so that two batches never wait on each other in a cycle.
          const ids = new Map<number, string[]>();
          for (const job of jobs) ids.set(job.accountId, [...(ids.get(job.accountId) ?? []), ...job.rows.map((r) => r.pbxId)]);
          for (const accountId of [...ids.keys()].sort((a, b) => a - b)) await tx.lockPbxIds(accountId, ids.get(accountId)!);
          // The account's phones are read once for the whole batch.
          const phones = new Map<number, Promise<PhoneRef[]>>();
          const phonesOf = (accountId: number) => phones.get(accountId) ?? phones.set(accountId, tx.phones(accountId)).get(accountId)!;
          const outcomes: EventOutcome[] = [];
          for (const job of jobs) outcomes.push(await this.applyEvents(tx, job, phonesOf));
          return outcomes;
        });
        if (outcomes.some((o) => o.queued)) this.announce();
        return outcomes;
      },
      one: async (job) => {
        const outcome = await this.transaction(async (tx) => {
          await tx.lockPbxIds(job.accountId, job.rows.map((r) => r.pbxId));
          return this.applyEvents(tx, job, (accountId) => tx.phones(accountId));
        });
        if (outcome.queued) this.announce();
        return outcome;
      },
    });
  }

  /**
   * Stores finished calls in one transaction and returns their ids in order:
   * row-at-a-time prepared statements on SQLite, column arrays through
   * `unnest` on PostgreSQL (see call-rows.ts).
   */
  async insertCalls(accountId: number, calls: NewCall[]): Promise<number[]> {
    if (calls.length === 0) return [];
    const createdAt = nowSeconds();
    const rows = calls.map((call) => ({ call, tagIds: call.tagIds ?? [] }));
    return this.transaction((tx) => insertNewCalls(tx.calls, accountId, rows, createdAt));
  }

  /**
   * Creates or updates calls by PBX id in one transaction, and says for each
   * record whether it created, changed or left alone a call. With
   * `webhooksOfNew`, each call the batch creates queues the webhooks it
   * returns, in the same transaction.
   */
  async upsertCalls(
    accountId: number,
    calls: ResolvedCall[],
    options: { webhooksOfNew?: (call: ResolvedCall) => WebhookMessage[] } = {},
  ): Promise<UpsertResult[]> {
    if (calls.length === 0) return [];
    let queued = 0;
    const results = await this.transaction(async (tx) => {
      const results = await upsertCalls(tx, accountId, calls, nowSeconds());
      if (options.webhooksOfNew) {
        const created = calls.filter((_, i) => results[i]!.outcome === 'created');
        queued = await queueWebhooks(this.conn.db, tx.run, accountId, created.flatMap(options.webhooksOfNew));
      }
      return results;
    });
    if (queued) this.announce();
    return results;
  }

  /**
   * Runs a long import. On SQLite the write-ahead log is checkpointed every
   * 64 MiB instead of every 4 MiB meanwhile, so that the index pages every
   * batch touches are copied back to the database file far less often; it is
   * checkpointed once at the end. Readers are not held up either way.
   */
  async bulkLoad<T>(work: () => Promise<T>): Promise<T> {
    const sqlite = this.conn.sqlite;
    if (!sqlite) return work();
    const previous = sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
    sqlite.pragma('wal_autocheckpoint = 16384');
    try {
      return await work();
    } finally {
      sqlite.pragma(`wal_autocheckpoint = ${previous}`);
      sqlite.pragma('wal_checkpoint(PASSIVE)');
    }
  }

  /** The account's phones, as PBX records name them. */
  async phoneRefs(accountId: number): Promise<PhoneRef[]> {
    return this.transaction((tx) => tx.phones(accountId), { readOnly: true });
  }

  /**
   * Stores live PBX events and, in the same transaction, rebuilds the call of
   * every PBX id that got a new event from all of that id's events. `assemble`
   * turns each id's stored payloads into its call, or leaves it out while the
   * call has not ended. Writers of the same PBX id take turns, so that two
   * events of one call posted at once never each see only half of it.
   * Requests that come in together are committed together (event-batch.ts);
   * this resolves once this request's events are committed.
   */
  async events(accountId: number, rows: EventRow[], assemble: Assemble): Promise<{ fresh: Set<string>; calls: Array<{ pbxId: string } & UpsertResult> }> {
    if (rows.length === 0) return { fresh: new Set(), calls: [] };
    const { fresh, calls } = await this.eventBatches.submit(`${accountId}:${rows[0]!.pbxId}`, { accountId, rows, assemble });
    return { fresh, calls };
  }

  /** One request's events, inside a transaction that holds the locks of their PBX ids. */
  private async applyEvents(tx: UpsertTx, { accountId, rows, assemble }: EventJob, phonesOf: (accountId: number) => Promise<PhoneRef[]>): Promise<EventOutcome> {
    const fresh = await tx.insertEvents(accountId, rows);
    // Each new event once, even when a post holds it twice.
    const webhooks = new Map(rows.filter((r) => r.webhook && fresh.has(r.key)).map((r) => [r.key, r.webhook!]));
    const queued = await queueWebhooks(this.conn.db, tx.run, accountId, [...webhooks.values()]);
    // A call is built once it ends; until then only a call already built (its end
    // came first) is rebuilt, so that most events cost two statements.
    const ending = new Set(rows.filter((r) => fresh.has(r.key) && r.ends).map((r) => r.pbxId));
    const others = [...new Set(rows.filter((r) => fresh.has(r.key) && !ending.has(r.pbxId)).map((r) => r.pbxId))];
    const touched = [...ending, ...(others.length ? await tx.existingPbxIds(accountId, others) : [])];
    if (!touched.length) return { fresh, calls: [], queued };
    const payloads = new Map<string, string[]>();
    for (const { pbx_id, payload } of await tx.eventsOf(accountId, touched)) {
      let list = payloads.get(pbx_id);
      if (!list) payloads.set(pbx_id, (list = []));
      list.push(payload);
    }
    const calls = assemble(payloads, await phonesOf(accountId));
    const results = await upsertCalls(tx, accountId, calls, nowSeconds());
    return { fresh, calls: results.map((r, i) => ({ pbxId: calls[i]!.pbxId, ...r })), queued };
  }

  /**
   * One write transaction with this engine's ingest statements. On SQLite it
   * holds the single connection (so that no other query interleaves) with
   * BEGIN IMMEDIATE; on PostgreSQL it holds a pooled client. An upsert that
   * lost a race for a new PBX id, or a deadlock, is simply run again.
   */
  private async transaction<T>(work: (tx: UpsertTx) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.guarded(() => (this.conn.engine === 'sqlite' ? this.sqliteTransaction(work, options) : this.postgresTransaction(work)));
      } catch (error) {
        const retry = error instanceof PbxIdTakenError || (error as { code?: string }).code === '40P01';
        if (!retry || attempt >= 5) throw error;
      }
    }
  }

  private sqliteTransaction<T>(work: (tx: UpsertTx) => Promise<T>, options: { readOnly?: boolean }): Promise<T> {
    return this.conn.db.connection().execute(async () => {
      const sqlite = this.conn.sqlite!;
      const tx = (this.sqliteTx ??= new SqliteUpsertTx(sqlite));
      sqlite.exec(options.readOnly ? 'BEGIN' : 'BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        sqlite.exec('COMMIT');
        return result;
      } catch (error) {
        if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
        throw error;
      }
    });
  }

  private async postgresTransaction<T>(work: (tx: UpsertTx) => Promise<T>): Promise<T> {
    const client = await this.conn.pool!.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(new PostgresUpsertTx(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }
}
