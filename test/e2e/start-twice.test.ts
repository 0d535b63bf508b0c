import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { DEMO_ACCOUNT_NAME } from '../../src/demo/seed.js';
import { Store } from '../../src/store/store.js';
import { describeEngines, createTestDatabase, type TestDatabase } from '../helpers/engines.js';
import { CLI, run, scratchDir } from '../helpers/programs.js';

/**
 * Two `sipsim` processes started at the same moment on a fresh store, as two
 * `npm start` in two terminals: migrations run once, the demo account is made
 * once, and a process whose port is taken stops before building demo data.
 */

interface Child {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const children: Child[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function start(args: string[], cwd: string): Child {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, SIPSIM_LOG_LEVEL: 'warn', SIPSIM_RATE_LIMIT: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const c = { child, output: () => output, exited };
  children.push(c);
  return c;
}

/** Resolves once the process prints what `pattern` matches, or fails with its output if it exits first. */
async function printed(c: Child, pattern: RegExp): Promise<RegExpExecArray> {
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (pattern.test(c.output())) return resolve();
      if (c.child.exitCode !== null) return reject(new Error(`exited with ${c.child.exitCode} before printing ${pattern}:\n${c.output()}`));
    };
    c.child.stdout!.on('data', check);
    c.child.stderr!.on('data', check);
    c.child.on('exit', check);
    check();
  });
  return pattern.exec(c.output())!;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

const SERVING = /^sipsim is serving \S+ at (http:\/\/127\.0\.0\.1:\d+)$/m;
const CREATING = /Creating demo data/g;

describeEngines('starting twice at once', (engine) => {
  async function fresh(): Promise<{ database: TestDatabase; cwd: string }> {
    const database = await createTestDatabase(engine);
    const scratch = scratchDir('sipsim-twice-');
    cleanups.push(() => database.drop(), () => scratch.remove());
    return { database, cwd: scratch.path };
  }

  it('two `sipsim migrate` on a fresh store both succeed, and each migration is applied once', async () => {
    for (let round = 0; round < 3; round++) {
      const { database, cwd } = await fresh();
      const results = await Promise.all([0, 1].map(() => run(process.execPath, [CLI, 'migrate', '--json', '--database', database.url], { cwd, timeoutMs: 60_000 })));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const applied = results.map((r) => JSON.parse(r.stdout).applied as string[]);
      // One of them applied everything, the other found nothing left to do.
      expect(applied.map((a) => a.length).sort()).toEqual([0, applied.flat().length]);
      const store = Store.open(database.url);
      try {
        const rows = await store.db.selectFrom('schema_migrations' as never).select('name' as never).execute();
        expect(rows).toHaveLength(applied.flat().length);
        expect(await store.pendingMigrations()).toEqual([]);
      } finally {
        await store.close();
      }
    }
  });

  it('two `serve --demo` on other ports: both serve, one demo account, the same credentials', async () => {
    const { database, cwd } = await fresh();
    const args = ['serve', '--demo', '--demo-calls', '300', '--port', '0', '--database', database.url];
    const [a, b] = [start(args, cwd), start(args, cwd)];
    await Promise.all([printed(a!, SERVING), printed(b!, SERVING)]);
    await Promise.all([printed(a!, /client_secret:/), printed(b!, /client_secret:/)]);
    expect([a!, b!].map((c) => c.output().match(CREATING)?.length ?? 0).sort()).toEqual([0, 1]);
    const clientIds = [a!, b!].map((c) => /client_id:\s+(\S+)/.exec(c.output())![1]);
    expect(clientIds[0]).toBe(clientIds[1]);
    const store = Store.open(database.url);
    try {
      const accounts = await store.listAccounts();
      expect(accounts.map((x) => x.name)).toEqual([DEMO_ACCOUNT_NAME]);
      const calls = await store.db.selectFrom('calls').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(calls.n)).toBe(300);
    } finally {
      await store.close();
    }
  });

  it('two `serve --demo` on the same port: one serves, the other stops before making any demo data', async () => {
    const { database, cwd } = await fresh();
    const port = String(await freePort());
    const args = ['serve', '--demo', '--demo-calls', '300', '--port', port, '--database', database.url];
    const [a, b] = [start(args, cwd), start(args, cwd)];
    const first = await Promise.race([a!.exited.then(() => a!), b!.exited.then(() => b!)]);
    const other = first === a ? b! : a!;
    expect(await first.exited, first.output()).toBe(1);
    expect(first.output()).toMatch(new RegExp(`port ${port} .*in use|EADDRINUSE.*${port}`));
    expect(first.output()).not.toMatch(CREATING);
    await printed(other, SERVING);
    await printed(other, /client_secret:/);
    const store = Store.open(database.url);
    try {
      expect((await store.listAccounts()).map((x) => x.name)).toEqual([DEMO_ACCOUNT_NAME]);
    } finally {
      await store.close();
    }
  });
});
