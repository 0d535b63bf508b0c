/**
 * GET /api/v2/calls/export of 1,000,000 calls on SQLite, over real HTTP to a file.
 *
 *   npm run bench:export [-- --rounds 3]
 *
 * The floor is the `sqlite3` command-line shell writing the same rows (the same
 * eight default columns, times and booleans spelled as the API spells them,
 * the same order) as CSV to a file, measured in the same run. The API runs in
 * a child process; curl downloads the export to a file. Floor and HTTP runs
 * alternate over several rounds, and each figure is the median, because the
 * machine is shared. The server's memory is read from /proc (peak RSS, reset
 * before each export through clear_refs) and sampled by the process itself
 * every 20 ms (anonymous RSS, V8 heap); a tenth of the export is run as well,
 * to show that memory does not grow with the number of calls.
 *
 * Writes the "export" section of bench/RESULTS.md and bench/export-results.json.
 * The store is bench/data/calls-1000000-seed1.db, shared with bench/calls-list.ts
 * and built the same way when missing.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { issueClient } from '../src/admin.js';
import { buildApp } from '../src/api/app.js';
import { DEFAULT_CSV_FIELDS } from '../src/domain/call-export.js';
import { callsInWindow, demoStorePath, prepareDemoStore } from './support/demo-store.js';
import { formatDateTime } from '../src/domain/time.js';
import { Store } from '../src/store/store.js';
import { machine, median, writeSection } from './support/deployment.js';

const HERE = dirname(fileURLToPath(import.meta.url));

// The data of bench/calls-list.ts, so that both use one stored copy.
const SEED = 1;
const CALLS = 1_000_000;
const UNTIL_ISO = '2026-11-27T00:00:00Z';
const UNTIL = Date.parse(UNTIL_ISO) / 1000;
const DAY = 86400;
const SQLITE_PATH = demoStorePath({ seed: SEED, calls: CALLS });
/** Every call of the demo history. */
const WINDOW = { start_time: formatDateTime(UNTIL - 90 * DAY), end_time: UNTIL_ISO };
const SMALL_DAYS = 9;
const SMALL_WINDOW = { start_time: formatDateTime(UNTIL - SMALL_DAYS * DAY), end_time: UNTIL_ISO };

const log = (message: string) => process.stderr.write(`[bench:export ${new Date().toISOString().slice(11, 19)}] ${message}\n`);


// ---------------------------------------------------------------- the store



// ---------------------------------------------------------------- the floor: the sqlite3 shell

/** The rows of the default export, spelled as the API spells them, in its order. */
function floorSql(accountId: number): string {
  const start = Date.parse(WINDOW.start_time) / 1000;
  return `SELECT id, call_type, sip_status, caller_number, target_number, duration_sec,
      strftime('%Y-%m-%dT%H:%M:%SZ', start_time, 'unixepoch') AS start_time,
      CASE WHEN answered_time IS NULL THEN 'false' ELSE 'true' END AS answered
    FROM calls WHERE account_id = ${accountId} AND start_time >= ${start} AND start_time <= ${UNTIL}
    ORDER BY start_time DESC, id DESC;`;
}

function runToFile(command: string, args: string[], outPath: string): Promise<{ seconds: number; status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fd = openSync(outPath, 'w');
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      closeSync(fd);
      resolve({ seconds: (performance.now() - started) / 1000, status, stderr });
    });
  });
}

async function floorRun(accountId: number, outPath: string): Promise<number> {
  const { seconds, status, stderr } = await runToFile('sqlite3', ['-readonly', '-csv', '-header', '-newline', '\r\n', SQLITE_PATH, floorSql(accountId)], outPath);
  if (status !== 0) throw new Error(`sqlite3 failed (${status}): ${stderr}`);
  return seconds;
}

// ---------------------------------------------------------------- the server, in a child process

interface ServerStats {
  peakRssMiB: number;
  /** Anonymous memory only (heap, buffers, malloc): RSS without the database file's mapped pages. */
  peakRssAnonMiB: number;
  peakHeapUsedMiB: number;
  peakExternalMiB: number;
}

interface Server {
  child: ChildProcess;
  base: string;
  stats(): Promise<ServerStats>;
  resetPeaks(): Promise<void>;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', `sqlite:${SQLITE_PATH}`], {
    // BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' profiles the server (Node refuses --cpu-prof in NODE_OPTIONS).
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(type: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (message: { type: string; value: T }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        resolve(message.value);
      };
      child.on('message', onMessage);
      child.send({ type });
    });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { type: string; value: number }) => resolve(message.value));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    stats: () => ask<ServerStats>('stats'),
    async resetPeaks() {
      // Writing 5 to clear_refs resets the kernel's peak RSS (VmHWM) of the process.
      try {
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
      } catch {
        // Not permitted here: the peak then counts from the start of the process.
      }
      await ask('reset');
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** Peak and current resident memory from /proc, in MiB. */
function procMemory(pid: number): { peakRssMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

async function httpRun(server: Server, token: string, query: Record<string, string>, outPath: string) {
  await server.resetPeaks();
  const url = `${server.base}/api/v2/calls/export?${new URLSearchParams(query)}`;
  const { seconds, status, stderr } = await runToFile(
    'curl',
    ['--silent', '--show-error', '--fail', '--header', `Authorization: Bearer ${token}`, url],
    outPath,
  );
  if (status !== 0) throw new Error(`curl failed (${status}): ${stderr}`);
  const stats = await server.stats();
  const proc = procMemory(server.child.pid!);
  return {
    seconds,
    peakRssMiB: proc.peakRssMiB,
    peakRssAnonMiB: stats.peakRssAnonMiB,
    peakHeapUsedMiB: stats.peakHeapUsedMiB,
    peakExternalMiB: stats.peakExternalMiB,
  };
}

// ---------------------------------------------------------------- main

function countLines(path: string): number {
  const out = spawnSync('wc', ['-l', path], { encoding: 'utf8' }).stdout;
  return Number(out.trim().split(/\s+/)[0]);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { rounds: { type: 'string', default: '3' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  const sqliteVersion = spawnSync('sqlite3', ['--version'], { encoding: 'utf8' });
  if (sqliteVersion.status !== 0) throw new Error('the sqlite3 shell is missing: apt-get update && apt-get install -y sqlite3');
  const started = performance.now();
  const host = machine();
  const prepared = await prepareDemoStore({ seed: SEED, calls: CALLS, until: UNTIL, log });

  const store = Store.open(`sqlite:${SQLITE_PATH}`);
  const account = (await store.accounts.list())[0]!;
  const { client, clientSecret } = await issueClient(store, account.id, { scopes: 'calls.read' });
  const count = await callsInWindow(store, account.id, WINDOW);
  const smallCount = await callsInWindow(store, account.id, SMALL_WINDOW);
  await store.close();
  log(`${count} calls in the window, ${smallCount} in the last ${SMALL_DAYS} days`);

  const server = await startServer();
  const dir = mkdtempSync(join(tmpdir(), 'sipsim-export-'));
  try {
    const tokenResponse = await fetch(`${server.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }),
    });
    const token = ((await tokenResponse.json()) as { access_token: string }).access_token;
    const idle = procMemory(server.child.pid!);

    const paths = { floor: join(dir, 'floor.csv'), csv: join(dir, 'export.csv'), ndjson: join(dir, 'export.ndjson'), small: join(dir, 'small.csv') };
    const floorSamples: number[] = [];
    const runs = { csv: [] as HttpRun[], ndjson: [] as HttpRun[], small: [] as HttpRun[] };
    // A warm-up of each, so that every timed run reads the database from the page cache.
    log('warm-up');
    await floorRun(account.id, paths.floor);
    await httpRun(server, token, WINDOW, paths.csv);
    for (let round = 1; round <= rounds; round++) {
      floorSamples.push(await floorRun(account.id, paths.floor));
      const csv = await httpRun(server, token, WINDOW, paths.csv);
      runs.csv.push(csv);
      const ndjson = await httpRun(server, token, { ...WINDOW, format: 'ndjson' }, paths.ndjson);
      runs.ndjson.push(ndjson);
      // A tenth of the calls: if memory is constant, the peaks are the same.
      runs.small.push(await httpRun(server, token, SMALL_WINDOW, paths.small));
      log(
        `round ${round}/${rounds}: sqlite3 ${floorSamples.at(-1)!.toFixed(2)} s, CSV ${csv.seconds.toFixed(2)} s ` +
          `(peak RSS ${csv.peakRssMiB.toFixed(0)} MiB, anonymous ${csv.peakRssAnonMiB.toFixed(0)}), NDJSON ${ndjson.seconds.toFixed(2)} s ` +
          `(peak RSS ${ndjson.peakRssMiB.toFixed(0)} MiB, anonymous ${ndjson.peakRssAnonMiB.toFixed(0)})`,
      );
    }

    // The export and the floor hold the same rows: the files are compared byte for byte.
    const identical = sha256(paths.floor) === sha256(paths.csv);
    const rows = { csv: countLines(paths.csv) - 1, ndjson: countLines(paths.ndjson), small: countLines(paths.small) - 1 };
    if (rows.csv !== count || rows.ndjson !== count || rows.small !== smallCount) {
      throw new Error(`expected ${count} and ${smallCount} calls, got ${JSON.stringify(rows)}`);
    }
    const floor = median(floorSamples);
    const summary = (list: HttpRun[], calls: number, path: string) => {
      const seconds = median(list.map((r) => r.seconds));
      const roundRatios = list.map((r, i) => r.seconds / floorSamples[i]!);
      return {
        calls,
        samples: list.map((r) => r.seconds),
        median: seconds,
        callsPerSecond: calls / seconds,
        // Each run against the floor of its own round: the machine's load drifts between rounds.
        overFloor: median(roundRatios),
        roundRatios,
        bytes: statSync(path).size,
        peakRssMiB: Math.max(...list.map((r) => r.peakRssMiB)),
        peakRssAnonMiB: Math.max(...list.map((r) => r.peakRssAnonMiB)),
        peakHeapUsedMiB: Math.max(...list.map((r) => r.peakHeapUsedMiB)),
      };
    };
    const seconds = (performance.now() - started) / 1000;
    const csv = summary(runs.csv, count, paths.csv);
    const ndjson = summary(runs.ndjson, count, paths.ndjson);
    const results: Results = {
      machine: host,
      sqlite: sqliteVersion.stdout.trim().split(' ')[0] ?? 'unknown',
      data: { seed: SEED, calls: CALLS, until: UNTIL_ISO, window: WINDOW, reused: prepared.reused, loadSeconds: prepared.loadSeconds },
      rounds,
      seconds,
      floor: {
        command: "sqlite3 -readonly -csv -header -newline '\\r\\n'",
        sql: floorSql(account.id),
        calls: count,
        samples: floorSamples,
        median: floor,
        callsPerSecond: count / floor,
        bytes: statSync(paths.floor).size,
      },
      csv: { ...csv, fields: DEFAULT_CSV_FIELDS, identicalToFloor: identical },
      ndjson,
      // No ratio: the floor exports every call, this a tenth of them.
      smallCsv: { ...summary(runs.small, smallCount, paths.small), overFloor: null, roundRatios: null, window: SMALL_WINDOW },
      server: { idleRssMiB: idle.rssMiB },
      // Issue 19's aims: CSV within 1.5x of the shell, NDJSON within 3x, anonymous memory under 200 MiB.
      target: {
        csvOverFloor: 1.5,
        ndjsonOverFloor: 3,
        peakRssAnonMiB: 200,
        met: {
          csv: csv.overFloor <= 1.5,
          ndjson: ndjson.overFloor <= 3,
          memory: Math.max(csv.peakRssAnonMiB, ndjson.peakRssAnonMiB) < 200,
        },
      },
    };
    writeFileSync(join(HERE, 'export-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeSection('export', markdown(results));
    log(`CSV: ${csv.callsPerSecond.toFixed(0)} calls/s, ${csv.overFloor.toFixed(2)}x the sqlite3 shell (target <= 1.5: ${results.target.met.csv ? 'met' : 'MISSED'}), NDJSON ${ndjson.overFloor.toFixed(2)}x (target <= 3: ${results.target.met.ndjson ? 'met' : 'MISSED'})`);
    log(`wrote bench/RESULTS.md (section "export") and bench/export-results.json in ${seconds.toFixed(0)} s`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type HttpRun = Awaited<ReturnType<typeof httpRun>>;
interface ExportFigures {
  calls: number;
  samples: number[];
  median: number;
  callsPerSecond: number;
  /** The median of the runs' ratios to the floor of their round. */
  overFloor: number;
  roundRatios: number[];
  bytes: number;
  peakRssMiB: number;
  peakRssAnonMiB: number;
  peakHeapUsedMiB: number;
}
interface Results {
  machine: ReturnType<typeof machine>;
  sqlite: string;
  data: { seed: number; calls: number; until: string; window: typeof WINDOW; reused: boolean; loadSeconds: number | null };
  rounds: number;
  seconds: number;
  floor: { command: string; sql: string; calls: number; samples: number[]; median: number; callsPerSecond: number; bytes: number };
  csv: ExportFigures & { fields: readonly string[]; identicalToFloor: boolean };
  ndjson: ExportFigures;
  smallCsv: Omit<ExportFigures, 'overFloor' | 'roundRatios'> & { overFloor: null; roundRatios: null; window: typeof SMALL_WINDOW };
  server: { idleRssMiB: number };
  target: { csvOverFloor: number; ndjsonOverFloor: number; peakRssAnonMiB: number; met: { csv: boolean; ndjson: boolean; memory: boolean } };
}

const mib = (v: number) => v.toFixed(0);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const rate = (v: number) => Math.round(v).toLocaleString('en-US');

function markdown(r: Results): string {
  const spread = (samples: number[]) => `${Math.min(...samples).toFixed(2)}-${Math.max(...samples).toFixed(2)}`;
  const row = (label: string, f: Results['smallCsv'] | ExportFigures) =>
    `| ${label} | ${f.calls.toLocaleString('en-US')} | ${f.median.toFixed(2)} | ${spread(f.samples)} | ${rate(f.callsPerSecond)} | ${mb(f.bytes)} | ${
      f.overFloor === null ? '' : `${f.overFloor.toFixed(2)}x (${spread(f.roundRatios)})`
    } | ${mib(f.peakRssMiB)} | ${mib(f.peakRssAnonMiB)} | ${mib(f.peakHeapUsedMiB)} |`;
  return [
    '# GET /api/v2/calls/export of 1,000,000 calls (SQLite)',
    '',
    `Run ${r.machine.date} by \`npm run bench:export\` (bench/export.ts) in ${r.seconds.toFixed(0)} s. Machine-readable figures: bench/export-results.json.`,
    '',
    `Machine: ${r.machine.nproc} CPUs ${r.machine.cpu}, ${r.machine.memoryGiB} GiB, load average ${r.machine.loadAverage} at the start; Node ${r.machine.node}; sqlite3 shell ${r.sqlite}.`,
    '',
    `Data: the store of bench/calls-list.ts (\`createDemo\`, seed ${SEED}, ${CALLS.toLocaleString('en-US')} calls, 90 days)${
      r.data.reused ? ', reused' : `, loaded in ${r.data.loadSeconds?.toFixed(0)} s`
    }. Exported: every call (start_time ${WINDOW.start_time} to ${WINDOW.end_time}), newest first; and, to show that memory does not`,
    `grow with the export, the last ${SMALL_DAYS} days.`,
    '',
    'Floor: the `sqlite3` shell (`-csv -header`, CRLF line breaks) writing the same rows, in the same order, with the same eight columns',
    'spelled as the API spells them, to a file. HTTP: the API in a child process (batches of 500 calls per query), curl saving the',
    `response to a file. Medians of ${r.rounds} alternating rounds after a warm-up; "Spread" is the fastest and slowest run, in seconds.`,
    '"Over the floor" is the median of each run over the floor of its own round (the spread of those ratios in brackets), since the',
    'load of the shared machine drifts from one round to the next.',
    'Server memory, reset before each export: peak RSS (VmHWM, which counts the database pages SQLite maps into memory), peak',
    'anonymous RSS (RssAnon: heap, buffers, SQLite\'s page cache; sampled every 20 ms) and peak V8 heapUsed.',
    '',
    '| Export | Calls | Seconds | Spread | Calls/s | MB | Over the floor | Peak RSS MiB | Peak anon. RSS MiB | Peak heap MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| sqlite3 shell, CSV (floor) | ${r.floor.calls.toLocaleString('en-US')} | ${r.floor.median.toFixed(2)} | ${spread(r.floor.samples)} | ${rate(r.floor.callsPerSecond)} | ${mb(r.floor.bytes)} | 1.00x | | | |`,
    row('API, CSV, default columns', r.csv),
    row('API, NDJSON, every field and tags', r.ndjson),
    row(`API, CSV, last ${SMALL_DAYS} days`, r.smallCsv),
    '',
    `The API's CSV is ${r.csv.identicalToFloor ? 'byte for byte the same file as' : 'NOT byte-identical to'} the shell's. Server RSS when idle, before the exports: ${mib(r.server.idleRssMiB)} MiB.`,
    '',
    `Targets: API CSV within ${r.target.csvOverFloor}x of the sqlite3 shell: ${r.target.met.csv ? 'met' : 'MISSED'} (${r.csv.overFloor.toFixed(2)}x); ` +
      `NDJSON within ${r.target.ndjsonOverFloor}x: ${r.target.met.ndjson ? 'met' : 'MISSED'} (${r.ndjson.overFloor.toFixed(2)}x); ` +
      `peak anonymous RSS under ${r.target.peakRssAnonMiB} MiB: ${r.target.met.memory ? 'met' : 'MISSED'} ` +
      `(${mib(Math.max(r.csv.peakRssAnonMiB, r.ndjson.peakRssAnonMiB))} MiB).`,
  ].join('\n');
}

// ---------------------------------------------------------------- entry point; the child serves the API

if (process.argv[2] === '--serve') {
  const store = Store.open(process.argv[3]!);
  const app = buildApp({ store, config: { logLevel: 'silent', tokenTtlSeconds: 7200, bodyLimit: 1048576, rateLimit: { enabled: false } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const peaks = { heapUsed: 0, external: 0, rss: 0, rssAnon: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peaks.heapUsed = Math.max(peaks.heapUsed, m.heapUsed);
    peaks.external = Math.max(peaks.external, m.external);
    peaks.rss = Math.max(peaks.rss, m.rss);
    const anonKb = Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    peaks.rssAnon = Math.max(peaks.rssAnon, anonKb * 1024);
  };
  setInterval(sample, 20).unref();
  process.on('message', (message: { type: string }) => {
    if (message.type === 'reset') {
      Object.assign(peaks, { heapUsed: 0, external: 0, rss: 0, rssAnon: 0 });
      sample();
      process.send!({ type: 'reset', value: null });
    } else if (message.type === 'stats') {
      sample();
      const value: ServerStats = {
        peakRssMiB: peaks.rss / 2 ** 20,
        peakRssAnonMiB: peaks.rssAnon / 2 ** 20,
        peakHeapUsedMiB: peaks.heapUsed / 2 ** 20,
        peakExternalMiB: peaks.external / 2 ** 20,
      };
      process.send!({ type: 'stats', value });
    }
  });
  process.send!({ type: 'port', value: typeof address === 'object' && address ? address.port : 0 });
  process.on('disconnect', () => {
    void app
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0));
  });
} else {
  await main();
}
