import type { CallResource } from '../domain/call.js';
import type { CallReport, HourRow } from '../domain/call-report.js';
import { formatDateTime, isValidTimeZone, zoneOffsetSeconds } from '../domain/time.js';
import type { OffsetSegment } from '../store/call-report-store.js';
import type { Store } from '../store/store.js';

/** The longest window a report covers: a year, leap day included. */
export const MAX_REPORT_SECONDS = 366 * 86400;
const LONGEST_CALLS = 10;

/**
 * The stretches of [from, to] over which the zone's offset stays the same.
 * Found by stepping an hour at a time and narrowing each change down to the
 * second, so that any zone's transitions land where they are.
 */
export function offsetSegments(from: number, to: number, timeZone: string): OffsetSegment[] {
  const segments: OffsetSegment[] = [{ from, offsetSeconds: zoneOffsetSeconds(from, timeZone) }];
  let previous = from;
  let previousOffset = segments[0]!.offsetSeconds;
  while (previous < to) {
    const next = Math.min(previous + 3600, to);
    const offset = zoneOffsetSeconds(next, timeZone);
    if (offset !== previousOffset) {
      let low = previous;
      let high = next; // offset(low) is the old one, offset(high) the new one
      while (high - low > 1) {
        const mid = Math.floor((low + high) / 2);
        if (zoneOffsetSeconds(mid, timeZone) === previousOffset) low = mid;
        else high = mid;
      }
      segments.push({ from: high, offsetSeconds: offset });
      previousOffset = offset;
    }
    previous = next;
  }
  return segments;
}

function offsetAt(segments: OffsetSegment[], t: number): { offset: number; nextStart: number } {
  let index = 0;
  while (index + 1 < segments.length && segments[index + 1]!.from <= t) index++;
  return { offset: segments[index]!.offsetSeconds, nextStart: segments[index + 1]?.from ?? Infinity };
}

/** The start (a Unix instant) of the local hour `t` falls in, as the store computes it. */
export function localHourStart(t: number, offset: number): number {
  return Math.floor((t + offset) / 3600) * 3600 - offset;
}

/** Every local hour of the window, in order: where the rows of the report go, zeros included. */
export function hoursOfWindow(from: number, to: number, segments: OffsetSegment[]): number[] {
  const hours: number[] = [];
  let t = from;
  while (t <= to) {
    const { offset, nextStart } = offsetAt(segments, t);
    const start = localHourStart(t, offset);
    if (hours[hours.length - 1] !== start) hours.push(start);
    t = Math.min(start + 3600, nextStart);
  }
  return hours;
}

const INCOMING = new Set(['inbound', 'missed', 'voicemail']);

/**
 * The Reports page's figures over [from, to] (Unix seconds, both inclusive, of
 * start_time), bucketed in the account's time zone. Each figure is defined so
 * that a client counting the calls GET /api/v2/calls returns for the same
 * window gets the same number (docs/dashboard.md).
 */
export async function buildCallReport(store: Store, accountId: number, from: number, to: number): Promise<CallReport> {
  const account = await store.accounts.find(accountId);
  const timezone = account && isValidTimeZone(account.timezone) ? account.timezone : 'UTC';
  const segments = offsetSegments(from, to, timezone);
  const reports = store.callReports;
  const [perHour, incoming, [p50, p90], employees, longestIds] = await Promise.all([
    reports.perHour(accountId, from, to, segments),
    reports.incoming(accountId, from, to),
    reports.answeredWaitPercentiles(accountId, from, to, [0.5, 0.9]),
    reports.perEmployee(accountId, from, to),
    reports.longestCallIds(accountId, from, to, LONGEST_CALLS),
  ]);

  const rows = new Map<number, HourRow>();
  for (const hour of hoursOfWindow(from, to, segments)) {
    rows.set(hour, { hour: formatDateTime(hour), total: 0, incoming: 0, outgoing: 0, inbound: 0, outbound: 0, missed: 0, voicemail: 0 });
  }
  let total = 0;
  for (const r of perHour) {
    const row = rows.get(r.hour);
    if (!row) continue; // cannot happen: every call of the window falls in one of its hours
    total += r.calls;
    row.total += r.calls;
    if (INCOMING.has(r.callType)) row.incoming += r.calls;
    else row.outgoing += r.calls;
    if (r.callType === 'inbound' || r.callType === 'outbound' || r.callType === 'missed' || r.callType === 'voicemail') row[r.callType] += r.calls;
  }
  const hours = [...rows.values()];
  const longest = (await Promise.all(longestIds.map((id) => store.calls.find(accountId, id)))).filter((c): c is CallResource => c !== null);

  return {
    from: formatDateTime(from),
    to: formatDateTime(to),
    timezone,
    total_calls: total,
    incoming_calls: incoming.calls,
    answered_incoming_calls: incoming.answered,
    answer_rate: incoming.calls ? incoming.answered / incoming.calls : null,
    wait_p50_sec: p50 ?? null,
    wait_p90_sec: p90 ?? null,
    calls_per_hour: hours,
    missed_per_hour: hours.map((h) => ({ hour: h.hour, missed: h.missed })),
    employees: employees.map((e) => ({
      employee_id: e.employeeId,
      name: e.name,
      calls: e.calls,
      answered: e.answered,
      talk_time_sec: e.talkTimeSec,
      avg_duration_sec: e.answered ? Math.round(e.talkTimeSec / e.answered) : null,
    })),
    longest_calls: longest,
  };
}
