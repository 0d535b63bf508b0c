/**
 * The stores bench/scale.ts reads: one demo account per engine and size, made
 * by `sipsim demo` (the CLI a user runs) and kept between runs, because a
 * 10,000,000-call store takes half an hour to build.
 *
 *   SQLite      bench/data/scale-<size>.db            (bench/data/ is gitignored)
 *   PostgreSQL  database sipsim_scale_<size>
 *
 * Next to each, bench/data/scale-<engine>-<size>.demo.json holds what
 * `sipsim demo --json` printed (the account and its client, whose secret is
 * shown only then) and .build.json how long the build took, so that a later
 * run reports the build time of the store it measures.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { BENCH_DIR, ROOT, connectAdmin, log } from './deployment.js';

export type Engine = 'sqlite' | 'postgres';

export const SEED = 1;
export const UNTIL_ISO = '2026-11-27T00:00:00Z';
export const UNTIL = Date.parse(UNTIL_ISO) / 1000;
const DATA_DIR = join(BENCH_DIR, 'data');
const PG_BASE_URL = process.env.SIPSIM_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** '1m' → 1,000,000; '100k' → 100,000. */
export function parseSize(size: string): number {
  const match = /^(\d+)([km])$/.exec(size);
  if (!match) throw new Error(`--sizes: '${size}' is not a size such as 100k, 1m or 10m`);
  return Number(match[1]) * (match[2] === 'k' ? 1_000 : 1_000_000);
}

export interface ScaleStore {
  engine: Engine;
  size: string;
  calls: number;
  url: string;
  /** Where the store is, for the report. */
  where: string;
  accountId: number;
  clientId: string;
  clientSecret: string;
  build: BuildRecord;
  reused: boolean;
}

export interface BuildRecord {
  seconds: number;
  rc: number;
  finished_at: string;
  load_at_end: string;
  command: string;
  /** PostgreSQL: the VACUUM (ANALYZE) after the load, as autovacuum would do, timed on its own. */
  vacuum_seconds?: number;
}

function databaseUrl(engine: Engine, size: string): string {
  if (engine === 'sqlite') return `sqlite:${join(DATA_DIR, `scale-${size}.db`)}`;
  const url = new URL(PG_BASE_URL);
  url.pathname = `/sipsim_scale_${size}`;
  return url.toString();
}

function sidecar(engine: Engine, size: string, kind: 'demo' | 'build'): string {
  return join(DATA_DIR, `scale-${engine}-${size}.${kind}.json`);
}

function demoArgs(url: string, calls: number): string[] {
  return ['demo', '--database', url, '--seed', String(SEED), '--calls', String(calls), '--until', UNTIL_ISO, '--json'];
}

function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The CLI from the sources (tsx), so that no build of dist/ is needed and src/ as it is now is what runs. */
export function cliCommand(args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args] };
}

async function runDemo(url: string, calls: number, outPath: string, logPath: string): Promise<number> {
  const { command, args } = cliCommand(demoArgs(url, calls));
  const out = openSync(outPath, 'w');
  const err = openSync(logPath, 'w');
  try {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', out, err] });
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? 1));
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

async function pgQuery<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function storeUsable(engine: Engine, url: string, accountId: number): Promise<boolean> {
  try {
    if (engine === 'sqlite') {
      const path = url.slice('sqlite:'.length);
      if (!existsSync(path)) return false;
      const db = new Database(path, { readonly: true, fileMustExist: true });
      try {
        return db.prepare('SELECT 1 FROM accounts WHERE id = ?').get(accountId) !== undefined;
      } finally {
        db.close();
      }
    }
    return (await pgQuery(url, 'SELECT 1 FROM accounts WHERE id = $1', [accountId])).length === 1;
  } catch {
    return false;
  }
}

/** The store for this engine and size: the kept one when it was built with today's arguments, else a new one. */
export async function prepareScaleStore(engine: Engine, size: string, rebuild: boolean): Promise<ScaleStore> {
  const calls = parseSize(size);
  const url = databaseUrl(engine, size);
  const where = engine === 'sqlite' ? url.slice('sqlite:'.length).replace(`${ROOT}/`, '') : `database sipsim_scale_${size}`;
  const demoPath = sidecar(engine, size, 'demo');
  const buildPath = sidecar(engine, size, 'build');
  const wanted = demoArgs(url, calls).join(' ');
  // What the data depends on (the URL may be spelled differently by whoever built it).
  const recipe = `--seed ${SEED} --calls ${calls} --until ${UNTIL_ISO}`;
  let demo = readJson<{ account_id: number; client_id: string; client_secret: string; calls: number }>(demoPath);
  let build = readJson<BuildRecord>(buildPath);
  const kept =
    !rebuild && demo !== null && build !== null && build.rc === 0 && build.command.includes(recipe) && demo.calls === calls && (await storeUsable(engine, url, demo.account_id));
  if (!kept) {
    mkdirSync(DATA_DIR, { recursive: true });
    if (engine === 'sqlite') {
      const path = url.slice('sqlite:'.length);
      for (const suffix of ['', '-wal', '-shm', '.lock']) rmSync(`${path}${suffix}`, { force: true });
    } else {
      const admin = await connectAdmin();
      try {
        await admin.query(`DROP DATABASE IF EXISTS sipsim_scale_${size} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE sipsim_scale_${size}`);
      } finally {
        await admin.end();
      }
    }
    log(`${engine} ${size}: building with \`sipsim ${wanted}\` (a 10m store takes about half an hour)`);
    const started = performance.now();
    const rc = await runDemo(url, calls, demoPath, buildPath.replace(/\.json$/, '.log'));
    build = {
      seconds: (performance.now() - started) / 1000,
      rc,
      finished_at: new Date().toISOString(),
      load_at_end: loadavg().map((v) => v.toFixed(2)).join(' '),
      command: `sipsim ${wanted}`,
    };
    writeFileSync(buildPath, `${JSON.stringify(build, null, 2)}\n`);
    if (rc !== 0) throw new Error(`sipsim demo exited with ${rc}: see ${buildPath.replace(/\.json$/, '.log')}`);
    demo = readJson(demoPath);
    if (!demo) throw new Error(`sipsim demo printed no JSON into ${demoPath}`);
    log(`${engine} ${size}: built in ${build.seconds.toFixed(0)} s`);
  } else {
    log(`${engine} ${size}: reusing ${where} (built in ${build!.seconds.toFixed(0)} s on ${build!.finished_at})`);
  }
  if (engine === 'postgres' && build!.vacuum_seconds === undefined) {
    // What autovacuum does some time after a bulk load: set the visibility map
    // (index-only scans) and the statistics. Timed apart from the load.
    log(`${engine} ${size}: VACUUM (ANALYZE)`);
    const started = performance.now();
    await pgQuery(url, 'VACUUM (ANALYZE)');
    build!.vacuum_seconds = (performance.now() - started) / 1000;
    writeFileSync(buildPath, `${JSON.stringify(build, null, 2)}\n`);
  }
  return {
    engine,
    size,
    calls,
    url,
    where,
    accountId: demo!.account_id,
    clientId: demo!.client_id,
    clientSecret: demo!.client_secret,
    build: build!,
    reused: kept,
  };
}

// ---------------------------------------------------------------- bytes on disk

export interface StoragePart {
  name: string;
  kind: 'table' | 'index';
  /** The table an index (or an FTS5 shadow table) belongs to. */
  of: string;
  bytes: number;
}

export interface Storage {
  totalBytes: number;
  bytesPerCall: number;
  parts: StoragePart[];
  how: string;
}

/** Bytes per object: SQLite's dbstat virtual table, PostgreSQL's relation sizes. */
export async function measureStorage(store: ScaleStore): Promise<Storage> {
  if (store.engine === 'sqlite') {
    const db = new Database(store.url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          `SELECT s.name AS name, SUM(s.pgsize) AS bytes, m.type AS type, m.tbl_name AS tbl
             FROM dbstat AS s LEFT JOIN sqlite_schema AS m ON m.name = s.name
            GROUP BY s.name ORDER BY bytes DESC`,
        )
        .all() as Array<{ name: string; bytes: number; type: string | null; tbl: string | null }>;
      const parts = rows.map((r) => ({
        name: r.name,
        // FTS5's shadow tables (calls_search_*) are the search index, whatever sqlite_schema calls them.
        kind: (r.type === 'index' || r.name.startsWith('sqlite_autoindex') || r.name.startsWith('calls_search') ? 'index' : 'table') as StoragePart['kind'],
        // FTS5 keeps its index in shadow tables named after the virtual table.
        of: r.name.startsWith('calls_search_') ? 'calls_search (FTS5)' : (r.tbl ?? r.name),
        bytes: Number(r.bytes),
      }));
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      const pages = db.pragma('page_count', { simple: true }) as number;
      const totalBytes = pageSize * pages;
      return { totalBytes, bytesPerCall: totalBytes / store.calls, parts, how: 'SELECT name, SUM(pgsize) FROM dbstat GROUP BY name; total = page_count * page_size' };
    } finally {
      db.close();
    }
  }
  const rows = await pgQuery<{ name: string; kind: string; of: string; bytes: string }>(
    store.url,
    `SELECT c.relname AS name,
            CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END AS kind,
            COALESCE(t.relname, c.relname) AS of,
            CASE c.relkind WHEN 'i' THEN pg_relation_size(c.oid) ELSE pg_table_size(c.oid) END AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indexrelid = c.oid
       LEFT JOIN pg_class t ON t.oid = i.indrelid
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i', 'm')
      ORDER BY bytes DESC`,
  );
  const parts = rows.map((r) => ({ name: r.name, kind: r.kind as StoragePart['kind'], of: r.of, bytes: Number(r.bytes) }));
  const totalBytes = parts.reduce((sum, p) => sum + p.bytes, 0);
  return {
    totalBytes,
    bytesPerCall: totalBytes / store.calls,
    parts,
    how: 'tables: pg_table_size (heap, TOAST, free space and visibility maps); indexes: pg_relation_size; total = their sum',
  };
}
