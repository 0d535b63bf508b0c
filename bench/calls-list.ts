/**
 * GET /api/v2/calls on a million calls, on SQLite and on PostgreSQL.
 *
 *   npm run bench [-- --engines sqlite,postgres] [--rounds 8] [--quick] [--keep-pg]
 *
 * Each figure is set against a floor measured in the same run: the very SQL the
 * store runs for that request (captured from the driver while the store answers
 * it), sent straight through the driver in this process, plus JSON.stringify of
 * what comes back. The API itself runs in a child process and is driven over
 * HTTP by autocannon, one connection at a time, so that latencies are not
 * queueing time. Floor and HTTP runs alternate over several rounds and every
 * figure is the median of all the samples, because the machine is shared.
 *
 * Writes bench/RESULTS.md and bench/results.json. The SQLite store is kept in
 * bench/data/ and reused while its seed, size and schema are unchanged; the
 * PostgreSQL database (sipsim_bench) is dropped at the end unless --keep-pg.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { issueClient } from '../src/admin.js';
import { buildApp } from '../src/api/app.js';
import { parseListCallsQuery } from '../src/domain/call-filters.js';
import { CursorCodec, type Position } from '../src/domain/cursor.js';
import { createDemo } from '../src/demo/seed.js';
import { formatDateTime } from '../src/domain/time.js';
import type { Connection } from '../src/store/engine.js';
import { Store } from '../src/store/store.js';
import { recentCallerDigits } from './support/search-fixture.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

const SEED = 1;
const CALLS = 1_000_000;
const UNTIL_ISO = '2026-11-27T00:00:00Z';
const UNTIL = Date.parse(UNTIL_ISO) / 1000;
const DAY = 86400;
const iso = formatDateTime;

/** A Wednesday, two days before the end of the history. */
const ONE_DAY = { start_time: '2026-11-25T00:00:00Z', end_time: '2026-11-25T23:59:59Z' };
const THIRTY_DAYS = { start_time: iso(UNTIL - 30 * DAY), end_time: iso(UNTIL - 1) };
const FULL = { start_time: iso(UNTIL - 90 * DAY), end_time: UNTIL_ISO };

const PG_ADMIN_URL = process.env.SIPSIM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_DATABASE = process.env.SIPSIM_BENCH_PG_DATABASE ?? 'sipsim_bench';
const SQLITE_PATH = join(HERE, 'data', `calls-${CALLS}-seed${SEED}.db`);

// ---------------------------------------------------------------- options

interface Options {
  engines: Array<'sqlite' | 'postgres'>;
  rounds: number;
  floorMs: number;
  httpSeconds: number;
  keepPg: boolean;
  /** Scenario keys to run (e.g. `day`), or null for all; the page-100 walks need their page-1 scenario's data only. */
  only: string[] | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      engines: { type: 'string', default: 'sqlite,postgres' },
      rounds: { type: 'string', default: '8' },
      quick: { type: 'boolean', default: false },
      'keep-pg': { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  const engines = values.engines.split(',');
  for (const engine of engines) {
    if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`Unknown engine '${engine}': use sqlite, postgres or both`);
  }
  const options: Options = {
    engines: engines as Options['engines'],
    rounds: Number(values.rounds),
    floorMs: 400,
    httpSeconds: 1,
    keepPg: values['keep-pg'],
    only: values.only ? values.only.split(',') : null,
  };
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error('--rounds must be a positive integer');
  if (values.quick) Object.assign(options, { rounds: 2, floorMs: 300, httpSeconds: 1 });
  return options;
}

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ---------------------------------------------------------------- the stores

/** What the data depends on: reuse a stored copy only while these are unchanged. */
function dataMarker(): string {
  const hash = createHash('sha256');
  for (const file of ['src/store/migrations/001-initial.ts', 'src/demo/generate.ts', 'src/demo/seed.ts']) {
    hash.update(readFileSync(join(ROOT, file)));
  }
  return JSON.stringify({ seed: SEED, calls: CALLS, until: UNTIL_ISO, sources: hash.digest('hex').slice(0, 16) });
}

async function load(store: Store, label: string): Promise<number> {
  const started = performance.now();
  let lastLog = 0;
  await store.migrate();
  await createDemo(store, {
    seed: SEED,
    calls: CALLS,
    until: UNTIL,
    onProgress: (done, total) => {
      if (performance.now() - lastLog > 10000) {
        lastLog = performance.now();
        log(`${label}: loaded ${done}/${total}`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  log(`${label}: ${CALLS} calls loaded in ${seconds.toFixed(0)} s`);
  return seconds;
}

interface Prepared {
  url: string;
  reused: boolean;
  loadSeconds: number | null;
  drop(): Promise<void>;
}

async function prepareSqlite(): Promise<Prepared> {
  const url = `sqlite:${SQLITE_PATH}`;
  const markerPath = `${SQLITE_PATH}.json`;
  const marker = dataMarker();
  if (existsSync(SQLITE_PATH) && existsSync(markerPath) && readFileSync(markerPath, 'utf8') === marker) {
    log(`sqlite: reusing ${relative(ROOT, SQLITE_PATH)}`);
    return { url, reused: true, loadSeconds: null, drop: async () => {} };
  }
  for (const suffix of ['', '-wal', '-shm', '.json']) rmSync(`${SQLITE_PATH}${suffix}`, { force: true });
  mkdirSync(dirname(SQLITE_PATH), { recursive: true });
  const store = Store.open(url);
  const loadSeconds = await load(store, 'sqlite');
  await store.close();
  writeFileSync(markerPath, marker);
  return { url, reused: false, loadSeconds, drop: async () => {} };
}

async function preparePostgres(keep: boolean): Promise<Prepared> {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${PG_DATABASE}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  const marker = dataMarker();
  const drop = async () => {
    if (keep) return;
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
    await c.end();
    log(`postgres: dropped ${PG_DATABASE}`);
  };
  try {
    const { rows } = await admin.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [PG_DATABASE],
    );
    if (rows[0]?.comment === marker) {
      log(`postgres: reusing database ${PG_DATABASE}`);
      return { url: url.toString(), reused: true, loadSeconds: null, drop };
    }
    await admin.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${PG_DATABASE}`);
  } finally {
    await admin.end();
  }
  const store = Store.open(url.toString());
  const loadSeconds = await load(store, 'postgres');
  await store.close();
  // What autovacuum does after a bulk load (it may be off on a test server): set the
  // visibility map, so that index-only scans need not visit the heap.
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  await c.query('VACUUM (ANALYZE)');
  await c.query(`COMMENT ON DATABASE ${PG_DATABASE} IS ${pg.escapeLiteral(marker)}`);
  await c.end();
  return { url: url.toString(), reused: false, loadSeconds, drop };
}

// ---------------------------------------------------------------- capturing the store's SQL

interface CapturedQuery {
  sql: string;
  parameters: unknown[];
}

function rawSqlite(store: Store): SqliteDatabase.Database {
  return (store as unknown as { conn: Connection }).conn.sqlite!;
}

/** Records every statement the store sends to its driver while `action` runs. */
async function captureQueries<T>(store: Store, action: () => Promise<T>): Promise<{ result: T; queries: CapturedQuery[] }> {
  const queries: CapturedQuery[] = [];
  if (store.engine === 'sqlite') {
    // Statements are run through their prototype's all/get/run/iterate, whether Kysely
    // prepared them for this call or the store prepared them once and reuses them.
    const proto = Object.getPrototypeOf(rawSqlite(store).prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
    const methods = ['all', 'run', 'get', 'iterate'] as const;
    const originals = methods.map((m) => proto[m]!);
    methods.forEach((m, i) => {
      const original = originals[i]!;
      proto[m] = function (this: SqliteDatabase.Statement, ...args: unknown[]) {
        const parameters = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as unknown[];
        queries.push({ sql: this.source, parameters });
        return original.apply(this, args);
      };
    });
    try {
      return { result: await action(), queries };
    } finally {
      methods.forEach((m, i) => (proto[m] = originals[i]!));
    }
  }
  // Kysely's PostgreSQL driver calls client.query(sql, parameters) on a pooled pg.Client.
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === 'string') queries.push({ sql: args[0], parameters: (args[1] as unknown[]) ?? [] });
    // A query config ({ text, values, rowMode }), as the store's array-row reads send it.
    else if (args[0] && typeof (args[0] as { text?: unknown }).text === 'string') {
      const config = args[0] as { text: string; values?: unknown[] };
      queries.push({ sql: config.text, parameters: config.values ?? [] });
    }
    return query.apply(this, args);
  };
  try {
    return { result: await action(), queries };
  } finally {
    proto.query = query;
  }
}

/** The floor: the captured statements straight through the driver, then JSON.stringify of the rows. */
type Floor = () => Promise<number> | number;

function sqliteFloor(sqlite: SqliteDatabase.Database, queries: CapturedQuery[]): Floor {
  const statements = queries.map((q) => ({ statement: sqlite.prepare(q.sql), parameters: q.parameters }));
  return () => {
    const results = statements.map(({ statement, parameters }) => statement.all(...parameters));
    return JSON.stringify(results).length;
  };
}

function postgresFloor(client: pg.Client, queries: CapturedQuery[]): Floor {
  return async () => {
    const results: unknown[] = [];
    for (const q of queries) results.push((await client.query(q.sql, q.parameters)).rows);
    return JSON.stringify(results).length;
  };
}

// ---------------------------------------------------------------- timing

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function timeFloor(floor: Floor, minMs: number, minReps: number, samples: number[]): Promise<void> {
  const started = performance.now();
  for (let rep = 0; rep < minReps || performance.now() - started < minMs; rep++) {
    const t0 = performance.now();
    await floor();
    samples.push(performance.now() - t0);
  }
}

interface HttpSamples {
  latencies: number[];
  requests: number;
  seconds: number;
  failures: number;
}

async function timeHttp(url: string, token: string, seconds: number, connections: number, into: HttpSamples): Promise<void> {
  const instance = autocannon({ url, connections, duration: seconds, headers: { authorization: `Bearer ${token}` }, timeout: 60 });
  // autocannon's own histogram has whole milliseconds: keep the exact times.
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === 200) into.latencies.push(ms);
  });
  const result = await instance;
  into.requests += result['2xx'];
  into.seconds += result.duration;
  into.failures += result.non2xx + result.errors + result.timeouts;
}

// ---------------------------------------------------------------- scenarios

interface Scenario {
  key: string;
  label: string;
  query: Record<string, string>;
  /** Filled in before timing. */
  floor?: Floor;
  queries?: CapturedQuery[];
  rows?: number;
  floorSamples: number[];
  http: HttpSamples;
  /** The median of each round, to show the noise. */
  floorRounds: number[];
  /** API process CPU over the timed one-connection requests, and how many there were. */
  cpuMs: number;
  cpuRequests: number;
  httpRounds: number[];
}

function scenario(key: string, label: string, query: Record<string, string>): Scenario {
  return {
    key,
    label,
    query,
    floorSamples: [],
    http: { latencies: [], requests: 0, seconds: 0, failures: 0 },
    floorRounds: [],
    cpuMs: 0,
    cpuRequests: 0,
    httpRounds: [],
  };
}

interface Fixture {
  accountId: number;
  employeeId: number;
  tagId: number;
  tagName: string;
  /** The rarest tag, where reading the calls in order and probing each for the tag costs most. */
  rareTagId: number;
  rareTagName: string;
  numberDigits: string;
  name: string;
}

async function fixtureOf(store: Store): Promise<Fixture> {
  const account = (await store.accounts.list())[0]!;
  const employee = await store.db
    .selectFrom('employees')
    .select('id')
    .where('account_id', '=', account.id)
    .orderBy('id')
    .executeTakeFirstOrThrow();
  const tag = await store.db
    .selectFrom('tags')
    .select(['id', 'name'])
    .where('account_id', '=', account.id)
    .where('name_key', '=', 'important')
    .executeTakeFirstOrThrow();
  const rareTag = await store.db
    .selectFrom('tags')
    .select(['id', 'name'])
    .where('account_id', '=', account.id)
    .where('name_key', '=', 'spam')
    .executeTakeFirstOrThrow();
  // A caller who really called in the window (the day before its end).
  const digits = await recentCallerDigits(store.db, account.id, UNTIL - DAY);
  return {
    accountId: account.id,
    employeeId: employee.id,
    tagId: tag.id,
    tagName: tag.name,
    rareTagId: rareTag.id,
    rareTagName: rareTag.name,
    numberDigits: digits,
    name: 'dupont',
  };
}

function scenariosFor(f: Fixture): Scenario[] {
  const month = { ...THIRTY_DAYS, limit: '1000' };
  return [
    scenario('day', 'One day, limit 1000', { ...ONE_DAY, limit: '1000' }),
    scenario('month', '30 days, no filter (baseline)', month),
    scenario('voicemail', '30 days, call_types=voicemail', { ...month, call_types: 'voicemail' }),
    scenario('employee', `30 days, employees=${f.employeeId}`, { ...month, employees: String(f.employeeId) }),
    scenario('tag', `30 days, tags=${f.tagId} (${f.tagName})`, { ...month, tags: String(f.tagId) }),
    scenario('tag-rare', `30 days, tags=${f.rareTagId} (${f.rareTagName})`, { ...month, tags: String(f.rareTagId) }),
    scenario('number', `30 days, search=${f.numberDigits} (number)`, { ...month, search: f.numberDigits }),
    scenario('name', `30 days, search=${f.name} (name)`, { ...month, search: f.name }),
    scenario('walk100-p1', '90 days, limit 100, page 1', { ...FULL, limit: '100' }),
    scenario('walk100-p100', '90 days, limit 100, page 100', { ...FULL, limit: '100' }),
    scenario('walk1000-p1', '90 days, limit 1000, page 1', { ...FULL, limit: '1000' }),
    scenario('walk1000-p100', '90 days, limit 1000, page 100', { ...FULL, limit: '1000' }),
  ];
}

// ---------------------------------------------------------------- the API under test

interface Server {
  base: string;
  token: string;
  /** CPU time (user + system) the API process has used so far, in milliseconds. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(url: string, store: Store, accountId: number): Promise<Server> {
  // SIPSIM_BENCH_CPU_PROF=<dir>: the API process writes a V8 CPU profile there when it exits.
  const profile = process.env.SIPSIM_BENCH_CPU_PROF;
  const execArgv = [...process.execArgv, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])];
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`API server exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const { client, clientSecret } = await issueClient(store, accountId, { name: 'Benchmark', scopes: 'calls.read' });
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: clientSecret }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`No token: ${JSON.stringify(body)}`);
  return {
    base,
    token: body.access_token,
    cpu: () =>
      new Promise<number>((resolve) => {
        const onMessage = (m: unknown) => {
          if (typeof (m as { cpu?: unknown }).cpu !== 'number') return;
          child.off('message', onMessage);
          resolve((m as { cpu: number }).cpu);
        };
        child.on('message', onMessage);
        child.send('cpu');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

interface ListBody {
  data: Array<{ id: number }>;
  pagination: { count: number; page?: string; has_more: boolean };
}

async function getList(server: Server, query: Record<string, string>): Promise<ListBody> {
  const response = await fetch(`${server.base}/api/v2/calls?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
  if (response.status !== 200) throw new Error(`GET /api/v2/calls ${response.status}: ${await response.text()}`);
  return (await response.json()) as ListBody;
}

// ---------------------------------------------------------------- one engine

interface Row {
  key: string;
  label: string;
  query: Record<string, string>;
  /** The statements the store ran, long parameter lists shortened. */
  sql: string[];
  rows: number;
  queries: number;
  floorP50: number;
  httpP50: number;
  httpReqPerSec: number;
  httpOverFloor: number;
  floorSamples: number;
  httpSamples: number;
  /** API process CPU per request (user + system), over the timed one-connection requests. */
  cpuPerRequest: number;
  floorRounds: number[];
  httpRounds: number[];
}

interface Check {
  what: string;
  ratio: number;
  target: number;
  met: boolean;
}

interface EngineResult {
  engine: string;
  version: string;
  settings: string;
  reused: boolean;
  loadSeconds: number | null;
  fixture: Fixture;
  rows: Row[];
  throughput: { connections: number; reqPerSec: number; p50: number };
  checks: Check[];
}

async function benchEngine(engine: 'sqlite' | 'postgres', options: Options): Promise<EngineResult> {
  const prepared = engine === 'sqlite' ? await prepareSqlite() : await preparePostgres(options.keepPg);
  const store = Store.open(prepared.url);
  let pgClient: pg.Client | null = null;
  let server: Server | null = null;
  try {
    const fixture = await fixtureOf(store);
    const version =
      engine === 'sqlite'
        ? `SQLite ${(rawSqlite(store).prepare('SELECT sqlite_version() AS v').get() as { v: string }).v}`
        : `PostgreSQL ${((await store.db.selectNoFrom((eb) => eb.fn<string>('version', []).as('v')).executeTakeFirstOrThrow()).v).split(' ')[1]}`;
    const settings =
      engine === 'sqlite'
        ? ['journal_mode', 'synchronous', 'cache_size', 'mmap_size'].map((p) => `${p}=${rawSqlite(store).pragma(p, { simple: true })}`).join(', ')
        : (
            await Promise.all(
              ['shared_buffers', 'work_mem', 'autovacuum', 'max_parallel_workers_per_gather'].map(
                async (p) => `${p}=${(await sql.raw<Record<string, string>>(`SHOW ${p}`).execute(store.db)).rows[0]![p]}`,
              ),
            )
          ).join(', ');
    log(`${engine}: ${version} (${settings}); fixture ${JSON.stringify(fixture)}`);
    if (engine === 'postgres') {
      const pgTypes = { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')) };
      pgClient = new pg.Client({ connectionString: prepared.url, types: pgTypes as unknown as pg.CustomTypesConfig });
      await pgClient.connect();
    }
    server = await startServer(prepared.url, store, fixture.accountId);
    const scenarios = scenariosFor(fixture).filter((s) => !options.only || options.only.includes(s.key));

    // Page tokens for page 100 of each walk, followed through the API.
    const codec = new CursorCodec(await store.credentials.cursorSecret());
    for (const s of scenarios.filter((x) => x.key.endsWith('-p100'))) {
      let page: string | undefined;
      for (let n = 1; n < 100; n++) {
        const body = await getList(server, page ? { ...s.query, page } : s.query);
        page = body.pagination.page;
        if (!page) throw new Error(`${s.key}: the walk ended at page ${n}`);
      }
      s.query = { ...s.query, page: page! };
    }

    // Capture each request's SQL from the store itself, and check the API returns the same calls.
    for (const s of scenarios) {
      const parsed = parseListCallsQuery(s.query, fixture.accountId);
      let after: Position | null = null;
      if (parsed.page) {
        const decoded = codec.decode(parsed.page, parsed.fingerprint, 2);
        if (typeof decoded === 'string') throw new Error(`${s.key}: page token ${decoded}`);
        after = { startTime: decoded[0]!, id: decoded[1]! };
      }
      const { result, queries } = await captureQueries(store, () => store.calls.list(fixture.accountId, parsed.filter, parsed.limit, after));
      const body = await getList(server, s.query);
      const same = body.data.length === result.calls.length && body.data.every((c, i) => c.id === result.calls[i]!.id);
      if (!same) throw new Error(`${s.key}: the API and the store disagree`);
      s.rows = result.calls.length;
      s.queries = queries;
      s.floor = engine === 'sqlite' ? sqliteFloor(rawSqlite(store), queries) : postgresFloor(pgClient!, queries);
      log(`${engine}: ${s.key}: ${s.rows} calls, ${queries.length} statements`);
    }

    const urlOf = (s: Scenario) => `${server!.base}/api/v2/calls?${new URLSearchParams(s.query)}`;
    log(`${engine}: warming up`);
    for (const s of scenarios) {
      await timeFloor(s.floor!, 200, 5, []);
      await timeHttp(urlOf(s), server.token, 1, 1, { latencies: [], requests: 0, seconds: 0, failures: 0 });
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const s of scenarios) {
        const floorFrom = s.floorSamples.length;
        const httpFrom = s.http.latencies.length;
        const requestsFrom = s.http.requests;
        const cpuFrom = await server.cpu();
        await timeFloor(s.floor!, options.floorMs, 15, s.floorSamples);
        await timeHttp(urlOf(s), server.token, options.httpSeconds, 1, s.http);
        s.floorRounds.push(median(s.floorSamples.slice(floorFrom)));
        s.httpRounds.push(median(s.http.latencies.slice(httpFrom)));
        s.cpuMs += (await server.cpu()) - cpuFrom;
        s.cpuRequests += s.http.requests - requestsFrom;
      }
      log(`${engine}: round ${round}/${options.rounds} done`);
    }
    const day = scenarios.find((s) => s.key === 'day') ?? scenarios[0]!;
    const concurrent: HttpSamples = { latencies: [], requests: 0, seconds: 0, failures: 0 };
    await timeHttp(urlOf(day), server.token, Math.max(3, options.httpSeconds * 2), 8, concurrent);

    const failures = scenarios.reduce((n, s) => n + s.http.failures, concurrent.failures);
    if (failures) throw new Error(`${engine}: ${failures} requests failed`);

    const rows: Row[] = scenarios.map((s) => {
      const floorP50 = median(s.floorSamples);
      const httpP50 = median(s.http.latencies);
      return {
        key: s.key,
        label: s.label,
        query: s.query,
        sql: s.queries!.map((q) => shortenSql(q.sql)),
        rows: s.rows!,
        queries: s.queries!.length,
        floorP50,
        httpP50,
        httpReqPerSec: s.http.requests / s.http.seconds,
        httpOverFloor: httpP50 / floorP50,
        floorSamples: s.floorSamples.length,
        httpSamples: s.http.latencies.length,
        floorRounds: s.floorRounds,
        cpuPerRequest: s.cpuMs / s.cpuRequests,
        httpRounds: s.httpRounds,
      };
    });
    const row = (key: string) => rows.find((r) => r.key === key)!;
    const check = (what: string, ratio: number, target: number): Check => ({ what, ratio, target, met: ratio <= target });
    const checks = options.only ? [] : [
      check('one-day page: HTTP p50 / floor p50', row('day').httpOverFloor, 2),
      ...['voicemail', 'employee', 'tag', 'tag-rare', 'number', 'name'].map((k) =>
        check(`${row(k).label}: HTTP p50 / unfiltered 30 days HTTP p50`, row(k).httpP50 / row('month').httpP50, 3),
      ),
      check('limit 100: page 100 / page 1 (HTTP p50)', row('walk100-p100').httpP50 / row('walk100-p1').httpP50, 1.2),
      check('limit 1000: page 100 / page 1 (HTTP p50)', row('walk1000-p100').httpP50 / row('walk1000-p1').httpP50, 1.2),
    ];
    return {
      engine,
      version,
      settings,
      reused: prepared.reused,
      loadSeconds: prepared.loadSeconds,
      fixture,
      rows,
      throughput: { connections: 8, reqPerSec: concurrent.requests / concurrent.seconds, p50: median(concurrent.latencies) },
      checks,
    };
  } finally {
    await server?.stop();
    await pgClient?.end();
    await store.close();
    await prepared.drop();
  }
}

// ---------------------------------------------------------------- report

/** `in (?, ?, ... ?)` with a thousand placeholders, shortened for the report. */
function shortenSql(text: string): string {
  return text.replace(/((?:\?|\$\d+)(?:, (?:\?|\$\d+)){5,})/g, (list) => {
    const items = list.split(', ');
    return `${items[0]}, ${items[1]}, ... ${items[items.length - 1]} (${items.length} parameters)`;
  });
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const x = (v: number) => `${v.toFixed(2)}x`;

function markdown(results: EngineResult[], machine: Record<string, string | number>, options: Options, seconds: number): string {
  const lines = [
    '# GET /api/v2/calls on 1,000,000 calls',
    '',
    `Run ${machine.date}, by \`npm run bench\` (bench/calls-list.ts) in ${seconds.toFixed(0)} s. Machine-readable figures: bench/results.json.`,
    '',
    `Machine: ${machine.nproc} CPUs (nproc) ${machine.cpu}, ${machine.memoryGiB} GiB, load average ${machine.loadAverage} at the start; Node ${machine.node}; ${machine.platform}.`,
    '',
    `Data: \`createDemo(store, { seed: ${SEED}, calls: ${CALLS.toLocaleString('en-US')}, until: ${UNTIL_ISO} })\`, one account, 90 days of history.`,
    'Floor: the statements the store runs for the request (captured from the driver, the tags query included), sent straight',
    'through the driver in one process, plus `JSON.stringify` of the rows. HTTP: the API in a child process, driven by autocannon',
    `with one connection. Figures are medians over ${options.rounds} alternating rounds (about ${options.floorMs / 1000} s of floor and ${options.httpSeconds} s of HTTP`,
    'per scenario and round, after a warm-up). Times in milliseconds; req/s is for one connection. "Rounds" is the spread of',
    'HTTP / floor between rounds, to show the noise. "Ratio" is what each target is about: HTTP p50 over the floor for the one-day',
    'page, over the unfiltered 30-day page for each filter, page 100 over page 1 for the walks (pages followed through their tokens).',
    '',
    'Reproduce: `npm run bench` (about 7 minutes, 40 s more when the SQLite store in bench/data/ must be built; PostgreSQL at',
    `\`SIPSIM_BENCH_PG_URL\`, default ${PG_ADMIN_URL}).`,
    '',
  ];
  for (const r of results) {
    lines.push(
      `## ${r.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'} (${r.version})`,
      '',
      `${r.reused ? 'Store reused from an earlier run' : `Store loaded in ${r.loadSeconds?.toFixed(0)} s`}${
        r.engine === 'postgres' ? `${r.reused ? ' (VACUUM (ANALYZE) after its load)' : ', then VACUUM (ANALYZE)'}` : ''
      }. Settings: ${r.settings}.`,
      '',
      '| Scenario | Calls | Statements | Floor p50 | HTTP p50 | HTTP req/s | HTTP / floor | Rounds | Ratio | Target |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    const month = r.rows.find((row) => row.key === 'month')!;
    for (const row of r.rows) {
      let ratio = '';
      let target = '';
      if (row.key === 'day') {
        ratio = x(row.httpOverFloor);
        target = `HTTP / floor <= 2: ${row.httpOverFloor <= 2 ? 'met' : 'MISSED'}`;
      } else if (row.key === 'month') {
        target = 'baseline for the filters';
      } else if (row.key.startsWith('walk') && row.key.endsWith('p100')) {
        const first = r.rows.find((o) => o.key === row.key.replace('p100', 'p1'))!;
        const v = row.httpP50 / first.httpP50;
        ratio = x(v);
        target = `page 100 / page 1 <= 1.2: ${v <= 1.2 ? 'met' : 'MISSED'}`;
      } else if (row.key.startsWith('walk')) {
        target = 'page 1';
      } else {
        const v = row.httpP50 / month.httpP50;
        ratio = x(v);
        target = `/ 30 days unfiltered <= 3: ${v <= 3 ? 'met' : 'MISSED'}`;
      }
      const perRound = row.httpRounds.map((h, i) => h / row.floorRounds[i]!);
      const spread = `${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
      lines.push(
        `| ${row.label} | ${row.rows} | ${row.queries} | ${ms(row.floorP50)} | ${ms(row.httpP50)} | ${row.httpReqPerSec.toFixed(0)} | ${x(row.httpOverFloor)} | ${spread} | ${ratio} | ${target} |`,
      );
    }
    lines.push(
      '',
      `One day, 8 connections: ${r.throughput.reqPerSec.toFixed(0)} req/s, p50 ${ms(r.throughput.p50)} ms.`,
      '',
      `API process CPU per request (process.cpuUsage, user + system, over the timed one-connection requests): ${r.rows
        .map((row) => `${row.key} ${row.cpuPerRequest.toFixed(1)} ms`)
        .join(', ')}.`,
      '',
      `Targets: ${r.checks.filter((c) => c.met).length} of ${r.checks.length} met${
        r.checks.some((c) => !c.met) ? `; missed: ${r.checks.filter((c) => !c.met).map((c) => `${c.what} (${x(c.ratio)})`).join('; ')}` : ''
      }.`,
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const cpuList = cpus();
  const machine = {
    date: new Date().toISOString().slice(0, 19) + 'Z',
    nproc: availableParallelism(),
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((v) => v.toFixed(2)).join(' '),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  const results: EngineResult[] = [];
  for (const engine of options.engines) {
    log(`${engine}: starting`);
    results.push(await benchEngine(engine, options));
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.only) {
    // A partial run leaves the recorded figures alone: its table goes to stdout.
    process.stdout.write(`${markdown(results, machine, options, seconds)}\n`);
    return;
  }
  // Other sections (bench/load.ts, bench/faults.ts, the issue notes) follow this one, between their markers; keep them.
  const resultsPath = join(HERE, 'RESULTS.md');
  const previous = existsSync(resultsPath) ? readFileSync(resultsPath, 'utf8') : '';
  const others = previous.search(/<!-- [\w-]+: begin \(/);
  const kept = others >= 0 ? `\n${previous.slice(others)}` : '';
  writeFileSync(resultsPath, `${markdown(results, machine, options, seconds).trimEnd()}\n${kept}`);
  writeFileSync(
    join(HERE, 'results.json'),
    `${JSON.stringify({ machine, options, data: { seed: SEED, calls: CALLS, until: UNTIL_ISO }, seconds, results }, null, 2)}\n`,
  );
  for (const r of results) {
    for (const c of r.checks) log(`${r.engine}: ${c.met ? 'met   ' : 'MISSED'} ${c.what}: ${x(c.ratio)} (target ${c.target}x)`);
  }
  log(`wrote bench/RESULTS.md and bench/results.json in ${seconds.toFixed(0)} s`);
}

// ---------------------------------------------------------------- entry point; the child serves the API

if (process.argv[2] === '--serve') {
  const store = Store.open(process.argv[3]!);
  const app = buildApp({ store, config: { logLevel: 'silent', tokenTtlSeconds: 7200, bodyLimit: 1048576, rateLimit: { enabled: false } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  process.on('message', (m) => {
    if (m !== 'cpu') return;
    const usage = process.cpuUsage();
    process.send!({ cpu: (usage.user + usage.system) / 1000 });
  });
  process.on('disconnect', () => {
    void app
      .close()
      .then(() => store.close())
      .finally(() => process.exit(0));
  });
} else {
  await main();
}
