/**
 * Breaking a real deployment under load: `sipsim serve --workers 2` from the
 * built CLI, on a fresh PostgreSQL database with demo data, while many
 * connections send GET /api/v2/calls, and then one of:
 *
 *   postgres  the PostgreSQL server is stopped, kept down for --down seconds and
 *             started again. Requests in the gap must get a 503 in the error
 *             envelope with Retry-After, the API must recover by itself, and no
 *             process may die.
 *   redis     with SIPSIM_REDIS_URL set and rate limits on (at a limit the load
 *             never reaches), redis-server is killed with SIGKILL, kept down,
 *             and started again the way it was started. No request may fail,
 *             and shared counters must hold again once it is back.
 *   worker    one of the two workers is killed with SIGKILL. The other must go
 *             on serving, and the primary must fork a replacement.
 *
 *   npm run bench:faults [-- --scenarios postgres,redis,worker --connections 200 --down 3]
 *
 * The postgres and redis scenarios stop servers that other programs on this
 * machine may be using (test suites included): each is done once per run, and
 * the script says so before it starts. Whatever happens, it leaves PostgreSQL
 * and Redis running, and drops the database and stops the servers it made.
 *
 * Environment: SIPSIM_BENCH_DATABASE_URL (admin connection, default
 * postgres://postgres@127.0.0.1:5432/postgres), SIPSIM_BENCH_REDIS_URL
 * (default redis://127.0.0.1:6379); SIPSIM_BENCH_PG_STOP / SIPSIM_BENCH_PG_START
 * (shell commands) where pg_ctlcluster is not how this PostgreSQL is run;
 * SIPSIM_BENCH_REDIS_START (shell command) to start Redis another way than it
 * was started.
 *
 * The load here comes from node:http with keep-alive connections rather than
 * autocannon, so that every request has its own record: time, status, the
 * error envelope and headers of each failure, and each connection error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  ADMIN_URL,
  Cleanup,
  REDIS_URL,
  checkBuild,
  createClient,
  fixed,
  freshDatabase,
  get,
  isErrorEnvelope,
  issueToken,
  loadDemo,
  log,
  logLines,
  loggedRequests,
  machine,
  percentile,
  printable,
  random,
  sleep,
  startServer,
  tempDir,
  writeJson,
  writeSection,
  buildQueryPool,
  type Database,
  type Demo,
  type QueryPool,
  type Server,
} from './support/deployment.js';

const SCENARIOS = ['postgres', 'redis', 'worker'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Options {
  scenarios: Scenario[];
  calls: number;
  connections: number;
  before: number;
  after: number;
  down: number;
  keepLogs: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      calls: { type: 'string', default: '200000' },
      connections: { type: 'string', default: '200' },
      before: { type: 'string', default: '10' },
      after: { type: 'string', default: '10' },
      down: { type: 'string', default: '3' },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench:faults -- [--scenarios postgres,redis,worker] [--calls N] [--connections N] [--before S] [--after S] [--down S] [--keep-logs]\n',
    );
    process.exit(0);
  }
  const scenarios = values.scenarios.split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario '${s}': use ${SCENARIOS.join(', ')}`);
  }
  const num = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number of at least ${min}`);
    return n;
  };
  return {
    scenarios: scenarios as Scenario[],
    calls: num('calls', values.calls, 1000),
    connections: num('connections', values.connections, 1),
    before: num('before', values.before, 2),
    after: num('after', values.after, 2),
    down: num('down', values.down, 0),
    keepLogs: values['keep-logs'],
  };
}

// ---------------------------------------------------------------- load with a record per request

interface Outcome {
  /** Epoch milliseconds when the answer (or the error) came. */
  at: number;
  ms: number;
  status: number;
  /** Connection-level failure (no HTTP answer): its code. */
  error?: string;
  /** For non-2xx answers. */
  envelope?: boolean;
  code?: string;
  retryAfter?: string;
}

/** `connections` loops, each sending the next request of the mix as soon as the last one is answered. */
class HttpLoad {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly loops: Array<Promise<void>> = [];
  private readonly agent: Agent;

  constructor(
    private readonly server: Server,
    private readonly token: string,
    private readonly pool: QueryPool,
    connections: number,
    seed: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
    const rand = random(seed);
    for (let i = 0; i < connections; i++) this.loops.push(this.loop(rand));
  }

  private async loop(rand: () => number): Promise<void> {
    while (this.running) {
      const outcome = await this.one(this.pool.next(rand));
      this.outcomes.push(outcome);
      // Do not spin on a refused connection.
      if (outcome.error) await sleep(20);
    }
  }

  private one(path: string): Promise<Outcome> {
    const started = Date.now();
    return new Promise((resolve) => {
      const req = httpRequest(
        `${this.server.base}${path}`,
        { agent: this.agent, headers: { authorization: `Bearer ${this.token}` }, timeout: 30_000 },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status === 200) {
            res.resume();
            res.on('end', () => resolve({ at: Date.now(), ms: Date.now() - started, status }));
          } else {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => {
              let code: string | undefined;
              try {
                code = (JSON.parse(body) as { code?: string }).code;
              } catch {
                code = undefined;
              }
              const retryAfter = res.headers['retry-after'];
              resolve({ at: Date.now(), ms: Date.now() - started, status, envelope: isErrorEnvelope(body, status), code, retryAfter });
            });
          }
          res.on('error', (error: NodeJS.ErrnoException) =>
            resolve({ at: Date.now(), ms: Date.now() - started, status: 0, error: error.code ?? error.message }),
          );
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => resolve({ at: Date.now(), ms: Date.now() - started, status: 0, error: error.code ?? error.message }));
      req.end();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
  }
}

interface Probe {
  n: number;
  /** Epoch ms when it was sent, and when it was answered or failed. */
  sentAt: number;
  at: number;
  status: number;
  remaining: number | null;
  error?: string;
  /** The worker that answered, from the server's log. */
  pid?: number | null;
}

/**
 * Every 100 ms one request on a connection of its own, which the cluster's
 * primary hands to the workers in turn; its X-Request-Id finds it in the
 * server's log, which says which process answered it.
 */
class Prober {
  readonly probes: Probe[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(server: Server, token: string, path: string) {
    this.done = (async () => {
      for (let n = 0; this.running; n++) {
        const headers = { authorization: `Bearer ${token}`, 'x-request-id': `probe-${n}` };
        const sentAt = Date.now();
        try {
          const reply = await get(`${server.base}${path}`, headers, { fresh: true, timeoutMs: 10_000 });
          const remaining = reply.headers['ratelimit-remaining'];
          this.probes.push({ n, sentAt, at: Date.now(), status: reply.status, remaining: typeof remaining === 'string' ? Number(remaining) : null });
        } catch (error) {
          this.probes.push({ n, sentAt, at: Date.now(), status: 0, remaining: null, error: error instanceof Error ? error.message : String(error) });
        }
        await sleep(100);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** The probes, with the process that answered each, from the server's log. */
  attributed(logPath: string): Probe[] {
    const pidOf = new Map(loggedRequests(logPath).filter((r) => r.reqId.startsWith('probe-')).map((r) => [r.reqId, r.pid]));
    for (const p of this.probes) p.pid = pidOf.get(`probe-${p.n}`) ?? null;
    return this.probes;
  }
}

/** The longest time without a 200 answer within [from, to). */
function longestGap(outcomes: Outcome[], from: number, to: number): number {
  const times = outcomes.filter((o) => o.status === 200 && o.at >= from && o.at < to).map((o) => o.at).sort((a, b) => a - b);
  let gap = 0;
  let last = from;
  for (const t of times) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return Math.max(gap, to - last);
}

/** Counts by outcome in [from, to) epoch ms. */
function tally(outcomes: Outcome[], from = -Infinity, to = Infinity) {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.at < from || o.at >= to) continue;
    const key = o.error ? `error ${o.error}` : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Per-bucket counts of 200, 503, other statuses and connection errors, around `zero`. */
function timeline(outcomes: Outcome[], zero: number, from: number, to: number, bucketMs: number) {
  const rows: Array<{ t: number; ok: number; s503: number; other: number; errors: number }> = [];
  for (let start = zero + from; start < zero + to; start += bucketMs) {
    const row = { t: (start - zero) / 1000, ok: 0, s503: 0, other: 0, errors: 0 };
    for (const o of outcomes) {
      if (o.at < start || o.at >= start + bucketMs) continue;
      if (o.error) row.errors++;
      else if (o.status === 200) row.ok++;
      else if (o.status === 503) row.s503++;
      else row.other++;
    }
    rows.push(row);
  }
  return rows;
}

function timelineTable(rows: ReturnType<typeof timeline>, what: string): string[] {
  return [
    `| ${what} | 200 | 503 | other status | connection errors |`,
    '|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.t >= 0 ? '+' : ''}${r.t.toFixed(2)} | ${r.ok} | ${r.s503} | ${r.other} | ${r.errors} |`),
  ];
}

const countsText = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ') || 'none';

// ---------------------------------------------------------------- controlling PostgreSQL

interface PgControl {
  describe: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Runs a command to its end without blocking this process's event loop, which
 * is driving the load and timing every answer meanwhile.
 */
function run(executable: string, args: string[], argv0?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, { stdio: ['ignore', 'inherit', 'inherit'], argv0 });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${[executable, ...args].join(' ')} exited with ${code ?? signal}`))));
  });
}

const shell = (command: string) => run('sh', ['-c', command]);

function pgControl(): PgControl {
  const stopCommand = process.env.SIPSIM_BENCH_PG_STOP;
  const startCommand = process.env.SIPSIM_BENCH_PG_START;
  if (stopCommand || startCommand) {
    if (!stopCommand || !startCommand) throw new Error('set both SIPSIM_BENCH_PG_STOP and SIPSIM_BENCH_PG_START, or neither');
    return { describe: `\`${stopCommand}\`, then \`${startCommand}\``, stop: () => shell(stopCommand), start: () => shell(startCommand) };
  }
  const port = new URL(ADMIN_URL).port || '5432';
  const listed = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8' });
  if (listed.error || listed.status !== 0) {
    throw new Error(
      'the postgres scenario stops and starts the server with pg_ctlcluster, and pg_lsclusters is not available here: ' +
        'set SIPSIM_BENCH_PG_STOP and SIPSIM_BENCH_PG_START to shell commands that stop and start it, or leave out the postgres scenario',
    );
  }
  const cluster = listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find((f) => f[2] === port && f[3] === 'online');
  if (!cluster) throw new Error(`no online PostgreSQL cluster on port ${port} in pg_lsclusters: set SIPSIM_BENCH_PG_STOP and SIPSIM_BENCH_PG_START`);
  const [version, name] = cluster as [string, string];
  const ctl = (action: string, ...extra: string[]) => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action, ...extra]);
  return {
    describe: `\`pg_ctlcluster ${version} ${name} stop -m fast\`, then \`pg_ctlcluster ${version} ${name} start\``,
    stop: () => ctl('stop', '-m', 'fast'),
    start: () => ctl('start'),
  };
}

async function pgAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 500 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Polls every 100 ms and records when the answer changes. */
class Watcher {
  readonly changes: Array<{ at: number; up: boolean }> = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(probe: () => Promise<boolean>) {
    this.done = (async () => {
      let last: boolean | null = null;
      while (this.running) {
        const up = await probe();
        if (up !== last) this.changes.push({ at: Date.now(), up });
        last = up;
        await sleep(100);
      }
    })();
  }

  firstAfter(at: number, up: boolean): number | null {
    return this.changes.find((c) => c.at >= at && c.up === up)?.at ?? null;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

// ---------------------------------------------------------------- controlling Redis

interface RedisControl {
  pid: number;
  command: string[] | string;
  describe: string;
}

function redisClient(): Redis {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  return client;
}

async function redisAnswers(): Promise<boolean> {
  const client = redisClient();
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** How the running redis-server was started, read from itself, so that it can be started again the same way. */
async function redisControl(): Promise<RedisControl> {
  const client = redisClient();
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `cannot reach Redis at ${printable(REDIS_URL)} (${error instanceof Error ? error.message : String(error)}): start it ` +
        "(redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no), point SIPSIM_BENCH_REDIS_URL at it, or leave out the redis scenario",
    );
  }
  try {
    const info = await client.info('server');
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    const pid = Number(field('process_id'));
    let executable: string;
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis-server')) throw new Error('not redis-server');
      // Debian's redis-server is a link to a binary that acts on the name it was started by: start it by that name.
      const onPath = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
      executable = onPath || readlinkSync(`/proc/${pid}/exe`);
    } catch {
      throw new Error(`the Redis at ${printable(REDIS_URL)} is not a redis-server process on this machine (pid ${pid}): the redis scenario must kill it`);
    }
    const custom = process.env.SIPSIM_BENCH_REDIS_START;
    if (custom) return { pid, command: custom, describe: `\`${custom}\`` };
    const config = async (name: string) => ((await client.config('GET', name)) as string[])[1] ?? '';
    const configFile = field('config_file');
    const args = configFile ? [configFile] : [];
    args.push('--daemonize', 'yes');
    for (const name of ['bind', 'port', 'save', 'appendonly', 'dir', 'logfile']) {
      const value = await config(name);
      args.push(`--${name}`, ...(name === 'bind' ? value.split(' ') : [value]));
    }
    const quoted = args.map((a) => (a === '' || /\s/.test(a) ? `'${a}'` : a)).join(' ');
    return { pid, command: [executable, ...args], describe: `\`${executable} ${quoted}\`` };
  } finally {
    client.disconnect();
  }
}

function startRedis(control: RedisControl): Promise<void> {
  if (typeof control.command === 'string') return shell(control.command);
  const [executable, ...args] = control.command;
  return run(executable!, args, 'redis-server');
}

/** The rate-limit counters under a key prefix. */
async function readCounters(prefix: string): Promise<Record<string, number>> {
  const client = redisClient();
  try {
    await client.connect();
    const keys = await client.keys(`${prefix}*`);
    const out: Record<string, number> = {};
    for (const key of keys) out[key.slice(prefix.length)] = Number(await client.get(key));
    return out;
  } finally {
    client.disconnect();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`${what} within ${seconds} s`);
}

// ---------------------------------------------------------------- scenarios

interface Context {
  options: Options;
  cleanup: Cleanup;
  db: Database;
  demo: Demo;
  dir: string;
  pool: QueryPool;
}

interface ScenarioResult {
  scenario: Scenario;
  passed: boolean;
  checks: Array<{ what: string; met: boolean; detail: string }>;
  summary: Record<string, unknown>;
  markdown: string[];
}

function check(checks: ScenarioResult['checks'], what: string, met: boolean, detail: string): void {
  checks.push({ what, met, detail });
  log(`${met ? 'ok    ' : 'FAILED'} ${what}: ${detail}`);
}

const rel = (at: number | null, zero: number) => (at === null ? 'never' : `${((at - zero) / 1000).toFixed(2)} s`);

async function serve(ctx: Context, label: string, env: Record<string, string>): Promise<{ server: Server; token: string }> {
  const server = await startServer(ctx.cleanup, { label, databaseUrl: ctx.db.url, workers: 2, env, logLevel: 'info', dir: ctx.dir });
  const token = await issueToken(server.base, ctx.demo.clientId, ctx.demo.clientSecret);
  return { server, token };
}

async function postgresScenario(ctx: Context, control: PgControl): Promise<ScenarioResult> {
  const { options } = ctx;
  const { server, token } = await serve(ctx, 'postgres', { SIPSIM_RATE_LIMIT: 'off' });
  const workersBefore = server.workerPids();
  const watcher = new Watcher(pgAnswers);
  const load = new HttpLoad(server, token, ctx.pool, options.connections, 11);
  await sleep(options.before * 1000);

  // Whatever happens from here, PostgreSQL is running again at the end.
  let stopped = false;
  const ensureStarted = ctx.cleanup.add('start PostgreSQL again', async () => {
    if (stopped && !(await pgAnswers())) {
      log('starting PostgreSQL again');
      await control.start();
      await waitFor('PostgreSQL answering again', pgAnswers, 60);
    }
  });
  log(`WARNING: stopping the PostgreSQL server at ${printable(ADMIN_URL)} for ${options.down} s: every client of it loses its connections`);
  const stopAt = Date.now();
  stopped = true;
  await control.stop();
  const stoppedAt = Date.now();
  await sleep(options.down * 1000);
  const startAt = Date.now();
  await control.start();
  const startedAt = Date.now();
  await waitFor('PostgreSQL answering again', pgAnswers, 60);
  stopped = false;
  await ensureStarted();
  const upAt = watcher.firstAfter(startAt, true) ?? Date.now();
  log(`PostgreSQL answers again, ${((upAt - stopAt) / 1000).toFixed(1)} s after the stop began`);
  await sleep(options.after * 1000);
  await load.stop();
  await watcher.stop();
  const workersAfter = server.workerPids();
  const primaryAlive = server.alive();
  const stopResult = await server.stop();

  const outcomes = load.outcomes;
  const failures = outcomes.filter((o) => o.at >= stopAt && o.status !== 200);
  const firstFailure = failures[0]?.at ?? null;
  const lastFailure = failures[failures.length - 1]?.at ?? null;
  const firstOkAfterUp = outcomes.find((o) => o.at >= upAt && o.status === 200)?.at ?? null;
  const s503 = outcomes.filter((o) => o.status === 503);
  const badEnvelope = s503.filter((o) => !o.envelope || o.code !== 'STORE_UNAVAILABLE' || !o.retryAfter);
  const otherFailures = outcomes.filter((o) => o.status !== 200 && o.status !== 503);
  const downAt = watcher.firstAfter(stopAt, false);

  const checks: ScenarioResult['checks'] = [];
  check(checks, 'requests refused in the gap are 503 in the error envelope, with code STORE_UNAVAILABLE and Retry-After', s503.length > 0 && badEnvelope.length === 0,
    `${s503.length} answers 503, ${badEnvelope.length} of them without the envelope, the code or Retry-After (Retry-After: ${[...new Set(s503.map((o) => o.retryAfter))].join(', ')})`);
  check(checks, 'no answer other than 200 or 503, and no connection error', otherFailures.length === 0, countsText(tally(otherFailures)));
  check(checks, 'the API recovers by itself: no failure later than 5 s after PostgreSQL answers again', lastFailure === null || lastFailure - upAt <= 5000,
    `last failure ${rel(lastFailure, upAt)} after PostgreSQL answered again`);
  check(checks, 'no process died: same worker pids before and after, primary alive', JSON.stringify(workersBefore) === JSON.stringify(workersAfter) && primaryAlive,
    `workers before ${workersBefore.join(', ')}, after ${workersAfter.join(', ')}; primary ${primaryAlive ? 'alive' : 'DEAD'}, then exited ${stopResult.code ?? stopResult.signal} on SIGTERM`);

  const summary = {
    downSeconds: options.down,
    stopCommandSeconds: (stoppedAt - stopAt) / 1000,
    startCommandSeconds: (startedAt - startAt) / 1000,
    postgresRefusedAfterSeconds: downAt === null ? null : (downAt - stopAt) / 1000,
    postgresBackAfterSeconds: (upAt - stopAt) / 1000,
    firstFailureAfterStopSeconds: firstFailure === null ? null : (firstFailure - stopAt) / 1000,
    lastFailureAfterPostgresBackSeconds: lastFailure === null ? null : (lastFailure - upAt) / 1000,
    first200AfterPostgresBackSeconds: firstOkAfterUp === null ? null : (firstOkAfterUp - upAt) / 1000,
    counts: { before: tally(outcomes, -Infinity, stopAt), gap: tally(outcomes, stopAt, upAt), after: tally(outcomes, upAt) },
    total: tally(outcomes),
    retryAfter: [...new Set(s503.map((o) => o.retryAfter))],
    ms503: { p50: percentile(s503.map((o) => o.ms).sort((a, b) => a - b), 50), p99: percentile(s503.map((o) => o.ms).sort((a, b) => a - b), 99), max: Math.max(...s503.map((o) => o.ms)) },
    badEnvelopes: badEnvelope.length,
    workersBefore,
    workersAfter,
    primaryAlive,
    timeline: timeline(outcomes, stopAt, -2000, upAt - stopAt + 3000, 500),
  };
  const markdown = [
    `### PostgreSQL stopped for ${options.down} s under load`,
    '',
    `${options.connections} connections of the calls mix on --workers 2 (rate limits off). After ${options.before} s: ${control.describe}, ${options.down} s apart; ` +
      `then ${options.after} s more. Times below are from the moment the stop began.`,
    '',
    `- PostgreSQL refused connections from ${rel(downAt, stopAt)} (the stop command took ${summary.stopCommandSeconds.toFixed(2)} s), and answered again at ${rel(upAt, stopAt)}.`,
    `- First failed request at ${rel(firstFailure, stopAt)}; last failed request ${rel(lastFailure, upAt)} after PostgreSQL answered again; first 200 after it answered again: ${rel(firstOkAfterUp, upAt)} later.`,
    `- Answers before the stop: ${countsText(summary.counts.before)}. During the gap (stop to PostgreSQL answering): ${countsText(summary.counts.gap)}. After: ${countsText(summary.counts.after)}.`,
    `- Every 503 carried the error envelope with code STORE_UNAVAILABLE and \`Retry-After: ${summary.retryAfter.join(', ')}\`: ${badEnvelope.length === 0 ? 'yes' : `no (${badEnvelope.length} did not)`}. ` +
      `They took ${fixed(summary.ms503.p50, 0)} ms (p50), ${fixed(summary.ms503.p99, 0)} ms (p99), ${fixed(summary.ms503.max, 0)} ms at most.`,
    `- Workers before ${workersBefore.join(', ')}, after ${workersAfter.join(', ')}; the primary was alive throughout and exited ${stopResult.code ?? stopResult.signal} on SIGTERM at the end.`,
    '',
    ...timelineTable(summary.timeline, 's from the stop (0.5 s buckets)'),
    '',
  ];
  return { scenario: 'postgres', passed: checks.every((c) => c.met), checks, summary, markdown };
}

async function redisScenario(ctx: Context, control: RedisControl): Promise<ScenarioResult> {
  const { options } = ctx;
  const max = 1_000_000;
  const prefix = `sipsim:bench:${process.pid}:`;
  const { server, token } = await serve(ctx, 'redis', {
    SIPSIM_RATE_LIMIT: 'on',
    SIPSIM_RATE_LIMIT_READ: `${max}/1m`,
    SIPSIM_REDIS_URL: REDIS_URL,
    SIPSIM_REDIS_KEY_PREFIX: prefix,
  });
  // A client of its own, so that its budget moves only with its own requests.
  const probeClient = await createClient(ctx.db, ctx.demo.accountId, 'account.read calls.read');
  const probeToken = await issueToken(server.base, probeClient.clientId, probeClient.clientSecret);
  const workersBefore = server.workerPids();
  const watcher = new Watcher(redisAnswers);
  const load = new HttpLoad(server, token, ctx.pool, options.connections, 12);

  const prober = new Prober(server, probeToken, '/api/v2/account');

  await sleep(options.before * 1000);
  let killed = false;
  const ensureStarted = ctx.cleanup.add('start Redis again', async () => {
    if (killed && !(await redisAnswers())) {
      log('starting Redis again');
      await startRedis(control);
      await waitFor('Redis answering again', redisAnswers, 30);
    }
  });
  // What Redis counted for the load's client, against what the load was answered: the difference went uncounted.
  const counted = await readCounters(prefix);
  const countedAt = Date.now();
  const loadCounter = Object.entries(counted).find(([key]) => key.includes(`client:${ctx.demo.clientId}`))?.[1] ?? null;
  const answeredBefore = load.outcomes.filter((o) => o.at <= countedAt).length;
  log(`WARNING: killing redis-server (pid ${control.pid}) at ${printable(REDIS_URL)} for ${options.down} s: every client of it loses its connection`);
  const killAt = Date.now();
  killed = true;
  process.kill(control.pid, 'SIGKILL');
  await sleep(options.down * 1000);
  const startAt = Date.now();
  await startRedis(control);
  await waitFor('Redis answering again', redisAnswers, 30);
  killed = false;
  await ensureStarted();
  const upAt = watcher.firstAfter(startAt, true) ?? Date.now();
  log(`Redis answers again, ${((upAt - killAt) / 1000).toFixed(1)} s after the kill`);
  await sleep(options.after * 1000);
  await prober.stop();
  await load.stop();
  await watcher.stop();
  const workersAfter = server.workerPids();
  const primaryAlive = server.alive();
  await server.stop();
  const probes = prober.attributed(server.logPath);
  const enriched = probes;
  const phase = (from: number, to: number) => enriched.filter((p) => p.at >= from && p.at < to);
  const before = phase(-Infinity, killAt);
  const during = phase(killAt, upAt);
  const after = phase(upAt, Infinity);
  /** Consecutive probes (answered by different workers) whose Remaining fell by exactly one. */
  const shared = (list: typeof enriched) => {
    let pairs = 0;
    let byOne = 0;
    let acrossWorkers = 0;
    for (let i = 1; i < list.length; i++) {
      const [a, b] = [list[i - 1]!, list[i]!];
      if (a.remaining === null || b.remaining === null || a.remaining === max || b.remaining === max || b.remaining > a.remaining) continue;
      pairs++;
      if (a.remaining - b.remaining === 1) {
        byOne++;
        if (a.pid !== null && b.pid !== null && a.pid !== b.pid) acrossWorkers++;
      }
    }
    return { pairs, byOne, acrossWorkers };
  };
  const sharedBefore = shared(before);
  const sharedAfter = shared(after);
  const limitsBackAt = after.find((p) => p.remaining !== null && p.remaining < max)?.at ?? null;
  const outcomes = load.outcomes;
  const failed = outcomes.filter((o) => o.status < 200 || o.status >= 300);
  const probeFailures = probes.filter((p) => p.status !== 200);
  const pids = (list: typeof enriched) => {
    const counts: Record<string, number> = {};
    for (const p of list) counts[String(p.pid ?? 'unknown')] = (counts[String(p.pid ?? 'unknown')] ?? 0) + 1;
    return counts;
  };
  const redisLog = logLines(server.logPath)
    .filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('rate limiting'))
    .map((l) => ({ pid: l.pid, at: l.time, msg: l.msg }));

  const checks: ScenarioResult['checks'] = [];
  check(checks, 'no request failed: every answer of the load and of the probes is 2xx, no connection error', failed.length === 0 && probeFailures.length === 0,
    `load: ${countsText(tally(outcomes))}; probes: ${probes.length} sent, ${probeFailures.length} not 200`);
  check(checks, 'while Redis was down, requests went on unlimited (RateLimit-Remaining at the full budget)', during.length > 0 && during.filter((p) => p.at > killAt + 500).every((p) => p.remaining === max),
    `${during.length} probes between the kill and Redis answering again; Remaining values seen: ${[...new Set(during.map((p) => p.remaining))].slice(0, 5).join(', ')}`);
  check(checks, 'before the kill, one budget across both workers: Remaining fell by exactly 1 between consecutive probes answered by different workers',
    sharedBefore.pairs > 0 && sharedBefore.byOne === sharedBefore.pairs && sharedBefore.acrossWorkers > 0,
    `${sharedBefore.byOne} of ${sharedBefore.pairs} consecutive pairs, ${sharedBefore.acrossWorkers} of them across workers`);
  check(checks, 'after Redis returned, the same holds again', sharedAfter.pairs > 0 && sharedAfter.byOne === sharedAfter.pairs && sharedAfter.acrossWorkers > 0,
    `${sharedAfter.byOne} of ${sharedAfter.pairs} consecutive pairs, ${sharedAfter.acrossWorkers} of them across workers; counted again from ${rel(limitsBackAt, upAt)} after Redis answered`);
  check(checks, 'no process died', JSON.stringify(workersBefore) === JSON.stringify(workersAfter) && primaryAlive, `workers before ${workersBefore.join(', ')}, after ${workersAfter.join(', ')}`);

  const sample = (list: typeof enriched, count: number) => list.slice(-count).map((p) => `${p.remaining ?? '-'} (pid ${p.pid ?? '?'})`).join(', ');
  const summary = {
    limit: `${max}/1m`,
    counts: tally(outcomes),
    probes: { sent: probes.length, failed: probeFailures.length, before: before.length, during: during.length, after: after.length },
    probesByWorker: { before: pids(before), after: pids(after) },
    sharedBefore,
    sharedAfter,
    loadRequestsAnsweredBeforeKill: answeredBefore,
    loadRequestsCountedInRedisBeforeKill: loadCounter,
    counters: counted,
    redisBackAfterSeconds: (upAt - killAt) / 1000,
    limitsCountedAgainAfterRedisBackSeconds: limitsBackAt === null ? null : (limitsBackAt - upAt) / 1000,
    serverLog: redisLog,
    workersBefore,
    workersAfter,
    primaryAlive,
    timeline: timeline(outcomes, killAt, -2000, upAt - killAt + 3000, 500),
    probeSeries: enriched,
  };
  const markdown = [
    `### Redis killed for ${options.down} s under load, rate limits on`,
    '',
    `${options.connections} connections of the calls mix on --workers 2 with SIPSIM_REDIS_URL=${printable(REDIS_URL)}, SIPSIM_RATE_LIMIT=on and ` +
      `SIPSIM_RATE_LIMIT_READ=${max}/1m (far above what the load sends, so that nothing is refused). A probe sends GET /api/v2/account every 100 ms with a client of its own, ` +
      `each on a new connection, and reads RateLimit-Remaining; the server's log says which worker answered each probe. After ${options.before} s redis-server is killed with SIGKILL, ` +
      `and ${options.down} s later started again with ${control.describe}.`,
    '',
    `- Load: ${countsText(summary.counts)}. Probes: ${probes.length} sent, ${probeFailures.length} not answered 200.`,
    `- Just before the kill, Redis held a count of ${loadCounter ?? 'no'} requests for the load's client, which had been answered ${answeredBefore} times by then` +
      `${loadCounter !== null && answeredBefore > loadCounter ? `: at least ${answeredBefore - loadCounter} of them (${fixed((100 * (answeredBefore - loadCounter)) / answeredBefore, 1)}%) were not counted` : ''} ` +
      '(requests in flight are counted before they are answered, so the count can only run ahead of the answers); ' +
      'a request whose counter update fails, or takes longer than the 100 ms command timeout on the worker\'s busy event loop, is served without being counted.',
    `- Before the kill: Remaining fell by exactly 1 in ${sharedBefore.byOne} of ${sharedBefore.pairs} consecutive probe pairs, ${sharedBefore.acrossWorkers} of them answered by different workers (probes per worker: ${countsText(summary.probesByWorker.before)}). Last ones: ${sample(before, 6)}.`,
    `- Redis down (${during.length} probes): Remaining = ${[...new Set(during.filter((p) => p.at > killAt + 500).map((p) => p.remaining))].join(', ')}, the whole budget: requests are served without counting. The workers logged: ${redisLog
      .map((l) => `${typeof l.at === 'number' ? rel(l.at, killAt) : '?'} pid ${String(l.pid)} "${String(l.msg)}"`)
      .join('; ')} (times from the kill).`,
    `- Redis answered again ${summary.redisBackAfterSeconds.toFixed(1)} s after the kill; counting resumed on the first probe ${rel(limitsBackAt, upAt)} later; ` +
      `then Remaining fell by exactly 1 in ${sharedAfter.byOne} of ${sharedAfter.pairs} pairs, ${sharedAfter.acrossWorkers} across workers (probes per worker: ${countsText(summary.probesByWorker.after)}). First ones: ${after
        .slice(0, 6)
        .map((p) => `${p.remaining ?? '-'} (pid ${p.pid ?? '?'})`)
        .join(', ')}.`,
    `- Workers before ${workersBefore.join(', ')}, after ${workersAfter.join(', ')}; primary alive: ${primaryAlive ? 'yes' : 'NO'}.`,
    '',
  ];
  return { scenario: 'redis', passed: checks.every((c) => c.met), checks, summary, markdown };
}

async function workerScenario(ctx: Context): Promise<ScenarioResult> {
  const { options } = ctx;
  const { server, token } = await serve(ctx, 'worker', { SIPSIM_RATE_LIMIT: 'off' });
  const workersBefore = server.workerPids();
  const load = new HttpLoad(server, token, ctx.pool, options.connections, 13);
  // The load's keep-alive connections all end up on the survivor; new connections show who else serves.
  const prober = new Prober(server, token, '/api/v2/account');
  await sleep(options.before * 1000);
  const victim = workersBefore[0]!;
  const survivor = workersBefore[1]!;
  const killAt = Date.now();
  process.kill(victim, 'SIGKILL');
  log(`killed worker ${victim} with SIGKILL`);
  let replacement: number | null = null;
  let forkedAt: number | null = null;
  const until = Date.now() + 30_000;
  while (Date.now() < until && replacement === null) {
    const now = server.workerPids().filter((p) => p !== victim && p !== survivor);
    if (now.length) {
      replacement = now[0]!;
      forkedAt = Date.now();
    } else await sleep(20);
  }
  await sleep(options.after * 1000);
  await prober.stop();
  await load.stop();
  const workersAfter = server.workerPids();
  const primaryAlive = server.alive();
  await server.stop();
  const probes = prober.attributed(server.logPath);

  const lines = logLines(server.logPath);
  const replaced = lines.find((l) => l.msg === 'worker replaced');
  const exitedLine = lines.find((l) => l.msg === 'worker exited unexpectedly: starting another');
  const replacementListeningAt = typeof replaced?.time === 'number' ? replaced.time : null;
  const served = loggedRequests(server.logPath).filter((r) => r.time >= killAt);
  const servedBy = (pid: number | null) => served.filter((r) => r.pid === pid).length;
  const outcomes = load.outcomes;
  const errors = outcomes.filter((o) => o.error);
  const nonOk = outcomes.filter((o) => !o.error && o.status !== 200);
  // When each failed request was sent: a request can fail well after the kill if it waited on a connection that no one will answer.
  const errorTimes = errors.map((o) => o.at - o.ms - killAt);
  const window = timeline(outcomes, killAt, -1000, 3000, 250);
  const gapMs = longestGap(outcomes, killAt - 1000, killAt + 3000);
  const gapBeforeMs = longestGap(outcomes, killAt - options.before * 1000 + 2000, killAt);
  const probesAfter = probes.filter((p) => p.at >= killAt);
  const probesBy = (pid: number | null) => probesAfter.filter((p) => p.pid === pid && p.status === 200).length;
  const probeFailures = probes.filter((p) => p.status !== 200);

  const checks: ScenarioResult['checks'] = [];
  check(checks, 'the surviving worker went on serving: no second without a 200 from 1 s before the kill to 3 s after', gapMs < 1000,
    `longest time without a 200: ${gapMs} ms (before the kill: ${gapBeforeMs} ms); fewest 200s in a 250 ms bucket: ${Math.min(...window.map((r) => r.ok))}`);
  check(checks, 'no answer other than 200', nonOk.length === 0, countsText(tally(nonOk)));
  check(checks, `connection errors only on the killed worker's connections, at the kill (at most ${options.connections})`,
    errors.length <= options.connections && errorTimes.every((t) => t > -1000 && t < 1000),
    `${errors.length} errors (${countsText(tally(errors))}) on requests sent from ${fixed(Math.min(...errorTimes), 0)} to ${fixed(Math.max(...errorTimes), 0)} ms after the kill, ` +
      `failing ${fixed(Math.min(...errors.map((o) => o.at - killAt)), 0)} to ${fixed(Math.max(...errors.map((o) => o.at - killAt)), 0)} ms after it`);
  check(checks, 'the primary forked a replacement, which serves new connections', replacement !== null && probesBy(replacement) > 0 && primaryAlive,
    `replacement pid ${replacement ?? 'none'} seen ${rel(forkedAt, killAt)} after the kill, listening ${rel(replacementListeningAt, killAt)} after; ` +
      `probes on new connections after the kill answered by: survivor ${probesBy(survivor)}, replacement ${probesBy(replacement)}, not 200 ${probesAfter.filter((p) => p.status !== 200).length}`);
  const describeProbe = (p: Probe) => `sent ${((p.sentAt - killAt) / 1000).toFixed(2)} s after the kill: ${p.error ?? p.status} after ${((p.at - p.sentAt) / 1000).toFixed(2)} s`;
  check(checks, 'every probe on a new connection was answered 200, but those sent within 0.5 s of the kill', probeFailures.filter((p) => Math.abs(p.sentAt - killAt) > 500).length === 0,
    `${probes.length} probes, ${probeFailures.length} not 200${probeFailures.length ? ` (${probeFailures.map(describeProbe).join('; ')})` : ''}`);

  const summary = {
    victim,
    survivor,
    replacement,
    replacementForkSeenAfterSeconds: forkedAt === null ? null : (forkedAt - killAt) / 1000,
    replacementListeningAfterSeconds: replacementListeningAt === null ? null : (replacementListeningAt - killAt) / 1000,
    primaryLog: exitedLine ?? null,
    counts: tally(outcomes),
    countsAroundKill: tally(outcomes, killAt - 1000, killAt + 3000),
    errors: tally(errors),
    errorMsAfterKill: { min: Math.min(...errorTimes), max: Math.max(...errorTimes) },
    servedAfterKill: { survivor: servedBy(survivor), replacement: servedBy(replacement), victim: servedBy(victim) },
    longestGapWithout200Ms: gapMs,
    longestGapWithout200BeforeKillMs: gapBeforeMs,
    probes: { sent: probes.length, failed: probeFailures.length, afterKillBy: { survivor: probesBy(survivor), replacement: probesBy(replacement) } },
    workersBefore,
    workersAfter,
    primaryAlive,
    timeline: window,
  };
  const markdown = [
    '### One of two workers killed with SIGKILL under load',
    '',
    `${options.connections} keep-alive connections of the calls mix on --workers 2 (rate limits off). After ${options.before} s, \`kill -9\` of worker ${victim}; ${options.after} s more.`,
    '',
    `- Answers: ${countsText(summary.counts)}. In the 4 s around the kill (1 s before, 3 s after): ${countsText(summary.countsAroundKill)}.`,
    `- Connection errors: ${errors.length} (${countsText(summary.errors)}), on requests sent from ${fixed(summary.errorMsAfterKill.min, 0)} to ${fixed(summary.errorMsAfterKill.max, 0)} ms after the kill. ` +
      `They are the requests that were in flight, or about to be sent, on the connections the killed worker held: the kernel closes them when the process dies, ` +
      `and a request on them has no one to answer it. The client opens a new connection for its next request, which the primary hands to a live worker. No request got an error status.`,
    `- The survivor (${survivor}) answered ${summary.servedAfterKill.survivor} requests after the kill. The longest time without any 200 from 1 s before the kill to 3 s after was ${gapMs} ms ` +
      `(${gapBeforeMs} ms in the seconds before the kill, for comparison); the table has the 200s per 250 ms.`,
    `- The primary logged the exit and forked ${replacement ?? 'no replacement'} (restart delay ${String(exitedLine?.restart_in_ms ?? '?')} ms): seen ${rel(forkedAt, killAt)} after the kill, listening ${rel(replacementListeningAt, killAt)} after. ` +
      `The load's keep-alive connections had all moved to the survivor by then; of the probes (GET /api/v2/account every 100 ms, each on a new connection) after the kill, ` +
      `${probesBy(survivor)} were answered by the survivor and ${probesBy(replacement)} by the replacement, ${probesAfter.filter((p) => p.status !== 200).length} not with a 200. Workers before ${workersBefore.join(', ')}, after ${workersAfter.join(', ')}.`,
    ...(probeFailures.length
      ? [
          [
            `- Probes not answered 200: ${probeFailures.map(describeProbe).join('; ')}.`,
            ...(probeFailures.some((p) => p.error !== 'timeout')
              ? ['A probe sent just before the kill whose new connection went to the killed worker is reset like the connections of the load.']
              : []),
            ...(probeFailures.some((p) => p.error === 'timeout')
              ? [
                  "A connection that the primary hands to a worker at the instant it dies is never answered: node:cluster's round-robin primary keeps its copy of the socket " +
                    'until the worker acknowledges it, which a dead worker never does, so the client waits for its own timeout (a proxy in front, or the client, must time out and retry).',
                ]
              : []),
          ].join(' '),
        ]
      : []),
    '',
    ...timelineTable(window, 's from the kill (0.25 s buckets)'),
    '',
  ];
  return { scenario: 'worker', passed: checks.every((c) => c.met), checks, summary, markdown };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions();
  const started = performance.now();
  const at = machine();
  const wants = (s: Scenario) => options.scenarios.includes(s);
  process.stderr.write(
    [
      'bench/faults.ts needs:',
      `  PostgreSQL admin connection: ${printable(ADMIN_URL)} (SIPSIM_BENCH_DATABASE_URL); a database is created and dropped`,
      ...(wants('redis') ? [`  Redis: ${printable(REDIS_URL)} (SIPSIM_BENCH_REDIS_URL), a redis-server on this machine that it may kill and start again`] : []),
      ...(wants('postgres') ? ['  control of the PostgreSQL server: pg_ctlcluster, or SIPSIM_BENCH_PG_STOP and SIPSIM_BENCH_PG_START'] : []),
      '  the built CLI: dist/cli/main.js (npm run build)',
      `Scenarios: ${options.scenarios.join(', ')}.`,
      ...(wants('postgres') ? ['The postgres scenario STOPS the PostgreSQL server for a few seconds: other programs using it will see errors.'] : []),
      ...(wants('redis') ? ['The redis scenario KILLS redis-server for a few seconds: other programs using it will see errors.'] : []),
      '',
    ].join('\n'),
  );
  checkBuild();
  // Check every service the chosen scenarios need before changing anything.
  const pgCtl = wants('postgres') ? pgControl() : null;
  const redisCtl = wants('redis') ? await redisControl() : null;
  if (pgCtl) log(`PostgreSQL will be stopped and started with ${pgCtl.describe}`);
  if (redisCtl) log(`Redis (pid ${redisCtl.pid}) will be started again with ${redisCtl.describe}`);

  const cleanup = new Cleanup();
  let failed = false;
  const results: ScenarioResult[] = [];
  try {
    const db = await freshDatabase(cleanup, 'sipsim_faults');
    const demo = await loadDemo(db, options.calls);
    const dir = tempDir(cleanup, 'sipsim-faults', () => failed || options.keepLogs);
    const setup = await startServer(cleanup, { label: 'setup', databaseUrl: db.url, workers: 1, env: { SIPSIM_RATE_LIMIT: 'off' }, logLevel: 'warn', dir });
    const setupToken = await issueToken(setup.base, demo.clientId, demo.clientSecret);
    const pool = await buildQueryPool(setup.base, setupToken, demo.until, { days: 20, pagesPerWalk: 5 });
    await setup.stop();
    const ctx: Context = { options, cleanup, db, demo, dir, pool };
    for (const scenario of options.scenarios) {
      log(`scenario ${scenario}`);
      const result =
        scenario === 'postgres' ? await postgresScenario(ctx, pgCtl!) : scenario === 'redis' ? await redisScenario(ctx, redisCtl!) : await workerScenario(ctx);
      results.push(result);
    }
    const seconds = (performance.now() - started) / 1000;
    const lines = [
      '# Faults under load: PostgreSQL restarted, Redis killed, a worker killed',
      '',
      `Run ${at.date} by \`npm run bench:faults\` (bench/faults.ts) in ${seconds.toFixed(0)} s. Machine-readable figures: bench/load-results.json (key \`faults\`).`,
      '',
      `Machine: ${at.nproc} CPUs ${at.cpu}, load average ${at.loadAverage} at the start; Node ${at.node}. PostgreSQL ${db.serverVersion}. ` +
        `Data: a fresh database, \`sipsim demo --calls ${demo.calls} --seed 1\`. Each scenario starts its own \`node dist/cli/main.js serve --workers 2\`, ` +
        `and drives it with the same mix of GET /api/v2/calls as bench/load.ts (${pool.description}).`,
      '',
      '| scenario | check | result | detail |',
      '|---|---|---|---|',
      ...results.flatMap((r) => r.checks.map((c) => `| ${r.scenario} | ${c.what} | ${c.met ? 'met' : 'FAILED'} | ${c.detail.replaceAll('|', '/')} |`)),
      '',
      ...results.flatMap((r) => r.markdown),
      'Reproduce: `npm run bench:faults` (about 3 minutes; `-- --scenarios worker` runs only what touches nothing outside this project).',
    ];
    writeSection('faults', lines.join('\n'));
    writeJson('faults', { machine: at, options, database: { version: db.serverVersion, calls: demo.calls }, seconds, results });
    log('wrote bench/RESULTS.md (section "faults") and bench/load-results.json');
    if (results.some((r) => !r.passed)) {
      failed = true;
      process.exitCode = 1;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await cleanup.run();
    if (wants('postgres') && !(await pgAnswers())) log(`WARNING: PostgreSQL at ${printable(ADMIN_URL)} does not answer`);
    if (wants('redis') && !(await redisAnswers())) log(`WARNING: Redis at ${printable(REDIS_URL)} does not answer`);
  }
}

main().catch((error: unknown) => {
  // The stack only on request: the messages say what to do.
  const detail = error instanceof Error ? (process.env.SIPSIM_BENCH_DEBUG ? (error.stack ?? error.message) : error.message) : String(error);
  process.stderr.write(`bench/faults.ts: ${detail}\n`);
  process.exit(1);
});
