import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveCall, type CallResource } from '../../src/domain/call.js';
import type { CallFilter } from '../../src/domain/call-filters.js';
import { CALL_FIELDS } from '../../src/domain/call-export.js';
import { NotFoundError } from '../../src/domain/errors.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { at, callInput } from '../helpers/fixture.js';

const ALL: CallFilter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: null, callTypes: null, search: null };

describeEngines('call store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: number;
  let ids: number[];
  let vip: number;
  let sales: number;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.accounts.create({ name: 'Calls' })).id;
    vip = (await store.tags.create(accountId, { name: 'VIP' })).id;
    sales = (await store.tags.create(accountId, { name: 'Sales' })).id;
    ids = await store.ingest.insertCalls(accountId, [
      { ...deriveCall({ ...callInput({ start: '2024-05-01T09:00:00Z' }), callerName: 'Élodie Martin' }), tagIds: [vip] },
      { ...deriveCall(callInput({ start: '2024-05-01T10:00:00Z', callerNumber: '+33 6 11 22 33 44' })), tagIds: [sales] },
      { ...deriveCall(callInput({ start: '2024-05-01T11:00:00Z', direction: 'outbound', callerName: '100% Pure' })), tagIds: [vip, sales] },
      deriveCall(callInput({ start: '2024-05-01T12:00:00Z', answeredTime: null, answeredPhoneNumber: null })),
      deriveCall(callInput({ start: '2024-05-01T12:00:00Z', answeredTime: null, answeredPhoneNumber: null, callerName: 'Bob' })),
    ]);
  });
  afterAll(() => close?.());

  const listIds = async (filter: Partial<CallFilter>, limit = 100) => (await store.calls.list(accountId, { ...ALL, ...filter }, limit, null)).calls.map((c) => c.id);

  it('gets a call as the API serves it, every field in order, and says NotFound for another account', async () => {
    const call = await store.calls.get(accountId, ids[2]!);
    expect(Object.keys(call)).toEqual([...CALL_FIELDS]);
    expect(call).toMatchObject({
      id: ids[2],
      call_type: 'outbound',
      direction: 'outbound',
      sip_status: 'answer',
      receiver_number: call.target_number,
      answered: true,
      start_time: '2024-05-01T11:00:00Z',
      answered_time: '2024-05-01T11:00:05Z',
      tags: [
        { id: sales, name: 'Sales' },
        { id: vip, name: 'VIP' },
      ],
    });
    const other = await store.accounts.create({ name: 'Other' });
    await expect(store.calls.get(other.id, ids[0]!)).rejects.toEqual(new NotFoundError('Call'));
    await expect(store.calls.get(other.id, ids[0]!)).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.calls.find(other.id, ids[0]!)).toBeNull();
    expect((await store.calls.find(accountId, ids[0]!))?.caller_name).toBe('Élodie Martin');
  });

  it('lists newest first, ties by id, in pages that continue where the last ended', async () => {
    const newestFirst = [ids[4], ids[3], ids[2], ids[1], ids[0]];
    expect(await listIds({})).toEqual(newestFirst);
    const first = await store.calls.list(accountId, ALL, 2, null);
    expect(first.calls.map((c) => c.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.next).toEqual({ startTime: at('2024-05-01T12:00:00Z'), id: ids[3] });
    const second = await store.calls.list(accountId, ALL, 2, first.next);
    const third = await store.calls.list(accountId, ALL, 2, second.next);
    expect([...second.calls, ...third.calls].map((c) => c.id)).toEqual(newestFirst.slice(2));
    expect(third.next).toBeNull();
  });

  it('filters by window, type, one tag, several tags and employee', async () => {
    expect(await listIds({ startTime: at('2024-05-01T10:00:00Z'), endTime: at('2024-05-01T11:00:00Z') })).toEqual([ids[2], ids[1]]);
    expect(await listIds({ callTypes: ['missed'] })).toEqual([ids[4], ids[3]]);
    expect(await listIds({ tagIds: [vip] })).toEqual([ids[2], ids[0]]);
    expect(await listIds({ tagIds: [vip, sales] })).toEqual([ids[2], ids[1], ids[0]]);
    expect(await listIds({ employeeIds: [999] })).toEqual([]);
    // The single-tag walk pages too.
    const page = await store.calls.list(accountId, { ...ALL, tagIds: [vip] }, 1, null);
    expect((await store.calls.list(accountId, { ...ALL, tagIds: [vip] }, 1, page.next)).calls.map((c) => c.id)).toEqual([ids[0]]);
  });

  it('searches numbers by their digits and names without case or accents, through the index or not', async () => {
    expect(await listIds({ search: { kind: 'number', digits: '11223344' } })).toEqual([ids[1]]);
    expect(await listIds({ search: { kind: 'number', digits: '11' } })).toEqual([ids[1]]);
    expect(await listIds({ search: { kind: 'name', text: 'elodie' } })).toEqual([ids[0]]);
    expect(await listIds({ search: { kind: 'name', text: 'bo' } })).toEqual([ids[4]]);
    // LIKE's own wildcards are plain characters.
    expect(await listIds({ search: { kind: 'name', text: '100%' } })).toEqual([ids[2]]);
    expect(await listIds({ search: { kind: 'name', text: '%' } })).toEqual([ids[2]]);
    expect(await listIds({ search: { kind: 'name', text: '_' } })).toEqual([]);
  });

  it('exports exactly the list, in batches, and only the fields asked for', async () => {
    const whole: CallResource[] = [];
    const sizes: number[] = [];
    for await (const batch of store.calls.export(accountId, ALL, 2)) {
      sizes.push(batch.length);
      whole.push(...batch);
    }
    expect(sizes).toEqual([2, 2, 1]);
    expect(whole).toEqual((await store.calls.list(accountId, ALL, 100, null)).calls);

    const some: Array<Partial<CallResource>> = [];
    for await (const batch of store.calls.export(accountId, { ...ALL, tagIds: [vip] }, 10, ['start_time', 'tags', 'answered', 'start_time'] as const)) some.push(...batch);
    expect(some).toEqual([
      { start_time: '2024-05-01T11:00:00Z', tags: [{ id: sales, name: 'Sales' }, { id: vip, name: 'VIP' }], answered: true },
      { start_time: '2024-05-01T09:00:00Z', tags: [{ id: vip, name: 'VIP' }], answered: true },
    ]);
    expect(Object.keys(some[0]!)).toEqual(['start_time', 'tags', 'answered']);
    await expect(store.calls.export(accountId, ALL, 0).next()).rejects.toThrow(RangeError);
  });
});
