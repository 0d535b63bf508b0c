import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCall } from '../../src/domain/call.js';
import { ConflictError, StoreConflictError, StoreUnavailableError } from '../../src/domain/errors.js';
import { DUPLICATE_TAG } from '../../src/domain/directory.js';
import { mapStoreError } from '../../src/store/errors.js';
import { sql } from 'kysely';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, engineAvailable, openTestStore } from '../helpers/engines.js';
import { callInput } from '../helpers/fixture.js';

describeEngines('store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  it('migrates once: a second run applies nothing', async () => {
    expect(await store.migrate()).toEqual([]);
  });

  it('stores calls in order with their tags, and reads them back per account', async () => {
    const account = await store.accounts.create({ name: 'A' });
    const other = await store.accounts.create({ name: 'B' });
    const tag = await store.tags.create(account.id, { name: 'VIP' });
    const ids = await store.ingest.insertCalls(account.id, [
      { ...deriveCall(callInput({ start: '2024-03-01T10:00:00Z' })), tagIds: [tag.id, tag.id] },
      deriveCall(callInput({ start: '2024-03-01T09:00:00Z', direction: 'outbound' })),
    ]);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBeGreaterThan(ids[0]!);
    const first = await store.calls.find(account.id, ids[0]!);
    expect(first).toMatchObject({ start_time: '2024-03-01T10:00:00Z', tags: [{ id: tag.id, name: 'VIP' }] });
    expect((await store.calls.find(account.id, ids[1]!))?.call_type).toBe('outbound');
    expect(await store.calls.find(other.id, ids[0]!)).toBeNull();
    expect(await store.ingest.insertCalls(account.id, [])).toEqual([]);
  });

  it('keeps pbx ids unique per account and reports a duplicate as a conflict, storing nothing of the batch', async () => {
    const account = await store.accounts.create({ name: 'C' });
    const call = (start: string) => ({ ...deriveCall(callInput({ start })), pbxId: 'call_abc123' });
    await store.ingest.insertCalls(account.id, [call('2024-03-02T10:00:00Z')]);
    await expect(store.ingest.insertCalls(account.id, [call('2024-03-02T11:00:00Z'), call('2024-03-02T12:00:00Z')])).rejects.toBeInstanceOf(
      StoreConflictError,
    );
    const filter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: null, callTypes: null, search: null };
    expect((await store.calls.list(account.id, filter, 100, null)).calls).toHaveLength(1);
    // Another account may use the same PBX id.
    const other = await store.accounts.create({ name: 'D' });
    expect(await store.ingest.insertCalls(other.id, [call('2024-03-02T10:00:00Z')])).toHaveLength(1);
  });

  it('keeps tag names unique per account regardless of case', async () => {
    const account = await store.accounts.create({ name: 'E' });
    await store.tags.create(account.id, { name: 'Follow-up' });
    await expect(store.tags.create(account.id, { name: 'FOLLOW-UP' })).rejects.toEqual(new ConflictError(DUPLICATE_TAG));
    const other = await store.accounts.create({ name: 'F' });
    await expect(store.tags.create(other.id, { name: 'Follow-up' })).resolves.toMatchObject({ color: '#6B7280' });
  });

  it('revokes a client and its tokens', async () => {
    const account = await store.accounts.create({ name: 'G' });
    await store.credentials.createClient({ clientId: 'c1', accountId: account.id, name: 'n', secretHash: 'h', scopes: ['calls.read'] });
    await store.credentials.saveToken({ tokenHash: 't1', accountId: account.id, clientId: 'c1', scopes: ['calls.read'], createdAt: 1, expiresAt: 4e9 });
    expect(await store.credentials.findToken('t1')).not.toBeNull();
    expect(await store.credentials.revokeClient('c1')).toBe(true);
    expect(await store.credentials.revokeClient('c1')).toBe(false);
    expect(await store.credentials.findToken('t1')).toBeNull();
    expect((await store.credentials.findClient('c1'))?.revokedAt).not.toBeNull();
    expect((await store.credentials.listClients(account.id)).map((c) => c.clientId)).toEqual(['c1']);
  });
});

describe('driver errors at the store boundary', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, StoreUnavailableError],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, StoreUnavailableError],
    [{ code: '08006' }, StoreUnavailableError],
    [{ message: 'Connection terminated unexpectedly' }, StoreUnavailableError],
    [{ message: 'Cannot use a pool after calling end on the pool' }, StoreUnavailableError],
    [{ code: 'SQLITE_BUSY' }, StoreUnavailableError],
    [{ code: 'SQLITE_IOERR_WRITE' }, StoreUnavailableError],
    [{ code: '25006', message: 'cannot execute INSERT in a read-only transaction' }, StoreUnavailableError],
    [{ code: '23505' }, StoreConflictError],
    [{ code: 'SQLITE_CONSTRAINT_UNIQUE' }, StoreConflictError],
  ])('maps %j', (fields: { code?: string; message?: string }, type) => {
    expect(mapStoreError(Object.assign(new Error(fields.message ?? 'driver error'), fields))).toBeInstanceOf(type);
  });

  it('names the rule a write broke, from either driver', () => {
    const pg = mapStoreError(Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'tags_unique_name' }));
    expect((pg as StoreConflictError).target).toBe('tags.name');
    const sqlite = mapStoreError(
      Object.assign(new Error('UNIQUE constraint failed: phones.account_id, phones.internal_number'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }),
    );
    expect((sqlite as StoreConflictError).target).toBe('phones.internal_number');
  });

  it.skipIf(!engineAvailable('postgres'))('answers a read-only PostgreSQL (a replica, a demoted primary) as unavailable', async () => {
    const database = await createTestDatabase('postgres');
    let store = Store.open(database.url);
    try {
      await store.migrate();
      const account = await store.accounts.create({ name: 'Acme' });
      const name = new URL(database.url).pathname.slice(1);
      await sql.raw(`ALTER DATABASE ${name} SET default_transaction_read_only = on`).execute(store.db);
      await store.close();
      store = Store.open(database.url);
      expect((await store.accounts.find(account.id))?.name).toBe('Acme');
      await expect(store.tags.create(account.id, { name: 'Important' })).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
      await database.drop();
    }
  });

  it('leaves bugs as they are', () => {
    const bug = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(mapStoreError(bug)).toBe(bug);
  });
});
