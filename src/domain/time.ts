/**
 * Date-times on the wire: RFC 3339 / ISO 8601 with `Z` or an offset and any
 * number of fractional digits. A space is taken where `+` was meant, because an
 * unencoded `+` in a query string arrives as a space.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+\- ]\d{2}(?::?\d{2})?)$/;

export interface ParsedInstant {
  /** Whole Unix seconds, rounded down. */
  seconds: number;
  /** True when the text had a non-zero fraction of a second. */
  fractional: boolean;
}

export function parseDateTime(text: string): ParsedInstant | null {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m as unknown as string[];
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMinutes = sign * (oh * 60 + om);
  }
  const seconds = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - offsetMinutes * 60;
  return { seconds, fractional: /[1-9]/.test(frac) };
}

let lastDay = NaN;
let lastDayPrefix = '';
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * Unix seconds to the wire format: UTC, whole seconds, `Z`. A page formats four
 * times per call and most share a day, so the date part is kept from the last call.
 */
export function formatDateTime(seconds: number): string {
  const day = Math.floor(seconds / 86400);
  if (day !== lastDay) {
    lastDay = day;
    lastDayPrefix = new Date(day * 86400000).toISOString().slice(0, 11);
  }
  const inDay = seconds - day * 86400;
  return `${lastDayPrefix}${two(Math.floor(inDay / 3600))}:${two(Math.floor(inDay / 60) % 60)}:${two(inDay % 60)}Z`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A wall-clock reading without a zone, as PBXs write local times. */
export interface LocalDateTime {
  year: number;
  /** 1 to 12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/**
 * Which instant a wall-clock time names when clocks go back and it happens
 * twice: the first occurrence (`earlier`, the default) or the second.
 */
export type OverlapChoice = 'earlier' | 'later';

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  let format = zoneFormats.get(timeZone);
  if (!format) {
    // Throws a RangeError for an unknown zone, which callers report as such.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormats.set(timeZone, format);
  }
  return format;
}

/** True when the IANA zone name is known to this runtime. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    zoneFormat(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC at an instant, in seconds (east positive). */
export function zoneOffsetSeconds(unixSeconds: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const parts = zoneFormat(timeZone).formatToParts(new Date(unixSeconds * 1000));
  let year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  for (const part of parts) {
    const n = Number(part.value);
    switch (part.type) {
      case 'year': year = n; break;
      case 'month': month = n; break;
      case 'day': day = n; break;
      case 'hour': hour = n; break;
      case 'minute': minute = n; break;
      case 'second': second = n; break;
    }
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  return wall - Math.floor(unixSeconds);
}

/** A change of offset: `before` until the instant `at`, `after` from it on. */
interface Transition {
  before: number;
  after: number;
  at: number;
}

/** Per zone, per local day: its one offset, or the transition that falls within it. */
const dayZones = new Map<string, Map<number, number | Transition>>();

/**
 * The instants that show a local day's wall-clock times lie within 14 hours
 * before its midnight (read as UTC) and 36 hours after; look a little wider.
 */
const DAY_BEFORE = 15 * 3600;
const DAY_AFTER = 39 * 3600;

function zoneOfDay(localDay: number, timeZone: string): number | Transition {
  let days = dayZones.get(timeZone);
  if (!days) {
    days = new Map();
    dayZones.set(timeZone, days);
  }
  let zone = days.get(localDay);
  if (zone === undefined) {
    const midnight = localDay * 86400;
    // With the offset at midnight, the day runs from midnight - offset for 24 hours:
    // the same offset at both ends means no change within it.
    const guess = zoneOffsetSeconds(midnight, timeZone);
    let low = midnight - DAY_BEFORE;
    let high = midnight + DAY_AFTER;
    const before = zoneOffsetSeconds(low, timeZone);
    const after = zoneOffsetSeconds(high, timeZone);
    if (
      before === after ||
      (zoneOffsetSeconds(midnight - guess, timeZone) === guess && zoneOffsetSeconds(midnight + 86399 - guess, timeZone) === guess)
    ) {
      zone = before === after ? before : guess;
    } else {
      // Find the second the offset changes: a few dozen lookups, once per such day.
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (zoneOffsetSeconds(middle, timeZone) === before) low = middle;
        else high = middle;
      }
      zone = { before, after, at: high };
    }
    if (days.size > 100_000) days.clear();
    days.set(localDay, zone);
  }
  return zone;
}

/**
 * The zone's offset (seconds east of UTC) all through a local calendar day, or
 * null on a day when the clocks change. Readers of many local times use it to
 * skip the per-time work on the other 363 days of the year.
 */
export function localDayOffset(year: number, month: number, day: number, timeZone: string): number | null {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const zone = zoneOfDay(Date.UTC(year, month - 1, day) / 86400000, timeZone);
  return typeof zone === 'number' ? zone : null;
}

/**
 * The Unix seconds of a wall-clock time in an IANA zone. A time skipped when
 * clocks go forward is read with the offset before the change, so it lands as
 * far past the change as it was written past it (02:30 on the spring-forward
 * night in Paris is 03:30 CEST), as Temporal's "compatible" rule does. A time
 * that happens twice when clocks go back takes the occurrence `overlap` asks for.
 */
export function zonedTimeToUnix(local: LocalDateTime, timeZone: string, overlap: OverlapChoice = 'earlier'): number {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second) / 1000;
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return asUtc;
  const zone = zoneOfDay(Math.floor(asUtc / 86400), timeZone);
  if (typeof zone === 'number') return asUtc - zone;
  const withBefore = asUtc - zone.before;
  const withAfter = asUtc - zone.after;
  const beforeFits = withBefore < zone.at;
  const afterFits = withAfter >= zone.at;
  if (beforeFits && afterFits) {
    return overlap === 'earlier' ? Math.min(withBefore, withAfter) : Math.max(withBefore, withAfter);
  }
  if (afterFits) return withAfter;
  // Before the change, or in the gap it leaves: the offset from before the clocks moved.
  return withBefore;
}
