import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCall, directionOf, type CallInput, type CallRow } from '../../src/domain/call.js';
import { formatDateTime, nowSeconds } from '../../src/domain/time.js';
import { describeEngines } from '../helpers/engines.js';
import { CLIENT_TOOLS_READY } from '../helpers/tools.js';
import { at, callInput, createHarness, type ApiHarness } from '../helpers/fixture.js';
import { EXAMPLES_DIR, fillPlaceholders, GUIDE_BASE_URL, lines, listen, readExample, runCurl, runPython, scratchDir } from '../helpers/programs.js';

/**
 * The Calls guide's example programs, run unmodified (but for the base URL and
 * the token) with python3 and curl against a real server on a real port, over
 * a store seeded with known calls. Every printed line is checked against what
 * the seeded data says it must be.
 */

const NUMBER = '+33612345678';
const DAY = 86400;

interface Seeded {
  id: number;
  label: string;
  row: CallRow;
  tagIds: number[];
}

/** The guide's own call object, which the seed gives id 12345 so that `GET /calls/12345` finds it. */
const GUIDE_CALL: CallInput & { tagIds: number[] } = {
  direction: 'inbound',
  callerNumber: NUMBER,
  targetNumber: '+33698765432',
  answeredPhoneNumber: '+33698765432',
  sipCode: 200,
  playRecordLink: 'https://example.com/recordings/call_12345.mp3',
  phoneId: 456,
  answeredPhoneId: 789,
  employeeId: 456,
  registrationTime: at('2024-01-15T10:30:00Z'),
  startTime: at('2024-01-15T10:30:05Z'),
  answeredTime: at('2024-01-15T10:30:10Z'),
  endTime: at('2024-01-15T10:32:10Z'),
  tagIds: [10],
};

/** A call of a given kind, starting at Unix second `start`, talking `talk` seconds when answered. */
function kindOfCall(
  kind: 'inbound' | 'outbound' | 'missed' | 'voicemail',
  start: number,
  talk: number,
  extra: Partial<CallInput> & { tagIds?: number[] } = {},
): CallInput & { tagIds?: number[] } {
  const answered = kind === 'inbound' || kind === 'outbound';
  const base = callInput({ start: formatDateTime(start) });
  return {
    ...base,
    direction: kind === 'outbound' ? 'outbound' : 'inbound',
    voicemail: kind === 'voicemail',
    callerNumber: kind === 'outbound' ? '+33198765432' : `+3314500${String(start % 10000).padStart(4, '0')}`,
    targetNumber: kind === 'outbound' ? `+3378800${String(start % 10000).padStart(4, '0')}` : '+33198765432',
    sipCode: answered ? 200 : kind === 'voicemail' ? 480 : 487,
    answeredTime: answered ? start + 7 : null,
    answeredPhoneNumber: answered ? '+33198765432' : null,
    endTime: answered ? start + 7 + talk : start + 20,
    ...extra,
  };
}

/** The calls of the account under test, as [label, call] pairs, relative to `now`. */
function seedCalls(now: number): Array<[string, CallInput & { tagIds?: number[] }]> {
  const today = Math.floor(now / DAY) * DAY;
  const yesterday = today - DAY;
  return [
    ['guide call', GUIDE_CALL],
    // January 2024, and its edges.
    ['2024 first second, long outbound to the number', kindOfCall('outbound', at('2024-01-01T00:00:00Z'), 1801, { targetNumber: NUMBER, tagIds: [20] })],
    ['2024-01-31 last second, missed', kindOfCall('missed', at('2024-01-31T23:59:59Z'), 0, { employeeId: 123 })],
    ['2024-02-01 first second, long inbound from the number', kindOfCall('inbound', at('2024-02-01T00:00:00Z'), 3600, { callerNumber: NUMBER })],
    ['2023 last second, long', kindOfCall('inbound', at('2023-12-31T23:59:59Z'), 7200, { callerNumber: NUMBER, employeeId: 123, tagIds: [10] })],
    ['voicemail from a near-miss number', kindOfCall('voicemail', at('2024-01-10T09:00:00Z'), 0, { callerNumber: '+33612345679' })],
    ['exactly 30 minutes, two tags', kindOfCall('inbound', at('2024-01-20T14:00:00Z'), 1800, { tagIds: [10, 20] })],
    ['same start as the previous one', kindOfCall('outbound', at('2024-01-20T14:00:00Z'), 60, { employeeId: 789 })],
    ['45 minutes, another tag, named caller', kindOfCall('inbound', at('2024-01-25T08:00:00Z'), 2700, { tagIds: [3], callerName: 'Élodie Martin' })],
    ['national format of the number', kindOfCall('inbound', at('2024-01-26T08:00:00Z'), 90, { callerNumber: '0612345678', employeeId: 124 })],
    ['missed in January', kindOfCall('missed', at('2024-01-27T18:30:00Z'), 0, { tagIds: [20] })],
    // Yesterday (UTC), its edges, and the days around it.
    ['yesterday 00:00:00', kindOfCall('inbound', yesterday, 300)],
    ['yesterday morning, long outbound', kindOfCall('outbound', yesterday + 8 * 3600, 1900, { employeeId: 456 })],
    ['yesterday, missed', kindOfCall('missed', yesterday + 9 * 3600, 0, { callerNumber: NUMBER })],
    ['yesterday, voicemail', kindOfCall('voicemail', yesterday + 10 * 3600, 0)],
    ['yesterday, answered by the number', kindOfCall('inbound', yesterday + 11 * 3600, 65, { answeredPhoneNumber: NUMBER })],
    ['yesterday 23:59:59', kindOfCall('inbound', yesterday + DAY - 1, 200, { tagIds: [10] })],
    ['the day before yesterday, last second', kindOfCall('inbound', yesterday - 1, 400)],
    ['today 00:00:00', kindOfCall('outbound', today, 500)],
    // The last seven days, and beyond.
    ['an hour ago', kindOfCall('inbound', now - 3600, 240)],
    ['three days ago, outbound to the number', kindOfCall('outbound', now - 3 * DAY, 120, { targetNumber: NUMBER })],
    ['just inside seven days', kindOfCall('missed', now - 7 * DAY + 3600, 0)],
    ['just outside seven days', kindOfCall('inbound', now - 7 * DAY - 3600, 100)],
    ['in the future, missed', kindOfCall('missed', now + 2 * 3600, 0, { callerNumber: NUMBER })],
    ['in the future, long', kindOfCall('inbound', now + 3 * 3600, 4000, { employeeId: 123, tagIds: [20] })],
  ];
}

/**
 * Calls of another account, in the same windows and matching every filter, to
 * show that none leaks. There are 12,344 of them and they go in first, so that
 * the account under test's first call gets the guide's id, 12345.
 */
function otherAccountCalls(now: number): Array<CallInput & { tagIds?: number[] }> {
  const starts = [at('2024-01-15T12:00:00Z'), Math.floor(now / DAY) * DAY - DAY / 2, now - 2 * DAY];
  return Array.from({ length: 12344 }, (_, i) =>
    kindOfCall(i % 4 === 0 ? 'missed' : 'inbound', starts[i % 3]! + (i % 500), 2000, {
      callerNumber: NUMBER,
      employeeId: 123,
      tagIds: [10],
    }),
  );
}

describeEngines('the Calls guide examples against a real server', { skipIf: !CLIENT_TOOLS_READY }, (engine) => {
  let h: ApiHarness;
  let base: string;
  let token: string;
  let seeded: Seeded[];
  let scratch: { path: string; remove(): void };
  const now = nowSeconds();

  beforeAll(async () => {
    h = await createHarness(engine);
    scratch = scratchDir('sipsim-e2e-guide-');
    // Tags 1..20, so that the guide's tag ids 10 and 20 exist.
    for (let i = 1; i <= 20; i++) {
      const tag = await h.store.createTag(h.accountId, { name: i === 10 ? 'Important' : i === 20 ? 'Follow-up' : `Tag ${i}` });
      expect(tag.id, 'tag ids of a fresh store start at 1').toBe(i);
    }
    const other = await h.store.createAccount({ name: 'Other Company' });
    await h.insert(otherAccountCalls(now), other.id);

    const calls = seedCalls(now);
    const ids = await h.insert(calls.map(([, call]) => call));
    expect(ids[0], 'the first seeded call has the id the guide uses').toBe(12345);
    seeded = calls.map(([label, call], i) => ({ id: ids[i]!, label, row: deriveCall(call), tagIds: call.tagIds ?? [] }));

    token = await h.token('calls.read');
    base = await listen(h.app);
  });
  afterAll(async () => {
    await h?.close();
    scratch?.remove();
  });

  /** Seeded calls started within [from, to], newest first, as the API lists them. */
  const inWindow = (from: number, to: number, keep: (c: Seeded) => boolean = () => true) =>
    seeded
      .filter((c) => c.row.startTime >= from && c.row.startTime <= to && keep(c))
      .sort((a, b) => b.row.startTime - a.row.startTime || b.id - a.id);

  const example = (name: string) => fillPlaceholders(readExample(name), { [GUIDE_BASE_URL]: base, YOUR_ACCESS_TOKEN: token });

  const python = async (name: string) => {
    const result = await runPython(example(name), scratch.path);
    expect(result.code, `${name} failed:\n${result.stderr}`).toBe(0);
    return lines(result.stdout);
  };

  it('lists the last 7 days as "direction call: caller -> receiver"', async () => {
    const printed = await python('list-last-7-days.py');
    const expected = inWindow(now - 7 * DAY, now).map(
      (c) => `${directionOf(c.row.callType)} call: ${c.row.callerNumber} -> ${c.row.targetNumber}`,
    );
    // Yesterday's 6, today's first second, an hour ago, three days ago, just inside seven days, and the day before yesterday.
    expect(expected.length).toBe(11);
    expect(printed).toEqual(expected);
    expect(printed).toContain(`outbound call: +33198765432 -> ${NUMBER}`);
  });

  it("prints the daily report of yesterday's calls with totals by type and talk minutes", async () => {
    const printed = await python('daily-call-report.py');
    // The date is the program's own "yesterday", which is the seed's unless midnight passed in between.
    const date = /^=== Call Report for (\d{4}-\d{2}-\d{2}) ===$/.exec(printed[0] ?? '')?.[1];
    expect(date, printed.join('\n')).toBeDefined();
    const from = at(`${date}T00:00:00Z`);
    const calls = inWindow(from, from + DAY - 1);
    const count = (type: string) => calls.filter((c) => c.row.callType === type).length;
    const talk = calls.reduce((sum, c) => sum + c.row.durationSec, 0);
    expect(printed).toEqual([
      `=== Call Report for ${date} ===`,
      `Total calls: ${calls.length}`,
      ` Inbound: ${count('inbound')}`,
      ` Outbound: ${count('outbound')}`,
      ` Missed: ${count('missed')}`,
      ` Voicemail: ${count('voicemail')}`,
      `Total talk time: ${Math.floor(talk / 60)} minutes`,
    ]);
    // Unless the run is within an hour of midnight, when "an hour ago" is yesterday too:
    if (date === formatDateTime(Math.floor(now / DAY) * DAY - DAY).slice(0, 10) && now % DAY > 3600 + 60) {
      // Both edges of the day are in; the seconds either side are not.
      expect(printed.slice(1)).toEqual([
        'Total calls: 6',
        ' Inbound: 3',
        ' Outbound: 1',
        ' Missed: 1',
        ' Voicemail: 1',
        `Total talk time: ${Math.floor((300 + 1900 + 65 + 200) / 60)} minutes`,
      ]);
    }
  });

  it('finds the calls longer than 30 minutes since 2024, newest first', async () => {
    const printed = await python('find-long-calls.py');
    const long = inWindow(at('2024-01-01T00:00:00Z'), now, (c) => c.row.durationSec > 1800);
    expect(long.map((c) => c.label)).toEqual([
      'yesterday morning, long outbound',
      '2024-02-01 first second, long inbound from the number',
      '45 minutes, another tag, named caller',
      '2024 first second, long outbound to the number',
    ]);
    expect(printed).toEqual([
      `Found ${long.length} calls longer than 30 minutes:`,
      ...long.map((c) => ` ${c.id}: ${Math.floor(c.row.durationSec / 60)} min - ${c.row.callerNumber} -> ${c.row.targetNumber}`),
    ]);
    expect(printed.at(-1)).toMatch(/^ \d+: 30 min - \+33198765432 -> \+33612345678$/);
  });

  it('exports January 2024 to calls_export.csv in its working directory', async () => {
    const printed = await python('export-to-csv.py');
    const january = inWindow(at('2024-01-01T00:00:00Z'), at('2024-01-31T23:59:59Z'));
    expect(january.length).toBe(9);
    expect(printed).toEqual([`Exported ${january.length} calls to calls_export.csv`]);
    const csv = readFileSync(join(scratch.path, 'calls_export.csv'), 'utf8');
    const expected = [
      'id,call_type,sip_status,caller_number,target_number,duration_sec,start_time,answered',
      ...january.map((c) =>
        [
          c.id,
          c.row.callType,
          c.row.sipStatus,
          c.row.callerNumber,
          c.row.targetNumber,
          c.row.durationSec,
          formatDateTime(c.row.startTime),
          c.row.answered ? 'True' : 'False',
        ].join(','),
      ),
    ];
    expect(csv).toBe(expected.map((line) => `${line}\r\n`).join(''));
    expect(csv).toContain(`12345,inbound,answer,${NUMBER},+33698765432,120,2024-01-15T10:30:05Z,True\r\n`);
  });

  const curl = async (name: string) => {
    const { status, body } = await runCurl(example(name), scratch.path);
    return { status, json: JSON.parse(body) };
  };
  const idsOf = (calls: Seeded[]) => calls.map((c) => c.id);
  const since2024 = (keep?: (c: Seeded) => boolean) => inWindow(at('2024-01-01T00:00:00Z'), now, keep);

  it('curl: lists January 2024 with start_time and end_time', async () => {
    const { status, json } = await curl('list-calls-january.sh');
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 200, pagination: { count: 9, limit: 1000, has_more: false } });
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(inWindow(at('2024-01-01T00:00:00Z'), at('2024-01-31T23:59:59Z'))));
  });

  it('curl: call_types=missed', async () => {
    const { status, json } = await curl('filter-missed.sh');
    expect(status).toBe(200);
    const expected = since2024((c) => c.row.callType === 'missed');
    expect(expected.length).toBe(4);
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(expected));
    expect(new Set(json.data.map((c: { call_type: string }) => c.call_type))).toEqual(new Set(['missed']));
  });

  it('curl: call_types=inbound,outgoing leaves out missed calls and voicemail', async () => {
    const { status, json } = await curl('filter-inbound-outgoing.sh');
    expect(status).toBe(200);
    const expected = since2024((c) => c.row.callType === 'inbound' || c.row.callType === 'outbound');
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(expected));
    expect(new Set(json.data.map((c: { call_type: string }) => c.call_type))).toEqual(new Set(['inbound', 'outbound']));
  });

  it('curl: employees=123,456,789', async () => {
    const { status, json } = await curl('filter-employees.sh');
    expect(status).toBe(200);
    const expected = since2024((c) => [123, 456, 789].includes(c.row.employeeId ?? -1));
    expect(expected.map((c) => c.label).sort()).toEqual(
      ['2024-01-31 last second, missed', 'guide call', 'same start as the previous one', 'yesterday morning, long outbound'].sort(),
    );
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(expected));
  });

  it('curl: tags=10,20 matches calls with either tag, and shows their names', async () => {
    const { status, json } = await curl('filter-tags.sh');
    expect(status).toBe(200);
    const expected = since2024((c) => c.tagIds.includes(10) || c.tagIds.includes(20));
    expect(expected.length).toBe(5);
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(expected));
    const twoTags = json.data.find((c: { id: number }) => c.id === seeded.find((s) => s.label === 'exactly 30 minutes, two tags')!.id);
    expect(twoTags.tags).toEqual([
      { id: 20, name: 'Follow-up' },
      { id: 10, name: 'Important' },
    ]);
  });

  it('curl: search=+33612345678 (the + arrives as a space) finds the number as caller, target or answering phone', async () => {
    const { status, json } = await curl('search-number.sh');
    expect(status).toBe(200);
    const digits = NUMBER.slice(1);
    const expected = since2024((c) =>
      [c.row.callerNumber, c.row.targetNumber, c.row.answeredPhoneNumber].some((n) => (n ?? '').replace(/\D/g, '').includes(digits)),
    );
    expect(expected.map((c) => c.label).sort()).toEqual(
      [
        'guide call',
        '2024 first second, long outbound to the number',
        '2024-02-01 first second, long inbound from the number',
        'yesterday, missed',
        'yesterday, answered by the number',
        'three days ago, outbound to the number',
      ].sort(),
    );
    expect(json.data.map((c: { id: number }) => c.id)).toEqual(idsOf(expected));
  });

  it('curl: GET /calls/12345 returns the guide call object', async () => {
    const { status, json } = await curl('get-call.sh');
    expect(status).toBe(200);
    expect(json.status).toBe(200);
    expect(json.data).toMatchObject({
      id: 12345,
      call_type: 'inbound',
      sip_status: 'answer',
      caller_number: '+33612345678',
      target_number: '+33698765432',
      answered_phone_number: '+33698765432',
      answered: true,
      wait_duration_sec: 5,
      duration_sec: 120,
      play_record_link: 'https://example.com/recordings/call_12345.mp3',
      phone_id: 456,
      answered_phone_id: 789,
      registration_time: '2024-01-15T10:30:00Z',
      start_time: '2024-01-15T10:30:05Z',
      answered_time: '2024-01-15T10:30:10Z',
      end_time: '2024-01-15T10:32:10Z',
      tags: [{ id: 10, name: 'Important' }],
    });
  });

  it('curl: a call of another account is a 404 in the error envelope', async () => {
    const { status, json } = await runCurl(
      `curl "${base}/api/v2/calls/1" -H "Authorization: Bearer ${token}"`,
      scratch.path,
    ).then((r) => ({ status: r.status, json: JSON.parse(r.body) }));
    expect(status).toBe(404);
    expect(json).toMatchObject({ status: 404, path: '/api/v2/calls/1' });
    expect(json.errors.length).toBeGreaterThan(0);
  });
});

describe('the example fixtures', () => {
  const guide = '/work/shared/spec/calls-api-v2.txt';
  const normalise = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  it.skipIf(!existsSync(guide))('are verbatim copies of the Calls guide (leading whitespace aside)', () => {
    const guideLines = normalise(readFileSync(guide, 'utf8'));
    const fixtures = readdirSync(EXAMPLES_DIR).filter((f) => /\.(py|sh)$/.test(f) && f !== 'python-client-flow.py');
    expect(fixtures.length).toBe(11);
    for (const name of fixtures) {
      const fixture = normalise(readExample(name));
      const found = guideLines.some((_, i) => fixture.every((line, j) => guideLines[i + j] === line));
      expect(found, `${name} is not in the guide as written`).toBe(true);
    }
  });
});
