import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engineAvailable } from '../helpers/engines.js';
import { run, CLI, scratchDir } from '../helpers/programs.js';

/**
 * A command that works on an existing store never makes one: run from the
 * wrong folder, it fails and says where it looked and what to run. Only
 * `migrate`, `demo` and `serve` create a store.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The CLI in `cwd`, with no SIPSIM_DATABASE_URL from the environment: the default store, relative to `cwd`. */
const sipsimIn = (cwd: string, args: string[]) => run(process.execPath, [CLI, ...args], { cwd, env: { SIPSIM_DATABASE_URL: undefined }, timeoutMs: 60_000 });

function scratch(): string {
  const dir = scratchDir('sipsim-nostore-');
  cleanups.push(() => dir.remove());
  return dir.path;
}

describe('a command that needs a store, where there is none', () => {
  it.each([
    ['accounts', 'list'],
    ['clients', 'list'],
    ['accounts', 'create', '--name', 'Acme'],
  ])('`sipsim %s %s` from an empty folder fails, names ./data/sipsim.db and creates nothing', async (...args) => {
    const cwd = scratch();
    const result = await sipsimIn(cwd, args);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stderr).toContain(`no sipsim store at ${join(cwd, 'data/sipsim.db')}`);
    expect(result.stderr).toContain('sipsim migrate');
    expect(result.stderr).toContain('sipsim demo');
    expect(result.stdout).toBe('');
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('names the path --database gave, and suggests the same flag', async () => {
    const cwd = scratch();
    const path = join(cwd, 'elsewhere/calls.db');
    const result = await sipsimIn(cwd, ['accounts', 'list', '--database', `sqlite:${path}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no sipsim store at ${path}`);
    expect(result.stderr).toContain(`sipsim migrate --database 'sqlite:${path}'`);
    expect(existsSync(join(cwd, 'elsewhere'))).toBe(false);
  });

  it('`sipsim migrate` makes the store, after which the same command works', async () => {
    const cwd = scratch();
    expect((await sipsimIn(cwd, ['migrate'])).code).toBe(0);
    const list = await sipsimIn(cwd, ['accounts', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('No accounts\n');
  });

  describe.skipIf(!engineAvailable('postgres'))('on PostgreSQL', () => {
    it('an empty database is not a store: the command fails and adds no table', async () => {
      const database = await createTestDatabase('postgres');
      cleanups.push(() => database.drop());
      const result = await sipsimIn(scratch(), ['accounts', 'list', '--database', database.url]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('no sipsim store at');
      expect(result.stderr).toContain('sipsim migrate');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const tables = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
        expect(tables.rows[0].n).toBe(0);
      } finally {
        await client.end();
      }
    });
  });
});
