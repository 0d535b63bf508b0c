import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { createDemo } from '../../src/demo/seed.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

describeEngines('deleting an account', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  const rowsOf = async (accountId: number) => {
    const counts: Record<string, number> = {};
    for (const table of await store.accounts.accountTables()) {
      const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)} WHERE account_id = ${accountId}`.execute(store.db);
      counts[table] = Number(r.rows[0]!.n);
    }
    return counts;
  };

  it('removes the account and every row of it in batches, and nothing of another account', async () => {
    const doomed = await createDemo(store, { calls: 700, seed: 1, until: 1_730_000_000 });
    const kept = await createDemo(store, { calls: 300, seed: 2, until: 1_730_000_000 });
    await issueClient(store, doomed.accountId, {});
    await store.webhooks.setUrl(doomed.accountId, 'https://example.org/hooks');
    const before = await rowsOf(kept.accountId);
    const counted = await store.accounts.countRows(doomed.accountId);
    expect(counted.calls).toBe(700);
    expect(counted.call_tags).toBeGreaterThan(0);
    expect(counted.oauth_clients).toBeGreaterThanOrEqual(2);

    const batches: Array<[string, number]> = [];
    const result = await store.accounts.deleteAccount(doomed.accountId, { batchSize: 100, onBatch: (table, n) => batches.push([table, n]) });
    // What was counted is what went, the account row last.
    expect(result!.rows).toEqual({ ...counted, accounts: 1 });
    expect(batches.filter(([t]) => t === 'calls').map(([, n]) => n)).toEqual([100, 100, 100, 100, 100, 100, 100]);
    expect(Object.values(await rowsOf(doomed.accountId)).every((n) => n === 0)).toBe(true);
    expect(await store.getAccount(doomed.accountId)).toBeNull();
    expect(await rowsOf(kept.accountId)).toEqual(before);
    expect(await store.getAccount(kept.accountId)).not.toBeNull();
  });

  it('says there was nothing to delete for an unknown account', async () => {
    expect(await store.accounts.deleteAccount(999_999)).toBeNull();
  });

  it('finds the account tables from the schema, calls among them', async () => {
    const tables = await store.accounts.accountTables();
    expect(tables).toEqual(expect.arrayContaining(['calls', 'call_tags', 'employees', 'phones', 'tags', 'oauth_clients', 'access_tokens', 'webhook_deliveries']));
    expect(tables).not.toContain('accounts');
  });
});
