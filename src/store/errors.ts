import { StoreConflictError, StoreUnavailableError } from '../domain/errors.js';

const PG_UNAVAILABLE_CLASSES = ['08', '53', '57'];
const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);
const SQLITE_UNAVAILABLE = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL', 'SQLITE_READONLY'];

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
    return new StoreConflictError(error);
  }
  if (
    NODE_NETWORK_CODES.has(code) ||
    PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c) && code.length === 5) ||
    SQLITE_UNAVAILABLE.some((c) => code.startsWith(c)) ||
    /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|database connection is not open|driver has already been destroyed/i.test(
      message,
    )
  ) {
    return new StoreUnavailableError(error);
  }
  return error;
}
