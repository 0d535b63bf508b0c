import type SqliteDatabase from 'better-sqlite3';
import type { CallRow } from '../domain/call.js';
import { StoreConflictError } from '../domain/errors.js';

/**
 * The one writer of a call row: the column list, the values of a call in that
 * order, and the statement that inserts calls with their tags (and, on SQLite,
 * their row of the substring index). The demo's bulk insert, imports, PBX
 * events and click-to-call all write through here.
 */

/** The stored columns of a call that a writer fills and an upsert compares, in one order for every statement. */
export const CALL_ROW_COLUMNS = [
  'call_type', 'sip_status', 'sip_code', 'caller_number', 'caller_name', 'target_number', 'answered_phone_number',
  'phone_id', 'answered_phone_id', 'employee_id', 'wait_duration_sec', 'duration_sec', 'play_record_link',
  'registration_time', 'start_time', 'answered_time', 'end_time', 'search_numbers', 'search_name',
] as const;
export type CallRowColumn = (typeof CALL_ROW_COLUMNS)[number];
export type CallRowValues = Record<CallRowColumn, string | number | null>;

/** Written out field by field: this runs for every stored call, and a literal is several times faster than a loop over names. */
export function callRowValues(c: CallRow): CallRowValues {
  return {
    call_type: c.callType,
    sip_status: c.sipStatus,
    sip_code: c.sipCode,
    caller_number: c.callerNumber,
    caller_name: c.callerName,
    target_number: c.targetNumber,
    answered_phone_number: c.answeredPhoneNumber,
    phone_id: c.phoneId,
    answered_phone_id: c.answeredPhoneId,
    employee_id: c.employeeId,
    wait_duration_sec: c.waitDurationSec,
    duration_sec: c.durationSec,
    play_record_link: c.playRecordLink,
    registration_time: c.registrationTime,
    start_time: c.startTime,
    answered_time: c.answeredTime,
    end_time: c.endTime,
    search_numbers: c.searchNumbers,
    search_name: c.searchName,
  };
}

/** A call to store, with the ids of the tags it carries. */
export type NewCall = CallRow & { tagIds?: number[] };

/** A call to write: the call, the id it must have (else the table's sequence gives one), its tags. */
export interface NewCallRow {
  call: CallRow;
  id?: number;
  tagIds: readonly number[];
}

/**
 * A PBX id of the batch is already stored (PostgreSQL; on SQLite the caller
 * holds the write lock and the unique index answers). To an upsert it means
 * another writer inserted it first, and the batch is tried again.
 */
export class PbxIdTakenError extends Error {}

/** Writes calls inside a transaction the caller holds, on one engine. */
export interface CallRowWriter {
  /** Inserts the calls and their tags; returns their ids in order. */
  insert(accountId: number, rows: readonly NewCallRow[], createdAt: number): Promise<number[]>;
}

/** Inserts calls whose PBX ids must be new: one already stored is a conflict on either engine. */
export async function insertNewCalls(writer: CallRowWriter, accountId: number, rows: readonly NewCallRow[], createdAt: number): Promise<number[]> {
  try {
    return await writer.insert(accountId, rows, createdAt);
  } catch (error) {
    if (error instanceof PbxIdTakenError) throw new StoreConflictError(error, 'calls.pbx_id');
    throw error;
  }
}

const INSERT_COLUMNS = `account_id, id, pbx_id, ${CALL_ROW_COLUMNS.join(', ')}, created_at`;
const INSERT_COLUMNS_BUT_ID = `account_id, pbx_id, ${CALL_ROW_COLUMNS.join(', ')}, created_at`;

/** SQLite: prepared statements on the one connection, inside the caller's write transaction. */
export class SqliteCallRows implements CallRowWriter {
  private statements: {
    call: SqliteDatabase.Statement;
    tag: SqliteDatabase.Statement;
    searchRange: SqliteDatabase.Statement;
    searchOne: SqliteDatabase.Statement;
  } | null = null;

  constructor(private readonly sqlite: SqliteDatabase.Database) {}

  private prepared() {
    return (this.statements ??= {
      call: this.sqlite.prepare(`INSERT INTO calls (${INSERT_COLUMNS}) VALUES (${new Array(CALL_ROW_COLUMNS.length + 4).fill('?').join(', ')})`),
      tag: this.sqlite.prepare(`INSERT OR IGNORE INTO call_tags (account_id, call_id, tag_id, start_time) VALUES (?, ?, ?, ?)`),
      // The substring index is filled by the writer on SQLite (see 001-initial).
      searchRange: this.sqlite.prepare(
        `INSERT INTO calls_search (rowid, search_numbers, search_name)
         SELECT id, search_numbers, search_name FROM calls WHERE id >= ? AND id <= ?`,
      ),
      searchOne: this.sqlite.prepare(`INSERT INTO calls_search (rowid, search_numbers, search_name) VALUES (?, ?, ?)`),
    });
  }

  async insert(accountId: number, rows: readonly NewCallRow[], createdAt: number): Promise<number[]> {
    if (rows.length === 0) return [];
    const statements = this.prepared();
    const ids: number[] = [];
    let given = false;
    for (const { call, id, tagIds } of rows) {
      if (id !== undefined) given = true;
      // callRowValues's columns, in order, as positional parameters: no object per row on the bulk path.
      const c = call;
      const newId = Number(
        statements.call.run(
          accountId, id ?? null, c.pbxId, c.callType, c.sipStatus, c.sipCode, c.callerNumber, c.callerName, c.targetNumber,
          c.answeredPhoneNumber, c.phoneId, c.answeredPhoneId, c.employeeId, c.waitDurationSec, c.durationSec, c.playRecordLink,
          c.registrationTime, c.startTime, c.answeredTime, c.endTime, c.searchNumbers, c.searchName, createdAt,
        ).lastInsertRowid,
      );
      ids.push(newId);
      for (const tagId of tagIds) statements.tag.run(accountId, newId, tagId, call.startTime);
    }
    // Ids the table gave are consecutive, because the caller holds the write lock:
    // then the batch reaches the substring index in one statement.
    if (!given || rows.length === 1) statements.searchRange.run(ids[0], ids[ids.length - 1]);
    else rows.forEach(({ call }, i) => statements.searchOne.run(ids[i], call.searchNumbers, call.searchName));
    return ids;
  }
}

const PG_TYPES: Record<CallRowColumn, string> = {
  call_type: 'text', sip_status: 'text', sip_code: 'int', caller_number: 'text', caller_name: 'text',
  target_number: 'text', answered_phone_number: 'text', phone_id: 'bigint', answered_phone_id: 'bigint',
  employee_id: 'bigint', wait_duration_sec: 'int', duration_sec: 'int', play_record_link: 'text',
  registration_time: 'bigint', start_time: 'bigint', answered_time: 'bigint', end_time: 'bigint',
  search_numbers: 'text', search_name: 'text',
};
export const pgTypeOf = (column: CallRowColumn): string => PG_TYPES[column];


/** Runs one statement with positional parameters on the client or transaction the caller holds. */
export type PgQuery = <R>(text: string, parameters: unknown[]) => Promise<R[]>;

/**
 * PostgreSQL: one statement over column arrays through `unnest`. Ids come from
 * the table's own sequence first, so that the tags are linked without reading
 * the rows back. A PBX id already stored skips its row, and the batch fails
 * with PbxIdTakenError.
 */
export class PostgresCallRows implements CallRowWriter {
  constructor(private readonly query: PgQuery) {}

  async insert(accountId: number, rows: readonly NewCallRow[], createdAt: number): Promise<number[]> {
    if (rows.length === 0) return [];
    // Every row new and named by its PBX id (an import's batch): the sequence
    // gives the ids inside the INSERT, read back by PBX id, one round trip fewer.
    if (rows.every((r) => r.id === undefined && r.call.pbxId != null) && new Set(rows.map((r) => r.call.pbxId)).size === rows.length) {
      return this.insertByPbxId(accountId, rows, createdAt);
    }
    const missing = rows.filter((r) => r.id === undefined).length;
    const fresh = missing
      ? (await this.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('calls', 'id')) AS id FROM generate_series(1, $1)`, [missing])).map((r) => Number(r.id))
      : [];
    let next = 0;
    const ids = rows.map((r) => r.id ?? fresh[next++]!);
    const values = rows.map((r) => callRowValues(r.call));
    const casts = CALL_ROW_COLUMNS.map((c, i) => `$${i + 5}::${PG_TYPES[c]}[]`).join(', ');
    const inserted = await this.query<{ id: number }>(
      `INSERT INTO calls (${INSERT_COLUMNS})
       SELECT $1, *, $2 FROM unnest($3::bigint[], $4::text[], ${casts})
       ON CONFLICT (account_id, pbx_id) WHERE pbx_id IS NOT NULL DO NOTHING
       RETURNING id`,
      [accountId, createdAt, ids, rows.map((r) => r.call.pbxId), ...CALL_ROW_COLUMNS.map((c) => values.map((v) => v[c]))],
    );
    if (inserted.length !== rows.length) throw new PbxIdTakenError('a PBX id of this batch is already stored');
    await insertPostgresTags(this.query, accountId, rows.map((r, i) => ({ id: ids[i]!, tagIds: r.tagIds, startTime: r.call.startTime })));
    return ids;
  }

  private async insertByPbxId(accountId: number, rows: readonly NewCallRow[], createdAt: number): Promise<number[]> {
    const values = rows.map((r) => callRowValues(r.call));
    const casts = CALL_ROW_COLUMNS.map((c, i) => `$${i + 4}::${PG_TYPES[c]}[]`).join(', ');
    const inserted = await this.query<{ id: number; pbx_id: string }>(
      `INSERT INTO calls (${INSERT_COLUMNS_BUT_ID})
       SELECT $1, *, $2 FROM unnest($3::text[], ${casts})
       ON CONFLICT (account_id, pbx_id) WHERE pbx_id IS NOT NULL DO NOTHING
       RETURNING id, pbx_id`,
      [accountId, createdAt, rows.map((r) => r.call.pbxId), ...CALL_ROW_COLUMNS.map((c) => values.map((v) => v[c]))],
    );
    if (inserted.length !== rows.length) throw new PbxIdTakenError('a PBX id of this batch is already stored');
    const byPbxId = new Map(inserted.map((r) => [r.pbx_id, Number(r.id)]));
    const ids = rows.map((r) => byPbxId.get(r.call.pbxId!)!);
    await insertPostgresTags(this.query, accountId, rows.map((r, i) => ({ id: ids[i]!, tagIds: r.tagIds, startTime: r.call.startTime })));
    return ids;
  }
}

/** Links calls to tags, stamped with each call's start time so that tag filters walk in list order. */
export async function insertPostgresTags(
  query: PgQuery,
  accountId: number,
  rows: ReadonlyArray<{ id: number; tagIds: readonly number[]; startTime: number }>,
): Promise<void> {
  const callIds: number[] = [], tagIds: number[] = [], times: number[] = [];
  for (const row of rows) {
    for (const tagId of new Set(row.tagIds)) {
      callIds.push(row.id);
      tagIds.push(tagId);
      times.push(row.startTime);
    }
  }
  if (!callIds.length) return;
  await query(
    `INSERT INTO call_tags (account_id, call_id, tag_id, start_time)
     SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) ON CONFLICT DO NOTHING`,
    [accountId, callIds, tagIds, times],
  );
}
