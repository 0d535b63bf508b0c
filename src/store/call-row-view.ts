import type SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { CallColumn, CallSelection, CallTags } from './call-resource.js';
import type { Database } from './schema.js';

/**
 * What makes a long SQLite export cheap to read: its statements prepared once
 * for the whole walk instead of once per batch, and its rows read as arrays.
 * A million rows as objects cost better-sqlite3 more than the query itself
 * (one object and seventeen named properties per row), and a batch of 500
 * calls made two statements to prepare, thousands of times over.
 */

/**
 * A Kysely over the store's own SQLite connection for one export: each
 * distinct SQL text is prepared once, and the rows of a query come back as
 * arrays of its selected columns, in the order selected. Only the export's
 * keyset query runs through it, so that the export still reads the very query
 * the list reads. Never destroyed: the connection belongs to the store.
 */
export function rawRowsKysely(sqlite: SqliteDatabase.Database): Kysely<Database> {
  const statements = new Map<string, SqliteDatabase.Statement>();
  const database = {
    close() {},
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statement.reader) statement.raw(true);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
  return new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
}

/**
 * A row array seen as the CallSelection it stands for, so that the one
 * mapping from a row to a call (FIELD_SOURCES) builds the call from it. Each
 * column is a getter on a shared prototype reading its index: one small object
 * per row instead of a copy of every column.
 */
export function rowViewOf(columns: readonly CallColumn[]): (row: unknown[]) => CallSelection {
  const prototype: Record<string, unknown> = {};
  columns.forEach((column, index) => {
    Object.defineProperty(prototype, column, {
      get(this: { row: unknown[] }) {
        return this.row[index];
      },
    });
  });
  function RowView(this: { row: unknown[] }, row: unknown[]) {
    this.row = row;
  }
  RowView.prototype = prototype;
  const View = RowView as unknown as new (row: unknown[]) => CallSelection;
  return (row) => new View(row);
}

/**
 * The tags of each call of a batch, by name, as CallStore's tagsOfCalls reads
 * them (the same join, filter and order), prepared once for the export and
 * read as arrays. The ids go as one JSON parameter, so that the statement is
 * the same whatever the batch.
 */
export function sqliteTagsOfCalls(sqlite: SqliteDatabase.Database, accountId: number): (callIds: number[]) => Map<number, CallTags> {
  const tagsSql = `SELECT call_tags.call_id, tags.id, tags.name
      FROM call_tags
      INNER JOIN tags ON tags.account_id = call_tags.account_id AND tags.id = call_tags.tag_id
     WHERE call_tags.account_id = ?
       AND call_tags.call_id IN (SELECT value FROM json_each(?))
     ORDER BY tags.name`;
  let statement: SqliteDatabase.Statement | null = null;
  return (callIds) => {
    const byCall = new Map<number, CallTags>();
    if (callIds.length === 0) return byCall;
    // Prepared at the first batch: an export without tags never asks.
    statement ??= sqlite.prepare(tagsSql).raw(true);
    for (const [callId, id, name] of statement.all(accountId, JSON.stringify(callIds)) as Array<[number, number, string]>) {
      let list = byCall.get(callId);
      if (!list) byCall.set(callId, (list = []));
      list.push({ id, name });
    }
    return byCall;
  };
}
