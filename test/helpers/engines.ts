import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Store } from '../../src/store/store.js';

/**
 * Every store suite runs on each engine: SQLite always, PostgreSQL when
 * SIPSIM_TEST_DATABASE_URL points at a server. Each test store is a database
 * of its own, dropped afterwards, so that runs never share state.
 */
export const PG_ADMIN_URL = process.env.SIPSIM_TEST_DATABASE_URL;

export const ENGINES = ['sqlite', 'postgres'] as const;
export type EngineName = (typeof ENGINES)[number];

export const PG_SKIP_NOTICE =
  'PostgreSQL suites SKIPPED: SIPSIM_TEST_DATABASE_URL is not set. To run them: apt-get install postgresql, start it, ' +
  'then SIPSIM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm test';

/** In CI (CI=true) nothing is skipped: a missing PostgreSQL fails the run. */
export function engineAvailable(engine: EngineName): boolean {
  return engine === 'sqlite' || Boolean(PG_ADMIN_URL) || Boolean(process.env.CI);
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(engine: EngineName): Promise<TestDatabase> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'sipsim-test-'));
    return { url: `sqlite:${join(dir, 'test.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (!PG_ADMIN_URL) throw new Error(PG_SKIP_NOTICE);
  const name = `sipsim_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function openTestStore(engine: EngineName): Promise<{ store: Store; database: TestDatabase; close(): Promise<void> }> {
  const database = await createTestDatabase(engine);
  const store = Store.open(database.url);
  await store.migrate();
  return {
    store,
    database,
    close: async () => {
      await store.close();
      await database.drop();
    },
  };
}
