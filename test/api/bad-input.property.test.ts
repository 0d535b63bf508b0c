import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIST_CALLS_PARAMETERS } from '../../src/domain/call-filters.js';
import { ENGINES, engineAvailable } from '../helpers/engines.js';
import { callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';

/**
 * Random query strings against the list endpoint: whatever a client sends, the
 * answer is never a 5xx, and every error comes in the documented envelope.
 */
/** Ten thousand runs on SQLite; fewer on PostgreSQL, where each costs a round trip. */
const RUNS = { sqlite: 10000, postgres: 5000 } as const;

describe.each(ENGINES)('GET /api/v2/calls with random parameters on %s', (engine) => {
  let h: ApiHarness;
  let token: string;
  beforeAll(async () => {
    if (!engineAvailable(engine)) return;
    h = await createHarness(engine);
    token = await h.token();
    await h.insert(Array.from({ length: 30 }, (_, i) => callInput({ start: `2024-01-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z` })));
  });
  afterAll(() => h?.close());

  const name = fc.oneof(
    fc.constantFrom(...LIST_CALLS_PARAMETERS),
    fc.constantFrom('call_type', 'sort', '__proto__', 'constructor', 'start_time[]', ''),
    fc.string({ maxLength: 12 }),
  );
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.integer({ min: -1e12, max: 1e12 }).map(String),
    fc.date({ min: new Date(-1e13), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-31T23:59:59.999999Z', 'inbound,outgoing', 'missed,', '1,2,3', '+33612345678', '%', '%%', '%zz', '\u0000', 'null', '[]', '{}'),
    fc.array(fc.constantFrom('1', 'a', ',', ' ', '-', '9'.repeat(20)), { maxLength: 8 }).map((a) => a.join('')),
  );
  const encode = fc.constantFrom('encode', 'raw');
  const query = fc.array(fc.tuple(name, value, encode), { maxLength: 6 }).map((pairs) =>
    pairs
      .map(([k, v, how]) => (how === 'encode' ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v.replace(/[#\s]/g, '')}`))
      .join('&'),
  );
  const withStart = fc.tuple(fc.boolean(), query).map(([addStart, q]) => (addStart ? `start_time=2024-01-01T00:00:00Z&${q}` : q));

  it.skipIf(!engineAvailable(engine))('never answers 5xx and always uses the envelope', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(withStart, async (q) => {
        runs++;
        const r = await h.app.inject({ url: `/api/v2/calls?${q}`, headers: { authorization: `Bearer ${token}` } });
        expect(r.statusCode, q).toBeLessThan(500);
        const body = r.json();
        expect(body.status).toBe(r.statusCode);
        expect(typeof body.request_id).toBe('string');
        if (r.statusCode === 200) {
          expect(Array.isArray(body.data)).toBe(true);
          expect(body.pagination.count).toBe(body.data.length);
        } else {
          expect([400, 404]).toContain(r.statusCode);
          expect(body.errors.length).toBeGreaterThan(0);
          for (const e of body.errors) expect(typeof e).toBe('string');
          expect(body.path).toBe('/api/v2/calls');
        }
      }),
      { numRuns: RUNS[engine] },
    );
    expect(runs).toBeGreaterThanOrEqual(RUNS[engine]);
  }, 120000);
});
