import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime, localDayOffset, parseDateTime, zonedTimeToUnix } from '../../src/domain/time.js';
import { UNREADABLE_CALL, recordFromCallObject } from '../../src/ingest/call-object.js';
import { extensionOfChannel, parseCallerId, recordFromAsteriskRow } from '../../src/ingest/formats/asterisk-csv.js';
import { decodeCdrValue, recordFromFreeswitchCdr } from '../../src/ingest/formats/freeswitch-json.js';
import { IMPORT_FORMATS, readImportSource, type ImportFormat } from '../../src/ingest/formats/index.js';
import { recordingLink } from '../../src/ingest/formats/recording-link.js';
import type { FormatOptions, ParsedItem, PbxCallRecord } from '../../src/ingest/record.js';
import { generateImportFixture } from '../../scripts/generate-import-fixtures.js';

const FIXTURES = new URL('../fixtures/import/', import.meta.url).pathname;
const PARIS: FormatOptions = { timeZone: 'Europe/Paris' };
const RECORDINGS = 'https://recordings.dupont-associes.fr/files/';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sipsim-formats-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function readAll(path: string, format: ImportFormat, options: FormatOptions = {}): Promise<ParsedItem[]> {
  const items: ParsedItem[] = [];
  for await (const item of readImportSource(path, format, options)) items.push(item);
  return items;
}

function recordsOf(items: ParsedItem[]): PbxCallRecord[] {
  return items.flatMap((item) => (item.record ? [item.record] : []));
}

function errorsOf(items: ParsedItem[]): Array<[number, string]> {
  return items.flatMap((item) => (item.error !== undefined ? [[item.line, item.error] as [number, string]] : []));
}

/** Unix seconds of an RFC 3339 text, to keep the expectations readable. */
function at(text: string): number {
  const parsed = parseDateTime(text);
  if (!parsed) throw new Error(`bad time in test: ${text}`);
  return parsed.seconds;
}

async function scratchFile(name: string, text: string): Promise<string> {
  const path = join(scratch, name);
  await writeFile(path, text);
  return path;
}

describe('zonedTimeToUnix', () => {
  const paris = (day: number, month: number, hour: number, minute: number, overlap?: 'earlier' | 'later') =>
    zonedTimeToUnix({ year: 2024, month, day, hour, minute, second: 0 }, 'Europe/Paris', overlap);

  it('reads ordinary winter and summer times with their offsets', () => {
    expect(paris(15, 1, 10, 30)).toBe(at('2024-01-15T09:30:00Z'));
    expect(paris(15, 7, 10, 30)).toBe(at('2024-07-15T08:30:00Z'));
  });

  it('crosses the spring-forward night in Paris (31 March 2024, 02:00 CET becomes 03:00 CEST)', () => {
    expect(paris(31, 3, 1, 59)).toBe(at('2024-03-31T00:59:00Z'));
    expect(paris(31, 3, 3, 0)).toBe(at('2024-03-31T01:00:00Z'));
    expect(paris(31, 3, 3, 30)).toBe(at('2024-03-31T01:30:00Z'));
    // 02:30 never happens that night: it lands as far past the change as it was written past 02:00.
    expect(paris(31, 3, 2, 30)).toBe(at('2024-03-31T01:30:00Z'));
    expect(paris(31, 3, 2, 0)).toBe(at('2024-03-31T01:00:00Z'));
  });

  it('crosses the fall-back night in Paris (27 October 2024, 03:00 CEST becomes 02:00 CET)', () => {
    expect(paris(27, 10, 1, 30)).toBe(at('2024-10-26T23:30:00Z'));
    // 02:30 happens twice: first in summer time, then in winter time.
    expect(paris(27, 10, 2, 30)).toBe(at('2024-10-27T00:30:00Z'));
    expect(paris(27, 10, 2, 30, 'earlier')).toBe(at('2024-10-27T00:30:00Z'));
    expect(paris(27, 10, 2, 30, 'later')).toBe(at('2024-10-27T01:30:00Z'));
    expect(paris(27, 10, 3, 0)).toBe(at('2024-10-27T02:00:00Z'));
    expect(paris(27, 10, 3, 0, 'later')).toBe(at('2024-10-27T02:00:00Z'));
  });

  it('knows which days are steady', () => {
    expect(localDayOffset(2024, 3, 30, 'Europe/Paris')).toBe(3600);
    expect(localDayOffset(2024, 3, 31, 'Europe/Paris')).toBeNull();
    expect(localDayOffset(2024, 4, 1, 'Europe/Paris')).toBe(7200);
    expect(localDayOffset(2024, 10, 27, 'Europe/Paris')).toBeNull();
    expect(localDayOffset(2024, 10, 28, 'Europe/Paris')).toBe(3600);
  });

  it('agrees with Intl on every quarter hour around both changes, in zones with odd offsets too', () => {
    for (const zone of ['Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Sao_Paulo']) {
      const format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      });
      for (let t = at('2024-03-01T00:00:00Z'); t < at('2024-12-01T00:00:00Z'); t += 900 * 37) {
        const parts = Object.fromEntries(format.formatToParts(new Date(t * 1000)).map((p) => [p.type, Number(p.value)]));
        const local = { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: 0 };
        const earlier = zonedTimeToUnix(local, zone, 'earlier');
        const later = zonedTimeToUnix(local, zone, 'later');
        // Every instant is one of the readings of its own wall-clock time.
        expect([earlier, later], `${zone} ${new Date(t * 1000).toISOString()}`).toContain(t - (t % 60));
      }
    }
  });

  it('takes UTC as it is', () => {
    expect(zonedTimeToUnix({ year: 2024, month: 3, day: 31, hour: 2, minute: 30, second: 5 }, 'UTC')).toBe(at('2024-03-31T02:30:05Z'));
  });
});

describe('asterisk-csv', () => {
  it('reads Master.csv with every disposition, and refuses the bad rows by line', async () => {
    const items = await readAll(join(FIXTURES, 'asterisk/Master.csv'), 'asterisk-csv', { ...PARIS, recordingBaseUrl: RECORDINGS });
    expect(items.every((item) => item.source.endsWith('Master.csv'))).toBe(true);
    expect(items.map((item) => item.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15]);
    const byLine = new Map(items.map((item) => [item.line, item]));

    expect(byLine.get(1)!.record).toEqual({
      pbxId: '1710231302.26',
      callerNumber: '+33612345678',
      callerName: 'Sophie Marchand',
      targetNumber: '+33198765432',
      startTime: at('2024-03-12T08:15:02Z'),
      answeredTime: at('2024-03-12T08:15:09Z'),
      endTime: at('2024-03-12T08:18:44Z'),
      sipCode: 200,
      answeredBy: '101',
      playRecordLink: `${RECORDINGS}in-33198765432-33612345678-20240312-091502-1710231302.26.wav`,
    });
    expect(byLine.get(2)!.record).toEqual({
      pbxId: '1710231700.28',
      callerNumber: '+33145678901',
      callerName: 'Garage du Centre',
      targetNumber: '+33198765433',
      startTime: at('2024-03-12T08:21:40Z'),
      answeredTime: null,
      endTime: at('2024-03-12T08:21:52Z'),
      sipCode: 480,
    });
    expect(byLine.get(3)!.record).toMatchObject({ sipCode: 486, answeredTime: null, targetNumber: '+33198765433' });
    // Outbound over the trunk: the trunk's channel says nothing about who answered.
    expect(byLine.get(4)!.record).toEqual({
      pbxId: '1710234153.32',
      callerNumber: '103',
      callerName: 'Léa Dubois',
      targetNumber: '0612345678',
      startTime: at('2024-03-12T09:02:33Z'),
      answeredTime: at('2024-03-12T09:02:41Z'),
      endTime: at('2024-03-12T09:07:05Z'),
      sipCode: 200,
      playRecordLink: `${RECORDINGS}out-0612345678-103-20240312-100233-1710234153.32.wav`,
    });
    expect(byLine.get(5)!.record).toMatchObject({ targetNumber: '00447700900123', sipCode: 503, answeredTime: null });
    expect(byLine.get(6)!.record).toMatchObject({ sipCode: 503, answeredTime: null });
    expect(byLine.get(7)!.record).toMatchObject({ callerNumber: '104', targetNumber: '110', answeredBy: '110', sipCode: 200 });
    // Asterisk answered to take a voicemail: nobody picked up.
    expect(byLine.get(8)!.record).toEqual({
      pbxId: '1710243000.40',
      callerNumber: '+33687654321',
      callerName: 'Nathalie Petit',
      targetNumber: '+33198765432',
      startTime: at('2024-03-12T11:30:00Z'),
      answeredTime: null,
      endTime: at('2024-03-12T11:31:05Z'),
      sipCode: 480,
      voicemail: true,
    });
    expect(byLine.get(9)!.record).toMatchObject({ callerNumber: '+4915112345678', answeredBy: '109', answeredTime: at('2024-03-12T13:05:11Z') });
    expect(byLine.get(10)!.record).toMatchObject({ callerNumber: '+12125550147', sipCode: 480 });
    expect(byLine.get(10)!.record).not.toHaveProperty('callerName');
    expect(byLine.get(15)!.record).toMatchObject({ pbxId: '1710262683.50', answeredBy: '111', endTime: at('2024-03-12T17:04:40Z') });

    expect(errorsOf(items)).toEqual([
      [11, expect.stringContaining('expected 16 to 21 columns')],
      [12, 'start must be a date-time as YYYY-MM-DD HH:MM:SS, not "2024-03-32 09:00:00"'],
      [13, 'answer 2024-03-12 16:39:50 is before start 2024-03-12 16:40:00'],
    ]);
    expect(byLine.get(11)!.raw).toBe('"","+33611223344","+33198765432","from-trunk","""Anaïs Roux"" <+33611223344>","PJSIP/ovh-trunk-0000002c"');
  });

  it('reads newcdrcolumns rows: sequence in the id, MixMonitor recordings, the hour that happens twice', async () => {
    const items = await readAll(join(FIXTURES, 'asterisk/Master-newcdrcolumns.csv'), 'asterisk-csv', { ...PARIS, recordingBaseUrl: RECORDINGS });
    const records = recordsOf(items);
    expect(records.map((r) => r.pbxId)).toEqual(['1712131200.257-1', '1712131200.257-2', '1712136000.270-3', '1729990500.512-4']);
    expect(records[0]).toMatchObject({ answeredBy: '101', startTime: at('2024-04-03T08:00:00Z'), endTime: at('2024-04-03T08:02:00Z') });
    expect(records[1]).toMatchObject({ answeredBy: '105', startTime: at('2024-04-03T08:02:00Z'), answeredTime: at('2024-04-03T08:02:09Z') });
    expect(records[2]!.playRecordLink).toBe(`${RECORDINGS}out-102-33467891234-1712136000.270.wav`);
    // 02:55 summer time to 02:05 winter time: ten minutes, as the duration column says.
    expect(records[3]).toMatchObject({
      startTime: at('2024-10-27T00:55:00Z'),
      answeredTime: at('2024-10-27T00:55:10Z'),
      endTime: at('2024-10-27T01:05:00Z'),
      answeredBy: '112',
    });
    expect(errorsOf(items)).toEqual([[5, 'disposition must be ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION, not "UNKNOWN"']]);
  });

  it('gives rows without a uniqueid ids that are the same on every read and differ between rows', async () => {
    const path = join(FIXTURES, 'asterisk/Master-minimal.csv');
    const first = recordsOf(await readAll(path, 'asterisk-csv', PARIS));
    const second = recordsOf(await readAll(path, 'asterisk-csv', PARIS));
    expect(first.map((r) => r.pbxId)).toEqual(second.map((r) => r.pbxId));
    expect(first[0]!.pbxId).toMatch(/^cdr-[0-9a-f]{20}$/);
    expect(first[0]!.pbxId).not.toBe(first[1]!.pbxId);
    expect(first[0]).toMatchObject({ answeredBy: '106', startTime: at('2024-02-05T08:00:12Z'), sipCode: 200 });
  });

  it('reads local times as UTC when no zone is given, and refuses an unknown zone', async () => {
    const path = join(FIXTURES, 'asterisk/Master-minimal.csv');
    expect(recordsOf(await readAll(path, 'asterisk-csv'))[0]!.startTime).toBe(at('2024-02-05T09:00:12Z'));
    await expect(readAll(path, 'asterisk-csv', { timeZone: 'Europe/Atlantis' })).rejects.toThrow('unknown time zone "Europe/Atlantis"');
  });

  it('finds extensions in channel names and names in caller ids', () => {
    expect(extensionOfChannel('SIP/101-0000002a')).toBe('101');
    expect(extensionOfChannel('PJSIP/101-000001')).toBe('101');
    expect(extensionOfChannel('Local/109@from-queue-0000000a;1')).toBe('109');
    expect(extensionOfChannel('PJSIP/ovh-trunk-00000021')).toBeNull();
    expect(extensionOfChannel('')).toBeNull();
    expect(parseCallerId('"Sophie Marchand" <+33612345678>')).toEqual({ name: 'Sophie Marchand', number: '+33612345678' });
    expect(parseCallerId('<+12125550147>')).toEqual({ name: null, number: '+12125550147' });
    expect(parseCallerId('Garage <0145678901>')).toEqual({ name: 'Garage', number: '0145678901' });
    expect(parseCallerId('+33612345678')).toEqual({ name: null, number: null });
  });

  it('takes the caller from clid when src is empty, and needs one of them', () => {
    const row = (src: string, clid: string) => [
      '', src, '+33198765432', 'from-trunk', clid, 'PJSIP/ovh-trunk-1', 'PJSIP/101-2', 'Dial', 'PJSIP/101',
      '2024-03-12 09:00:00', '', '2024-03-12 09:00:10', '10', '0', 'NO ANSWER', 'DOCUMENTATION',
    ];
    expect(recordFromAsteriskRow(row('', '"Inès" <+33611111111>'))).toMatchObject({ callerNumber: '+33611111111', callerName: 'Inès' });
    expect(recordFromAsteriskRow(row('', ''))).toBe('src is empty and clid has no <number>: the caller is unknown');
  });
});

describe('freeswitch-json', () => {
  it('reads a folder of CDRs in name order, one item per file', async () => {
    const items = await readAll(join(FIXTURES, 'freeswitch'), 'freeswitch-json', { recordingBaseUrl: RECORDINGS });
    expect(items).toHaveLength(10);
    expect(items.every((item) => item.line === 1)).toBe(true);
    // The B-leg of the first call is left out, as no error: its A-leg tells the call.
    expect(items.filter((item) => item.skipped)).toEqual([
      expect.objectContaining({ skipped: 'the B-leg of call 0f2c6a1e-8b3d-4f5a-9c7e-1d2b3a4c5e6f: its A-leg tells the call' }),
    ]);
    const names = items.map((item) => item.source.split('/').pop()!);
    expect(names).toEqual([...names].sort());
    const byId = new Map(recordsOf(items).map((r) => [r.pbxId.slice(0, 8), r]));

    expect(byId.get('0f2c6a1e')).toEqual({
      pbxId: '0f2c6a1e-8b3d-4f5a-9c7e-1d2b3a4c5e6f',
      direction: 'inbound',
      callerNumber: '+33612345678',
      callerName: 'Sophie Marchand',
      targetNumber: '+33198765432',
      startTime: at('2024-05-14T07:12:03Z'),
      answeredTime: at('2024-05-14T07:12:11Z'),
      endTime: at('2024-05-14T07:16:40Z'),
      sipCode: 200,
      answeredBy: '101',
      playRecordLink: `${RECORDINGS}0f2c6a1e-8b3d-4f5a-9c7e-1d2b3a4c5e6f.wav`,
    });
    expect(byId.get('1c9e2f4a')).toEqual({
      pbxId: '1c9e2f4a-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      direction: 'inbound',
      callerNumber: '+33145678901',
      callerName: 'Garage du Centre',
      targetNumber: '+33198765433',
      startTime: at('2024-05-14T07:40:27Z'),
      answeredTime: null,
      endTime: at('2024-05-14T07:40:41Z'),
      sipCode: 487,
    });
    expect(byId.get('2d8f3a5b')).toMatchObject({ direction: 'outbound', callerNumber: '105', targetNumber: '+33387654321', sipCode: 486 });
    // Older layout: callflow is an object and nothing is URL-encoded.
    expect(byId.get('3e7a4b6c')).toMatchObject({ callerNumber: '+33678901234', sipCode: 480, answeredTime: null, endTime: at('2024-05-14T08:31:45Z') });
    expect(byId.get('4f6b5c7d')).toMatchObject({ targetNumber: '+447700900123', sipCode: 408 });
    expect(byId.get('5a5c6d8e')).toMatchObject({ targetNumber: '+33199999999', sipCode: 404 });
    expect(byId.get('6b4d7e9f')).toMatchObject({ callerNumber: '+4915112345678', sipCode: 603 });
    expect(byId.get('7c3e8f1a')).toEqual({
      pbxId: '7c3e8f1a-2b3c-4e4f-8a5b-6c7d8e9f1a2b',
      direction: 'inbound',
      voicemail: true,
      callerNumber: '+33687654321',
      callerName: 'Nathalie Petit',
      targetNumber: '+33198765432',
      startTime: at('2024-05-14T16:55:02Z'),
      answeredTime: null,
      endTime: at('2024-05-14T16:56:09Z'),
      sipCode: 480,
      playRecordLink: `${RECORDINGS}msg_7c3e8f1a-2b3c-4e4f-8a5b-6c7d8e9f1a2b.wav`,
    });
    const broken = items.find((item) => item.source.includes('8d2f9a1b'))!;
    expect(broken.error).toMatch(/^not valid JSON/);
    expect(broken.raw.length).toBe(900);
  });

  it('reads a single CDR file, and ignores files that are not JSON in a folder', async () => {
    const one = join(FIXTURES, 'freeswitch/a_2d8f3a5b-6c7e-4f8a-9b0c-1d2e3f4a5b6c.cdr.json');
    expect(recordsOf(await readAll(one, 'freeswitch-json'))).toHaveLength(1);
    const folder = join(scratch, 'fs-mixed');
    await generateImportFixture({ format: 'freeswitch-json', calls: 3, out: folder, seed: 5 });
    await writeFile(join(folder, 'notes.txt'), 'not a CDR');
    await writeFile(join(folder, 'empty.cdr.json'), '');
    expect(await readAll(folder, 'freeswitch-json')).toHaveLength(3);
  });

  it('serves the live endpoint: plain objects, B-legs refused, reasons for what is missing', () => {
    const cdr = {
      variables: {
        uuid: 'abc', caller_id_number: '%2B33612345678', destination_number: '101',
        start_epoch: '1715670723', answer_epoch: '0', end_epoch: '1715670730', hangup_cause: 'NO_USER_RESPONSE',
      },
    };
    expect(recordFromFreeswitchCdr(cdr)).toEqual({
      pbxId: 'abc', callerNumber: '+33612345678', targetNumber: '101',
      startTime: 1715670723, answeredTime: null, endTime: 1715670730, sipCode: 408,
    });
    expect(recordFromFreeswitchCdr({ variables: { ...cdr.variables, originating_leg_uuid: 'xyz' } })).toBe(
      'this is the B-leg of call xyz: its A-leg tells the call; only A-leg CDRs are imported',
    );
    expect(recordFromFreeswitchCdr({ variables: { ...cdr.variables, start_epoch: undefined } })).toBe('start_epoch is missing');
    expect(recordFromFreeswitchCdr({ variables: { ...cdr.variables, end_epoch: '1715670000' } })).toBe(
      'end_epoch 1715670000 is before start_epoch 1715670723',
    );
    expect(recordFromFreeswitchCdr({})).toBe('variables is missing: not a mod_json_cdr record');
    expect(recordFromFreeswitchCdr([])).toBe('a FreeSWITCH CDR must be a JSON object');
  });

  it('undoes the URL encoding, and leaves text that was never encoded', () => {
    expect(decodeCdrValue('%2B33612345678')).toBe('+33612345678');
    expect(decodeCdrValue('Chlo%C3%A9%20Laurent')).toBe('Chloé Laurent');
    expect(decodeCdrValue('100% sure')).toBe('100% sure');
    expect(decodeCdrValue('sip%3A486')).toBe('sip:486');
  });
});

describe('sipsim-csv', () => {
  it("reads the guide's own export (CRLF, Python booleans)", async () => {
    const items = await readAll(join(FIXTURES, 'sipsim/calls_export.csv'), 'sipsim-csv');
    const records = recordsOf(items);
    expect(records.map((r) => r.pbxId)).toEqual(['sipsim-12345', 'sipsim-12346', 'sipsim-12347', 'sipsim-12348', 'sipsim-12349', 'sipsim-12352']);
    // Without a wait column the call is taken as answered when it started.
    expect(records[0]).toEqual({
      pbxId: 'sipsim-12345',
      direction: 'inbound',
      voicemail: false,
      callerNumber: '+33612345678',
      targetNumber: '+33198765432',
      startTime: at('2024-01-15T10:30:05Z'),
      answeredTime: at('2024-01-15T10:30:05Z'),
      endTime: at('2024-01-15T10:32:05Z'),
      sipCode: 200,
    });
    expect(records[1]).toMatchObject({ direction: 'inbound', voicemail: false, answeredTime: null, sipCode: 487 });
    expect(records[2]).toMatchObject({ voicemail: true, answeredTime: null, sipCode: 480 });
    expect(records[3]).toMatchObject({ direction: 'outbound', callerNumber: '+33198765432', endTime: at('2024-01-15T11:20:47Z') });
    expect(records[4]).toMatchObject({ direction: 'outbound', sipCode: 486, answeredTime: null });
    expect(errorsOf(items)).toEqual([
      [7, 'duration_sec 45 says the call was answered but answered false says it was not'],
      [8, 'start_time must be an RFC 3339 date-time (such as 2024-01-15T10:30:05Z), not "2024-01-15 14:00:00"'],
    ]);
    expect(items.find((item) => item.line === 7)!.raw).toBe('12350,missed,no_answer,+33611223344,+33198765433,45,2024-01-15T12:00:00Z,False');
  });

  it('reads the extra columns: names with commas and quotes, offsets and fractions, tags', async () => {
    const items = await readAll(join(FIXTURES, 'sipsim/calls-extended.csv'), 'sipsim-csv');
    const byLine = new Map(items.map((item) => [item.line, item]));
    expect(byLine.get(2)!.record).toEqual({
      pbxId: 'sipsim-20001',
      registrationTime: 1710231302,
      direction: 'inbound',
      voicemail: false,
      callerNumber: '+33612345678',
      callerName: 'Sophie Marchand',
      targetNumber: '+33198765432',
      answeredBy: '101',
      startTime: at('2024-03-12T08:15:02Z'),
      answeredTime: at('2024-03-12T08:15:09Z'),
      endTime: at('2024-03-12T08:18:44Z'),
      sipCode: 200,
      playRecordLink: 'https://recordings.dupont-associes.fr/2024/03/12/1710231302.26.mp3',
      phoneId: 456,
      tags: ['Devis', 'Nouveau client'],
    });
    expect(byLine.get(3)!.record).toMatchObject({ pbxId: 'asterisk-1710231700.28', callerName: 'Garage du Centre, SARL', tags: ['Relance'] });
    expect(byLine.get(4)!.record).toMatchObject({
      startTime: at('2024-03-12T09:02:33Z'),
      answeredTime: at('2024-03-12T09:02:41Z'),
      endTime: at('2024-03-12T09:07:05Z'),
      answeredBy: '+33612345678',
      tags: [],
    });
    expect(byLine.get(5)!.record).toMatchObject({ callerName: 'Nathalie "Nat" Petit', voicemail: true, tags: ['Urgent', 'Facturation'] });
    expect(byLine.get(8)!.record).toMatchObject({ answeredTime: at('2024-03-12T13:05:20Z'), endTime: at('2024-03-12T13:06:55Z') });
    expect(errorsOf(items)).toEqual([
      [6, 'end_time must not be before start_time'],
      [7, 'the row has 18 cells but the header has 19 columns'],
    ]);
  });

  it('needs a header, and gives nothing for a header alone or an empty file', async () => {
    const headerless = await scratchFile('headerless.csv', '12345,inbound,answer,+33612345678,+33198765432,120,2024-01-15T10:30:05Z,True\n');
    await expect(readAll(headerless, 'sipsim-csv')).rejects.toThrow('line 1: the first line must be a header');
    expect(await readAll(await scratchFile('header-only.csv', 'id,call_type,start_time\r\n'), 'sipsim-csv')).toEqual([]);
    expect(await readAll(await scratchFile('empty.csv', ''), 'sipsim-csv')).toEqual([]);
  });
});

describe('ndjson', () => {
  it('reads call objects line by line, skipping blank lines', async () => {
    const items = await readAll(join(FIXTURES, 'calls.ndjson'), 'ndjson');
    const byLine = new Map(items.map((item) => [item.line, item]));
    expect(byLine.has(3)).toBe(false);
    expect(byLine.get(1)!.record).toEqual({
      pbxId: 'sipsim-30001',
      registrationTime: 1714634102,
      direction: 'inbound',
      voicemail: false,
      callerNumber: '+33612345678',
      callerName: 'Sophie Marchand',
      targetNumber: '+33198765432',
      answeredBy: '101',
      startTime: at('2024-05-02T07:15:02Z'),
      answeredTime: at('2024-05-02T07:15:09Z'),
      endTime: at('2024-05-02T07:18:44Z'),
      sipCode: 200,
      playRecordLink: 'https://recordings.dupont-associes.fr/2024/05/02/30001.mp3',
      phoneId: 456,
      answeredPhoneId: 789,
      employeeId: 12,
      tags: ['Devis', 'Nouveau client'],
    });
    expect(byLine.get(2)!.record).toEqual({
      pbxId: 'crm-sync-000042',
      direction: 'inbound',
      voicemail: false,
      callerNumber: '+33145678901',
      callerName: 'Garage du Centre',
      targetNumber: '+33198765433',
      answeredBy: '107',
      startTime: at('2024-05-02T07:00:00Z'),
      answeredTime: at('2024-05-02T07:00:04Z'),
      endTime: at('2024-05-02T07:01:39Z'),
      tags: ['Relance'],
    });
    expect(byLine.get(4)!.record).toEqual({
      pbxId: 'crm-sync-000043',
      direction: 'outbound',
      callerNumber: '107',
      targetNumber: '+41791234567',
      startTime: 1714640400,
      answeredTime: null,
      endTime: 1714640430,
      sipCode: 486,
    });
    expect(byLine.get(5)!.record).toMatchObject({ startTime: at('2024-05-02T08:40:00Z'), endTime: at('2024-05-02T08:40:18Z'), sipCode: 487 });
    expect(byLine.get(11)!.record).toMatchObject({ voicemail: true, sipCode: 480, tags: [] });
    expect(byLine.get(11)!.record).not.toHaveProperty('callerName');
    expect(errorsOf(items)).toEqual([
      [6, expect.stringMatching(/^not valid JSON/)],
      [7, 'call_type voicemail contradicts direction outbound'],
      [8, 'start_time is required'],
      [9, 'duration_sec must be a non-negative integer, not -5'],
      [10, 'answered_time says the call was answered but call_type missed says it was not'],
    ]);
  });
});

describe('recordFromCallObject', () => {
  const base = { pbx_id: 'x-1', caller_number: '+33612345678', target_number: '+33198765432', start_time: '2024-05-02T10:00:00Z' };

  it.each<[string, Record<string, unknown>, string]>([
    ['no id at all', { ...base, pbx_id: undefined }, 'pbx_id is required (or id, for a call exported from SIPSIM)'],
    ['a pbx_id too long', { ...base, pbx_id: 'x'.repeat(201) }, 'pbx_id must be at most 200 characters'],
    ['an empty caller', { ...base, caller_number: '  ' }, 'caller_number must not be empty'],
    ['a long number', { ...base, target_number: '1'.repeat(65) }, 'target_number must be at most 64 characters'],
    ['two target numbers', { ...base, receiver_number: '+33198765433' }, 'target_number +33198765432 and receiver_number +33198765433 differ; give one of them'],
    ['a date without zone', { ...base, start_time: '2024-05-02 10:00:00' }, 'start_time must be an RFC 3339 date-time (such as 2024-01-15T10:30:05Z), not "2024-05-02 10:00:00"'],
    ['milliseconds', { ...base, start_time: 1714644000000 }, 'start_time must be an RFC 3339 date-time or Unix seconds (not milliseconds), not 1714644000000'],
    ['an unknown call type', { ...base, call_type: 'forwarded' }, 'call_type must be one of inbound, outbound, missed, voicemail, not "forwarded"'],
    ['an unknown status', { ...base, sip_status: 'ok' }, 'sip_status must be one of answer, cancel, no_answer, busy, unavailable, other, not "ok"'],
    ['a SIP code out of range', { ...base, sip_code: 99 }, 'sip_code must be an integer from 100 to 699, not 99'],
    ['a code that is not its status', { ...base, sip_code: 486, sip_status: 'cancel' }, 'sip_code 486 is sip_status busy, not cancel'],
    ['answered but busy', { ...base, answered: true, sip_status: 'busy' }, 'answered true says the call was answered but sip_status busy says it was not'],
    ['end before start', { ...base, end_time: '2024-05-02T09:59:59Z' }, 'end_time must not be before start_time'],
    ['answered before start', { ...base, answered_time: '2024-05-02T09:59:00Z' }, 'answered_time must not be before start_time'],
    ['end before answer', { ...base, answered_time: '2024-05-02T10:00:10Z', end_time: '2024-05-02T10:00:05Z' }, 'end_time must not be before answered_time'],
    ['registered after start', { ...base, registration_time: '2024-05-02T10:00:01Z' }, 'registration_time must not be after start_time'],
    ['a wait that the times deny', { ...base, answered_time: '2024-05-02T10:00:10Z', wait_duration_sec: 3 }, 'wait_duration_sec is 3 but the times give 10'],
    ['a duration that the times deny', { ...base, answered_time: '2024-05-02T10:00:10Z', end_time: '2024-05-02T10:01:10Z', duration_sec: 10 }, 'duration_sec is 10 but the times give 60'],
    ['an answerer on a missed call', { ...base, call_type: 'missed', answered_phone_number: '101' }, 'answered_phone_number says the call was answered but call_type missed says it was not'],
    ['talk time on a missed call', { ...base, call_type: 'missed', duration_sec: 30 }, 'duration_sec 30 says the call was answered but call_type missed says it was not'],
    ['outbound called inbound', { ...base, call_type: 'outgoing', direction: 'inbound' }, 'call_type outbound contradicts direction inbound'],
    ['a relative recording', { ...base, play_record_link: '/var/spool/rec.wav' }, 'play_record_link must be an http(s) URL'],
    ['tags as a string', { ...base, tags: 'a;b' }, 'tags must be an array of tag names or of {"id", "name"} objects'],
    ['an empty tag', { ...base, tags: ['ok', ' '] }, 'tags[1] must not be an empty name'],
    ['a bad phone id', { ...base, phone_id: 0 }, 'phone_id must be an integer of at least 1, not 0'],
    ['answered as text', { ...base, answered: 'yes' }, 'answered must be true or false, not "yes"'],
  ])('refuses %s', (_, object, reason) => {
    expect(recordFromCallObject(object)).toBe(reason);
  });

  it('takes a recording path under the base URL when one is configured', () => {
    expect(recordFromCallObject({ ...base, play_record_link: '/var/spool/rec 1.wav' }, { recordingBaseUrl: 'https://r.example.fr/a' })).toMatchObject({
      playRecordLink: 'https://r.example.fr/a/rec%201.wav',
    });
  });

  it('reads local times in the zone given, and extensions written as numbers', () => {
    expect(recordFromCallObject({ ...base, start_time: '2024-05-02 12:00:00', caller_number: 101 }, PARIS)).toMatchObject({
      startTime: at('2024-05-02T10:00:00Z'),
      callerNumber: '101',
    });
  });

  it('derives missing times: answered when a field says so, unanswered otherwise', () => {
    expect(recordFromCallObject({ ...base, call_type: 'outbound', duration_sec: 60 })).toMatchObject({
      direction: 'outbound',
      answeredTime: at('2024-05-02T10:00:00Z'),
      endTime: at('2024-05-02T10:01:00Z'),
    });
    expect(recordFromCallObject({ ...base, call_type: 'inbound', wait_duration_sec: 5, duration_sec: 60 })).toMatchObject({
      answeredTime: at('2024-05-02T10:00:05Z'),
      endTime: at('2024-05-02T10:01:05Z'),
    });
    expect(recordFromCallObject({ ...base, call_type: 'missed', wait_duration_sec: 20 })).toMatchObject({
      answeredTime: null,
      endTime: at('2024-05-02T10:00:20Z'),
    });
    expect(recordFromCallObject(base)).toEqual({
      pbxId: 'x-1', callerNumber: '+33612345678', targetNumber: '+33198765432',
      startTime: at('2024-05-02T10:00:00Z'), answeredTime: null, endTime: at('2024-05-02T10:00:00Z'),
    });
  });

  it('never throws, whatever it is given, and what it accepts is coherent', () => {
    const time = fc.oneof(
      fc.integer({ min: 1700000000, max: 1700100000 }).map((s) => formatDateTime(s)),
      fc.integer({ min: -10, max: 1800000000000 }),
      fc.string(),
      fc.constant(null),
    );
    const field = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(fc.oneof(arbitrary, fc.anything()), { nil: undefined });
    const callLike = fc.record(
      {
        id: field(fc.integer()),
        pbx_id: field(fc.string()),
        call_type: field(fc.constantFrom('inbound', 'outbound', 'missed', 'voicemail', 'incoming', 'outgoing', 'other')),
        direction: field(fc.constantFrom('inbound', 'outbound', 'sideways')),
        sip_status: field(fc.constantFrom('answer', 'cancel', 'no_answer', 'busy', 'unavailable', 'other', 'x')),
        sip_code: field(fc.integer({ min: 0, max: 800 })),
        caller_number: field(fc.string()),
        target_number: field(fc.string()),
        receiver_number: field(fc.string()),
        answered_phone_number: field(fc.string()),
        answered: field(fc.boolean()),
        wait_duration_sec: field(fc.integer({ min: -5, max: 100 })),
        duration_sec: field(fc.integer({ min: -5, max: 100 })),
        start_time: field(time),
        answered_time: field(time),
        end_time: field(time),
        registration_time: field(time),
        play_record_link: field(fc.webUrl()),
        tags: field(fc.array(fc.oneof(fc.string(), fc.record({ id: fc.integer(), name: fc.string() })))),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), callLike), (value) => {
        const result = recordFromCallObject(value, PARIS);
        if (typeof result === 'string') {
          expect(result.length).toBeGreaterThan(0);
          expect(result).not.toBe(UNREADABLE_CALL);
          return;
        }
        expect(result.pbxId.length).toBeGreaterThan(0);
        expect(result.pbxId.length).toBeLessThanOrEqual(200);
        expect(result.endTime).toBeGreaterThanOrEqual(result.startTime);
        if (result.answeredTime != null) {
          expect(result.answeredTime).toBeGreaterThanOrEqual(result.startTime);
          expect(result.endTime).toBeGreaterThanOrEqual(result.answeredTime);
        }
        if (result.sipCode != null) expect(result.sipCode).toBeGreaterThanOrEqual(100);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads SIPSIM date-times the same way as parseDateTime does', () => {
    const digits = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
    const dateTime = fc
      .tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2))
      .map(([y, mo, d, h, mi, s]) => `${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
    fc.assert(
      fc.property(dateTime, (text) => {
        const result = recordFromCallObject({ ...base, start_time: text });
        const expected = parseDateTime(text);
        if (expected === null) expect(result).toMatch(/^start_time must be/);
        else expect(result).toMatchObject({ startTime: expected.seconds });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('reading files', () => {
  it('says clearly when a path cannot be read, or a folder is given for a file format', async () => {
    await expect(readAll(join(scratch, 'missing.csv'), 'asterisk-csv')).rejects.toThrow(`cannot read ${join(scratch, 'missing.csv')}: no such file or folder`);
    await expect(readAll(join(FIXTURES, 'asterisk'), 'ndjson')).rejects.toThrow('it is a folder, and only the freeswitch-json format reads folders');
    await expect(readAll(join(FIXTURES, 'calls.ndjson'), 'xml' as ImportFormat)).rejects.toThrow('unknown import format "xml"');
  });

  it('gives nothing for empty files in every format', async () => {
    const empty = await scratchFile('empty.any', '');
    for (const format of IMPORT_FORMATS) expect(await readAll(empty, format)).toEqual([]);
  });

  it('numbers lines by where each record starts, across quoted line breaks, CRLF and a byte-order mark', async () => {
    const path = await scratchFile(
      'multiline.csv',
      '\ufeffid,caller_number,caller_name,target_number,start_time\r\n' +
        '1,+33611111111,"Cabinet\r\nDentaire",+33198765432,2024-01-15T10:00:00Z\r\n' +
        '\r\n' +
        '2,+33622222222,Rivoli,+33198765432,2024-01-15T10:05:00Z\r\n' +
        '3,+33633333333,"Never closed,+33198765432,2024-01-15T10:10:00Z\r\n' +
        '4,+33644444444,Girard,+33198765432,2024-01-15T10:15:00Z',
    );
    const items = await readAll(path, 'sipsim-csv');
    expect(items.map((item) => [item.line, item.record?.pbxId ?? item.error])).toEqual([
      [2, 'sipsim-1'],
      [5, 'sipsim-2'],
      [6, 'a quoted cell is never closed (unbalanced ")'],
      [7, 'sipsim-4'],
    ]);
    expect(items[0]!.record!.callerName).toBe('Cabinet\r\nDentaire');
    expect(items[0]!.raw).toBe('1,+33611111111,"Cabinet\r\nDentaire",+33198765432,2024-01-15T10:00:00Z');
  });

  it('reads records that straddle the reader’s chunks', async () => {
    // A long notes column (ignored, but quoted, with commas, quotes and line breaks)
    // puts record boundaries across the 1 MiB chunks many times over.
    const note = `"${'Rappeler, ""urgent""\n'.repeat(40)}"`;
    const rows = Array.from({ length: 8000 }, (_, i) => `${i + 1},+336${String(i).padStart(8, '0')},Élodie ${i},${note},+33198765432,2024-01-15T10:00:00Z`);
    const path = await scratchFile('chunks.csv', `id,caller_number,caller_name,notes,target_number,start_time\n${rows.join('\n')}\n`);
    const items = await readAll(path, 'sipsim-csv');
    expect(errorsOf(items)).toEqual([]);
    expect(items.map((item) => item.line)).toEqual(rows.map((_, i) => 2 + i * 41));
    expect(items[7999]!.record).toMatchObject({ pbxId: 'sipsim-8000', callerName: 'Élodie 7999', targetNumber: '+33198765432' });
  });

  it('never throws on a file of random text, and numbers every item from line 1 on', async () => {
    const text = fc.array(
      fc.oneof(fc.string(), fc.constantFrom('"', '""', ',', '\n', '\r\n', '{', '}', '"2024-03-12 09:15:02"', '[]', '\ufeff')),
      { maxLength: 60 },
    ).map((parts) => parts.join(''));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(text, async (content) => {
        const path = await scratchFile(`random-${run++}.txt`, content);
        for (const format of ['asterisk-csv', 'ndjson'] as const) {
          const items = await readAll(path, format, PARIS);
          for (const item of items) {
            expect(item.line).toBeGreaterThanOrEqual(1);
            expect(item.record !== undefined || typeof item.error === 'string').toBe(true);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('turns recording paths into links only when it can', () => {
    expect(recordingLink('/var/spool/asterisk/monitor/a.wav', { recordingBaseUrl: 'https://r.example.fr/rec/' })).toBe('https://r.example.fr/rec/a.wav');
    expect(recordingLink('https://cdn.example.fr/a.mp3', {})).toBe('https://cdn.example.fr/a.mp3');
    expect(recordingLink('/var/spool/asterisk/monitor/a.wav', {})).toBeNull();
    expect(recordingLink('C:\\rec\\b.wav', { recordingBaseUrl: 'https://r.example.fr' })).toBe('https://r.example.fr/b.wav');
  });
});

describe('generated files', () => {
  const CALLS = 400;
  const generated = new Map<ImportFormat, PbxCallRecord[]>();

  beforeAll(async () => {
    for (const format of IMPORT_FORMATS) {
      const out = join(scratch, `generated-${format}`);
      await generateImportFixture({ format, calls: CALLS, out, seed: 42, timeZone: 'Europe/Paris' });
      const items = await readAll(out, format, { ...PARIS, recordingBaseUrl: RECORDINGS });
      expect(errorsOf(items), format).toEqual([]);
      generated.set(format, recordsOf(items));
    }
  });

  it.each(IMPORT_FORMATS)('parses %s with no errors, one record per call, each id once', (format) => {
    const records = generated.get(format)!;
    expect(records).toHaveLength(CALLS);
    expect(new Set(records.map((r) => r.pbxId)).size).toBe(CALLS);
  });

  it('tells the same calls in every format', () => {
    const shape = (r: PbxCallRecord) => `${r.startTime} ${r.answeredTime ?? '-'} ${r.endTime} ${r.voicemail === true}`;
    const reference = generated.get('ndjson')!.map(shape).sort();
    for (const format of IMPORT_FORMATS) expect(generated.get(format)!.map(shape).sort(), format).toEqual(reference);
    const calls = generated.get('ndjson')!;
    expect(calls.filter((r) => r.voicemail).length).toBeGreaterThan(0);
    expect(calls.filter((r) => r.direction === 'outbound').length).toBeGreaterThan(0);
    expect(calls.filter((r) => r.answeredTime === null && !r.voicemail).length).toBeGreaterThan(0);
  });

  it('writes newcdrcolumns rows that parse too', async () => {
    const out = join(scratch, 'generated-newcdr.csv');
    await generateImportFixture({ format: 'asterisk-csv', calls: 50, out, seed: 3, newCdrColumns: true });
    const items = await readAll(out, 'asterisk-csv', PARIS);
    expect(errorsOf(items)).toEqual([]);
    expect(recordsOf(items)[0]!.pbxId).toMatch(/^\d+\.\d+-0$/);
  });

  it('writes the same bytes for the same seed, and other calls for another', async () => {
    const digest = async (seed: number, name: string) => {
      const out = join(scratch, name);
      await generateImportFixture({ format: 'asterisk-csv', calls: 200, out, seed });
      return createHash('sha256').update(await readFile(out)).digest('hex');
    };
    const first = await digest(7, 'seed-a.csv');
    expect(await digest(7, 'seed-b.csv')).toBe(first);
    expect(await digest(8, 'seed-c.csv')).not.toBe(first);
    const folder = join(scratch, 'seed-fs');
    await generateImportFixture({ format: 'freeswitch-json', calls: 20, out: folder, seed: 7 });
    expect(await readdir(folder)).toHaveLength(20);
  });
});
