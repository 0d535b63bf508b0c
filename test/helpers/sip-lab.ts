import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A real PBX on the loopback for the tests of getting calls in: Kamailio with
 * the example config (examples/kamailio/kamailio.cfg) as registrar and proxy,
 * and baresip soft phones that register with it and place real calls, driven
 * over baresip's `cons` control socket.
 */

export const SIP_LAB_INSTALL =
  'apt-get install --no-install-recommends kamailio kamailio-utils-modules kamailio-extra-modules baresip-core';

export const KAMAILIO_EXAMPLE_CONFIG = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/kamailio/kamailio.cfg');

/** Kamailio installs into sbin, which is not on every user's PATH. */
function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

export const KAMAILIO = findProgram('kamailio');
export const BARESIP = findProgram('baresip');

/** CI sets SIPSIM_REQUIRE_SIP_LAB=1: there a missing program fails the tests instead of skipping them. */
export const SIP_LAB_REQUIRED = process.env.SIPSIM_REQUIRE_SIP_LAB === '1';
export const SIP_LAB_AVAILABLE = KAMAILIO !== null && BARESIP !== null;
export const SIP_LAB_READY = SIP_LAB_AVAILABLE || SIP_LAB_REQUIRED;
export const SIP_LAB_NOTICE = `Kamailio/baresip tests SKIPPED: kamailio or baresip is not installed. To run them: ${SIP_LAB_INSTALL}`;

export function requireSipLab(): void {
  if (!SIP_LAB_AVAILABLE) throw new Error(`kamailio and baresip are required (SIPSIM_REQUIRE_SIP_LAB=1). Install them with: ${SIP_LAB_INSTALL}`);
}

// ---- ports ----

const taken = new Set<number>();

function canBind(port: number, kind: 'udp' | 'tcp'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    if (kind === 'udp') {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => {
        socket.close();
        resolvePromise(false);
      });
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolvePromise(true)));
    } else {
      const server = net.createServer();
      server.once('error', () => resolvePromise(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
    }
  });
}

/**
 * `count` consecutive ports, each free for UDP and TCP on 127.0.0.1. Picked
 * below the kernel's ephemeral range, so that outgoing connections do not
 * take them between the check and the program binding them.
 */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const base = 20000 + 2 * Math.floor(Math.random() * 6000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((p) => taken.has(p))) continue;
    let free = true;
    for (const port of ports) {
      if (!(await canBind(port, 'udp')) || !(await canBind(port, 'tcp'))) {
        free = false;
        break;
      }
    }
    if (free) {
      for (const port of ports) taken.add(port);
      return base;
    }
  }
  throw new Error('no free ports found on 127.0.0.1');
}

// ---- audio ----

/** A mono 16-bit PCM WAV of a sine tone: what a phone's microphone "hears". */
export function sineWav(seconds: number, frequency = 440, sampleRate = 8000): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVE', 8, 'ascii');
  wav.write('fmt ', 12, 'ascii');
  wav.writeUInt32LE(16, 16); // size of the fmt chunk
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 2, 28); // bytes per second
  wav.writeUInt16LE(2, 32); // bytes per frame
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) {
    wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate)), 44 + i * 2);
  }
  return wav;
}

// ---- processes ----

const running = new Set<ChildProcess>();

// A test that crashes must not leave a PBX behind: its processes die with the test process.
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Kamailio forks its workers: they share the process group it leads.
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** A program running in the background, its output collected. */
class Program {
  output = '';
  exited: Promise<void>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    running.add(child);
    const collect = (data: string) => {
      this.output += data;
      for (const wake of this.waiters) wake();
    };
    child.stdout?.setEncoding('utf8').on('data', collect);
    child.stderr?.setEncoding('utf8').on('data', collect);
    this.exited = new Promise((resolveExit) => {
      child.once('exit', () => {
        running.delete(child);
        for (const wake of this.waiters) wake();
        resolveExit();
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output after `from` matches; returns the match. */
  waitFor(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const from = options.from ?? 0;
    const timeoutMs = options.timeoutMs ?? 10000;
    return new Promise((resolveWait, reject) => {
      const check = () => {
        const match = this.output.slice(from).match(pattern);
        if (match) {
          done();
          resolveWait(match);
        } else if (!this.alive) {
          done();
          reject(new Error(`${this.name} exited while waiting for ${pattern}:\n${tail(this.output)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms:\n${tail(this.output.slice(from))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    killGroup(this.child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.child, 'SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The last lines of a log, without baresip's running call-status line. */
function tail(text: string, lines = 40): string {
  return text
    .split(/\r|\n/)
    .filter((line) => line.trim() && !/^\[\d+:\d\d:\d\d\] audio=/.test(line.trim()))
    .slice(-lines)
    .join('\n');
}

function start(name: string, command: string, args: string[], cwd: string): Program {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  return new Program(name, child);
}

// ---- SIP ----

/** Sends an OPTIONS to the proxy itself and waits for its 200: Kamailio is ready once its workers answer. */
function sipPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = dgram.createSocket('udp4');
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolvePing(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('error', () => finish(false));
    socket.on('message', (message) => {
      if (/^SIP\/2\.0 200 /.test(message.toString('utf8'))) finish(true);
    });
    socket.bind(0, '127.0.0.1', () => {
      const local = socket.address().port;
      const id = Math.random().toString(36).slice(2);
      const request = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${id};rport`,
        'Max-Forwards: 70',
        `From: <sip:ping@127.0.0.1>;tag=${id}`,
        `To: <sip:127.0.0.1:${port}>`,
        `Call-ID: ping-${id}`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(request, port, '127.0.0.1');
    });
  });
}

export interface KamailioOptions {
  /** sipsim's base URL, e.g. http://127.0.0.1:3000. */
  sipsimUrl: string;
  clientId: string;
  clientSecret: string;
  /** How long a phone may ring before the call ends with 408. */
  ringTimeoutMs?: number;
  config?: string;
}

export class Kamailio {
  constructor(
    readonly port: number,
    readonly program: Program,
  ) {}

  get log(): string {
    return this.program.output;
  }

  stop(): Promise<void> {
    return this.program.stop();
  }
}

export async function startKamailio(dir: string, options: KamailioOptions): Promise<Kamailio> {
  if (!KAMAILIO) throw new Error(`kamailio is not installed: ${SIP_LAB_INSTALL}`);
  const port = await freePorts(1);
  const runDir = join(dir, 'kamailio');
  mkdirSync(runDir, { recursive: true });
  const define = (name: string, value: string | number) => ['-A', typeof value === 'number' ? `${name}=${value}` : `${name}="${value}"`];
  const args = [
    '-f', options.config ?? KAMAILIO_EXAMPLE_CONFIG,
    '-DD', // stay in the foreground, as the test's child
    '-E', // log to stderr, which the test collects
    '-Y', runDir, // runtime files in the scratch directory, not /run/kamailio
    '-w', runDir,
    '-m', '32', // shared memory in MB: a lab needs little
    '-A', 'SIP_ADDR=127.0.0.1', // an address, so unquoted
    ...define('SIP_PORT', port),
    // The test's sipsim shares its event loop with the test: a busy moment must not cost an event.
    ...define('SIPSIM_TIMEOUT', 5),
    ...define('SIPSIM_URL', options.sipsimUrl.replace(/\/$/, '')),
    ...define('SIPSIM_CLIENT_ID', options.clientId),
    ...define('SIPSIM_CLIENT_SECRET', options.clientSecret),
    ...define('RING_TIMEOUT_MS', options.ringTimeoutMs ?? 30000),
  ];
  const program = start('kamailio', KAMAILIO, args, runDir);
  const deadline = Date.now() + 10000;
  while (!(await sipPing(port))) {
    if (!program.alive) throw new Error(`kamailio did not start:\n${tail(program.output)}`);
    if (Date.now() > deadline) {
      await program.stop();
      throw new Error(`kamailio does not answer on 127.0.0.1:${port}:\n${tail(program.output)}`);
    }
  }
  return new Kamailio(port, program);
}

// ---- phones ----

export interface PhoneOptions {
  /** SIP user: an extension (101) or a phone number (33612345678). */
  user: string;
  displayName?: string;
  /** Answers every call by itself. */
  autoAnswer?: boolean;
}

/** A baresip soft phone registered with the lab's Kamailio. */
export class Phone {
  constructor(
    readonly user: string,
    readonly sipPort: number,
    readonly consPort: number,
    readonly program: Program,
    private readonly proxyPort: number,
  ) {}

  get log(): string {
    return this.program.output;
  }

  /** Where the log is now: wait for what happens after it. */
  mark(): number {
    return this.program.output.length;
  }

  waitFor(pattern: RegExp, options: { from?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    return this.program.waitFor(pattern, options);
  }

  /**
   * Sends one command to baresip's `cons` console and returns what it
   * answered. The console takes keystrokes over UDP: a line starting with
   * `/` is a long command, run at its newline; the answer comes back to the
   * sender, preceded by the echo of the keystrokes.
   */
  command(line: string, quietMs = 150): Promise<string> {
    return new Promise((resolveCommand, reject) => {
      const socket = dgram.createSocket('udp4');
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        socket.close();
        resolveCommand(answer);
      };
      const rearm = () => {
        clearTimeout(timer);
        timer = setTimeout(finish, quietMs);
      };
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.close();
        reject(error);
      });
      socket.on('message', (message) => {
        answer += message.toString('utf8');
        rearm();
      });
      socket.send(`${line}\n`, this.consPort, '127.0.0.1', (error) => {
        if (error) reject(error);
        else rearm();
      });
    });
  }

  /** Calls a number or extension through the proxy. */
  async dial(target: string): Promise<void> {
    await this.command(`/dial sip:${target}@127.0.0.1:${this.proxyPort}`);
  }

  /** Answers the ringing call. */
  async accept(): Promise<void> {
    await this.command('/accept');
  }

  /**
   * Ends the current call: a BYE when it is established, a CANCEL while it
   * rings out, and "486" when it rings in (baresip rejects an incoming call
   * it hangs up as busy).
   */
  async hangup(): Promise<void> {
    await this.command('/hangup');
  }

  waitForIncoming(from: number, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.waitFor(/Incoming call from/, { from, timeoutMs });
  }

  waitForEstablished(from: number, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.waitFor(/Call established/, { from, timeoutMs });
  }

  /** baresip says "session closed" or "terminated" when a call is over, whoever ended it. */
  waitForCallEnd(from: number, timeoutMs = 5000): Promise<RegExpMatchArray> {
    return this.waitFor(/session closed|terminated \(duration|call: .*(failed|closed)/, { from, timeoutMs });
  }

  stop(): Promise<void> {
    return this.program.stop();
  }
}

async function startPhone(dir: string, options: PhoneOptions, proxyPort: number, tone: string): Promise<Phone> {
  if (!BARESIP) throw new Error(`baresip is not installed: ${SIP_LAB_INSTALL}`);
  // baresip listens for SIP on UDP and TCP on its port, and TLS on the next one.
  const sipPort = await freePorts(2);
  const consPort = await freePorts(1);
  const home = join(dir, `phone-${options.user}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'config'),
    [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${sipPort}`,
      // An address, not an interface name: baresip then binds SIP and RTP to it alone.
      'net_interface 127.0.0.1',
      'call_local_timeout 120',
      'call_max_calls 4',
      // The microphone plays a tone from a file; what is heard goes to the
      // audio bridge, which drops it (baresip 1.0's aufile cannot play).
      `audio_source aufile,${tone}`,
      'audio_player aubridge,sink',
      'audio_alert aubridge,sink',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      'module cons.so',
      'module_tmp account.so',
      'module_app menu.so',
      // The console on the loopback only: its default is 0.0.0.0:5555.
      `cons_listen 127.0.0.1:${consPort}`,
      '',
    ].join('\n'),
  );
  const display = options.displayName ? `"${options.displayName}" ` : '';
  const answermode = options.autoAnswer ? ';answermode=auto' : ';answermode=manual';
  writeFileSync(join(home, 'accounts'), `${display}<sip:${options.user}@127.0.0.1:${proxyPort}>;regint=60${answermode}\n`);
  writeFileSync(join(home, 'contacts'), '');
  const program = start(`baresip ${options.user}`, BARESIP, ['-f', home], home);
  const phone = new Phone(options.user, sipPort, consPort, program, proxyPort);
  await phone.waitFor(new RegExp(`${options.user}@127\\.0\\.0\\.1: \\{0/UDP/v4\\} 200 OK`), { timeoutMs: 10000 });
  return phone;
}

// ---- the lab ----

export interface SipLab {
  dir: string;
  kamailio: Kamailio;
  phones: Map<string, Phone>;
  phone(user: string): Phone;
  /** Every program's recent output, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startSipLab(options: KamailioOptions & { phones: PhoneOptions[] }): Promise<SipLab> {
  const dir = mkdtempSync(join(tmpdir(), 'sipsim-sip-lab-'));
  const tone = join(dir, 'tone.wav');
  writeFileSync(tone, sineWav(5));
  const phones = new Map<string, Phone>();
  let kamailio: Kamailio | undefined;
  const stop = async () => {
    await Promise.all([...phones.values()].map((p) => p.stop()));
    await kamailio?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    kamailio = await startKamailio(dir, options);
    const started = await Promise.all(options.phones.map((p) => startPhone(dir, p, kamailio!.port, tone)));
    for (const phone of started) phones.set(phone.user, phone);
  } catch (error) {
    await stop();
    throw error;
  }
  const lab: SipLab = {
    dir,
    kamailio,
    phones,
    phone(user) {
      const phone = phones.get(user);
      if (!phone) throw new Error(`no phone ${user} in the lab`);
      return phone;
    },
    logs() {
      return [
        `--- kamailio\n${tail(kamailio!.log)}`,
        ...[...phones.values()].map((p) => `--- baresip ${p.user}\n${tail(p.log, 20)}`),
      ].join('\n');
    },
    stop,
  };
  return lab;
}

/** Whether the installed Kamailio accepts a config (modules present, syntax right). */
export function checkKamailioConfig(config = KAMAILIO_EXAMPLE_CONFIG): { ok: boolean; output: string } {
  if (!KAMAILIO) return { ok: false, output: 'kamailio is not installed' };
  const result = spawnSync(KAMAILIO, ['-c', '-f', config], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}
