import { sql, type Kysely } from 'kysely';
import type { Engine } from '../engine.js';

/**
 * Calls started through the API (click-to-call) while they last. Each has the
 * id its call record gets once it ends, taken from the calls' own sequence, so
 * that GET /api/v2/calls/{id} follows it from the first ring to the record.
 * Times are Unix milliseconds: the steps of a call are seconds apart.
 */
export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  const statements = [
    `CREATE TABLE click_calls (
       account_id BIGINT NOT NULL REFERENCES accounts(id),
       id BIGINT NOT NULL,
       phone_id BIGINT NOT NULL,
       employee_id BIGINT,
       caller_number TEXT NOT NULL,
       target_number TEXT NOT NULL,
       status TEXT NOT NULL,
       failure TEXT,
       sip_code INTEGER,
       ended_by TEXT,
       started_at BIGINT NOT NULL,
       phone_answered_at BIGINT,
       answered_at BIGINT,
       ended_at BIGINT,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (account_id, id))`,
    // The calls in progress, for the per-account limit and for finishing the
    // calls of a process that died.
    `CREATE INDEX click_calls_active ON click_calls (account_id) WHERE ended_at IS NULL`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
