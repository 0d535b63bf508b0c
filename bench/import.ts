/**
 * Getting calls in, measured: `sipsim import` of a million calls from NDJSON
 * and from an Asterisk Master.csv, into SQLite and PostgreSQL, each against
 * the floor of the very same rows through the engine's own bulk path in the
 * same run (one prepared INSERT in one transaction on SQLite; `\copy` through
 * psql on PostgreSQL); then live events over HTTP with 50 connections.
 *
 *   npm run bench:import [-- --calls 1000000] [--engines sqlite,postgres] [--event-seconds 20]
 *
 * Each engine's figures replace that engine's alone, so that the engines can be
 * run one at a time and at sizes of their own (`--engines postgres --calls
 * 200000`): PostgreSQL's trigram indexes make a million-row load take long on
 * a small machine, for the floor as much as for the import.
 * The import runs as the real command in a child process, from the built CLI;
 * its wall time includes reading and parsing the file. The floor is given rows
 * already parsed and derived (its time is the database's alone), so the ratio
 * is the whole cost of a file over the bare cost of storing what is in it.
 * Writes its section of bench/RESULTS.md and its key of bench/load-results.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import SqliteDatabase from 'better-sqlite3';
import { issueClient } from '../src/admin.js';
import { readImportSource, type ImportFormat } from '../src/ingest/formats/index.js';
import { checkRecord } from '../src/ingest/ingest.js';
import { DirectoryIndex, resolveCall } from '../src/ingest/resolve.js';
import type { ResolvedCall } from '../src/domain/resolved-call.js';
import { Store } from '../src/store/store.js';
import { EXTENSIONS, SALES_LINE, SUPPORT_LINE, generateImportFixture } from '../scripts/generate-import-fixtures.js';
import {
  BENCH_DIR,
  CLI,
  Cleanup,
  checkBuild,
  fixed,
  freshDatabase,
  log,
  machine,
  RESULTS_JSON,
  startServer,
  tempDir,
  writeJson,
  writeSection,
} from './support/deployment.js';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    engines: { type: 'string', default: 'sqlite,postgres' },
    'event-seconds': { type: 'string', default: '20' },
    'batch-size': { type: 'string', default: '2000' },
  },
});
const CALLS = Number(args.calls);
const ENGINES = args.engines!.split(',') as Array<'sqlite' | 'postgres'>;
const EVENT_SECONDS = Number(args['event-seconds']);
const FORMATS: Array<{ format: ImportFormat; file: string; label: string }> = [
  { format: 'ndjson', file: `calls-${CALLS}.ndjson`, label: 'NDJSON' },
  { format: 'asterisk-csv', file: `Master-${CALLS}.csv`, label: 'Asterisk Master.csv' },
];
const TIME_ZONE = 'Europe/Paris';

const COLUMNS = [
  'account_id', 'pbx_id', 'call_type', 'sip_status', 'sip_code', 'caller_number', 'caller_name', 'target_number',
  'answered_phone_number', 'phone_id', 'answered_phone_id', 'employee_id', 'wait_duration_sec', 'duration_sec',
  'play_record_link', 'registration_time', 'start_time', 'answered_time', 'end_time', 'search_numbers', 'search_name', 'created_at',
] as const;

function rowOf(accountId: number, c: ResolvedCall, createdAt: number): Array<string | number | null> {
  return [
    accountId, c.pbxId, c.callType, c.sipStatus, c.sipCode, c.callerNumber, c.callerName, c.targetNumber, c.answeredPhoneNumber,
    c.phoneId, c.answeredPhoneId, c.employeeId, c.waitDurationSec, c.durationSec, c.playRecordLink, c.registrationTime,
    c.startTime, c.answeredTime, c.endTime, c.searchNumbers, c.searchName, createdAt,
  ];
}

/** An account with the generator's company: two lines and twelve extensions, each with its employee. */
async function seedAccount(store: Store): Promise<number> {
  const account = await store.accounts.create({ name: 'Dupont & Associés', timezone: TIME_ZONE });
  await store.directory.createPhone(account.id, { number: SALES_LINE, name: 'Sales line' });
  await store.directory.createPhone(account.id, { number: SUPPORT_LINE, name: 'Support line' });
  for (const [i, extension] of EXTENSIONS.entries()) {
    const employee = await store.directory.createEmployee(account.id, { name: extension.name });
    await store.directory.createPhone(account.id, {
      number: `+331987655${String(i).padStart(2, '0')}`,
      name: extension.name,
      internalNumber: Number(extension.number),
      employeeId: employee.id,
    });
  }
  return account.id;
}

/** The rows the file holds, parsed and derived outside any timing, for the floor. */
async function resolvedRows(store: Store, accountId: number, path: string, format: ImportFormat): Promise<ResolvedCall[]> {
  const directory = new DirectoryIndex(await store.ingest.phoneRefs(accountId));
  const rows: ResolvedCall[] = [];
  for await (const item of readImportSource(path, format, { timeZone: TIME_ZONE })) {
    if (item.record && checkRecord(item.record) === null) rows.push(resolveCall(item.record, directory));
  }
  return rows;
}

function sqliteFloor(path: string, accountId: number, rows: ResolvedCall[]): number {
  const db = new SqliteDatabase(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  const insert = db.prepare(`INSERT INTO calls (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`);
  const createdAt = Math.floor(Date.now() / 1000);
  const started = performance.now();
  db.transaction(() => {
    for (const c of rows) insert.run(...rowOf(accountId, c, createdAt));
    // The substring index is filled as the import fills it: one statement over the new rows.
    db.exec(`INSERT INTO calls_search (rowid, search_numbers, search_name) SELECT id, search_numbers, search_name FROM calls`);
  })();
  // Closing checkpoints the WAL into the database file, as the import's last step does: both are timed to the same point.
  db.close();
  return (performance.now() - started) / 1000;
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) || text === '' ? `"${text.replace(/"/g, '""')}"` : text;
}

async function postgresFloor(url: string, dir: string, accountId: number, rows: ResolvedCall[]): Promise<number> {
  const file = join(dir, 'floor.csv');
  const out = createWriteStream(file);
  const createdAt = Math.floor(Date.now() / 1000);
  for (const c of rows) {
    if (!out.write(`${rowOf(accountId, c, createdAt).map(csvCell).join(',')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  const started = performance.now();
  const result = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy calls (${COLUMNS.join(', ')}) FROM '${file}' WITH (FORMAT csv)`], {
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`psql \\copy failed: ${result.stderr}`);
  return (performance.now() - started) / 1000;
}

/** `sipsim import` as a user runs it; wall time and peak RSS of the child. */
async function runImport(databaseUrl: string, accountId: number, path: string, format: ImportFormat): Promise<{ seconds: number; summary: any; peakRssMiB: number }> {
  const started = performance.now();
  // GNU time reports the child's peak RSS; without it the figure is left out.
  const timed = existsSync('/usr/bin/time');
  const command = [process.execPath, CLI, 'import', path, '--account', String(accountId), '--format', format, '--tz', TIME_ZONE, '--batch-size', args['batch-size']!, '--database', databaseUrl, '--json'];
  const child = spawn(timed ? '/usr/bin/time' : command[0]!, timed ? ['-f', '%M', ...command] : command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`sipsim import exited with ${code}: ${stderr.slice(-2000)}`);
  const peakKiB = timed ? Number(stderr.trim().split('\n').pop()) : NaN;
  return { seconds, summary: JSON.parse(stdout), peakRssMiB: peakKiB / 1024 };
}

interface ImportResult {
  engine: string;
  machine?: Record<string, unknown>;
  format: string;
  calls: number;
  importSeconds: number;
  importRate: number;
  floorSeconds: number;
  floorRate: number;
  ratio: number;
  peakRssMiB: number;
  rerunSeconds: number;
  rerunUnchanged: number;
}

async function databaseFor(engine: 'sqlite' | 'postgres', cleanup: Cleanup, dir: string, label: string): Promise<string> {
  if (engine === 'sqlite') return `sqlite:${join(dir, `${label}.db`)}`;
  return (await freshDatabase(cleanup, `sipsim_import_${label.replace(/\W/g, '_')}`)).url;
}

async function benchImport(engine: 'sqlite' | 'postgres', cleanup: Cleanup, dir: string, dataDir: string): Promise<ImportResult[]> {
  const results: ImportResult[] = [];
  for (const { format, file, label } of FORMATS) {
    const path = join(dataDir, file);
    // The import, into a fresh store.
    const importUrl = await databaseFor(engine, cleanup, dir, `${engine}-${format}-import`);
    const store = Store.open(importUrl);
    await store.migrate();
    const accountId = await seedAccount(store);
    await store.close();
    log(`${engine} ${label}: sipsim import of ${CALLS.toLocaleString('en')} calls`);
    const run = await runImport(importUrl, accountId, path, format);
    const created = run.summary.total.created as number;
    log(`${engine} ${label}: ${created} created in ${fixed(run.seconds)} s; running it again`);
    const rerun = await runImport(importUrl, accountId, path, format);

    // The floor: the same rows, into another fresh store of the same schema.
    const floorUrl = await databaseFor(engine, cleanup, dir, `${engine}-${format}-floor`);
    const floorStore = Store.open(floorUrl);
    await floorStore.migrate();
    const floorAccount = await seedAccount(floorStore);
    const rows = await resolvedRows(floorStore, floorAccount, path, format);
    await floorStore.close();
    log(`${engine} ${label}: floor with ${rows.length} rows`);
    const floorSeconds = engine === 'sqlite' ? sqliteFloor(floorUrl.slice('sqlite:'.length), floorAccount, rows) : await postgresFloor(floorUrl, dir, floorAccount, rows);
    results.push({
      engine,
      format: label,
      calls: created,
      importSeconds: run.seconds,
      importRate: created / run.seconds,
      floorSeconds,
      floorRate: rows.length / floorSeconds,
      ratio: run.seconds / floorSeconds,
      peakRssMiB: run.peakRssMiB,
      rerunSeconds: rerun.seconds,
      rerunUnchanged: rerun.summary.total.unchanged,
    });
    log(`${engine} ${label}: import ${fixed(run.seconds)} s, floor ${fixed(floorSeconds)} s, ratio ${fixed(run.seconds / floorSeconds, 2)}x`);
  }
  return results;
}

interface EventResult {
  engine: string;
  machine?: Record<string, unknown>;
  requests: number;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  callsComplete: number;
  callsStored: number;
}

/** One event per request, three per call (start, answer, end), 50 connections, so a call's events race each other. */
async function benchEvents(engine: 'sqlite' | 'postgres', cleanup: Cleanup, dir: string): Promise<EventResult> {
  const url = await databaseFor(engine, cleanup, dir, `${engine}-events`);
  const store = Store.open(url);
  await store.migrate();
  const accountId = await seedAccount(store);
  const { client, clientSecret } = await issueClient(store, accountId, { scopes: 'calls.write calls.read' });
  await store.close();
  const server = await startServer(cleanup, { label: `events-${engine}`, databaseUrl: url, workers: 1, env: { SIPSIM_RATE_LIMIT: 'off' }, logLevel: 'warn', dir });
  const authorization = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;
  let sent = 0;
  const base = Date.UTC(2025, 5, 2, 8, 0, 0) / 1000;
  const body = (n: number) => {
    const call = Math.floor(n / 3);
    const pbx = `bench-${call}`;
    const t = base + call;
    const caller = `+3361${String(call % 10_000_000).padStart(7, '0')}`;
    const event = [
      { event: 'incoming_call_start', pbx_id: pbx, caller, receiver: SALES_LINE, time: t },
      { event: 'incoming_call_answer', pbx_id: pbx, caller, receiver: String(101 + (call % 12)), time: t + 5 },
      { event: 'incoming_call_end', pbx_id: pbx, caller, receiver: SALES_LINE, time: t + 65, duration: 60, status: 'ANSWER' },
    ][n % 3];
    return JSON.stringify(event);
  };
  log(`${engine}: posting events for ${EVENT_SECONDS} s with 50 connections`);
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    setupClient: (client: any) => client.on('response', (status: number) => (statuses[status] = (statuses[status] ?? 0) + 1)),
    url: `${server.base}/api/v2/pbx/events`,
    connections: 50,
    duration: EVENT_SECONDS,
    requests: [
      {
        method: 'POST',
        setupRequest: (request: any) => ({ ...request, headers: { ...request.headers, authorization, 'content-type': 'application/json' }, body: body(sent++) }),
      },
    ],
  } as any);
  await server.stop();
  log(`${engine}: answers by status ${JSON.stringify(statuses)}`);
  const check = Store.open(url);
  const stored = Number(
    (await check.db.selectFrom('calls').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow()).n,
  );
  await check.close();
  // Calls whose three events were all sent (the last one may have been cut by the end of the run).
  const complete = Math.floor(result.requests.total / 3);
  return {
    engine,
    requests: result.requests.total,
    eventsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    callsComplete: complete,
    callsStored: stored,
  };
}

function markdown(imports: ImportResult[], events: EventResult[]): string {
  const machines = [...new Set([...imports, ...events].map((r) => JSON.stringify(r.machine)))];
  const lines = [
    '## Import: `sipsim import` against the engine\'s own bulk load',
    '',
    'Calls from files made by `scripts/generate-import-fixtures.ts` (seed 1), into a fresh store with the',
    'generated company\'s directory. Import: the built CLI as a user runs it (read, parse, check, match phones, upsert by',
    'pbx_id in batches of 2,000), wall time. Floor: the same rows already parsed and derived, through the engine\'s own bulk',
    'path into the same schema (SQLite: one prepared INSERT in one transaction, then the substring index filled in one',
    'statement, timed until the database is closed; PostgreSQL: `\\copy ... FROM csv` through psql). Same run, same machine.',
    '',
    ...machines.map((m) => `Machine: ${m}`),
    '',
    '| Engine | Source | Calls | Import | Calls/s | Floor | Floor calls/s | Import / floor | Peak RSS | Same file again |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...imports.map(
      (r) =>
        `| ${r.engine} | ${r.format} | ${r.calls.toLocaleString('en')} | ${fixed(r.importSeconds)} s | ${Math.round(r.importRate).toLocaleString('en')} | ` +
        `${fixed(r.floorSeconds)} s | ${Math.round(r.floorRate).toLocaleString('en')} | ${fixed(r.ratio, 2)}x | ${Math.round(r.peakRssMiB)} MiB | ` +
        `${fixed(r.rerunSeconds)} s, ${r.rerunUnchanged.toLocaleString('en')} unchanged |`,
    ),
    '',
    '## Live events: POST /api/v2/pbx/events with 50 connections',
    '',
    `One event per request (start, answer, end of each call, so that the events of one call race each other), HTTP Basic client credentials, one process, ${EVENT_SECONDS} s.`,
    '',
    '| Engine | Events/s | p50 | p99 | Errors | Non-2xx | Calls with all three events sent / calls stored (a call is stored once its end is in) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...events.map(
      (e) => `| ${e.engine} | ${Math.round(e.eventsPerSecond).toLocaleString('en')} | ${e.p50} ms | ${e.p99} ms | ${e.errors} | ${e.non2xx} | ${e.callsComplete.toLocaleString('en')} / ${e.callsStored.toLocaleString('en')} |`,
    ),
  ];
  return lines.join('\n');
}

function readPrevious(): { imports: ImportResult[]; events: EventResult[] } {
  try {
    const stored = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')).import;
    return { imports: stored?.imports ?? [], events: stored?.events ?? [] };
  } catch {
    return { imports: [], events: [] };
  }
}

async function main(): Promise<void> {
  checkBuild();
  const cleanup = new Cleanup();
  try {
    const dataDir = join(BENCH_DIR, 'data');
    mkdirSync(dataDir, { recursive: true });
    for (const { format, file } of FORMATS) {
      const path = join(dataDir, file);
      if (!existsSync(path) || statSync(path).size === 0) {
        log(`generating ${file}`);
        await generateImportFixture({ format, calls: CALLS, out: path, seed: 1, timeZone: TIME_ZONE });
      }
    }
    const dir = tempDir(cleanup, 'sipsim-bench-import', () => false);
    const imports: ImportResult[] = [];
    const events: EventResult[] = [];
    for (const engine of ENGINES) imports.push(...(await benchImport(engine, cleanup, dir, dataDir)));
    for (const engine of ENGINES) events.push(await benchEvents(engine, cleanup, dir));
    const info = machine();
    for (const r of [...imports, ...events]) r.machine = info;
    // Figures of the engines not run this time are kept.
    const previous = readPrevious();
    const keep = <T extends { engine: string }>(list: T[]) => list.filter((r) => !ENGINES.includes(r.engine as 'sqlite'));
    const allImports = [...keep(previous.imports), ...imports];
    const allEvents = [...keep(previous.events), ...events];
    writeSection('import', markdown(allImports, allEvents));
    writeJson('import', { imports: allImports, events: allEvents });
    for (const r of imports) log(`${r.engine} ${r.format}: ${Math.round(r.importRate)} calls/s, ${fixed(r.ratio, 2)}x the floor`);
    for (const e of events) log(`${e.engine} events: ${Math.round(e.eventsPerSecond)}/s, p99 ${e.p99} ms, ${e.callsStored}/${e.callsComplete} calls`);
  } finally {
    await cleanup.run();
  }
}

main().catch((error) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
