import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveCall } from '../../src/domain/call.js';
import type { CallFilter } from '../../src/domain/call-filters.js';
import { StoreConflictError } from '../../src/domain/errors.js';
import type { ResolvedCall } from '../../src/domain/resolved-call.js';
import { messagesOfFinishedCall } from '../../src/domain/webhook-messages.js';
import type { EventRow } from '../../src/store/ingest-tx.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput } from '../helpers/fixture.js';

const ALL: CallFilter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: null, callTypes: null, search: null };

const resolved = (pbxId: string, start: string, extra: Partial<ResolvedCall> = {}): ResolvedCall => ({
  ...deriveCall({ ...callInput({ start }), pbxId }),
  pbxId,
  ...extra,
});

describeEngines('ingest store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  const account = async () => (await store.accounts.create({ name: 'Ingest' })).id;
  const search = async (accountId: number, digits: string) =>
    (await store.calls.list(accountId, { ...ALL, search: { kind: 'number', digits } }, 100, null)).calls.map((c) => c.id);

  it('inserts calls with their tags, in order, and indexes them for search', async () => {
    const accountId = await account();
    const tag = (await store.tags.create(accountId, { name: 'T' })).id;
    const ids = await store.ingest.insertCalls(accountId, [
      { ...deriveCall(callInput({ start: '2024-07-01T10:00:00Z', callerNumber: '+33 7 00 00 00 01' })), tagIds: [tag, tag] },
      deriveCall(callInput({ start: '2024-07-01T09:00:00Z', callerNumber: '+33 7 00 00 00 02' })),
    ]);
    expect(ids[1]).toBe(ids[0]! + 1);
    expect((await store.calls.get(accountId, ids[0]!)).tags).toEqual([{ id: tag, name: 'T' }]);
    expect(await search(accountId, '700000001')).toEqual([ids[0]]);
    expect(await search(accountId, '700000002')).toEqual([ids[1]]);
    expect(await store.ingest.insertCalls(accountId, [])).toEqual([]);
  });

  it('refuses a PBX id the account already has, storing nothing of the batch', async () => {
    const accountId = await account();
    await store.ingest.insertCalls(accountId, [resolved('dup', '2024-07-02T10:00:00Z')]);
    await expect(store.ingest.insertCalls(accountId, [resolved('fresh', '2024-07-02T11:00:00Z'), resolved('dup', '2024-07-02T12:00:00Z')])).rejects.toBeInstanceOf(
      StoreConflictError,
    );
    expect((await store.calls.list(accountId, ALL, 10, null)).calls).toHaveLength(1);
  });

  it('upserts by PBX id: creates, updates, leaves alone; the last record of an id wins; tags come by name', async () => {
    const accountId = await account();
    const first = await store.ingest.upsertCalls(accountId, [
      resolved('a', '2024-07-03T10:00:00Z', { tagNames: ['New lead'] }),
      resolved('b', '2024-07-03T11:00:00Z'),
      resolved('b', '2024-07-03T11:30:00Z', { callerNumber: '+33 7 11 11 11 11', searchNumbers: '33711111111' }),
    ]);
    expect(first.map((r) => r.outcome)).toEqual(['created', 'created', 'updated']);
    expect(first[1]!.id).toBe(first[2]!.id);
    const b = await store.calls.get(accountId, first[1]!.id);
    expect(b).toMatchObject({ start_time: '2024-07-03T11:30:00Z', caller_number: '+33 7 11 11 11 11' });
    expect(await search(accountId, '711111111')).toEqual([b.id]);
    const tags = (await store.tags.list(accountId, 10, null)).items;
    expect(tags.map((t) => t.name)).toEqual(['New lead']);
    expect((await store.calls.get(accountId, first[0]!.id)).tags).toEqual([{ id: tags[0]!.id, name: 'New lead' }]);

    const again = await store.ingest.upsertCalls(accountId, [
      resolved('a', '2024-07-03T10:00:00Z', { tagNames: ['new LEAD'] }),
      resolved('a', '2024-07-03T10:00:00Z', { tagNames: [] }),
      resolved('c', '2024-07-03T12:00:00Z'),
    ]);
    expect(again).toEqual([
      { id: first[0]!.id, outcome: 'unchanged' },
      { id: first[0]!.id, outcome: 'updated' },
      { id: expect.any(Number), outcome: 'created' },
    ]);
    expect((await store.calls.get(accountId, first[0]!.id)).tags).toEqual([]);
    // The tag is off the call for the tag filter too.
    expect((await store.calls.list(accountId, { ...ALL, tagIds: [tags[0]!.id] }, 10, null)).calls).toEqual([]);
  });

  it('queues the webhooks of the calls an upsert creates, and only theirs, when asked', async () => {
    const accountId = await account();
    await store.webhooks.setUrl(accountId, 'https://hooks.example/sipsim', ['incoming_call_end']);
    await store.ingest.upsertCalls(accountId, [resolved('quiet', '2024-07-04T09:00:00Z')]);
    await store.ingest.upsertCalls(accountId, [resolved('quiet', '2024-07-04T09:05:00Z'), resolved('loud', '2024-07-04T10:00:00Z')], {
      webhooksOfNew: messagesOfFinishedCall,
    });
    const queued = await store.webhooks.list(accountId, { limit: 10 });
    expect(queued.map((d) => [d.event, d.pbxId])).toEqual([['incoming_call_end', 'loud']]);
  });

  it('stores live events once, and builds a call when one ends, from all of its events', async () => {
    const accountId = await account();
    const event = (key: string, ends: boolean, time: number): EventRow => ({
      pbxId: 'live-1',
      key,
      event: ends ? 'incoming_call_end' : 'incoming_call_start',
      ends,
      time,
      payload: JSON.stringify({ key }),
      receivedAt: time,
    });
    const seen: string[][] = [];
    const assemble = (payloads: Map<string, string[]>) => {
      seen.push([...payloads.entries()].flatMap(([id, list]) => list.map((p) => `${id}:${JSON.parse(p).key}`)));
      return [...payloads.keys()].map((id) => resolved(id, '2024-07-05T10:00:00Z'));
    };
    const start = await store.ingest.events(accountId, [event('s', false, 100), event('s', false, 100)], assemble);
    expect(start).toEqual({ fresh: new Set(['s']), calls: [] });
    expect(seen).toEqual([]);
    const end = await store.ingest.events(accountId, [event('e', true, 200)], assemble);
    expect(end.fresh).toEqual(new Set(['e']));
    expect(end.calls).toEqual([{ pbxId: 'live-1', id: expect.any(Number), outcome: 'created' }]);
    expect(seen).toEqual([['live-1:s', 'live-1:e']]);
    // The same event again is not new, and rebuilds nothing.
    expect(await store.ingest.events(accountId, [event('e', true, 200)], assemble)).toEqual({ fresh: new Set(), calls: [] });
  });

  it('gives the phones as PBX records name them, and runs a bulk load', async () => {
    const accountId = await account();
    const phone = await store.directory.createPhone(accountId, { number: '+33198765432', name: 'Desk', internalNumber: 101 });
    expect(await store.ingest.phoneRefs(accountId)).toEqual([{ id: phone.id, employeeId: null, number: '+33198765432', internalNumber: 101 }]);
    expect(await store.ingest.bulkLoad(async () => 'loaded')).toBe('loaded');
  });
});

describeEngines('the one writer of a call row, through click-to-call', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  it('writes the finished call under the id given at the start, searchable, once', async () => {
    const accountId = (await store.accounts.create({ name: 'C2C' })).id;
    const phone = await store.directory.createPhone(accountId, { number: '+33198765432', name: 'Desk' });
    const id = await store.clickCalls.reserveId();
    const now = Date.now();
    await store.clickCalls.create(
      {
        accountId, id, phoneId: phone.id, employeeId: null, callerNumber: '+33198765432', targetNumber: '+33 7 22 22 22 22',
        status: 'ringing', failure: null, sipCode: null, endedBy: null, startedAt: now, phoneAnsweredAt: null, answeredAt: null, endedAt: null,
      },
      [],
    );
    const call = resolved(`c2c_${id}`, '2024-07-06T10:00:00Z', { callerNumber: '+33198765432', targetNumber: '+33 7 22 22 22 22', searchNumbers: '33198765432 33722222222' });
    expect(await store.clickCalls.finish(accountId, id, { status: 'ended', endedAt: now }, call, [])).toBe(true);
    expect(await store.clickCalls.finish(accountId, id, { status: 'ended', endedAt: now }, call, [])).toBe(false);
    expect((await store.calls.get(accountId, id)).target_number).toBe('+33 7 22 22 22 22');
    const found = await store.calls.list(
      accountId,
      { ...ALL, search: { kind: 'number', digits: '722222222' } },
      10,
      null,
    );
    expect(found.calls.map((c) => c.id)).toEqual([id]);
    // The next call the table numbers itself comes after it.
    const [next] = await store.ingest.insertCalls(accountId, [deriveCall(callInput({ start: '2024-07-06T11:00:00Z' }))]);
    expect(next).toBeGreaterThan(id);
  });
});
