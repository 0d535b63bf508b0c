import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sipStatusFromCode } from '../../src/domain/call.js';
import { SipAgent, type CallSnapshot, type ThirdPartyCall } from '../../src/sip/index.js';
import { parseMessage } from '../../src/sip/message.js';
import { mediaAddresses } from '../../src/sip/sdp.js';
import { requireSipLab, SIP_LAB_NOTICE, SIP_LAB_READY, startSipLab, type Phone, type SipLab } from '../helpers/sip-lab.js';

/**
 * Click-to-call against real peers: Kamailio with the example config as
 * registrar and proxy, baresip soft phones registered with it, and sipsim's
 * SIP agent placing the calls through Kamailio as its outbound proxy.
 *
 * 101 is the employee's phone and answers by itself; 102 is an employee
 * phone nobody picks up; 33612345678 is the customer, driven by the test.
 * Media is proven by baresip itself: each phone logs the address it
 * receives RTP from, which must be the other phone's.
 */

const CUSTOMER = '33612345678';
const CUSTOMER_E164 = '+33612345678';
const UNKNOWN_E164 = '+33699999999';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kamailio posts each call's events to sipsim; here a sink takes them (202) and keeps them. */
async function startEventSink(): Promise<{ url: string; posts: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const posts: Array<Record<string, unknown>> = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      try {
        posts.push(JSON.parse(body) as Record<string, unknown>);
      } catch {
        posts.push({ unparsable: body });
      }
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end('{"status":"success"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function expectTimesOrdered(s: CallSnapshot): void {
  const times = [s.startedAt, s.phoneAnsweredAt, s.targetAnsweredAt, s.connectedAt, s.endedAt].filter((t): t is number => t !== null);
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  expect(s.endedAt).not.toBeNull();
}

describe.runIf(SIP_LAB_READY)('click-to-call through Kamailio to baresip phones', () => {
  let lab: SipLab | undefined;
  let sink: Awaited<ReturnType<typeof startEventSink>> | undefined;
  let agent: SipAgent | undefined;
  /** Every datagram the agent sent and received. */
  const trace: Array<{ direction: 'in' | 'out'; text: string }> = [];

  beforeAll(async () => {
    requireSipLab();
    sink = await startEventSink();
    lab = await startSipLab({
      sipsimUrl: sink.url,
      clientId: 'unused',
      clientSecret: 'unused',
      // Kamailio must not end the 40 s ring itself: our own ring timeouts apply.
      ringTimeoutMs: 90000,
      phones: [
        { user: '101', displayName: 'Alice Martin', autoAnswer: true },
        { user: '102', displayName: 'Bob Durand' },
        { user: CUSTOMER, displayName: 'Claire Client' },
      ],
    });
    agent = await SipAgent.start({
      listenHost: '127.0.0.1',
      listenPort: 0,
      outboundProxy: `sip:127.0.0.1:${lab.kamailio.port}`,
      domain: '127.0.0.1',
      // The lab's phones register digits, not E.164.
      stripPlus: true,
      callerId: { number: '101', name: 'Alice Martin' },
      phoneRingTimeoutMs: 3000,
      targetRingTimeoutMs: 60000,
      trace: (event) => trace.push({ direction: event.direction, text: event.text }),
    });
  }, 60000);

  afterAll(async () => {
    await agent?.close();
    await lab?.stop();
    await sink?.close();
  });

  const alice = () => lab!.phone('101');
  const bob = () => lab!.phone('102');
  const customer = () => lab!.phone(CUSTOMER);

  function dial(number: string, phoneUser = '101'): ThirdPartyCall {
    return agent!.placeCall({ phoneUri: `sip:${phoneUser}@127.0.0.1:${lab!.kamailio.port}`, number });
  }

  function reached(call: ThirdPartyCall, status: string, timeoutMs = 10000): Promise<CallSnapshot> {
    return new Promise((resolve, reject) => {
      const check = (s: CallSnapshot) => {
        if (s.status !== status) return false;
        clearTimeout(timer);
        call.off('state', check);
        resolve(s);
        return true;
      };
      const timer = setTimeout(() => reject(new Error(`call is ${call.snapshot().status}, not ${status}\n${lab!.logs()}`)), timeoutMs);
      if (!check(call.snapshot())) call.on('state', check);
    });
  }

  /** The audio port each peer of a leg put in the SDP it sent us. */
  function audioPortsFrom(callId: string): number[] {
    const ports = new Set<number>();
    for (const event of trace) {
      if (event.direction !== 'in') continue;
      const message = parseMessage(event.text);
      if (message.headers.get('Call-ID') !== callId || !message.body.startsWith('v=0')) continue;
      for (const m of mediaAddresses(message.body)) if (m.media === 'audio') ports.add(m.port);
    }
    return [...ports];
  }

  /** What arrived at the agent for a leg: start lines, for assertions on the flow. */
  function received(callId: string): string[] {
    return trace
      .filter((e) => e.direction === 'in')
      .map((e) => parseMessage(e.text))
      .filter((m) => m.headers.get('Call-ID') === callId)
      .map((m) => (m.kind === 'response' ? `${m.status} ${m.headers.get('CSeq')}` : `${m.method} ${m.headers.get('CSeq')}`));
  }

  /** Each phone logs where its RTP comes from: it must be the other phone's media port. */
  async function expectMediaBetween(phone: Phone, phoneMark: number, target: Phone, targetMark: number, snapshot: CallSnapshot): Promise<void> {
    const [phonePort] = audioPortsFrom(snapshot.phoneCallId);
    const [targetPort] = audioPortsFrom(snapshot.targetCallId!);
    expect(phonePort).toBeGreaterThan(0);
    expect(targetPort).toBeGreaterThan(0);
    expect(audioPortsFrom(snapshot.phoneCallId)).toEqual([phonePort]);
    await phone.waitFor(new RegExp(`incoming rtp for 'audio' established, receiving from 127\\.0\\.0\\.1:${targetPort}\\b`), { from: phoneMark, timeoutMs: 5000 });
    await target.waitFor(new RegExp(`incoming rtp for 'audio' established, receiving from 127\\.0\\.0\\.1:${phonePort}\\b`), { from: targetMark, timeoutMs: 5000 });
  }

  it('connects the employee and the customer, with RTP flowing between the two phones; the customer hangs up', async () => {
    const aliceMark = alice().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164);
    const states: string[] = [];
    call.on('state', (s) => states.push(s.status));
    await customer().waitForIncoming(customerMark, 10000);
    // The employee answered and is parked (held) while the customer rings.
    expect(call.snapshot().status).toBe('ringing_target');
    await alice().waitForEstablished(aliceMark);
    await customer().accept();
    const connected = await reached(call, 'connected');
    await customer().waitForEstablished(customerMark);
    await expectMediaBetween(alice(), aliceMark, customer(), customerMark, connected);
    expect(received(connected.phoneCallId)).toEqual(expect.arrayContaining(['200 1 INVITE', '200 2 INVITE']));

    await customer().hangup();
    const final = await call.ended;
    await alice().waitForCallEnd(aliceMark);
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'target', failure: null });
    expect(sipStatusFromCode(final.sipCode!)).toBe('answer');
    expect(final.phoneAnsweredAt).not.toBeNull();
    expect(final.targetAnsweredAt).not.toBeNull();
    expectTimesOrdered(final);
    expect(states).toEqual(['ringing_phone', 'ringing_target', 'connected', 'completed']);
    expect(agent!.calls()).toHaveLength(0);
  });

  it('ends the customer leg when the employee hangs up', async () => {
    const aliceMark = alice().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164);
    await customer().waitForIncoming(customerMark, 10000);
    await customer().accept();
    await reached(call, 'connected');
    await alice().waitFor(/incoming rtp for 'audio' established/, { from: aliceMark, timeoutMs: 5000 });
    await alice().hangup();
    const final = await call.ended;
    await customer().waitForCallEnd(customerMark);
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'phone' });
    expectTimesOrdered(final);
  });

  it('gives up on an employee phone that nobody answers: CANCEL after the ring timeout, 408, the customer never rings', async () => {
    const bobMark = bob().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164, '102');
    await bob().waitForIncoming(bobMark);
    const final = await call.ended;
    await bob().waitForCallEnd(bobMark);
    expect(final).toMatchObject({ status: 'failed', sipCode: 408, endedBy: 'timeout', phoneAnsweredAt: null, targetAnsweredAt: null, targetCallId: null });
    expect(sipStatusFromCode(final.sipCode!)).toBe('no_answer');
    expect(final.endedAt! - final.startedAt).toBeGreaterThanOrEqual(2900);
    expect(received(final.phoneCallId)).toEqual(expect.arrayContaining(['200 1 CANCEL', '487 1 INVITE']));
    expect(customer().log.slice(customerMark)).not.toMatch(/Incoming call/);
  });

  it('reports a busy customer (486) and hangs up the employee', async () => {
    const aliceMark = alice().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164);
    await customer().waitForIncoming(customerMark, 10000);
    await customer().hangup(); // baresip refuses a ringing call with 486
    const final = await call.ended;
    await alice().waitForCallEnd(aliceMark);
    expect(final).toMatchObject({ status: 'failed', sipCode: 486, endedBy: 'target', targetAnsweredAt: null });
    // baresip words its 486 "Rejected".
    expect(final.failure).toMatch(/^the target is busy \(486 /);
    expect(sipStatusFromCode(final.sipCode!)).toBe('busy');
    expect(final.phoneAnsweredAt).not.toBeNull();
    expectTimesOrdered(final);
  });

  it('reports an unknown number (404 from Kamailio) and hangs up the employee', async () => {
    const aliceMark = alice().mark();
    const call = dial(UNKNOWN_E164);
    const final = await call.ended;
    await alice().waitForCallEnd(aliceMark);
    expect(final).toMatchObject({ status: 'failed', sipCode: 404, endedBy: 'target', targetAnsweredAt: null });
    expect(sipStatusFromCode(final.sipCode!)).toBe('unavailable');
    expect(received(final.targetCallId!)).toContain('404 1 INVITE');
  });

  it('cancels the ringing customer on hangup(): 487 on the customer leg, both phones hang up', async () => {
    const aliceMark = alice().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164);
    await customer().waitForIncoming(customerMark, 10000);
    await reached(call, 'ringing_target');
    const final = await call.hangup();
    await customer().waitForCallEnd(customerMark);
    await alice().waitForCallEnd(aliceMark);
    expect(final).toMatchObject({ status: 'failed', sipCode: 487, endedBy: 'api', targetAnsweredAt: null });
    expect(sipStatusFromCode(final.sipCode!)).toBe('cancel');
    expect(received(final.targetCallId!)).toEqual(expect.arrayContaining(['200 1 CANCEL', '487 1 INVITE']));
    expectTimesOrdered(final);
  });

  it('keeps the employee parked while the customer rings for 40 s, then connects them (the ACK-at-once flow)', async () => {
    const aliceMark = alice().mark();
    const customerMark = customer().mark();
    const call = dial(CUSTOMER_E164);
    await customer().waitForIncoming(customerMark, 10000);
    await sleep(40000);
    // Past 64*T1 = 32 s: a phone whose 200 was never ACKed would have given up by now.
    expect(call.snapshot().status).toBe('ringing_target');
    expect(alice().log.slice(aliceMark)).not.toMatch(/terminated|session closed/);
    // Parked means silent: the hold answer started no media on the employee's phone.
    expect(alice().log.slice(aliceMark)).not.toMatch(/incoming rtp|audio: source started/);
    await customer().accept();
    const connected = await reached(call, 'connected');
    expect(connected.targetAnsweredAt! - connected.phoneAnsweredAt!).toBeGreaterThanOrEqual(40000);
    await expectMediaBetween(alice(), aliceMark, customer(), customerMark, connected);
    const final = await call.hangup();
    await alice().waitForCallEnd(aliceMark);
    await customer().waitForCallEnd(customerMark);
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'api' });
    expectTimesOrdered(final);
  }, 90000);

  it('Kamailio found nothing malformed in what the agent sent', () => {
    const problems = lab!.kamailio.log.split('\n').filter((line) => /\b(ERROR|CRITICAL|WARNING)\b|malformed|not accepted/.test(line));
    expect(problems).toEqual([]);
    // Kamailio saw the calls go through it: the phone legs and the customer legs.
    expect(sink!.posts.some((p) => p.event === 'outgoing_call_start' && p.caller === '101')).toBe(true);
  });
});

if (!SIP_LAB_READY) {
  describe('click-to-call through Kamailio to baresip phones', () => {
    it.skip(SIP_LAB_NOTICE, () => {});
  });
}
