import { InvalidArgumentError, Option, type Command } from 'commander';
import { CALL_FIELDS, type CallField } from '../../domain/call-export.js';
import { CALL_TYPE_ALIASES } from '../../domain/call-filters.js';
import { isValidTimeZone, parseDateTime, zonedTimeToUnix, type LocalDateTime } from '../../domain/time.js';
import { jsonOption } from '../common.js';
import { connectionOptions, type ConnectionOpts } from './connection.js';

/** The client commands' flags: their parsers, and the filters and connection every one of them takes. */

export const DAY = 86400;
/** The largest page the API serves. */
export const PAGE_MAX = 1000;

export type TimeFlag = { kind: 'instant'; seconds: number } | { kind: 'local'; local: LocalDateTime; dateOnly: boolean };

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;

function localDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** RFC 3339 with a zone, or a date or wall-clock time to be read in --tz. */
export function timeFlag(name: string) {
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
export function resolveTime(flag: TimeFlag, zone: string, edge: 'start' | 'end'): number {
  if (flag.kind === 'instant') return flag.seconds;
  if (!flag.dateOnly || edge === 'start') return zonedTimeToUnix(flag.local, zone);
  const next = new Date(Date.UTC(flag.local.year, flag.local.month - 1, flag.local.day + 1));
  const nextDay = { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate(), hour: 0, minute: 0, second: 0 };
  // Both ends of the window are inclusive.
  return zonedTimeToUnix(nextDay, zone) - 1;
}

export function dateFlag(text: string): LocalDateTime {
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

export function pageSizeFlag(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 20 || Number(text) > PAGE_MAX) throw new InvalidArgumentError(`--limit must be an integer from 20 to ${PAGE_MAX}`);
  return Number(text);
}

export function callIdArgument(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('the call id must be a positive integer');
  return Number(text);
}

export function topFlag(text: string): number {
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

export function durationFlag(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === null) throw new InvalidArgumentError('--min must be a duration such as 90s, 30m or 1h30m, or a number of seconds');
  return seconds;
}

export function fieldsFlag(text: string): CallField[] {
  const items = text.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = items.find((f) => !(CALL_FIELDS as readonly string[]).includes(f));
  if (items.length === 0 || unknown !== undefined) {
    throw new InvalidArgumentError(`--fields: ${unknown ? `unknown field '${unknown}'` : 'empty'} (allowed: ${CALL_FIELDS.join(', ')})`);
  }
  return [...new Set(items as CallField[])];
}

export interface FilterOpts {
  start?: TimeFlag;
  end?: TimeFlag;
  tz?: string;
  types?: string[];
  employees?: number[];
  tags?: number[];
  search?: string;
}

export type ClientOpts = ConnectionOpts & FilterOpts & { json?: boolean };

/** The list's filters, the connection and --json; the window only where a command has one. */
export function clientCommand(command: Command, options: { window: boolean; filters: boolean; defaultWindow?: string }): Command {
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
