import { randomUUID } from 'node:crypto';
import type { Phone } from '../domain/directory.js';
import { ringingSnapshot, type CallSnapshot, type ThirdPartyCallRequest, type EndedBy } from '../sip/index.js';
import type { CallController, ControlledCall } from './service.js';

export interface SimulationTimings {
  /** The employee picks up after this long. */
  phoneAnswerMs: number;
  /** The number rings this long before it answers (or is busy, or unknown). */
  targetRingMs: number;
  /** The conversation lasts this long, then the number hangs up. */
  talkMs: number;
  /** A number that "never answers" gives up after this long. */
  targetRingTimeoutMs: number;
}

export const DEMO_TIMINGS: SimulationTimings = { phoneAnswerMs: 2000, targetRingMs: 4000, talkMs: 45_000, targetRingTimeoutMs: 30_000 };

/**
 * The outcome a simulated number gives, by its last three digits, so that a
 * sandbox can try every branch: ...486 is busy, ...404 does not exist, ...408
 * never answers, ...603 declines; any other number answers.
 */
export function simulatedOutcome(number: string): { code: number; failure: string } | null {
  const tail = number.slice(-3);
  switch (tail) {
    case '486':
      return { code: 486, failure: 'the number is busy (486)' };
    case '404':
      return { code: 404, failure: 'the number does not exist (404)' };
    case '408':
      return { code: 408, failure: 'the number did not answer (408)' };
    case '603':
      return { code: 603, failure: 'the number declined the call (603)' };
    default:
      return null;
  }
}

/** A simulated call rings no phone: any phone of the account can place one. */
export const simulatedPhoneUri = (phone: Phone): string => `sip:${phone.internalNumber ?? phone.number.replace(/^\+/, '')}@simulated.invalid`;

/**
 * Click-to-call without a phone system: each call goes through the same
 * states as a real one on timers. For the sandbox (`sipsim serve --demo`) and
 * for tests of everything around the calls; it places no call anywhere.
 */
export class SimulatedController implements CallController {
  readonly description = 'simulated (no SIP: calls go through their states on timers)';
  private readonly calls = new Set<SimulatedCall>();

  constructor(private readonly timings: SimulationTimings = DEMO_TIMINGS) {}

  placeCall(request: ThirdPartyCallRequest): ControlledCall {
    const call = new SimulatedCall(request, this.timings, () => this.calls.delete(call));
    this.calls.add(call);
    return call;
  }

  async close(): Promise<void> {
    await Promise.all([...this.calls].map((c) => c.hangup('shutdown')));
  }
}

class SimulatedCall implements ControlledCall {
  private snap: CallSnapshot;
  private readonly listeners = new Set<(s: CallSnapshot) => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    request: ThirdPartyCallRequest,
    private readonly timings: SimulationTimings,
    private readonly done: () => void,
  ) {
    const number = request.number ?? '';
    this.snap = ringingSnapshot(randomUUID(), request.phoneUri, `sip:${number.replace(/^\+/, '')}@simulated.invalid`, request.number ?? null);
    this.after(timings.phoneAnswerMs, () => this.phoneAnswered());
  }

  snapshot(): CallSnapshot {
    return { ...this.snap };
  }

  on(_event: 'state', listener: (s: CallSnapshot) => void): this {
    this.listeners.add(listener);
    return this;
  }

  async hangup(endedBy: EndedBy = 'api'): Promise<CallSnapshot> {
    if (this.snap.endedAt === null) {
      if (this.snap.targetAnsweredAt !== null) this.end('completed', 200, endedBy, null);
      else this.end('failed', 487, endedBy, this.snap.status === 'ringing_phone' ? 'hung up before the employee answered' : 'hung up while the target rang');
    }
    return this.snapshot();
  }

  private phoneAnswered(): void {
    this.set({ status: 'ringing_target', phoneAnsweredAt: Date.now(), targetCallId: randomUUID() });
    const outcome = simulatedOutcome(this.snap.number ?? '');
    if (outcome?.code === 408) return this.after(this.timings.targetRingTimeoutMs, () => this.end('failed', 408, 'timeout', outcome.failure));
    this.after(this.timings.targetRingMs, () => {
      if (outcome) return this.end('failed', outcome.code, 'target', outcome.failure);
      const now = Date.now();
      this.set({ status: 'connected', targetAnsweredAt: now, connectedAt: now });
      this.after(this.timings.talkMs, () => this.end('completed', 200, 'target', null));
    });
  }

  private end(status: 'completed' | 'failed', sipCode: number, endedBy: EndedBy, failure: string | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.set({ status, sipCode, endedBy, failure, endedAt: Date.now() });
    this.done();
  }

  private after(ms: number, then: () => void): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      then();
    }, ms);
  }

  private set(change: Partial<CallSnapshot>): void {
    this.snap = { ...this.snap, ...change };
    for (const listener of this.listeners) listener(this.snapshot());
  }
}
