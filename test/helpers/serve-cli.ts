import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './programs.js';

export interface Served {
  child: ChildProcess;
  url: string;
  output(): string;
  /** SIGTERM, as a user's Ctrl-C; killed if it has not exited within 15 s. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies where it stands. */
  kill(): Promise<void>;
}

/**
 * `sipsim serve --port 0` from the built CLI, in a child process, with the
 * environment given; resolves once it says it serves (and whatever else
 * `ready` waits for).
 */
export async function serveCli(databaseUrl: string, env: Record<string, string>, options: { ready?: RegExp; args?: string[] } = {}): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--database', databaseUrl, ...(options.args ?? [])], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const serving = /^sipsim is serving \S+ at (http:\/\/127\.0\.0\.1:\d+)$/m;
  const deadline = Date.now() + 30_000;
  while (!serving.test(output) || (options.ready && !options.ready.test(output))) {
    if (child.exitCode !== null) throw new Error(`sipsim serve exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`sipsim serve did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    url: serving.exec(output)![1]!,
    output: () => output,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}
