import type SqliteDatabase from 'better-sqlite3';
import type pg from 'pg';
import { DEFAULT_TAG_COLOR, tagNameKey } from '../domain/directory.js';
import type { PhoneRef, ResolvedCall } from '../domain/resolved-call.js';
import type { WebhookMessage } from '../domain/webhook-messages.js';
import {
  CALL_ROW_COLUMNS as COLUMNS,
  callRowValues as valuesOf,
  insertPostgresTags,
  pgTypeOf,
  PostgresCallRows,
  SqliteCallRows,
  type CallRowValues as ColumnValues,
  type CallRowWriter,
  type NewCallRow,
  type PgQuery,
} from './call-rows.js';
import type { ExecuteQuery } from './webhook-store.js';
import { StatementCache } from './statement-cache.js';

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';
export interface UpsertResult {
  id: number;
  outcome: UpsertOutcome;
}

export interface StoredCall {
  id: number;
  values: ColumnValues;
  tagIds: number[];
}

/**
 * The statements an upsert needs, on one engine, inside one transaction that
 * the caller holds. The algorithm above them is shared.
 */
export interface UpsertTx {
  findCalls(accountId: number, pbxIds: string[]): Promise<Map<string, StoredCall>>;
  /** Tag ids by name key, creating the tags that do not exist yet. */
  ensureTags(accountId: number, tags: Map<string, string>): Promise<Map<string, number>>;
  /** The one writer of new calls (see call-rows.ts), in this transaction. */
  readonly calls: CallRowWriter;
  updateCalls(accountId: number, rows: Array<{ id: number; values: ColumnValues }>): Promise<void>;
  /** Replaces each call's tags, stamping them with the call's start time. */
  rewriteTags(accountId: number, rows: Array<{ id: number; tagIds: number[]; startTime: number }>): Promise<void>;
  /** The account's phones, as PBX numbers and extensions name them. */
  phones(accountId: number): Promise<PhoneRef[]>;
  /** Makes writers of the same PBX ids take turns until the transaction ends. */
  lockPbxIds(accountId: number, pbxIds: string[]): Promise<void>;
  /** Stores events not seen before; returns the keys that were new. */
  insertEvents(accountId: number, rows: EventRow[]): Promise<Set<string>>;
  /** Which of these PBX ids already have a call. */
  existingPbxIds(accountId: number, pbxIds: string[]): Promise<string[]>;
  /** Every stored event of these PBX ids, as their JSON payloads. */
  eventsOf(accountId: number, pbxIds: string[]): Promise<Array<{ pbx_id: string; payload: string }>>;
  /** Runs any other query (built with Kysely) in this transaction. */
  run: ExecuteQuery;
}

export interface EventRow {
  pbxId: string;
  /** The event can finish a call (an end, a voicemail), so its call is built even if it did not exist. */
  ends: boolean;
  key: string;
  event: string;
  time: number;
  payload: string;
  receivedAt: number;
  /** The webhook this event produces when it is new. */
  webhook?: WebhookMessage;
}

const sameTags = (a: number[], b: number[]) => a.length === b.length && a.every((id, i) => id === b[i]);
const sameValues = (a: ColumnValues, b: ColumnValues) => COLUMNS.every((c) => a[c] === b[c]);

/**
 * Creates or updates calls by PBX id, inside the caller's transaction. A
 * record equal to what is stored changes nothing; a PBX id given twice in one
 * batch ends as one call, its last record winning.
 */
export async function upsertCalls(tx: UpsertTx, accountId: number, calls: ResolvedCall[], createdAt: number): Promise<UpsertResult[]> {
  const tagNames = new Map<string, string>();
  for (const call of calls) for (const name of call.tagNames ?? []) tagNames.set(tagNameKey(name), name.trim());
  const tagIdsByKey = tagNames.size ? await tx.ensureTags(accountId, tagNames) : new Map<string, number>();
  const tagIdsOf = (call: ResolvedCall, current: number[]): number[] =>
    call.tagNames === undefined
      ? current
      : [...new Set(call.tagNames.map((n) => tagIdsByKey.get(tagNameKey(n))!))].sort((a, b) => a - b);

  const stored = await tx.findCalls(accountId, [...new Set(calls.map((c) => c.pbxId))]);
  // The state of each PBX id as the batch goes: what is stored, or what will be inserted.
  const state = new Map<string, { stored: StoredCall | null; call: ResolvedCall; values: ColumnValues; tagIds: number[]; dirty: boolean }>();
  const outcomes: Array<{ pbxId: string; outcome: UpsertOutcome }> = [];
  for (const call of calls) {
    const values = valuesOf(call);
    let current = state.get(call.pbxId);
    if (!current) {
      const found = stored.get(call.pbxId) ?? null;
      if (!found) {
        state.set(call.pbxId, { stored: null, call, values, tagIds: tagIdsOf(call, []), dirty: true });
        outcomes.push({ pbxId: call.pbxId, outcome: 'created' });
        continue;
      }
      current = { stored: found, call, values: found.values, tagIds: found.tagIds, dirty: false };
      state.set(call.pbxId, current);
    }
    const tagIds = tagIdsOf(call, current.tagIds);
    const changed = !sameValues(current.values, values) || !sameTags(current.tagIds, tagIds);
    if (changed) Object.assign(current, { call, values, tagIds, dirty: true });
    outcomes.push({ pbxId: call.pbxId, outcome: changed ? 'updated' : 'unchanged' });
  }

  const toInsert: Array<NewCallRow & { pbxId: string }> = [];
  const toUpdate: Array<{ id: number; values: ColumnValues; tagIds: number[]; before: StoredCall }> = [];
  for (const [pbxId, s] of state) {
    if (!s.stored) toInsert.push({ pbxId, call: s.call, tagIds: s.tagIds });
    else if (s.dirty) toUpdate.push({ id: s.stored.id, values: s.values, tagIds: s.tagIds, before: s.stored });
  }
  const ids = new Map<string, number>();
  for (const [pbxId, s] of state) if (s.stored) ids.set(pbxId, s.stored.id);
  if (toInsert.length) {
    const newIds = await tx.calls.insert(accountId, toInsert, createdAt);
    toInsert.forEach((row, i) => ids.set(row.pbxId, newIds[i]!));
  }
  if (toUpdate.length) {
    await tx.updateCalls(accountId, toUpdate);
    // Tag rows carry the call's start time: rewritten only when the tags or that time changed.
    const retag = toUpdate.filter((u) => !sameTags(u.before.tagIds, u.tagIds) || u.before.values.start_time !== u.values.start_time);
    if (retag.length) await tx.rewriteTags(accountId, retag.map((u) => ({ id: u.id, tagIds: u.tagIds, startTime: u.values.start_time as number })));
  }
  return outcomes.map(({ pbxId, outcome }) => ({ id: ids.get(pbxId)!, outcome }));
}

/** How many statements a SQLite writer keeps prepared at most. */
const MAX_PREPARED = 200;

/** SQLite: prepared statements on the one connection, which the caller holds with a write transaction open. */
export class SqliteUpsertTx implements UpsertTx {
  private readonly statements: StatementCache;
  readonly calls: CallRowWriter;
  constructor(sqlite: SqliteDatabase.Database) {
    this.statements = new StatementCache(sqlite, MAX_PREPARED);
    this.calls = new SqliteCallRows(sqlite);
  }

  readonly run: ExecuteQuery = async (query) => {
    // Live events run the same few queries (the account's webhook subscriptions,
    // its delivery insert) for every request: kept prepared.
    const statement = this.prepare(query.sql);
    if (statement.reader) return statement.all(...(query.parameters as unknown[]));
    statement.run(...(query.parameters as unknown[]));
    return [];
  };

  private prepare(text: string): SqliteDatabase.Statement {
    return this.statements.get(text);
  }

  async findCalls(accountId: number, pbxIds: string[]): Promise<Map<string, StoredCall>> {
    const rows = this.prepare(
      `SELECT id, pbx_id, ${COLUMNS.join(', ')} FROM calls
       WHERE account_id = ? AND pbx_id IN (SELECT value FROM json_each(?))`,
    ).all(accountId, JSON.stringify(pbxIds)) as Array<ColumnValues & { id: number; pbx_id: string }>;
    const found = new Map<string, StoredCall>();
    if (!rows.length) return found;
    const tagRows = this.prepare(
      `SELECT call_id, tag_id FROM call_tags WHERE account_id = ? AND call_id IN (SELECT value FROM json_each(?)) ORDER BY call_id, tag_id`,
    ).all(accountId, JSON.stringify(rows.map((r) => r.id))) as Array<{ call_id: number; tag_id: number }>;
    const tags = groupTags(tagRows);
    for (const { id, pbx_id, ...values } of rows) found.set(pbx_id, { id, values, tagIds: tags.get(id) ?? [] });
    return found;
  }

  async ensureTags(accountId: number, tags: Map<string, string>): Promise<Map<string, number>> {
    const now = Math.floor(Date.now() / 1000);
    const insert = this.prepare(
      `INSERT INTO tags (account_id, name, name_key, color, description, created_at, updated_at)
       VALUES (?, ?, ?, ?, NULL, ?, ?) ON CONFLICT DO NOTHING`,
    );
    for (const [key, name] of tags) insert.run(accountId, name, key, DEFAULT_TAG_COLOR, now, now);
    const rows = this.prepare(`SELECT id, name_key FROM tags WHERE account_id = ? AND name_key IN (SELECT value FROM json_each(?))`).all(
      accountId,
      JSON.stringify([...tags.keys()]),
    ) as Array<{ id: number; name_key: string }>;
    return new Map(rows.map((r) => [r.name_key, r.id]));
  }

  async updateCalls(accountId: number, rows: Array<{ id: number; values: ColumnValues }>): Promise<void> {
    const update = this.prepare(`UPDATE calls SET ${COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE account_id = ? AND id = ?`);
    for (const row of rows) update.run(...COLUMNS.map((c) => row.values[c]), accountId, row.id);
  }

  async rewriteTags(accountId: number, rows: Array<{ id: number; tagIds: number[]; startTime: number }>): Promise<void> {
    const remove = this.prepare(`DELETE FROM call_tags WHERE account_id = ? AND call_id = ?`);
    const insert = this.prepare(`INSERT OR IGNORE INTO call_tags (account_id, call_id, tag_id, start_time) VALUES (?, ?, ?, ?)`);
    for (const row of rows) {
      remove.run(accountId, row.id);
      for (const tagId of row.tagIds) insert.run(accountId, row.id, tagId, row.startTime);
    }
  }

  async phones(accountId: number): Promise<PhoneRef[]> {
    return (this.prepare(`SELECT id, employee_id, number, internal_number FROM phones WHERE account_id = ?`).all(accountId) as PhoneRow[]).map(toPhoneRef);
  }

  /** The caller's write transaction (BEGIN IMMEDIATE) already excludes every other writer. */
  async lockPbxIds(): Promise<void> {}

  async insertEvents(accountId: number, rows: EventRow[]): Promise<Set<string>> {
    const insert = this.prepare(
      `INSERT INTO pbx_events (account_id, pbx_id, event_key, event, event_time, payload, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
    const fresh = new Set<string>();
    for (const r of rows) if (insert.run(accountId, r.pbxId, r.key, r.event, r.time, r.payload, r.receivedAt).changes) fresh.add(r.key);
    return fresh;
  }

  async existingPbxIds(accountId: number, pbxIds: string[]): Promise<string[]> {
    const rows = this.prepare(`SELECT pbx_id FROM calls WHERE account_id = ? AND pbx_id IN (SELECT value FROM json_each(?))`).all(
      accountId,
      JSON.stringify(pbxIds),
    ) as Array<{ pbx_id: string }>;
    return rows.map((r) => r.pbx_id);
  }

  async eventsOf(accountId: number, pbxIds: string[]): Promise<Array<{ pbx_id: string; payload: string }>> {
    return this.prepare(
      `SELECT pbx_id, payload FROM pbx_events WHERE account_id = ? AND pbx_id IN (SELECT value FROM json_each(?)) ORDER BY event_time, event_key`,
    ).all(accountId, JSON.stringify(pbxIds)) as Array<{ pbx_id: string; payload: string }>;
  }
}

/** PostgreSQL: a batch is a handful of statements over column arrays, on a client the caller holds in a transaction. */
export class PostgresUpsertTx implements UpsertTx {
  readonly calls: CallRowWriter;
  private readonly query: PgQuery;
  constructor(private readonly client: pg.PoolClient) {
    this.query = async <R>(text: string, parameters: unknown[]) => (await client.query(text, parameters)).rows as R[];
    this.calls = new PostgresCallRows(this.query);
  }

  readonly run: ExecuteQuery = async (query) => (await this.client.query(query.sql, query.parameters as unknown[])).rows;

  async findCalls(accountId: number, pbxIds: string[]): Promise<Map<string, StoredCall>> {
    // Locked, so that two writers of one call take turns instead of losing an update.
    const { rows } = await this.client.query<ColumnValues & { id: number; pbx_id: string }>(
      `SELECT id, pbx_id, ${COLUMNS.join(', ')} FROM calls
       WHERE account_id = $1 AND pbx_id = ANY($2::text[]) ORDER BY id FOR UPDATE`,
      [accountId, pbxIds],
    );
    const found = new Map<string, StoredCall>();
    if (!rows.length) return found;
    const { rows: tagRows } = await this.client.query<{ call_id: number; tag_id: number }>(
      `SELECT call_id, tag_id FROM call_tags WHERE account_id = $1 AND call_id = ANY($2::bigint[]) ORDER BY call_id, tag_id`,
      [accountId, rows.map((r) => r.id)],
    );
    const tags = groupTags(tagRows);
    for (const { id, pbx_id, ...values } of rows) found.set(pbx_id, { id, values, tagIds: tags.get(id) ?? [] });
    return found;
  }

  async ensureTags(accountId: number, tags: Map<string, string>): Promise<Map<string, number>> {
    const now = Math.floor(Date.now() / 1000);
    await this.client.query(
      `INSERT INTO tags (account_id, name, name_key, color, created_at, updated_at)
       SELECT $1, name, name_key, $4, $5, $5 FROM unnest($2::text[], $3::text[]) AS t(name, name_key)
       ON CONFLICT DO NOTHING`,
      [accountId, [...tags.values()], [...tags.keys()], DEFAULT_TAG_COLOR, now],
    );
    const { rows } = await this.client.query<{ id: number; name_key: string }>(
      `SELECT id, name_key FROM tags WHERE account_id = $1 AND name_key = ANY($2::text[])`,
      [accountId, [...tags.keys()]],
    );
    return new Map(rows.map((r) => [r.name_key, r.id]));
  }

  async updateCalls(accountId: number, rows: Array<{ id: number; values: ColumnValues }>): Promise<void> {
    const sets = COLUMNS.map((c) => `${c} = v.${c}`).join(', ');
    const casts = COLUMNS.map((c, i) => `$${i + 3}::${pgTypeOf(c)}[]`).join(', ');
    await this.client.query(
      `UPDATE calls SET ${sets}
       FROM unnest($2::bigint[], ${casts}) AS v(id, ${COLUMNS.join(', ')})
       WHERE calls.account_id = $1 AND calls.id = v.id`,
      [accountId, rows.map((r) => r.id), ...COLUMNS.map((c) => rows.map((r) => r.values[c]))],
    );
  }

  async rewriteTags(accountId: number, rows: Array<{ id: number; tagIds: number[]; startTime: number }>): Promise<void> {
    await this.client.query(`DELETE FROM call_tags WHERE account_id = $1 AND call_id = ANY($2::bigint[])`, [accountId, rows.map((r) => r.id)]);
    await insertPostgresTags(this.query, accountId, rows);
  }

  async phones(accountId: number): Promise<PhoneRef[]> {
    const { rows } = await this.client.query<PhoneRow>(`SELECT id, employee_id, number, internal_number FROM phones WHERE account_id = $1`, [accountId]);
    return rows.map(toPhoneRef);
  }

  /** Transaction-scoped advisory locks, taken in one order so that two batches never wait on each other in a cycle. */
  async lockPbxIds(accountId: number, pbxIds: string[]): Promise<void> {
    const keys = [...new Set(pbxIds)].sort().map((id) => `${accountId}:${id}`);
    await this.client.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS t(k)`, [keys]);
  }

  async insertEvents(accountId: number, rows: EventRow[]): Promise<Set<string>> {
    const { rows: inserted } = await this.client.query<{ event_key: string }>(
      `INSERT INTO pbx_events (account_id, pbx_id, event_key, event, event_time, payload, received_at)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[])
       ON CONFLICT DO NOTHING RETURNING event_key`,
      [accountId, rows.map((r) => r.pbxId), rows.map((r) => r.key), rows.map((r) => r.event), rows.map((r) => r.time), rows.map((r) => r.payload), rows.map((r) => r.receivedAt)],
    );
    return new Set(inserted.map((r) => r.event_key));
  }

  async existingPbxIds(accountId: number, pbxIds: string[]): Promise<string[]> {
    const { rows } = await this.client.query<{ pbx_id: string }>(`SELECT pbx_id FROM calls WHERE account_id = $1 AND pbx_id = ANY($2::text[])`, [accountId, pbxIds]);
    return rows.map((r) => r.pbx_id);
  }

  async eventsOf(accountId: number, pbxIds: string[]): Promise<Array<{ pbx_id: string; payload: string }>> {
    const { rows } = await this.client.query<{ pbx_id: string; payload: string }>(
      `SELECT pbx_id, payload FROM pbx_events WHERE account_id = $1 AND pbx_id = ANY($2::text[]) ORDER BY event_time, event_key`,
      [accountId, pbxIds],
    );
    return rows;
  }
}

interface PhoneRow {
  id: number;
  employee_id: number | null;
  number: string;
  internal_number: number | null;
}

const toPhoneRef = (r: PhoneRow): PhoneRef => ({
  id: Number(r.id),
  employeeId: r.employee_id === null ? null : Number(r.employee_id),
  number: r.number,
  internalNumber: r.internal_number,
});

function groupTags(rows: Array<{ call_id: number; tag_id: number }>): Map<number, number[]> {
  const byCall = new Map<number, number[]>();
  for (const { call_id, tag_id } of rows) {
    const id = Number(call_id);
    let list = byCall.get(id);
    if (!list) byCall.set(id, (list = []));
    list.push(Number(tag_id));
  }
  return byCall;
}
