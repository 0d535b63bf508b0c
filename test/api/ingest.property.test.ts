import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEngines } from '../helpers/engines.js';
import { createHarness, type ApiHarness } from '../helpers/fixture.js';

const RUNS = { sqlite: 300, postgres: 120 } as const;

/**
 * Random bodies at every way calls get in: never a 5xx, always the envelope,
 * and whatever is stored is a call the list can serve.
 */
describeEngines('ingest with random bodies', (engine) => {
  let h: ApiHarness;
  let token: string;
  beforeAll(async () => {
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
    // Inputs that once failed a whole batch or were stored as sent (issue 20).
    fc.constantFrom('1990-01-01T00:00:00Z', '2099-12-31T23:59:59Z', '<script>x</script>', '=1+1', '\u001b[31mRED\u0007', 'a\ud800b', Infinity, 1e308),
    fc.integer({ min: -5, max: 2 ** 53 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  );
  const item = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 4 })), { maxKeys: 8 });
  const body = fc.oneof(item, fc.array(item, { maxLength: 4 }), fc.record({ calls: fc.array(item, { maxLength: 3 }) }), fc.jsonValue({ maxDepth: 3 }));
  const targets = ['/api/v2/pbx/events', '/api/v2/calls/import', '/api/v2/pbx/freeswitch/cdr'];

  it('never answers 5xx, and every stored call is served', async () => {
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
      {
        numRuns: RUNS[engine],
        examples: [
          [
            1,
            [
              { pbx_id: 'century', call_type: 'inbound', caller_number: '+33612345678', target_number: '101', start_time: '1990-01-01T00:00:00Z', answered_time: '1990-01-01T00:00:10Z', end_time: '2099-12-31T23:59:59Z' },
              { pbx_id: 'beside', call_type: 'inbound', caller_number: '+33612345678', target_number: '101', start_time: '2025-01-15T10:30:00Z', end_time: '2025-01-15T10:31:00Z' },
            ],
          ],
          [
            0,
            [
              { event: 'incoming_call_start', pbx_id: 'ev-century', caller: '+33612345678', receiver: '101', time: '1990-01-01T00:00:00Z' },
              { event: 'incoming_call_end', pbx_id: 'ev-century', caller: '+33612345678', receiver: '101', time: '2099-12-31T23:59:59Z', duration: 30 },
            ],
          ],
          [0, { event: 'incoming_call_start', pbx_id: 'ev-markup', caller: '<script>x</script>', receiver: '=1+1', time: '2025-01-15T10:30:00Z', caller_name: '\u001b[31mRED' }],
          [1, [{ pbx_id: 'tags', call_type: 'missed', caller_number: '1', target_number: '2', start_time: '2025-01-15T10:30:00Z', end_time: '2025-01-15T10:30:20Z', tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }]],
        ],
      },
    );
    const list = await h.app.inject({
      url: '/api/v2/calls?start_time=1990-01-01T00:00:00Z&end_time=2099-12-31T23:59:59Z&limit=1000',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(list.statusCode).toBe(200);
  }, 180000);

  it('never answers 5xx to a FreeSWITCH CDR sent form-encoded or in base64', async () => {
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a\u0000b', '\u0000', 'x\ud800', '+33612345678', '1736935200', '<b>'));
    const cdr = fc.record({
      variables: fc.record(
        {
          uuid: text,
          caller_id_number: text,
          caller_id_name: text,
          destination_number: text,
          start_epoch: text,
          answer_epoch: text,
          end_epoch: text,
          hangup_cause: fc.constantFrom('NORMAL_CLEARING', 'USER_BUSY', 'x'),
          direction: fc.constantFrom('inbound', 'outbound'),
        },
        { requiredKeys: [] },
      ),
    });
    await fc.assert(
      fc.asyncProperty(cdr, fc.boolean(), async (record, base64) => {
        const json = JSON.stringify(record);
        const r = await h.app.inject({
          method: 'POST',
          url: '/api/v2/pbx/freeswitch/cdr',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
          payload: `cdr=${encodeURIComponent(base64 ? Buffer.from(json).toString('base64') : json)}`,
        });
        expect(r.statusCode, json).toBeLessThan(500);
      }),
      {
        numRuns: RUNS[engine],
        examples: [
          [{ variables: { uuid: 'nul', caller_id_number: '+33612345678', caller_id_name: 'a\u0000b', destination_number: '101', start_epoch: '1736935200', end_epoch: '1736935260', hangup_cause: 'NORMAL_CLEARING', direction: 'inbound' } }, true],
          [{ variables: { uuid: 'nul2', caller_id_number: '+33612345678\u0000', destination_number: '101', start_epoch: '1736935200', end_epoch: '1736935260', hangup_cause: 'NORMAL_CLEARING', direction: 'inbound' } }, false],
        ],
      },
    );
  }, 180000);
});
