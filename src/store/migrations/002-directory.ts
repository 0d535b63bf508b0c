import { sql, type Kysely } from 'kysely';
import type { Engine } from '../engine.js';

/**
 * The directory becomes editable: an extension and a public number each
 * belong to one phone of an account, so that calls from a PBX map onto one
 * phone, and the API can list employees' phones and phones by status in order.
 */
export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  const statements = [
    `CREATE UNIQUE INDEX phones_unique_internal_number ON phones (account_id, internal_number) WHERE internal_number IS NOT NULL`,
    `DROP INDEX phones_by_number`,
    `CREATE UNIQUE INDEX phones_unique_number ON phones (account_id, number)`,
    `CREATE INDEX phones_by_status ON phones (account_id, status, id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
