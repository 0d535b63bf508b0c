import type SqliteDatabase from 'better-sqlite3';

/**
 * SQLite statements kept prepared on one connection, by their SQL text, for
 * queries that run again and again (a page of the list, an event's writes):
 * preparing is a parse and a plan each time, often more than the query. Texts
 * that change with a batch's size would grow the set without end, so when it
 * holds `max` texts it starts over: a text is cheap to prepare again.
 */
export class StatementCache {
  private readonly statements = new Map<string, SqliteDatabase.Statement>();

  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    private readonly max: number,
  ) {}

  /** The statement for this text, prepared at its first use. */
  get(text: string): SqliteDatabase.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      if (this.statements.size >= this.max) this.statements.clear();
      statement = this.sqlite.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }
}
