import { zoneOffsetSeconds } from '../../domain/time.js';
import type { Call } from 'sipsim/sdk';
import { table } from '../common.js';
import { DAY } from './flags.js';
import { clock, count, seconds } from './table.js';

/** The daily report's figures, tallied over calls as they come, and its text. */

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
export class ReportTally {
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

export function reportText(r: DailyReport): string {
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
