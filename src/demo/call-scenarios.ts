import { randomInt } from 'node:crypto';

/**
 * The events a phone system reports for a call of each kind, in SIPSIM's
 * order and shapes, with their offsets from the first ring. Shared by
 * `sipsim trigger` and the live demo calls of `sipsim serve --demo --live`.
 */

/** One event of a call: when, in seconds from the first ring, and its fields but the time. */
export interface Step {
  at: number;
  event: string;
  caller: string;
  receiver: string;
  duration?: number;
  status?: string;
  sip_code?: number;
}

export const RING_SECONDS = 4;
export const VOICEMAIL_SECONDS = 8;

/** A French mobile number nobody has, as callers in the demo data. */
export const someMobile = (): string => `+336${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;

export type IncomingKind = 'answered' | 'missed' | 'voicemail' | 'busy';

/** The events SIPSIM sends for an incoming call of this kind, with their offsets. */
export function incomingSteps(kind: IncomingKind, caller: string, receiver: string, chain: string[], talk: number): Step[] {
  const steps: Step[] = [{ at: 0, event: 'incoming_call_start', caller, receiver }];
  if (kind === 'busy') {
    steps.push({ at: 1, event: 'incoming_call_end', caller, receiver, duration: 0, status: 'BUSY', sip_code: 486 });
    return steps;
  }
  let at = 0;
  chain.forEach((member, i) => {
    steps.push({ at, event: 'incoming_call_start_chain_member_call', caller, receiver: member });
    const last = i === chain.length - 1;
    if (kind === 'answered' && last) {
      steps.push({ at: at + RING_SECONDS, event: 'incoming_call_answer', caller, receiver: member });
    } else {
      at += RING_SECONDS;
      steps.push({ at, event: 'incoming_call_end_chain_member_call', caller, receiver: member });
    }
  });
  if (kind === 'answered') {
    const answeredAt = at + RING_SECONDS;
    steps.push({ at: answeredAt + talk, event: 'incoming_call_end', caller, receiver, duration: talk, status: 'ANSWER', sip_code: 200 });
  } else {
    steps.push({ at: at + 1, event: 'incoming_call_end', caller, receiver, duration: 0, status: 'MISSED', sip_code: 487 });
    if (kind === 'voicemail') steps.push({ at: at + 1 + VOICEMAIL_SECONDS, event: 'voicemail', caller, receiver, duration: VOICEMAIL_SECONDS });
  }
  return steps.sort((a, b) => a.at - b.at);
}

export type OutgoingKind = 'answered' | 'busy' | 'no-answer';

export function outgoingSteps(kind: OutgoingKind, caller: string, receiver: string, talk: number): Step[] {
  const steps: Step[] = [{ at: 0, event: 'outgoing_call_start', caller, receiver }];
  if (kind === 'busy') steps.push({ at: 2, event: 'outgoing_call_end', caller, receiver, duration: 0, status: 'BUSY', sip_code: 486 });
  else if (kind === 'no-answer') steps.push({ at: 6 * RING_SECONDS, event: 'outgoing_call_end', caller, receiver, duration: 0, status: 'NOANSWER', sip_code: 480 });
  else {
    steps.push({ at: RING_SECONDS, event: 'outgoing_call_answer', caller, receiver });
    steps.push({ at: RING_SECONDS + talk, event: 'outgoing_call_end', caller, receiver, duration: talk, status: 'ANSWER', sip_code: 200 });
  }
  return steps;
}

