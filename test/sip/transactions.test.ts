import { afterEach, describe, expect, it, vi } from 'vitest';
import { advanceBy, arrived, branchOf, callIdOf, connect, fakeClock, isPhoneInvite, isRequest, PHONE_TAG, runClock, startHarness, watchWire, type Harness, type Match } from '../helpers/fake-peer.js';

/**
 * The RFC 3261 §17 timers, read on the wire against a clock the test moves.
 * The agent's timers run on vitest's fake setTimeout and the peer stamps each
 * datagram with the fake performance.now(), so every interval is exact and a
 * busy machine cannot shift it: the clock only moves once every datagram in
 * flight has arrived. T1 is 40 ms here (T2 = 4*T1).
 */

let h: Harness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);


describe('client transaction timers', () => {
  it('retransmits an unanswered INVITE at T1, 2*T1, 4*T1... (Timer A) and gives up at 64*T1 with 408 (Timer B)', async () => {
    h = await startHarness({ t1: 40 });
    const wire = watchWire();
    fakeClock();
    const started = performance.now();
    const call = h.call();
    await runClock(h, wire, call.ended);
    const final = await call.ended;
    const copies = h.peer.all(isPhoneInvite);
    // One transaction: every copy is the same request.
    expect(new Set(copies.map((c) => c.raw)).size).toBe(1);
    // Sent at 0, 1, 3, 7, 15, 31 and 63 T1; Timer B ends it at 64 T1.
    expect(copies.map((c) => c.at - started)).toEqual([0, 1, 3, 7, 15, 31, 63].map((n) => n * 40));
    expect(final).toMatchObject({ status: 'failed', sipCode: 408, endedBy: 'timeout', phoneAnsweredAt: null });
    expect(final.failure).toBe("the employee's phone did not answer (408 Request Timeout (no response))");
    expect(performance.now() - started).toBe(64 * 40);
    // No CANCEL for a request that never got a provisional response.
    expect(h.peer.requests('CANCEL')).toHaveLength(0);
  });

  it('stops retransmitting an INVITE once a provisional response came', async () => {
    h = await startHarness({ t1: 40 });
    const wire = watchWire();
    fakeClock();
    h.call();
    await arrived(h, isPhoneInvite, 1);
    await advanceBy(h, wire, 40);
    expect(h.peer.all(isPhoneInvite)).toHaveLength(2);
    await h.peer.respond(h.peer.all(isPhoneInvite)[0]!.message as never, 100);
    await advanceBy(h, wire, 20 * 40);
    expect(h.peer.all(isPhoneInvite)).toHaveLength(2);
  });

  it('retransmits an unanswered BYE at T1, 2*T1... capped at T2 (Timer E), and gives up at 64*T1 (Timer F)', async () => {
    h = await startHarness({ t1: 40 });
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const wire = watchWire();
    fakeClock();
    const started = performance.now();
    void call.hangup();
    // The target answers its BYE; the phone never does.
    await arrived(h, isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)), 1);
    const targetBye = h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)))[0]!.message;
    await h.peer.respond(targetBye as never, 200);
    await runClock(h, wire, call.ended);
    const final = await call.ended;
    const copies = h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    expect(new Set(copies.map((c) => branchOf(c.message)))).toHaveLength(1);
    // 40, 80, 160 (= T2), then 160 again and again until Timer F at 64*T1 = 2560 ms.
    const intervals = gaps(copies.map((c) => c.at));
    const sentAt = [0, 40, 120, 280];
    while (sentAt.at(-1)! + 160 < 64 * 40) sentAt.push(sentAt.at(-1)! + 160);
    expect(copies.map((c) => c.at - started)).toEqual(sentAt);
    expect(intervals.slice(0, 4)).toEqual([40, 80, 160, 160]);
    expect(performance.now() - started).toBe(64 * 40);
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'api' });
  });

  it('slows a non-INVITE retransmission to T2 once a provisional response came', async () => {
    h = await startHarness({ t1: 40 });
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const wire = watchWire();
    fakeClock();
    const isPhoneBye = isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite));
    void call.hangup();
    await arrived(h, isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)), 1);
    await h.peer.respond(h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)))[0]!.message as never, 200);
    await arrived(h, isPhoneBye, 1);
    const bye = h.peer.all(isPhoneBye)[0]!.message;
    await h.peer.respond(bye as never, 100);
    await advanceBy(h, wire, 700);
    const intervals = gaps(h.peer.all(isPhoneBye).map((c) => c.at));
    // The first retransmission was due at T1 already; after the 100, every one waits T2.
    expect(intervals).toEqual([40, 160, 160, 160, 160]);
    vi.useRealTimers();
    await h.peer.respond(bye as never, 200);
    await call.ended;
  });

  it('answers a retransmitted BYE from the transaction, without a second BYE to the other leg', async () => {
    h = await startHarness({ t1: 40 });
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const after = h.peer.received.length;
    const { text } = await h.peer.requestInDialog(phoneInvite, PHONE_TAG, 'BYE');
    await h.peer.send(text, h.agent.address.port);
    await h.peer.send(text, h.agent.address.port);
    const targetBye = await h.peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)), { after });
    await h.peer.respond(targetBye, 200);
    await call.ended;
    const isByeAnswer: Match = (m) => m.kind === 'response' && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('BYE') && callIdOf(m) === callIdOf(phoneInvite);
    // One answer per copy the phone sent: the first from the dialog, the two others from the transaction.
    await arrived(h, isByeAnswer, 3);
    const answers = h.peer.all(isByeAnswer);
    expect(answers).toHaveLength(3);
    expect(new Set(answers.map((a) => a.raw)).size).toBe(1);
    expect(h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)))).toHaveLength(1);
  });
});
