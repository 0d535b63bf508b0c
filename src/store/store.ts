import { CompiledQuery, Migrator, sql, type Kysely, type Selectable } from 'kysely';
import {
  DEFAULT_PHONE_SETTINGS,
  mergeSettings,
  type Employee,
  type Phone,
  type PhoneSettingsPatch,
  type PhoneStatus,
} from '../domain/directory.js';
import { nowSeconds } from '../domain/time.js';
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
import { DirectoryEditStore } from './directory-edit-store.js';
import { CallStore } from './call-store.js';
import { IngestStore } from './ingest-store.js';
import { TagStore } from './tag-store.js';
import { PostgresCallRows, SqliteCallRows, type CallRowWriter } from './call-rows.js';
import { pageOf, type DirectoryPage } from './pages.js';
import { lockRow } from './row-lock.js';
import type { Guarded } from './guarded.js';

export interface Account {
  id: number;
  name: string;
  email: string | null;
  timezone: string;
  createdAt: number;
}

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

export interface NewPhone {
  number: string;
  name: string;
  employeeId?: number | null;
  status?: PhoneStatus;
  internalNumber?: number | null;
  groupId?: number | null;
  groupTitle?: string | null;
  settings?: PhoneSettingsPatch;
}

export interface PhoneChange {
  name?: string;
  status?: PhoneStatus;
  employeeId?: number | null;
  groupId?: number | null;
  groupTitle?: string | null;
  settings?: PhoneSettingsPatch;
}

/**
 * Everything sipsim keeps, on SQLite or PostgreSQL: the store opens, migrates
 * and closes, and hands out one sub-store per concern. Each runs its
 * operations through `guarded`, which maps driver errors onto domain errors.
 */
export class Store {
  readonly engine: Engine;
  private readonly conn: Connection;
  private cursorSecretCache: Buffer | null = null;

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
  /** Deleting an account and all of it. */
  readonly accounts: AccountStore;
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
  /** Changing and removing employees and phones. */
  readonly directoryEdits: DirectoryEditStore;

  private constructor(
    conn: Connection,
    private readonly location: DatabaseLocation,
  ) {
    this.conn = conn;
    this.engine = conn.engine;
    const guarded: Guarded = (operation) => this.guarded(operation);
    const announce = () => this.webhooks.announce();
    this.webhooks = new WebhookStore(conn.db, conn.engine, (operation) => this.guarded(operation));
    this.calls = new CallStore(conn.db, conn.engine, guarded);
    this.ingest = new IngestStore(conn, guarded, announce);
    this.tags = new TagStore(conn.db, conn.engine, guarded, announce);
    // Click-to-call writes its call row with the one writer, in its own transaction.
    const sqliteCallRows = conn.sqlite ? new SqliteCallRows(conn.sqlite) : null;
    const callRows = (trx: Kysely<Database>): CallRowWriter =>
      sqliteCallRows ?? new PostgresCallRows(async (text, parameters) => (await trx.executeQuery(CompiledQuery.raw(text, parameters))).rows as never[]);
    this.clickCalls = new ClickCallStore(conn.db, conn.engine, (operation) => this.guarded(operation), announce, callRows);
    this.accounts = new AccountStore(conn.db, conn.engine, (operation) => this.guarded(operation));
    this.users = new UserStore(conn.db, (operation) => this.guarded(operation));
    this.callReports = new CallReportStore(conn.db, (operation) => this.guarded(operation));
    this.aiJobs = new AiJobStore(conn.db, conn.engine, (operation) => this.guarded(operation), () => this.webhooks.announce());
    this.aiSettings = new AiSettingsStore(conn.db, (operation) => this.guarded(operation));
    this.recordings = new RecordingStore(conn.db, (operation) => this.guarded(operation));
    this.directoryEdits = new DirectoryEditStore(conn.db, conn.engine, (operation) => this.guarded(operation));
    this.sms = new SmsStore(conn.db, conn.engine, (operation) => this.guarded(operation), () => this.webhooks.announce());
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

  async cursorSecret(): Promise<Buffer> {
    if (!this.cursorSecretCache) {
      const row = await this.guarded(() =>
        this.db.selectFrom('server_settings').select('value').where('key', '=', 'cursor_secret').executeTakeFirstOrThrow(),
      );
      this.cursorSecretCache = Buffer.from(row.value, 'base64');
    }
    return this.cursorSecretCache;
  }

  // ---- accounts ----

  async createAccount(input: { name: string; email?: string | null; timezone?: string }): Promise<Account> {
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

  async getAccount(id: number): Promise<Account | null> {
    const row = await this.guarded(() => this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst());
    return row ? { id: row.id, name: row.name, email: row.email, timezone: row.timezone, createdAt: row.created_at } : null;
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await this.guarded(() => this.db.selectFrom('accounts').selectAll().orderBy('id').execute());
    return rows.map((row) => ({ id: row.id, name: row.name, email: row.email, timezone: row.timezone, createdAt: row.created_at }));
  }

  // ---- OAuth clients and tokens ----

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

  async findClient(clientId: string): Promise<OAuthClient | null> {
    const row = await this.guarded(() =>
      this.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst(),
    );
    return row ? toClient(row) : null;
  }

  async listClients(accountId?: number): Promise<OAuthClient[]> {
    let query = this.db.selectFrom('oauth_clients').selectAll().orderBy('created_at').orderBy('client_id');
    if (accountId !== undefined) query = query.where('account_id', '=', accountId);
    const rows = await this.guarded(() => query.execute());
    return rows.map(toClient);
  }

  /** Revokes a client and every token it was issued. False when there is no such client. */
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

  async findToken(tokenHash: string): Promise<AccessToken | null> {
    const row = await this.guarded(() =>
      this.db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst(),
    );
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

  // ---- employees ----

  async createEmployee(accountId: number, input: { name: string; email?: string | null }): Promise<Employee> {
    const now = nowSeconds();
    const row = await this.guarded(() =>
      this.db
        .insertInto('employees')
        .values({ account_id: accountId, name: input.name, email: input.email ?? null, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return { id: row.id, accountId, name: input.name, email: input.email ?? null, createdAt: now, updatedAt: now, phoneIds: [] };
  }

  async getEmployee(accountId: number, id: number): Promise<Employee | null> {
    const { items } = await this.listEmployees(accountId, 1, null, id);
    return items[0] ?? null;
  }

  /** Employees in id order, each with the ids of its phones. */
  async listEmployees(accountId: number, limit: number, afterId: number | null, onlyId?: number): Promise<DirectoryPage<Employee>> {
    return this.guarded(async () => {
      const rows = await this.db
        .selectFrom('employees')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .$if(onlyId !== undefined, (qb) => qb.where('id', '=', onlyId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute();
      const page = pageOf(rows, limit);
      const ids = page.items.map((r) => r.id);
      const phones = ids.length
        ? await this.db
            .selectFrom('phones')
            .select(['id', 'employee_id'])
            .where('account_id', '=', accountId)
            .where('employee_id', 'in', ids)
            .orderBy('id')
            .execute()
        : [];
      const phoneIds = new Map<number, number[]>();
      for (const p of phones) phoneIds.set(p.employee_id!, [...(phoneIds.get(p.employee_id!) ?? []), p.id]);
      return {
        items: page.items.map((r) => ({
          id: r.id,
          accountId,
          name: r.name,
          email: r.email,
          createdAt: r.created_at,
          updatedAt: r.updated_at,
          phoneIds: phoneIds.get(r.id) ?? [],
        })),
        next: page.next,
      };
    });
  }

  // ---- phones ----

  async createPhone(accountId: number, input: NewPhone): Promise<Phone> {
    const now = nowSeconds();
    const settings = mergeSettings(DEFAULT_PHONE_SETTINGS, input.settings ?? {});
    const status = input.status ?? 'active';
    const row = await this.guarded(() =>
      this.db
        .insertInto('phones')
        .values({
          account_id: accountId,
          employee_id: input.employeeId ?? null,
          name: input.name,
          status,
          internal_number: input.internalNumber ?? null,
          number: input.number,
          group_id: input.groupId ?? null,
          group_title: input.groupTitle ?? null,
          settings: JSON.stringify(settings),
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return {
      id: row.id,
      accountId,
      employeeId: input.employeeId ?? null,
      name: input.name,
      status,
      internalNumber: input.internalNumber ?? null,
      number: input.number,
      groupId: input.groupId ?? null,
      groupTitle: input.groupTitle ?? null,
      settings,
      createdAt: now,
      updatedAt: now,
    };
  }

  async getPhone(accountId: number, id: number): Promise<Phone | null> {
    const row = await this.guarded(() =>
      this.db.selectFrom('phones').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst(),
    );
    return row ? toPhone(row) : null;
  }

  /** Phones in id order, of the given statuses when asked. */
  async listPhones(accountId: number, filter: { statuses?: PhoneStatus[] }, limit: number, afterId: number | null): Promise<DirectoryPage<Phone>> {
    const rows = await this.guarded(() =>
      this.db
        .selectFrom('phones')
        .selectAll()
        .where('account_id', '=', accountId)
        .$if(filter.statuses !== undefined, (qb) => qb.where('status', 'in', filter.statuses!))
        .$if(afterId !== null, (qb) => qb.where('id', '>', afterId!))
        .orderBy('id')
        .limit(limit + 1)
        .execute(),
    );
    const page = pageOf(rows, limit);
    return { items: page.items.map(toPhone), next: page.next };
  }

  /**
   * Changes a phone's name, status, employee, group or settings (merged, not
   * replaced). The employee must be one of the account's.
   */
  async updatePhone(accountId: number, id: number, change: PhoneChange): Promise<Phone | 'no-phone' | 'no-employee'> {
    return this.guarded(() =>
      this.db.transaction().execute(async (trx) => {
        await lockRow(trx, this.engine, 'phones', accountId, id);
        const row = await trx.selectFrom('phones').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        if (!row) return 'no-phone' as const;
        if (change.employeeId != null) {
          const employee = await trx
            .selectFrom('employees')
            .select('id')
            .where('account_id', '=', accountId)
            .where('id', '=', change.employeeId)
            .executeTakeFirst();
          if (!employee) return 'no-employee' as const;
        }
        const current = toPhone(row);
        const updated: Phone = {
          ...current,
          name: change.name ?? current.name,
          status: change.status ?? current.status,
          employeeId: change.employeeId === undefined ? current.employeeId : change.employeeId,
          groupId: change.groupId === undefined ? current.groupId : change.groupId,
          groupTitle: change.groupTitle === undefined ? current.groupTitle : change.groupTitle,
          settings: mergeSettings(current.settings, change.settings ?? {}),
          updatedAt: nowSeconds(),
        };
        await trx
          .updateTable('phones')
          .set({
            name: updated.name,
            status: updated.status,
            employee_id: updated.employeeId,
            group_id: updated.groupId,
            group_title: updated.groupTitle,
            settings: JSON.stringify(updated.settings),
            updated_at: updated.updatedAt,
          })
          .where('account_id', '=', accountId)
          .where('id', '=', id)
          .execute();
        return updated;
      }),
    );
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

function toClient(row: Database['oauth_clients']): OAuthClient {
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

function toPhone(row: Selectable<Database['phones']>): Phone {
  return {
    id: row.id,
    accountId: row.account_id,
    employeeId: row.employee_id,
    name: row.name,
    status: row.status as PhoneStatus,
    internalNumber: row.internal_number,
    number: row.number,
    groupId: row.group_id,
    groupTitle: row.group_title,
    settings: mergeSettings(DEFAULT_PHONE_SETTINGS, JSON.parse(row.settings) as unknown),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
