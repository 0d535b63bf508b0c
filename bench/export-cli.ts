/**
 * `sipsim calls export --format csv --out FILE` (src/cli/client/export.ts, the built
 * CLI) against `sipsim serve` (the built CLI, SQLite store), and the SDK paging
 * through calls.list in this process, on a store of --calls demo calls.
 *
 *   npm run build && node --import tsx bench/export-cli.ts [--calls 1000000] [--rounds 3]
 *
 * Export: the floor is the `sqlite3` command-line shell writing the same rows
 * (the eight default columns: id, call_type, sip_status, caller_number,
 * target_number, duration_sec, start_time, answered, spelled as the API spells
 * them, in the same order) as CSV to a file, measured in the same run. Each CLI
 * run is set against the floor of its own round, since the machine is shared.
 * Peak RSS: of the CLI and of the shell from /usr/bin/time -f %M; of the
 * server from /proc (VmHWM, reset through clear_refs before each run, which
 * counts the database pages SQLite maps in; and RssAnon sampled every 20 ms).
 * The whole history is exported, and its last tenth (9 of 90 days) too, with
 * its own floor, to show whether memory grows with the size of the export.
 * The CLI's CSV must have as many lines as the shell's.
 *
 * Paging: `for await` over client.calls.list({ start_time, end_time, limit: 1000 })
 * with the SDK in this process, against a streaming fetch of
 * /api/v2/calls/export in this process, in the same rounds.
 *
 * The store is bench/data/calls-<calls>-seed1.db, built once with createDemo
 * (seed 1) and reused while its sources are unchanged; with the default
 * 1,000,000 it is the store of bench/calls-list.ts and bench/export.ts.
 * Writes the "export-cli" section of bench/RESULTS.md and bench/export-cli-results.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { issueClient } from '../src/admin.js';
import { callsInWindow, demoStorePath, prepareDemoStore } from './support/demo-store.js';
import { DEFAULT_CSV_FIELDS } from '../src/domain/call-export.js';
import { formatDateTime } from '../src/domain/time.js';
import { Sipsim } from '../packages/sdk/src/index.js';
import { Store } from '../src/store/store.js';
import { checkBuild, Cleanup, CLI, issueToken, machine, median, startServer, tempDir, writeSection, type Server } from './support/deployment.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

// The data of bench/export.ts and bench/calls-list.ts, so that the default size shares their stored copy.
const SEED = 1;
const UNTIL_ISO = '2026-11-27T00:00:00Z';
const UNTIL = Date.parse(UNTIL_ISO) / 1000;
const DAY = 86400;
const DAYS = 90;
const SMALL_DAYS = 9;
const WINDOW = { start_time: formatDateTime(UNTIL - DAYS * DAY), end_time: UNTIL_ISO };
const SMALL_WINDOW = { start_time: formatDateTime(UNTIL - SMALL_DAYS * DAY), end_time: UNTIL_ISO };
const PAGE_LIMIT = 1000;
const TIME = '/usr/bin/time';
/** The aims: the CLI within 3x of the shell, and under 200 MB (decimal) of peak RSS. */
const AIM = { overFloor: 3, peakRssMiB: 200e6 / 2 ** 20 };

const { values: args } = parseArgs({ options: { calls: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } } });
const CALLS = Number(args.calls);
const ROUNDS = Number(args.rounds);
const SQLITE_PATH = demoStorePath({ seed: SEED, calls: CALLS });

const log = (message: string) => process.stderr.write(`[bench:export-cli ${new Date().toISOString().slice(11, 19)}] ${message}\n`);


// ---------------------------------------------------------------- the store



type Window = typeof WINDOW;

/** The rows of the default export, spelled as the API spells them, in its order. */
function floorSql(accountId: number, window: Window): string {
  return `SELECT id, call_type, sip_status, caller_number, target_number, duration_sec,
      strftime('%Y-%m-%dT%H:%M:%SZ', start_time, 'unixepoch') AS start_time,
      CASE WHEN answered_time IS NULL THEN 'false' ELSE 'true' END AS answered
    FROM calls WHERE account_id = ${accountId} AND start_time >= ${Date.parse(window.start_time) / 1000} AND start_time <= ${Date.parse(window.end_time) / 1000}
    ORDER BY start_time DESC, id DESC;`;
}

// ---------------------------------------------------------------- measuring a program

interface Measured {
  seconds: number;
  /** Peak RSS of the program, from /usr/bin/time -f %M (the kernel's maxrss at exit). */
  peakRssMiB: number;
  stdout: string;
}

/** Runs a program under /usr/bin/time; its stdout goes to `stdoutPath`, or is returned. */
function measured(dir: string, argv: string[], stdoutPath?: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const timeFile = join(dir, 'time.txt');
    const fd = stdoutPath ? openSync(stdoutPath, 'w') : null;
    // SIPSIM_* of this shell (a token, say) would change what the CLI does.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIPSIM_')));
    const started = performance.now();
    const child = spawn(TIME, ['-f', '%M', '-o', timeFile, ...argv], { env, stdio: ['ignore', fd ?? 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (fd !== null) closeSync(fd);
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
      const kib = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1));
      if (!Number.isFinite(kib) || kib <= 0) return reject(new Error(`no peak RSS from ${TIME} for ${argv[0]}`));
      resolve({ seconds, peakRssMiB: kib / 1024, stdout });
    });
  });
}

// ---------------------------------------------------------------- the server's memory

interface ServerMemory {
  /** VmHWM since the reset: counts the database pages SQLite maps into the process. */
  peakRssMiB: number;
  /** RssAnon, sampled every 20 ms: heap, buffers, SQLite's page cache. */
  peakAnonMiB: number;
  /**
   * How far VmHWM rose above the RSS at the reset: the server keeps what earlier
   * runs made it take, so its peak alone cannot show what one run needed.
   */
  riseMiB: number;
}

function procStatus(pid: number): Record<'VmHWM' | 'VmRSS' | 'RssAnon', number> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { VmHWM: kib('VmHWM') / 1024, VmRSS: kib('VmRSS') / 1024, RssAnon: kib('RssAnon') / 1024 };
}

/** `sipsim serve --workers 1` serves in its primary process, so that process is the server. */
class ServerWatch {
  private peakAnon = 0;
  private rssAtReset = 0;
  private readonly timer: NodeJS.Timeout;
  /** False when clear_refs may not be written: each VmHWM then counts from the server's start. */
  resettable = true;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 20);
  }

  private sample(): void {
    try {
      this.peakAnon = Math.max(this.peakAnon, procStatus(this.pid).RssAnon);
    } catch {
      // The server is gone; the run fails on its own.
    }
  }

  reset(): void {
    try {
      // Writing 5 to clear_refs resets the process's peak RSS (VmHWM) to its current RSS.
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      this.resettable = false;
    }
    this.peakAnon = 0;
    this.rssAtReset = procStatus(this.pid).VmRSS;
    this.sample();
  }

  read(): ServerMemory {
    this.sample();
    const peak = procStatus(this.pid).VmHWM;
    return { peakRssMiB: peak, peakAnonMiB: this.peakAnon, riseMiB: Math.max(0, peak - this.rssAtReset) };
  }

  idle(): { rssMiB: number; anonMiB: number } {
    const s = procStatus(this.pid);
    return { rssMiB: s.VmRSS, anonMiB: s.RssAnon };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- in this process: the SDK and a streaming fetch

async function sdkPaging(base: string, clientId: string, clientSecret: string, window: Window): Promise<{ seconds: number; calls: number }> {
  const started = performance.now();
  const client = new Sipsim({ baseUrl: base, clientId, clientSecret });
  let calls = 0;
  for await (const call of client.calls.list({ ...window, limit: PAGE_LIMIT })) {
    if (call.id > 0) calls += 1;
  }
  return { seconds: (performance.now() - started) / 1000, calls };
}

/** The export endpoint's CSV, read as it streams and its lines counted; nothing is kept. */
async function streamedExport(base: string, token: string, window: Window): Promise<{ seconds: number; lines: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/api/v2/calls/export?${new URLSearchParams({ ...window, format: 'csv' })}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok || !response.body) throw new Error(`GET /api/v2/calls/export answered ${response.status}: ${await response.text()}`);
  let lines = 0;
  let bytes = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
  }
  return { seconds: (performance.now() - started) / 1000, lines, bytes };
}

// ---------------------------------------------------------------- main

function countLines(path: string): number {
  return Number(spawnSync('wc', ['-l', path], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0]);
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

interface Series {
  calls: number;
  samples: number[];
  median: number;
  callsPerSecond: number;
}

function series(calls: number, samples: number[]): Series {
  const m = median(samples);
  return { calls, samples, median: m, callsPerSecond: calls / m };
}

/** Each run over the run it is set against in the same round: the machine's load drifts between rounds. */
function ratios(runs: number[], floors: number[]) {
  const roundRatios = runs.map((seconds, i) => seconds / floors[i]!);
  return { over: median(roundRatios), roundRatios };
}

async function main(): Promise<void> {
  if (!Number.isInteger(CALLS) || CALLS < 1000) throw new Error('--calls must be an integer of at least 1000');
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds must be a positive integer');
  const sqliteVersion = spawnSync('sqlite3', ['--version'], { encoding: 'utf8' });
  if (sqliteVersion.status !== 0) throw new Error('the sqlite3 shell is missing: apt-get install -y sqlite3');
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing (it reports the peak RSS of the CLI): apt-get install -y time`);
  checkBuild();
  const began = performance.now();
  const host = machine();
  const prepared = await prepareDemoStore({ seed: SEED, calls: CALLS, until: UNTIL, log });

  const store = Store.open(`sqlite:${SQLITE_PATH}`);
  let accountId: number;
  let credentials: { clientId: string; clientSecret: string };
  let count: number;
  let smallCount: number;
  try {
    await store.migrate();
    const account = (await store.accounts.list())[0]!;
    accountId = account.id;
    const issued = await issueClient(store, account.id, { scopes: 'calls.read', name: 'bench export-cli' });
    credentials = { clientId: issued.client.clientId, clientSecret: issued.clientSecret };
    count = await callsInWindow(store, account.id, WINDOW);
    smallCount = await callsInWindow(store, account.id, SMALL_WINDOW);
  } finally {
    await store.close();
  }
  log(`${count} calls in the window, ${smallCount} in the last ${SMALL_DAYS} days`);

  const cleanup = new Cleanup();
  let server: Server | null = null;
  try {
    const dir = tempDir(cleanup, 'sipsim-bench-export-cli', () => false);
    server = await startServer(cleanup, {
      label: 'export-cli',
      databaseUrl: `sqlite:${SQLITE_PATH}`,
      workers: 1,
      // Paging a million calls is a thousand requests: no rate limit may slow it.
      env: { SIPSIM_RATE_LIMIT: 'off' },
      logLevel: 'warn',
      dir,
    });
    const base = server.base;
    const watch = new ServerWatch(server.primaryPid);
    cleanup.add('stop the memory sampler', () => watch.stop());
    const idle = watch.idle();
    const token = await issueToken(base, credentials.clientId, credentials.clientSecret);

    const files = { floor: join(dir, 'floor.csv'), cli: join(dir, 'cli.csv'), smallFloor: join(dir, 'floor-small.csv'), smallCli: join(dir, 'cli-small.csv') };
    const floorRun = (window: Window, out: string) =>
      measured(dir, ['sqlite3', '-readonly', '-csv', '-header', '-newline', '\r\n', SQLITE_PATH, floorSql(accountId, window)], out);
    const cliRun = async (window: Window, out: string, calls: number) => {
      watch.reset();
      const run = await measured(dir, [
        process.execPath, CLI, 'calls', 'export', '--format', 'csv', '--out', out,
        '--start', window.start_time, '--end', window.end_time, '--restart', '--json',
        '--api-url', base, '--client-id', credentials.clientId, '--client-secret', credentials.clientSecret,
      ]);
      const summary = JSON.parse(run.stdout) as { calls: number; source: string };
      // The CLI falls back to paging when the server has no export endpoint: that would be another measurement.
      if (summary.source !== 'export-endpoint' || summary.calls !== calls) throw new Error(`the CLI reported ${run.stdout.trim()}; expected ${calls} calls from the export endpoint`);
      return { ...run, server: watch.read() };
    };
    const inProcess = async <T>(run: () => Promise<T>) => {
      watch.reset();
      const result = await run();
      return { ...result, server: watch.read() };
    };

    type CliRun = Awaited<ReturnType<typeof cliRun>>;
    const runs = {
      floor: [] as Measured[],
      cli: [] as CliRun[],
      smallFloor: [] as Measured[],
      smallCli: [] as CliRun[],
      start: [] as number[],
      sdk: [] as Array<{ seconds: number; calls: number; server: ServerMemory }>,
      endpoint: [] as Array<{ seconds: number; lines: number; bytes: number; server: ServerMemory }>,
    };
    // Once untimed, so that every timed run reads the database from the page cache.
    log('warm-up');
    await floorRun(WINDOW, files.floor);
    await cliRun(WINDOW, files.cli, count);

    for (let round = 1; round <= ROUNDS; round++) {
      const floor = await floorRun(WINDOW, files.floor);
      const cli = await cliRun(WINDOW, files.cli, count);
      // A tenth of the calls, with its own floor: if the CLI's memory is flat, its peak is the same.
      const smallFloor = await floorRun(SMALL_WINDOW, files.smallFloor);
      const smallCli = await cliRun(SMALL_WINDOW, files.smallCli, smallCount);
      // What a short export mostly is.
      const start = await measured(dir, [process.execPath, CLI, '--version']);
      const sdk = await inProcess(() => sdkPaging(base, credentials.clientId, credentials.clientSecret, WINDOW));
      const endpoint = await inProcess(() => streamedExport(base, token, WINDOW));
      if (sdk.calls !== count || endpoint.lines !== count + 1) {
        throw new Error(`round ${round}: the SDK paged through ${sdk.calls} calls and the endpoint sent ${endpoint.lines} lines, for ${count} calls`);
      }
      runs.floor.push(floor);
      runs.cli.push(cli);
      runs.smallFloor.push(smallFloor);
      runs.smallCli.push(smallCli);
      runs.start.push(start.seconds);
      runs.sdk.push(sdk);
      runs.endpoint.push(endpoint);
      log(
        `round ${round}/${ROUNDS}: sqlite3 ${floor.seconds.toFixed(2)} s, CLI ${cli.seconds.toFixed(2)} s ` +
          `(${(cli.seconds / floor.seconds).toFixed(2)}x, CLI ${cli.peakRssMiB.toFixed(0)} MiB, server ${cli.server.peakRssMiB.toFixed(0)} MiB); ` +
          `last ${SMALL_DAYS} days: sqlite3 ${smallFloor.seconds.toFixed(2)} s, CLI ${smallCli.seconds.toFixed(2)} s (CLI ${smallCli.peakRssMiB.toFixed(0)} MiB); ` +
          `CLI start ${start.seconds.toFixed(2)} s; SDK paging ${sdk.seconds.toFixed(2)} s, endpoint fetch ${endpoint.seconds.toFixed(2)} s ` +
          `(${(sdk.seconds / endpoint.seconds).toFixed(2)}x)`,
      );
    }

    // Same count of calls, so that the CLI and the shell did the same work; identical bytes are reported, not required.
    const lines = {
      floor: countLines(files.floor),
      cli: countLines(files.cli),
      smallFloor: countLines(files.smallFloor),
      smallCli: countLines(files.smallCli),
    };
    if (lines.floor !== count + 1 || lines.cli !== lines.floor || lines.smallFloor !== smallCount + 1 || lines.smallCli !== lines.smallFloor) {
      throw new Error(`expected ${count + 1} and ${smallCount + 1} lines (header and calls), got ${JSON.stringify(lines)}`);
    }

    const seconds = (n: { seconds: number }[]) => n.map((r) => r.seconds);
    const peak = (list: Array<{ peakRssMiB: number }>) => Math.max(...list.map((r) => r.peakRssMiB));
    const serverPeak = (list: Array<{ server: ServerMemory }>): ServerMemory => ({
      peakRssMiB: Math.max(...list.map((r) => r.server.peakRssMiB)),
      peakAnonMiB: Math.max(...list.map((r) => r.server.peakAnonMiB)),
      riseMiB: Math.max(...list.map((r) => r.server.riseMiB)),
    });
    const exportAt = (calls: number, floorRuns: Measured[], cliRuns: CliRun[], floorFile: string, cliFile: string, window: Window) => {
      const vsFloor = ratios(seconds(cliRuns), seconds(floorRuns));
      const afterStart = ratios(
        cliRuns.map((r, i) => r.seconds - runs.start[i]!),
        seconds(floorRuns),
      );
      return {
        window,
        calls,
        lines: countLines(cliFile),
        bytes: statSync(cliFile).size,
        identicalToFloor: sha256(cliFile) === sha256(floorFile),
        floor: { ...series(calls, seconds(floorRuns)), peakRssMiB: peak(floorRuns) },
        cli: {
          ...series(calls, seconds(cliRuns)),
          overFloor: vsFloor.over,
          roundRatios: vsFloor.roundRatios,
          /** Less the CLI's start (`sipsim --version`) of the same round: the transfer alone. */
          overFloorAfterStart: afterStart.over,
          peakRssMiB: peak(cliRuns),
          peakRssSamplesMiB: cliRuns.map((r) => r.peakRssMiB),
          server: serverPeak(cliRuns),
        },
      };
    };
    const full = exportAt(count, runs.floor, runs.cli, files.floor, files.cli, WINDOW);
    const small = exportAt(smallCount, runs.smallFloor, runs.smallCli, files.smallFloor, files.smallCli, SMALL_WINDOW);
    const sdkVsEndpoint = ratios(seconds(runs.sdk), seconds(runs.endpoint));
    const cliPeak = Math.max(full.cli.peakRssMiB, small.cli.peakRssMiB);
    const serverPeakAll = Math.max(full.cli.server.peakRssMiB, small.cli.server.peakRssMiB);
    const results: Results = {
      machine: host,
      sqlite: sqliteVersion.stdout.trim().split(' ')[0] ?? 'unknown',
      data: { seed: SEED, calls: CALLS, until: UNTIL_ISO, days: DAYS, store: relative(ROOT, SQLITE_PATH), reused: prepared.reused, loadSeconds: prepared.loadSeconds },
      rounds: ROUNDS,
      seconds: (performance.now() - began) / 1000,
      floorCommand: "sqlite3 -readonly -csv -header -newline '\\r\\n' STORE SQL > FILE",
      floorSql: floorSql(accountId, WINDOW),
      cliCommand: 'sipsim calls export --format csv --out FILE --start START --end END --restart --json --api-url URL --client-id ID --client-secret SECRET',
      fields: DEFAULT_CSV_FIELDS,
      export: { full, small },
      cliStart: { samples: runs.start, median: median(runs.start) },
      paging: {
        window: WINDOW,
        limit: PAGE_LIMIT,
        endpoint: { ...series(count, seconds(runs.endpoint)), bytes: runs.endpoint[0]!.bytes, server: serverPeak(runs.endpoint) },
        sdk: { ...series(count, seconds(runs.sdk)), overEndpoint: sdkVsEndpoint.over, roundRatios: sdkVsEndpoint.roundRatios, server: serverPeak(runs.sdk) },
      },
      server: { idleRssMiB: idle.rssMiB, idleAnonMiB: idle.anonMiB, peakResettable: watch.resettable },
      aim: {
        overFloor: AIM.overFloor,
        peakRssMB: 200,
        cliOverFloorMet: full.cli.overFloor <= AIM.overFloor,
        cliPeakRssMet: cliPeak < AIM.peakRssMiB,
        serverPeakRssMet: serverPeakAll < AIM.peakRssMiB,
      },
    };
    writeFileSync(join(HERE, 'export-cli-results.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeSection('export-cli', markdown(results));
    log(
      `CLI ${Math.round(full.cli.callsPerSecond)} calls/s, ${full.cli.overFloor.toFixed(2)}x the sqlite3 shell; CLI peak RSS ` +
        `${full.cli.peakRssMiB.toFixed(0)} MiB (${small.cli.peakRssMiB.toFixed(0)} MiB on a tenth); SDK paging ` +
        `${Math.round(results.paging.sdk.callsPerSecond)} calls/s, ${sdkVsEndpoint.over.toFixed(2)}x the endpoint`,
    );
    log(`wrote bench/RESULTS.md (section "export-cli") and bench/export-cli-results.json in ${results.seconds.toFixed(0)} s`);
  } catch (error) {
    if (server && existsSync(server.logPath)) log(`server log:\n${readFileSync(server.logPath, 'utf8').slice(-3000)}`);
    throw error;
  } finally {
    await cleanup.run();
  }
}

// ---------------------------------------------------------------- the report

type ExportAt = {
  window: Window;
  calls: number;
  lines: number;
  bytes: number;
  identicalToFloor: boolean;
  floor: Series & { peakRssMiB: number };
  cli: Series & { overFloor: number; roundRatios: number[]; overFloorAfterStart: number; peakRssMiB: number; peakRssSamplesMiB: number[]; server: ServerMemory };
};

interface Results {
  machine: ReturnType<typeof machine>;
  sqlite: string;
  data: { seed: number; calls: number; until: string; days: number; store: string; reused: boolean; loadSeconds: number | null };
  rounds: number;
  seconds: number;
  floorCommand: string;
  floorSql: string;
  cliCommand: string;
  fields: readonly string[];
  export: { full: ExportAt; small: ExportAt };
  cliStart: { samples: number[]; median: number };
  paging: {
    window: Window;
    limit: number;
    endpoint: Series & { bytes: number; server: ServerMemory };
    sdk: Series & { overEndpoint: number; roundRatios: number[]; server: ServerMemory };
  };
  server: { idleRssMiB: number; idleAnonMiB: number; peakResettable: boolean };
  aim: { overFloor: number; peakRssMB: number; cliOverFloorMet: boolean; cliPeakRssMet: boolean; serverPeakRssMet: boolean };
}

const mib = (v: number) => v.toFixed(0);
const rate = (v: number) => Math.round(v).toLocaleString('en-US');
const spread = (samples: number[]) => `${Math.min(...samples).toFixed(2)}-${Math.max(...samples).toFixed(2)}`;
const ratio = (over: number, rounds: number[]) => `${over.toFixed(2)}x (${spread(rounds)})`;
const serverPeakCell = (s: ServerMemory) => `${mib(s.peakRssMiB)} (+${mib(s.riseMiB)})`;
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

function markdown(r: Results): string {
  const { full, small } = r.export;
  const row = (label: string, s: Series, vs: string, rss: string, server?: ServerMemory) =>
    `| ${label} | ${s.calls.toLocaleString('en-US')} | ${s.median.toFixed(2)} | ${spread(s.samples)} | ${rate(s.callsPerSecond)} | ${vs} | ${rss} | ${
      server ? serverPeakCell(server) : ''
    } | ${server ? mib(server.peakAnonMiB) : ''} |`;
  const header = [
    '| Run | Calls | Seconds | Spread | Calls/s | Over the floor | Peak RSS MiB | Server peak RSS MiB | Server peak anon. MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const identical = (e: ExportAt) => (e.identicalToFloor ? 'byte for byte the same file as' : 'the same number of lines as, though not byte-identical to,');
  return [
    `## CLI export: \`sipsim calls export\` of ${r.data.calls.toLocaleString('en-US')} calls to CSV (SQLite)`,
    '',
    `Run ${r.machine.date} by \`node --import tsx bench/export-cli.ts --calls ${r.data.calls} --rounds ${r.rounds}\` in ${r.seconds.toFixed(0)} s. ` +
      'Machine-readable figures: bench/export-cli-results.json.',
    '',
    `Machine: ${r.machine.nproc} CPUs ${r.machine.cpu}, ${r.machine.memoryGiB} GiB, load average ${r.machine.loadAverage} at the start; Node ${r.machine.node}; sqlite3 shell ${r.sqlite}.`,
    '',
    `Data: ${r.data.store} (\`createDemo\`, seed ${r.data.seed}, ${r.data.calls.toLocaleString('en-US')} calls over ${r.data.days} days)${
      r.data.reused ? ', reused' : `, loaded in ${r.data.loadSeconds?.toFixed(0)} s`
    }. Server: \`sipsim serve --workers 1\` from dist, rate limits off.`,
    '',
    `Export: \`sipsim calls export --format csv --out FILE\` from dist, over HTTP to the server, of every call (${full.window.start_time} to ${full.window.end_time}) ` +
      `and of the last ${SMALL_DAYS} days, set against the \`sqlite3\` shell (\`-csv -header\`, CRLF line breaks) writing the same rows to a file: ` +
      `the same order and the same ${r.fields.length} columns (${r.fields.join(', ')}), spelled as the API spells them. ` +
      `Medians of ${r.rounds} alternating rounds after a warm-up; "Spread" is the fastest and slowest run in seconds; "Over the floor" is the median of ` +
      'each run over the floor of its own round (the spread of those ratios in brackets). Peak RSS of the CLI and of the shell: `/usr/bin/time -f %M`, ' +
      `the largest of the rounds. Server, reset before each run: peak RSS (VmHWM, which counts the database pages SQLite maps in${
        r.server.peakResettable ? '' : '; NOT reset here, clear_refs refused, so it counts from the start'
      }; in brackets, how far it rose above the RSS at the reset, since the server keeps the memory earlier runs made it take) ` +
      'and peak anonymous RSS (RssAnon, sampled every 20 ms).',
    '',
    ...header,
    row('sqlite3 shell, CSV (floor)', full.floor, '1.00x', mib(full.floor.peakRssMiB)),
    row('`sipsim calls export`', full.cli, ratio(full.cli.overFloor, full.cli.roundRatios), mib(full.cli.peakRssMiB), full.cli.server),
    row(`sqlite3 shell, last ${SMALL_DAYS} days (floor)`, small.floor, '1.00x', mib(small.floor.peakRssMiB)),
    row(`\`sipsim calls export\`, last ${SMALL_DAYS} days`, small.cli, ratio(small.cli.overFloor, small.cli.roundRatios), mib(small.cli.peakRssMiB), small.cli.server),
    '',
    `The CLI's files have as many lines as the shell's (${full.lines.toLocaleString('en-US')} and ${small.lines.toLocaleString('en-US')}, with the header) and are ` +
      `${identical(full)} the shell's (${(full.bytes / 1e6).toFixed(1)} MB). The CLI takes ${r.cliStart.median.toFixed(2)} s to start (\`sipsim --version\`, median); ` +
      `less its start in each round, it is ${full.cli.overFloorAfterStart.toFixed(2)}x the floor on every call and ${small.cli.overFloorAfterStart.toFixed(2)}x on the last ${SMALL_DAYS} days. Server RSS when idle, before the runs: ${mib(r.server.idleRssMiB)} MiB (anonymous ${mib(r.server.idleAnonMiB)}).`,
    '',
    `Paging, in this process over the whole window: \`for await\` over \`client.calls.list({ start_time, end_time, limit: ${r.paging.limit} })\` with the SDK, ` +
      'against a streaming `fetch` of /api/v2/calls/export (CSV, lines counted as they arrive, nothing kept), in the same rounds.',
    '',
    '| Run | Calls | Seconds | Spread | Calls/s | Over the endpoint | Server peak RSS MiB | Server peak anon. MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    `| fetch of /api/v2/calls/export, streamed | ${r.paging.endpoint.calls.toLocaleString('en-US')} | ${r.paging.endpoint.median.toFixed(2)} | ${spread(r.paging.endpoint.samples)} | ${rate(r.paging.endpoint.callsPerSecond)} | 1.00x | ${serverPeakCell(r.paging.endpoint.server)} | ${mib(r.paging.endpoint.server.peakAnonMiB)} |`,
    `| SDK, \`calls.list\` pages of ${r.paging.limit} | ${r.paging.sdk.calls.toLocaleString('en-US')} | ${r.paging.sdk.median.toFixed(2)} | ${spread(r.paging.sdk.samples)} | ${rate(r.paging.sdk.callsPerSecond)} | ${ratio(r.paging.sdk.overEndpoint, r.paging.sdk.roundRatios)} | ${serverPeakCell(r.paging.sdk.server)} | ${mib(r.paging.sdk.server.peakAnonMiB)} |`,
    '',
    `Aims: the CLI within ${r.aim.overFloor}x of the sqlite3 shell: ${met(r.aim.cliOverFloorMet)} (${full.cli.overFloor.toFixed(2)}x; ` +
      `${small.cli.overFloor.toFixed(2)}x on the last ${SMALL_DAYS} days). Under ${r.aim.peakRssMB} MB (${AIM.peakRssMiB.toFixed(1)} MiB) of peak RSS at both sizes: ` +
      `CLI ${met(r.aim.cliPeakRssMet)} (${mib(full.cli.peakRssMiB)} and ${mib(small.cli.peakRssMiB)} MiB); server ${met(r.aim.serverPeakRssMet)} ` +
      `(${mib(full.cli.server.peakRssMiB)} and ${mib(small.cli.server.peakRssMiB)} MiB, of which anonymous ${mib(full.cli.server.peakAnonMiB)} and ${mib(small.cli.server.peakAnonMiB)}).`,
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
