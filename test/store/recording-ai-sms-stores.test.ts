import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_AI_SETTINGS } from '../../src/domain/ai.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

/** The small per-account stores, on each engine: recordings, AI settings and text messages. */
describeEngines('the recording, AI settings and SMS stores', (engine) => {
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

  it('saves a recording, replaces it when pushed again, and marks only the expired file deleted', async () => {
    const first = { accountId, pbxId: 'rec-a', fileName: 'a-1.wav', contentType: 'audio/wav', sizeBytes: 10, createdAt: 1000 };
    expect(await store.recordings.save(first)).toEqual({ ...first, deletedAt: null });
    expect(await store.recordings.find(accountId, 'rec-a')).toEqual({ ...first, deletedAt: null });
    expect(await store.recordings.find(otherId, 'rec-a')).toBeNull();
    const second = { ...first, fileName: 'a-2.wav', sizeBytes: 20, createdAt: 2000 };
    await store.recordings.save(second);
    // The first file's expiry no longer applies: the newer one stays.
    expect(await store.recordings.markDeleted(accountId, 'rec-a', 1000, 3000)).toBe(false);
    expect(await store.recordings.markDeleted(accountId, 'rec-a', 2000, 3000)).toBe(true);
    expect(await store.recordings.find(accountId, 'rec-a')).toEqual({ ...second, deletedAt: 3000 });
  });

  it('answers the default AI settings until the account changes them, then the changes', async () => {
    expect(await store.aiSettings.get(accountId)).toEqual(DEFAULT_AI_SETTINGS);
    const changed = await store.aiSettings.update(accountId, { summaryInstructions: 'Be brief', autoTranscribeMinSec: 60 });
    expect(changed).toMatchObject({ summaryInstructions: 'Be brief', autoTranscribeMinSec: 60, autoTranscribe: false });
    expect(await store.aiSettings.get(accountId)).toEqual(changed);
    expect(await store.aiSettings.get(otherId)).toEqual(DEFAULT_AI_SETTINGS);
  });

  it('stores each text message once, with its webhook, and lists them newest first', async () => {
    const sms = (key: string, time: number) => ({
      key,
      direction: 'inbound' as const,
      caller: '+33100000001',
      receiver: '+33100000002',
      message: `hello ${key}`,
      time,
      webhook: { event: 'sms' as const, pbxId: null, body: JSON.stringify({ key }) },
    });
    const fresh = await store.sms.receive(accountId, [sms('s1', 100), sms('s2', 200), sms('s1', 100)]);
    expect([...fresh.keys()]).toEqual(['s1', 's2']);
    expect((await store.sms.receive(accountId, [sms('s2', 200)])).size).toBe(0);
    expect((await store.sms.list(accountId)).map((m) => m.message)).toEqual(['hello s2', 'hello s1']);
    expect(await store.sms.list(otherId)).toEqual([]);
  });
});
