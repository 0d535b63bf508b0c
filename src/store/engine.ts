import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export type Engine = 'sqlite' | 'postgres';

export const DEFAULT_DATABASE_URL = 'sqlite:./data/sipsim.db';

export type DatabaseLocation = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/** `sqlite:PATH` (or `sqlite::memory:`) or a `postgres://` / `postgresql://` URL. */
export function parseDatabaseUrl(url: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(url)) return { engine: 'postgres', url };
  const m = /^sqlite:(?:\/\/)?(.+)$/i.exec(url);
  if (m) return { engine: 'sqlite', path: m[1] === ':memory:' ? ':memory:' : resolve(m[1]!) };
  throw new Error(`Unsupported database URL '${url}': use sqlite:PATH or postgres://USER@HOST/DB`);
}

export interface Connection {
  engine: Engine;
  db: Kysely<Database>;
  /** The raw better-sqlite3 handle (SQLite only), for bulk loads. */
  sqlite?: SqliteDatabase.Database;
  /** The raw pool (PostgreSQL only), for bulk loads. */
  pool?: pg.Pool;
}

// PostgreSQL returns BIGINT as text by default; every id and time here fits a double.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * The store holds webhook signing secrets and the page-token key: a new file
 * (and a new folder for it) is readable by its owner only, whatever the umask.
 * SQLite gives its -wal and -shm files the database file's own permissions.
 * A file that exists already keeps the permissions its owner gave it.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
    chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export function connect(location: DatabaseLocation, options: { poolSize?: number } = {}): Connection {
  if (location.engine === 'sqlite') {
    if (location.path !== ':memory:') createPrivately(location.path);
    const sqlite = new SqliteDatabase(location.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('cache_size = -65536');
    sqlite.pragma('temp_store = MEMORY');
    // Reads through a memory map of the whole file (up to SQLite's 2 GiB cap) rather
    // than copies in SQLite's page cache: a scan of a store larger than the old
    // 256 MiB map filled the 64 MiB cache with anonymous memory, while mapped
    // pages belong to the kernel's page cache, shared and reclaimable under
    // pressure. They still count in the process's RSS (see bench/RESULTS.md).
    sqlite.pragma('mmap_size = 2147418112');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { engine: 'sqlite', db, sqlite };
  }
  const pool = new pg.Pool({
    connectionString: location.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    types: pgTypes,
  });
  // A connection that breaks (server restart, network cut) must not crash the
  // process: the query in flight fails with a 503, the pool discards the
  // connection, and the next query gets a fresh one. Idle connections report on
  // the pool; checked-out ones report on the client itself.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { engine: 'postgres', db, pool };
}
