import { useLocation } from 'preact-iso';
import { useMemo } from 'preact/hooks';
import { get, queryString } from '../api';
import { CallType, Caller } from '../components/bits';
import { HourBars } from '../components/chart';
import { Empty, Resolved, useAsync } from '../components/states';
import { useZone } from '../session';
import { type Period, dayOf, formatFull, formatDuration, now, periodOf, shiftDay, zoneLabel } from '../time';
// The report's shape, as the API's own code declares it (a type only: nothing of the server is bundled).
import type { CallReport } from '../../../src/domain/call-report.js';
import { paths } from '../paths';

const PERIODS: Array<{ value: Period; label: string }> = [
  { value: 'day', label: 'Day' },
  { value: 'week', label: 'Week' },
  { value: 'month', label: 'Month' },
];

const COLORS = { inbound: '#2563eb', outbound: '#059669', missed: '#dc2626', voicemail: '#d97706' };

export function ReportsPage() {
  const zone = useZone();
  const location = useLocation();
  const period: Period = PERIODS.some((p) => p.value === location.query.period) ? (location.query.period as Period) : 'day';
  const day = /^\d{4}-\d{2}-\d{2}$/.test(location.query.day ?? '') ? location.query.day! : dayOf(now(zone), zone);
  const window = periodOf(period, day, zone);
  const go = (change: { period?: Period; day?: string }) => location.route(`/reports${queryString({ period: change.period ?? period, day: change.day ?? day })}`);
  const state = useAsync(
    (signal) => get<CallReport>(paths.reports, { from: window.start.toISOString(), to: window.end.toISOString() }, signal).then((a) => a.data),
    [period, day, zone],
  );
  return (
    <section class="reports-page">
      <div class="page-head">
        <h1>Reports</h1>
        <span class="zone-note">Hours in {zoneLabel(zone)}</span>
      </div>
      <div class="filters">
        <div class="segmented" role="group" aria-label="Period">
          {PERIODS.map((p) => (
            <button type="button" aria-pressed={period === p.value} onClick={() => go({ period: p.value })}>
              {p.label}
            </button>
          ))}
        </div>
        <button type="button" onClick={() => go({ day: shiftDay(period, day, zone, -1) })} aria-label={`Previous ${period}`}>
          ←
        </button>
        <label>
          <span class="sr-only">Day in the period</span>
          <input type="date" value={day} onChange={(e) => e.currentTarget.value && go({ day: e.currentTarget.value })} />
        </label>
        <button type="button" onClick={() => go({ day: shiftDay(period, day, zone, 1) })} aria-label={`Next ${period}`}>
          →
        </button>
        <span class="muted">
          {formatFull(window.start.toISOString(), zone)} – {formatFull(window.end.toISOString(), zone)}
        </span>
      </div>
      <Resolved state={state} retry={state.reload}>
        {(report) => <ReportView report={report} zone={zone} />}
      </Resolved>
    </section>
  );
}

function ReportView({ report, zone }: { report: CallReport; zone: string }) {
  const hours = useMemo(() => report.calls_per_hour.map((h) => Date.parse(h.hour) / 1000), [report]);
  const byType = useMemo(
    () =>
      (['inbound', 'outbound', 'missed', 'voicemail'] as const).map((type) => ({
        label: type,
        color: COLORS[type],
        values: report.calls_per_hour.map((h) => h[type]),
      })),
    [report],
  );
  const missed = useMemo(() => [{ label: 'missed', color: COLORS.missed, values: report.missed_per_hour.map((h) => h.missed) }], [report]);
  const percent = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(1)} %`);
  const seconds = (value: number | null) => (value === null ? '—' : `${value} s`);
  return (
    <>
      <dl class="figures" aria-label="Key figures">
        <div>
          <dt>Calls</dt>
          <dd data-figure="total_calls">{report.total_calls}</dd>
        </div>
        <div>
          <dt>Answer rate</dt>
          <dd data-figure="answer_rate">{percent(report.answer_rate)}</dd>
          <dd class="muted">
            {report.answered_incoming_calls} of {report.incoming_calls} incoming
          </dd>
        </div>
        <div>
          <dt>Median wait</dt>
          <dd data-figure="wait_p50_sec">{seconds(report.wait_p50_sec)}</dd>
        </div>
        <div>
          <dt>90th percentile wait</dt>
          <dd data-figure="wait_p90_sec">{seconds(report.wait_p90_sec)}</dd>
        </div>
      </dl>
      {report.total_calls === 0 ? (
        <Empty>No calls in this period.</Empty>
      ) : (
        <>
          <section class="panel">
            <h2>Calls per hour, by type</h2>
            <HourBars hours={hours} series={byType} zone={zone} label={`Calls per hour by type: ${report.total_calls} calls in all`} />
          </section>
          <section class="panel">
            <h2>Missed calls per hour</h2>
            <HourBars hours={hours} series={missed} zone={zone} label={`Missed calls per hour: ${report.missed_per_hour.reduce((s, h) => s + h.missed, 0)} in all`} />
          </section>
          <section class="panel">
            <h2>Per employee</h2>
            <table class="compact" data-table="employees">
              <thead>
                <tr>
                  <th scope="col">Employee</th>
                  <th scope="col" class="num">Calls</th>
                  <th scope="col" class="num">Answered</th>
                  <th scope="col" class="num">Talk time</th>
                  <th scope="col" class="num">Average duration</th>
                </tr>
              </thead>
              <tbody>
                {report.employees.map((e) => (
                  <tr>
                    <td>{e.name ?? `#${e.employee_id}`}</td>
                    <td class="num">{e.calls}</td>
                    <td class="num">{e.answered}</td>
                    <td class="num">{formatDuration(e.talk_time_sec)}</td>
                    <td class="num">{formatDuration(e.avg_duration_sec)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section class="panel">
            <h2>Longest calls</h2>
            <table class="compact" data-table="longest">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Type</th>
                  <th scope="col">Caller</th>
                  <th scope="col" class="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {report.longest_calls.map((call) => (
                  <tr>
                    <td>
                      <a href={`/calls/${call.id}`}>{formatFull(call.start_time, zone)}</a>
                    </td>
                    <td>
                      <CallType type={call.call_type} />
                    </td>
                    <td>
                      <Caller call={call} />
                    </td>
                    <td class="num">{formatDuration(call.duration_sec)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </>
  );
}
