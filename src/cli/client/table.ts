import { zoneOffsetSeconds } from '../../domain/time.js';
import type { Call } from 'sipsim/sdk';
import { table } from '../common.js';
import type { Session } from './session.js';

/** How the client commands show calls, times and durations. */

export const seconds = (time: string) => Date.parse(time) / 1000;

/** 1h30m, 30m, 90s: a duration as the --min flag takes it. */
export function formatDuration(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const text = `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${sec ? `${sec}s` : ''}`;
  return text || '0s';
}

/** h:mm:ss: the one way the tables show a duration (0:04:06, 1:19:36, 27:00:00). */
export function clock(total: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(total / 3600)}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
}

/** "1 call", "2 calls". */
export function count(n: number, noun: string): string {
  return `${n.toLocaleString('en')} ${noun}${n === 1 ? '' : 's'}`;
}

/** The window a query searched, in the zone the table shows: "2026-11-19 00:00:00 to now (Europe/Paris)". */
export function windowText(query: { start_time?: string | Date; end_time?: string | Date }, zone: string): string {
  const at = (time: string | Date | undefined) => (time === undefined ? 'now' : localTime(typeof time === 'string' ? seconds(time) : time.getTime() / 1000, zone));
  return `${at(query.start_time)} to ${at(query.end_time)} (${zone})`;
}

export function localTime(unix: number, zone: string): string {
  return new Date((unix + zoneOffsetSeconds(unix, zone)) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function employeeLabel(id: number | null, names: Map<number, string>): string | null {
  return id === null ? null : (names.get(id) ?? `#${id}`);
}

export async function callTable(calls: Call[], s: Session): Promise<string> {
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
