import { afterAll, beforeAll, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { sipsim, sipsimJson } from '../helpers/programs.js';

/** `sipsim accounts delete`, as an operator runs it: it says what goes, asks, and then removes all of it. */
describeEngines('sipsim accounts delete', (engine) => {
  let database: TestDatabase;
  let db: string[];
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    db = ['--database', database.url];
  });
  afterAll(() => database?.drop());

  it('without --yes and without a terminal to ask on, deletes nothing and says what it would delete', async () => {
    const demo = await sipsimJson(['demo', '--calls', '400', ...db, '--json']);
    const result = await sipsim(['accounts', 'delete', String(demo.account_id), ...db]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`this deletes account ${demo.account_id} \\(Demo Company\\): .*\\b400 calls, 12 employees`));
    expect(result.stderr).toContain('Add --yes');
    const store = Store.open(database.url);
    try {
      expect(await store.getAccount(demo.account_id)).not.toBeNull();
    } finally {
      await store.close();
    }
  }, 120_000);

  it('with --yes, removes the account and all of it, in batches, and leaves the others', async () => {
    const [doomed, kept] = [await sipsimJson(['demo', '--calls', '300', ...db, '--json']), await sipsimJson(['demo', '--calls', '200', '--seed', '3', ...db, '--json'])];
    const result = await sipsimJson(['accounts', 'delete', String(doomed.account_id), '--yes', '--batch', '64', ...db, '--json']);
    expect(result.account_id).toBe(doomed.account_id);
    expect(result.deleted).toMatchObject({ calls: 300, accounts: 1 });
    const store = Store.open(database.url);
    try {
      expect(await store.getAccount(doomed.account_id)).toBeNull();
      expect(await store.accounts.countRows(doomed.account_id)).toEqual({});
      expect((await store.accounts.countRows(kept.account_id)).calls).toBe(200);
    } finally {
      await store.close();
    }
    const again = await sipsim(['accounts', 'delete', String(doomed.account_id), '--yes', ...db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`No account ${doomed.account_id}`);
  }, 120_000);
});
