/**
 * GET /api/v2/calls on 1,000,000 and on 10,000,000 calls: does a page cost the
 * same when the account holds ten times the history?
 *
 *   npm run bench:scale [-- --engines sqlite,postgres] [--sizes 1m,10m] [--rounds 5]
 *                          [--samples 3] [--rebuild] [--no-storage]
 *
 * Each engine and size gets a store of one demo account over 90 days, made by
 * `sipsim demo` and kept in bench/data/ (SQLite) or in the database
 * sipsim_scale_<size> (PostgreSQL); see bench/support/scale-store.ts. Each is
 * served by `sipsim serve` (one process, rate limits off) on a port of its
 * own, and every scenario is timed over HTTP with a bearer token: the p50 of
 * all samples, taken over several rounds in which the sizes alternate, so that
 * what else runs on the machine weighs on both sizes alike.
 *
 * The figures are set against each other in the same run: a scenario at the
 * largest size over the same at the smallest (the aim: at most 1.3x), and each
 * search over the unfiltered page of the same store (the aim: at most 3x). For
 * a scenario that misses, the store's SQL is explained (bench/support/scale-plans.ts).
 *
 * Writes bench/scale-results.json (per engine, so that a run of one engine keeps
 * the other's figures) and the section "Scale: 1M and 10M calls" of bench/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Store } from '../src/store/store.js';
import { formatDateTime } from '../src/domain/time.js';
import { BENCH_DIR, Cleanup, ROOT, fixed, freePort, get, issueToken, log, machine, median, sleep, writeSection } from './support/deployment.js';
import { recentCallerDigits } from './support/search-fixture.js';
import { explainListCalls, type ExplainedStatement } from './support/scale-plans.js';
import { UNTIL, UNTIL_ISO, cliCommand, measureStorage, parseSize, prepareScaleStore, type Engine, type ScaleStore, type Storage } from './support/scale-store.js';

const DAY = 86400;
const RESULTS_JSON = join(BENCH_DIR, 'scale-results.json');
const GROWTH_TARGET = 1.3;
const SEARCH_TARGET = 3;
/** A filtered page slower than this many unfiltered ones is explained too, though no aim names it. */
const SLOW_BESIDE_UNFILTERED = 2;

/** The whole history, as a client that wants everything asks for it. */
const FULL = { start_time: formatDateTime(UNTIL - 90 * DAY), end_time: UNTIL_ISO };
/** A Wednesday, two days before the end of the history. */
const ONE_DAY = { start_time: '2026-11-25T00:00:00Z', end_time: '2026-11-25T23:59:59Z' };

// ---------------------------------------------------------------- options

interface Options {
  engines: Engine[];
  sizes: string[];
  rounds: number;
  samples: number;
  rebuild: boolean;
  storage: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      engines: { type: 'string', default: 'sqlite,postgres' },
      sizes: { type: 'string', default: '1m,10m' },
      rounds: { type: 'string', default: '5' },
      samples: { type: 'string', default: '3' },
      rebuild: { type: 'boolean', default: false },
      'no-storage': { type: 'boolean', default: false },
    },
  });
  const engines = values.engines.split(',');
  for (const e of engines) if (e !== 'sqlite' && e !== 'postgres') throw new Error(`--engines: unknown engine '${e}' (sqlite, postgres)`);
  const sizes = values.sizes.split(',');
  sizes.sort((a, b) => parseSize(a) - parseSize(b));
  const options: Options = {
    engines: engines as Engine[],
    sizes,
    rounds: Number(values.rounds),
    samples: Number(values.samples),
    rebuild: values.rebuild,
    storage: !values['no-storage'],
  };
  for (const [name, v] of [['--rounds', options.rounds], ['--samples', options.samples]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
  }
  return options;
}

// ---------------------------------------------------------------- the server

interface Served {
  store: ScaleStore;
  base: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** `sipsim serve` on the store, one process, rate limits off: the figure is one request's time, not a budget's. */
async function serve(cleanup: Cleanup, store: ScaleStore): Promise<Served> {
  const port = await freePort();
  const { command, args } = cliCommand(['serve', '--database', store.url, '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--log-level', 'warn']);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIPSIM_')));
  const child = spawn(command, args, { cwd: ROOT, env: { ...env, SIPSIM_RATE_LIMIT: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const gone = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  const stop = cleanup.add(`stop sipsim serve (${store.engine} ${store.size})`, async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
  });
  const started = performance.now();
  while (!output.includes('sipsim is serving')) {
    if (exited || performance.now() - started > 120_000) {
      await stop();
      throw new Error(`sipsim serve (${store.engine} ${store.size}) did not start:\n${output.slice(-2000)}`);
    }
    await sleep(100);
  }
  const base = `http://127.0.0.1:${port}`;
  const token = await issueToken(base, store.clientId, store.clientSecret);
  log(`${store.engine} ${store.size}: sipsim serve pid ${child.pid} on ${base}`);
  return { store, base, headers: { authorization: `Bearer ${token}` }, stop };
}

interface ListBody {
  data: Array<{ id: number }>;
  pagination: { count: number; page?: string; has_more: boolean };
}

async function timedGet(served: Served, query: Record<string, string>): Promise<{ ms: number; body: ListBody }> {
  const url = `${served.base}/api/v2/calls?${new URLSearchParams(query)}`;
  const t0 = performance.now();
  const reply = await get(url, served.headers, { timeoutMs: 120_000 });
  const ms = performance.now() - t0;
  if (reply.status !== 200) throw new Error(`GET ${url} answered ${reply.status}: ${reply.body.slice(0, 500)}`);
  return { ms, body: JSON.parse(reply.body) as ListBody };
}

// ---------------------------------------------------------------- scenarios

interface Fixture {
  employeeId: number;
  tagId: number;
  rareTagId: number;
  numberDigits: string;
  name: string;
}

/** The same choices in every store: the first employee, the tags Important and Spam (the rarest), a caller who really called. */
async function fixtureOf(store: ScaleStore): Promise<Fixture> {
  const s = Store.open(store.url);
  try {
    const employee = await s.db.selectFrom('employees').select('id').where('account_id', '=', store.accountId).orderBy('id').executeTakeFirstOrThrow();
    const tag = async (key: string) =>
      (await s.db.selectFrom('tags').select('id').where('account_id', '=', store.accountId).where('name_key', '=', key).executeTakeFirstOrThrow()).id;
    return {
      employeeId: employee.id,
      tagId: await tag('important'),
      rareTagId: await tag('spam'),
      // A caller of the day before the end.
      numberDigits: await recentCallerDigits(s.db, store.accountId, UNTIL - DAY),
      name: 'dupont',
    };
  } finally {
    await s.close();
  }
}

interface Scenario {
  key: string;
  label: string;
  /** The query per size (the fixtures, and page 100's token, differ between stores). */
  query: Map<string, Record<string, string>>;
}

const SCENARIOS: Array<{ key: string; label: (f: Fixture) => string; query: (f: Fixture) => Record<string, string> }> = [
  { key: 'unfiltered', label: () => '90 days, no filter (first page)', query: () => ({ ...FULL, limit: '1000' }) },
  { key: 'day', label: () => 'one day, limit 1000', query: () => ({ ...ONE_DAY, limit: '1000' }) },
  { key: 'missed', label: () => 'call_types=missed', query: () => ({ ...FULL, limit: '1000', call_types: 'missed' }) },
  { key: 'voicemail', label: () => 'call_types=voicemail', query: () => ({ ...FULL, limit: '1000', call_types: 'voicemail' }) },
  { key: 'employee', label: (f) => `employees=${f.employeeId}`, query: (f) => ({ ...FULL, limit: '1000', employees: String(f.employeeId) }) },
  { key: 'tag', label: (f) => `tags=${f.tagId} (Important)`, query: (f) => ({ ...FULL, limit: '1000', tags: String(f.tagId) }) },
  { key: 'tag-rare', label: (f) => `tags=${f.rareTagId} (Spam, the rarest)`, query: (f) => ({ ...FULL, limit: '1000', tags: String(f.rareTagId) }) },
  { key: 'number', label: (f) => `search=${f.numberDigits} (number)`, query: (f) => ({ ...FULL, limit: '1000', search: f.numberDigits }) },
  { key: 'name', label: (f) => `search=${f.name} (name)`, query: (f) => ({ ...FULL, limit: '1000', search: f.name }) },
  { key: 'page100', label: () => 'page 100 of the 90 days, limit 1000', query: () => ({ ...FULL, limit: '1000' }) },
];
const SEARCHES = ['number', 'name'];

/** The token of page 100, followed through the API from page 1. */
async function page100Token(served: Served, query: Record<string, string>): Promise<string> {
  let token: string | undefined;
  for (let page = 1; page < 100; page++) {
    const { body } = await timedGet(served, token ? { ...query, page: token } : query);
    if (!body.pagination.page) throw new Error(`the walk ended at page ${page}: fewer than 100 pages`);
    token = body.pagination.page;
  }
  return token!;
}

// ---------------------------------------------------------------- results

interface ScenarioResult {
  key: string;
  label: string;
  /** Per size: p50 of all samples (ms), rows on the page, every sample. */
  bySize: Record<string, { p50: number; rows: number; samples: number[]; query: Record<string, string> }>;
  growth: number | null;
  growthMet: boolean | null;
  /** Searches: p50 over the unfiltered page's p50, per size. */
  overUnfiltered?: Record<string, number>;
  searchMet?: boolean;
  plans?: Record<string, ExplainedStatement[]>;
}

interface EngineResult {
  engine: Engine;
  date: string;
  machine: ReturnType<typeof machine>;
  loadBefore: string;
  loadAfter: string;
  rounds: number;
  samplesPerRound: number;
  command: string;
  stores: Record<string, { calls: number; where: string; buildSeconds: number; vacuumSeconds?: number; buildCommand: string; buildFinished: string; buildLoadAtEnd: string; fixture: Fixture }>;
  storage: Record<string, Storage>;
  scenarios: ScenarioResult[];
}

async function benchEngine(engine: Engine, options: Options, cleanup: Cleanup): Promise<EngineResult> {
  const stores: ScaleStore[] = [];
  for (const size of options.sizes) stores.push(await prepareScaleStore(engine, size, options.rebuild));
  const loadBefore = loadavg().map((v) => v.toFixed(2)).join(' ');
  const fixtures = new Map<string, Fixture>();
  for (const s of stores) fixtures.set(s.size, await fixtureOf(s));
  const servers: Served[] = [];
  for (const s of stores) servers.push(await serve(cleanup, s));
  try {
    const scenarios: Scenario[] = SCENARIOS.map((def) => ({
      key: def.key,
      label: def.label(fixtures.get(options.sizes[0]!)!),
      query: new Map(options.sizes.map((size) => [size, def.query(fixtures.get(size)!)])),
    }));
    // Labels name the first store's fixture; a differing one at another size is said in the JSON queries.
    for (const served of servers) {
      const scenario = scenarios.find((s) => s.key === 'page100')!;
      const query = scenario.query.get(served.store.size)!;
      log(`${engine} ${served.store.size}: walking to page 100`);
      scenario.query.set(served.store.size, { ...query, page: await page100Token(served, query) });
    }
    const samples = new Map<string, number[]>();
    const rows = new Map<string, number>();
    // One request of each first, so that neither size is timed on a cold cache.
    for (const scenario of scenarios) for (const served of servers) await timedGet(served, scenario.query.get(served.store.size)!);
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const scenario of scenarios) {
        // Request by request from one size to the other, so that a burst of other work lands on both.
        for (let i = 0; i < options.samples; i++) {
          for (const served of order) {
            const id = `${scenario.key}@${served.store.size}`;
            const { ms, body } = await timedGet(served, scenario.query.get(served.store.size)!);
            (samples.get(id) ?? samples.set(id, []).get(id)!).push(ms);
            rows.set(id, body.pagination.count);
          }
        }
      }
      log(`${engine}: round ${round + 1}/${options.rounds} done (load ${loadavg()[0]!.toFixed(2)})`);
    }
    const smallest = options.sizes[0]!;
    const largest = options.sizes[options.sizes.length - 1]!;
    const results: ScenarioResult[] = scenarios.map((scenario) => {
      const bySize: ScenarioResult['bySize'] = {};
      for (const size of options.sizes) {
        const id = `${scenario.key}@${size}`;
        bySize[size] = { p50: median(samples.get(id)!), rows: rows.get(id)!, samples: samples.get(id)!.map((v) => Number(v.toFixed(2))), query: scenario.query.get(size)! };
      }
      const growth = smallest === largest ? null : bySize[largest]!.p50 / bySize[smallest]!.p50;
      return { key: scenario.key, label: scenario.label, bySize, growth, growthMet: growth === null ? null : growth <= GROWTH_TARGET };
    });
    const unfiltered = results.find((r) => r.key === 'unfiltered')!;
    for (const r of results.filter((x) => SEARCHES.includes(x.key))) {
      r.overUnfiltered = Object.fromEntries(options.sizes.map((size) => [size, r.bySize[size]!.p50 / unfiltered.bySize[size]!.p50]));
      r.searchMet = r.overUnfiltered[largest]! <= SEARCH_TARGET;
    }
    const loadAfter = loadavg().map((v) => v.toFixed(2)).join(' ');
    // The plans of what missed (or is slow beside the unfiltered page), at the largest size and at the smallest, to compare.
    const slow = (x: ScenarioResult) => x.bySize[largest]!.p50 / unfiltered.bySize[largest]!.p50 > SLOW_BESIDE_UNFILTERED;
    for (const r of results.filter((x) => x.growthMet === false || x.searchMet === false || slow(x))) {
      r.plans = {};
      for (const s of [...new Set([stores[stores.length - 1]!, stores[0]!])]) {
        log(`${engine} ${s.size}: explaining ${r.key}`);
        r.plans[s.size] = await explainListCalls(s.url, s.accountId, r.bySize[s.size]!.query);
      }
    }
    const storage: Record<string, Storage> = {};
    if (options.storage) {
      for (const s of stores) {
        log(`${engine} ${s.size}: measuring storage`);
        storage[s.size] = await measureStorage(s);
      }
    }
    return {
      engine,
      date: new Date().toISOString(),
      machine: machine(),
      loadBefore,
      loadAfter,
      rounds: options.rounds,
      samplesPerRound: options.samples,
      command: `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`.trim(),
      stores: Object.fromEntries(
        stores.map((s) => [
          s.size,
          {
            calls: s.calls,
            where: s.where,
            buildSeconds: s.build.seconds,
            vacuumSeconds: s.build.vacuum_seconds,
            buildCommand: s.build.command,
            buildFinished: s.build.finished_at,
            buildLoadAtEnd: s.build.load_at_end,
            fixture: fixtures.get(s.size)!,
          },
        ]),
      ),
      storage,
      scenarios: results,
    };
  } finally {
    for (const served of servers) await served.stop();
  }
}

// ---------------------------------------------------------------- report

/** Plan lines as they read, a long id list shortened. */
const clip = (plan: string[]) => plan.map((line) => (line.length > 240 ? `${line.slice(0, 240)}…` : line));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pct = (part: number, total: number) => `${((100 * part) / total).toFixed(1)}%`;

function engineMarkdown(r: EngineResult): string {
  const sizes = Object.keys(r.stores);
  const largest = sizes[sizes.length - 1]!;
  const smallest = sizes[0]!;
  const lines: string[] = [];
  lines.push(`## ${r.engine === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, '');
  lines.push(
    `Run ${r.date.slice(0, 16)}Z: \`${r.command}\`; ${r.machine.nproc} CPUs (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}; ` +
      `load average ${r.loadBefore} before, ${r.loadAfter} after; ${r.rounds} rounds × ${r.samplesPerRound} requests per scenario and size, sizes alternating.`,
    '',
  );
  lines.push('| Store | Calls | Where | Build (`sipsim demo`) |', '|---|---:|---|---|');
  for (const size of sizes) {
    const s = r.stores[size]!;
    const vacuum = s.vacuumSeconds !== undefined ? ` + VACUUM (ANALYZE) ${s.vacuumSeconds.toFixed(0)} s` : '';
    lines.push(`| ${size} | ${s.calls.toLocaleString('en')} | ${s.where} | ${s.buildSeconds.toFixed(0)} s${vacuum} (finished ${s.buildFinished.slice(11, 16)}Z, load ${s.buildLoadAtEnd}) |`);
  }
  lines.push('');
  const head = sizes.map((s) => `p50 ${s} (rows)`).join(' | ');
  const growthHead = sizes.length > 1 ? ` ${largest}/${smallest} (≤ ${GROWTH_TARGET}) |` : '';
  lines.push(`| Scenario | ${head} |${growthHead} search/unfiltered at ${largest} (≤ ${SEARCH_TARGET}) |`);
  lines.push(`|---|${sizes.map(() => '---:').join('|')}|${sizes.length > 1 ? '---:|' : ''}---:|`);
  for (const sc of r.scenarios) {
    const cells = sizes.map((size) => `${fixed(sc.bySize[size]!.p50)} ms (${sc.bySize[size]!.rows})`).join(' | ');
    const growth = sc.growth === null ? '' : ` ${fixed(sc.growth, 2)}x ${sc.growthMet ? 'met' : '**missed**'} |`;
    const search = sc.overUnfiltered ? `${fixed(sc.overUnfiltered[largest]!, 2)}x ${sc.searchMet ? 'met' : '**missed**'}` : '';
    lines.push(`| ${sc.label} | ${cells} |${growth} ${search} |`);
  }
  lines.push('');
  for (const size of Object.keys(r.storage)) {
    const st = r.storage[size]!;
    const indexBytes = st.parts.filter((p) => p.kind === 'index').reduce((sum, p) => sum + p.bytes, 0);
    lines.push(
      `Storage at ${size}: ${mib(st.totalBytes)}, **${st.bytesPerCall.toFixed(0)} bytes per call**, of which indexes ${pct(indexBytes, st.totalBytes)} (${st.how}).`,
      '',
    );
    lines.push('| Object | Kind | Of | Size | Share | Bytes per call |', '|---|---|---|---:|---:|---:|');
    for (const p of st.parts.filter((p) => p.bytes / st.totalBytes >= 0.001)) {
      lines.push(`| ${p.name} | ${p.kind} | ${p.of} | ${mib(p.bytes)} | ${pct(p.bytes, st.totalBytes)} | ${(p.bytes / r.stores[size]!.calls).toFixed(1)} |`);
    }
    lines.push('');
  }
  for (const sc of r.scenarios.filter((s) => s.plans)) {
    const missed = sc.growthMet === false || sc.searchMet === false;
    const times = sc.bySize[largest]!.p50 / r.scenarios.find((x) => x.key === 'unfiltered')!.bySize[largest]!.p50;
    lines.push(missed ? `### Missed: ${sc.label}` : `### Slow beside the unfiltered page (${fixed(times, 1)}x at ${largest}), no aim missed: ${sc.label}`, '');
    for (const [size, statements] of Object.entries(sc.plans!)) {
      for (const st of statements) {
        lines.push(`At ${size}, ${fixed(st.dbMs)} ms in the database alone${st.serialDbMs !== undefined ? ` (${fixed(st.serialDbMs)} ms with max_parallel_workers_per_gather = 0)` : ''}:`, '');
        if (st.serialPlan) lines.push('(the serial plan is in bench/scale-results.json)', '');
        lines.push('```', st.sql.replace(/\s+/g, ' ').replace(/^select .*? from "calls"/i, 'select … from "calls"').slice(0, 700), `-- parameters: ${JSON.stringify(st.parameters).slice(0, 200)}`, ...clip(st.plan), '```', '');
      }
    }
  }
  return lines.join('\n');
}

function readResults(): Partial<Record<Engine, EngineResult>> {
  if (!existsSync(RESULTS_JSON)) return {};
  try {
    return (JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as { engines: Partial<Record<Engine, EngineResult>> }).engines ?? {};
  } catch {
    return {};
  }
}

function printSummary(r: EngineResult): void {
  const sizes = Object.keys(r.stores);
  for (const sc of r.scenarios) {
    const cells = sizes.map((size) => `${size} ${fixed(sc.bySize[size]!.p50).padStart(7)} ms`).join('  ');
    const growth = sc.growth === null ? '' : `  ratio ${fixed(sc.growth, 2)}${sc.growthMet ? '' : ' MISSED'}`;
    const search = sc.overUnfiltered ? `  search/unfiltered ${sizes.map((s) => fixed(sc.overUnfiltered![s]!, 2)).join(' / ')}${sc.searchMet ? '' : ' MISSED'}` : '';
    process.stdout.write(`${r.engine.padEnd(8)} ${sc.key.padEnd(10)} ${cells}${growth}${search}\n`);
  }
  for (const [size, st] of Object.entries(r.storage)) process.stdout.write(`${r.engine.padEnd(8)} storage ${size}: ${st.bytesPerCall.toFixed(0)} bytes per call\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  try {
    const m = machine();
    log(`machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB, load average ${m.loadAverage}`);
    const results = readResults();
    for (const engine of options.engines) {
      const result = await benchEngine(engine, options, cleanup);
      results[engine] = result;
      printSummary(result);
      // Written after each engine, so that a run stopped part-way keeps what it measured.
      writeFileSync(RESULTS_JSON, `${JSON.stringify({ engines: results }, null, 2)}\n`);
      const sections = (['sqlite', 'postgres'] as const).filter((e) => results[e]).map((e) => engineMarkdown(results[e]!));
      writeSection(
        'scale',
        [
          '# Scale: 1M and 10M calls',
          '',
          'GET /api/v2/calls on one demo account of 90 days with 1,000,000 and with 10,000,000 calls, served by `sipsim serve` ' +
            'and timed over HTTP with a bearer token. Aims: each scenario at 10M within 1.3x of itself at 1M; number and name ' +
            'search within 3x of the unfiltered page. All windows are the 90 days but the one-day page. Figures: bench/scale-results.json.',
          '',
          ...sections,
        ].join('\n'),
      );
    }
  } finally {
    await cleanup.run();
  }
}

await main();
