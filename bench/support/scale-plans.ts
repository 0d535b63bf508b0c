/**
 * The SQL behind one GET /api/v2/calls, and its plan: the store answers the
 * request's filter in this process while the driver's calls are recorded, then
 * each statement is explained (EXPLAIN QUERY PLAN on SQLite, EXPLAIN (ANALYZE,
 * BUFFERS) on PostgreSQL) and run once more on its own, timed, so that a slow
 * scenario can be told apart as slow in the database or slow around it.
 */
import type SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { parseListCallsQuery } from '../../src/domain/call-filters.js';
import { CursorCodec } from '../../src/domain/cursor.js';
import type { Connection } from '../../src/store/engine.js';
import { Store } from '../../src/store/store.js';

export interface Statement {
  sql: string;
  parameters: unknown[];
}

export interface ExplainedStatement {
  sql: string;
  parameters: unknown[];
  plan: string[];
  /** The statement alone through the driver, median of three, in ms. */
  dbMs: number;
  /** PostgreSQL: the same with max_parallel_workers_per_gather = 0, when the plan had a Gather. */
  serialPlan?: string[];
  serialDbMs?: number;
}

/** A page's id list runs to thousands of characters: a plan or a parameter keeps its start. */
const short = (text: string) => (text.length > 400 ? `${text.slice(0, 400)}…` : text);
const shortParameters = (parameters: unknown[]) => parameters.map((p) => (typeof p === 'string' ? short(p) : p));

function rawSqlite(store: Store): SqliteDatabase.Database {
  return (store as unknown as { conn: Connection }).conn.sqlite!;
}

/** Every statement the store sends to its driver while `action` runs. */
async function capture(store: Store, action: () => Promise<unknown>): Promise<Statement[]> {
  const statements: Statement[] = [];
  if (store.engine === 'sqlite') {
    // Kysely's SQLite driver prepares each statement, then calls all(), run(), get() or iterate() on it.
    const sqlite = rawSqlite(store);
    const prepare = sqlite.prepare;
    sqlite.prepare = function (this: SqliteDatabase.Database, source: string) {
      const statement = prepare.call(this, source);
      const entry: Statement = { sql: source, parameters: [] };
      statements.push(entry);
      return new Proxy(statement, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (key === 'all' || key === 'run' || key === 'get' || key === 'iterate') {
            return (...args: unknown[]) => {
              entry.parameters = (args.length === 1 && Array.isArray(args[0]) ? args[0] : args) as unknown[];
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    } as typeof sqlite.prepare;
    try {
      await action();
    } finally {
      sqlite.prepare = prepare;
    }
    return statements;
  }
  // Kysely's PostgreSQL driver calls client.query(sql, parameters) on a pooled pg.Client.
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === 'string') statements.push({ sql: args[0], parameters: (args[1] as unknown[]) ?? [] });
    return query.apply(this, args);
  };
  try {
    await action();
  } finally {
    proto.query = query;
  }
  return statements;
}

function median3(run: () => unknown): number {
  const times = [0, 1, 2].map(() => {
    const t0 = performance.now();
    run();
    return performance.now() - t0;
  });
  return times.sort((a, b) => a - b)[1]!;
}

async function median3Async(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[1]!;
}

/** The statements the store runs for this query of GET /api/v2/calls, explained. */
export async function explainListCalls(url: string, accountId: number, query: Record<string, string>): Promise<ExplainedStatement[]> {
  const store = Store.open(url);
  try {
    const parsed = parseListCallsQuery(query, accountId);
    let after: { startTime: number; id: number } | null = null;
    if (parsed.page) {
      const key = new CursorCodec(await store.credentials.cursorSecret()).decode(parsed.page, parsed.fingerprint, 2);
      if (typeof key === 'string') throw new Error(`page token refused: ${key}`);
      after = { startTime: key[0]!, id: key[1]! };
    }
    const statements = (await capture(store, () => store.calls.list(accountId, parsed.filter, parsed.limit, after))).filter((s) => /^\s*(select|with)\b/i.test(s.sql));
    const explained: ExplainedStatement[] = [];
    if (store.engine === 'sqlite') {
      const sqlite = rawSqlite(store);
      for (const s of statements) {
        const rows = sqlite.prepare(`EXPLAIN QUERY PLAN ${s.sql}`).all(...(s.parameters as unknown[])) as Array<{ id: number; parent: number; detail: string }>;
        // Indented as the sqlite3 shell draws it: each row under its parent.
        const depth = new Map<number, number>();
        const plan = rows.map((row) => {
          const d = row.parent === 0 ? 0 : (depth.get(row.parent) ?? 0) + 1;
          depth.set(row.id, d);
          return `${'  '.repeat(d)}${row.detail}`;
        });
        const statement = sqlite.prepare(s.sql);
        const dbMs = median3(() => statement.all(...(s.parameters as unknown[])));
        explained.push({ sql: s.sql, parameters: shortParameters(s.parameters), plan: plan.map(short), dbMs });
      }
      return explained;
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const s of statements) {
        const explain = async () =>
          (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${s.sql}`, s.parameters)).rows.map((r) => r['QUERY PLAN']);
        const plan = (await explain()).map(short);
        const dbMs = await median3Async(() => client.query(s.sql, s.parameters));
        const entry: ExplainedStatement = { sql: s.sql, parameters: shortParameters(s.parameters), plan, dbMs };
        if (plan.some((line) => line.includes('Gather'))) {
          await client.query('SET max_parallel_workers_per_gather = 0');
          entry.serialPlan = (await explain()).map(short);
          entry.serialDbMs = await median3Async(() => client.query(s.sql, s.parameters));
          await client.query('RESET max_parallel_workers_per_gather');
        }
        explained.push(entry);
      }
    } finally {
      await client.end();
    }
    return explained;
  } finally {
    await store.close();
  }
}
