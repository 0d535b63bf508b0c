import { Option, type Command } from 'commander';
import { DEFAULT_CSV_FIELDS, EXPORT_FORMATS } from '../domain/call-export.js';
import type { Call } from 'sipsim/sdk';
import { CliError } from './common.js';
import { clientAction, type ConnectionOpts } from './client/connection.js';
import { exportCalls } from './client/export.js';
import { callIdArgument, clientCommand, durationFlag, fieldsFlag, pageSizeFlag, PAGE_MAX, type ClientOpts } from './client/flags.js';
import { writeOut } from './client/output.js';
import { session } from './client/session.js';
import { callTable, clock, count, formatDuration, localTime, seconds, windowText } from './client/table.js';

/**
 * `sipsim calls list|get|long|export`: the Calls guide's practical examples as
 * commands, against any SIPSIM-compatible server and only through its API (the
 * SDK), never the store. What they share lives in ./client/.
 */

/** Rows `calls list` shows as a table when neither --limit nor --all says otherwise. */
const TABLE_ROWS = 20;

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

export function registerCallCommands(program: Command): void {
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
}
