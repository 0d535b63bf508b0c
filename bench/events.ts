/**
 * Live events, measured and checked: POST /api/v2/pbx/events with 50
 * connections, one event per request, three or two per call (start, answer,
 * end; or start and a missed end), taken in turn by whichever connection is
 * free, so that the events of one call race each other as a PBX's retries and
 * parallel senders make them. Then every call whose events were all answered
 * 202 is read back from the store and compared field by field with the call
 * those events describe: a call missing, or holding another call's or a
 * partial state, is a wrong call. Every accepted event must be stored once.
 *
 *   npm run bench:events [-- --engines sqlite,postgres] [--seconds 15] [--connections 50] [--rounds 1] [--root DIR]
 *
 * The server is `sipsim serve --workers 1` from the sources (tsx) of --root
 * (this tree by default; another worktree measures other code with the same
 * load), rate limits off. Its CPU time is read from /proc before and after the
 * load. Prints events/s, server CPU ms per event, the machine and load average.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { issueClient } from '../src/admin.js';
import { Store } from '../src/store/store.js';

const { values: args } = parseArgs({
  options: {
    engines: { type: 'string', default: 'sqlite,postgres' },
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '1' },
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    'cpu-prof': { type: 'string' },
  },
});
const ENGINES = args.engines!.split(',') as Array<'sqlite' | 'postgres'>;
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROOT = resolve(args.root!);
const ADMIN_URL = process.env.SIPSIM_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SALES_LINE = '+33198765432';
const EXTENSIONS = Array.from({ length: 12 }, (_, i) => 101 + i);
const log = (text: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);

/** The events of call number `c`: every fourth call is missed (no answer), the others answered. */
function callEvents(c: number): Array<Record<string, unknown>> {
  const pbx = `ev-${c}`;
  const t = Date.UTC(2026, 5, 2, 8, 0, 0) / 1000 + c;
  const caller = `+3361${String(c % 10_000_000).padStart(7, '0')}`;
  if (c % 4 === 3) {
    return [
      { event: 'incoming_call_start', pbx_id: pbx, caller, receiver: SALES_LINE, time: t },
      { event: 'incoming_call_end', pbx_id: pbx, caller, receiver: SALES_LINE, time: t + 20, duration: 0, status: 'NOANSWER' },
    ];
  }
  return [
    { event: 'incoming_call_start', pbx_id: pbx, caller, receiver: SALES_LINE, time: t },
    { event: 'incoming_call_answer', pbx_id: pbx, caller, receiver: String(EXTENSIONS[c % 12]), time: t + 5 },
    { event: 'incoming_call_end', pbx_id: pbx, caller, receiver: SALES_LINE, time: t + 65 + (c % 7), duration: 60 + (c % 7), status: 'ANSWER' },
  ];
}

/** What the store must hold for call `c` once all its events are in. */
function expected(c: number) {
  const t = Date.UTC(2026, 5, 2, 8, 0, 0) / 1000 + c;
  const missed = c % 4 === 3;
  return {
    caller_number: `+3361${String(c % 10_000_000).padStart(7, '0')}`,
    target_number: SALES_LINE,
    start_time: t,
    answered_time: missed ? null : t + 5,
    end_time: missed ? t + 20 : t + 65 + (c % 7),
    sip_code: missed ? 480 : 200,
    answered_phone_number: missed ? null : `+331987655${String(c % 12).padStart(2, '0')}`,
    events: missed ? 2 : 3,
  };
}

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in ticks of 1/100 s
}

async function startServer(url: string, dir: string, label: string) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const cliArgs = ['--import', 'tsx'];
  if (args['cpu-prof']) cliArgs.push('--cpu-prof', '--cpu-prof-dir', args['cpu-prof']);
  const child = spawn(process.execPath, [...cliArgs, join(ROOT, 'src/cli/main.ts'), 'serve', '--database', url, '--workers', '1', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIPSIM_'))), SIPSIM_RATE_LIMIT: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.on('exit', r));
  for (let i = 0; !output.includes('sipsim is serving'); i++) {
    if (i > 600 || child.exitCode !== null) throw new Error(`server ${label} did not start:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function post(agent: http.Agent, base: string, authorization: string, body: string): Promise<number> {
  return new Promise((resolvePost, reject) => {
    const request = http.request(
      `${base}/api/v2/pbx/events`,
      { method: 'POST', agent, headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolvePost(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function run(engine: 'sqlite' | 'postgres', round: number, dir: string) {
  let url: string;
  let dropDatabase = async () => {};
  if (engine === 'sqlite') url = `sqlite:${join(dir, `events-${round}.db`)}`;
  else {
    const name = `sipsim_bench_events_${round}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    url = u.toString();
    dropDatabase = async () => {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    };
  }
  const store = Store.open(url);
  await store.migrate();
  const account = await store.accounts.create({ name: 'Bench events', timezone: 'Europe/Paris' });
  await store.directory.createPhone(account.id, { number: SALES_LINE, name: 'Sales line' });
  for (const [i, extension] of EXTENSIONS.entries()) {
    const employee = await store.directory.createEmployee(account.id, { name: `Agent ${i}` });
    await store.directory.createPhone(account.id, { number: `+331987655${String(i).padStart(2, '0')}`, name: `Agent ${i}`, internalNumber: extension, employeeId: employee.id });
  }
  const { client, clientSecret } = await issueClient(store, account.id, { scopes: 'calls.write calls.read' });
  await store.close();
  const authorization = `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}`;

  const server = await startServer(url, dir, `${engine}-${round}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  // The queue of events: call after call, each call's events in order; each connection takes the next one.
  let current: { call: number; bodies: string[]; next: number } | null = null;
  let nextCall = 0;
  const take = () => {
    if (!current || current.next >= current.bodies.length) current = { call: nextCall, bodies: callEvents(nextCall++).map((e) => JSON.stringify(e)), next: 0 };
    return { call: current.call, body: current.bodies[current.next++]! };
  };
  const answered = new Map<number, { ok: number; other: number }>();
  const statuses: Record<string, number> = {};
  let stop = false;
  let sent = 0;
  const cpuBefore = cpuMs(server.pid);
  const load = loadavg().map((v) => v.toFixed(2)).join(' ');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (!stop) {
        const { call, body } = take();
        sent++;
        let status = 0;
        try {
          status = await post(agent, server.base, authorization, body);
        } catch {
          status = 0;
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        const a = answered.get(call) ?? { ok: 0, other: 0 };
        if (status === 202) a.ok++;
        else a.other++;
        answered.set(call, a);
      }
    }).concat([new Promise<void>((r) => setTimeout(() => ((stop = true), r()), SECONDS * 1000))]),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMs(server.pid) - cpuBefore;
  agent.destroy();
  await server.stop();

  // Check every call whose events were all taken.
  const check = Store.open(url);
  const rows = (await check.db
    .selectFrom('calls')
    .select(['pbx_id', 'caller_number', 'target_number', 'start_time', 'answered_time', 'end_time', 'sip_code', 'answered_phone_number'])
    .where('account_id', '=', account.id)
    .execute()) as Array<Record<string, unknown>>;
  const eventCounts = (await check.db
    .selectFrom('pbx_events')
    .select(['pbx_id', (eb) => eb.fn.countAll().as('n')])
    .where('account_id', '=', account.id)
    .groupBy('pbx_id')
    .execute()) as Array<{ pbx_id: string; n: number | string }>;
  await check.close();
  await dropDatabase();
  const byPbx = new Map(rows.map((r) => [r.pbx_id as string, r]));
  const eventsOf = new Map(eventCounts.map((r) => [r.pbx_id, Number(r.n)]));
  let complete = 0;
  let wrong = 0;
  let accepted = 0;
  const examples: string[] = [];
  for (const [call, a] of answered) {
    accepted += a.ok;
    const want = expected(call);
    const storedEvents = eventsOf.get(`ev-${call}`) ?? 0;
    if (storedEvents < a.ok) {
      wrong++;
      if (examples.length < 5) examples.push(`ev-${call}: ${a.ok} events taken, ${storedEvents} stored`);
      continue;
    }
    if (a.ok !== want.events) continue;
    complete++;
    const row = byPbx.get(`ev-${call}`);
    const got = row && Object.fromEntries(Object.keys(want).filter((k) => k !== 'events').map((k) => [k, row[k] === null ? null : k === 'answered_phone_number' || k.endsWith('number') ? row[k] : Number(row[k])]));
    const { events: _events, ...fields } = want;
    void _events;
    if (JSON.stringify(got) !== JSON.stringify(fields)) {
      wrong++;
      if (examples.length < 5) examples.push(`ev-${call}: want ${JSON.stringify(fields)} got ${JSON.stringify(got)}`);
    }
  }
  const result = {
    engine,
    round,
    seconds: Number(seconds.toFixed(1)),
    sent,
    statuses,
    eventsPerSecond: Math.round(accepted / seconds),
    serverCpuMsPerEvent: Number((cpu / Math.max(1, accepted)).toFixed(3)),
    serverCpuShare: Number((cpu / 1000 / seconds).toFixed(2)),
    callsComplete: complete,
    wrongCalls: wrong,
    loadAverageAtStart: load,
  };
  log(JSON.stringify(result));
  for (const e of examples) log(`  wrong: ${e}`);
  return result;
}

const dir = mkdtempSync(join(tmpdir(), 'sipsim-bench-events-'));
log(`machine: ${cpus().length} CPUs ${cpus()[0]?.model.trim()}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}, Node ${process.version}; code of ${ROOT}`);
try {
  for (let round = 1; round <= Number(args.rounds); round++) for (const engine of ENGINES) await run(engine, round, dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
