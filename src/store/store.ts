import { CompiledQuery, Migrator, sql, type Kysely } from 'kysely';
import { connect, parseDatabaseUrl, type Connection, type DatabaseLocation, type Engine } from './engine.js';
import { withSetupLock } from './setup-lock.js';
import { AccountStore } from './account-store.js';
import { describeStoreFailure, PG_CONNECT_REFUSALS } from './connection-errors.js';
import { StoreUnavailableError } from '../domain/errors.js';
import { mapStoreError } from './errors.js';
import { migrationProvider } from './migrations/index.js';
import type { Database } from './schema.js';
import { WebhookStore } from './webhook-store.js';
import { ClickCallStore } from './click-call-store.js';
import { UserStore } from './user-store.js';
import { CallReportStore } from './call-report-store.js';
import { AiJobStore } from './ai-job-store.js';
import { AiSettingsStore } from './ai-settings-store.js';
import { RecordingStore } from './recording-store.js';
import { SmsStore } from './sms-store.js';
import { DirectoryStore } from './directory-store.js';
import { CredentialStore } from './credential-store.js';
import { CallStore } from './call-store.js';
import { IngestStore } from './ingest-store.js';
import { TagStore } from './tag-store.js';
import { PostgresCallRows, SqliteCallRows, type CallRowWriter } from './call-rows.js';
import type { Guarded } from './guarded.js';

export type { Account } from './account-store.js';
export type { AccessToken, OAuthClient } from './credential-store.js';
export type { NewPhone, PhoneChange } from './directory-store.js';
export type { DirectoryPage } from './pages.js';

/**
 * Everything sipsim keeps, on SQLite or PostgreSQL: the store opens, migrates
 * and closes, and hands out one sub-store per concern. Each runs its
 * operations through `guarded`, which maps driver errors onto domain errors.
 */
export class Store {
  readonly engine: Engine;
  private readonly conn: Connection;

  /** The call history's reads: a call, the list, exports. */
  readonly calls: CallStore;
  /** Calls coming in: imports, PBX events, the demo's bulk insert. */
  readonly ingest: IngestStore;
  /** Tags, the tags of calls, tag names and counts. */
  readonly tags: TagStore;

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

  private constructor(
    conn: Connection,
    private readonly location: DatabaseLocation,
  ) {
    this.conn = conn;
    this.engine = conn.engine;
    const guarded: Guarded = (operation) => this.guarded(operation);
    const announce = () => this.webhooks.announce();
    this.webhooks = new WebhookStore(conn.db, conn.engine, guarded);
    this.calls = new CallStore(conn.db, conn.engine, guarded, conn.sqlite ?? null);
    this.ingest = new IngestStore(conn, guarded, announce);
    this.tags = new TagStore(conn.db, conn.engine, guarded, announce);
    // Click-to-call writes its call row with the one writer, in its own transaction.
    const sqliteCallRows = conn.sqlite ? new SqliteCallRows(conn.sqlite) : null;
    const callRows = (trx: Kysely<Database>): CallRowWriter =>
      sqliteCallRows ?? new PostgresCallRows(async (text, parameters) => (await trx.executeQuery(CompiledQuery.raw(text, parameters))).rows as never[]);
    this.clickCalls = new ClickCallStore(conn.db, conn.engine, guarded, announce, callRows);
    this.accounts = new AccountStore(conn.db, conn.engine, guarded);
    this.credentials = new CredentialStore(conn.db, guarded);
    this.directory = new DirectoryStore(conn.db, conn.engine, guarded);
    this.users = new UserStore(conn.db, guarded);
    this.callReports = new CallReportStore(conn.db, guarded);
    this.aiJobs = new AiJobStore(conn.db, conn.engine, guarded, announce);
    this.aiSettings = new AiSettingsStore(conn.db, guarded);
    this.recordings = new RecordingStore(conn.db, guarded);
    this.sms = new SmsStore(conn.db, conn.engine, guarded, announce);
  }


  static open(databaseUrl: string, options: { poolSize?: number } = {}): Store {
    const location = parseDatabaseUrl(databaseUrl);
    return new Store(connect(location, options), location);
  }

  get db() {
    return this.conn.db;
  }

  /** Runs a store operation, mapping driver errors onto domain errors. */
  private async guarded<T>(operation: () => Promise<T> | T): Promise<T> {
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
    return this.guarded(async () => (await this.migrator().getMigrations()).filter((m) => !m.executedAt).map((m) => m.name));
  }

  /** Whether sipsim's schema is there at all (a store made by `sipsim migrate`, `serve` or `demo`). */
  async hasSchema(): Promise<boolean> {
    return this.guarded(async () => (await this.db.introspection.getTables({ withInternalKyselyTables: true })).some((t) => t.name === 'schema_migrations'));
  }

  /** Applies pending migrations; two processes doing it at once take turns (see setup-lock.ts). */
  async migrate(): Promise<string[]> {
    return this.guarded(() =>
      withSetupLock(this.location, async () => {
        const { error, results } = await this.migrator().migrateToLatest();
        if (error) throw error;
        return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      }),
    );
  }

  /** Runs `work` while no other process runs migrations or its own `exclusively` on this store. */
  exclusively<T>(work: () => Promise<T>): Promise<T> {
    return this.guarded(() => withSetupLock(this.location, work));
  }

  async ping(): Promise<void> {
    await this.guarded(() => sql`SELECT 1`.execute(this.db));
  }

  /** Refreshes the planner's statistics after a bulk load. */
  async analyze(): Promise<void> {
    await this.guarded(() => sql`ANALYZE`.execute(this.db));
  }

  async close(): Promise<void> {
    await this.db.destroy();
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
