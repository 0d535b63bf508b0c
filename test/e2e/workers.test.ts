import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/programs.js';

/**
 * `sipsim serve --workers N` as users run it: the built CLI in a child process,
 * several workers sharing one port and one SQLite file. Which worker answered
 * is read from the pid on each JSON log line, never from the API.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/cli/main.js');

interface Served {
  child: ChildProcess;
  url: string;
  stdout(): string;
  /** The JSON log lines printed so far. */
  logs(): Array<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  cleanup(): Promise<void>;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const scratch = scratchDir('sipsim-e2e-workers-');
  const database = `sqlite:${join(scratch.path, 'sipsim.db')}`;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--database', database, ...args], {
    cwd: scratch.path,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const serving = /^sipsim is serving SQLite at (http:\/\/127\.0\.0\.1:\d+)$/m;
  await until(`sipsim serve to start\n${stdout}\n${stderr}`, () => {
    if (child.exitCode !== null) throw new Error(`sipsim serve exited with ${child.exitCode}:\n${stdout}\n${stderr}`);
    return serving.test(stdout);
  }, 40000);
  return {
    child,
    url: serving.exec(stdout)![1]!,
    stdout: () => stdout,
    logs: () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)),
    exited,
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      scratch.remove();
    },
  };
}

/**
 * One request on a connection of its own, so that the primary hands each to the next worker.
 * With `timeoutMs`, a request that gets no answer in time fails with code ETIMEDOUT.
 */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}) {
  return new Promise<{ status: number; body: string }>((done, fail) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => done({ status: res.statusCode!, body }));
    });
    req.on('error', fail);
    if (options.timeoutMs) {
      req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    }
    req.end(options.body);
  });
}

const sample = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` does it).`);
});

describe.sequential('sipsim serve --workers 2', () => {
  let server: Served;
  let clientId: string;
  let clientSecret: string;
  const tokenForm = () =>
    new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString();
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const workersThatServed = (path: string) =>
    new Set(server.logs().filter((l) => l.msg === 'request' && l.path === path).map((l) => l.pid as number));

  beforeAll(async () => {
    // A shutdown timeout far beyond any wait of the SIGTERM test: on a loaded machine, seeing the
    // listener close can take longer than the default 10 s, and the test holds its request until then.
    server = await serve(['--workers', '2', '--demo', '--demo-calls', '200'], { SIPSIM_SHUTDOWN_TIMEOUT: '300' });
    clientId = /client_id: +(\S+)/.exec(server.stdout())![1]!;
    clientSecret = /client_secret: +(\S+)/.exec(server.stdout())![1]!;
  }, 60000);
  afterAll(() => server?.cleanup());

  it('prints the serving line and the demo banner once, from the primary', () => {
    expect(server.stdout().match(/sipsim is serving/g)).toHaveLength(1);
    expect(server.stdout().match(/Demo account \d+/g)).toHaveLength(1);
  });

  it('serves from two worker processes, which write to one SQLite file at once', async () => {
    const tokenRequest = () => send(`${server.url}/oauth/token`, { method: 'POST', headers: form, body: tokenForm() });
    const results = await Promise.all(Array.from({ length: 20 }, tokenRequest));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    await until('the request log lines', () => workersThatServed('/oauth/token').size === 2, 5000);
    expect(workersThatServed('/oauth/token').has(server.child.pid!)).toBe(false);
  });

  it('/metrics answers for the whole cluster, whichever worker is asked', async () => {
    for (let i = 0; i < 10; i++) expect((await send(`${server.url}/health/live`)).status).toBe(200);
    const series = 'sipsim_http_requests_total{method="GET",route="/health/live",status="200"}';
    for (let i = 0; i < 4; i++) {
      const { status, body } = await send(`${server.url}/metrics`);
      expect(status).toBe(200);
      expect(sample(body, series)).toBe(10);
      expect(sample(body, 'sipsim_http_requests_total{method="POST",route="/oauth/token",status="200"}')).toBe(20);
      // One SQLite connection per worker.
      expect(sample(body, 'sipsim_store_pool_connections')).toBe(2);
    }
    expect(workersThatServed('/metrics').size).toBe(2);
  });

  it('a worker that dies is replaced, and the other serves meanwhile', async () => {
    const [victim, survivor] = [...workersThatServed('/health/live')];
    process.kill(victim!, 'SIGKILL');
    const noticed = () => server.logs().some((l) => l.msg?.includes('exited unexpectedly') && l.worker_pid === victim);
    await until('the primary to notice', noticed);
    for (let i = 0; i < 4; i++) expect((await send(`${server.url}/health/ready`)).status).toBe(200);
    expect(workersThatServed('/health/ready')).toEqual(new Set([survivor]));

    await until('a new worker', () => server.logs().some((l) => l.msg === 'worker replaced'));
    const replacement = server.logs().find((l) => l.msg === 'worker replaced')!.worker_pid;
    expect([victim, survivor, server.child.pid]).not.toContain(replacement);
    for (let i = 0; i < 4; i++) expect((await send(`${server.url}/health/live`)).status).toBe(200);
    await until('the new worker to serve', () => workersThatServed('/health/live').has(replacement), 5000);
  });

  it('SIGTERM lets a request in flight finish, then every process exits 0', async () => {
    // A token request whose body arrives slowly: the worker has it in flight when the signal comes.
    const body = tokenForm();
    // A kept-alive connection, as a load balancer holds: the server must close it after the answer.
    const agent = new Agent({ keepAlive: true });
    const req = request(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { ...form, 'content-length': String(Buffer.byteLength(body)) },
      agent,
    });
    const response = new Promise<{ status: number; body: string; connection?: string }>((done, fail) => {
      req.on('response', (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => done({ status: res.statusCode!, body: text, connection: res.headers.connection }));
      });
      req.on('error', fail);
    });
    // Should the test fail before it awaits the answer, the reset that follows is not an unhandled rejection.
    response.catch(() => {});
    req.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 300));

    server.child.kill('SIGTERM');
    // The port stops taking connections... A probe taken in while the workers close their
    // listeners may never be answered: each gets 2 s before the next is tried.
    await until('the listener to close', async () => {
      try {
        await send(`${server.url}/health/live`, { timeoutMs: 2000 });
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    });
    expect(server.child.exitCode).toBeNull();
    // ...while the request in flight completes and gets its answer.
    req.end(body.slice(10));
    const answered = await response;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ token_type: 'Bearer' });
    expect(answered.connection).toBe('close');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  }, 90000);
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise((done) => probe.close(done));
  return port;
}

describe('sipsim serve, a single process', () => {
  it('serves /metrics on SIPSIM_METRICS_PORT; gives requests in flight SIPSIM_SHUTDOWN_TIMEOUT, then exits 1', async () => {
    const metricsPort = await freePort();
    const server = await serve(['--workers', '1'], { SIPSIM_SHUTDOWN_TIMEOUT: '1', SIPSIM_METRICS_PORT: String(metricsPort) });
    try {
      expect((await send(`${server.url}/health/live`)).status).toBe(200);
      expect((await send(`${server.url}/metrics`)).status).toBe(404);
      const metrics = await send(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(sample(metrics.body, 'sipsim_http_requests_total{method="GET",route="/health/live",status="200"}')).toBe(1);

      const req = request(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '100' },
        agent: false,
      });
      req.on('error', () => {});
      req.write('grant_type=');
      await new Promise((r) => setTimeout(r, 300));
      server.child.kill('SIGTERM');
      // Exit code 1 and this line come only from the shutdown timer running out.
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(server.logs().some((l) => String(l.msg).startsWith('requests still in flight after 1 s'))).toBe(true);
      req.destroy();
    } finally {
      await server.cleanup();
    }
  }, 60000);
});
