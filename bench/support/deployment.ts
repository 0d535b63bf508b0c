/**
 * What bench/load.ts and bench/faults.ts share: a fresh PostgreSQL database
 * with demo data, `sipsim serve` from the built CLI, a pool of realistic
 * GET /api/v2/calls requests, per-process memory and CPU readings from /proc,
 * and the sections they write into bench/RESULTS.md and bench/load-results.json.
 *
 * Everything started here is registered with a Cleanup, which runs on normal
 * exit, on failure and on SIGINT/SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(BENCH_DIR, '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

export const ADMIN_URL = process.env.SIPSIM_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.SIPSIM_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const log = (message: string): void => {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
};
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A URL with its password, if any, hidden, for printing. */
export function printable(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

// ---------------------------------------------------------------- cleanup

/** Undo steps, run last-registered first, once, whatever happens. */
export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private done: Promise<void> | null = null;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        log(`${signal}: cleaning up`);
        void this.run().finally(() => process.exit(130));
      });
    }
    // A throw outside the main flow (in an event handler) must not leave servers or databases behind either.
    process.on('uncaughtException', (error) => {
      log(`uncaught: ${error.stack ?? error.message}; cleaning up`);
      void this.run().finally(() => process.exit(1));
    });
  }

  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { name, run };
    this.steps.push(step);
    // Running a step early removes it, so that it does not run twice.
    return async () => {
      const index = this.steps.indexOf(step);
      if (index >= 0) this.steps.splice(index, 1);
      await run();
    };
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        try {
          await step.run();
        } catch (error) {
          log(`cleanup: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return this.done;
  }
}

// ---------------------------------------------------------------- preflight

/** Fails with a message that says what to do when the built CLI is missing; warns when src/ is newer. */
export function checkBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (these scripts run the built CLI)`);
  const built = statSync(CLI).mtimeMs;
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(ROOT, 'src'));
  if (newest > built) log('warning: a file in src/ is newer than dist/: run `npm run build` to measure the current code');
}

export async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `cannot reach PostgreSQL at ${printable(ADMIN_URL)} (${error instanceof Error ? error.message : String(error)}): ` +
        'start it, or point SIPSIM_BENCH_DATABASE_URL at a server where this user may create databases',
    );
  }
  return client;
}

export function machine() {
  return {
    date: `${new Date().toISOString().slice(0, 19)}Z`,
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((v) => v.toFixed(2)).join(' '),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

// ---------------------------------------------------------------- database and demo data

export interface Database {
  name: string;
  url: string;
  serverVersion: string;
  maxConnections: number;
}

/** Creates a database that no one else uses, and registers its drop. */
export async function freshDatabase(cleanup: Cleanup, prefix: string): Promise<Database> {
  const admin = await connectAdmin();
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    cleanup.add(`drop database ${name}`, async () => {
      const c = await connectAdmin();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        log(`dropped database ${name}`);
      } finally {
        await c.end();
      }
    });
    const version = (await admin.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v;
    const max = (await admin.query<{ v: string }>(`SELECT current_setting('max_connections') AS v`)).rows[0]!.v;
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    log(`created database ${name} on PostgreSQL ${version}`);
    return { name, url: url.toString(), serverVersion: version, maxConnections: Number(max) };
  } finally {
    await admin.end();
  }
}

/** Runs the built CLI to completion and returns its stdout; its stderr goes to ours. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`sipsim ${args[0]} exited with ${code ?? signal}: ${out.slice(-500)}`)),
    );
  });
}

export interface Demo {
  accountId: number;
  clientId: string;
  clientSecret: string;
  calls: number;
  /** Unix seconds: the newest call starts before this. */
  until: number;
  loadSeconds: number;
}

/** `sipsim demo` into the database, then VACUUM (ANALYZE), as after any bulk load. */
export async function loadDemo(db: Database, calls: number): Promise<Demo> {
  // Midnight UTC today, so that the one-day windows below are whole days of history.
  const until = Math.floor(Date.now() / 86_400_000) * 86_400;
  const started = performance.now();
  log(`loading ${calls.toLocaleString('en')} demo calls with \`sipsim demo\``);
  const out = await runCli([
    'demo',
    '--database',
    db.url,
    '--calls',
    String(calls),
    '--seed',
    '1',
    '--until',
    new Date(until * 1000).toISOString(),
    '--json',
  ]);
  const demo = JSON.parse(out) as { account_id: number; client_id: string; client_secret: string; calls: number };
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    await c.query('VACUUM (ANALYZE)');
  } finally {
    await c.end();
  }
  const loadSeconds = (performance.now() - started) / 1000;
  log(`demo data loaded in ${loadSeconds.toFixed(0)} s`);
  return { accountId: demo.account_id, clientId: demo.client_id, clientSecret: demo.client_secret, calls: demo.calls, until, loadSeconds };
}

/** A second OAuth client of the account, through the CLI. */
export async function createClient(db: Database, accountId: number, scopes: string): Promise<{ clientId: string; clientSecret: string }> {
  const out = await runCli(['clients', 'create', '--database', db.url, '--account', String(accountId), '--scopes', scopes, '--name', 'bench probe', '--json']);
  const parsed = JSON.parse(out) as { client_id: string; client_secret: string };
  return { clientId: parsed.client_id, clientSecret: parsed.client_secret };
}

// ---------------------------------------------------------------- the server

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Server {
  label: string;
  workers: number;
  primaryPid: number;
  base: string;
  logPath: string;
  /** The primary's children now (the workers), from pgrep. */
  workerPids(): number[];
  alive(): boolean;
  /** SIGTERM, then the exit code; SIGKILL to the process group if it has not exited within 30 s. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeOptions {
  label: string;
  databaseUrl: string;
  workers: number;
  /** Environment for the server; SIPSIM_* variables of this shell are not passed on. */
  env: Record<string, string>;
  logLevel: string;
  dir: string;
}

/** What `pgrep -P pid` prints, read from /proc without a child process (which would block the load's event loop). */
export function childPids(pid: number): number[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    text = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  }
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .sort((a, b) => a - b);
}

/** `sipsim serve` from the built CLI, logging to a file; resolves once it says it serves. */
export async function startServer(cleanup: Cleanup, options: ServeOptions): Promise<Server> {
  const port = await freePort();
  const logPath = join(options.dir, `${options.label}.log`);
  const fd = openSync(logPath, 'w');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIPSIM_')));
  // Its connections carry its label, so that pg_stat_activity tells them from another server's.
  const databaseUrl = new URL(options.databaseUrl);
  // (A SQLite URL would take the parameter as part of its file name.)
  if (databaseUrl.protocol.startsWith('postgres')) databaseUrl.searchParams.set('application_name', `sipsim-${options.label}`);
  const args = [
    CLI,
    'serve',
    '--database',
    databaseUrl.toString(),
    '--workers',
    String(options.workers),
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-level',
    options.logLevel,
  ];
  // Its own process group, so that a failed run can still take the workers down with it.
  const child = spawn(process.execPath, args, { env: { ...env, ...options.env }, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const pid = child.pid!;
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const stop = cleanup.add(`stop server ${options.label}`, async () => {
    if (exit) return killGroup();
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(killGroup, 30_000);
    await exited;
    clearTimeout(timer);
    killGroup();
  });

  const started = performance.now();
  for (;;) {
    const text = readFileSync(logPath, 'utf8');
    if (text.includes('sipsim is serving')) break;
    if (exit || performance.now() - started > 120_000) {
      await stop();
      throw new Error(`sipsim serve (${options.label}) did not start: ${exit ? `exited with ${JSON.stringify(exit)}` : 'no banner in 120 s'}\n${text.slice(-2000)}`);
    }
    await sleep(100);
  }
  log(`${options.label}: sipsim serve --workers ${options.workers} on port ${port}, primary pid ${pid}, workers ${childPids(pid).join(', ') || '(none: it serves itself)'}`);
  return {
    label: options.label,
    workers: options.workers,
    primaryPid: pid,
    base: `http://127.0.0.1:${port}`,
    logPath,
    workerPids: () => childPids(pid),
    alive: () => exit === null,
    stop: async () => {
      await stop();
      return exit ?? (await exited);
    },
  };
}

/** The processes that serve: the workers, or the primary itself with one worker. */
export function servingPids(server: Server): number[] {
  return server.workers > 1 ? server.workerPids() : [server.primaryPid];
}

// ---------------------------------------------------------------- HTTP helpers

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request; `fresh` opens a connection of its own (so that the cluster hands it to the next worker). */
export function get(url: string, headers: Record<string, string>, options: { fresh?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
  return send('GET', url, headers, undefined, options);
}

export function send(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | undefined,
  options: { fresh?: boolean; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent: options.fresh ? false : undefined, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function issueToken(base: string, clientId: string, clientSecret: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString();
  const reply = await send('POST', `${base}/oauth/token`, { 'content-type': 'application/x-www-form-urlencoded' }, form);
  if (reply.status !== 200) throw new Error(`POST /oauth/token answered ${reply.status}: ${reply.body}`);
  return (JSON.parse(reply.body) as { access_token: string }).access_token;
}

/** True when the body is the documented error envelope for this status. */
export function isErrorEnvelope(body: string, status: number): boolean {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return (
      parsed.status === status &&
      Array.isArray(parsed.errors) &&
      parsed.errors.length > 0 &&
      parsed.errors.every((e) => typeof e === 'string') &&
      typeof parsed.request_id === 'string' &&
      typeof parsed.path === 'string'
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the requests

/** A seeded generator, so that two runs send the same mix. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface QueryPool {
  /** Paths of GET /api/v2/calls, grouped by query: [first page, page 2 by its token, ...]. */
  walks: string[][];
  /** How the queries were made, for the report. */
  description: string;
  shapes: string[];
  days: number;
  pagesPerWalk: number;
  next(rand: () => number): string;
}

const isoSeconds = (seconds: number) => `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;

/**
 * One-day windows over the last `days` days of the history, each with one of a
 * few filter combinations, limit 100; each query walked through the API for up
 * to `pagesPerWalk` pages to collect real page tokens. Half the requests ask
 * for a first page, half for a later one by its token.
 */
export async function buildQueryPool(base: string, token: string, until: number, options: { days: number; pagesPerWalk: number }): Promise<QueryPool> {
  const auth = { authorization: `Bearer ${token}` };
  const directory = async (path: string) => {
    const reply = await get(`${base}${path}`, auth);
    if (reply.status !== 200) throw new Error(`GET ${path} answered ${reply.status}`);
    return (JSON.parse(reply.body) as { data: Array<{ id: number; name: string }> }).data;
  };
  const employees = await directory('/api/v2/employees?limit=1000');
  const tags = await directory('/api/v2/tags?limit=1000');
  if (!employees.length || !tags.length) throw new Error('the demo account has no employees or no tags');
  const rand = random(7);
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const shapes: Array<[string, () => Record<string, string>]> = [
    ['no filter', () => ({})],
    ['call_types=inbound', () => ({ call_types: 'inbound' })],
    ['call_types=missed,voicemail', () => ({ call_types: 'missed,voicemail' })],
    ['employees=<one>', () => ({ employees: String(pick(employees).id) })],
    ['employees=<two>&call_types=outbound', () => ({ employees: `${pick(employees).id},${pick(employees).id}`, call_types: 'outbound' })],
    ['tags=<one>', () => ({ tags: String(pick(tags).id) })],
  ];
  const queries: Array<Record<string, string>> = [];
  for (let d = 1; d <= options.days; d++) {
    const start = until - d * 86_400;
    const window = { start_time: isoSeconds(start), end_time: isoSeconds(start + 86_399), limit: '100' };
    for (const [, filters] of shapes) queries.push({ ...window, ...filters() });
  }
  const walks: string[][] = [];
  let index = 0;
  const walker = async () => {
    while (index < queries.length) {
      const query = queries[index++]!;
      const walk: string[] = [];
      let page: string | undefined;
      for (let n = 0; n < options.pagesPerWalk; n++) {
        const path = `/api/v2/calls?${new URLSearchParams(page ? { ...query, page } : query)}`;
        const reply = await get(`${base}${path}`, auth);
        if (reply.status !== 200) throw new Error(`GET ${path} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
        walk.push(path);
        page = (JSON.parse(reply.body) as { pagination: { page?: string } }).pagination.page;
        if (!page) break;
      }
      walks.push(walk);
    }
  };
  await Promise.all(Array.from({ length: 4 }, walker));
  walks.sort((a, b) => a[0]!.localeCompare(b[0]!));
  const paths = walks.reduce((n, w) => n + w.length, 0);
  return {
    walks,
    shapes: shapes.map(([name]) => name),
    days: options.days,
    pagesPerWalk: options.pagesPerWalk,
    description:
      `${walks.length} queries (${options.days} one-day windows x ${shapes.length} filter combinations, limit 100), ` +
      `${paths} distinct requests: each query's first page and up to ${options.pagesPerWalk - 1} more by the page tokens the API returned; ` +
      'half the requests ask for a first page, half for a later page',
    next(r) {
      const walk = walks[Math.floor(r() * walks.length)]!;
      if (walk.length === 1 || r() < 0.5) return walk[0]!;
      return walk[1 + Math.floor(r() * (walk.length - 1))]!;
    },
  };
}

// ---------------------------------------------------------------- /proc readings

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Resident memory in MiB, or null when the process is gone. */
export function rssMiB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) the process has used, or null when it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine has been busy (all cores), and the number of cores. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS;
}

export interface MemorySample {
  /** Seconds since the sampler started. */
  t: number;
  rss: Record<string, number>;
}

/**
 * Every `everyMs`: the RSS of the primary and of each worker, and the CPU time
 * of the server's processes, of the PostgreSQL backends serving its connections
 * and of this process, so that a phase can say what each request cost each of them.
 */
export class Sampler {
  readonly memory: MemorySample[] = [];
  private readonly cpu = new Map<string, { first: number; last: number }>();
  private timer: NodeJS.Timeout | null = null;
  private readonly startedAt = performance.now();
  /** The most connections this server had open to the database at one sample. */
  maxBackends = 0;
  private chain: Promise<void> = Promise.resolve();
  private pending = false;
  private firstAt: number | null = null;
  private lastAt = 0;

  constructor(
    private readonly server: Server,
    private readonly admin: pg.Client | null,
    private readonly databaseName: string,
    private readonly everyMs = 2000,
  ) {}

  start(): this {
    void this.sample();
    this.timer = setInterval(() => {
      if (!this.pending) {
        this.pending = true;
        void this.sample().finally(() => (this.pending = false));
      }
    }, this.everyMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private note(key: string, seconds: number | null, isNew: boolean) {
    if (seconds === null) return;
    const entry = this.cpu.get(key);
    // A process first seen after the start used all its CPU within the run.
    if (!entry) this.cpu.set(key, { first: isNew ? 0 : seconds, last: seconds });
    else entry.last = seconds;
  }

  /** Takes a sample now, after any still in progress, so that a last sample is never skipped. */
  sample(): Promise<void> {
    this.chain = this.chain.then(() => this.read()).catch((error: unknown) => {
      log(`sampler: ${String(error)}`);
    });
    return this.chain;
  }

  private async read(): Promise<void> {
    const first = this.memory.length === 0;
    const rss: Record<string, number> = {};
    const primary = rssMiB(this.server.primaryPid);
    if (primary !== null) rss[`primary ${this.server.primaryPid}`] = primary;
    this.note(`server:${this.server.primaryPid}`, cpuSeconds(this.server.primaryPid), false);
    for (const pid of this.server.workerPids()) {
      const value = rssMiB(pid);
      if (value !== null) rss[`worker ${pid}`] = value;
      this.note(`server:${pid}`, cpuSeconds(pid), !first);
    }
    if (this.admin) {
      const { rows } = await this.admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
        [this.databaseName, `sipsim-${this.server.label}`],
      );
      this.maxBackends = Math.max(this.maxBackends, rows.length);
      for (const { pid } of rows) this.note(`postgres:${pid}`, cpuSeconds(pid), !first);
    }
    const now = performance.now();
    this.memory.push({ t: (now - this.startedAt) / 1000, rss });
    this.firstAt ??= now;
    this.lastAt = now;
    const self = process.cpuUsage();
    this.note('bench', (self.user + self.system) / 1e6, false);
    this.note('machine', machineBusySeconds(), false);
  }

  /** CPU seconds used between the first and the last sample, by part, and the seconds between them. */
  cpuUsed(): { server: number; postgres: number; bench: number; machine: number; seconds: number } {
    const sum = (prefix: string) =>
      [...this.cpu.entries()].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + (v.last - v.first), 0);
    const seconds = this.firstAt === null ? 0 : (this.lastAt - this.firstAt) / 1000;
    return { server: sum('server:'), postgres: sum('postgres:'), bench: sum('bench'), machine: sum('machine'), seconds };
  }
}

/** Mean RSS per process over the first and the last `seconds` of the samples. */
export function memoryTrend(samples: MemorySample[], seconds: number) {
  const end = samples[samples.length - 1]?.t ?? 0;
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
  return names.map((name) => {
    const of = (from: number, to: number) => {
      const values = samples.filter((s) => s.t >= from && s.t <= to && s.rss[name] !== undefined).map((s) => s.rss[name]!);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
    };
    const all = samples.map((s) => s.rss[name]).filter((v): v is number => v !== undefined);
    return { process: name, firstMiB: of(0, seconds), lastMiB: of(end - seconds, end), minMiB: Math.min(...all), maxMiB: Math.max(...all) };
  });
}

// ---------------------------------------------------------------- the server's log

export interface LoggedRequest {
  time: number;
  pid: number;
  reqId: string;
  status: number;
}

/** The `request` lines of a server's log (JSON lines, one per request, with the pid that served it). */
export function loggedRequests(logPath: string): LoggedRequest[] {
  const out: LoggedRequest[] = [];
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.includes('"msg":"request"')) continue;
    try {
      const entry = JSON.parse(line) as { time: number; pid: number; reqId: string; status: number };
      out.push({ time: entry.time, pid: entry.pid, reqId: entry.reqId, status: entry.status });
    } catch {
      // a line cut by a kill
    }
  }
  return out;
}

export function logLines(logPath: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not JSON
    }
  }
  return out;
}

// ---------------------------------------------------------------- statistics

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export const fixed = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

// ---------------------------------------------------------------- results files

export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');
export const RESULTS_JSON = join(BENCH_DIR, 'load-results.json');

/**
 * Replaces this script's section of bench/RESULTS.md (between its markers), or
 * appends it; the rest of the file is kept as it is.
 */
export function writeSection(key: string, markdown: string): void {
  const begin = `<!-- ${key}: begin (written by bench/${key}.ts) -->`;
  const end = `<!-- ${key}: end -->`;
  const current = existsSync(RESULTS_MD) ? readFileSync(RESULTS_MD, 'utf8') : '';
  const section = `${begin}\n${markdown.trim()}\n${end}`;
  const from = current.indexOf(begin);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS_MD, next);
}

/** Replaces this script's key of bench/load-results.json, keeping the others. */
export function writeJson(key: string, value: unknown): void {
  let current: Record<string, unknown> = {};
  if (existsSync(RESULTS_JSON)) {
    try {
      current = JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Record<string, unknown>;
    } catch {
      current = {};
    }
  }
  current[key] = value;
  writeFileSync(RESULTS_JSON, `${JSON.stringify(current, null, 2)}\n`);
}

export function tempDir(cleanup: Cleanup, prefix: string, keep: () => boolean): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanup.add(`remove ${dir}`, () => {
    if (keep()) log(`kept ${dir} (server logs)`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
