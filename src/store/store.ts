import { Migrator, sql, type Expression, type Selectable, type SqlBool, type Transaction, type Updateable } from 'kysely';
import {
  directionOf,
  type CallResource,
  type CallRow,
  type CallType,
  type SipStatus,
} from '../domain/call.js';
import type { CallFilter, SearchTerm } from '../domain/call-filters.js';
import { DEFAULT_TAG_COLOR, tagNameKey, type Tag } from '../domain/directory.js';
import type { Position } from '../domain/cursor.js';
import { formatDateTime, nowSeconds } from '../domain/time.js';
import { connect, parseDatabaseUrl, type Connection, type DatabaseLocation, type Engine } from './engine.js';
import { withSetupLock } from './setup-lock.js';
import { AccountStore } from './account-store.js';
import { describeStoreFailure, PG_CONNECT_REFUSALS } from './connection-errors.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { mapStoreError } from './errors.js';
import {
  PostgresUpsertTx,
  SqliteUpsertTx,
  UpsertRaceError,
  upsertCalls,
  type EventRow,
  type UpsertResult,
  type UpsertTx,
} from './ingest-tx.js';
import { migrationProvider } from './migrations/index.js';
import type { PhoneRef, ResolvedCall } from '../ingest/resolve.js';
import type { Database } from './schema.js';
import { executeOn, queueWebhooks, subscribedEvents, WebhookStore } from './webhook-store.js';
import { ClickCallStore } from './click-call-store.js';
import { TagNames } from './tag-names.js';
import { UserStore } from './user-store.js';
import { CallReportStore } from './call-report-store.js';
import { AiJobStore } from './ai-job-store.js';
import { AiSettingsStore } from './ai-settings-store.js';
import { TagCountStore } from './tag-count-store.js';
import { RecordingStore } from './recording-store.js';
import { SmsStore } from './sms-store.js';
import { DirectoryStore } from './directory-store.js';
import { CredentialStore } from './credential-store.js';
import type { Guarded } from './guarded.js';
import { pageOf, type DirectoryPage } from './pages.js';
import { lockRow } from './row-lock.js';
import { messagesOfFinishedCall, tagsMessage, type WebhookMessage } from '../webhooks/events.js';

export type { Account } from './account-store.js';
export type { AccessToken, OAuthClient } from './credential-store.js';
export type { NewPhone, PhoneChange } from './directory-store.js';
export type { DirectoryPage } from './pages.js';

/** A call to store, with the ids of the tags it carries. */
export type NewCall = CallRow & { tagIds?: number[] };

export interface CallPage {
  calls: CallResource[];
  /** Where the next page starts, or null on the last page. */
  next: Position | null;
}

/** Above this many index hits, a substring search scans the window in list order instead. */
const SEARCH_INDEX_CAP = 20000;

const CALL_COLUMNS = [
  'id',
  'call_type',
  'sip_status',
  'caller_number',
  'caller_name',
  'target_number',
  'answered_phone_number',
  'wait_duration_sec',
  'duration_sec',
  'play_record_link',
  'phone_id',
  'answered_phone_id',
  'employee_id',
  'registration_time',
  'start_time',
  'answered_time',
  'end_time',
] as const;

type CallSelection = Pick<Database['calls'], Exclude<(typeof CALL_COLUMNS)[number], 'id'>> & { id: number };

function toCallResource(row: CallSelection, tags: Array<{ id: number; name: string }>): CallResource {
  const callType = row.call_type as CallType;
  return {
    id: row.id,
    call_type: callType,
    direction: directionOf(callType),
    sip_status: row.sip_status as SipStatus,
    caller_number: row.caller_number,
    caller_name: row.caller_name,
    target_number: row.target_number,
    receiver_number: row.target_number,
    answered_phone_number: row.answered_phone_number,
    answered: row.answered_time !== null,
    wait_duration_sec: row.wait_duration_sec,
    duration_sec: row.duration_sec,
    play_record_link: row.play_record_link,
    phone_id: row.phone_id,
    answered_phone_id: row.answered_phone_id,
    employee_id: row.employee_id,
    registration_time: formatDateTime(row.registration_time),
    start_time: formatDateTime(row.start_time),
    answered_time: row.answered_time === null ? null : formatDateTime(row.answered_time),
    end_time: formatDateTime(row.end_time),
    tags,
  };
}

/** Escapes a LIKE pattern's own wildcards; the queries use `ESCAPE '\'`. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Everything sipsim keeps, behind one interface, on SQLite or PostgreSQL. The
 * queries are shared; where the engines differ (bulk loads, the substring
 * index) the difference is named by `engine`.
 */
/** Calls per export batch: small on SQLite, whose reads block the event loop while they run. */
const SQLITE_EXPORT_BATCH = 500;
const POSTGRES_EXPORT_BATCH = 5000;

export class Store {
  readonly engine: Engine;
  private readonly conn: Connection;
  private sqliteIngestTx: SqliteUpsertTx | null = null;

  /** Webhook settings, subscriptions and the outbox. */
  readonly webhooks: WebhookStore;
  /** Calls started through the API while they last. */
  readonly clickCalls: ClickCallStore;
  /** Accounts, and deleting one with all of it. */
  readonly accounts: AccountStore;
  /** OAuth clients, their access tokens and the cursor-signing secret. */
  readonly credentials: CredentialStore;
  /** Employees and phone lines. */
  readonly directory: DirectoryStore;
  readonly tagNames: TagNames;
  /** Dashboard users, sessions and sign-in failures. */
  readonly users: UserStore;
  /** The dashboard's reads over calls: reports, changes, a call's webhooks. */
  readonly callReports: CallReportStore;
  /** Transcription, summary and rating jobs of calls, with their results. */
  readonly aiJobs: AiJobStore;
  readonly aiSettings: AiSettingsStore;
  /** Which call recordings sipsim holds. */
  readonly recordings: RecordingStore;
  /** Text messages and their webhooks. */
  readonly sms: SmsStore;
  /** How many calls carry each tag. */
  readonly tagCounts: TagCountStore;

  private constructor(
    conn: Connection,
    private readonly location: DatabaseLocation,
  ) {
    this.conn = conn;
    this.engine = conn.engine;
    const guarded: Guarded = (operation) => this.run(operation);
    this.webhooks = new WebhookStore(conn.db, conn.engine, guarded);
    this.clickCalls = new ClickCallStore(conn.db, conn.engine, guarded, () => this.webhooks.announce());
    this.accounts = new AccountStore(conn.db, conn.engine, guarded);
    this.credentials = new CredentialStore(conn.db, guarded);
    this.directory = new DirectoryStore(conn.db, conn.engine, guarded);
    this.tagNames = new TagNames(conn.db, guarded);
    this.users = new UserStore(conn.db, guarded);
    this.callReports = new CallReportStore(conn.db, guarded);
    this.aiJobs = new AiJobStore(conn.db, conn.engine, guarded, () => this.webhooks.announce());
    this.aiSettings = new AiSettingsStore(conn.db, guarded);
    this.recordings = new RecordingStore(conn.db, guarded);
    this.sms = new SmsStore(conn.db, conn.engine, guarded, () => this.webhooks.announce());
    this.tagCounts = new TagCountStore(conn.db, guarded);
  }


  static open(databaseUrl: string, options: { poolSize?: number } = {}): Store {
    const location = parseDatabaseUrl(databaseUrl);
    return new Store(connect(location, options), location);
  }

  get db() {
    return this.conn.db;
  }

  /** Runs a store operation, mapping driver errors onto domain errors. */
  private async run<T>(operation: () => Promise<T> | T): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      const mapped = typeof code === 'string' && PG_CONNECT_REFUSALS.has(code) ? new StoreUnavailableError(error) : mapStoreError(error);
      if (mapped instanceof StoreUnavailableError && mapped.message === 'store unavailable') {
        throw new StoreUnavailableError(mapped.cause, describeStoreFailure(this.location, mapped.cause));
      }
      throw mapped;
    }
  }

  private migrator(): Migrator {
    return new Migrator({
      db: this.db,
      provider: migrationProvider(this.engine),
      migrationTableName: 'schema_migrations',
      migrationLockTableName: 'schema_migrations_lock',
    });
  }

  /** Names of the migrations this store has not had yet; reads only, takes no lock. */
  async pendingMigrations(): Promise<string[]> {
    return this.run(async () => (await this.migrator().getMigrations()).filter((m) => !m.executedAt).map((m) => m.name));
  }

  /** Whether sipsim's schema is there at all (a store made by `sipsim migrate`, `serve` or `demo`). */
  async hasSchema(): Promise<boolean> {
    return this.run(async () => (await this.db.introspection.getTables({ withInternalKyselyTables: true })).some((t) => t.name === 'schema_migrations'));
  }

  /** Applies pending migrations; two processes doing it at once take turns (see setup-lock.ts). */
  async migrate(): Promise<string[]> {
    return this.run(() =>
      withSetupLock(this.location, async () => {
        const { error, results } = await this.migrator().migrateToLatest();
        if (error) throw error;
        return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      }),
    );
  }

  /** Runs `work` while no other process runs migrations or its own `exclusively` on this store. */
  exclusively<T>(work: () => Promise<T>): Promise<T> {
    return this.run(() => withSetupLock(this.location, work));
  }

  async ping(): Promise<void> {
    await this.run(() => sql`SELECT 1`.execute(this.db));
  }

  /** Refreshes the planner's statistics after a bulk load. */
  async analyze(): Promise<void> {
    await this.run(() => sql`ANALYZE`.execute(this.db));
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ---- tags ----

  async createTag(accountId: number, input: { name: string; color?: string; description?: string | null }): Promise<Tag> {
    const now = nowSeconds();
    const color = input.color ?? DEFAULT_TAG_COLOR;
    const row = await this.run(() =>
      this.db
        .insertInto('tags')
        .values({
          account_id: accountId,
          name: input.name,
          name_key: tagNameKey(input.name),
          color,
          description: input.description ?? null,
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return { id: row.id, accountId, name: input.name, color, description: input.description ?? null };
  }

  async getTag(accountId: number, id: number): Promise<Tag | null> {
    const row = await this.run(() =>
      this.db.selectFrom('tags').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst(),
    );
    return row ? toTag(row) : null;
  }

  async listTags(accountId: number, limit: number, afterId: number | null): Promise<DirectoryPage<Tag>> {
    const rows = await this.run(() =>
      this.db
        .selectFrom('tags')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute(),
    );
    const page = pageOf(rows, limit);
    return { items: page.items.map(toTag), next: page.next };
  }

  /** Renames or recolours a tag; null when the account has no such tag. A taken name is a StoreConflictError. */
  async updateTag(accountId: number, id: number, change: { name?: string; color?: string; description?: string | null }): Promise<Tag | null> {
    let queued = 0;
    const tag = await this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const set: Updateable<Database['tags']> = { updated_at: nowSeconds() };
        if (change.name !== undefined) Object.assign(set, { name: change.name, name_key: tagNameKey(change.name) });
        if (change.color !== undefined) set.color = change.color;
        if (change.description !== undefined) set.description = change.description;
        const before = change.name === undefined ? undefined : await trx.selectFrom('tags').select('name').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        const row = await trx.updateTable('tags').set(set).where('account_id', '=', accountId).where('id', '=', id).returningAll().executeTakeFirst();
        // A new name is a change of the tags of every call that has it: their webhooks carry names.
        if (row && before && before.name !== row.name) {
          const run = executeOn(trx);
          const subscribed = await subscribedEvents(this.db, run, accountId);
          if (subscribed.has('tags')) {
            const tagged = await trx.selectFrom('call_tags').select('call_id').where('account_id', '=', accountId).where('tag_id', '=', id).execute();
            queued = await queueWebhooks(this.db, run, accountId, await this.tagsMessages(trx, accountId, tagged.map((r) => Number(r.call_id))), subscribed);
          }
        }
        return row ? toTag(row) : null;
      }),
    );
    if (queued) this.webhooks.announce();
    return tag;
  }

  /** Deletes a tag and takes it off every call; false when the account has no such tag. */
  async deleteTag(accountId: number, id: number): Promise<boolean> {
    let queued = 0;
    const deleted = await this.run(() =>
      this.db.transaction().execute(async (trx) => {
        const run = executeOn(trx);
        const subscribed = await subscribedEvents(this.db, run, accountId);
        const removed = await trx.deleteFrom('call_tags').where('account_id', '=', accountId).where('tag_id', '=', id).returning('call_id').execute();
        const result = await trx.deleteFrom('tags').where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        // Taking a tag off calls is a change of each one's tags.
        if (subscribed.has('tags') && removed.length) {
          queued = await queueWebhooks(this.db, run, accountId, await this.tagsMessages(trx, accountId, removed.map((r) => Number(r.call_id))), subscribed);
        }
        return Number(result.numDeletedRows) > 0;
      }),
    );
    if (queued) this.webhooks.announce();
    return deleted;
  }

  /**
   * Adds, removes or replaces the tags of one call, all or nothing, one change
   * of a call after the other.
   */
  async changeCallTags(
    accountId: number,
    callId: number,
    change: { add?: number[]; remove?: number[]; replace?: number[] },
  ): Promise<'ok' | 'no-call' | 'no-tag'> {
    let queued = 0;
    const outcome = await this.run(() =>
      this.db.transaction().execute(async (trx) => {
        await lockRow(trx, this.engine, 'calls', accountId, callId);
        const call = await trx
          .selectFrom('calls')
          .select('start_time')
          .where('account_id', '=', accountId)
          .where('id', '=', callId)
          .executeTakeFirst();
        if (!call) return 'no-call' as const;
        const wanted = [...new Set([...(change.add ?? []), ...(change.replace ?? []), ...(change.remove ?? [])])];
        if (wanted.length) {
          const found = await trx
            .selectFrom('tags')
            .select('id')
            .where('account_id', '=', accountId)
            .where('id', 'in', wanted)
            .execute();
          if (found.length !== wanted.length) return 'no-tag' as const;
        }
        const tagsNow = async () =>
          (await trx.selectFrom('call_tags').select('tag_id').where('account_id', '=', accountId).where('call_id', '=', callId).orderBy('tag_id').execute())
            .map((r) => Number(r.tag_id))
            .join(',');
        const run = executeOn(trx);
        const subscribed = await subscribedEvents(this.db, run, accountId);
        const before = subscribed.has('tags') ? await tagsNow() : '';
        const onCall = trx.deleteFrom('call_tags').where('account_id', '=', accountId).where('call_id', '=', callId);
        if (change.replace) await onCall.execute();
        if (change.remove?.length) await onCall.where('tag_id', 'in', change.remove).execute();
        const adding = [...new Set([...(change.add ?? []), ...(change.replace ?? [])])];
        if (adding.length) {
          await trx
            .insertInto('call_tags')
            // start_time is the call's own, so that tag filters walk in list order.
            .values(adding.map((tagId) => ({ account_id: accountId, call_id: callId, tag_id: tagId, start_time: call.start_time })))
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        if (subscribed.has('tags') && (await tagsNow()) !== before) {
          queued = await queueWebhooks(this.db, run, accountId, await this.tagsMessages(trx, accountId, [callId]), subscribed);
        }
        return 'ok' as const;
      }),
    );
    if (queued) this.webhooks.announce();
    return outcome;
  }

  /** The `tags` webhook of each call, with its tags as they stand in this transaction. */
  private async tagsMessages(trx: Transaction<Database>, accountId: number, callIds: number[]): Promise<WebhookMessage[]> {
    const messages: WebhookMessage[] = [];
    const now = nowSeconds();
    for (let i = 0; i < callIds.length; i += 500) {
      const ids = callIds.slice(i, i + 500);
      const calls = await trx
        .selectFrom('calls')
        .select(['id', 'pbx_id', 'caller_number', 'target_number'])
        .where('account_id', '=', accountId)
        .where('id', 'in', ids)
        .orderBy('id')
        .execute();
      const tagRows = await trx
        .selectFrom('call_tags')
        .innerJoin('tags', (join) => join.onRef('tags.account_id', '=', 'call_tags.account_id').onRef('tags.id', '=', 'call_tags.tag_id'))
        .select(['call_tags.call_id', 'tags.name'])
        .where('call_tags.account_id', '=', accountId)
        .where('call_tags.call_id', 'in', ids)
        .orderBy('tags.name')
        .execute();
      const names = new Map<number, string[]>();
      for (const r of tagRows) {
        const list = names.get(Number(r.call_id)) ?? [];
        list.push(r.name);
        names.set(Number(r.call_id), list);
      }
      for (const c of calls) {
        const id = Number(c.id);
        messages.push(tagsMessage({ id, pbxId: c.pbx_id, callerNumber: c.caller_number, targetNumber: c.target_number }, names.get(id) ?? [], now));
      }
    }
    return messages;
  }

  // ---- calls ----

  /**
   * Stores finished calls in one transaction and returns their ids in order.
   * Bulk loads go straight through the driver: row-at-a-time prepared
   * statements on SQLite, column arrays through `unnest` on PostgreSQL.
   */
  async insertCalls(accountId: number, calls: NewCall[]): Promise<number[]> {
    if (calls.length === 0) return [];
    const createdAt = nowSeconds();
    return this.run(() =>
      this.engine === 'sqlite' ? this.insertCallsSqlite(accountId, calls, createdAt) : this.insertCallsPostgres(accountId, calls, createdAt),
    );
  }

  private insertCallsSqlite(accountId: number, calls: NewCall[], createdAt: number): number[] {
    const sqlite = this.conn.sqlite!;
    const insertCall = sqlite.prepare(
      `INSERT INTO calls (account_id, pbx_id, call_type, sip_status, sip_code, caller_number, caller_name, target_number,
         answered_phone_number, phone_id, answered_phone_id, employee_id, wait_duration_sec, duration_sec, play_record_link,
         registration_time, start_time, answered_time, end_time, search_numbers, search_name, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertTag = sqlite.prepare(`INSERT OR IGNORE INTO call_tags (account_id, call_id, tag_id, start_time) VALUES (?, ?, ?, ?)`);
    const indexForSearch = sqlite.prepare(
      `INSERT INTO calls_search (rowid, search_numbers, search_name)
       SELECT id, search_numbers, search_name FROM calls WHERE id >= ? AND id <= ?`,
    );
    const load = sqlite.transaction((rows: NewCall[]) => {
      const ids: number[] = [];
      for (const c of rows) {
        const { lastInsertRowid } = insertCall.run(
          accountId, c.pbxId, c.callType, c.sipStatus, c.sipCode, c.callerNumber, c.callerName, c.targetNumber,
          c.answeredPhoneNumber, c.phoneId, c.answeredPhoneId, c.employeeId, c.waitDurationSec, c.durationSec,
          c.playRecordLink, c.registrationTime, c.startTime, c.answeredTime, c.endTime, c.searchNumbers, c.searchName,
          createdAt,
        );
        const id = Number(lastInsertRowid);
        ids.push(id);
        for (const tagId of c.tagIds ?? []) insertTag.run(accountId, id, tagId, c.startTime);
      }
      // Ids are consecutive within one write transaction.
      indexForSearch.run(ids[0], ids[ids.length - 1]);
      return ids;
    });
    return load(calls);
  }

  private async insertCallsPostgres(accountId: number, calls: NewCall[], createdAt: number): Promise<number[]> {
    const client = await this.conn.pool!.connect();
    try {
      await client.query('BEGIN');
      // Ids come from the table's own sequence first, so that tags can be linked in the same statement batch.
      const { rows: idRows } = await client.query<{ id: number }>(
        `SELECT nextval(pg_get_serial_sequence('calls', 'id')) AS id FROM generate_series(1, $1)`,
        [calls.length],
      );
      const ids = idRows.map((r) => Number(r.id));
      const col = <K extends keyof NewCall>(key: K) => calls.map((c) => c[key]);
      await client.query(
        `INSERT INTO calls (account_id, id, pbx_id, call_type, sip_status, sip_code, caller_number, caller_name, target_number,
           answered_phone_number, phone_id, answered_phone_id, employee_id, wait_duration_sec, duration_sec, play_record_link,
           registration_time, start_time, answered_time, end_time, search_numbers, search_name, created_at)
         SELECT $1, * , $22 FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::int[], $15::int[], $16::text[],
           $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], $21::text[], $23::text[])`,
        [
          accountId, ids, col('pbxId'), col('callType'), col('sipStatus'), col('sipCode'), col('callerNumber'),
          col('callerName'), col('targetNumber'), col('answeredPhoneNumber'), col('phoneId'), col('answeredPhoneId'),
          col('employeeId'), col('waitDurationSec'), col('durationSec'), col('playRecordLink'), col('registrationTime'),
          col('startTime'), col('answeredTime'), col('endTime'), col('searchNumbers'), createdAt, col('searchName'),
        ],
      );
      const tagCallIds: number[] = [];
      const tagIds: number[] = [];
      const tagTimes: number[] = [];
      calls.forEach((c, i) => {
        for (const tagId of new Set(c.tagIds ?? [])) {
          tagCallIds.push(ids[i]!);
          tagIds.push(tagId);
          tagTimes.push(c.startTime);
        }
      });
      if (tagIds.length) {
        await client.query(
          `INSERT INTO call_tags (account_id, call_id, tag_id, start_time)
           SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING`,
          [accountId, tagCallIds, tagIds, tagTimes],
        );
      }
      await client.query('COMMIT');
      return ids;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  // ---- ingest ----

  /**
   * Creates or updates calls by PBX id in one transaction, and says for each
   * record whether it created, changed or left alone a call.
   */
  async upsertCalls(accountId: number, calls: ResolvedCall[], options: { notify?: boolean } = {}): Promise<UpsertResult[]> {
    if (calls.length === 0) return [];
    let queued = 0;
    const results = await this.ingestTransaction(async (tx) => {
      const results = await upsertCalls(tx, accountId, calls, nowSeconds());
      // A call that comes in finished tells its end, once: when it is new.
      if (options.notify) {
        const created = calls.filter((_, i) => results[i]!.outcome === 'created');
        queued = await queueWebhooks(this.db, tx.run, accountId, created.flatMap(messagesOfFinishedCall));
      }
      return results;
    });
    if (queued) this.webhooks.announce();
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
    return this.ingestTransaction((tx) => tx.phones(accountId), { readOnly: true });
  }

  /**
   * Stores live PBX events and, in the same transaction, rebuilds the call of
   * every PBX id that got a new event from all of that id's events. `assemble`
   * turns each id's stored payloads into its call, or leaves it out while the
   * call has not ended. Writers of the same PBX id take turns, so that two
   * events of one call posted at once never each see only half of it.
   */
  async ingestEvents(
    accountId: number,
    rows: EventRow[],
    assemble: (payloads: Map<string, string[]>, phones: PhoneRef[]) => ResolvedCall[],
  ): Promise<{ fresh: Set<string>; calls: Array<{ pbxId: string } & UpsertResult> }> {
    if (rows.length === 0) return { fresh: new Set(), calls: [] };
    let queued = 0;
    const outcome = await this.ingestTransaction(async (tx) => {
      await tx.lockPbxIds(accountId, rows.map((r) => r.pbxId));
      const fresh = await tx.insertEvents(accountId, rows);
      // Each new event once, even when a post holds it twice.
      const webhooks = new Map(rows.filter((r) => r.webhook && fresh.has(r.key)).map((r) => [r.key, r.webhook!]));
      queued = await queueWebhooks(this.db, tx.run, accountId, [...webhooks.values()]);
      // A call is built once it ends; until then only a call already built (its end
      // came first) is rebuilt, so that most events cost two statements.
      const ending = new Set(rows.filter((r) => fresh.has(r.key) && r.ends).map((r) => r.pbxId));
      const others = [...new Set(rows.filter((r) => fresh.has(r.key) && !ending.has(r.pbxId)).map((r) => r.pbxId))];
      const touched = [...ending, ...(others.length ? await tx.existingPbxIds(accountId, others) : [])];
      if (!touched.length) return { fresh, calls: [] };
      const payloads = new Map<string, string[]>();
      for (const { pbx_id, payload } of await tx.eventsOf(accountId, touched)) {
        let list = payloads.get(pbx_id);
        if (!list) payloads.set(pbx_id, (list = []));
        list.push(payload);
      }
      const calls = assemble(payloads, await tx.phones(accountId));
      const results = await upsertCalls(tx, accountId, calls, nowSeconds());
      return { fresh, calls: results.map((r, i) => ({ pbxId: calls[i]!.pbxId, ...r })) };
    });
    if (queued) this.webhooks.announce();
    return outcome;
  }

  /**
   * One write transaction with this engine's ingest statements. On SQLite it
   * holds the single connection (so that no other query interleaves) with
   * BEGIN IMMEDIATE; on PostgreSQL it holds a pooled client. A batch that lost
   * a race for a new PBX id, or a deadlock, is simply run again.
   */
  private async ingestTransaction<T>(work: (tx: UpsertTx) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(() => (this.engine === 'sqlite' ? this.sqliteTransaction(work, options) : this.postgresTransaction(work)));
      } catch (error) {
        const retry = error instanceof UpsertRaceError || (error as { code?: string }).code === '40P01';
        if (!retry || attempt >= 5) throw error;
      }
    }
  }

  private sqliteTransaction<T>(work: (tx: UpsertTx) => Promise<T>, options: { readOnly?: boolean }): Promise<T> {
    return this.db.connection().execute(async () => {
      const sqlite = this.conn.sqlite!;
      const tx = (this.sqliteIngestTx ??= new SqliteUpsertTx(sqlite));
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

  async getCall(accountId: number, id: number): Promise<CallResource | null> {
    return this.run(async () => {
      const row = await this.db
        .selectFrom('calls')
        .select(CALL_COLUMNS)
        .where('account_id', '=', accountId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return null;
      const tags = await this.tagsOfCalls(accountId, [row.id]);
      return toCallResource(row as CallSelection, tags.get(row.id) ?? []);
    });
  }

  /** One page of calls, newest first, after `after` when given. */
  async listCalls(accountId: number, filter: CallFilter, limit: number, after: Position | null): Promise<CallPage> {
    return this.run(async () => {
      const searchPlan = filter.search ? await this.planSearch(filter.search) : null;
      const rows = await this.selectCalls(accountId, filter, searchPlan, after, limit + 1);
      const hasMore = rows.length > limit;
      if (hasMore) rows.length = limit;
      const tags = await this.tagsOfCalls(accountId, rows.map((r) => r.id));
      const last = rows[rows.length - 1];
      return {
        calls: rows.map((row) => toCallResource(row, tags.get(row.id) ?? [])),
        next: hasMore && last ? { startTime: last.start_time, id: last.id } : null,
      };
    });
  }

  /**
   * Up to `limit` rows of the calls a filter selects, newest first (start_time,
   * then id, descending), after `after` when given: the one query behind both
   * listCalls and exportCalls, so that an export is exactly the list's pages.
   * With `columns`, the rows hold those columns only.
   */
  private async selectCalls(
    accountId: number,
    filter: CallFilter,
    searchPlan: (() => Expression<SqlBool>) | null,
    after: Position | null,
    limit: number,
    columns: ReadonlyArray<(typeof CALL_COLUMNS)[number]> = CALL_COLUMNS,
  ): Promise<CallSelection[]> {
    // With one tag, the page is read in order off that tag's index (call_tags keeps a
    // copy of each tagged call's start_time, which must stay equal to it) and joined
    // to the calls, so that a rare tag costs what a common one does. Several tags are
    // matched through EXISTS below.
    const singleTag = filter.tagIds?.length === 1 ? filter.tagIds[0]! : null;
    const [time, key] = singleTag === null ? ['calls.start_time', 'calls.id'] : ['call_tags.start_time', 'call_tags.call_id'];
    const { ref } = this.db.dynamic;
    // One upper bound on start_time, the tighter of the window's end and the page
    // position: given two, SQLite ranges its index scan on the first and filters
    // the rest, so that deep pages skipped every call before them.
    let query = this.db
      .selectFrom('calls')
      .$if(singleTag !== null, (qb) =>
        qb
          .innerJoin('call_tags', (join) =>
            join.onRef('call_tags.account_id', '=', 'calls.account_id').onRef('call_tags.call_id', '=', 'calls.id'),
          )
          .where('call_tags.account_id', '=', accountId)
          .where('call_tags.tag_id', '=', singleTag!),
      )
      .select(columns.map((column) => `calls.${column}` as const))
      .where('calls.account_id', '=', accountId)
      .where(ref(time), '>=', filter.startTime)
      .where(ref(time), '<=', after ? Math.min(filter.endTime, after.startTime) : filter.endTime);
    if (after) {
      query = query.where(sql<SqlBool>`(${sql.ref(time)}, ${sql.ref(key)}) < (${after.startTime}, ${after.id})`);
    }
    if (filter.callTypes) query = query.where('call_type', 'in', filter.callTypes);
    if (filter.employeeIds) query = query.where('employee_id', 'in', filter.employeeIds);
    if (filter.tagIds && singleTag === null) {
      const tagIds = filter.tagIds;
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('call_tags')
            .select(sql.lit(1).as('one'))
            .where('call_tags.account_id', '=', accountId)
            .whereRef('call_tags.call_id', '=', 'calls.id')
            .where('call_tags.tag_id', 'in', tagIds),
        ),
      );
    }
    if (searchPlan) query = query.where(searchPlan);
    return (await query.orderBy(ref(time), 'desc').orderBy(ref(key), 'desc').limit(limit).execute()) as CallSelection[];
  }

  /**
   * Every call a filter selects, in the list's order, as batches of up to
   * `batchSize` calls: one keyset query per batch, each after the last call of
   * the one before. Memory stays at one batch whatever the count, and no
   * connection is held between batches, so that a slow reader of a long
   * export never starves other requests. Not a snapshot: a call stored during
   * the walk shows up if it sorts after the current position.
   *
   * Without `fields`, each call is the whole object the list serves. With
   * them, only those fields are read and built: a CSV of a few columns need
   * not pay for the others, nor for the tags query unless it asks for tags.
   *
   * SQLite answers on this thread and without any I/O wait, so a walk made of
   * promises alone would never let the event loop serve another request until
   * the export ended. There each batch is small (a few milliseconds of work)
   * and the walk gives the event loop a turn after every batch, so that a list
   * sent during a long export waits for one batch at most.
   */
  async *exportCalls<F extends keyof CallResource = keyof CallResource>(
    accountId: number,
    filter: CallFilter,
    batchSize = this.engine === 'sqlite' ? SQLITE_EXPORT_BATCH : POSTGRES_EXPORT_BATCH,
    fields?: readonly F[],
  ): AsyncGenerator<Array<Pick<CallResource, F>>, void, undefined> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
    const sources = fields ? [...new Set(fields)].map((field) => [field, Store.FIELD_SOURCES[field]] as const) : null;
    // The keyset needs id and start_time whatever is asked.
    const columns = sources ? [...new Set(['id', 'start_time', ...sources.flatMap(([, source]) => source.columns)] as const)] : CALL_COLUMNS;
    const withTags = !fields || fields.includes('tags' as F);
    // Planned once: the plan only picks an index, and the first answer holds for the whole walk.
    const searchPlan = filter.search ? await this.run(() => this.planSearch(filter.search!)) : null;
    let after: Position | null = null;
    for (;;) {
      const position = after;
      const batch = await this.run(async () => {
        const rows = await this.selectCalls(accountId, filter, searchPlan, position, batchSize, columns);
        const tags = withTags ? await this.tagsOfCalls(accountId, rows.map((r) => r.id)) : new Map<number, Array<{ id: number; name: string }>>();
        const calls = rows.map((row) => {
          const callTags = tags.get(row.id) ?? [];
          if (!sources) return toCallResource(row, callTags);
          const call: Record<string, unknown> = {};
          for (const [field, source] of sources) call[field] = source.value(row, callTags);
          return call as Pick<CallResource, F>;
        });
        return { rows, calls };
      });
      if (batch.calls.length) yield batch.calls;
      if (batch.rows.length < batchSize) return;
      const last = batch.rows[batch.rows.length - 1]!;
      after = { startTime: last.start_time, id: last.id };
      // A macrotask turn: timers, sockets and other requests run before the next batch.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Each field of a call: the columns it is made from, and how (as toCallResource makes it). */
  private static readonly FIELD_SOURCES: {
    [K in keyof CallResource]: {
      columns: ReadonlyArray<(typeof CALL_COLUMNS)[number]>;
      value: (row: CallSelection, tags: Array<{ id: number; name: string }>) => CallResource[K];
    };
  } = {
    id: { columns: ['id'], value: (row) => row.id },
    call_type: { columns: ['call_type'], value: (row) => row.call_type as CallType },
    direction: { columns: ['call_type'], value: (row) => directionOf(row.call_type as CallType) },
    sip_status: { columns: ['sip_status'], value: (row) => row.sip_status as SipStatus },
    caller_number: { columns: ['caller_number'], value: (row) => row.caller_number },
    caller_name: { columns: ['caller_name'], value: (row) => row.caller_name },
    target_number: { columns: ['target_number'], value: (row) => row.target_number },
    receiver_number: { columns: ['target_number'], value: (row) => row.target_number },
    answered_phone_number: { columns: ['answered_phone_number'], value: (row) => row.answered_phone_number },
    answered: { columns: ['answered_time'], value: (row) => row.answered_time !== null },
    wait_duration_sec: { columns: ['wait_duration_sec'], value: (row) => row.wait_duration_sec },
    duration_sec: { columns: ['duration_sec'], value: (row) => row.duration_sec },
    play_record_link: { columns: ['play_record_link'], value: (row) => row.play_record_link },
    phone_id: { columns: ['phone_id'], value: (row) => row.phone_id },
    answered_phone_id: { columns: ['answered_phone_id'], value: (row) => row.answered_phone_id },
    employee_id: { columns: ['employee_id'], value: (row) => row.employee_id },
    registration_time: { columns: ['registration_time'], value: (row) => formatDateTime(row.registration_time) },
    start_time: { columns: ['start_time'], value: (row) => formatDateTime(row.start_time) },
    answered_time: {
      columns: ['answered_time'],
      value: (row) => (row.answered_time === null ? null : formatDateTime(row.answered_time)),
    },
    end_time: { columns: ['end_time'], value: (row) => formatDateTime(row.end_time) },
    tags: { columns: [], value: (_row, tags) => tags },
  };

  /**
   * The predicate for a substring search. PostgreSQL's planner weighs the
   * trigram index against the time index by itself. SQLite's does not, so the
   * FTS5 trigram index is asked how many calls match: few, and the query starts
   * from those calls; many, and it walks the window in order, where matches come
   * quickly.
   */
  private async planSearch(term: SearchTerm): Promise<() => Expression<SqlBool>> {
    const column = term.kind === 'number' ? 'search_numbers' : 'search_name';
    const text = term.kind === 'number' ? term.digits : term.text;
    const likePredicate = () => sql<SqlBool>`${sql.ref(`calls.${column}`)} LIKE ${likeContaining(text)} ESCAPE '\\'`;
    // The trigram index needs at least three characters.
    if (this.engine === 'postgres' || [...text].length < 3) return likePredicate;
    const match = `${column} : "${text.replace(/"/g, '""')}"`;
    const { hits } = (await sql<{ hits: number }>`
      SELECT count(*) AS hits FROM (SELECT rowid FROM calls_search WHERE calls_search MATCH ${match} LIMIT ${SEARCH_INDEX_CAP})
    `
      .execute(this.db)
      .then((r) => r.rows[0]))!;
    if (Number(hits) >= SEARCH_INDEX_CAP) return likePredicate;
    return () => sql<SqlBool>`calls.id IN (SELECT rowid FROM calls_search WHERE calls_search MATCH ${match})`;
  }

  private async tagsOfCalls(accountId: number, callIds: number[]): Promise<Map<number, Array<{ id: number; name: string }>>> {
    const byCall = new Map<number, Array<{ id: number; name: string }>>();
    if (callIds.length === 0) return byCall;
    const rows = await this.db
      .selectFrom('call_tags')
      .innerJoin('tags', (join) => join.onRef('tags.account_id', '=', 'call_tags.account_id').onRef('tags.id', '=', 'call_tags.tag_id'))
      .select(['call_tags.call_id', 'tags.id', 'tags.name'])
      .where('call_tags.account_id', '=', accountId)
      // The ids go as one parameter, not a thousand: the statement stays short to
      // prepare (SQLite) and to parse and bind (PostgreSQL).
      .where(
        this.engine === 'postgres'
          ? sql<SqlBool>`call_tags.call_id = ANY(${callIds}::bigint[])`
          : sql<SqlBool>`call_tags.call_id IN (SELECT value FROM json_each(${JSON.stringify(callIds)}))`,
      )
      .orderBy('tags.name')
      .execute();
    for (const row of rows) {
      let list = byCall.get(row.call_id);
      if (!list) byCall.set(row.call_id, (list = []));
      list.push({ id: row.id, name: row.name });
    }
    return byCall;
  }

  /**
   * The store's connections, for metrics. SQLite has exactly one, and it is
   * idle whenever JavaScript runs outside a query, which is when this is read.
   */
  poolStats(): { total: number; idle: number; waiting: number } {
    const pool = this.conn.pool;
    if (!pool) return { total: 1, idle: 1, waiting: 0 };
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }
}

function toTag(row: Selectable<Database['tags']>): Tag {
  return { id: row.id, accountId: row.account_id, name: row.name, color: row.color, description: row.description };
}
