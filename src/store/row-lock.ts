import { sql, type Transaction } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';

/**
 * Serialises read-modify-write transactions on one row. PostgreSQL locks the
 * row. SQLite has one writer at a time, but a transaction that reads first
 * and writes later fails when another wrote in between; starting with a write
 * (one that changes nothing) makes it wait its turn instead.
 */
export async function lockRow(trx: Transaction<Database>, engine: Engine, table: 'calls' | 'phones', accountId: number, id: number): Promise<void> {
  if (engine === 'postgres') {
    await sql`SELECT 1 FROM ${sql.table(table)} WHERE account_id = ${accountId} AND id = ${id} FOR UPDATE`.execute(trx);
  } else {
    await sql`UPDATE ${sql.table(table)} SET account_id = account_id WHERE account_id = ${accountId} AND id = ${id}`.execute(trx);
  }
}
