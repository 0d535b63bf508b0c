/** A fake SIP peer on a loopback UDP socket, and a harness around the SIP stack, for the unit tests of test/sip. */
import dgram from 'node:dgram';
import { vi } from 'vitest';
import { SipCore } from '../../src/sip/core.js';
import { UdpTransport } from '../../src/sip/transport.js';
import { randomBytes } from 'node:crypto';
import { SipAgent, type CallSnapshot, type ClickToCall, type ClickToCallStatus, type SipAgentOptions } from '../../src/sip/click-to-call.js';
import { parseMessage, type SipMessage, type SipRequest, type SipResponse } from '../../src/sip/message.js';

/**
 * A scripted SIP peer on the loopback, for the unit tests: it records every
 * datagram it receives (parsed, raw, and when) and sends exactly what the
 * test tells it to. Used as the agent's outbound proxy, it plays both the
 * employee's phone and the target, told apart by Request-URI or Call-ID.
 */

export interface Received {
  message: SipMessage;
  raw: string;
  from: { host: string; port: number };
  /** performance.now() at arrival. */
  at: number;
  index: number;
}

export type Match = (message: SipMessage) => boolean;

export const isRequest =
  (method: string, test: (r: SipRequest) => boolean = () => true): Match =>
  (m) => m.kind === 'request' && m.method === method && test(m);

export const isResponse =
  (status: number, method?: string): Match =>
  (m) => m.kind === 'response' && m.status === status && (!method || (m.headers.get('CSeq') ?? '').endsWith(method));

export const callIdOf = (m: SipMessage) => m.headers.get('Call-ID')!;
export const cseqOf = (m: SipMessage) => m.headers.get('CSeq')!;
export const branchOf = (m: SipMessage) => /branch=([^;\s,]+)/.exec(m.headers.get('Via') ?? '')?.[1];
export const tag = () => randomBytes(4).toString('hex');

/** An offer as baresip 1.0 writes it. */
export function offerSdp(port: number, id = '1357365989', version = 1): string {
  return [
    'v=0',
    `o=- ${id} ${version} IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

export interface RespondOptions {
  reason?: string;
  toTag?: string;
  contact?: string;
  recordRoute?: string[];
  headers?: Array<[string, string]>;
  body?: string;
}

export class FakePeer {
  readonly received: Received[] = [];
  private readonly waiters = new Set<() => void>();
  private cseq = 100;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<FakePeer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const peer = new FakePeer(socket, socket.address().port);
    socket.on('message', (data, rinfo) => {
      let message: SipMessage;
      try {
        message = parseMessage(data);
      } catch {
        return;
      }
      peer.received.push({ message, raw: data.toString('utf8'), from: { host: rinfo.address, port: rinfo.port }, at: performance.now(), index: peer.received.length });
      for (const wake of peer.waiters) wake();
    });
    return peer;
  }

  get uri(): string {
    return `sip:127.0.0.1:${this.port}`;
  }

  /** A contact of ours for a dialog (its user names the role, for readable traces). */
  contact(user: string): string {
    return `<sip:${user}@127.0.0.1:${this.port}>`;
  }

  all(match: Match): Received[] {
    return this.received.filter((r) => match(r.message));
  }

  requests(method: string): SipRequest[] {
    return this.received.map((r) => r.message).filter((m): m is SipRequest => m.kind === 'request' && m.method === method);
  }

  /** The first message matching, received at or after index `after` (waits for it). */
  waitFor<T extends SipMessage = SipRequest>(match: Match, options: { timeoutMs?: number; after?: number } = {}): Promise<T> {
    return this.waitForEntry(match, options).then((r) => r.message as T);
  }

  waitForEntry(match: Match, options: { timeoutMs?: number; after?: number } = {}): Promise<Received> {
    const after = options.after ?? 0;
    const timeoutMs = options.timeoutMs ?? 3000;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.slice(after).find((r) => match(r.message));
        if (found) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`fake peer: nothing matching within ${timeoutMs} ms; received:\n${this.summary()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** One line per message received: for failure messages. */
  summary(): string {
    return this.received
      .map((r) => (r.message.kind === 'request' ? `${r.message.method} ${r.message.uri} (${cseqOf(r.message)})` : `${r.message.status} ${r.message.reason} (${cseqOf(r.message)})`))
      .join('\n');
  }

  send(text: string, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(Buffer.from(text, 'utf8'), port, host, (e) => (e ? reject(e) : resolve())));
  }

  /** Answers a request it received, to where it came from. */
  respond(request: SipRequest, status: number, options: RespondOptions = {}): Promise<string> {
    const lines = [`SIP/2.0 ${status} ${options.reason ?? REASON[status] ?? 'Whatever'}`];
    for (const via of request.headers.all('Via')) lines.push(`Via: ${via}`);
    for (const rr of options.recordRoute ?? []) lines.push(`Record-Route: ${rr}`);
    lines.push(`From: ${request.headers.get('From')}`);
    const to = request.headers.get('To')!;
    lines.push(`To: ${options.toTag && !/;tag=/.test(to) ? `${to};tag=${options.toTag}` : to}`);
    lines.push(`Call-ID: ${request.headers.get('Call-ID')}`, `CSeq: ${request.headers.get('CSeq')}`);
    if (options.contact) lines.push(`Contact: ${options.contact}`);
    for (const [name, value] of options.headers ?? []) lines.push(`${name}: ${value}`);
    if (options.body) lines.push('Content-Type: application/sdp');
    const body = options.body ?? '';
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
    const text = lines.join('\r\n');
    const source = this.received.find((r) => r.message === request)?.from;
    return this.send(text, source?.port ?? 5060, source?.host).then(() => text);
  }

  /**
   * A request inside a dialog the agent started: we are the UAS of its
   * INVITE, so our From is its To (with our tag) and we send to its Contact.
   */
  async requestInDialog(invite: SipRequest, toTag: string, method: string, options: { body?: string; cseq?: number; headers?: Array<[string, string]>; to?: { host: string; port: number } } = {}): Promise<{ text: string; branch: string }> {
    const contact = /<([^>]+)>/.exec(invite.headers.get('Contact')!)![1]!;
    const port = Number(/:(\d+)(?:;|$)/.exec(contact)![1]);
    const branch = `z9hG4bK${tag()}${tag()}`;
    const seq = options.cseq ?? ++this.cseq;
    const body = options.body ?? '';
    const lines = [
      `${method} ${contact} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: ${invite.headers.get('To')};tag=${toTag}`,
      `To: ${invite.headers.get('From')}`,
      `Call-ID: ${invite.headers.get('Call-ID')}`,
      `CSeq: ${seq} ${method}`,
      `Contact: ${this.contact('peer')}`,
      ...(options.headers ?? []).map(([n, v]) => `${n}: ${v}`),
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    const text = lines.join('\r\n');
    await this.send(text, options.to?.port ?? port, options.to?.host ?? '127.0.0.1');
    return { text, branch };
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

const REASON: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  401: 'Unauthorized',
  404: 'Not Found',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  491: 'Request Pending',
  603: 'Decline',
};

export type { SipRequest, SipResponse };

// ---- a click-to-call against the fake peer ----


export const PHONE_URI = 'sip:101@pbx.example.org';
export const NUMBER = '+33612345678';
export const TARGET_URI = 'sip:+33612345678@example.org';
export const PHONE_TAG = 'phonetag';
export const TARGET_TAG = 'targettag';

export const isPhoneInvite = isRequest('INVITE', (r) => r.uri === PHONE_URI);
export const isTargetInvite = isRequest('INVITE', (r) => r.uri === TARGET_URI);

/** The agent, with the fake peer as its outbound proxy and T1 short enough for tests. */
export async function startHarness(options: Partial<SipAgentOptions> & { t1?: number } = {}) {
  const { t1 = 40, ...rest } = options;
  const peer = await FakePeer.start();
  const agent = await SipAgent.start({
    listenHost: '127.0.0.1',
    listenPort: 0,
    outboundProxy: peer.uri,
    domain: 'example.org',
    callerId: { number: '101', name: 'Alice' },
    timers: { t1, t2: 4 * t1, t4: 5 * t1 },
    phoneRingTimeoutMs: 10000,
    targetRingTimeoutMs: 10000,
    closeTimeoutMs: 100,
    ...rest,
  });
  return {
    peer,
    agent,
    t1,
    call: (extra: Partial<Parameters<SipAgent['clickToCall']>[0]> = {}) => agent.clickToCall({ phoneUri: PHONE_URI, number: NUMBER, ...extra }),
    close: async () => {
      await agent.close();
      await peer.close();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Resolves when the call reaches a status (at once if it is there already). */
export function statusReached(call: ClickToCall, status: ClickToCallStatus, timeoutMs = 3000): Promise<CallSnapshot> {
  return new Promise((resolve, reject) => {
    if (call.snapshot().status === status) return resolve(call.snapshot());
    const timer = setTimeout(() => reject(new Error(`call still ${call.snapshot().status}, not ${status}`)), timeoutMs);
    const listener = (s: CallSnapshot) => {
      if (s.status !== status) return;
      clearTimeout(timer);
      call.off('state', listener);
      resolve(s);
    };
    call.on('state', listener);
  });
}

/** The phone rings and answers with its offer (late-offer INVITE, so the offer is in the 200). */
export async function phoneAnswers(peer: FakePeer, options: { recordRoute?: string[]; contact?: string } = {}) {
  const invite = await peer.waitFor(isPhoneInvite);
  const contact = options.contact ?? peer.contact('phone');
  await peer.respond(invite, 180, { toTag: PHONE_TAG, contact });
  const ok = await peer.respond(invite, 200, { toTag: PHONE_TAG, contact, body: offerSdp(4000, '111', 1), ...(options.recordRoute && { recordRoute: options.recordRoute }) });
  return { invite, ok };
}

/** The whole RFC 3725 flow up to connected; returns the requests the peer answered. */
export async function connect(h: Harness, call: ClickToCall, options: { recordRoute?: string[] } = {}) {
  const { invite: phoneInvite } = await phoneAnswers(h.peer, options);
  const targetInvite = await h.peer.waitFor(isTargetInvite);
  await h.peer.respond(targetInvite, 180, { toTag: TARGET_TAG, contact: h.peer.contact('target') });
  await h.peer.respond(targetInvite, 200, { toTag: TARGET_TAG, contact: h.peer.contact('target'), body: offerSdp(5000, '222', 1) });
  const reinvite = await h.peer.waitFor(isRequest('INVITE', (r) => r.uri.startsWith('sip:phone@') || callIdOf(r) === callIdOf(phoneInvite) && cseqOf(r) === '2 INVITE'));
  await h.peer.respond(reinvite, 200, { contact: h.peer.contact('phone'), body: offerSdp(4000, '111', 2) });
  await statusReached(call, 'connected');
  return { phoneInvite, targetInvite, reinvite };
}

// ---- a clock the test moves ----
//
// The agent's timers run on vitest's fake clock while its datagrams travel for
// real; the clock only moves once everything in flight has been taken in, so a
// busy machine cannot shift what a test reads.

/** Counts datagrams each side sent and the agent took in, so that the test knows when the wire is quiet. */
export function watchWire() {
  const counts = { agentSent: 0, peerSent: 0, agentReceived: 0 };
  const send = UdpTransport.prototype.send;
  vi.spyOn(UdpTransport.prototype, 'send').mockImplementation(function (this: UdpTransport, ...args) {
    counts.agentSent++;
    return send.apply(this, args);
  });
  const peerSend = FakePeer.prototype.send;
  vi.spyOn(FakePeer.prototype, 'send').mockImplementation(function (this: FakePeer, ...args) {
    counts.peerSent++;
    return peerSend.apply(this, args);
  });
  const receive = (SipCore.prototype as unknown as { receive: (...a: unknown[]) => void }).receive;
  vi.spyOn(SipCore.prototype as unknown as { receive: (...a: unknown[]) => void }, 'receive').mockImplementation(function (this: SipCore, ...args) {
    counts.agentReceived++;
    return receive.apply(this, args);
  });
  return counts;
}

/** Waits (on the real event loop, not on the fake clock) until every datagram sent has been taken in. */
export async function quiet(harness: Harness, counts: ReturnType<typeof watchWire>): Promise<void> {
  while (harness.peer.received.length < counts.agentSent || counts.agentReceived < counts.peerSent) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Moves the fake clock timer by timer, letting the wire settle between, until `done` settles. */
export async function runClock(harness: Harness, counts: ReturnType<typeof watchWire>, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  for (;;) {
    await quiet(harness, counts);
    await new Promise((resolve) => setImmediate(resolve));
    if (finished) return;
    if (vi.getTimerCount() === 0) throw new Error('no timer left, and the call has not ended');
    await vi.advanceTimersToNextTimerAsync();
  }
}

/** Moves the fake clock by `ms`, one millisecond at a time, letting the wire settle after each step. */
export async function advanceBy(harness: Harness, counts: ReturnType<typeof watchWire>, ms: number): Promise<void> {
  await quiet(harness, counts);
  for (let i = 0; i < ms; i++) {
    await vi.advanceTimersByTimeAsync(1);
    await quiet(harness, counts);
  }
}

/** Waits until `n` messages matching have arrived. */
export async function arrived(harness: Harness, match: Match, n: number): Promise<void> {
  while (harness.peer.all(match).length < n) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Timers, Date and performance.now() on vitest's fake clock; sockets stay real.
 * Install it before the call starts so that the call's own timers are fake too.
 * The clock stands still until the test moves it, but what is due now (a
 * zero-delay timer) still runs, as on a real event loop.
 */
export function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  const runDue = () => {
    if (!vi.isFakeTimers()) return;
    vi.advanceTimersByTime(0);
    setImmediate(runDue);
  };
  setImmediate(runDue);
}

/** The first message matching that has arrived. */
export function firstOf<T extends SipMessage = SipRequest>(harness: Harness, match: Match): T {
  const found = harness.peer.all(match)[0];
  if (!found) throw new Error(`fake peer: nothing matching yet; received:\n${harness.peer.summary()}`);
  return found.message as T;
}
