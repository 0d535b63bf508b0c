import { TZDate } from '@date-fns/tz';
import { addDays, endOfDay, endOfMonth, endOfWeek, format, startOfDay, startOfMonth, startOfWeek } from 'date-fns';

/**
 * Time windows in the account's zone, whatever the browser's: "today" is the
 * account's today, and a custom range runs from the first day's midnight to
 * the last day's end there.
 */
export type Preset = 'today' | 'yesterday' | '7d' | '30d' | 'custom';
export const PRESETS: Array<{ value: Preset; label: string }> = [
  { value: 'today', label: 'Today' },
  { value: 'yesterday', label: 'Yesterday' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: 'custom', label: 'Custom' },
];

export interface Window {
  start: Date;
  /** Absent: up to now, so that new calls keep arriving in it. */
  end?: Date;
}

export function now(zone: string): TZDate {
  return TZDate.tz(zone);
}

/** A YYYY-MM-DD day in the zone. */
export function dayOf(value: Date, zone: string): string {
  return format(new TZDate(value.getTime(), zone), 'yyyy-MM-dd');
}

export function parseDay(day: string, zone: string): TZDate | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return null;
  return new TZDate(Number(match[1]), Number(match[2]) - 1, Number(match[3]), zone);
}

export function windowOf(preset: Preset, zone: string, from?: string, to?: string): Window {
  const today = startOfDay(now(zone));
  switch (preset) {
    case 'yesterday': {
      const day = addDays(today, -1);
      return { start: day, end: endOfDay(day) };
    }
    case '7d':
      return { start: addDays(today, -6) };
    case '30d':
      return { start: addDays(today, -29) };
    case 'custom': {
      const first = (from && parseDay(from, zone)) || today;
      const last = (to && parseDay(to, zone)) || null;
      return { start: startOfDay(first), end: last ? endOfDay(last) : undefined };
    }
    default:
      return { start: today };
  }
}

export type Period = 'day' | 'week' | 'month';

/** The day, week (Monday first) or month that holds `day`, in the zone. */
export function periodOf(period: Period, day: string, zone: string): { start: Date; end: Date } {
  const anchor = parseDay(day, zone) ?? startOfDay(now(zone));
  if (period === 'week') return { start: startOfWeek(anchor, { weekStartsOn: 1 }), end: endOfWeek(anchor, { weekStartsOn: 1 }) };
  if (period === 'month') return { start: startOfMonth(anchor), end: endOfMonth(anchor) };
  return { start: startOfDay(anchor), end: endOfDay(anchor) };
}

export function shiftDay(period: Period, day: string, zone: string, by: number): string {
  const anchor = parseDay(day, zone) ?? startOfDay(now(zone));
  const moved = period === 'month' ? new TZDate(anchor.getFullYear(), anchor.getMonth() + by, 1, zone) : addDays(anchor, by * (period === 'week' ? 7 : 1));
  return format(moved, 'yyyy-MM-dd');
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, kind: 'time' | 'date' | 'full'): Intl.DateTimeFormat {
  const key = `${zone}|${kind}`;
  let found = formatters.get(key);
  if (!found) {
    const options: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }
        : kind === 'date'
          ? { month: 'short', day: 'numeric' }
          : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    found = new Intl.DateTimeFormat('en-GB', { ...options, timeZone: zone });
    formatters.set(key, found);
  }
  return found;
}

export function formatTime(iso: string, zone: string): string {
  return formatter(zone, 'time').format(new Date(iso));
}
export function formatDate(iso: string, zone: string): string {
  return formatter(zone, 'date').format(new Date(iso));
}
export function formatFull(iso: string | null | undefined, zone: string): string {
  return iso ? formatter(zone, 'full').format(new Date(iso)) : '—';
}

/** "1:05:09", "4:07", "0:09". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The zone's short name and offset now, such as "Europe/Paris (GMT+1)". */
export function zoneLabel(zone: string): string {
  const part = new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'shortOffset' })
    .formatToParts(new Date())
    .find((p) => p.type === 'timeZoneName');
  return part ? `${zone} (${part.value})` : zone;
}
