import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, engineAvailable } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

const RUNS = { sqlite: 300, postgres: 120 } as const;

/**
 * Random bodies at every way calls get in: never a 5xx, always the envelope,
 * and whatever is stored is a call the list can serve.
 */
describe.each(ENGINES)('ingest with random bodies on %s', (engine) => {
  let h: ApiHarness;
  let token: string;
  beforeAll(async () => {
    if (!engineAvailable(engine)) return;
    h = await createHarness(engine);
    token = await h.token();
    await h.store.createPhone(h.accountId, { number: '+33198765432', name: 'Sales', internalNumber: 101 });
  });
  afterAll(() => h?.close());

  const key = fc.oneof(
    fc.constantFrom('event', 'pbx_id', 'caller', 'receiver', 'time', 'duration', 'status', 'sip_code', 'audio_path', 'caller_name'),
    fc.constantFrom('start_time', 'end_time', 'answered_time', 'call_type', 'caller_number', 'target_number', 'tags', 'id', 'answered', 'duration_sec'),
    fc.constantFrom('variables', 'cdr', 'uuid', 'start_epoch', 'answer_epoch', 'end_epoch', 'hangup_cause', '__proto__'),
    fc.string({ maxLength: 8 }),
  );
  const leaf = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('incoming_call_start', 'incoming_call_end', 'voicemail', 'ANSWER', 'BUSY', 'inbound', 'missed', '+33612345678', '101', '\u0000'),
    fc.constantFrom('2025-01-15T10:30:00Z', '2025-01-15T10:30:00.123456+01:00', '1736935200', '2025-02-30T00:00:00Z', '99999-01-01T00:00:00Z'),
    fc.integer({ min: -5, max: 2 ** 53 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  );
  const item = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 4 })), { maxKeys: 8 });
  const body = fc.oneof(item, fc.array(item, { maxLength: 4 }), fc.record({ calls: fc.array(item, { maxLength: 3 }) }), fc.jsonValue({ maxDepth: 3 }));
  const targets = ['/api/v2/pbx/events', '/api/v2/calls/import', '/api/v2/pbx/freeswitch/cdr'];

  it.skipIf(!engineAvailable(engine))('never answers 5xx, and every stored call is served', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 2 }), body, async (which, payload) => {
        const url = targets[which]!;
        const r = await h.app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        expect(r.statusCode, JSON.stringify(payload)).toBeLessThan(500);
        const answer = r.json();
        expect(answer.status).toBe(r.statusCode);
        if (r.statusCode >= 400) {
          expect(r.statusCode).toBe(400);
          expect(answer.errors.length).toBeGreaterThan(0);
          expect(answer.path).toBe(url);
        }
      }),
      { numRuns: RUNS[engine] },
    );
    const list = await h.app.inject({
      url: '/api/v2/calls?start_time=1990-01-01T00:00:00Z&end_time=2099-12-31T23:59:59Z&limit=1000',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(list.statusCode).toBe(200);
  }, 180000);
});
