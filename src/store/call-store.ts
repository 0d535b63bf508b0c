import { CompiledQuery, sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { CallResource } from '../domain/call.js';
import type { CallFilter, SearchTerm } from '../domain/call-filters.js';
import type { Position } from '../domain/cursor.js';
import { NotFoundError } from '../domain/errors.js';
import { CALL_COLUMNS, callFields, FIELD_SOURCES, toCallResource, type CallColumn, type CallSelection, type CallTags } from './call-resource.js';
import { rowViewOf } from './call-row-view.js';
import { callRowId, callRowStartTime, type CallRowArray } from './call-json.js';
import type { Connection, Engine } from './engine.js';
import type { Guarded } from './guarded.js';
import type { Database } from './schema.js';
import { StatementCache } from './statement-cache.js';

/** A page of the list as array rows, for callsJson. */
export interface CallRowPage {
  rows: CallRowArray[];
  tags: Map<number, CallTags>;
  /** Where the next page starts, or null on the last page. */
  next: Position | null;
}

/** SQLite statements the list keeps prepared, at most. */
const STATEMENT_CACHE_SIZE = 64;

export interface CallPage {
  calls: CallResource[];
  /** Where the next page starts, or null on the last page. */
  next: Position | null;
}

/** Above this many index hits, a substring search scans the window in list order instead. */
const SEARCH_INDEX_CAP = 20000;

/** Calls per export batch: small on SQLite, whose reads block the event loop while they run. */
const SQLITE_EXPORT_BATCH = 500;
const POSTGRES_EXPORT_BATCH = 5000;

/** Escapes a LIKE pattern's own wildcards; the queries use `ESCAPE '\'`. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The call history's reads: one call, a page of the list, an export, each as
 * the API serves calls. The list and the export share one query, so that an
 * export is exactly the list's pages.
 */
export class CallStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly engine: Engine,
    private readonly guarded: Guarded,
    /**
     * The driver under Kysely: the list and the export read array rows through
     * it. A store made without it (tests of the plain path) reads everything
     * through Kysely.
     */
    private readonly raw: Partial<Pick<Connection, 'sqlite' | 'pool'>> = {},
  ) {}

  private sqliteStatements: StatementCache | null = null;

  /** The call with this id; NotFoundError('Call') when the account has none. */
  async get(accountId: number, id: number): Promise<CallResource> {
    const call = await this.find(accountId, id);
    if (!call) throw new NotFoundError('Call');
    return call;
  }

  /** The call with this id, or null: for callers to whom a missing call is a normal answer. */
  async find(accountId: number, id: number): Promise<CallResource | null> {
    return this.guarded(async () => {
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
  async list(accountId: number, filter: CallFilter, limit: number, after: Position | null): Promise<CallPage> {
    return this.guarded(async () => {
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
   * One page of calls as the list serves them, read as arrays (values in
   * CALL_COLUMNS order) for callsJson to write straight to JSON: the list's hot
   * path, with no object per row between the driver and the response. The
   * same query and the same calls as list().
   */
  async listRows(accountId: number, filter: CallFilter, limit: number, after: Position | null): Promise<CallRowPage> {
    return this.guarded(async () => {
      const searchPlan = filter.search ? await this.planSearch(filter.search) : null;
      const compiled = this.callsQuery(accountId, filter, searchPlan, after, limit + 1, CALL_COLUMNS).compile();
      const rows = await this.arrayRows(compiled.sql, compiled.parameters);
      const hasMore = rows.length > limit;
      if (hasMore) rows.length = limit;
      const tags = await this.tagsOfCalls(accountId, rows.map(callRowId));
      const last = rows[rows.length - 1];
      return { rows, tags, next: hasMore && last ? { startTime: callRowStartTime(last), id: callRowId(last) } : null };
    });
  }

  /**
   * Runs a compiled statement and returns its rows as arrays. On SQLite each
   * statement is prepared once per store and kept by its text (the list's
   * texts are few: the filters vary the parameters, not the text, but for
   * which filters are present); on PostgreSQL the pool runs it with array rows.
   */
  private async arrayRows(text: string, parameters: readonly unknown[]): Promise<CallRowArray[]> {
    if (this.raw.sqlite) {
      this.sqliteStatements ??= new StatementCache(this.raw.sqlite, STATEMENT_CACHE_SIZE);
      return this.sqliteStatements.get(text).raw(true).all(parameters) as CallRowArray[];
    }
    if (!this.raw.pool) {
      // Made without its driver: read through Kysely; a row's values keep the select's column order.
      const result = await this.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...parameters]));
      return result.rows.map((row) => Object.values(row)) as CallRowArray[];
    }
    const result = await this.raw.pool.query({ text, values: parameters as unknown[], rowMode: 'array' });
    return result.rows as CallRowArray[];
  }

  /**
   * Up to `limit` rows of the calls a filter selects, newest first (start_time,
   * then id, descending), after `after` when given: the one query behind both
   * list and export, so that an export is exactly the list's pages.
   * With `columns`, the rows hold those columns only.
   */
  private async selectCalls(
    accountId: number,
    filter: CallFilter,
    searchPlan: (() => Expression<SqlBool>) | null,
    after: Position | null,
    limit: number,
    columns: readonly CallColumn[] = CALL_COLUMNS,
  ): Promise<CallSelection[]> {
    return (await this.callsQuery(accountId, filter, searchPlan, after, limit, columns).execute()) as CallSelection[];
  }

  /** The query behind selectCalls, not yet run. */
  private callsQuery(
    accountId: number,
    filter: CallFilter,
    searchPlan: (() => Expression<SqlBool>) | null,
    after: Position | null,
    limit: number,
    columns: readonly CallColumn[],
  ) {
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
    return query.orderBy(ref(time), 'desc').orderBy(ref(key), 'desc').limit(limit);
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
  async *export<F extends keyof CallResource = keyof CallResource>(
    accountId: number,
    filter: CallFilter,
    batchSize = this.engine === 'sqlite' ? SQLITE_EXPORT_BATCH : POSTGRES_EXPORT_BATCH,
    fields?: readonly F[],
  ): AsyncGenerator<Array<Pick<CallResource, F>>, void, undefined> {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, not ${batchSize}`);
    const chosen = fields ? [...new Set(fields)] : null;
    // The keyset needs id and start_time whatever is asked.
    const columns = chosen ? [...new Set<CallColumn>(['id', 'start_time', ...chosen.flatMap((field) => FIELD_SOURCES[field].columns)])] : CALL_COLUMNS;
    const withTags = !chosen || chosen.includes('tags' as F);
    // Planned once: the plan only picks an index, and the first answer holds for the whole walk.
    const searchPlan = filter.search ? await this.guarded(() => this.planSearch(filter.search!)) : null;
    const readBatch = this.exportBatchReader(accountId, columns);
    let after: Position | null = null;
    for (;;) {
      const position = after;
      const batch = await this.guarded(async () => {
        const rows = await readBatch.calls(filter, searchPlan, position, batchSize);
        const tags = withTags ? await readBatch.tags(rows.map((r) => r.id)) : new Map<number, CallTags>();
        const calls = rows.map((row) => {
          const callTags = tags.get(row.id) ?? [];
          return chosen ? callFields(row, callTags, chosen) : (toCallResource(row, callTags) as Pick<CallResource, F>);
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

  /**
   * How an export reads each batch: the list's own query through arrayRows
   * (on SQLite a statement the store keeps prepared, so one prepare for the
   * whole walk; rows as arrays on both engines), each row seen through a view
   * with the column names so that calls are built by the same mapping
   * (FIELD_SOURCES), and tagsOfCalls, which reads the same way.
   */
  private exportBatchReader(accountId: number, columns: readonly CallColumn[]) {
    const view = rowViewOf(columns);
    return {
      calls: async (filter: CallFilter, searchPlan: (() => Expression<SqlBool>) | null, after: Position | null, limit: number) => {
        const compiled = this.callsQuery(accountId, filter, searchPlan, after, limit, columns).compile();
        return (await this.arrayRows(compiled.sql, compiled.parameters)).map(view);
      },
      tags: (callIds: number[]) => this.tagsOfCalls(accountId, callIds),
    };
  }

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

  /** The tags of each call, by name. */
  private async tagsOfCalls(accountId: number, callIds: number[]): Promise<Map<number, CallTags>> {
    const byCall = new Map<number, CallTags>();
    if (callIds.length === 0) return byCall;
    const query = this.db
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
      .compile();
    // Through arrayRows: on SQLite the statement stays prepared between pages.
    for (const [callId, id, name] of (await this.arrayRows(query.sql, query.parameters)) as Array<[number, number, string]>) {
      let list = byCall.get(callId);
      if (!list) byCall.set(callId, (list = []));
      list.push({ id, name });
    }
    return byCall;
  }
}
