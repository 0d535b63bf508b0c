import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveCall, type CallResource } from '../../src/domain/call.js';
import { CALL_FIELDS, csvEncoder, DEFAULT_CSV_FIELDS, ndjsonEncoder, type CallField } from '../../src/domain/call-export.js';
import type { CallFilter } from '../../src/domain/call-filters.js';
import { CallStore } from '../../src/store/call-store.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { callInput } from '../helpers/fixture.js';

const ALL: CallFilter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: null, callTypes: null, search: null };

/** Names a CSV must quote, neutralise or leave alone, and JSON must escape. */
const NAMES = [null, 'Élodie Martin', 'O"Brien, Jr.', '=SUM(A1)', '+33 6 11', '-12', '@home', 'line\r\nbreak', 'tab\there', '日本 😀', '', '\\back\\slash', '\u2028sep'];

describeEngines('call export reads', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: number;
  let tagIds: number[];

  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.accounts.create({ name: 'Export' })).id;
    tagIds = [];
    for (const name of ['VIP', 'a, "quoted"', 'Zed', 'élite']) tagIds.push((await store.tags.create(accountId, { name })).id);
    const calls: Parameters<Store['ingest']['insertCalls']>[1] = [];
    for (let i = 0; i < 700; i++) {
      // Several calls share a start time, so that the keyset's tie on id is walked across batches.
      const start = new Date(Date.UTC(2024, 4, 1) + Math.floor(i / 3) * 60_000).toISOString().replace('.000Z', 'Z');
      const answered = i % 4 !== 0;
      const input = callInput({
        start,
        direction: i % 5 === 0 ? 'outbound' : 'inbound',
        voicemail: !answered && i % 8 === 0,
        callerName: NAMES[i % NAMES.length]!,
        callerNumber: i % 7 === 0 ? '=cmd|x' : `+3361234${String(i).padStart(4, '0')}`,
        sipCode: answered ? 200 : [486, 487, 603][i % 3]!,
        answeredTime: answered ? undefined : null,
        answeredPhoneNumber: answered ? undefined : null,
        playRecordLink: i % 6 === 0 ? `https://rec.example/${i}?a=1&b="2"` : null,
        registrationTime: i % 9 === 0 ? null : undefined,
      });
      calls.push({ ...deriveCall(input), tagIds: tagIds.filter((_, t) => (i >> t) % 3 === 0) });
    }
    await store.ingest.insertCalls(accountId, calls);
  });
  afterAll(() => close?.());

  /** The calls as export() walks them without the driver: every read through Kysely, a statement prepared per query, rows as objects. */
  const reference = () => new CallStore(store.db, engine, (operation) => Promise.resolve().then(operation));

  async function walk<F extends keyof CallResource>(calls: CallStore, filter: CallFilter, batchSize: number, fields?: readonly F[]) {
    const batches: Array<Array<Pick<CallResource, F>>> = [];
    for await (const batch of calls.export(accountId, filter, batchSize, fields)) batches.push(batch);
    return batches;
  }

  it('writes the same bytes as reading each batch afresh, in CSV and NDJSON, for varied rows and filters', async () => {
    const filters: CallFilter[] = [
      ALL,
      { ...ALL, tagIds: [tagIds[0]!] },
      { ...ALL, tagIds: [tagIds[1]!, tagIds[3]!] },
      { ...ALL, callTypes: ['missed', 'outbound'] },
      { ...ALL, search: { kind: 'name', text: 'Martin' } },
      { ...ALL, search: { kind: 'number', digits: '1234' } },
      { ...ALL, startTime: Date.UTC(2024, 4, 1, 1) / 1000, endTime: Date.UTC(2024, 4, 1, 3) / 1000 },
    ];
    const csvColumns: CallField[][] = [[...DEFAULT_CSV_FIELDS], [...CALL_FIELDS], ['tags', 'caller_name', 'answered_time', 'play_record_link']];
    for (const filter of filters) {
      for (const batchSize of [9, 500]) {
        const [fresh, reused] = [await walk(reference(), filter, batchSize), await walk(store.calls, filter, batchSize)];
        expect(reused.map((b) => b.length)).toEqual(fresh.map((b) => b.length));
        expect(reused.map((b) => ndjsonEncoder.encode(b)).join('')).toBe(fresh.map((b) => ndjsonEncoder.encode(b)).join(''));
        for (const fields of csvColumns) {
          const encoder = csvEncoder(fields);
          const [a, b] = [await walk(reference(), filter, batchSize, fields), await walk(store.calls, filter, batchSize, fields)];
          expect(b.map((batch) => encoder.encode(batch as CallResource[])).join('')).toBe(a.map((batch) => encoder.encode(batch as CallResource[])).join(''));
        }
      }
    }
    // The rows are varied indeed: every call of ALL, tagged and not, quoted and not.
    const whole = (await walk(store.calls, ALL, 500)).flat();
    expect(whole).toHaveLength(700);
    expect(whole.some((c) => c.tags.length > 1) && whole.some((c) => c.tags.length === 0)).toBe(true);
    expect(csvEncoder(['caller_name']).encode(whole)).toContain('"O""Brien, Jr."');
    // Some 200 walks of small batches: more than the default 30 s on a busy PostgreSQL.
  }, 120_000);
});
