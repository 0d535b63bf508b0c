import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestEvents } from '../../src/ingest/ingest.js';
import { EventBatches } from '../../src/store/event-batch.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';

describe('event batches', () => {
  it('writes the requests that wait together in one batch, in the order they came, and answers each with its own result', async () => {
    const batches: number[][] = [];
    const batcher = new EventBatches<number, string>(1, {
      batch: async (jobs) => {
        batches.push(jobs);
        await new Promise((r) => setTimeout(r, 5));
        return jobs.map((j) => `done ${j}`);
      },
      one: async (job) => {
        batches.push([job]);
        return `done ${job}`;
      },
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => batcher.submit('call', i)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => `done ${i}`));
    expect(batches.flat()).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(batches.length).toBeLessThan(20);
  });

  it('writes a failed batch again one request at a time, so that only the bad request fails', async () => {
    const written: number[] = [];
    const batcher = new EventBatches<number, number>(1, {
      batch: async (jobs) => {
        if (jobs.includes(3)) throw new Error('bad job in the batch');
        written.push(...jobs);
        return jobs;
      },
      one: async (job) => {
        if (job === 3) throw new Error('bad job');
        written.push(job);
        return job;
      },
    });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => batcher.submit('k', i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(written).toEqual([0, 1, 2, 4, 5]);
  });

  it('keeps the jobs of one key in their order across several queues', async () => {
    const seen = new Map<string, number[]>();
    const batcher = new EventBatches<{ key: string; n: number }, void>(4, {
      batch: async (jobs) => {
        await new Promise((r) => setTimeout(r, 1));
        for (const j of jobs) seen.set(j.key, [...(seen.get(j.key) ?? []), j.n]);
        return jobs.map(() => undefined);
      },
      one: async (j) => {
        seen.set(j.key, [...(seen.get(j.key) ?? []), j.n]);
      },
    });
    const jobs = Array.from({ length: 200 }, (_, i) => ({ key: `call-${i % 7}`, n: i }));
    await Promise.all(jobs.map((j) => batcher.submit(j.key, j)));
    for (let k = 0; k < 7; k++) expect(seen.get(`call-${k}`)).toEqual(jobs.filter((j) => j.key === `call-${k}`).map((j) => j.n));
  });
});

describeEngines('live events posted at once', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
  });
  afterAll(() => close?.());

  const eventsOf = (c: number) => {
    const t = Date.UTC(2025, 2, 3, 9, 0, 0) / 1000 + c * 100;
    const caller = `+3361234${String(c).padStart(4, '0')}`;
    return [
      { event: 'incoming_call_start', pbx_id: `b-${c}`, caller, receiver: '+33198765432', time: t },
      { event: 'incoming_call_answer', pbx_id: `b-${c}`, caller, receiver: '+33198765499', time: t + 4 },
      { event: 'incoming_call_end', pbx_id: `b-${c}`, caller, receiver: '+33198765432', time: t + 64, duration: 60, status: 'ANSWER' },
    ];
  };

  it('stores every event and builds every call whole, whatever order the requests of one call run in', async () => {
    const accountId = (await store.accounts.create({ name: 'Batched events' })).id;
    const calls = 40;
    // The events of each call in every order, each in a request of its own, all at once; one bad request among them.
    const requests = Array.from({ length: calls }, (_, c) => (c % 2 ? eventsOf(c).reverse() : eventsOf(c))).flat().map((e) => [e] as unknown[]);
    requests.splice(17, 0, [{ event: 'incoming_call_end', pbx_id: 'b-bad', caller: 'x', receiver: 'y', time: 1 }]);
    const answers = await Promise.all(requests.map((values) => ingestEvents(store, accountId, values)));
    expect(answers.flatMap((a) => a.events.map((e) => e.status)).filter((s) => s === 'accepted')).toHaveLength(calls * 3);
    expect(answers[17]!.events[0]!.status).toBe('rejected');
    const stored = await store.db.selectFrom('pbx_events').select('pbx_id').where('account_id', '=', accountId).execute();
    expect(stored).toHaveLength(calls * 3);
    const rows = await store.db
      .selectFrom('calls')
      .select(['pbx_id', 'start_time', 'answered_time', 'end_time', 'sip_code'])
      .where('account_id', '=', accountId)
      .orderBy('start_time')
      .execute();
    expect(rows.map((r) => ({ ...r, start_time: Number(r.start_time), answered_time: Number(r.answered_time), end_time: Number(r.end_time), sip_code: Number(r.sip_code) }))).toEqual(
      Array.from({ length: calls }, (_, c) => {
        const t = Date.UTC(2025, 2, 3, 9, 0, 0) / 1000 + c * 100;
        return { pbx_id: `b-${c}`, start_time: t, answered_time: t + 4, end_time: t + 64, sip_code: 200 };
      }),
    );
    // Posted again at once: all duplicates, nothing changes.
    const again = await Promise.all(requests.map((values) => ingestEvents(store, accountId, values)));
    expect(again.flatMap((a) => a.events.map((e) => e.status)).filter((s) => s === 'accepted')).toHaveLength(0);
    expect(await store.db.selectFrom('pbx_events').select('pbx_id').where('account_id', '=', accountId).execute()).toHaveLength(calls * 3);
  });
});
