import { afterAll, beforeAll, expect, it, onTestFinished, vi } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * A long export must not hold up other requests: on SQLite the store answers
 * on the event loop's own thread, so the export walk has to give the loop a
 * turn between its batches. Shown by the order of events, never by timing.
 */

const WINDOW = 'start_time=2024-01-01T00:00:00Z&end_time=2024-12-31T23:59:59Z';
const CALLS = 6000;

describeEngines('an export and other requests', (engine) => {
  let h: ApiHarness;
  let base: string;
  let token: string;

  beforeAll(async () => {
    h = await createHarness(engine);
    const start = Date.parse('2024-01-01T00:00:00Z') / 1000;
    const calls = Array.from({ length: CALLS }, (_, i) =>
      callInput({ start: new Date((start + i * 600) * 1000).toISOString(), callerName: `Caller ${i}` }),
    );
    for (let i = 0; i < calls.length; i += 2000) await h.insert(calls.slice(i, i + 2000));
    token = await h.token('calls.read');
    base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);
  afterAll(async () => h?.close());

  it('gives the event loop a turn between batches of the walk', async () => {
    const filter = { startTime: Date.parse('2024-01-01T00:00:00Z') / 1000, endTime: Date.parse('2024-12-31T23:59:59Z') / 1000, employeeIds: null, tagIds: null, callTypes: null, search: null };
    const walk = h.store.exportCalls(h.accountId, filter, 100);
    let turns = 0;
    let batches = 0;
    let batchesWithoutTurn = 0;
    for await (const batch of walk) {
      expect(batch.length).toBeGreaterThan(0);
      batches++;
      if (batches > 1 && turns === 0) batchesWithoutTurn++;
      turns = 0;
      // Runs only if the walk lets the event loop go round before its next batch.
      setImmediate(() => turns++);
      if (batches === 10) break;
    }
    expect(batches).toBe(10);
    expect(batchesWithoutTurn).toBe(0);
  });

  it('serves a list sent during a long export before the export ends', async () => {
    // SQLite walks with its own (small) batches; PostgreSQL's would take this
    // store in two, which would not make a long export.
    if (engine === 'postgres') {
      const original = h.store.exportCalls.bind(h.store);
      const spy = vi
        .spyOn(h.store, 'exportCalls')
        .mockImplementation((accountId, filter, _size, fields) => original(accountId, filter, 300, fields));
      onTestFinished(() => spy.mockRestore());
    }
    const auth = { authorization: `Bearer ${token}` };
    const events: string[] = [];
    const exported = await fetch(`${base}/api/v2/calls/export?format=ndjson&${WINDOW}`, { headers: auth });
    expect(exported.status).toBe(200);
    // The export has started (its first batch is read); read it as fast as it comes.
    let lines = 0;
    const drained = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of exported.body!) lines += decoder.decode(chunk, { stream: true }).split('\n').length - 1;
      events.push('export ended');
    })();
    const listed = fetch(`${base}/api/v2/calls?limit=20&${WINDOW}`, { headers: auth }).then(async (response) => {
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: unknown[] }).data).toHaveLength(20);
      events.push('list answered');
    });
    await Promise.all([drained, listed]);
    expect(lines).toBe(CALLS);
    expect(events).toEqual(['list answered', 'export ended']);
  });
});
