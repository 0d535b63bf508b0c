import { afterAll, beforeAll, expect, it } from 'vitest';
import { deriveCall, type CallInput } from '../../src/domain/call.js';
import type { CallFilter } from '../../src/domain/call-filters.js';
import { callObject, callRowLink, callsJson } from '../../src/store/call-json.js';
import { CALL_COLUMNS, toCallResource, type CallSelection } from '../../src/store/call-resource.js';
import type { Store } from '../../src/store/store.js';
import { describeEngines, openTestStore } from '../helpers/engines.js';
import { at, callInput } from '../helpers/fixture.js';

const ALL: CallFilter = { startTime: 0, endTime: 2e9, employeeIds: null, tagIds: null, callTypes: null, search: null };

/** Names and numbers JSON must escape or keep as they are. */
const AWKWARD = ['Élodie "Lolo" Martin', 'back\\slash', 'tab\there', 'new\nline', '\u0001\u001f control', '日本語 📞', '\u2028\u2029', 'lone \ud800 surrogate', ''];

describeEngines('call JSON', (engine) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: number;
  let firstTag: number;
  beforeAll(async () => {
    ({ store, close } = await openTestStore(engine));
    accountId = (await store.accounts.create({ name: 'JSON' })).id;
    const tagIds: number[] = [];
    for (const name of ['VIP', 'Spam "quoted"', 'Ünïcödé ✓', 'a\\b']) tagIds.push((await store.tags.create(accountId, { name })).id);
    const inputs: Array<ReturnType<typeof deriveCall> & { tagIds?: number[] }> = [];
    const sipCodes = [200, 487, 408, 486, 404, 999];
    for (let i = 0; i < 60; i++) {
      const answered = i % 3 !== 0;
      const input: CallInput = {
        ...callInput({ start: `2024-05-0${1 + (i % 5)}T${String(i % 24).padStart(2, '0')}:0${i % 10}:${String(i % 60).padStart(2, '0')}Z` }),
        direction: i % 2 ? 'outbound' : 'inbound',
        voicemail: !answered && i % 4 === 0,
        callerName: i % 7 === 0 ? null : AWKWARD[i % AWKWARD.length]!,
        callerNumber: `+33 6 ${i} "${AWKWARD[(i + 3) % AWKWARD.length]}"`,
        sipCode: answered ? 200 : sipCodes[i % sipCodes.length]!,
        answeredTime: answered ? at('2024-05-01T00:00:00Z') : null,
        answeredPhoneNumber: answered ? `+33 1 ${i}` : null,
        phoneId: i % 5 === 0 ? null : i,
        answeredPhoneId: i % 6 === 0 ? null : i + 1,
        employeeId: i % 4 === 0 ? null : i + 2,
        playRecordLink: i % 3 === 0 ? null : `https://pbx.example/rec?id=${i}&name="${AWKWARD[i % AWKWARD.length]}"`,
      };
      // answeredTime relative to the call's own start, so that the timestamps stay coherent.
      const start = input.startTime;
      inputs.push({
        ...deriveCall({ ...input, answeredTime: answered ? start + (i % 9) : null, endTime: start + 30 + i }),
        tagIds: tagIds.filter((_, t) => (i >> t) & 1),
      });
    }
    await store.ingest.insertCalls(accountId, inputs);
    firstTag = tagIds[0]!;
  });
  afterAll(() => close?.());

  it('writes each page byte for byte as JSON.stringify of the call objects, with the same next position', async () => {
    const filters: Array<Partial<CallFilter>> = [{}, { callTypes: ['missed', 'voicemail'] }, { tagIds: [1] }, { startTime: at('2024-05-02T00:00:00Z') }];
    let pages = 0;
    for (const extra of filters) {
      const filter = { ...ALL, ...extra };
      if (extra.tagIds) filter.tagIds = [firstTag];
      for (const limit of [7, 1000]) {
        let after = null;
        for (;;) {
          const objects = await store.calls.list(accountId, filter, limit, after);
          const rows = await store.calls.listRows(accountId, filter, limit, after);
          expect(callsJson(rows.rows, rows.tags, rows.rows.map(callRowLink))).toBe(JSON.stringify(objects.calls));
          expect(rows.next).toEqual(objects.next);
          pages++;
          if (!objects.next) break;
          after = objects.next;
        }
      }
    }
    expect(pages).toBeGreaterThan(10);
  });

  it('writes the link it is given in place of the stored one, and an empty page as []', async () => {
    const page = await store.calls.listRows(accountId, ALL, 3, null);
    const links = ['https://sipsim.example/r/"x"', null, 'é'];
    const objects = (await store.calls.list(accountId, ALL, 3, null)).calls.map((call, i) => ({ ...call, play_record_link: links[i]! }));
    expect(callsJson(page.rows, page.tags, links)).toBe(JSON.stringify(objects));
    const empty = await store.calls.listRows(accountId, { ...ALL, endTime: 1 }, 10, null);
    expect(callsJson(empty.rows, empty.tags, [])).toBe('[]');
  });
});

it('writes a synthetic row as toCallResource would, for every type and status', () => {
  const types = ['inbound', 'outbound', 'missed', 'voicemail'];
  const statuses = ['answer', 'cancel', 'no_answer', 'busy', 'unavailable', 'other'];
  for (const type of types) {
    for (const status of statuses) {
      for (const answered of [true, false]) {
        const selection: CallSelection = {
          id: 42,
          call_type: type,
          sip_status: status,
          caller_number: '"+1"',
          caller_name: answered ? null : 'Zoë 😀',
          target_number: 't\\',
          answered_phone_number: answered ? '+2' : null,
          wait_duration_sec: 0,
          duration_sec: answered ? 123 : 0,
          play_record_link: null,
          phone_id: null,
          answered_phone_id: answered ? 7 : null,
          employee_id: 3,
          registration_time: 1714550400,
          start_time: 1714550401,
          answered_time: answered ? 1714550459 : null,
          end_time: 1714636799,
        } as CallSelection;
        const row = CALL_COLUMNS.map((column) => selection[column as keyof CallSelection]);
        const tags = answered ? [{ id: 1, name: 'a"b' }] : [];
        expect(JSON.stringify(callObject(row, tags, 'L'))).toBe(JSON.stringify({ ...toCallResource(selection, tags), play_record_link: 'L' }));
      }
    }
  }
});
