import { once } from 'node:events';
import { closeSync, createWriteStream, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, type WriteStream } from 'node:fs';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CALL_FIELDS, csvEncoder, DEFAULT_CSV_FIELDS, EXPORT_FORMATS, type CallField, type ExportFormat } from '../domain/call-export.js';
import { CALL_TYPE_ALIASES } from '../domain/call-filters.js';
import { formatDateTime, isValidTimeZone, parseDateTime, zonedTimeToUnix, zoneOffsetSeconds, type LocalDateTime } from '../domain/time.js';
import {
  APIConnectionError,
  APIError,
  NotFoundError,
  PermissionDeniedError,
  Sipsim,
  SipsimError,
  type Call,
  type CallListParams,
  type FetchLike,
  type Page,
} from 'sipsim/sdk';
import { VERSION } from '../version.js';
import { action, CliError, forTerminal, jsonOption, table } from './common.js';
import { DEFAULT_API_URL, resolveConnection, type ConnectionFlags } from './credentials.js';

/**
 * `sipsim calls list|get|long|export` and `sipsim report daily`: the Calls
 * guide's practical examples as commands, against any SIPSIM-compatible server
 * and only through its API (the SDK), never the store.
 */

const DAY = 86400;
const EXPORT_PATH = '/api/v2/calls/export';
const PAGE_MAX = 1000;
/** Rows `calls list` shows as a table when neither --limit nor --all says otherwise. */
const TABLE_ROWS = 20;

// ---- connection ----

type ConnectionOpts = ConnectionFlags;

export function connectionOptions(): Option[] {
  return [
    new Option('--api-url <url>', `the server (default: the profile's, else ${DEFAULT_API_URL})`).env('SIPSIM_API_URL'),
    new Option('--client-id <id>', 'OAuth client id').env('SIPSIM_CLIENT_ID'),
    new Option('--client-secret <secret>', 'OAuth client secret').env('SIPSIM_CLIENT_SECRET'),
    new Option('--token <token>', 'a bearer token, instead of client credentials').env('SIPSIM_TOKEN'),
    new Option('--profile <name>', 'a profile saved by `sipsim login` (default: default)').env('SIPSIM_PROFILE'),
  ];
}

const CREDENTIALS_HELP =
  'set SIPSIM_CLIENT_ID and SIPSIM_CLIENT_SECRET (or SIPSIM_TOKEN), pass --client-id and --client-secret (or --token), save a profile with `sipsim login`, or run from the folder where `npm start` keeps the sandbox';

export function connect(opts: ConnectionOpts, fetch?: FetchLike): Sipsim {
  let resolved;
  try {
    resolved = resolveConnection(opts);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (resolved.from) process.stderr.write(`sipsim: using ${resolved.from} (for ${resolved.apiUrl})\n`);
  const common = { baseUrl: resolved.apiUrl, fetch, userAgent: `sipsim-cli/${VERSION}` };
  try {
    if (resolved.token) return new Sipsim({ ...common, accessToken: resolved.token });
    if (resolved.clientId && resolved.clientSecret) return new Sipsim({ ...common, clientId: resolved.clientId, clientSecret: resolved.clientSecret });
  } catch (error) {
    if (error instanceof SipsimError) throw new CliError(`${error.message} (--api-url or SIPSIM_API_URL)`);
    throw error;
  }
  const missing = resolved.clientId ? 'client secret' : resolved.clientSecret ? 'client id' : 'credentials';
  throw new CliError(`No ${missing}: ${CREDENTIALS_HELP}`);
}

/** What the server said, with the status and request id that find it in the server's logs. */
function describeSdkError(error: SipsimError, apiUrl: string | undefined): string {
  if (error instanceof APIError) {
    const where = [`HTTP ${error.status}`, error.request_id ? `request id ${error.request_id}` : null].filter(Boolean).join(', ');
    return `${error.errors.join('; ')} (${where})`;
  }
  if (error instanceof APIConnectionError) return `Cannot reach the server at ${apiUrl ?? DEFAULT_API_URL}: ${error.message}`;
  return error.message;
}

/** An action whose SDK failures print as one line and exit 1, like input errors. */
export function clientAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return action(async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      if (!(error instanceof SipsimError)) throw error;
      const command = args[args.length - 1] as Command;
      throw new CliError(describeSdkError(error, command.opts().apiUrl as string | undefined));
    }
  });
}

// ---- flags ----

type TimeFlag = { kind: 'instant'; seconds: number } | { kind: 'local'; local: LocalDateTime; dateOnly: boolean };

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

function localDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** RFC 3339 with a zone, or a date or wall-clock time to be read in --tz. */
function timeFlag(name: string) {
  return (text: string): TimeFlag => {
    const instant = parseDateTime(text);
    if (instant) return { kind: 'instant', seconds: instant.seconds };
    const m = LOCAL_TIME.exec(text.trim());
    if (m) {
      const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
      if (localDate(year!, month!, day!) && hour < 24 && minute < 60 && second < 60) {
        return { kind: 'local', local: { year: year!, month: month!, day: day!, hour, minute, second }, dateOnly: m[4] === undefined };
      }
    }
    throw new InvalidArgumentError(`${name} must be an RFC 3339 time such as 2024-01-15T10:30:00Z, or a date such as 2024-01-15 (taken in --tz)`);
  };
}

/** Unix seconds of a time flag; a date alone is its first second as a start and its last as an end. */
function resolveTime(flag: TimeFlag, zone: string, edge: 'start' | 'end'): number {
  if (flag.kind === 'instant') return flag.seconds;
  if (!flag.dateOnly || edge === 'start') return zonedTimeToUnix(flag.local, zone);
  const next = new Date(Date.UTC(flag.local.year, flag.local.month - 1, flag.local.day + 1));
  const nextDay = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 };
  // Both ends of the window are inclusive.
  return zonedTimeToUnix(nextDay, zone) - 1;
}

function dateFlag(text: string): LocalDateTime {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m || !localDate(Number(m[1]), Number(m[2]), Number(m[3]))) throw new InvalidArgumentError('--date must be a date such as 2024-01-15');
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0, second: 0 };
}

function zoneFlag(text: string): string {
  if (!isValidTimeZone(text)) throw new InvalidArgumentError(`--tz: unknown time zone '${text}' (an IANA name such as Europe/Paris, or UTC)`);
  return text;
}

function typesFlag(text: string): string[] {
  const items = text.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
  const unknown = items.find((t) => !CALL_TYPE_ALIASES[t]);
  if (items.length === 0 || unknown !== undefined) {
    throw new InvalidArgumentError(`--types: ${unknown ? `unknown call type '${unknown}'` : 'empty'} (allowed: inbound, outbound, missed, voicemail)`);
  }
  return [...new Set(items.map((t) => CALL_TYPE_ALIASES[t]!))];
}

function idsFlag(name: string, what: string) {
  return (text: string): number[] => {
    const items = text.split(',').map((t) => t.trim()).filter(Boolean);
    if (items.length === 0 || items.some((t) => !/^\d{1,15}$/.test(t) || Number(t) < 1)) {
      throw new InvalidArgumentError(`${name} must be ${what} ids separated by commas, such as 3,7`);
    }
    return items.map(Number);
  };
}

function pageSizeFlag(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 20 || Number(text) > PAGE_MAX) throw new InvalidArgumentError(`--limit must be an integer from 20 to ${PAGE_MAX}`);
  return Number(text);
}

function callIdArgument(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('the call id must be a positive integer');
  return Number(text);
}

function topFlag(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('--top must be a positive integer');
  return Number(text);
}

/** `90s`, `30m`, `1h30m`, or plain seconds. */
export function parseDuration(text: string): number | null {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (!m || trimmed === '') return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function durationFlag(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === null) throw new InvalidArgumentError('--min must be a duration such as 90s, 30m or 1h30m, or a number of seconds');
  return seconds;
}

function fieldsFlag(text: string): CallField[] {
  const items = text.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = items.find((f) => !(CALL_FIELDS as readonly string[]).includes(f));
  if (items.length === 0 || unknown !== undefined) {
    throw new InvalidArgumentError(`--fields: ${unknown ? `unknown field '${unknown}'` : 'empty'} (allowed: ${CALL_FIELDS.join(', ')})`);
  }
  return [...new Set(items as CallField[])];
}

interface FilterOpts {
  start?: TimeFlag;
  end?: TimeFlag;
  tz?: string;
  types?: string[];
  employees?: number[];
  tags?: number[];
  search?: string;
}

type ClientOpts = ConnectionOpts & FilterOpts & { json?: boolean };

/** The list's filters, the connection and --json; the window only where a command has one. */
function clientCommand(command: Command, options: { window: boolean; filters: boolean; defaultWindow?: string }): Command {
  if (options.window) {
    const defaults = options.defaultWindow ?? 'default: the last 7 days';
    command
      .addOption(new Option('--start <time>', `from (RFC 3339, or a date YYYY-MM-DD in --tz); ${defaults}`).argParser(timeFlag('--start')))
      .addOption(new Option('--end <time>', 'until, inclusive (RFC 3339, or a date: its last second)').argParser(timeFlag('--end')));
  }
  command.addOption(new Option('--tz <zone>', "IANA time zone for dates and shown times; default: the account's, else UTC").argParser(zoneFlag));
  if (options.filters) {
    command
      .addOption(new Option('--types <list>', 'call types, comma-separated: inbound, outbound, missed, voicemail').argParser(typesFlag))
      .addOption(new Option('--employees <ids>', 'employee ids, comma-separated').argParser(idsFlag('--employees', 'employee')))
      .addOption(new Option('--tags <ids>', 'tag ids, comma-separated').argParser(idsFlag('--tags', 'tag')))
      .option('--search <text>', 'a phone number, or part of a caller name');
  }
  for (const option of connectionOptions()) command.addOption(option);
  return command.addOption(jsonOption());
}

// ---- a session: the client, and what several commands look up once ----

class Session {
  private zonePromise: Promise<string> | undefined;
  private namesPromise: Promise<Map<number, string>> | undefined;

  constructor(
    readonly client: Sipsim,
    private readonly tzFlag: string | undefined,
  ) {}

  /** --tz, else the account's zone, else UTC (a token without account.read cannot read it). */
  zone(): Promise<string> {
    return (this.zonePromise ??= this.tzFlag
      ? Promise.resolve(this.tzFlag)
      : this.client.account.retrieve().then(
          (account) => (isValidTimeZone(account.timezone) ? account.timezone : 'UTC'),
          (error: unknown) => {
            if (error instanceof PermissionDeniedError || error instanceof NotFoundError) return 'UTC';
            throw error;
          },
        ));
  }

  /** Employee names by id; none when the token may not read them. */
  employeeNames(): Promise<Map<number, string>> {
    return (this.namesPromise ??= (async () => {
      const names = new Map<number, string>();
      try {
        for await (const employee of this.client.employees.list({ limit: PAGE_MAX })) names.set(employee.id, employee.name);
      } catch (error) {
        if (!(error instanceof PermissionDeniedError || error instanceof NotFoundError)) throw error;
      }
      return names;
    })());
  }

  /** The API's query for the filters; the window defaults to the last 7 days. */
  async query(opts: FilterOpts, now = Math.floor(Date.now() / 1000)): Promise<CallListParams & { start_time: string }> {
    const needsZone = opts.start?.kind === 'local' || opts.end?.kind === 'local';
    const zone = needsZone ? await this.zone() : 'UTC';
    const start = opts.start ? resolveTime(opts.start, zone, 'start') : now - 7 * DAY;
    const end = opts.end ? resolveTime(opts.end, zone, 'end') : undefined;
    if (end !== undefined && end < start) throw new CliError('--end is before --start');
    if (end === undefined && start > now) throw new CliError('--start is in the future (and --end defaults to now)');
    return {
      start_time: formatDateTime(start),
      end_time: end === undefined ? undefined : formatDateTime(end),
      call_types: opts.types?.join(','),
      employees: opts.employees?.join(','),
      tags: opts.tags?.join(','),
      search: opts.search,
    };
  }
}

function session(opts: ClientOpts, fetch?: FetchLike): Session {
  return new Session(connect(opts, fetch), opts.tz);
}

// ---- display ----

const seconds = (time: string) => Date.parse(time) / 1000;

/** 1h30m, 30m, 90s: a duration as the --min flag takes it. */
function formatDuration(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const text = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
  return text || '0s';
}

/** h:mm:ss: the one way the tables show a duration (0:04:06, 1:19:36, 27:00:00). */
function clock(total: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(total / 3600)}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
}

/** "1 call", "2 calls". */
function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

/** The window a query searched, in the zone the table shows: "2026-11-19 00:00:00 to now (Europe/Paris)". */
function windowText(query: { start_time?: string | Date; end_time?: string | Date }, zone: string): string {
  const at = (time: string | Date | undefined) => (time === undefined ? 'now' : localTime(typeof time === 'string' ? seconds(time) : time.getTime() / 1000, zone));
  return `${at(query.start_time)} to ${at(query.end_time)} (${zone})`;
}

function localTime(unix: number, zone: string): string {
  return new Date((unix + zoneOffsetSeconds(unix, zone)) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function employeeLabel(id: number | null, names: Map<number, string>): string | null {
  return id === null ? null : (names.get(id) ?? `#${id}`);
}

async function callTable(calls: Call[], s: Session): Promise<string> {
  const zone = await s.zone();
  const names = calls.some((c) => c.employee_id !== null) ? await s.employeeNames() : new Map<number, string>();
  return table(
    ['ID', `START (${zone})`, 'TYPE', 'STATUS', 'CALLER', 'TARGET', 'DURATION', 'EMPLOYEE', 'TAGS'],
    calls.map((c) => [
      c.id,
      localTime(seconds(c.start_time), zone),
      c.call_type,
      c.sip_status,
      c.caller_number,
      c.target_number,
      clock(c.duration_sec),
      employeeLabel(c.employee_id, names),
      c.tags.map((t) => t.name).join(', ') || null,
    ]),
  );
}

let stdoutWatched = false;

/** Writes and waits when the stream's buffer is full, so that a long list never piles up in memory. */
async function writeOut(text: string): Promise<void> {
  if (!stdoutWatched) {
    stdoutWatched = true;
    // A reader that stops early (`| head`) has what it wanted: not a failure.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') process.stderr.write(`sipsim: cannot write the output: ${error.message}\n`);
      process.exit(error.code === 'EPIPE' ? 0 : 1);
    });
  }
  if (!process.stdout.write(forTerminal(text))) await once(process.stdout, 'drain');
}

// ---- calls list / get / long ----

async function listCalls(opts: ClientOpts & { limit?: number; all?: boolean; ndjson?: boolean }): Promise<void> {
  if (opts.json && opts.ndjson) throw new CliError('--json and --ndjson cannot be combined');
  const s = session(opts);
  const query = await s.query(opts);
  // A table is for reading: a screenful unless asked for more. JSON keeps the server's page size.
  const table = !opts.json && !opts.ndjson;
  const params = { ...query, limit: opts.limit ?? (opts.all ? PAGE_MAX : table ? TABLE_ROWS : undefined) };
  const list = s.client.calls.list(params);

  if (opts.json || opts.ndjson) {
    // Streamed page by page: `--all` over a long history stays in constant memory.
    let first = true;
    if (opts.json) await writeOut('[');
    for await (const page of list.iterPages()) {
      for (const call of page.data) {
        if (opts.ndjson) await writeOut(`${JSON.stringify(call)}\n`);
        else await writeOut(`${first ? '\n' : ',\n'}${JSON.stringify(call, null, 2).replace(/^/gm, '  ')}`);
        first = false;
      }
      if (!opts.all) break;
    }
    if (opts.json) await writeOut(first ? ']\n' : '\n]\n');
    return;
  }

  const calls: Call[] = [];
  let more = false;
  for await (const page of list.iterPages()) {
    calls.push(...page.data);
    more = page.hasNextPage();
    if (!opts.all) break;
  }
  const zone = await s.zone();
  await writeOut(`${(await callTable(calls, s)) || `No calls from ${windowText(query, zone)}`}\n`);
  if (more) {
    process.stderr.write(`Showing the ${count(calls.length, 'newest call')} from ${windowText(query, zone)}; more match: --limit (up to ${PAGE_MAX}), --all, or --start/--end.\n`);
  }
}

async function getCall(id: number, opts: ConnectionOpts & { tz?: string; json?: boolean }): Promise<void> {
  const s = session(opts);
  const call = await s.client.calls.retrieve(id);
  if (opts.json) return writeOut(`${JSON.stringify(call, null, 2)}\n`);
  const zone = await s.zone();
  const names = call.employee_id === null ? new Map<number, string>() : await s.employeeNames();
  const shown = (key: string, value: unknown): string => {
    if (value === null || value === undefined) return '-';
    if (key.endsWith('_time') && typeof value === 'string') return zone === 'UTC' ? value : `${value}  (${localTime(seconds(value), zone)} ${zone})`;
    if (key.endsWith('_sec') && typeof value === 'number') return `${value}  (${clock(value)})`;
    if (key === 'employee_id' && typeof value === 'number') return names.has(value) ? `${value}  (${names.get(value)})` : String(value);
    if (key === 'tags' && Array.isArray(value)) return call.tags.map((t) => `${t.name} (${t.id})`).join(', ') || '-';
    if (typeof value === 'boolean') return value ? 'yes' : 'no';
    return String(value);
  };
  const entries = Object.entries(call);
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  await writeOut(`${entries.map(([key, value]) => `${`${key}:`.padEnd(width)}  ${shown(key, value)}`).join('\n')}\n`);
}

async function longCalls(opts: ClientOpts & { min: number }): Promise<void> {
  const s = session(opts);
  const found: Call[] = [];
  const query = await s.query(opts);
  for await (const call of s.client.calls.list({ ...query, limit: PAGE_MAX })) {
    if (call.duration_sec >= opts.min) found.push(call);
  }
  if (opts.json) return writeOut(`${JSON.stringify(found, null, 2)}\n`);
  const heading = `Found ${count(found.length, 'call')} of ${formatDuration(opts.min)} or longer from ${windowText(query, await s.zone())}`;
  await writeOut(found.length ? `${heading}:\n${await callTable(found, s)}\n` : `${heading}.\n`);
}

// ---- report daily ----

export interface EmployeeFigures {
  id: number;
  name: string | null;
  /** Calls of the employee in the window, answered or not. */
  calls: number;
  /** Answered calls: inbound calls picked up and outbound calls that connected. */
  calls_handled: number;
  talk_time_sec: number;
}

export interface DailyReport {
  /** The local day reported on; null for a window given with --start/--end. */
  date: string | null;
  time_zone: string;
  start_time: string;
  end_time: string;
  total_calls: number;
  by_type: { inbound: number; outbound: number; missed: number; voicemail: number };
  total_talk_time_sec: number;
  /** Inbound calls offered: every call that came in, answered (inbound), missed or sent to voicemail. */
  inbound_offered: number;
  inbound_answered: number;
  /** inbound_answered / inbound_offered, from 0 to 1; null when nothing came in. */
  answer_rate: number | null;
  /** Mean wait_duration_sec of answered inbound calls; null when there were none. */
  average_wait_sec: number | null;
  /** The local hour (0 to 23) in which most calls started, the earliest on a tie. */
  busiest_hour: { hour: number; calls: number } | null;
  calls_by_hour: number[];
  top_by_calls_handled: EmployeeFigures[];
  top_by_talk_time: EmployeeFigures[];
  /** Every employee with a call in the window, by calls handled. */
  employees: EmployeeFigures[];
}

/** Figures over calls as they come, page after page: constant memory, whatever the day's volume. */
class ReportTally {
  total = 0;
  byType = { inbound: 0, outbound: 0, missed: 0, voicemail: 0 };
  talk = 0;
  offered = 0;
  answered = 0;
  waitOfAnswered = 0;
  byHour = new Array<number>(24).fill(0);
  employees = new Map<number, { calls: number; handled: number; talk: number }>();

  constructor(private readonly zone: string) {}

  add(call: Call): void {
    this.total += 1;
    if (call.call_type in this.byType) this.byType[call.call_type] += 1;
    this.talk += call.duration_sec ?? 0;
    if (call.call_type !== 'outbound') {
      this.offered += 1;
      if (call.answered) {
        this.answered += 1;
        this.waitOfAnswered += call.wait_duration_sec;
      }
    }
    const start = seconds(call.start_time);
    const hour = Math.floor((((start + zoneOffsetSeconds(start, this.zone)) % DAY) + DAY) % DAY / 3600);
    this.byHour[hour]! += 1;
    if (call.employee_id !== null && call.employee_id !== undefined) {
      const e = this.employees.get(call.employee_id) ?? { calls: 0, handled: 0, talk: 0 };
      e.calls += 1;
      if (call.answered) e.handled += 1;
      e.talk += call.duration_sec ?? 0;
      this.employees.set(call.employee_id, e);
    }
  }

  report(window: { date: string | null; start: string; end: string }, names: Map<number, string>, top: number): DailyReport {
    const busiest = this.byHour.reduce((best, calls, hour) => (calls > this.byHour[best]! ? hour : best), 0);
    const employees: EmployeeFigures[] = [...this.employees].map(([id, e]) => ({
      id,
      name: names.get(id) ?? null,
      calls: e.calls,
      calls_handled: e.handled,
      talk_time_sec: e.talk,
    }));
    const byHandled = (a: EmployeeFigures, b: EmployeeFigures) => b.calls_handled - a.calls_handled || b.talk_time_sec - a.talk_time_sec || a.id - b.id;
    const byTalk = (a: EmployeeFigures, b: EmployeeFigures) => b.talk_time_sec - a.talk_time_sec || b.calls_handled - a.calls_handled || a.id - b.id;
    employees.sort(byHandled);
    return {
      date: window.date,
      time_zone: this.zone,
      start_time: window.start,
      end_time: window.end,
      total_calls: this.total,
      by_type: this.byType,
      total_talk_time_sec: this.talk,
      inbound_offered: this.offered,
      inbound_answered: this.answered,
      answer_rate: this.offered ? this.answered / this.offered : null,
      average_wait_sec: this.answered ? this.waitOfAnswered / this.answered : null,
      busiest_hour: this.total ? { hour: busiest, calls: this.byHour[busiest]! } : null,
      calls_by_hour: this.byHour,
      top_by_calls_handled: employees.slice(0, top),
      top_by_talk_time: [...employees].sort(byTalk).slice(0, top),
      employees,
    };
  }
}

function reportText(r: DailyReport): string {
  const hours = clock;
  const title = r.date ? `${r.date} (${r.time_zone})` : `${r.start_time} to ${r.end_time}`;
  const out = [
    `=== Call Report for ${title} ===`,
    `Total calls: ${r.total_calls}`,
    `  Inbound: ${r.by_type.inbound}`,
    `  Outbound: ${r.by_type.outbound}`,
    `  Missed: ${r.by_type.missed}`,
    `  Voicemail: ${r.by_type.voicemail}`,
    `Total talk time: ${Math.floor(r.total_talk_time_sec / 60)} minutes (${hours(r.total_talk_time_sec)})`,
    r.answer_rate === null
      ? 'Answer rate: - (no inbound calls)'
      : `Answer rate: ${(r.answer_rate * 100).toFixed(1)}% (${r.inbound_answered} of ${r.inbound_offered} inbound calls answered; missed and voicemail count as not answered)`,
    `Average wait of answered inbound calls: ${r.average_wait_sec === null ? '-' : `${r.average_wait_sec.toFixed(1)} s`}`,
    r.busiest_hour === null
      ? 'Busiest hour: -'
      : `Busiest hour: ${String(r.busiest_hour.hour).padStart(2, '0')}:00-${String(r.busiest_hour.hour + 1).padStart(2, '0')}:00 ${r.time_zone} (${count(r.busiest_hour.calls, 'call')})`,
  ];
  const employeeTable = (list: EmployeeFigures[]) =>
    table(
      ['EMPLOYEE', 'HANDLED', 'CALLS', 'TALK TIME'],
      list.map((e) => [e.name ?? `#${e.id}`, e.calls_handled, e.calls, hours(e.talk_time_sec)]),
    ).replace(/^/gm, '  ');
  if (r.employees.length) {
    out.push('Top employees by calls handled:', employeeTable(r.top_by_calls_handled));
    out.push('Top employees by talk time:', employeeTable(r.top_by_talk_time));
  } else {
    out.push('Top employees: - (no call has an employee)');
  }
  return out.join('\n');
}

async function dailyReport(opts: ClientOpts & { date?: LocalDateTime; top: number }): Promise<void> {
  if (opts.date && (opts.start || opts.end)) throw new CliError('--date cannot be combined with --start or --end');
  const s = session(opts);
  const zone = await s.zone();
  let date: string | null = null;
  let window = opts;
  if (!opts.start && !opts.end) {
    let day = opts.date;
    if (!day) {
      const now = Math.floor(Date.now() / 1000);
      const local = new Date((now + zoneOffsetSeconds(now, zone)) * 1000);
      day = { year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(), hour: 0, minute: 0, second: 0 };
    }
    date = `${day.year}-${String(day.month).padStart(2, '0')}-${String(day.day).padStart(2, '0')}`;
    const flag: TimeFlag = { kind: 'local', local: day, dateOnly: true };
    window = { ...opts, start: flag, end: flag };
  }
  const query = await s.query(window);
  const tally = new ReportTally(zone);
  for await (const call of s.client.calls.list({ ...query, limit: PAGE_MAX })) tally.add(call);
  const names = tally.employees.size ? await s.employeeNames() : new Map<number, string>();
  const end = query.end_time ? String(query.end_time) : formatDateTime(Math.floor(Date.now() / 1000));
  const report = tally.report({ date, start: query.start_time as string, end }, names, opts.top);
  await writeOut(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${reportText(report)}\n`);
}

// ---- export ----

/** The last call in a file: calls come newest first, so everything after it in the list is still to write. */
interface Position {
  start: number;
  id: number;
}

/** Whether a call comes at or before `last` in the list's order (start_time desc, id desc), so is in the file already. */
export function alreadyWritten(call: Position, last: Position | null): boolean {
  return last !== null && (call.start > last.start || (call.start === last.start && call.id >= last.id));
}

/** The sidecar of FILE.part: what the export is, and how far the file holds complete lines. */
interface ExportState {
  version: 1;
  /** The command's request as given; a resume must ask for the very same. */
  request: Record<string, unknown>;
  /** The filters as first resolved, the defaulted window included, so that a resume reads the same window. */
  query: Record<string, string>;
  /** Bytes of FILE.part known to be on disk, each line complete. */
  bytes: number;
  calls: number;
  last: Position | null;
}

/**
 * FILE.part and its state. A line counts once its write completed, and the
 * state is saved after that, so the state never claims more than the file
 * holds: a resume cuts the file back to `bytes` and goes on from `last`.
 */
class PartFile {
  private readonly stream: WriteStream;
  private savedAt = 0;
  /** Calls handed to the file, written or not yet: what progress shows. */
  submitted: number;

  constructor(
    private readonly fd: number,
    private readonly statePath: string,
    readonly state: ExportState,
  ) {
    this.submitted = state.calls;
    this.stream = createWriteStream('', { fd, autoClose: false });
    this.save();
  }

  static open(path: string, statePath: string, state: ExportState): PartFile {
    try {
      if (state.bytes > 0) truncateSync(path, state.bytes);
      return new PartFile(openSync(path, state.bytes > 0 ? 'a' : 'w'), statePath, state);
    } catch (error) {
      throw new CliError(`Cannot write ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async write(text: string, calls: number, last: Position | null): Promise<void> {
    if (text === '') return;
    this.submitted += calls;
    const data = Buffer.from(text);
    const ready = this.stream.write(data, (error) => {
      if (error) return;
      this.state.bytes += data.length;
      this.state.calls += calls;
      if (last) this.state.last = last;
      if (Date.now() - this.savedAt >= 200) this.save();
    });
    if (!ready) await once(this.stream, 'drain');
  }

  save(): void {
    writeFileSync(`${this.statePath}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.statePath}.tmp`, this.statePath);
    this.savedAt = Date.now();
  }

  /** Waits for every write, saves the state, and makes the bytes durable. */
  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'finish');
    this.save();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** The state of an earlier run of the same export, if its file is still there and holds what the state says. */
function resumableState(partPath: string, statePath: string, request: Record<string, unknown>): ExportState | null {
  if (!existsSync(partPath) || !existsSync(statePath)) return null;
  let state: ExportState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as ExportState;
  } catch {
    return null;
  }
  if (state.version !== 1 || JSON.stringify(state.request) !== JSON.stringify(request)) {
    process.stderr.write(`${partPath} was left by another export (other server, filters, format or fields): starting over.\n`);
    return null;
  }
  if (statSync(partPath).size < state.bytes) {
    process.stderr.write(`${partPath} is shorter than its state records: starting over.\n`);
    return null;
  }
  return state;
}

/** Splits a stream of text into complete lines (CSV: a quoted cell may hold line breaks), each with its line break. */
export class LineSplitter {
  private rest = '';
  /** How far into `rest` the quotes were already counted. */
  private scanned = 0;
  private quoted = false;

  constructor(private readonly csv: boolean) {}

  push(text: string): string[] {
    const all = this.rest + text;
    const lines: string[] = [];
    let start = 0;
    let i = this.scanned;
    // indexOf rather than a loop over characters: most lines hold no quote at all.
    let quote = this.csv ? all.indexOf('"', i) : -1;
    for (;;) {
      if (this.quoted) {
        if (quote < 0) {
          i = all.length;
          break;
        }
        this.quoted = false;
        i = quote + 1;
        quote = all.indexOf('"', i);
        continue;
      }
      const newline = all.indexOf('\n', i);
      if (quote >= 0 && (newline < 0 || quote < newline)) {
        this.quoted = true;
        i = quote + 1;
        quote = all.indexOf('"', i);
        continue;
      }
      if (newline < 0) {
        i = all.length;
        break;
      }
      lines.push(all.slice(start, newline + 1));
      start = i = newline + 1;
    }
    this.rest = all.slice(start);
    this.scanned = i - start;
    return lines;
  }

  /** What is left when the stream ends: a last line without its break. */
  end(): string {
    return this.rest;
  }
}

/** The raw cells of a CSV line (quotes kept), split at commas outside quotes. */
export function csvCells(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) {
      cells.push(line.slice(start, i));
      start = i + 1;
    }
  }
  cells.push(line.slice(start));
  return cells;
}

const unquote = (cell: string) => (cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell);
const lineBreak = (line: string) => (line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '');

/**
 * How the lines of the endpoint's file become the lines of ours: each line's
 * call position, and its text. CSV asks for id and start_time when --fields
 * leaves them out, then drops those columns again, so that every line still
 * says where it is in the list.
 */
interface LineReader {
  /** Columns to ask the endpoint for. */
  fields?: CallField[];
  /** The header line as our file has it ('' for NDJSON). */
  header(line: string): string;
  row(line: string): { position: Position; text: string };
}

function csvLineReader(fields: CallField[]): LineReader {
  const asked = [...fields, ...(['id', 'start_time'] as const).filter((f) => !fields.includes(f))];
  let idAt = -1;
  let startAt = -1;
  const keep = (line: string) => {
    const eol = lineBreak(line);
    const cells = csvCells(line.slice(0, line.length - eol.length));
    return { cells, text: cells.length > fields.length ? `${cells.slice(0, fields.length).join(',')}${eol}` : line };
  };
  return {
    fields: asked,
    header(line) {
      const { cells, text } = keep(line);
      const names = cells.map(unquote);
      idAt = names.indexOf('id');
      startAt = names.indexOf('start_time');
      if (idAt < 0 || startAt < 0) throw new CliError('The export endpoint answered a CSV file without the id and start_time columns it was asked for');
      return text;
    },
    row(line) {
      const { cells, text } = keep(line);
      return { position: { start: seconds(unquote(cells[startAt] ?? '')), id: Number(unquote(cells[idAt] ?? '')) }, text };
    },
  };
}

const ndjsonLineReader: LineReader = {
  header: () => '',
  row(line) {
    const call = JSON.parse(line) as Pick<Call, 'id' | 'start_time'>;
    return { position: { start: seconds(call.start_time), id: call.id }, text: line.endsWith('\n') ? line : `${line}\n` };
  },
};

/** Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise. */
class ExportProgress {
  private readonly bar: cliProgress.SingleBar | null = null;
  private lineAt = Date.now();

  constructor(
    private readonly windowStart: number,
    private readonly windowEnd: number,
  ) {
    if (process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: 'exporting {bar} {percentage}% of the window | {calls} calls | {duration_formatted}',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(1, windowEnd - windowStart), 0, { calls: 0 });
    }
  }

  /** Calls come newest first: the share of the window behind the last call is the work done. */
  update(calls: number, at: number): void {
    const done = Math.min(Math.max(this.windowEnd - at, 0), this.windowEnd - this.windowStart);
    if (this.bar) return this.bar.update(done, { calls: calls.toLocaleString('en') });
    if (Date.now() - this.lineAt < 2000) return;
    this.lineAt = Date.now();
    const share = Math.floor((done / Math.max(1, this.windowEnd - this.windowStart)) * 100);
    process.stderr.write(`exported ${calls.toLocaleString('en')} calls so far, back to ${formatDateTime(at)} (${share}% of the window)\n`);
  }

  /** Ends the bar; full when the whole window was read. */
  stop(complete: boolean, calls: number): void {
    if (complete) this.bar?.update(this.windowEnd - this.windowStart, { calls: calls.toLocaleString('en') });
    this.bar?.stop();
  }
}

/**
 * The SDK reads whole answers, and an export is a file of any size: its body
 * is taken here, at the fetch boundary, while the SDK still does the token,
 * retries and error answers and sees an empty success.
 */
class StreamTaker {
  private body: ReadableStream<Uint8Array> | null = null;

  readonly fetch: FetchLike = async (url, init) => {
    const response = await globalThis.fetch(url, init);
    if (!response.ok || !new URL(url).pathname.endsWith(EXPORT_PATH) || !response.body) return response;
    this.body = response.body;
    return new Response(null, { status: response.status, headers: response.headers });
  };

  take(): ReadableStream<Uint8Array> {
    const body = this.body;
    this.body = null;
    if (!body) throw new CliError('The export endpoint answered without a body');
    return body;
  }
}

interface ExportOpts extends ClientOpts {
  out: string;
  format?: ExportFormat;
  fields?: CallField[];
  restart?: boolean;
}

type Writer = { file: PartFile; progress: ExportProgress };

/** Streams the endpoint's file into ours. False when the server has no export endpoint. */
async function fromEndpoint(s: Session, taker: StreamTaker, query: Record<string, string>, format: ExportFormat, fields: CallField[], w: Writer): Promise<boolean> {
  const reader = format === 'csv' ? csvLineReader(fields) : ndjsonLineReader;
  try {
    await s.client.request({ method: 'GET', path: EXPORT_PATH, query: { ...query, format, fields: reader.fields?.join(',') } });
  } catch (error) {
    // No such route: an older or other server. Any other refusal is the answer.
    if (error instanceof NotFoundError) return false;
    throw error;
  }
  const body = taker.take();
  const lines = new LineSplitter(format === 'csv');
  const decoder = new TextDecoder();
  const last = w.file.state.last;
  let headerSeen = format !== 'csv';

  const take = async (batch: string[]) => {
    let text = '';
    let calls = 0;
    let newest: Position | null = null;
    for (const line of batch) {
      if (line.trim() === '') continue;
      if (!headerSeen) {
        headerSeen = true;
        const header = reader.header(line);
        if (w.file.state.bytes === 0) text += header;
        continue;
      }
      const { position, text: row } = reader.row(line);
      if (alreadyWritten(position, last)) continue;
      text += row;
      calls += 1;
      newest = position;
    }
    await w.file.write(text, calls, newest);
    if (newest) w.progress.update(w.file.submitted, newest.start);
  };

  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) await take(lines.push(decoder.decode(chunk, { stream: true })));
  const rest = lines.push(decoder.decode()).concat(lines.end());
  await take(rest);
  return true;
}

/** The call with every field asked for: another server's call may lack one, which gets an empty cell, not "undefined". */
function withFields(call: Call, fields: readonly CallField[]): Call {
  if (fields.every((field) => call[field] !== undefined)) return call;
  const filled: Record<string, unknown> = { ...call };
  for (const field of fields) filled[field] ??= null;
  return filled as unknown as Call;
}

/** Pages through GET /calls, for a server without the export endpoint, writing what the endpoint would. */
async function fromPages(s: Session, query: Record<string, string>, format: ExportFormat, fields: CallField[], w: Writer): Promise<void> {
  const encoder = csvEncoder(fields);
  const last = w.file.state.last;
  if (format === 'csv' && w.file.state.bytes === 0) await w.file.write(encoder.header, 0, null);
  let page: Page<Call> | null = await s.client.calls.list({ ...(query as unknown as CallListParams), limit: PAGE_MAX });
  while (page) {
    // The next page is asked for before this one is written, so that the server works while this side does.
    const next: Promise<Page<Call>> | null = page.hasNextPage() ? page.getNextPage() : null;
    next?.catch(() => undefined);
    const calls = page.data.filter((call) => !alreadyWritten({ start: seconds(call.start_time), id: call.id }, last));
    if (calls.length > 0) {
      const text = format === 'csv' ? encoder.encode(calls.map((call) => withFields(call, fields))) : calls.map((call) => `${JSON.stringify(call)}\n`).join('');
      const newest = calls[calls.length - 1]!;
      const position = { start: seconds(newest.start_time), id: newest.id };
      await w.file.write(text, calls.length, position);
      w.progress.update(w.file.submitted, position.start);
    }
    page = next ? await next : null;
  }
}

async function exportCalls(opts: ExportOpts): Promise<void> {
  const format: ExportFormat = opts.format ?? (/\.(ndjson|jsonl)$/i.test(opts.out) ? 'ndjson' : 'csv');
  if (opts.fields && format !== 'csv') throw new CliError('--fields chooses CSV columns; NDJSON lines are whole call objects');
  const fields = opts.fields ?? [...DEFAULT_CSV_FIELDS];
  const began = Date.now();
  const partPath = `${opts.out}.part`;
  const statePath = `${opts.out}.part.json`;
  const taker = new StreamTaker();
  const s = session(opts, taker.fetch);

  const flag = (t: TimeFlag | undefined) => (t === undefined ? null : t.kind === 'instant' ? formatDateTime(t.seconds) : t.local);
  const request = {
    api_url: s.client.baseUrl,
    format,
    fields: format === 'csv' ? fields : null,
    start: flag(opts.start),
    end: flag(opts.end),
    tz: opts.tz ?? null,
    types: opts.types ?? null,
    employees: opts.employees ?? null,
    tags: opts.tags ?? null,
    search: opts.search ?? null,
  };
  let state = opts.restart ? null : resumableState(partPath, statePath, request);
  if (state && !state.last) state = { ...state, bytes: 0, calls: 0 };
  const resumedAfter = state?.calls ?? 0;
  if (!state) {
    // The window is fixed now, its end included, so that a resume reads the very same one.
    const resolved = await s.query(opts);
    const query = Object.fromEntries(Object.entries({ ...resolved, end_time: resolved.end_time ?? formatDateTime(Math.floor(Date.now() / 1000)) }).filter(([, v]) => v !== undefined)) as Record<string, string>;
    state = { version: 1, request, query, bytes: 0, calls: 0, last: null };
  } else {
    process.stderr.write(`Resuming ${partPath} after ${state.calls.toLocaleString('en')} calls.\n`);
  }

  // What is left: the calls up to the last one written, whose second may hold more.
  const query = state.last ? { ...state.query, end_time: formatDateTime(state.last.start) } : state.query;
  const file = PartFile.open(partPath, statePath, state);
  const progress = new ExportProgress(seconds(state.query.start_time!), seconds(state.query.end_time!));
  let source: 'export-endpoint' | 'list-pages' = 'export-endpoint';
  try {
    if (!(await fromEndpoint(s, taker, query, format, fields, { file, progress }))) {
      source = 'list-pages';
      await fromPages(s, query, format, fields, { file, progress });
    }
  } catch (error) {
    progress.stop(false, file.submitted);
    await file.close().catch(() => undefined);
    const reason =
      error instanceof SipsimError
        ? describeSdkError(error, opts.apiUrl)
        : error instanceof CliError
          ? error.message
          : `The transfer broke off: ${error instanceof Error ? error.message : String(error)}`;
    if (file.state.calls === 0) {
      // Nothing worth resuming: leave no partial file behind.
      rmSync(partPath, { force: true });
      rmSync(statePath, { force: true });
      throw new CliError(reason);
    }
    throw new CliError(`${reason}\nThe export stopped after ${file.state.calls.toLocaleString('en')} calls; run the same command again to resume it.`);
  }
  progress.stop(true, file.submitted);
  await file.close();
  renameSync(partPath, opts.out);
  rmSync(statePath, { force: true });

  const elapsed = (Date.now() - began) / 1000;
  const calls = file.state.calls;
  const summary = { file: opts.out, format, calls, seconds: Number(elapsed.toFixed(3)), resumed_after: resumedAfter, source };
  if (opts.json) return writeOut(`${JSON.stringify(summary, null, 2)}\n`);
  const resumed = resumedAfter ? ` (resumed: ${resumedAfter.toLocaleString('en')} were written before)` : '';
  await writeOut(`Exported ${calls.toLocaleString('en')} calls to ${opts.out} in ${elapsed.toFixed(1)} s${resumed}\n`);
}

// ---- registration ----

export function registerClientCommands(program: Command): void {
  // Each command's own options first, then the filters and the connection that they share.
  const calls = program.command('calls').description('read call history from a SIPSIM server (this one or any compatible)');

  clientCommand(
    calls
      .command('list')
      .description('list calls, newest first')
      .addOption(new Option('--limit <n>', "calls per page, 20 to 1000 (default: 20 in a table, the server's with --json)").argParser(pageSizeFlag))
      .option('--all', 'follow every page, not just the first')
      .option('--ndjson', 'one JSON call object per line'),
    { window: true, filters: true },
  ).action(clientAction(listCalls));

  clientCommand(calls.command('get').description('show one call').argument('<id>', 'call id', callIdArgument), { window: false, filters: false })
    .action(clientAction(getCall));

  clientCommand(
    calls
      .command('long')
      .description('find long calls (the guide\'s "Find Long Calls")')
      .addOption(new Option('--min <duration>', 'shortest talk time: 90s, 30m, 1h30m, or seconds').argParser(durationFlag).default(1800, '30m')),
    { window: true, filters: true },
  ).action(clientAction(longCalls));

  clientCommand(
    calls
      .command('export')
      .description('export calls to a CSV or NDJSON file; an interrupted export resumes when the same command runs again')
      .requiredOption('--out <file>', 'the file to write (FILE.part until complete)')
      .addOption(new Option('--format <format>', 'csv or ndjson (default: from the file name, else csv)').choices([...EXPORT_FORMATS]))
      .addOption(new Option('--fields <list>', `CSV columns (default: ${DEFAULT_CSV_FIELDS.join(',')})`).argParser(fieldsFlag))
      .option('--restart', 'ignore a partial FILE.part and start over'),
    { window: true, filters: true },
  ).action(clientAction(exportCalls));

  const report = program.command('report').description('reports over call history from a SIPSIM server');
  clientCommand(
    report
      .command('daily')
      .description('one local day: calls by type, talk time, answer rate, wait, busiest hour, top employees')
      .addOption(new Option('--date <YYYY-MM-DD>', 'the day (default: today in --tz)').argParser(dateFlag))
      .addOption(new Option('--top <n>', 'employees in each ranking').argParser(topFlag).default(5)),
    { window: true, filters: true, defaultWindow: 'instead of --date, for another window' },
  ).action(clientAction(dailyReport));
}
