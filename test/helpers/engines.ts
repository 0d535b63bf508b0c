import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
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

/**
 * Runs one suite on every engine, as "<title> on sqlite" and "<title> on postgres".
 * PostgreSQL's copy is skipped when SIPSIM_TEST_DATABASE_URL is unset (the global
 * setup says so with PG_SKIP_NOTICE, before and after the run). Each copy opens its
 * own database in its own hooks (openTestStore, createHarness, createTestDatabase),
 * so no two suites share one.
 *
 *   describeEngines('calls API', (engine) => {
 *     let h: ApiHarness;
 *     beforeAll(async () => { h = await createHarness(engine); });
 *     afterAll(() => h?.close());
 *     it('...', async () => { ... });
 *   });
 *
 * A suite that also needs a tool passes `{ skipIf: !TOOL_READY }` before the body;
 * `{ concurrent: true }` runs its tests at once, as describe.concurrent does.
 * The old form it replaces:
 *   describe.each(ENGINES)('calls API on %s', (engine) => {
 *     describe.skipIf(!engineAvailable(engine))('', () => { ...body... });
 *   });
 */
export function describeEngines(title: string, suite: (engine: EngineName) => void): void;
export function describeEngines(title: string, options: EngineSuiteOptions, suite: (engine: EngineName) => void): void;
export function describeEngines(
  title: string,
  optionsOrSuite: EngineSuiteOptions | ((engine: EngineName) => void),
  maybeSuite?: (engine: EngineName) => void,
): void {
  const options = typeof optionsOrSuite === 'function' ? {} : optionsOrSuite;
  const suite = typeof optionsOrSuite === 'function' ? optionsOrSuite : maybeSuite!;
  for (const engine of ENGINES) {
    const kind = options.skipIf || !engineAvailable(engine) ? describe.skip : describe;
    const name = title ? `${title} on ${engine}` : `on ${engine}`;
    (options.concurrent ? kind.concurrent : kind)(name, () => suite(engine));
  }
}

export interface EngineSuiteOptions {
  /** Skips every engine's copy, e.g. when a tool the suite needs is missing. */
  skipIf?: boolean;
  concurrent?: boolean;
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
