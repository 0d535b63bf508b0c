import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreConflictError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

/** OAuth clients, access tokens and the cursor secret, on each engine. */
describeEngines('the credential store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: number;
  let otherId: number;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.accounts.create({ name: 'Acme' })).id;
    otherId = (await store.accounts.create({ name: 'Other' })).id;
  });
  afterAll(() => close?.());

  const newClient = (clientId: string, owner = accountId) =>
    store.credentials.createClient({ clientId, accountId: owner, name: `client ${clientId}`, secretHash: `hash-${clientId}`, scopes: ['calls.read', 'tags.write'] });

  it('creates a client, finds it by id, and lists the clients of one account or of all', async () => {
    const created = await newClient('c-one');
    expect(created).toMatchObject({ clientId: 'c-one', accountId, scopes: ['calls.read', 'tags.write'], revokedAt: null });
    expect(await store.credentials.findClient('c-one')).toEqual(created);
    expect(await store.credentials.findClient('c-none')).toBeNull();
    await newClient('c-two', otherId);
    expect((await store.credentials.listClients(accountId)).map((c) => c.clientId)).toEqual(['c-one']);
    expect((await store.credentials.listClients()).map((c) => c.clientId)).toEqual(expect.arrayContaining(['c-one', 'c-two']));
    await expect(newClient('c-one')).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('saves a token, finds it by hash, and sweeps expired ones as new ones are issued', async () => {
    await newClient('c-tokens');
    const now = Math.floor(Date.now() / 1000);
    const old = { tokenHash: 't-old', accountId, clientId: 'c-tokens', scopes: ['calls.read'], createdAt: now - 10_000, expiresAt: now - 7200 };
    await store.credentials.saveToken(old);
    expect(await store.credentials.findToken('t-old')).toEqual(old);
    const fresh = { tokenHash: 't-new', accountId, clientId: 'c-tokens', scopes: ['calls.read', 'tags.write'], createdAt: now, expiresAt: now + 3600 };
    await store.credentials.saveToken(fresh);
    expect(await store.credentials.findToken('t-new')).toEqual(fresh);
    expect(await store.credentials.findToken('t-old')).toBeNull();
    expect(await store.credentials.findToken('t-none')).toBeNull();
  });

  it('revokes a client and every token it was issued, once', async () => {
    await newClient('c-revoke');
    const now = Math.floor(Date.now() / 1000);
    await store.credentials.saveToken({ tokenHash: 't-revoke', accountId, clientId: 'c-revoke', scopes: [], createdAt: now, expiresAt: now + 3600 });
    expect(await store.credentials.revokeClient('c-revoke')).toBe(true);
    expect((await store.credentials.findClient('c-revoke'))!.revokedAt).not.toBeNull();
    expect(await store.credentials.findToken('t-revoke')).toBeNull();
    // Revoked already, or never there: nothing to do.
    expect(await store.credentials.revokeClient('c-revoke')).toBe(false);
    expect(await store.credentials.revokeClient('c-none')).toBe(false);
  });

  it('reads the cursor secret the first migration made, the same each time', async () => {
    const secret = await store.credentials.cursorSecret();
    expect(secret.length).toBe(32);
    expect((await store.credentials.cursorSecret()).equals(secret)).toBe(true);
  });
});
