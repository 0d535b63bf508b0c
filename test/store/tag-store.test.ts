import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveCall } from '../../src/domain/call.js';
import { DUPLICATE_TAG, tagNameKey } from '../../src/domain/directory.js';
import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { tagsMessage } from '../../src/domain/webhook-messages.js';
import type { Store } from '../../src/store/store.js';
import type { RetaggedCall, RetagWebhooks } from '../../src/store/tag-store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput } from '../helpers/fixture.js';

/** Webhooks that record which calls they were given, as the tag service's do. */
function recording(): RetagWebhooks & { seen: RetaggedCall[][] } {
  const seen: RetaggedCall[][] = [];
  return {
    seen,
    event: 'tags',
    messages: (calls) => {
      seen.push(calls);
      return calls.map((call) => tagsMessage(call, call.tagNames, 1_700_000_000));
    },
  };
}

describeEngines('tag store', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  async function account(subscribed: boolean) {
    const { id } = await store.accounts.create({ name: 'Tags' });
    if (subscribed) await store.webhooks.setUrl(id, 'https://hooks.example/sipsim', ['tags']);
    return id;
  }
  const outbox = async (accountId: number) =>
    (await store.webhooks.list(accountId, { limit: 100 })).reverse().map((d) => ({ event: d.event, pbxId: d.pbxId, tags: JSON.parse(d.body).tags }));
  const tagIdsOf = async (accountId: number, callId: number) => (await store.calls.get(accountId, callId)).tags.map((t) => t.id);

  it('creates, reads, lists in pages, updates and deletes tags', async () => {
    const accountId = await account(false);
    const a = await store.tags.create(accountId, { name: 'Alpha' });
    expect(a).toEqual({ id: a.id, accountId, name: 'Alpha', color: '#6B7280', description: null });
    const b = await store.tags.create(accountId, { name: 'Beta', color: '#FF0000', description: 'second' });
    expect(await store.tags.get(accountId, b.id)).toEqual(b);
    const first = await store.tags.list(accountId, 1, null);
    expect(first).toEqual({ items: [a], next: a.id });
    expect(await store.tags.list(accountId, 1, first.next)).toEqual({ items: [b], next: null });
    const webhooks = recording();
    expect(await store.tags.update(accountId, b.id, { color: '#00FF00', description: null }, webhooks)).toMatchObject({ name: 'Beta', color: '#00FF00', description: null });
    await store.tags.delete(accountId, a.id, webhooks);
    expect((await store.tags.list(accountId, 10, null)).items.map((t) => t.name)).toEqual(['Beta']);
  });

  it('says NotFound for a tag the account does not have, and Conflict for a taken name whatever its case', async () => {
    const accountId = await account(false);
    const other = await account(false);
    const tag = await store.tags.create(accountId, { name: 'Follow-up' });
    await store.tags.create(accountId, { name: 'Later' });
    const webhooks = recording();
    await expect(store.tags.get(other, tag.id)).rejects.toEqual(new NotFoundError('Tag'));
    await expect(store.tags.update(other, tag.id, { name: 'x' }, webhooks)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.tags.delete(other, tag.id, webhooks)).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.tags.create(accountId, { name: 'FOLLOW-UP' })).rejects.toEqual(new ConflictError(DUPLICATE_TAG));
    await expect(store.tags.update(accountId, tag.id, { name: 'later' }, webhooks)).rejects.toBeInstanceOf(ConflictError);
    expect((await store.tags.get(accountId, tag.id)).name).toBe('Follow-up');
    await expect(store.tags.create(other, { name: 'Follow-up' })).resolves.toMatchObject({ name: 'Follow-up' });
  });

  it('adds, removes and replaces the tags of a call, all or nothing', async () => {
    const accountId = await account(false);
    const [x, y, z] = [
      (await store.tags.create(accountId, { name: 'X' })).id,
      (await store.tags.create(accountId, { name: 'Y' })).id,
      (await store.tags.create(accountId, { name: 'Z' })).id,
    ];
    const [callId] = await store.ingest.insertCalls(accountId, [deriveCall(callInput({ start: '2024-06-01T10:00:00Z' }))]);
    const webhooks = recording();
    await store.tags.changeOnCall(accountId, callId!, { add: [x, y, x] }, webhooks);
    expect(await tagIdsOf(accountId, callId!)).toEqual([x, y]);
    await store.tags.changeOnCall(accountId, callId!, { remove: [x] }, webhooks);
    expect(await tagIdsOf(accountId, callId!)).toEqual([y]);
    await store.tags.changeOnCall(accountId, callId!, { replace: [z] }, webhooks);
    expect(await tagIdsOf(accountId, callId!)).toEqual([z]);
    await expect(store.tags.changeOnCall(accountId, callId!, { add: [x, 987654] }, webhooks)).rejects.toEqual(new NotFoundError('Tag'));
    await expect(store.tags.changeOnCall(accountId, 987654, { add: [x] }, webhooks)).rejects.toEqual(new NotFoundError('Call'));
    expect(await tagIdsOf(accountId, callId!)).toEqual([z]);
    // A tagged call is found by its tag at once: call_tags carries the call's start time.
    const filter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: [z], callTypes: null, search: null };
    expect((await store.calls.list(accountId, filter, 10, null)).calls.map((c) => c.id)).toEqual([callId]);
    // Nobody subscribes: the calls are not even read for webhooks.
    expect(webhooks.seen).toEqual([]);
  });

  it('queues a tags webhook for each call whose tags changed, in the same transaction, when the account subscribes', async () => {
    const accountId = await account(true);
    const vip = (await store.tags.create(accountId, { name: 'VIP' })).id;
    const spare = (await store.tags.create(accountId, { name: 'Spare' })).id;
    const [first, second] = await store.ingest.insertCalls(accountId, [
      { ...deriveCall({ ...callInput({ start: '2024-06-02T10:00:00Z' }), pbxId: 'pbx-1' }), tagIds: [vip] },
      { ...deriveCall(callInput({ start: '2024-06-02T11:00:00Z' })), tagIds: [vip, spare] },
    ]);
    const webhooks = recording();
    // A change that changes nothing sends nothing.
    await store.tags.changeOnCall(accountId, first!, { add: [vip] }, webhooks);
    await store.tags.update(accountId, vip, { color: '#123456' }, webhooks);
    await store.tags.update(accountId, vip, { name: 'VIP' }, webhooks);
    expect(await outbox(accountId)).toEqual([]);

    await store.tags.changeOnCall(accountId, first!, { add: [spare] }, webhooks);
    await store.tags.update(accountId, vip, { name: 'Key account' }, webhooks);
    await store.tags.delete(accountId, spare, webhooks);
    expect(webhooks.seen.map((calls) => calls.map((c) => c.id))).toEqual([[first], [first, second], [first, second]]);
    expect(webhooks.seen[1]![1]).toEqual({ id: second, pbxId: null, callerNumber: '+33612345678', targetNumber: '+33198765432', tagNames: ['Key account', 'Spare'] });
    expect(await outbox(accountId)).toEqual([
      { event: 'tags', pbxId: 'pbx-1', tags: ['Spare', 'VIP'] },
      { event: 'tags', pbxId: 'pbx-1', tags: ['Key account', 'Spare'] },
      { event: 'tags', pbxId: `call_${second}`, tags: ['Key account', 'Spare'] },
      { event: 'tags', pbxId: 'pbx-1', tags: ['Key account'] },
      { event: 'tags', pbxId: `call_${second}`, tags: ['Key account'] },
    ]);
  });

  it('says which tag names an account has, and counts the calls of each tag', async () => {
    const accountId = await account(false);
    const a = (await store.tags.create(accountId, { name: 'Échange' })).id;
    const b = (await store.tags.create(accountId, { name: 'Other' })).id;
    await store.tags.create(accountId, { name: 'Unused' });
    const keys = ['Échange', 'other', 'missing', 'Other'].map(tagNameKey);
    expect(await store.tags.existingKeys(accountId, keys)).toEqual(new Set([tagNameKey('Échange'), tagNameKey('Other')]));
    await store.ingest.insertCalls(accountId, [
      { ...deriveCall(callInput({ start: '2024-06-03T10:00:00Z' })), tagIds: [a, b] },
      { ...deriveCall(callInput({ start: '2024-06-03T11:00:00Z' })), tagIds: [a] },
    ]);
    expect(await store.tags.callsPerTag(accountId)).toEqual([
      { tagId: a, calls: 2 },
      { tagId: b, calls: 1 },
    ]);
  });
});
