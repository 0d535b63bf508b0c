import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallResource } from '../../src/domain/call.js';
import { formatDateTime, zoneOffsetSeconds } from '../../src/domain/time.js';
import { hoursOfWindow, offsetSegments } from '../../src/reports/call-report.js';
import { describeEngines } from '../helpers/engines.js';
import { at, createHarness, type ApiHarness } from '../helpers/fixture.js';
import type { CallInput } from '../../src/domain/call.js';

/** Half an hour off UTC, with summer time: hours start at half past in UTC, and 9 March 2025 has 23 of them. */
const ZONE = 'America/St_Johns';

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** What a client computes from GET /api/v2/calls, following docs/dashboard.md, without the server's code. */
function clientFigures(calls: CallResource[]) {
  const hourOf = (iso: string) => {
    const t = Date.parse(iso) / 1000;
    const offset = zoneOffsetSeconds(t, ZONE);
    return formatDateTime(t - (((t + offset) % 3600) + 3600) % 3600);
  };
  const perHour = new Map<string, Record<string, number>>();
  for (const c of calls) {
    const hour = hourOf(c.start_time);
    const row = perHour.get(hour) ?? { total: 0, incoming: 0, outgoing: 0, inbound: 0, outbound: 0, missed: 0, voicemail: 0 };
    row.total! += 1;
    row[c.call_type === 'outbound' ? 'outgoing' : 'incoming']! += 1;
    row[c.call_type]! += 1;
    perHour.set(hour, row);
  }
  const incoming = calls.filter((c) => c.call_type !== 'outbound');
  const answered = incoming.filter((c) => c.answered);
  const waits = answered.map((c) => c.wait_duration_sec).sort((a, b) => a - b);
  const rank = (p: number) => (waits.length ? waits[Math.ceil(p * waits.length) - 1]! : null);
  const employees = new Map<number, { employee_id: number; calls: number; answered: number; talk_time_sec: number }>();
  for (const c of calls) {
    if (c.employee_id === null) continue;
    const e = employees.get(c.employee_id) ?? { employee_id: c.employee_id, calls: 0, answered: 0, talk_time_sec: 0 };
    e.calls += 1;
    if (c.answered) e.answered += 1;
    e.talk_time_sec += c.duration_sec;
    employees.set(c.employee_id, e);
  }
  const longest = calls
    .filter((c) => c.duration_sec > 0)
    .sort((a, b) => b.duration_sec - a.duration_sec || Date.parse(b.start_time) - Date.parse(a.start_time) || b.id - a.id)
    .slice(0, 10);
  return {
    total_calls: calls.length,
    incoming_calls: incoming.length,
    answered_incoming_calls: answered.length,
    answer_rate: incoming.length ? answered.length / incoming.length : null,
    wait_p50_sec: rank(0.5),
    wait_p90_sec: rank(0.9),
    perHour,
    employees: [...employees.values()]
      .sort((a, b) => b.calls - a.calls || a.employee_id - b.employee_id)
      .map((e) => ({ ...e, avg_duration_sec: e.answered ? Math.round(e.talk_time_sec / e.answered) : null })),
    longest,
  };
}

/**
 * The Reports page's figures equal what a client computes from the calls list
 * for the same window, in the account's zone (one whose hours start at half
 * past in UTC), across a change to summer time (a 23-hour day), on both engines.
 */
describeEngines('dashboard reports', (engine) => {
  let h: ApiHarness;
  let accountId: number;
  let token: string;
  const employeeNames = new Map<number, string>();

  beforeAll(async () => {
    h = await createHarness(engine);
    accountId = (await h.store.createAccount({ name: 'Newfoundland office', timezone: ZONE })).id;
    token = await h.token('calls.read', accountId);
    for (const name of ['Ana', 'Bruno', 'Chloé']) {
      const e = await h.store.createEmployee(accountId, { name });
      employeeNames.set(e.id, name);
    }
    const employeeIds = [...employeeNames.keys()];
    const next = random(engine === 'sqlite' ? 7 : 11);
    const calls: CallInput[] = [];
    // 8 March 2025 12:00 to 10 March 12:00 UTC: St John's moves to summer time on the 9th at 05:30 UTC.
    const start = at('2025-03-08T12:00:00Z');
    for (let i = 0; i < 400; i++) {
      const startTime = start + Math.floor(next() * 48 * 3600);
      const direction = next() < 0.7 ? 'inbound' : 'outbound';
      const answered = next() < 0.75;
      const wait = 1 + Math.floor(next() * 40);
      const talk = Math.floor(next() * 900);
      calls.push({
        direction,
        voicemail: direction === 'inbound' && !answered && next() < 0.3,
        callerNumber: `+3361234${String(i).padStart(4, '0')}`,
        targetNumber: '+33198765432',
        sipCode: answered ? 200 : 486,
        employeeId: next() < 0.85 ? employeeIds[Math.floor(next() * employeeIds.length)]! : null,
        startTime,
        answeredTime: answered ? startTime + wait : null,
        endTime: answered ? startTime + wait + talk : startTime + wait,
      });
    }
    // A call in another account at the same times counts nowhere here.
    await h.insert([{ ...calls[0]!, callerNumber: '+33600000000' }]);
    await h.insert(calls, accountId);
  });
  afterAll(() => h?.close());

  const allCalls = async (from: string, to: string): Promise<CallResource[]> => {
    const out: CallResource[] = [];
    let page: string | undefined;
    do {
      const query = new URLSearchParams({ start_time: from, end_time: to, limit: '1000', ...(page ? { page } : {}) });
      const response = await h.app.inject({ method: 'GET', url: `/api/v2/calls?${query}`, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(200);
      out.push(...response.json().data);
      page = response.json().pagination.page;
    } while (page);
    return out;
  };

  const report = async (from: string, to: string) => {
    const response = await h.app.inject({
      method: 'GET',
      url: `/dashboard/api/reports?${new URLSearchParams({ from, to })}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().data;
  };

  it.each([
    ['the day of the change to summer time, in St John\'s', '2025-03-09T00:00:00-03:30', '2025-03-09T23:59:59-02:30', 23],
    ['a whole local day before it', '2025-03-08T00:00:00-03:30', '2025-03-08T23:59:59-03:30', 24],
    ['an odd window with fractional ends', '2025-03-08T13:17:09.5Z', '2025-03-10T09:03:00.25Z', 45],
  ])('gives the figures the calls list gives over %s', async (_name, from, to, hours) => {
    const [data, calls] = await Promise.all([report(from, to), allCalls(from, to)]);
    const expected = clientFigures(calls);
    expect(calls.length).toBeGreaterThan(50);
    expect(data.timezone).toBe(ZONE);
    expect(data.total_calls).toBe(expected.total_calls);
    expect(data.incoming_calls).toBe(expected.incoming_calls);
    expect(data.answered_incoming_calls).toBe(expected.answered_incoming_calls);
    expect(data.answer_rate).toBe(expected.answer_rate);
    expect(data.wait_p50_sec).toBe(expected.wait_p50_sec);
    expect(data.wait_p90_sec).toBe(expected.wait_p90_sec);
    expect(data.calls_per_hour).toHaveLength(hours);
    const nonZero = Object.fromEntries(data.calls_per_hour.filter((r: { total: number }) => r.total > 0).map(({ hour, ...rest }: { hour: string }) => [hour, rest]));
    expect(nonZero).toEqual(Object.fromEntries(expected.perHour));
    expect(data.missed_per_hour).toEqual(data.calls_per_hour.map((r: { hour: string; missed: number }) => ({ hour: r.hour, missed: r.missed })));
    expect(data.employees).toEqual(expected.employees.map((e) => ({ ...e, name: employeeNames.get(e.employee_id) })));
    expect(data.longest_calls).toEqual(expected.longest);
  });

  it('starts each hour on the local hour, and has 23 of them on the day summer time begins', async () => {
    const data = await report('2025-03-09T00:00:00-03:30', '2025-03-09T23:59:59-02:30');
    const hours = data.calls_per_hour.map((r: { hour: string }) => r.hour);
    expect(hours[0]).toBe('2025-03-09T03:30:00Z');
    expect(hours[1]).toBe('2025-03-09T04:30:00Z');
    // 05:30 UTC is 03:00 local: the local 02:00 hour does not exist.
    expect(hours[2]).toBe('2025-03-09T05:30:00Z');
    expect(hours[22]).toBe('2025-03-10T01:30:00Z');
  });

  it('refuses a window without its ends, with an end before its start, or over 366 days', async () => {
    for (const query of ['', 'from=2025-03-30T00:00:00Z', 'from=yesterday&to=2025-03-30T00:00:00Z', 'from=2025-03-30T00:00:00Z&to=2025-03-29T00:00:00Z', 'from=2024-01-01T00:00:00Z&to=2025-03-01T00:00:00Z']) {
      const response = await h.app.inject({ method: 'GET', url: `/dashboard/api/reports?${query}`, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().code).toBe('INVALID_PARAMETER');
    }
  });

  it('needs calls.read', async () => {
    const other = await h.token('tags.read', accountId);
    const response = await h.app.inject({ method: 'GET', url: '/dashboard/api/reports?from=2025-03-30T00:00:00Z&to=2025-03-31T00:00:00Z', headers: { authorization: `Bearer ${other}` } });
    expect(response.statusCode).toBe(403);
  });
});

describe('report hours', () => {
  it('follow a zone with a half-hour offset and the fall back to winter time', () => {
    // Paris, the night summer time ends: the local 02:00 hour happens twice, 25 hours in the day.
    const from = at('2025-10-26T00:00:00+02:00');
    const to = at('2025-10-26T23:59:59+01:00');
    expect(hoursOfWindow(from, to, offsetSegments(from, to, 'Europe/Paris'))).toHaveLength(25);
    // India is UTC+05:30 all year: its hours start at half past in UTC.
    const f = at('2025-01-01T00:00:00+05:30');
    const hours = hoursOfWindow(f, f + 3 * 3600 - 1, offsetSegments(f, f + 3 * 3600 - 1, 'Asia/Kolkata'));
    expect(hours.map(formatDateTime)).toEqual(['2024-12-31T18:30:00Z', '2024-12-31T19:30:00Z', '2024-12-31T20:30:00Z']);
  });
});
