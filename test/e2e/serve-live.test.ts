import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { CLI, run, scratchDir } from '../helpers/programs.js';

/**
 * `sipsim serve --demo --live RATE`: the sandbox keeps making calls on the
 * demo account while it runs, and its webhook receives their events, signed,
 * as they happen; a SIGTERM still stops the server cleanly.
 */
const sandbox = scratchDir('sipsim-live-');
// Until the test reads the real secret, what arrives is checked against this one (and fails).
const receiver = new WebhookReceiver('whsec_not_yet_known');
const env = { SIPSIM_DATABASE_URL: undefined, SIPSIM_LOG_LEVEL: 'warn' };
let server: ChildProcess;
let output = '';

const sipsim = (args: string[]) => run(process.execPath, [CLI, ...args], { cwd: sandbox.path, env, timeoutMs: 60_000 });

beforeAll(async () => {
  await receiver.start();
  server = spawn(process.execPath, [CLI, 'serve', '--demo', '--demo-calls', '50', '--live', '300', '--port', '0'], {
    cwd: sandbox.path,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.setEncoding('utf8');
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (d: string) => {
      output += d;
      if (/Live calls: about 300 a minute/.test(output)) resolve();
    });
    server.on('exit', (code) => reject(new Error(`sipsim serve exited with ${code}:\n${output}`)));
  });
}, 90_000);
afterAll(async () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  await receiver.stop();
  sandbox.remove();
});

describe('serve --demo --live', () => {
  it('keeps making calls whose events reach the demo account\'s webhook, signed, and stops cleanly on SIGTERM', async () => {
    const accounts = JSON.parse((await sipsim(['accounts', 'list', '--json'])).stdout) as Array<{ account_id: number; name: string }>;
    const demo = accounts.find((a) => a.name === 'Demo Company')!;
    const set = await sipsim(['webhooks', 'set-url', receiver.url, '--account', String(demo.account_id), '--json']);
    expect(set.code, set.stderr).toBe(0);
    const shown = JSON.parse((await sipsim(['webhooks', 'show', '--account', String(demo.account_id), '--json'])).stdout) as { secret: string };
    receiver.secret = shown.secret;
    const from = receiver.received.length;

    // Two different calls, started after the URL was set, each told by a signed start event.
    const starts = () => new Set(receiver.received.filter((r) => r.valid && /_call_start$/.test(r.body.event) && /^live_/.test(r.body.pbx_id)).map((r) => r.body.pbx_id));
    await receiver.waitFor(() => starts().size >= 2, 60_000);
    // Whatever arrived once the secret was known checked out.
    expect(receiver.received.slice(from).every((r) => r.valid)).toBe(true);

    server.kill('SIGTERM');
    const [code] = await once(server, 'exit');
    expect(code, output).toBe(0);
  }, 120_000);

  it('--live needs --demo, and a sensible rate', async () => {
    const without = await sipsim(['serve', '--live', '--port', '0']);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toContain('--live makes calls on the demo account: give --demo too');
    const bad = await sipsim(['serve', '--demo', '--live', 'lots', '--port', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--live RATE must be a number of calls a minute');
  });
});
