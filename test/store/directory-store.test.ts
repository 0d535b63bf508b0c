import { afterAll, beforeAll, expect, it } from 'vitest';
import { NotFoundError, StoreConflictError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

/** Employees and phones, on each engine: pages, one account never reaching another's rows, and NotFoundError for a missing one. */
describeEngines('the directory store', (engine) => {
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

  const notFound = (what: string, id: number, account = accountId) =>
    expect.objectContaining({ name: 'NotFoundError', what, which: { id, accountId: account } });

  it('creates employees, reads one with its phones, and lists them a page at a time', async () => {
    const ana = await store.directory.createEmployee(accountId, { name: 'Ana', email: 'ana@acme.example' });
    const bob = await store.directory.createEmployee(accountId, { name: 'Bob' });
    const carl = await store.directory.createEmployee(accountId, { name: 'Carl' });
    const phone = await store.directory.createPhone(accountId, { number: '+33100000001', name: 'Desk', employeeId: ana.id, internalNumber: 101 });
    expect(await store.directory.getEmployee(accountId, ana.id)).toMatchObject({ name: 'Ana', email: 'ana@acme.example', phoneIds: [phone.id] });
    expect(await store.directory.findEmployee(accountId, bob.id)).toMatchObject({ name: 'Bob', email: null, phoneIds: [] });
    const first = await store.directory.listEmployees(accountId, 2, null);
    expect(first.items.map((e) => e.name)).toEqual(['Ana', 'Bob']);
    expect(first.next).toBe(bob.id);
    const second = await store.directory.listEmployees(accountId, 2, first.next);
    expect(second).toMatchObject({ items: [{ id: carl.id }], next: null });
  });

  it("answers NotFoundError for an employee that is not the account's, and null from find", async () => {
    const theirs = await store.directory.createEmployee(otherId, { name: 'Theirs' });
    await expect(store.directory.getEmployee(accountId, theirs.id)).rejects.toEqual(notFound('Employee', theirs.id));
    expect(await store.directory.findEmployee(accountId, theirs.id)).toBeNull();
    await expect(store.directory.updateEmployee(accountId, theirs.id, { name: 'X' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.directory.deleteEmployee(accountId, theirs.id)).rejects.toEqual(notFound('Employee', theirs.id));
    expect((await store.directory.getEmployee(otherId, theirs.id)).name).toBe('Theirs');
  });

  it('changes an employee, and deleting one leaves their phones to nobody', async () => {
    const dan = await store.directory.createEmployee(accountId, { name: 'Dan', email: 'dan@acme.example' });
    await store.directory.updateEmployee(accountId, dan.id, { email: null });
    expect(await store.directory.getEmployee(accountId, dan.id)).toMatchObject({ name: 'Dan', email: null });
    const a = await store.directory.createPhone(accountId, { number: '+33100000002', name: 'A', employeeId: dan.id });
    const b = await store.directory.createPhone(accountId, { number: '+33100000003', name: 'B', employeeId: dan.id });
    expect(await store.directory.deleteEmployee(accountId, dan.id)).toEqual([a.id, b.id]);
    expect((await store.directory.getPhone(accountId, a.id)).employeeId).toBeNull();
    expect(await store.directory.findEmployee(accountId, dan.id)).toBeNull();
  });

  it('creates phones with default settings, keeps numbers and extensions unique, and lists them by status', async () => {
    const phone = await store.directory.createPhone(otherId, { number: '+33200000001', name: 'Main', internalNumber: 200, status: 'inactive' });
    expect(phone).toMatchObject({ accountId: otherId, status: 'inactive', internalNumber: 200, employeeId: null });
    expect(await store.directory.getPhone(otherId, phone.id)).toEqual(phone);
    await expect(store.directory.createPhone(otherId, { number: '+33200000001', name: 'Again' })).rejects.toBeInstanceOf(StoreConflictError);
    await expect(store.directory.createPhone(otherId, { number: '+33200000002', name: 'Ext', internalNumber: 200 })).rejects.toMatchObject({
      target: 'phones.internal_number',
    });
    await store.directory.createPhone(otherId, { number: '+33200000003', name: 'Live' });
    expect((await store.directory.listPhones(otherId, { statuses: ['inactive'] }, 10, null)).items.map((p) => p.name)).toEqual(['Main']);
    expect((await store.directory.listPhones(otherId, {}, 1, null)).next).toBe(phone.id);
  });

  it('updates a phone, merging its settings, and says which row was missing', async () => {
    const eve = await store.directory.createEmployee(accountId, { name: 'Eve' });
    const phone = await store.directory.createPhone(accountId, { number: '+33100000009', name: 'Old' });
    const updated = await store.directory.updatePhone(accountId, phone.id, { name: 'New', employeeId: eve.id, groupId: 7, groupTitle: 'Sales' });
    expect(updated).toMatchObject({ name: 'New', employeeId: eve.id, groupId: 7, groupTitle: 'Sales', status: 'active' });
    expect(await store.directory.getPhone(accountId, phone.id)).toEqual(updated);
    const theirs = await store.directory.createEmployee(otherId, { name: 'Theirs too' });
    await expect(store.directory.updatePhone(accountId, phone.id, { employeeId: theirs.id })).rejects.toEqual(notFound('Employee', theirs.id));
    await expect(store.directory.updatePhone(accountId, 999_999, { name: 'X' })).rejects.toEqual(notFound('Phone', 999_999));
    // Unassigning needs no employee to exist.
    expect((await store.directory.updatePhone(accountId, phone.id, { employeeId: null })).employeeId).toBeNull();
  });

  it('serialises concurrent updates of one phone', async () => {
    const phone = await store.directory.createPhone(accountId, { number: '+33100000010', name: 'Busy' });
    const names = Array.from({ length: 5 }, (_, i) => `Name ${i}`);
    const results = await Promise.all(names.map((name) => store.directory.updatePhone(accountId, phone.id, { name })));
    expect(results.map((r) => r.name).sort()).toEqual(names);
    expect(names).toContain((await store.directory.getPhone(accountId, phone.id)).name);
  });

  it('deletes a phone once', async () => {
    const phone = await store.directory.createPhone(accountId, { number: '+33100000011', name: 'Gone' });
    await store.directory.deletePhone(accountId, phone.id);
    await expect(store.directory.getPhone(accountId, phone.id)).rejects.toEqual(notFound('Phone', phone.id));
    await expect(store.directory.deletePhone(accountId, phone.id)).rejects.toEqual(notFound('Phone', phone.id));
  });
});
