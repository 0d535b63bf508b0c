/**
 * A third-party call (RFC 3725): sipsim, as the controller, calls the
 * employee's phone and the target and connects the two. This is what
 * click-to-call places over SIP.
 *
 * The flow is RFC 3725 §4.3 ("Flow III"), chosen because the employee's
 * phone must be answered and ACKed at once: a controller that holds the
 * ACK until the target answers (Flow I) loses the phone's leg when the
 * target rings longer than 64*T1 = 32 s.
 *
 *   phone                  sipsim                   target (via proxy)
 *     |<-- INVITE (no SDP) ---|                          |
 *     |--- 180, 200 offer1 -->|                          |
 *     |<-- ACK hold answer1 --|   the phone is parked    |
 *     |                       |--- INVITE (no SDP) ----->|
 *     |                       |<-- 180 ... 200 offer2 ---|
 *     |<-- re-INVITE offer2' -|                          |
 *     |--- 200 answer2' ----->|                          |
 *     |<-- ACK ---------------|--- ACK answer2 --------->|
 *     |<================== RTP =========================>|
 *
 * answer1 accepts each of the phone's streams but points it at 0.0.0.0 and
 * marks it inactive, so the phone keeps the call while nothing flows. The
 * target gets no offer in its INVITE (a late offer), so that the offer it
 * makes in its 200 can go to the phone as is once it answers.
 *
 * Over 500 lines because the flow above is one sequence: each step, its
 * timer and its way of failing stay in the order the diagram shows.
 */
import { SipCore, type SipLogger, type SipTraceEvent } from './core.js';
import type { DigestCredentials } from './digest.js';
import { InviteLeg, type OfferOutcome } from './leg.js';
import type { SipResponse } from './message.js';
import { tryHoldAnswer } from './sdp.js';
import type { TimerConfig } from './transaction.js';
import { formatUri, parseUri, type SipUri } from './uri.js';

export type ThirdPartyCallStatus = 'ringing_phone' | 'ringing_target' | 'connected' | 'completed' | 'failed';

/** Who ended the call: a party hanging up, the API (hangup), a ring or duration timeout, an error, or the agent closing. */
export type EndedBy = 'phone' | 'target' | 'api' | 'timeout' | 'error' | 'shutdown';

export interface CallSnapshot {
  id: string;
  status: ThirdPartyCallStatus;
  phoneUri: string;
  targetUri: string;
  /** The number dialled, when the call was made to a number. */
  number: string | null;
  /** Unix milliseconds. */
  startedAt: number;
  phoneAnsweredAt: number | null;
  /** When the target answered: the call's answered time. */
  targetAnsweredAt: number | null;
  /** When the media of the two phones were connected. */
  connectedAt: number | null;
  endedAt: number | null;
  /**
   * The call's final SIP code, once it ended: 200 when the target answered;
   * else the target's final response, or the phone's when the phone never
   * answered; 487 when hung up through the API before an answer; 408 on a
   * ring timeout. Map it with sipStatusFromCode (src/domain/call.ts).
   */
  sipCode: number | null;
  /** Why a failed call failed, in words. */
  failure: string | null;
  endedBy: EndedBy | null;
  /** SIP Call-IDs of the two legs, to find them in a PBX's logs. */
  phoneCallId: string;
  targetCallId: string | null;
}

export interface CallerId {
  /** The user part: a phone number or an extension. */
  number: string;
  name?: string;
}

export interface ThirdPartyCallRequest {
  /**
   * The employee's phone: an AoR at the registrar (`sip:101@pbx.example.org`),
   * reached through the outbound proxy, or a contact URI reached directly
   * (`sip:101@192.0.2.10:5062`, with `phoneRoute: 'direct'`).
   */
  phoneUri: string;
  /** 'proxy' (the default when an outbound proxy is configured) or 'direct'. */
  phoneRoute?: 'proxy' | 'direct';
  /** The number to call; it becomes a URI at the configured domain (see `numberToUri`). */
  number?: string;
  /** A full target URI instead of a number. */
  targetUri?: string;
  /** Who the target sees calling: the employee. */
  callerId?: CallerId;
  /** Who the employee's phone shows calling it; the target number by default. */
  phoneCallerId?: CallerId;
  phoneRingTimeoutMs?: number;
  targetRingTimeoutMs?: number;
  /** Extra headers for the INVITE to the phone (Call-Info: answer-after=0, Alert-Info...). */
  phoneHeaders?: Array<[string, string]>;
  /** Extra headers for the INVITE to the target (P-Asserted-Identity...). */
  targetHeaders?: Array<[string, string]>;
}

export interface SipAgentOptions {
  /** Address to bind, 0.0.0.0 by default. */
  listenHost?: string;
  /** UDP port, 5060 by default; 0 takes a free one (see `address`). */
  listenPort?: number;
  /** Host written in Via and Contact when peers must reach us elsewhere (NAT, 0.0.0.0). */
  publicHost?: string;
  publicPort?: number;
  /** The proxy every call goes through, e.g. `sip:pbx.example.org:5060`; loose routing is assumed. */
  outboundProxy?: string;
  /** Domain of the target URIs made from numbers and of our From headers. */
  domain: string;
  /** Digest credentials, answered to 401 and 407 challenges. */
  credentials?: DigestCredentials & { realm?: string };
  /** How long the employee's phone may ring, 30 s by default. */
  phoneRingTimeoutMs?: number;
  /** How long the target may ring, 60 s by default. */
  targetRingTimeoutMs?: number;
  /** Hard cap on a connected call, none by default. */
  maxCallDurationMs?: number;
  /** Write numbers without their leading '+' in target URIs (for proxies that expect digits). */
  stripPlus?: boolean;
  /** Default caller id shown to targets. */
  callerId?: CallerId;
  userAgent?: string;
  /** RFC 3261 timers; tests shorten T1. */
  timers?: Partial<TimerConfig>;
  logger?: SipLogger;
  /** Called with every datagram sent and received. */
  trace?: (event: SipTraceEvent) => void;
  /** How long close() waits for calls to hang up cleanly, 5 s by default. */
  closeTimeoutMs?: number;
}

export class InvalidNumberError extends Error {
  override name = 'InvalidNumberError';
}

/**
 * The one place where a dialled number becomes a SIP URI:
 * `+33 6 12-34-56-78` → `sip:+33612345678@domain` (`sip:33612345678@domain`
 * with stripPlus). Visual separators go; anything but digits, a leading '+',
 * '*' and '#' is refused.
 */
export function numberToUri(number: string, options: { domain: string; stripPlus?: boolean }): string {
  const compact = number.replace(/[\s.\-()/]/g, '');
  if (!/^\+?[0-9*#]{1,32}$/.test(compact) || !/[0-9]/.test(compact)) throw new InvalidNumberError(`not a phone number: ${number}`);
  const user = (options.stripPlus ? compact.replace(/^\+/, '') : compact).replace(/#/g, '%23');
  return formatUri({ ...parseUri(`sip:${options.domain}`), user });
}

type Listener = (snapshot: CallSnapshot) => void;

const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

const describe = (who: string, response: SipResponse): string => {
  const code = `${response.status} ${response.reason}`.trim();
  switch (response.status) {
    case 486:
    case 600:
      return `${who} is busy (${code})`;
    case 408:
    case 480:
      return `${who} did not answer (${code})`;
    case 404:
    case 410:
    case 484:
    case 604:
      return `${who} does not exist (${code})`;
    case 603:
      return `${who} declined the call (${code})`;
    case 487:
      return `${who} stopped ringing (${code})`;
    default:
      return `${who} could not be reached (${code})`;
  }
};

/** A call as it starts: the employee's phone rings, nothing else has happened. */
export function ringingSnapshot(callId: string, phoneUri: string, targetUri: string, number: string | null): CallSnapshot {
  return {
    id: callId,
    status: 'ringing_phone',
    phoneUri,
    targetUri,
    number,
    startedAt: Date.now(),
    phoneAnsweredAt: null,
    targetAnsweredAt: null,
    connectedAt: null,
    endedAt: null,
    sipCode: null,
    failure: null,
    endedBy: null,
    phoneCallId: callId,
    targetCallId: null,
  };
}

/** One third-party call: the phone's leg and the target's, their state, and the call's snapshot. */
export class ThirdPartyCall {
  readonly id: string;
  /** Resolves with the final snapshot once both legs are torn down. */
  readonly ended: Promise<CallSnapshot>;
  private snap: CallSnapshot;
  private readonly listeners = new Set<Listener>();
  private readonly phone: InviteLeg;
  private target: InviteLeg | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private resolveEnded!: (snapshot: CallSnapshot) => void;
  private connecting = false;
  private forwarding = false;

  /** @internal Made by SipAgent.placeCall. */
  constructor(
    private readonly core: SipCore,
    private readonly settings: {
      phoneUri: string;
      phoneRoute: string[];
      targetUri: string;
      targetRoute: string[];
      number: string | null;
      phoneFrom: string;
      targetFrom: string;
      phoneRingTimeoutMs: number;
      targetRingTimeoutMs: number;
      maxCallDurationMs: number | undefined;
      phoneHeaders: Array<[string, string]>;
      targetHeaders: Array<[string, string]>;
    },
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.phone = new InviteLeg(
      core,
      { requestUri: settings.phoneUri, from: settings.phoneFrom, to: `<${settings.phoneUri}>`, route: settings.phoneRoute, headers: settings.phoneHeaders },
      {
        answered: (response) => this.phoneAnswered(response),
        failed: (response) => this.phoneFailed(response),
        ended: (by, detail) => this.legEnded('phone', by, detail),
        offer: (sdp) => this.offerFrom('phone', sdp),
      },
      'phone leg',
    );
    this.id = this.phone.callId;
    this.snap = ringingSnapshot(this.id, settings.phoneUri, settings.targetUri, settings.number);
  }

  /** @internal */
  start(): void {
    this.phone.start();
    this.timer(this.settings.phoneRingTimeoutMs, () => {
      if (this.snap.status !== 'ringing_phone') return;
      this.finish('failed', 408, 'timeout', `the employee's phone did not answer within ${duration(this.settings.phoneRingTimeoutMs)}`);
    });
    // Listeners attached right after placeCall() still see the first state.
    queueMicrotask(() => this.emit());
  }

  snapshot(): CallSnapshot {
    return { ...this.snap };
  }

  get active(): boolean {
    return this.snap.endedAt === null;
  }

  on(event: 'state', listener: Listener): this {
    if (event === 'state') this.listeners.add(listener);
    return this;
  }

  off(event: 'state', listener: Listener): this {
    if (event === 'state') this.listeners.delete(listener);
    return this;
  }

  /**
   * Hangs up whatever the state: CANCEL to a ringing leg, BYE to an answered
   * one. The call ends at once (sipCode 487 if no one answered yet); the
   * promise resolves when the SIP legs are torn down.
   */
  hangup(endedBy: EndedBy = 'api'): Promise<CallSnapshot> {
    if (this.snap.endedAt === null) {
      if (this.snap.targetAnsweredAt !== null) this.finish('completed', 200, endedBy, null);
      else {
        const when = this.snap.status === 'ringing_phone' ? 'before the employee answered' : 'while the target rang';
        this.finish('failed', 487, endedBy, `hung up ${when}`);
      }
    }
    return this.ended;
  }

  /** @internal The agent is closing and cannot wait any longer. */
  dispose(): void {
    this.clearTimers();
    this.phone.dispose();
    this.target?.dispose();
  }

  // ---- the phone leg ----

  private phoneAnswered(response: SipResponse): string | undefined {
    const hold = tryHoldAnswer(response.body);
    if (this.snap.endedAt !== null) return hold;
    this.snap.phoneAnsweredAt = Date.now();
    if (!hold) {
      // We sent no offer, so the 200 had to carry one (RFC 3261 §13.2.1) that we can answer.
      this.finish('failed', 488, 'error', `the employee's phone answered ${response.body ? 'with an SDP offer that cannot be read' : 'without an SDP offer'}`);
      return undefined;
    }
    this.snap.status = 'ringing_target';
    this.emit();
    // The ACK with the hold answer goes first; the target is called right after.
    this.timer(0, () => this.callTarget());
    return hold;
  }

  private phoneFailed(response: SipResponse): void {
    if (this.snap.endedAt !== null) return;
    const endedBy: EndedBy = response.local ? (response.status === 408 ? 'timeout' : 'error') : 'phone';
    this.finish('failed', response.status, endedBy, describe("the employee's phone", response));
  }

  // ---- the target leg ----

  private callTarget(): void {
    if (this.snap.endedAt !== null) return;
    const s = this.settings;
    this.target = new InviteLeg(
      this.core,
      { requestUri: s.targetUri, from: s.targetFrom, to: `<${s.targetUri}>`, route: s.targetRoute, headers: s.targetHeaders },
      {
        answered: (response) => this.targetAnswered(response),
        failed: (response) => this.targetFailed(response),
        ended: (by, detail) => this.legEnded('target', by, detail),
        offer: (sdp) => this.offerFrom('target', sdp),
      },
      'target leg',
    );
    this.snap.targetCallId = this.target.callId;
    this.target.start();
    this.timer(s.targetRingTimeoutMs, () => {
      if (this.snap.status !== 'ringing_target' || this.snap.targetAnsweredAt !== null) return;
      this.finish('failed', 408, 'timeout', `the target did not answer within ${duration(s.targetRingTimeoutMs)}`);
    });
  }

  /** The target answered with its offer: it goes to the phone in a re-INVITE, whose answer goes in the target's ACK. */
  private async targetAnswered(response: SipResponse): Promise<string | undefined> {
    const hold = tryHoldAnswer(response.body);
    if (this.snap.endedAt !== null) return hold;
    this.snap.targetAnsweredAt = Date.now();
    if (!hold) {
      this.finish('failed', 488, 'error', `the target answered ${response.body ? 'with an SDP offer that cannot be read' : 'without an SDP offer'}`);
      return undefined;
    }
    this.connecting = true;
    const result = await this.phone.reinvite(response.body!);
    this.connecting = false;
    if (this.snap.endedAt !== null) return result.ok ? result.answer : hold;
    if (!result.ok) {
      // The call cannot go on: the target is ACKed (a valid answer is owed) and both legs are hung up.
      const code = result.status >= 300 ? result.status : 500;
      this.finish('failed', code, 'error', `could not connect the employee's phone to the target (re-INVITE: ${result.status} ${result.reason})`);
      return hold;
    }
    const now = Date.now();
    this.snap.status = 'connected';
    this.snap.connectedAt = now;
    this.emit();
    const cap = this.settings.maxCallDurationMs;
    if (cap !== undefined) this.timer(cap, () => this.hangup('timeout'));
    return result.answer;
  }

  private targetFailed(response: SipResponse): void {
    if (this.snap.endedAt !== null) return;
    const endedBy: EndedBy = response.local ? (response.status === 408 ? 'timeout' : 'error') : 'target';
    this.finish('failed', response.status, endedBy, describe('the target', response));
  }

  // ---- either leg ----

  private legEnded(leg: 'phone' | 'target', by: 'remote' | 'local', detail: string): void {
    if (this.snap.endedAt !== null || by === 'local') return;
    this.core.log.debug(`sip: call ${this.id}: ${leg} leg ended (${detail})`);
    if (this.snap.targetAnsweredAt !== null) {
      this.finish('completed', 200, leg, null);
    } else {
      // The phone hung up while the target rang: the target's INVITE is cancelled.
      this.finish('failed', 487, leg, leg === 'phone' ? 'the employee hung up before the target answered' : 'the target left the call before it was connected');
    }
  }

  /**
   * An offer from one side. While the target rings the phone stays parked
   * (it gets a hold answer); once connected the offer goes to the other
   * side and its answer comes back (RFC 3725 §4.2 forwarding).
   */
  private async offerFrom(leg: 'phone' | 'target', sdp: string): Promise<OfferOutcome> {
    if (this.snap.endedAt !== null) return { status: 481 };
    if (this.snap.status === 'ringing_target' && leg === 'phone' && !this.connecting) {
      const hold = tryHoldAnswer(sdp);
      return hold ? { status: 200, sdp: hold } : { status: 488 };
    }
    if (this.snap.status !== 'connected' || this.forwarding) return { status: 491 };
    // Only a description we can read goes on to the other side.
    if (!tryHoldAnswer(sdp)) return { status: 488 };
    const other = leg === 'phone' ? this.target! : this.phone;
    this.forwarding = true;
    try {
      const result = await other.reinvite(sdp);
      if (result.ok) return { status: 200, sdp: result.answer };
      return { status: result.status >= 400 ? result.status : 488, reason: result.reason };
    } finally {
      this.forwarding = false;
    }
  }

  // ---- bookkeeping ----

  private finish(status: 'completed' | 'failed', sipCode: number, endedBy: EndedBy, failure: string | null): void {
    if (this.snap.endedAt !== null) return;
    this.clearTimers();
    Object.assign(this.snap, { status, sipCode, endedBy, failure, endedAt: Date.now() });
    this.core.log.info(`sip: call ${this.id} ${status} (${sipCode}${failure ? `: ${failure}` : ''}, ended by ${endedBy})`);
    this.emit();
    void Promise.all([this.phone.end(), this.target?.end()]).then(() => this.resolveEnded(this.snapshot()));
  }

  private emit(): void {
    const snapshot = this.snapshot();
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        this.core.log.error(`sip: a state listener threw: ${(error as Error).message}`);
      }
    }
  }

  private timer(ms: number, fn: () => void): void {
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
  }

  private clearTimers(): void {
    for (const handle of this.timers) clearTimeout(handle);
    this.timers.clear();
  }
}

/** The SIP user agent that places third-party calls (the calls click-to-call asks for). */
export class SipAgent {
  private readonly active = new Map<string, ThirdPartyCall>();
  private readonly proxyRoute: string[];
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly core: SipCore,
    private readonly options: SipAgentOptions,
  ) {
    this.proxyRoute = options.outboundProxy ? [`<${formatUri(looseRoute(parseUri(options.outboundProxy)))}>`] : [];
  }

  static async start(options: SipAgentOptions): Promise<SipAgent> {
    if (options.outboundProxy) parseUri(options.outboundProxy); // refuse a bad proxy before binding
    const core = await SipCore.start({
      listenHost: options.listenHost ?? '0.0.0.0',
      listenPort: options.listenPort ?? 5060,
      ...(options.publicHost !== undefined && { publicHost: options.publicHost }),
      ...(options.publicPort !== undefined && { publicPort: options.publicPort }),
      ...(options.credentials !== undefined && { credentials: options.credentials }),
      ...(options.timers !== undefined && { timers: options.timers }),
      ...(options.userAgent !== undefined && { userAgent: options.userAgent }),
      ...(options.logger !== undefined && { logger: options.logger }),
      ...(options.trace !== undefined && { trace: options.trace }),
    });
    return new SipAgent(core, options);
  }

  /** Where the socket is bound (the actual port when 0 was asked). */
  get address(): { host: string; port: number } {
    return this.core.address;
  }

  /** The URI a number is called at. */
  targetUri(number: string): string {
    return numberToUri(number, { domain: this.options.domain, ...(this.options.stripPlus !== undefined && { stripPlus: this.options.stripPlus }) });
  }

  /** Starts a call: rings the phone now, the target once the phone answers. Throws on a bad URI or number. */
  placeCall(request: ThirdPartyCallRequest): ThirdPartyCall {
    if (this.closing) throw new Error('the SIP agent is closing');
    const phoneUri = formatUri(parseUri(request.phoneUri));
    let targetUri: string;
    if (request.targetUri !== undefined) targetUri = formatUri(parseUri(request.targetUri));
    else if (request.number !== undefined) targetUri = this.targetUri(request.number);
    else throw new InvalidNumberError('a number or a target URI is required');

    const domain = this.options.domain;
    const from = (id: CallerId) => {
      const user = id.number.replace(/[\s.\-()/]/g, '');
      const uri = formatUri({ ...parseUri(`sip:${domain}`), user: user || 'anonymous' });
      return `${id.name ? `"${id.name.replace(/(["\\])/g, '\\$1')}" ` : ''}<${uri}>`;
    };
    const targetUser = parseUri(targetUri).user ?? 'unknown';
    const phoneCallerId = request.phoneCallerId ?? { number: request.number ?? targetUser, name: request.number ?? decodeURIComponent(targetUser) };
    const callerId = request.callerId ?? this.options.callerId ?? { number: 'sipsim' };
    const viaProxy = (request.phoneRoute ?? (this.options.outboundProxy ? 'proxy' : 'direct')) === 'proxy';
    if (viaProxy && !this.options.outboundProxy) throw new Error("phoneRoute 'proxy' needs an outbound proxy");

    const call = new ThirdPartyCall(this.core, {
      phoneUri,
      phoneRoute: viaProxy ? this.proxyRoute : [],
      targetUri,
      targetRoute: this.proxyRoute,
      number: request.number ?? null,
      phoneFrom: from(phoneCallerId),
      targetFrom: from(callerId),
      phoneRingTimeoutMs: request.phoneRingTimeoutMs ?? this.options.phoneRingTimeoutMs ?? 30000,
      targetRingTimeoutMs: request.targetRingTimeoutMs ?? this.options.targetRingTimeoutMs ?? 60000,
      maxCallDurationMs: this.options.maxCallDurationMs,
      phoneHeaders: request.phoneHeaders ?? [],
      targetHeaders: request.targetHeaders ?? [],
    });
    this.active.set(call.id, call);
    void call.ended.then(() => this.active.delete(call.id));
    call.start();
    return call;
  }

  /** Calls in progress (not yet torn down). */
  calls(): ThirdPartyCall[] {
    return [...this.active.values()];
  }

  call(id: string): ThirdPartyCall | undefined {
    return this.active.get(id);
  }

  /** Hangs up every call, waits for the legs to end (at most closeTimeoutMs), and closes the socket. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const calls = this.calls();
      const ended = Promise.all(calls.map((call) => call.hangup('shutdown')));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.closeTimeoutMs ?? 5000)));
      await Promise.race([ended, timeout]);
      clearTimeout(timer);
      for (const call of calls) call.dispose();
      await this.core.close();
    })();
    return this.closing;
  }
}

/** The outbound proxy as a Route entry: a loose router (`;lr`), as every RFC 3261 proxy is. */
function looseRoute(uri: SipUri): SipUri {
  return { ...uri, params: { ...uri.params, lr: null }, headers: {} };
}
