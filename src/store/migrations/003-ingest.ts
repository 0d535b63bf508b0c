import { sql, type Kysely } from 'kysely';
import type { Engine } from '../engine.js';

/**
 * Live call events from a PBX are kept as they arrive, keyed by what they say,
 * so that a repeated event is recognised and the events of one call can be
 * assembled again whatever order they came in. The outcome of each call is
 * looked up by PBX id, which already has its unique index on calls.
 */
export async function up(db: Kysely<any>, _engine: Engine): Promise<void> {
  const statements = [
    `CREATE TABLE pbx_events (
       account_id BIGINT NOT NULL REFERENCES accounts(id),
       pbx_id TEXT NOT NULL,
       event_key TEXT NOT NULL,
       event TEXT NOT NULL,
       event_time BIGINT NOT NULL,
       payload TEXT NOT NULL,
       received_at BIGINT NOT NULL,
       PRIMARY KEY (account_id, pbx_id, event_key))`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
