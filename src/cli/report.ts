import { Option, type Command } from 'commander';
import { formatDateTime, zoneOffsetSeconds, type LocalDateTime } from '../domain/time.js';
import { CliError } from './common.js';
import { clientAction } from './client/connection.js';
import { clientCommand, dateFlag, PAGE_MAX, topFlag, type ClientOpts, type TimeFlag } from './client/flags.js';
import { writeOut } from './client/output.js';
import { ReportTally, reportText } from './client/daily-report.js';
import { session } from './client/session.js';

/** `sipsim report daily`: one local day's figures, from any SIPSIM-compatible server through its API. */

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

export function registerReportCommands(program: Command): void {
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
