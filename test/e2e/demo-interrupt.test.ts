import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT_NAME } from '../../src/demo/seed.js';
import { Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, sipsimJson } from '../helpers/programs.js';

/** `sipsim demo` stopped with Ctrl-C says what it left and how to clear it; `--reset` starts the demo over. */
describe('sipsim demo, interrupted and reset', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
  });
  afterAll(() => database?.drop());

  const callsIn = async (store: Store) => Number((await store.db.selectFrom('calls').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  it('on SIGINT part-way, names the account, how many calls it has, and the command that removes it', async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--calls', '1000000', '--database', database.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const store = Store.open(database.url);
    try {
      // Waits for the first calls to be in (a condition, not a duration).
      await expect.poll(async () => ((await store.hasSchema()) ? callsIn(store) : 0), { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      const said = /Interrupted: demo account (\d+) has ([\d,]+) of 1,000,000 calls and no client yet\. Remove it with: sipsim accounts delete (\d+) --yes/.exec(stderr);
      expect(said, stderr).not.toBeNull();
      const accounts = await store.listAccounts();
      expect(accounts.map((a) => a.id)).toEqual([Number(said![1])]);
      expect(said![3]).toBe(said![1]);
      const reported = Number(said![2]!.replaceAll(',', ''));
      expect(await callsIn(store)).toBeGreaterThanOrEqual(reported);
      expect(await callsIn(store)).toBeLessThan(1_000_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await store.close();
    }
  }, 120_000);

  it('--reset deletes what a previous demo left and makes one demo account, as new', async () => {
    const demo = await sipsimJson(['demo', '--reset', '--calls', '300', '--database', database.url, '--json']);
    const store = Store.open(database.url);
    try {
      expect((await store.listAccounts()).map((a) => [a.id, a.name])).toEqual([[demo.account_id, DEMO_ACCOUNT_NAME]]);
      expect(await callsIn(store)).toBe(300);
    } finally {
      await store.close();
    }
  }, 120_000);
});
