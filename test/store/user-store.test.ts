import { afterAll, beforeAll, expect, it } from 'vitest';
import { StoreConflictError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

const RULE = { limit: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

/** The user store on each engine: unique emails, sessions, and wrong-password counts that hold under concurrency. */
describeEngines('the user store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: number;

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.createAccount({ name: 'Acme' })).id;
  });
  afterAll(() => close?.());

  const newUser = (email: string) =>
    store.users.create({ accountId, email, emailKey: email.toLowerCase(), name: 'N', role: 'member', employeeId: null, passwordHash: 'scrypt$1$1$1$a$b' });

  it('keeps one user per email, across accounts', async () => {
    const user = await newUser('Ana@acme.example');
    expect(user).toMatchObject({ accountId, email: 'Ana@acme.example', role: 'member', disabledAt: null });
    await expect(newUser('ana@ACME.example')).rejects.toBeInstanceOf(StoreConflictError);
    expect((await store.users.findByEmail('ana@acme.example'))!.passwordHash).toBe('scrypt$1$1$1$a$b');
    expect((await store.users.list(accountId)).map((u) => u.email)).toEqual(['Ana@acme.example']);
  });

  it('counts every one of concurrent wrong passwords, and locks at the limit', async () => {
    const now = Date.now();
    const results = await Promise.all(Array.from({ length: 5 }, () => store.users.recordFailure('race@acme.example', now, RULE)));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await store.users.lockedUntil('race@acme.example', now)).toBe(now + RULE.lockMs);
    // Past the lock, counting starts again from one.
    const later = now + RULE.lockMs + 1;
    expect(await store.users.lockedUntil('race@acme.example', later)).toBeNull();
    expect(await store.users.recordFailure('race@acme.example', later, RULE)).toBeNull();
    const row = await store.db.selectFrom('sign_in_failures').selectAll().where('email_key', '=', 'race@acme.example').executeTakeFirstOrThrow();
    expect(Number(row.failures)).toBe(1);
    await store.users.clearFailures('race@acme.example');
    expect(await store.db.selectFrom('sign_in_failures').selectAll().where('email_key', '=', 'race@acme.example').execute()).toEqual([]);
  });

  it('forgets failures older than the window', async () => {
    const start = Date.now();
    for (let i = 0; i < 4; i++) expect(await store.users.recordFailure('slow@acme.example', start, RULE)).toBeNull();
    // The fifth comes after the window: a new count, no lock.
    expect(await store.users.recordFailure('slow@acme.example', start + RULE.windowMs + 1, RULE)).toBeNull();
  });

  it('finds, touches, prunes and deletes sessions; disabling a user ends theirs', async () => {
    const user = await newUser('sessions@acme.example');
    const now = Date.now();
    for (const [idHash, lastSeenAt, expiresAt] of [['live', now, now + 3_600_000], ['idle', now - 10_000_000, now + 3_600_000], ['capped', now, now - 1]] as const) {
      await store.users.createSession({ idHash, accountId, userId: user.id, createdAt: now - 10_000_000, lastSeenAt, expiresAt });
    }
    const found = await store.users.findSession('live');
    expect(found!.user.email).toBe('sessions@acme.example');
    await store.users.touchSession('live', now + 5000);
    expect((await store.users.findSession('live'))!.session.lastSeenAt).toBe(now + 5000);
    expect(await store.users.pruneSessions(now - 1_000_000, now)).toBe(2);
    expect(await store.users.findSession('idle')).toBeNull();
    expect(await store.users.disable(user.id)).toBe(true);
    expect(await store.users.disable(user.id)).toBe(false);
    expect(await store.users.findSession('live')).toBeNull();
  });
});
