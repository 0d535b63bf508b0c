import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, run, scratchDir } from '../helpers/programs.js';

/**
 * Credentials for the client commands as a newcomer meets them: from the
 * sandbox's folder they need nothing; elsewhere `sipsim login` saves a
 * profile (mode 600) in the config directory; the banner's export lines work
 * as printed.
 */

let server: ChildProcess;
let banner = '';
let url = '';
const sandbox = scratchDir('sipsim-creds-sandbox-');
const elsewhere = scratchDir('sipsim-creds-elsewhere-');
const XDG = join(elsewhere.path, 'config');

beforeAll(async () => {
  server = spawn(process.execPath, [CLI, 'serve', '--demo', '--demo-calls', '300', '--port', '0'], {
    cwd: sandbox.path,
    env: { ...process.env, SIPSIM_DATABASE_URL: undefined, SIPSIM_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: string) => {
      banner += d;
      if (/Interactive docs:.*\n.*Authorize.*\n/.test(banner)) resolve();
    });
    server.on('exit', (code) => reject(new Error(`sipsim serve exited with ${code}:\n${banner}`)));
  });
  url = /sipsim is serving \S+ at (\S+)/.exec(banner)![1]!;
});
afterAll(() => {
  server?.kill('SIGKILL');
  sandbox.remove();
  elsewhere.remove();
});

/** The CLI with none of the SIPSIM_* connection variables, and a config directory of the test's own. */
const sipsim = (cwd: string, args: string[], env: Record<string, string | undefined> = {}) =>
  run(process.execPath, [CLI, ...args], {
    cwd,
    env: { SIPSIM_API_URL: undefined, SIPSIM_CLIENT_ID: undefined, SIPSIM_CLIENT_SECRET: undefined, SIPSIM_TOKEN: undefined, SIPSIM_PROFILE: undefined, SIPSIM_DATABASE_URL: undefined, XDG_CONFIG_HOME: XDG, ...env },
    timeoutMs: 60_000,
  });

const creds = () => ({ id: /client_id:\s+(\S+)/.exec(banner)![1]!, secret: /client_secret:\s+(\S+)/.exec(banner)![1]! });

describe('client credentials', () => {
  it('the banner prints export lines and the /docs URL with what its Authorize dialog takes', () => {
    const { id, secret } = creds();
    expect(banner).toContain(`export SIPSIM_API_URL=${url}\n`);
    expect(banner).toContain(`export SIPSIM_CLIENT_ID=${id}\n`);
    expect(banner).toContain(`export SIPSIM_CLIENT_SECRET=${secret}\n`);
    expect(banner).toContain(`Interactive docs: ${url}/docs\n`);
    expect(banner).toMatch(new RegExp(`Authorize .*client_id ${id}, client_secret ${secret}`));
  });

  it("from the sandbox's folder, a client command uses its saved credentials and says so", async () => {
    const result = await sipsim(sandbox.path, ['calls', 'list', '--api-url', url, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("sipsim: using the sandbox's demo credentials in ./data/sipsim.db.demo-credentials.json");
    expect(JSON.parse(result.stdout).length).toBeGreaterThan(0);
  });

  it('with the export lines, from any folder', async () => {
    const { id, secret } = creds();
    const result = await sipsim(elsewhere.path, ['calls', 'list', '--json'], { SIPSIM_API_URL: url, SIPSIM_CLIENT_ID: id, SIPSIM_CLIENT_SECRET: secret });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('elsewhere, without credentials: says every way to give them', async () => {
    const result = await sipsim(elsewhere.path, ['calls', 'list', '--api-url', url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No credentials');
    expect(result.stderr).toContain('sipsim login');
  });

  it('`sipsim login` refuses wrong credentials and saves nothing', async () => {
    const result = await sipsim(elsewhere.path, ['login', '--api-url', url, '--client-id', creds().id, '--client-secret', 'wrong']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('refused these credentials (HTTP 401, invalid_client); nothing was saved');
    expect(() => statSync(join(XDG, 'sipsim/config.json'))).toThrow();
  });

  it('`sipsim login` saves a profile (mode 600) that later commands use from any folder', async () => {
    const { id, secret } = creds();
    const login = await sipsim(elsewhere.path, ['login', '--api-url', url], { SIPSIM_CLIENT_ID: id, SIPSIM_CLIENT_SECRET: secret });
    expect(login.code, login.stderr).toBe(0);
    const path = join(XDG, 'sipsim/config.json');
    expect(login.stdout).toContain(`Saved profile 'default' for ${url} in ${path}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const list = await sipsim(elsewhere.path, ['calls', 'list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stderr).toContain(`sipsim: using profile 'default' in ${path} (for ${url})`);
    const missing = await sipsim(elsewhere.path, ['calls', 'list', '--profile', 'work']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no profile 'work' in ${path}`);
  });
});
