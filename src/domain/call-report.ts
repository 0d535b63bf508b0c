import type { CallResource } from './call.js';

/**
 * The dashboard's call report over a window, as the API sends it: made by
 * reports/call-report.ts, shown by the dashboard's Reports page (which imports
 * this type only). Hours are local to `timezone`.
 */
export interface CallReport {
  from: string;
  to: string;
  timezone: string;
  total_calls: number;
  incoming_calls: number;
  answered_incoming_calls: number;
  answer_rate: number | null;
  wait_p50_sec: number | null;
  wait_p90_sec: number | null;
  calls_per_hour: HourRow[];
  missed_per_hour: Array<{ hour: string; missed: number }>;
  employees: Array<{ employee_id: number; name: string | null; calls: number; answered: number; talk_time_sec: number; avg_duration_sec: number | null }>;
  longest_calls: CallResource[];
}

/** One hour of the report: its calls by direction and by type. */
export interface HourRow {
  hour: string;
  total: number;
  incoming: number;
  outgoing: number;
  inbound: number;
  outbound: number;
  missed: number;
  voicemail: number;
}
