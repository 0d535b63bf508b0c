import { StoreConflictError, StoreUnavailableError } from '../domain/errors.js';

const PG_UNAVAILABLE_CLASSES = ['08', '53', '57'];
/** A write sent to a read-only server: a replica, or a primary being demoted in a failover. */
const PG_READ_ONLY = '25006';
const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);
const SQLITE_UNAVAILABLE = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_READONLY'];

/**
 * Names the rule a write broke as `table.column`: PostgreSQL gives the index
 * (`tags_unique_name`), SQLite the columns (`tags.account_id, tags.name_key`).
 */
function conflictTarget(error: { constraint?: unknown }, message: string): string | null {
  const index = typeof error.constraint === 'string' ? /^(\w+?)_unique_(\w+)$/.exec(error.constraint) : null;
  if (index) return `${index[1]}.${index[2]}`;
  const columns = /UNIQUE constraint failed: (.+)$/.exec(message)?.[1]?.split(',').map((c) => c.trim());
  const last = columns?.[columns.length - 1];
  return last ? last.replace(/_key$/, '') : null;
}

/**
 * Maps a driver error onto the domain: a database that cannot be reached becomes
 * StoreUnavailableError (503), a uniqueness violation StoreConflictError (409);
 * anything else is a bug and stays as it is.
 */
export function mapStoreError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || error instanceof StoreConflictError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (code === '23505' || code.startsWith('SQLITE_CONSTRAINT_UNIQUE') || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new StoreConflictError(error, conflictTarget(error as { constraint?: unknown }, message));
  }
  if (
    NODE_NETWORK_CODES.has(code) ||
    code === PG_READ_ONLY ||
    PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c) && code.length === 5) ||
    SQLITE_UNAVAILABLE.some((c) => code.startsWith(c)) ||
    /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|database connection is not open|driver has already been destroyed|Cannot use a pool after calling end/i.test(
      message,
    )
  ) {
    return new StoreUnavailableError(error);
  }
  return error;
}
