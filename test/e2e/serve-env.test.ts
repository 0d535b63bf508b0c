import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, engineAvailable, PG_ADMIN_URL } from '../helpers/engines.js';
import { CLI, run, scratchDir } from '../helpers/programs.js';

/** `PORT` as the README lists it, and store connection failures that say where and why. */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise((done) => probe.close(done));
  return port;
}

describe('sipsim serve and the environment', () => {
  it('listens on PORT when neither --port nor SIPSIM_PORT is given', async () => {
    const scratch = scratchDir('sipsim-port-');
    cleanups.push(() => scratch.remove());
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--database', `sqlite:${scratch.path}/s.db`], {
      env: { ...process.env, PORT: String(port), SIPSIM_PORT: undefined, SIPSIM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise((done) => child.on('exit', done));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    const serving = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /sipsim is serving \S+ at (\S+)/.exec(output);
        if (m) resolve(m[1]!);
      };
      child.stdout!.setEncoding('utf8').on('data', (d: string) => ((output += d), check()));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
      child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
    });
    expect(serving).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`${serving}/health/live`)).status).toBe(200);
  });
});

describe.skipIf(!engineAvailable('postgres'))('a PostgreSQL store that cannot be reached', () => {
  const admin = new URL(PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const attempt = async (url: URL, args = ['accounts', 'list']) => {
    const result = await run(process.execPath, [CLI, ...args, '--database', url.toString()], { env: { SIPSIM_LOG_LEVEL: 'warn' }, timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).not.toContain('s3cret');
    return result.stderr;
  };

  it('a port where nothing listens: host, port and "connection refused", without the password', async () => {
    const url = new URL(admin);
    url.port = String(await freePort());
    url.password = 's3cret';
    const stderr = await attempt(url);
    expect(stderr).toContain(`cannot reach PostgreSQL at 127.0.0.1:${url.port}`);
    expect(stderr).toContain('connection refused');
  });

  it('a database that does not exist, for serve as for a command', async () => {
    const url = new URL(admin);
    url.pathname = '/sipsim_no_such_database';
    url.password = 's3cret';
    for (const args of [['accounts', 'list'], ['serve', '--port', '0']]) {
      const stderr = await attempt(url, args);
      expect(stderr).toContain(`cannot reach PostgreSQL at ${admin.hostname}:${admin.port || 5432} (database sipsim_no_such_database`);
      expect(stderr).toContain('database sipsim_no_such_database does not exist');
    }
  });

  it('a user the server does not know', async () => {
    const database = await createTestDatabase('postgres');
    cleanups.push(() => database.drop());
    const url = new URL(database.url);
    url.username = 'sipsim_nobody';
    url.password = 's3cret';
    const stderr = await attempt(url);
    expect(stderr).toMatch(/user sipsim_nobody/);
    expect(stderr).toMatch(/authentication failed for user sipsim_nobody|does not let user sipsim_nobody connect/);
  });
});
