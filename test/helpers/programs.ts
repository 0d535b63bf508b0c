/** Running the built `sipsim` and the guide's curl and Python examples as a user would, and a real port for an app. */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { Store } from '../../src/store/store.js';
import { TEST_CONFIG } from './fixture.js';

export const EXAMPLES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../e2e/examples');
export const GUIDE_BASE_URL = 'https://app.sipsim.com';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion and collects its output; never rejects on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Listens on a free port of the loopback interface and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the server has no TCP address');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * An example's text with only the documented placeholders replaced. Fails when
 * a placeholder is absent, so that a fixture edited by mistake cannot silently
 * run against the real SIPSIM.
 */
export function fillPlaceholders(text: string, replacements: Record<string, string>): string {
  let result = text;
  for (const [placeholder, value] of Object.entries(replacements)) {
    if (!result.includes(placeholder)) throw new Error(`placeholder ${placeholder} not found in the example`);
    result = result.replaceAll(placeholder, value);
  }
  if (result.includes(GUIDE_BASE_URL)) throw new Error('the example still points at the real SIPSIM');
  return result;
}

export function readExample(name: string): string {
  return readFileSync(join(EXAMPLES_DIR, name), 'utf8');
}

/** A scratch directory, removed by the returned function. */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs a Python program given as text, in `cwd`, with python3. */
export async function runPython(source: string, cwd: string): Promise<RunResult> {
  const file = join(cwd, `example-${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(file, source);
  return run('python3', [file], { cwd, env: { PYTHONWARNINGS: 'ignore::DeprecationWarning' } });
}

/**
 * Runs a curl command line through bash exactly as written. The HTTP status is
 * read through a curlrc in CURL_HOME (`--write-out`), so that the command
 * itself stays as the guide prints it.
 */
export async function runCurl(commandLine: string, scratch: string): Promise<{ status: number; body: string; result: RunResult }> {
  const curlHome = join(scratch, 'curl-home');
  mkdirSync(curlHome, { recursive: true });
  writeFileSync(join(curlHome, '.curlrc'), 'silent\nshow-error\nwrite-out = "\\n@@HTTP_STATUS=%{http_code}\\n"\n');
  const result = await run('bash', ['-c', commandLine], { cwd: scratch, env: { CURL_HOME: curlHome } });
  const marker = result.stdout.lastIndexOf('\n@@HTTP_STATUS=');
  if (result.code !== 0 || marker < 0) {
    throw new Error(`curl failed (exit ${result.code}): ${result.stderr}\n${result.stdout}`);
  }
  return { status: Number(result.stdout.slice(marker + '\n@@HTTP_STATUS='.length).trim()), body: result.stdout.slice(0, marker), result };
}

/** The lines a program printed, without the final empty one. */
export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

// ---- the built `sipsim` command ----

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

export function sipsim(args: string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, timeoutMs: 60000 });
}

/** Runs the CLI, expects exit 0 and JSON on stdout. */
export async function sipsimJson<T = any>(args: string[]): Promise<T> {
  const result = await sipsim(args);
  expect(result.code, `sipsim ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** An API over the database the CLI wrote, for checks through HTTP semantics. */
export async function openApi(url: string): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const store = Store.open(url);
  const app = buildApp({ store, config: TEST_CONFIG });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
