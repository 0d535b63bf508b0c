import { setTimeout as sleep } from 'node:timers/promises';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseLocation } from './engine.js';

/**
 * A lock that every process opening the same store shares, for the steps
 * that must happen once however many processes start at the same moment:
 * migrations, and making the demo account.
 *
 * PostgreSQL: a session advisory lock, held on a connection of its own (not
 * the pool's, so that the work under the lock can use all of the pool).
 * SQLite: the write lock (BEGIN IMMEDIATE) of a small companion file beside
 * the database, `PATH.lock`; the store's own file cannot carry it, since the
 * work under the lock writes there through another connection. Either way the
 * operating system or the server frees the lock when a process dies.
 */

/** The advisory lock's key: "sipsim" in ASCII, so that it does not collide with an application's own. */
const PG_LOCK_KEY = 0x73697073696dn;
const RETRY_MS = 50;

export async function withSetupLock<T>(location: DatabaseLocation, work: () => Promise<T>): Promise<T> {
  if (location.engine === 'postgres') return withAdvisoryLock(location.url, work);
  if (location.path === ':memory:') return work();
  return withFileWriteLock(`${location.path}.lock`, work);
}

async function withAdvisoryLock<T>(url: string, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [PG_LOCK_KEY.toString()]);
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [PG_LOCK_KEY.toString()]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function withFileWriteLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const lock = new SqliteDatabase(path);
  try {
    // No busy wait inside the driver (it would block the event loop): try, and sleep between tries.
    lock.pragma('busy_timeout = 0');
    for (;;) {
      try {
        lock.exec('BEGIN IMMEDIATE');
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
        await sleep(RETRY_MS);
      }
    }
    try {
      return await work();
    } finally {
      lock.exec('ROLLBACK');
    }
  } finally {
    lock.close();
  }
}
