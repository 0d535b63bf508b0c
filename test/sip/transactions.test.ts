import { afterEach, describe, expect, it } from 'vitest';
import { branchOf, callIdOf, connect, isPhoneInvite, isRequest, PHONE_TAG, startHarness, type Harness } from './fake-peer.js';

/**
 * The RFC 3261 §17 timers, measured on the wire: when each retransmission
 * reached the peer. T1 is 40 ms here (T2 = 4*T1), so that the doubling and
 * the cap are both visible within a few seconds.
 */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('client transaction timers', () => {
  it('retransmits an unanswered INVITE at T1, 2*T1, 4*T1... (Timer A) and gives up at 64*T1 with 408 (Timer B)', async () => {
    h = await startHarness({ t1: 40 });
    const started = performance.now();
    const call = h.call();
    const final = await call.ended;
    const elapsed = performance.now() - started;
    const copies = h.peer.all(isPhoneInvite);
    // One transaction: every copy is the same request.
    expect(new Set(copies.map((c) => c.raw)).size).toBe(1);
    // Sent at 0, 1, 3, 7, 15, 31 and 63 T1; the last one can lose the race with Timer B at 64 T1.
    expect(copies.length).toBeGreaterThanOrEqual(6);
    expect(copies.length).toBeLessThanOrEqual(7);
    const intervals = gaps(copies.map((c) => c.at));
    const expected = [40, 80, 160, 320, 640, 1280].slice(0, intervals.length);
    intervals.forEach((gap, i) => {
      // Measured at the peer: the first copy may leave a little after its timer started.
      expect(gap).toBeGreaterThanOrEqual(expected[i]! - 15);
      expect(gap).toBeLessThan(expected[i]! * 1.5 + 40);
    });
    expect(elapsed).toBeGreaterThanOrEqual(64 * 40 - 5);
    expect(elapsed).toBeLessThan(64 * 40 + 1000);
    expect(final).toMatchObject({ status: 'failed', sipCode: 408, endedBy: 'timeout', phoneAnsweredAt: null });
    expect(final.failure).toBe("the employee's phone did not answer (408 Request Timeout (no response))");
    // No CANCEL for a request that never got a provisional response.
    expect(h.peer.requests('CANCEL')).toHaveLength(0);
  });

  it('stops retransmitting an INVITE once a provisional response came', async () => {
    h = await startHarness({ t1: 40 });
    h.call();
    const invite = await h.peer.waitFor(isPhoneInvite);
    await h.peer.respond(invite, 100);
    await new Promise((resolve) => setTimeout(resolve, 10 * 40));
    expect(h.peer.all(isPhoneInvite).length).toBeLessThanOrEqual(2);
    const count = h.peer.all(isPhoneInvite).length;
    await new Promise((resolve) => setTimeout(resolve, 10 * 40));
    expect(h.peer.all(isPhoneInvite)).toHaveLength(count);
  });

  it('retransmits an unanswered BYE at T1, 2*T1... capped at T2 (Timer E), and gives up at 64*T1 (Timer F)', async () => {
    h = await startHarness({ t1: 40 });
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const started = performance.now();
    void call.hangup();
    // The target answers its BYE; the phone never does.
    const targetBye = await h.peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)));
    await h.peer.respond(targetBye, 200);
    const final = await call.ended;
    const elapsed = performance.now() - started;
    const copies = h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    expect(new Set(copies.map((c) => branchOf(c.message)))).toHaveLength(1);
    const intervals = gaps(copies.map((c) => c.at));
    // 40, 80, 160 (= T2), then 160 again and again until 64*T1 = 2560 ms.
    expect(intervals.length).toBeGreaterThanOrEqual(14);
    const expected = [40, 80, 160, 160, 160, 160];
    expected.forEach((want, i) => {
      expect(intervals[i]).toBeGreaterThanOrEqual(want - 15);
      expect(intervals[i]).toBeLessThan(want * 1.5 + 40);
    });
    for (const gap of intervals.slice(3)) expect(gap).toBeLessThan(160 * 1.5 + 40);
    expect(elapsed).toBeGreaterThanOrEqual(64 * 40 - 5);
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'api' });
  });

  it('slows a non-INVITE retransmission to T2 once a provisional response came', async () => {
    h = await startHarness({ t1: 40 });
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    void call.hangup();
    await h.peer.respond(await h.peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite))), 200);
    const bye = await h.peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    await h.peer.respond(bye, 100);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const copies = h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    const intervals = gaps(copies.map((c) => c.at));
    // The first retransmission was due at T1 already; after the 100, every one waits T2.
    for (const gap of intervals.slice(1)) expect(gap).toBeGreaterThanOrEqual(160 - 5);
    await h.peer.respond(bye, 200);
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
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answers = h.peer.all((m) => m.kind === 'response' && m.status === 200 && (m.headers.get('CSeq') ?? '').endsWith('BYE') && callIdOf(m) === callIdOf(phoneInvite));
    expect(answers).toHaveLength(3);
    expect(new Set(answers.map((a) => a.raw)).size).toBe(1);
    expect(h.peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)))).toHaveLength(1);
  });
});
