import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueClient } from '../../src/admin.js';
import { buildApp } from '../../src/api/app.js';
import { alreadyWritten, csvCells, LineSplitter, parseDuration } from '../../src/cli/client.js';
import type { CallInput } from '../../src/domain/call.js';
import { Sipsim, type Call, type CallListParams } from '../../src/sdk/index.js';
import { describeEngines } from '../helpers/engines.js';
import { at, createHarness, TEST_CONFIG, type ApiHarness } from '../helpers/fixture.js';
import { CLI, lines, listen, run, scratchDir, type RunResult } from '../helpers/programs.js';

/**
 * `sipsim calls list|get|long|export` and `sipsim report daily`, run as the
 * built command against a real server on a real port. Every figure they print
 * is checked against what the API answers for the same filters; exports are
 * also killed mid-way and resumed, through the export endpoint and through
 * pages when the server has no such endpoint.
 */

const ZONE = 'Europe/Paris';
type Kind = 'inbound' | 'outbound' | 'missed' | 'voicemail';
type Seed = CallInput & { tagIds?: number[] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A call of a kind: answered ones wait `wait` s then talk `talk` s; the others ring `wait` s. */
function callOf(kind: Kind, start: number, wait: number, talk: number, extra: Partial<Seed> = {}): Seed {
  const answered = kind === 'inbound' || (kind === 'outbound' && talk > 0);
  return {
    direction: kind === 'outbound' ? 'outbound' : 'inbound',
    voicemail: kind === 'voicemail',
    callerNumber: kind === 'outbound' ? '+33198765432' : `+336${String(start % 100000000).padStart(8, '0')}`,
    targetNumber: kind === 'outbound' ? `+337${String(start % 100000000).padStart(8, '0')}` : '+33198765432',
    sipCode: answered ? 200 : kind === 'voicemail' ? 480 : 487,
    answeredTime: answered ? start + wait : null,
    answeredPhoneNumber: answered ? '+33198765432' : null,
    startTime: start,
    endTime: answered ? start + wait + talk : start + wait,
    ...extra,
  };
}

/** Text that CSV must quote or guard. */
const CALLER_NAMES = ['Élodie Martin', 'Smith, John', 'He said "hi"', 'Line one\nline two', '=HYPERLINK("x")', null];
const KINDS: Kind[] = ['inbound', 'inbound', 'outbound', 'missed', 'voicemail', 'inbound', 'outbound'];
const BULK = 3000;
const FEBRUARY = { start_time: '2024-02-01T00:00:00Z', end_time: '2024-02-29T23:59:59Z' };

/** Printed columns of a terminal table: cells are separated by two spaces or more. */
const cells = (line: string) => line.split(/ {2,}/);

/** The local wall-clock time of an instant, by Intl rather than the code under test. */
function wallClock(iso: string, timeZone: string): { text: string; hour: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return { text: `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`, hour: Number(parts.hour) };
}

/** The one duration format of the tables: h:mm:ss. */
const mss = (s: number) => `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;

describe('the pieces of the client commands', () => {
  it('reads --min durations', () => {
    expect(['90s', '30m', '1h30m', '1h', '2h0m5s', '45', '0'].map(parseDuration)).toEqual([90, 1800, 5400, 3600, 7205, 45, 0]);
    expect(['', '5x', 'm', '1.5h', '-3', '30 m'].map(parseDuration)).toEqual([null, null, null, null, null, null]);
  });

  it('splits a stream into whole lines wherever the chunks break, CSV quoted line breaks included', () => {
    const split = (csv: boolean, text: string, size: number) => {
      const splitter = new LineSplitter(csv);
      const got: string[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...splitter.push(text.slice(i, i + size)));
      return [...got, splitter.end()];
    };
    const csvLines = ['caller_name,id\r\n', '"Line one\r\nline two",7\r\n', '"He said ""hi"", twice",6\r\n', '"",5\r\n', 'plain,4\r\n', '"a\n""\n""\n,b",3\r\n'];
    const ndjsonLines = ['{"caller_name":"He said \\"hi"}\n', '{"caller_name":"\\""}\n', '{"id":1}\n'];
    for (let size = 1; size <= 13; size++) {
      expect(split(true, csvLines.join(''), size)).toEqual([...csvLines, '']);
      expect(split(false, ndjsonLines.join(''), size)).toEqual([...ndjsonLines, '']);
      expect(split(true, `${csvLines.join('')}"open\n`, size)).toEqual([...csvLines, '"open\n']);
    }
    expect(csvCells('"He said ""hi"", twice",6,')).toEqual(['"He said ""hi"", twice"', '6', '']);
    expect(csvCells('a,,b')).toEqual(['a', '', 'b']);
  });

  it('counts as written every call at or before the last one in the list order, and no other', () => {
    const last = { start: 1000, id: 50 };
    expect(alreadyWritten({ start: 1001, id: 1 }, last)).toBe(true);
    expect(alreadyWritten({ start: 1000, id: 51 }, last)).toBe(true);
    expect(alreadyWritten({ start: 1000, id: 50 }, last)).toBe(true);
    expect(alreadyWritten({ start: 1000, id: 49 }, last)).toBe(false);
    expect(alreadyWritten({ start: 999, id: 99 }, last)).toBe(false);
    expect(alreadyWritten({ start: 1000, id: 50 }, null)).toBe(false);
  });
});

describeEngines('the client commands', (engine) => {
  let h: ApiHarness;
  let app: FastifyInstance;
  let base: string;
  let api: Sipsim;
  let credentials: { id: string; secret: string };
  let scratch: { path: string; remove(): void };
  const staff: Record<'alice' | 'bob' | 'chloe', number> = { alice: 0, bob: 0, chloe: 0 };
  const tags: Record<'important' | 'support', number> = { important: 0, support: 0 };
  /** How the server misbehaves, test by test. */
  const server = { exportMissing: false, slowExport: false, slowPages: false };

  beforeAll(async () => {
    h = await createHarness(engine);
    scratch = scratchDir('sipsim-e2e-client-');
    const account = await h.store.createAccount({ name: 'Client Co', timezone: ZONE });
    staff.alice = (await h.store.createEmployee(account.id, { name: 'Alice Martin' })).id;
    staff.bob = (await h.store.createEmployee(account.id, { name: 'Bob Durand' })).id;
    staff.chloe = (await h.store.createEmployee(account.id, { name: 'Chloé Petit' })).id;
    tags.important = (await h.store.createTag(account.id, { name: 'Important' })).id;
    tags.support = (await h.store.createTag(account.id, { name: 'Support, level 2' })).id;
    const people = [null, staff.alice, staff.bob, staff.chloe];
    const tagSets = [[], [tags.important], [tags.support], [tags.important, tags.support], []];

    // 2024-03-05 in Paris (UTC+1): 2024-03-04T23:00:00Z to 2024-03-05T22:59:59Z.
    const day: Array<[Kind, string, number, number, number | null, number[]]> = [
      ['inbound', '2024-03-04T22:59:59Z', 5, 60, staff.alice, []], // the day before, locally
      ['missed', '2024-03-04T23:00:00Z', 20, 0, null, []], // local midnight
      ['inbound', '2024-03-05T07:10:00Z', 4, 300, staff.alice, [tags.important]],
      ['inbound', '2024-03-05T07:40:00Z', 12, 1800, staff.bob, []], // exactly 30 minutes
      ['outbound', '2024-03-05T08:05:00Z', 9, 1799, staff.alice, []],
      ['inbound', '2024-03-05T08:15:00Z', 3, 2400, staff.chloe, [tags.support]],
      ['missed', '2024-03-05T08:20:00Z', 25, 0, null, []],
      ['voicemail', '2024-03-05T08:30:00Z', 30, 0, staff.bob, []],
      ['inbound', '2024-03-05T08:45:00Z', 7, 90, staff.bob, [tags.important, tags.support]],
      ['outbound', '2024-03-05T08:59:59Z', 15, 0, staff.chloe, []], // not answered
      ['inbound', '2024-03-05T12:00:00Z', 6, 45, staff.alice, []],
      ['outbound', '2024-03-05T13:30:00Z', 8, 600, staff.chloe, []],
      ['inbound', '2024-03-05T13:31:00Z', 2, 5400, staff.chloe, [tags.important]],
      ['missed', '2024-03-05T16:00:00Z', 40, 0, staff.alice, []],
      ['inbound', '2024-03-05T22:59:59Z', 10, 30, staff.bob, []], // 23:59:59 locally
      ['inbound', '2024-03-05T23:00:00Z', 10, 30, staff.bob, []], // the next day, locally
    ];
    await h.insert(
      day.map(([kind, start, wait, talk, employeeId, tagIds], i) => callOf(kind, at(start), wait, talk, { employeeId, tagIds, callerName: CALLER_NAMES[i % 6] })),
      account.id,
    );

    // February: several calls in most seconds, so that a page or a kill often falls inside one.
    const bulk: Seed[] = [];
    for (let t = at('2024-02-10T08:00:00Z'), group = 0; bulk.length < BULK; t += 240 + (group % 5) * 60, group++) {
      for (let k = 0; k < 3 + (group % 4) && bulk.length < BULK; k++) {
        const i = bulk.length;
        bulk.push(
          callOf(KINDS[i % 7]!, t, 3 + (i % 20), (i * 397) % 4000, {
            employeeId: people[i % 4],
            tagIds: tagSets[i % 5],
            callerName: CALLER_NAMES[i % 6],
          }),
        );
      }
    }
    for (let i = 0; i < bulk.length; i += 500) await h.insert(bulk.slice(i, i + 500), account.id);

    const issued = await issueClient(h.store, account.id);
    credentials = { id: issued.client.clientId, secret: issued.clientSecret };

    app = buildApp({ store: h.store, config: TEST_CONFIG });
    app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      if (server.exportMissing && path === '/api/v2/calls/export') {
        return reply.code(404).send({ status: 404, errors: ['Route GET:/api/v2/calls/export not found'], request_id: request.id, path });
      }
      if (server.slowPages && path === '/api/v2/calls') await sleep(400);
    });
    // A slow network: the export's bytes in small pieces, cut anywhere in a line.
    app.addHook('onSend', async (request, _reply, payload) => {
      if (!server.slowExport || !request.url.startsWith('/api/v2/calls/export') || !(payload instanceof Readable)) return payload;
      return payload.pipe(
        new Transform({
          async transform(chunk: Buffer, _encoding, done) {
            for (let i = 0; i < chunk.length; i += 700) {
              this.push(chunk.subarray(i, i + 700));
              await sleep(15);
            }
            done();
          },
        }),
      );
    });
    base = await listen(app);
    api = new Sipsim({ baseUrl: base, clientId: credentials.id, clientSecret: credentials.secret });
  });

  afterAll(async () => {
    await app?.close();
    await h?.close();
    scratch?.remove();
  });

  const connection = () => ['--api-url', base, '--client-id', credentials.id, '--client-secret', credentials.secret];
  const sipsim = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [CLI, ...args, ...connection()], { env, timeoutMs: 120000 });
  const ok = (result: RunResult, what: string) => {
    expect(result.code, `${what}:\n${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const file = (name: string) => join(scratch.path, name);

  /** Every call the API lists for the query, over every page. */
  const apiCalls = async (query: CallListParams): Promise<Call[]> => {
    const all: Call[] = [];
    for await (const call of api.calls.list({ ...query, limit: 1000 })) all.push(call);
    return all;
  };

  /** The export endpoint's own file for the query. */
  const endpointFile = async (query: Record<string, string>): Promise<string> => {
    const grant = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: credentials.id, client_secret: credentials.secret }),
    });
    const { access_token } = (await grant.json()) as { access_token: string };
    const response = await fetch(`${base}/api/v2/calls/export?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${access_token}` } });
    expect(response.status).toBe(200);
    return response.text();
  };

  const ndjson = (path: string) => lines(readFileSync(path, 'utf8')).map((line) => JSON.parse(line) as Call);

  it('lists calls as the API does: JSON over every page, NDJSON of a page, a table', async () => {
    // Dates are read in the account's zone: February in Paris.
    const [all, page, tableRun] = await Promise.all([
      sipsim(['calls', 'list', '--start', '2024-02-01', '--end', '2024-02-29', '--all', '--json']),
      sipsim([
        'calls', 'list', '--start', '2024-02-10T00:00:00+01:00', '--end', '2024-02-12T23:59:59+01:00',
        '--types', 'inbound,missed', '--employees', `${staff.alice},${staff.bob}`, '--limit', '20', '--ndjson',
      ]),
      // Configured by the environment alone.
      run(process.execPath, [CLI, 'calls', 'list', '--start', '2024-03-05', '--end', '2024-03-05', '--tags', String(tags.important)], {
        env: { SIPSIM_API_URL: base, SIPSIM_CLIENT_ID: credentials.id, SIPSIM_CLIENT_SECRET: credentials.secret },
        timeoutMs: 120000,
      }),
    ]);

    const february = await apiCalls({ start_time: '2024-01-31T23:00:00Z', end_time: '2024-02-29T22:59:59Z' });
    expect(february).toHaveLength(BULK);
    expect(JSON.parse(ok(all, 'list --all --json'))).toEqual(february);

    const firstPage = await api.calls.list({
      start_time: '2024-02-09T23:00:00Z', end_time: '2024-02-12T22:59:59Z', call_types: 'inbound,missed', employees: [staff.alice, staff.bob], limit: 20,
    });
    expect(firstPage.hasNextPage()).toBe(true);
    expect(lines(ok(page, 'list --ndjson')).map((l) => JSON.parse(l))).toEqual(firstPage.data);

    const tagged = await apiCalls({ start_time: '2024-03-04T23:00:00Z', end_time: '2024-03-05T22:59:59Z', tags: [tags.important] });
    const names: Record<number, string> = { [staff.alice]: 'Alice Martin', [staff.bob]: 'Bob Durand', [staff.chloe]: 'Chloé Petit' };
    const printed = lines(ok(tableRun, 'list (table)'));
    expect(cells(printed[0]!)).toEqual(['ID', `START (${ZONE})`, 'TYPE', 'STATUS', 'CALLER', 'TARGET', 'DURATION', 'EMPLOYEE', 'TAGS']);
    expect(printed.slice(1).map(cells)).toEqual(
      tagged.map((c) => [
        String(c.id),
        wallClock(c.start_time, ZONE).text,
        c.call_type,
        c.sip_status,
        c.caller_number,
        c.target_number,
        mss(c.duration_sec),
        c.employee_id === null ? '-' : names[c.employee_id],
        c.tags.map((t) => t.name).join(', '),
      ]),
    );
    expect(tagged.length).toBe(3);
  }, 240000);

  it('shows one call as the API gives it', async () => {
    const [call] = await apiCalls({ start_time: '2024-03-05T13:31:00Z', end_time: '2024-03-05T13:31:00Z' });
    const [json, text] = await Promise.all([sipsim(['calls', 'get', String(call!.id), '--json']), sipsim(['calls', 'get', String(call!.id)])]);
    expect(JSON.parse(ok(json, 'get --json'))).toEqual(await api.calls.retrieve(call!.id));
    const block = Object.fromEntries(lines(ok(text, 'get')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
    expect(block.id).toBe(String(call!.id));
    expect(block.duration_sec).toBe(`${call!.duration_sec}  (${mss(call!.duration_sec)})`);
    expect(block.employee_id).toBe(`${staff.chloe}  (Chloé Petit)`);
    expect(block.start_time).toBe(`${call!.start_time}  (${wallClock(call!.start_time, ZONE).text} ${ZONE})`);
    expect(block.tags).toBe(`Important (${tags.important})`);
  }, 120000);

  it('reports a day with the figures the API gives: by type, talk time, answer rate, wait, busiest hour, top employees', async () => {
    const [parisJson, utcText, today] = await Promise.all([
      sipsim(['report', 'daily', '--date', '2024-03-05', '--json']),
      sipsim(['report', 'daily', '--date', '2024-03-05', '--tz', 'UTC']),
      sipsim(['report', 'daily', '--tz', 'Asia/Tokyo', '--json']),
    ]);

    /** The report's figures, computed here from the API's calls. */
    const expected = async (start_time: string, end_time: string, zone: string) => {
      const calls = await apiCalls({ start_time, end_time });
      const count = (type: string) => calls.filter((c) => c.call_type === type).length;
      const cameIn = calls.filter((c) => c.direction === 'inbound');
      const picked = cameIn.filter((c) => c.answered);
      const byHour = Array.from({ length: 24 }, (_, hour) => calls.filter((c) => wallClock(c.start_time, zone).hour === hour).length);
      const busiest = byHour.indexOf(Math.max(...byHour));
      const employees = [...new Set(calls.map((c) => c.employee_id).filter((id): id is number => id !== null))].map((id) => {
        const theirs = calls.filter((c) => c.employee_id === id);
        return {
          id,
          name: { [staff.alice]: 'Alice Martin', [staff.bob]: 'Bob Durand', [staff.chloe]: 'Chloé Petit' }[id] ?? null,
          calls: theirs.length,
          calls_handled: theirs.filter((c) => c.answered).length,
          talk_time_sec: theirs.reduce((sum, c) => sum + c.duration_sec, 0),
        };
      });
      return {
        calls,
        total_calls: calls.length,
        by_type: { inbound: count('inbound'), outbound: count('outbound'), missed: count('missed'), voicemail: count('voicemail') },
        total_talk_time_sec: calls.reduce((sum, c) => sum + c.duration_sec, 0),
        inbound_offered: cameIn.length,
        inbound_answered: picked.length,
        answer_rate: cameIn.length ? picked.length / cameIn.length : null,
        average_wait_sec: picked.length ? picked.reduce((sum, c) => sum + c.wait_duration_sec, 0) / picked.length : null,
        busiest_hour: calls.length ? { hour: busiest, calls: byHour[busiest] } : null,
        calls_by_hour: byHour,
        top_by_calls_handled: [...employees].sort((a, b) => b.calls_handled - a.calls_handled || b.talk_time_sec - a.talk_time_sec || a.id - b.id),
        top_by_talk_time: [...employees].sort((a, b) => b.talk_time_sec - a.talk_time_sec || b.calls_handled - a.calls_handled || a.id - b.id),
      };
    };

    const paris = await expected('2024-03-04T23:00:00Z', '2024-03-05T22:59:59Z', ZONE);
    expect(paris.total_calls).toBe(14);
    const report = JSON.parse(ok(parisJson, 'report --json'));
    const { calls: _calls, ...figures } = paris;
    expect(report).toEqual({
      ...figures,
      date: '2024-03-05',
      time_zone: ZONE,
      start_time: '2024-03-04T23:00:00Z',
      end_time: '2024-03-05T22:59:59Z',
      average_wait_sec: expect.closeTo(paris.average_wait_sec!, 9),
      answer_rate: expect.closeTo(paris.answer_rate!, 9),
      employees: paris.top_by_calls_handled,
    });
    expect(report.busiest_hour).toEqual({ hour: 9, calls: 6 });

    const utc = await expected('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z', 'UTC');
    const text = lines(ok(utcText, 'report (text)'));
    const name = (e: { id: number; name: string | null }) => e.name ?? `#${e.id}`;
    const hms = (s: number) => `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
    expect(text.slice(0, 10)).toEqual([
      '=== Call Report for 2024-03-05 (UTC) ===',
      `Total calls: ${utc.total_calls}`,
      `  Inbound: ${utc.by_type.inbound}`,
      `  Outbound: ${utc.by_type.outbound}`,
      `  Missed: ${utc.by_type.missed}`,
      `  Voicemail: ${utc.by_type.voicemail}`,
      `Total talk time: ${Math.floor(utc.total_talk_time_sec / 60)} minutes (${hms(utc.total_talk_time_sec)})`,
      `Answer rate: ${(utc.answer_rate! * 100).toFixed(1)}% (${utc.inbound_answered} of ${utc.inbound_offered} inbound calls answered; missed and voicemail count as not answered)`,
      `Average wait of answered inbound calls: ${utc.average_wait_sec!.toFixed(1)} s`,
      `Busiest hour: ${String(utc.busiest_hour!.hour).padStart(2, '0')}:00-${String(utc.busiest_hour!.hour + 1).padStart(2, '0')}:00 UTC (${utc.busiest_hour!.calls} call${utc.busiest_hour!.calls === 1 ? '' : 's'})`,
    ]);
    const ranking = (title: string) => {
      const at = text.indexOf(title);
      expect(at, title).toBeGreaterThan(0);
      return text.slice(at + 2, at + 2 + 3).map((line) => cells(line.trim()));
    };
    expect(ranking('Top employees by calls handled:')).toEqual(
      utc.top_by_calls_handled.map((e) => [name(e), String(e.calls_handled), String(e.calls), hms(e.talk_time_sec)]),
    );
    expect(ranking('Top employees by talk time:')).toEqual(
      utc.top_by_talk_time.map((e) => [name(e), String(e.calls_handled), String(e.calls), hms(e.talk_time_sec)]),
    );

    // No --date: today in the zone, whatever the server holds for it.
    const tokyo = JSON.parse(ok(today, 'report for today'));
    const todayThere = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo' }).format(new Date());
    expect(tokyo.date).toBe(todayThere);
    const prior = new Date(Date.parse(`${todayThere}T00:00:00Z`) - 86400000).toISOString().slice(0, 10);
    expect([tokyo.start_time, tokyo.end_time]).toEqual([`${prior}T15:00:00Z`, `${todayThere}T14:59:59Z`]);
    expect(tokyo.total_calls).toBe((await apiCalls({ start_time: tokyo.start_time, end_time: tokyo.end_time })).length);
  }, 240000);

  it('finds long calls: talk time at least --min, over the filters', async () => {
    const window = ['--start', '2024-02-01T00:00:00Z', '--end', '2024-03-31T23:59:59Z'];
    const [json, text] = await Promise.all([
      sipsim(['calls', 'long', '--min', '30m', ...window, '--json']),
      sipsim(['calls', 'long', '--min', '1h', ...window, '--types', 'inbound']),
    ]);
    const all = await apiCalls({ start_time: '2024-02-01T00:00:00Z', end_time: '2024-03-31T23:59:59Z' });
    const atLeast30 = all.filter((c) => c.duration_sec >= 1800);
    expect(atLeast30.some((c) => c.duration_sec === 1800)).toBe(true);
    expect(all.some((c) => c.duration_sec === 1799)).toBe(true);
    expect(JSON.parse(ok(json, 'long --json'))).toEqual(atLeast30);

    const inboundHour = all.filter((c) => c.call_type === 'inbound' && c.duration_sec >= 3600);
    expect(inboundHour.length).toBeGreaterThan(1);
    const printed = lines(ok(text, 'long'));
    // The window as searched, in the account's zone (Paris moved to summer time on 31 March).
    expect(printed[0]).toBe(`Found ${inboundHour.length} calls of 1h or longer from 2024-02-01 01:00:00 to 2024-04-01 01:59:59 (${ZONE}):`);
    expect(printed.slice(2).map((line) => [cells(line)[0], cells(line)[6]])).toEqual(inboundHour.map((c) => [String(c.id), mss(c.duration_sec)]));
  }, 120000);

  it('shows a screenful by default, and says which window it searched and how to see more', async () => {
    const result = await sipsim(['calls', 'list', '--start', '2024-02-01', '--end', '2024-02-29']);
    const printed = lines(ok(result, 'list (default rows)'));
    expect(printed).toHaveLength(1 + 20);
    expect(result.stderr).toBe(`Showing the 20 newest calls from 2024-02-01 00:00:00 to 2024-02-29 23:59:59 (${ZONE}); more match: --limit (up to 1000), --all, or --start/--end.\n`);
    const empty = await sipsim(['calls', 'list', '--start', '2020-01-01', '--end', '2020-01-01']);
    expect(ok(empty, 'list (empty)')).toBe(`No calls from 2020-01-01 00:00:00 to 2020-01-01 23:59:59 (${ZONE})\n`);
  }, 120000);

  it('exports CSV and NDJSON through the export endpoint, exactly as the endpoint and the list give them', async () => {
    const window = ['--start', FEBRUARY.start_time, '--end', FEBRUARY.end_time];
    const [csv, nd, some] = await Promise.all([
      sipsim(['calls', 'export', ...window, '--out', file('feb.csv')]),
      sipsim(['calls', 'export', ...window, '--format', 'ndjson', '--out', file('feb.data'), '--json']),
      sipsim(['calls', 'export', ...window, '--types', 'missed,voicemail', '--fields', 'caller_name,tags,duration_sec', '--out', file('feb-missed.csv')]),
    ]);
    expect(ok(csv, 'export csv')).toMatch(new RegExp(`^Exported 3,000 calls to ${file('feb.csv')} in \\d+\\.\\d s\\n$`));
    expect(readFileSync(file('feb.csv'), 'utf8')).toBe(await endpointFile({ ...FEBRUARY, format: 'csv' }));
    expect(JSON.parse(ok(nd, 'export ndjson'))).toMatchObject({ calls: BULK, format: 'ndjson', source: 'export-endpoint', resumed_after: 0 });
    expect(ndjson(file('feb.data'))).toEqual(await apiCalls(FEBRUARY));
    ok(some, 'export with --fields');
    const expected = await endpointFile({ ...FEBRUARY, format: 'csv', call_types: 'missed,voicemail', fields: 'caller_name,tags,duration_sec' });
    expect(expected.split('\r\n')[0]).toBe('caller_name,tags,duration_sec');
    expect(readFileSync(file('feb-missed.csv'), 'utf8')).toBe(expected);
    for (const name of ['feb.csv', 'feb.data', 'feb-missed.csv']) expect(existsSync(file(`${name}.part`))).toBe(false);
  }, 240000);

  it('falls back to paging through /calls on a server without the export endpoint, writing the same file', async () => {
    const expectedCsv = await endpointFile({ ...FEBRUARY, format: 'csv' });
    const expectedCalls = await apiCalls(FEBRUARY);
    server.exportMissing = true;
    try {
      const window = ['--start', FEBRUARY.start_time, '--end', FEBRUARY.end_time];
      const [csv, nd] = await Promise.all([
        sipsim(['calls', 'export', ...window, '--out', file('paged.csv'), '--json']),
        sipsim(['calls', 'export', ...window, '--out', file('paged.ndjson'), '--json']),
      ]);
      expect(JSON.parse(ok(csv, 'paged csv'))).toMatchObject({ calls: BULK, format: 'csv', source: 'list-pages' });
      expect(readFileSync(file('paged.csv'), 'utf8')).toBe(expectedCsv);
      expect(JSON.parse(ok(nd, 'paged ndjson'))).toMatchObject({ calls: BULK, format: 'ndjson', source: 'list-pages' });
      expect(ndjson(file('paged.ndjson'))).toEqual(expectedCalls);
    } finally {
      server.exportMissing = false;
    }
  }, 240000);

  /** Starts an export, kills it with SIGKILL once its state records `after` calls, and returns that state. */
  const killMidway = async (args: string[], out: string, after: number) => {
    const child = spawn(process.execPath, [CLI, ...args, ...connection()], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = once(child, 'exit');
    const deadline = Date.now() + 90000;
    let state: { calls: number; bytes: number } | null = null;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        state = JSON.parse(readFileSync(`${out}.part.json`, 'utf8'));
      } catch {
        state = null;
      }
      if (state && state.calls >= after) break;
      await sleep(40);
    }
    expect(child.exitCode, `the export ended before it could be killed:\n${stderr}`).toBeNull();
    child.kill('SIGKILL');
    await exited;
    const left = JSON.parse(readFileSync(`${out}.part.json`, 'utf8')) as { calls: number; bytes: number };
    expect(left.calls).toBeGreaterThanOrEqual(after);
    expect(left.calls).toBeLessThan(BULK);
    expect(statSync(`${out}.part`).size).toBeGreaterThanOrEqual(left.bytes);
    expect(existsSync(out)).toBe(false);
    return left;
  };

  it('resumes an export killed with SIGKILL mid-way: every call once, the file the endpoint gives', async () => {
    // Without id among the columns, so that the position of each line comes from columns added then dropped.
    const args = ['calls', 'export', '--start', FEBRUARY.start_time, '--end', FEBRUARY.end_time, '--fields', 'caller_name,start_time,tags', '--out', file('killed.csv')];
    server.slowExport = true;
    let left: { calls: number };
    try {
      left = await killMidway(args, file('killed.csv'), 700);
    } finally {
      server.slowExport = false;
    }
    const resumed = JSON.parse(ok(await sipsim([...args, '--json']), 'resumed export'));
    expect(resumed).toMatchObject({ calls: BULK, resumed_after: left.calls, source: 'export-endpoint' });
    expect(readFileSync(file('killed.csv'), 'utf8')).toBe(await endpointFile({ ...FEBRUARY, format: 'csv', fields: 'caller_name,start_time,tags' }));
    expect(existsSync(file('killed.csv.part'))).toBe(false);
    expect(existsSync(file('killed.csv.part.json'))).toBe(false);
  }, 240000);

  // Pages hold 1,000 calls and the kill comes after the first: in this seed
  // the 1,000th call is the first of three in its second, so the resume must
  // keep the other two of that second and skip the one written.
  it('resumes a paged export killed with SIGKILL, then finished through the endpoint: every call once, in order', async () => {
    const args = ['calls', 'export', '--start', FEBRUARY.start_time, '--end', FEBRUARY.end_time, '--out', file('killed.ndjson')];
    server.exportMissing = true;
    server.slowPages = true;
    let left: { calls: number };
    try {
      left = await killMidway(args, file('killed.ndjson'), 1000);
    } finally {
      server.exportMissing = false;
      server.slowPages = false;
    }
    const resumed = JSON.parse(ok(await sipsim([...args, '--json']), 'resumed export'));
    expect(resumed).toMatchObject({ calls: BULK, resumed_after: left.calls });
    const written = ndjson(file('killed.ndjson'));
    const expected = await apiCalls(FEBRUARY);
    if (left.calls === 1000) expect(expected.filter((c) => c.start_time === expected[999]!.start_time).map((c) => c.id)).toHaveLength(3);
    expect(written.map((c) => c.id)).toEqual(expected.map((c) => c.id));
    expect(written).toEqual(expected);
  }, 240000);

  it('refuses bad flags and reports refusals in one line, with exit code 1 and no stack', async () => {
    const none = { SIPSIM_CLIENT_ID: '', SIPSIM_CLIENT_SECRET: '', SIPSIM_TOKEN: '' };
    const cases: Array<[() => Promise<RunResult>, RegExp]> = [
      [() => sipsim(['calls', 'list', '--types', 'inbound,sideways']), /--types: unknown call type 'sideways' \(allowed: inbound, outbound, missed, voicemail\)/],
      [() => sipsim(['calls', 'list', '--start', 'yesterday']), /--start must be an RFC 3339 time such as 2024-01-15T10:30:00Z, or a date such as 2024-01-15/],
      [() => sipsim(['calls', 'long', '--min', '5x']), /--min must be a duration such as 90s, 30m or 1h30m, or a number of seconds/],
      [() => sipsim(['calls', 'export', '--out', file('x.ndjson'), '--fields', 'id']), /^sipsim: --fields chooses CSV columns; NDJSON lines are whole call objects$/m],
      [() => sipsim(['calls', 'get', '999999999']), /^sipsim: .*not found.* \(HTTP 404, request id \S+\)$/im],
      [
        () => run(process.execPath, [CLI, 'calls', 'list', '--api-url', base, '--client-id', credentials.id, '--client-secret', 'wrong'], { timeoutMs: 120000 }),
        /^sipsim: .+ \(HTTP 401, request id \S+\)$/m,
      ],
      [
        // From a folder with no sandbox, and a config directory with no profile.
        () => run(process.execPath, [CLI, 'report', 'daily', '--api-url', base], { env: { ...none, XDG_CONFIG_HOME: scratch.path }, cwd: scratch.path, timeoutMs: 120000 }),
        /^sipsim: No credentials: set SIPSIM_CLIENT_ID and SIPSIM_CLIENT_SECRET \(or SIPSIM_TOKEN\), pass --client-id and --client-secret \(or --token\), save a profile with `sipsim login`, or run from the folder where `npm start` keeps the sandbox$/m,
      ],
    ];
    // A few at a time: each is a Node process of its own.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const results = await Promise.all(batch.map(([start]) => start()));
      results.forEach((result, j) => {
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(batch[j]![1]);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        expect(result.stdout).toBe('');
      });
    }
  }, 240000);
});
