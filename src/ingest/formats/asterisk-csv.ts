import { createHash } from 'node:crypto';
import { sipCodeOfOutcome } from '../../domain/outcomes.js';
import { isValidTimeZone, localDayOffset, zonedTimeToUnix } from '../../domain/time.js';
import type { FormatOptions, ParsedItem, PbxCallRecord } from '../record.js';
import { looksLikeRecording, recordingLink } from './recording-link.js';
import { isBlankRow, itemOf, readCsvBatches } from './text-records.js';

/**
 * Asterisk's cdr_csv Master.csv: no header; sixteen columns, then uniqueid and
 * userfield when `loguniqueid` / `loguserfield` are on (the default), then
 * peeraccount, linkedid and sequence when `newcdrcolumns` is on. Times are
 * local wall-clock times of the PBX (`usegmtime` off) in `YYYY-MM-DD HH:MM:SS`.
 */

const BASE_COLUMNS = 16;
const NEW_CDR_COLUMNS = 3;

/** Column positions of the sixteen that are always there. */
const C = {
  accountcode: 0,
  src: 1,
  dst: 2,
  dcontext: 3,
  clid: 4,
  channel: 5,
  dstchannel: 6,
  lastapp: 7,
  lastdata: 8,
  start: 9,
  answer: 10,
  end: 11,
  duration: 12,
  billsec: 13,
  disposition: 14,
  amaflags: 15,
} as const;

/** Where the optional columns sit, for one column count. */
interface Layout {
  uniqueid: number | null;
  userfield: number | null;
  linkedid: number | null;
  sequence: number | null;
}

/** Asterisk's uniqueid: `<epoch>.<counter>`, with the system name before it when `systemname` is set. */
const UNIQUEID = /^(?:.+-)?\d{9,11}\.\d+$/;

function layoutOf(fields: string[]): Layout | string {
  const extra = fields.length - BASE_COLUMNS;
  const none: Layout = { uniqueid: null, userfield: null, linkedid: null, sequence: null };
  if (extra < 0 || extra > 5) {
    return `expected 16 to 21 columns (Asterisk cdr_csv: accountcode, src, dst, ..., disposition, amaflags[, uniqueid, userfield][, peeraccount, linkedid, sequence]), found ${fields.length}`;
  }
  const withNewColumns = extra >= NEW_CDR_COLUMNS && /^\d+$/.test(fields[fields.length - 1]!.trim());
  const logged = withNewColumns ? extra - NEW_CDR_COLUMNS : extra;
  if (logged > 2) return `expected 16 to 21 columns, found ${fields.length}: the last one is not a sequence number`;
  const layout = { ...none };
  if (logged === 2) {
    layout.uniqueid = 16;
    layout.userfield = 17;
  } else if (logged === 1) {
    // One of the two is logged; a uniqueid has a recognisable shape.
    if (UNIQUEID.test(fields[16]!.trim())) layout.uniqueid = 16;
    else layout.userfield = 16;
  }
  if (withNewColumns) {
    layout.linkedid = fields.length - 2;
    layout.sequence = fields.length - 1;
  }
  return layout;
}

/**
 * Reads `YYYY-MM-DD HH:MM:SS` wall-clock times of one zone. A file holds runs
 * of rows from the same day, so the day's offset is looked up once per run.
 */
export class LocalTimeReader {
  private date = '';
  private midnight = 0;
  private offset: number | null = 0;
  private valid = false;

  constructor(private readonly timeZone: string) {}

  /** Both readings of the time: they differ only in the hour that happens twice. */
  read(text: string): [number, number] | null {
    if (text.length !== 19 || (text.charCodeAt(10) !== 32 && text.charCodeAt(10) !== 84)) return null;
    if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
    const hour = twoDigits(text, 11), minute = twoDigits(text, 14), second = twoDigits(text, 17);
    if (hour > 23 || minute > 59 || second > 59) return null;
    const date = text.slice(0, 10);
    if (date !== this.date) this.setDate(date);
    if (!this.valid) return null;
    if (this.offset !== null) {
      const time = this.midnight + hour * 3600 + minute * 60 + second - this.offset;
      return [time, time];
    }
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const local = { year, month, day, hour, minute, second };
    return [zonedTimeToUnix(local, this.timeZone, 'earlier'), zonedTimeToUnix(local, this.timeZone, 'later')];
  }

  private setDate(date: string): void {
    this.date = date;
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    const year = Number(m?.[1]), month = Number(m?.[2]), day = Number(m?.[3]);
    this.valid = m !== null && month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (!this.valid) return;
    this.midnight = Date.UTC(year, month - 1, day) / 1000;
    this.offset = localDayOffset(year, month, day, this.timeZone);
  }
}

function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48, b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : 99;
}

/** Of two readings, the one that puts `to - from` closest to the span the PBX counted. */
function closest(from: number, to: [number, number], span: number): number {
  return Math.abs(to[1] - from - span) < Math.abs(to[0] - from - span) ? to[1] : to[0];
}

/** `"Jean Dupont" <+33612345678>` gives the name and the number. */
export function parseCallerId(clid: string): { name: string | null; number: string | null } {
  const text = clid.trim();
  const open = text.lastIndexOf('<');
  if (open === -1 || text.charCodeAt(text.length - 1) !== 62 /* > */) return { name: null, number: null };
  const number = text.slice(open + 1, -1).trim();
  let name = text.slice(0, open).trim();
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) {
    name = name.slice(1, -1);
    if (name.includes('\\')) name = name.replace(/\\(.)/g, '$1');
    name = name.trim();
  }
  return { name: name === '' ? null : name, number: number === '' ? null : number };
}

/**
 * The endpoint in a channel name: `PJSIP/101-0000002a` and
 * `Local/101@from-internal-00000005;1` give `101`. Only numbers and extensions
 * count; a trunk's name says nothing about who answered.
 */
export function extensionOfChannel(channel: string): string | null {
  const slash = channel.indexOf('/');
  if (slash === -1) return null;
  let endpoint = channel.slice(slash + 1).trim();
  if (/;[12]$/.test(endpoint)) endpoint = endpoint.slice(0, -2);
  const dash = endpoint.lastIndexOf('-');
  if (dash > 0 && /^[0-9a-fA-F]+$/.test(endpoint.slice(dash + 1))) endpoint = endpoint.slice(0, dash);
  const at = endpoint.indexOf('@');
  if (at !== -1) endpoint = endpoint.slice(0, at);
  return NUMBER_OR_EXTENSION.test(endpoint) ? endpoint : null;
}

const NUMBER_OR_EXTENSION = /^\+?\d{2,15}$/;

/** Asterisk's own words first; anything else (a patched PBX, lower case) goes through the shared table. */
const DISPOSITION_CODES: Record<string, number> = {
  ANSWERED: 200,
  'NO ANSWER': 480,
  BUSY: 486,
  FAILED: 503,
  CONGESTION: 503,
};

function stableId(fields: string[]): string {
  const key = [fields[C.channel], fields[C.dstchannel], fields[C.start], fields[C.src], fields[C.dst]].join('\u0000');
  return `cdr-${createHash('sha1').update(key).digest('hex').slice(0, 20)}`;
}

function nonNegativeInteger(text: string): number | null {
  const trimmed = text.trim();
  return /^\d{1,9}$/.test(trimmed) ? Number(trimmed) : null;
}

const utcReader = new LocalTimeReader('UTC');
const trimmed = (text: string) => text.trim();

/** One Master.csv row as a record, or the reason it was refused. */
export function recordFromAsteriskRow(
  fields: string[],
  options: FormatOptions = {},
  times: LocalTimeReader = options.timeZone ? new LocalTimeReader(options.timeZone) : utcReader,
): PbxCallRecord | string {
  const layout = layoutOf(fields);
  if (typeof layout === 'string') return layout;
  const cells = fields.map(trimmed);

  const { name: clidName, number: clidNumber } = parseCallerId(cells[C.clid]!);
  const callerNumber = cells[C.src]! || clidNumber;
  if (!callerNumber) return 'src is empty and clid has no <number>: the caller is unknown';
  const targetNumber = cells[C.dst]!;
  if (!targetNumber) return 'dst is empty: the dialled number is unknown';
  if (callerNumber.length > 64 || targetNumber.length > 64) return 'src and dst must be at most 64 characters';

  const duration = nonNegativeInteger(cells[C.duration]!);
  if (duration === null) return `duration must be a whole number of seconds, not "${cells[C.duration]!}"`;
  const billsec = nonNegativeInteger(cells[C.billsec]!);
  if (billsec === null) return `billsec must be a whole number of seconds, not "${cells[C.billsec]!}"`;

  const startText = cells[C.start]!;
  if (startText === '') return 'start is empty';
  const starts = times.read(startText);
  if (!starts) return `start must be a date-time as YYYY-MM-DD HH:MM:SS, not "${startText}"`;
  const endText = cells[C.end]!;
  if (endText === '') return 'end is empty';
  const ends = times.read(endText);
  if (!ends) return `end must be a date-time as YYYY-MM-DD HH:MM:SS, not "${endText}"`;
  const answerText = cells[C.answer]!;
  const answers = answerText === '' ? null : times.read(answerText);
  if (answerText !== '' && !answers) return `answer must be a date-time as YYYY-MM-DD HH:MM:SS, not "${answerText}"`;

  // In the hour that happens twice, the readings that agree with the PBX's own
  // duration and billsec are the right ones.
  let startTime = starts[0];
  let endTime = closest(startTime, ends, duration);
  if (starts[1] !== starts[0]) {
    const endAfterLater = closest(starts[1], ends, duration);
    if (Math.abs(endAfterLater - starts[1] - duration) < Math.abs(endTime - startTime - duration)) {
      startTime = starts[1];
      endTime = endAfterLater;
    }
  }
  if (endTime < startTime) return `end ${endText} is before start ${startText}`;

  const disposition = cells[C.disposition]!.toUpperCase();
  const dispositionCode = DISPOSITION_CODES[disposition] ?? sipCodeOfOutcome(disposition);
  if (dispositionCode === null) return `disposition must be ANSWERED, NO ANSWER, BUSY, FAILED or CONGESTION, not "${cells[C.disposition]!}"`;

  const lastApp = cells[C.lastapp]!;
  const dstChannel = cells[C.dstchannel]!;
  // Asterisk answers a call itself to record a voicemail; nobody picked up.
  const voicemail = /^voicemail$/i.test(lastApp) && dstChannel === '';

  let answeredTime: number | null = null;
  if (disposition === 'ANSWERED' && !voicemail) {
    if (!answers) return 'disposition is ANSWERED but answer is empty';
    const [earlier, later] = answers;
    answeredTime = Math.abs(endTime - earlier - billsec) <= Math.abs(endTime - later - billsec) ? earlier : later;
    if (answeredTime < startTime) return `answer ${answerText} is before start ${startText}`;
    if (answeredTime > endTime) return `answer ${answerText} is after end ${endText}`;
  } else if (answers && answers[0] < startTime && answers[1] < startTime) {
    return `answer ${answerText} is before start ${startText}`;
  }

  const uniqueid = layout.uniqueid !== null ? cells[layout.uniqueid]! : '';
  let pbxId: string;
  if (uniqueid !== '') {
    const sequence = layout.sequence !== null ? cells[layout.sequence]! : '';
    pbxId = sequence !== '' ? `${uniqueid}-${sequence}` : uniqueid;
  } else {
    pbxId = stableId(cells);
  }
  if (pbxId.length > 200) return 'uniqueid must be at most 200 characters';

  let recording: string | null = null;
  const userfield = layout.userfield !== null ? cells[layout.userfield]! : '';
  if (userfield !== '' && looksLikeRecording(userfield)) recording = userfield;
  else if (/^mixmonitor$/i.test(lastApp)) recording = cells[C.lastdata]!.split(',')[0]!.trim() || null;

  const record: PbxCallRecord = {
    pbxId,
    callerNumber,
    targetNumber,
    startTime,
    answeredTime,
    endTime,
    // Voicemail: the PBX took the call but no person answered.
    sipCode: voicemail ? 480 : dispositionCode,
  };
  const callerName = clidName && clidName !== callerNumber ? clidName : null;
  if (callerName) record.callerName = callerName.slice(0, 200);
  if (voicemail) record.voicemail = true;
  if (answeredTime !== null) {
    const answeredBy = extensionOfChannel(dstChannel);
    if (answeredBy) record.answeredBy = answeredBy;
  }
  if (recording) {
    const link = recordingLink(recording, options);
    if (link) record.playRecordLink = link;
  }
  return record;
}

/** Reads a Master.csv file (or an account's own `<accountcode>.csv`, which has the same rows). */
export async function* readAsteriskCsv(path: string, options: FormatOptions): AsyncGenerator<ParsedItem> {
  if (options.timeZone !== undefined && !isValidTimeZone(options.timeZone)) {
    throw new Error(`unknown time zone "${options.timeZone}": give an IANA name such as Europe/Paris`);
  }
  const times = new LocalTimeReader(options.timeZone ?? 'UTC');
  for await (const batch of readCsvBatches(path)) {
    for (const row of batch) {
      if (row.fields === undefined) {
        yield itemOf(path, row.line, row.raw, row.error ?? 'unreadable row');
        continue;
      }
      if (isBlankRow(row.fields)) continue;
      const result = recordFromAsteriskRow(row.fields, options, times);
      yield itemOf(path, row.line, row.raw, result);
    }
  }
}
