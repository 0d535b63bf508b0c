import type { DatabaseLocation } from './engine.js';

/**
 * Says, for a person, why the store could not be reached: where (host, port,
 * database and user for PostgreSQL, the file for SQLite) and the cause, in
 * words. Never the password: it is not part of what is printed.
 */

/** PostgreSQL answers that mean "you reached the server but may not use this database". */
export const PG_CONNECT_REFUSALS = new Set(['28P01', '28000', '3D000']);

export function describeStoreFailure(location: DatabaseLocation, error: unknown): string {
  const e = (error ?? {}) as { code?: unknown; message?: unknown; errno?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (location.engine === 'sqlite') return `cannot use the SQLite file ${location.path}: ${sqliteCause(code, message)}`;
  const where = pgWhere(location.url);
  return `cannot reach PostgreSQL at ${where.host}:${where.port} (database ${where.database}, user ${where.user}): ${pgCause(code, message, where)}`;
}

function pgWhere(url: string) {
  const parsed = new URL(url);
  const param = (name: string) => parsed.searchParams.get(name);
  return {
    host: param('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost'),
    port: param('port') ?? (parsed.port || '5432'),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || decodeURIComponent(parsed.username) || 'postgres',
    user: decodeURIComponent(parsed.username) || process.env.PGUSER || process.env.USER || 'postgres',
  };
}

function pgCause(code: string, message: string, where: ReturnType<typeof pgWhere>): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running, and on that port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host ${where.host}`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
      return 'no answer from the host (timed out)';
    case '28P01':
      return `authentication failed for user ${where.user} (wrong password?)`;
    case '28000':
      return `the server does not let user ${where.user} connect (${message})`;
    case '3D000':
      return `database ${where.database} does not exist (create it with: createdb ${where.database})`;
    default:
      if (/timeout exceeded when trying to connect/i.test(message)) return 'no answer from the host (timed out)';
      return redactPasswords(message);
  }
}

function sqliteCause(code: string, message: string): string {
  if (code === 'SQLITE_CANTOPEN') return 'cannot open it (does the folder exist, and may this user write there?)';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'another process holds its lock';
  if (code.startsWith('SQLITE_READONLY')) return 'it is read-only for this user';
  if (code.startsWith('SQLITE_FULL')) return 'the disk is full';
  return message;
}

/** Drivers sometimes quote the connection string: keep its password out of anything printed. */
export function redactPasswords(text: string): string {
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/gi, '$1***@');
}
