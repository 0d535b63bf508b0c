/**
 * Load on a real deployment: `sipsim serve --workers 2` (and `--workers 1` beside
 * it, for the comparison) from the built CLI, on a fresh PostgreSQL database
 * with demo data, driven over HTTP by autocannon with many connections.
 *
 *   npm run bench:load [-- --calls 200000 --connections 200 --seconds 60 --rounds 3]
 *
 * Needs PostgreSQL (SIPSIM_BENCH_DATABASE_URL, an admin connection that may
 * create databases; default postgres://postgres@127.0.0.1:5432/postgres) and a
 * built CLI (`npm run build`). Rate limits are off in the servers it starts.
 *
 * The main run is `--seconds` of GET /api/v2/calls on the two-worker server,
 * with the memory of each process sampled every 2 s. Then, in alternating
 * rounds on both servers, the same load and two floors through the same
 * stack: GET /health/live (HTTP and Fastify, no store) and GET /api/v2/account
 * (plus the token lookup and one small query). The machine is shared and
 * noisy, so the figures that carry over are the ratios within a round, and the
 * CPU time each request cost each process, read from /proc.
 *
 * Writes its section of bench/RESULTS.md and the `load` key of
 * bench/load-results.json. The database, the servers and their logs are
 * removed at the end, whatever happens.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import type pg from 'pg';
import {
  ADMIN_URL,
  Cleanup,
  checkBuild,
  connectAdmin,
  fixed,
  freshDatabase,
  issueToken,
  loadDemo,
  loggedRequests,
  log,
  machine,
  median,
  memoryTrend,
  percentile,
  printable,
  random,
  Sampler,
  startServer,
  tempDir,
  writeJson,
  writeSection,
  type QueryPool,
  type Server,
  buildQueryPool,
} from './support/deployment.js';

interface Options {
  calls: number;
  connections: number;
  seconds: number;
  rounds: number;
  roundSeconds: number;
  floorSeconds: number;
  logLevel: string;
  keepLogs: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200000' },
      connections: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '60' },
      rounds: { type: 'string', default: '3' },
      'round-seconds': { type: 'string', default: '15' },
      'floor-seconds': { type: 'string', default: '5' },
      'log-level': { type: 'string', default: 'info' },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run bench:load -- [--calls N] [--connections N] [--seconds N] [--rounds N] [--round-seconds N] [--floor-seconds N] [--log-level info] [--keep-logs]\n',
    );
    process.exit(0);
  }
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}`);
    return n;
  };
  return {
    calls: int('calls', values.calls, 1000),
    connections: int('connections', values.connections, 1),
    seconds: int('seconds', values.seconds, 20),
    rounds: int('rounds', values.rounds, 0),
    roundSeconds: int('round-seconds', values['round-seconds'], 3),
    floorSeconds: int('floor-seconds', values['floor-seconds'], 2),
    logLevel: values['log-level'],
    keepLogs: values['keep-logs'],
  };
}

// ---------------------------------------------------------------- one phase of load

type Kind = 'calls' | 'account' | 'live';

interface Phase {
  server: string;
  workers: number;
  kind: Kind;
  seconds: number;
  connections: number;
  /** 2xx answers. */
  ok: number;
  reqPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  errorMessages: Record<string, number>;
  /** CPU milliseconds per 2xx request, by process group, from /proc. */
  cpuMsPerRequest: { server: number; postgres: number; loadGenerator: number; rest: number };
  /** Share of the machine's CPU (all cores) that was busy, and the share used by processes outside this run. */
  machineBusy: number;
  othersBusy: number;
  maxDatabaseConnections: number;
}

const PATHS: Record<Exclude<Kind, 'calls'>, string> = { live: '/health/live', account: '/api/v2/account' };

async function drive(
  server: Server,
  token: string,
  kind: Kind,
  seconds: number,
  connections: number,
  pool: QueryPool,
  sampler: Sampler,
  seed: number,
): Promise<Phase> {
  const rand = random(seed);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const errorMessages: Record<string, number> = {};
  await sampler.sample();
  const instance = autocannon({
    url: server.base,
    connections,
    duration: seconds,
    timeout: 30,
    headers: { authorization: `Bearer ${token}` },
    requests: [
      kind === 'calls'
        ? { method: 'GET', setupRequest: (request) => ({ ...request, path: pool.next(rand) }) }
        : { method: 'GET', path: PATHS[kind] },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  instance.on('reqError', (error: Error) => {
    const key = (error as { code?: string }).code ?? error.message;
    errorMessages[key] = (errorMessages[key] ?? 0) + 1;
  });
  const result = await instance;
  await sampler.sample();
  latencies.sort((a, b) => a - b);
  const ok = result['2xx'];
  const cpu = sampler.cpuUsed();
  const perRequest = (s: number) => (s * 1000) / Math.max(1, ok);
  const cores = machine().nproc;
  const phase: Phase = {
    server: server.label,
    workers: server.workers,
    kind,
    seconds: result.duration,
    connections,
    ok,
    reqPerSec: ok / result.duration,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    errorMessages,
    cpuMsPerRequest: {
      server: perRequest(cpu.server),
      postgres: perRequest(cpu.postgres),
      loadGenerator: perRequest(cpu.bench),
      rest: perRequest(cpu.machine - cpu.server - cpu.postgres - cpu.bench),
    },
    machineBusy: cpu.machine / (cpu.seconds * cores),
    othersBusy: (cpu.machine - cpu.server - cpu.postgres - cpu.bench) / (cpu.seconds * cores),
    maxDatabaseConnections: sampler.maxBackends,
  };
  const failed = Object.entries(statuses).filter(([s]) => !s.startsWith('2'));
  log(
    `${server.label} ${kind}: ${fixed(phase.reqPerSec, 0)} req/s, p50 ${fixed(phase.p50)} ms, p99 ${fixed(phase.p99)} ms, ` +
      `non-2xx ${failed.map(([s, n]) => `${s}x${n}`).join(' ') || 0}, errors ${phase.errors}, machine ${fixed(phase.machineBusy * 100, 0)}% busy`,
  );
  return phase;
}

function failures(phase: Phase): number {
  return phase.errors + Object.entries(phase.statuses).reduce((n, [s, c]) => n + (s.startsWith('2') ? 0 : c), 0);
}

// ---------------------------------------------------------------- report

function report(data: {
  machine: ReturnType<typeof machine>;
  options: Options;
  database: { version: string; maxConnections: number; calls: number; loadSeconds: number };
  pool: QueryPool;
  main: Phase;
  memory: ReturnType<typeof memoryTrend>;
  memorySamples: number;
  wholeRun: ReturnType<typeof memoryTrend>;
  wholeRunSeconds: number;
  rounds: Array<Phase & { round: number }>;
  perWorker: Record<string, number>;
  seconds: number;
}): string {
  const { main, options } = data;
  const med = (server: string, kind: Kind, pick: (p: Phase) => number) =>
    median(data.rounds.filter((p) => p.server === server && p.kind === kind).map(pick));
  const rps = (server: string, kind: Kind) => med(server, kind, (p) => p.reqPerSec);
  const ratioInRounds = (fn: (round: Phase[]) => number) => {
    const values: number[] = [];
    for (let r = 0; r < options.rounds; r++) values.push(fn(data.rounds.filter((p) => p.round === r)));
    return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
  };
  const byRound = (round: Phase[], server: string, kind: Kind) => round.find((p) => p.server === server && p.kind === kind)!.reqPerSec;
  const scaling = ratioInRounds((r) => byRound(r, 'workers-2', 'calls') / byRound(r, 'workers-1', 'calls'));
  const scalingLive = ratioInRounds((r) => byRound(r, 'workers-2', 'live') / byRound(r, 'workers-1', 'live'));
  const range = (v: { median: number; min: number; max: number }) => `${v.median.toFixed(2)}x (rounds ${v.min.toFixed(2)}-${v.max.toFixed(2)})`;
  /** CPU cores each part kept busy on average: CPU ms per request times requests per second. */
  const cores = (p: Phase) =>
    [p.cpuMsPerRequest.server, p.cpuMsPerRequest.postgres, p.cpuMsPerRequest.loadGenerator].map((ms) => fixed((ms * p.reqPerSec) / 1000, 2)).join(' / ');
  const statusText = (p: Phase) =>
    Object.entries(p.statuses)
      .map(([s, n]) => `${s}: ${n}`)
      .join(', ');
  const lines = [
    '# A deployment under load: `sipsim serve --workers 2` on PostgreSQL',
    '',
    `Run ${data.machine.date} by \`npm run bench:load\` (bench/load.ts) in ${data.seconds.toFixed(0)} s. Machine-readable figures: bench/load-results.json (key \`load\`).`,
    '',
    `Machine: ${data.machine.nproc} CPUs ${data.machine.cpu}, ${data.machine.memoryGiB} GiB, load average ${data.machine.loadAverage} at the start; Node ${data.machine.node}. ` +
      'The load generator (autocannon), the API processes and PostgreSQL share these cores, and other work ran on the machine at the same time: ' +
      'the "machine busy" and "others" columns say how much.',
    '',
    `Data: a fresh database on PostgreSQL ${data.database.version} (max_connections=${data.database.maxConnections}), \`sipsim demo --calls ${data.database.calls} --seed 1\` ` +
      `(90 days, one account), then VACUUM (ANALYZE); ${data.database.loadSeconds.toFixed(0)} s in all.`,
    '',
    `Servers: \`node dist/cli/main.js serve --workers 2\` and \`--workers 1\`, both up for the whole run, SIPSIM_RATE_LIMIT=off, ` +
      `--log-level ${options.logLevel} (one JSON line per request, to a file), the store's default pool of 10 connections per process. ` +
      '"DB connections" and PostgreSQL CPU count only the connections of the server under load (told apart by their application_name).',
    '',
    `Requests: GET /api/v2/calls with ${data.pool.description}. Seeded, so every run sends the same mix.`,
    '',
    `## Main run: ${options.connections} connections for ${options.seconds} s on --workers 2`,
    '',
    '| req/s | p50 ms | p90 ms | p99 ms | max ms | statuses | errors | DB connections (max) | cores used: API / PostgreSQL / load generator | machine busy | others |',
    '|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|',
    `| ${fixed(main.reqPerSec, 0)} | ${fixed(main.p50)} | ${fixed(main.p90)} | ${fixed(main.p99)} | ${fixed(main.max, 0)} | ${statusText(main)} | ${main.errors} | ${main.maxDatabaseConnections} | ${cores(main)} | ${fixed(main.machineBusy * 100, 0)}% | ${fixed(main.othersBusy * 100, 0)}% |`,
    '',
    `Requests served per worker (from the server's log): ${Object.entries(data.perWorker)
      .map(([pid, n]) => `pid ${pid}: ${n}`)
      .join(', ')}.`,
    '',
    `CPU per request (ms, from /proc): API processes ${fixed(main.cpuMsPerRequest.server, 2)}, PostgreSQL backends ${fixed(main.cpuMsPerRequest.postgres, 2)}, ` +
      `load generator ${fixed(main.cpuMsPerRequest.loadGenerator, 2)}, everything else on the machine ${fixed(main.cpuMsPerRequest.rest, 2)}.`,
    '',
    `Memory (RSS, MiB, sampled every 2 s, ${data.memorySamples} samples):`,
    '',
    '| process | first 10 s | last 10 s | min | max |',
    '|---|---:|---:|---:|---:|',
    ...data.memory.map((m) => `| ${m.process} | ${fixed(m.firstMiB)} | ${fixed(m.lastMiB)} | ${fixed(m.minMiB)} | ${fixed(m.maxMiB)} |`),
    '',
    `The same processes over ${fixed(data.wholeRunSeconds, 0)} s, from the start of the main run to the end of the rounds below (under load most of the time; sampled every 5 s):`,
    '',
    '| process | first 10 s | last 10 s | min | max |',
    '|---|---:|---:|---:|---:|',
    ...data.wholeRun.map((m) => `| ${m.process} | ${fixed(m.firstMiB)} | ${fixed(m.lastMiB)} | ${fixed(m.minMiB)} | ${fixed(m.maxMiB)} |`),
    '',
  ];
  if (data.rounds.length) {
    lines.push(
      `## Floors and 1 vs 2 workers: ${options.rounds} alternating rounds, ${options.connections} connections`,
      '',
      `Each round: /health/live for ${options.floorSeconds} s, /api/v2/account for ${options.floorSeconds} s and the calls mix for ${options.roundSeconds} s, on each server in turn. Medians over the rounds.`,
      '',
      '| server | endpoint | req/s | p50 ms | p99 ms | API CPU ms/req | PostgreSQL CPU ms/req | load generator CPU ms/req | API cores used | machine busy | non-2xx + errors |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const server of ['workers-2', 'workers-1']) {
      for (const kind of ['live', 'account', 'calls'] as Kind[]) {
        const m = (pick: (p: Phase) => number) => med(server, kind, pick);
        const bad = data.rounds.filter((p) => p.server === server && p.kind === kind).reduce((n, p) => n + failures(p), 0);
        lines.push(
          `| --${server.replace('-', ' ')} | ${kind === 'calls' ? 'GET /api/v2/calls (mix)' : `GET ${PATHS[kind]}`} | ${fixed(m((p) => p.reqPerSec), 0)} | ${fixed(m((p) => p.p50))} | ${fixed(m((p) => p.p99))} | ` +
            `${fixed(m((p) => p.cpuMsPerRequest.server), 2)} | ${fixed(m((p) => p.cpuMsPerRequest.postgres), 2)} | ${fixed(m((p) => p.cpuMsPerRequest.loadGenerator), 2)} | ` +
            `${fixed(m((p) => (p.cpuMsPerRequest.server * p.reqPerSec) / 1000), 2)} | ${fixed(m((p) => p.machineBusy * 100), 0)}% | ${bad} |`,
        );
      }
    }
    lines.push(
      '',
      'Ratios (req/s, within each round, then the median):',
      '',
      `- calls mix / /health/live: ${fixed(rps('workers-2', 'calls') / rps('workers-2', 'live'), 3)} on --workers 2, ${fixed(rps('workers-1', 'calls') / rps('workers-1', 'live'), 3)} on --workers 1`,
      `- calls mix / /api/v2/account: ${fixed(rps('workers-2', 'calls') / rps('workers-2', 'account'), 2)} on --workers 2, ${fixed(rps('workers-1', 'calls') / rps('workers-1', 'account'), 2)} on --workers 1`,
      `- --workers 2 / --workers 1, calls mix: ${range(scaling)}`,
      `- --workers 2 / --workers 1, /health/live: ${range(scalingLive)}`,
      '',
    );
  }
  lines.push(
    `Reproduce: \`npm run bench:load\` (about ${Math.ceil(data.seconds / 60)} minutes; PostgreSQL at SIPSIM_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres; \`npm run build\` first).`,
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions();
  const started = performance.now();
  const at = machine();
  process.stderr.write(
    [
      'bench/load.ts needs:',
      `  PostgreSQL admin connection: ${printable(ADMIN_URL)} (SIPSIM_BENCH_DATABASE_URL); a database is created and dropped`,
      '  the built CLI: dist/cli/main.js (npm run build)',
      `  about ${Math.ceil((options.seconds + options.rounds * 2 * (2 * options.floorSeconds + options.roundSeconds) + 90) / 60)} minutes`,
      '',
    ].join('\n'),
  );
  checkBuild();
  const cleanup = new Cleanup();
  let failed = false;
  let admin: pg.Client | null = null;
  try {
    const db = await freshDatabase(cleanup, 'sipsim_load');
    const demo = await loadDemo(db, options.calls);
    const dir = tempDir(cleanup, 'sipsim-load', () => failed || options.keepLogs);
    const env = { SIPSIM_RATE_LIMIT: 'off' };
    const two = await startServer(cleanup, { label: 'workers-2', databaseUrl: db.url, workers: 2, env, logLevel: options.logLevel, dir });
    const one = await startServer(cleanup, { label: 'workers-1', databaseUrl: db.url, workers: 1, env, logLevel: options.logLevel, dir });
    const token = await issueToken(two.base, demo.clientId, demo.clientSecret);
    const pool = await buildQueryPool(two.base, token, demo.until, { days: 20, pagesPerWalk: 5 });
    log(pool.description);
    admin = await connectAdmin();

    log('warming up both servers');
    for (const server of [two, one]) {
      await drive(server, token, 'calls', 10, options.connections, pool, new Sampler(server, null, db.name), 1);
    }

    log(`main run: ${options.connections} connections for ${options.seconds} s on --workers 2`);
    const sampler = new Sampler(two, admin, db.name).start();
    // Memory over the whole rest of the run too, rounds included, for a longer view than the main run's.
    const longMemory = new Sampler(two, null, db.name, 5000).start();
    const logFrom = loggedRequests(two.logPath).length;
    const main = await drive(two, token, 'calls', options.seconds, options.connections, pool, sampler, 2);
    sampler.stop();
    const perWorker: Record<string, number> = {};
    for (const entry of loggedRequests(two.logPath).slice(logFrom)) perWorker[entry.pid] = (perWorker[entry.pid] ?? 0) + 1;
    const memory = memoryTrend(sampler.memory, 10);
    for (const m of memory) log(`RSS ${m.process}: first 10 s ${fixed(m.firstMiB)} MiB, last 10 s ${fixed(m.lastMiB)} MiB`);

    const rounds: Array<Phase & { round: number }> = [];
    for (let round = 0; round < options.rounds; round++) {
      log(`round ${round + 1}/${options.rounds}`);
      for (const server of [two, one]) {
        for (const [kind, seconds] of [
          ['live', options.floorSeconds],
          ['account', options.floorSeconds],
          ['calls', options.roundSeconds],
        ] as Array<[Kind, number]>) {
          const phaseSampler = new Sampler(server, admin, db.name).start();
          const phase = await drive(server, token, kind, seconds, options.connections, pool, phaseSampler, 100 + round);
          phaseSampler.stop();
          rounds.push({ ...phase, round });
        }
      }
    }

    await longMemory.sample();
    longMemory.stop();
    const wholeRun = memoryTrend(longMemory.memory, 10);
    const wholeRunSeconds = longMemory.memory[longMemory.memory.length - 1]?.t ?? 0;
    for (const server of [two, one]) {
      const { code, signal } = await server.stop();
      log(`${server.label}: stopped (exit ${code ?? signal})`);
    }

    const seconds = (performance.now() - started) / 1000;
    const result = {
      machine: at,
      options,
      database: { version: db.serverVersion, maxConnections: db.maxConnections, calls: demo.calls, loadSeconds: demo.loadSeconds },
      pool,
      main,
      memory,
      memorySamples: sampler.memory.length,
      wholeRun,
      wholeRunSeconds,
      rounds,
      perWorker,
      seconds,
    };
    writeSection('load', report(result));
    writeJson('load', {
      ...result,
      pool: { description: pool.description, shapes: pool.shapes, days: pool.days, pagesPerWalk: pool.pagesPerWalk, sample: pool.walks.slice(0, 3) },
      memorySeries: sampler.memory,
      wholeRunMemorySeries: longMemory.memory,
    });
    const bad = failures(main) + rounds.reduce((n, p) => n + failures(p), 0);
    log(`wrote bench/RESULTS.md (section "load") and bench/load-results.json; ${bad} failed requests`);
    if (bad) {
      failed = true;
      process.exitCode = 1;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    await admin?.end().catch(() => {});
    await cleanup.run();
  }
}

main().catch((error: unknown) => {
  // The stack only on request: the messages say what to do.
  const detail = error instanceof Error ? (process.env.SIPSIM_BENCH_DEBUG ? (error.stack ?? error.message) : error.message) : String(error);
  process.stderr.write(`bench/load.ts: ${detail}\n`);
  process.exit(1);
});
