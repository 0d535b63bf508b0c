import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallSnapshot } from '../../src/sip/click-to-call.js';
import { parseSdp } from '../../src/sip/sdp.js';
import {
  advanceBy,
  arrived,
  branchOf,
  callIdOf,
  connect,
  cseqOf,
  fakeClock,
  FakePeer,
  firstOf,
  isPhoneInvite,
  isRequest,
  isResponse,
  isTargetInvite,
  offerSdp,
  phoneAnswers,
  PHONE_TAG,
  PHONE_URI,
  runClock,
  startHarness,
  statusReached,
  TARGET_TAG,
  type Harness,
  type SipRequest,
  type SipResponse,
  watchWire,
} from '../helpers/fake-peer.js';

let h: Harness | undefined;
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const originOf = (sdp: string) => /^o=(.*)$/m.exec(sdp)![1]!.split(' ');

function expectTimesOrdered(s: CallSnapshot): void {
  const times = [s.startedAt, s.phoneAnsweredAt, s.targetAnsweredAt, s.connectedAt, s.endedAt].filter((t): t is number => t !== null);
  expect([...times].sort((a, b) => a - b)).toEqual(times);
}

describe('click-to-call against a scripted peer', () => {
  it('connects the legs with RFC 3725 flow III: park the phone at once, late offer to the target, re-INVITE the phone', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const states: string[] = [];
    call.on('state', (s) => states.push(s.status));

    const { phoneInvite, targetInvite, reinvite } = await connect(h, call);

    // The phone's INVITE: no offer, through the proxy with a loose route.
    expect(phoneInvite.body).toBe('');
    expect(phoneInvite.headers.get('Content-Length')).toBe('0');
    expect(phoneInvite.headers.all('Route')).toEqual([`<sip:127.0.0.1:${peer.port};lr>`]);
    expect(phoneInvite.headers.get('To')).toBe('<sip:101@pbx.example.org>');
    expect(phoneInvite.headers.get('From')).toMatch(/^"\+33612345678" <sip:\+33612345678@example\.org>;tag=\w+$/);
    expect(phoneInvite.headers.get('CSeq')).toBe('1 INVITE');
    expect(phoneInvite.headers.get('Max-Forwards')).toBe('70');
    expect(phoneInvite.headers.get('Via')).toMatch(new RegExp(`^SIP/2\\.0/UDP 127\\.0\\.0\\.1:${h.agent.address.port};branch=z9hG4bK\\w+;rport$`));
    expect(phoneInvite.headers.get('Contact')).toBe(`<sip:sipsim@127.0.0.1:${h.agent.address.port}>`);

    // The phone's 200 is ACKed at once with a hold answer, before the target is even called.
    const acks = peer.all(isRequest('ACK', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    const phoneAck = acks[0]!.message as SipRequest;
    expect(phoneAck.uri).toBe(`sip:phone@127.0.0.1:${peer.port}`);
    expect(phoneAck.headers.get('CSeq')).toBe('1 ACK');
    expect(branchOf(phoneAck)).not.toBe(branchOf(phoneInvite));
    expect(phoneAck.headers.get('To')).toBe(`<sip:101@pbx.example.org>;tag=${PHONE_TAG}`);
    const hold = parseSdp(phoneAck.body);
    expect(hold.session).toContain('c=IN IP4 0.0.0.0');
    expect(hold.media).toEqual([{ media: 'audio', port: 9, proto: 'RTP/AVP', formats: ['0'], lines: ['a=rtpmap:0 PCMU/8000', 'a=inactive'] }]);
    const targetInviteEntry = peer.all(isTargetInvite)[0]!;
    expect(acks[0]!.index).toBeLessThan(targetInviteEntry.index);

    // The target's INVITE: no offer either, the employee as caller id.
    expect(targetInvite.body).toBe('');
    expect(targetInvite.headers.get('From')).toMatch(/^"Alice" <sip:101@example\.org>;tag=\w+$/);
    expect(targetInvite.headers.get('To')).toBe('<sip:+33612345678@example.org>');
    expect(callIdOf(targetInvite)).not.toBe(callIdOf(phoneInvite));

    // The re-INVITE carries the target's offer under our origin, one version up from the hold answer.
    expect(cseqOf(reinvite)).toBe('2 INVITE');
    expect(reinvite.uri).toBe(`sip:phone@127.0.0.1:${peer.port}`);
    expect(parseSdp(reinvite.body).media[0]).toMatchObject({ port: 5000, formats: ['0', '8', '101'] });
    const [holdUser, holdSession, holdVersion] = originOf(phoneAck.body);
    const [reUser, reSession, reVersion] = originOf(reinvite.body);
    expect([reUser, reSession]).toEqual([holdUser, holdSession]);
    expect(Number(reVersion)).toBe(Number(holdVersion) + 1);

    // Its 200 is ACKed (no body), then the target's 200 is ACKed with the phone's answer.
    const reAck = await peer.waitFor(isRequest('ACK', (r) => cseqOf(r) === '2 ACK'));
    expect(reAck.body).toBe('');
    const targetAck = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(targetInvite)));
    expect(cseqOf(targetAck)).toBe('1 ACK');
    expect(targetAck.uri).toBe(`sip:target@127.0.0.1:${peer.port}`);
    expect(parseSdp(targetAck.body).media[0]).toMatchObject({ port: 4000 });
    expect(originOf(targetAck.body)[0]).toBe('sipsim');

    const connected = call.snapshot();
    expect(connected).toMatchObject({ status: 'connected', sipCode: null, endedAt: null, targetCallId: callIdOf(targetInvite), phoneCallId: callIdOf(phoneInvite) });
    expect(h.agent.calls()).toEqual([call]);

    // Hang up: a BYE on each leg.
    const hangup = call.hangup();
    const byes = await Promise.all([
      peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite))),
      peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite))),
    ]);
    expect(byes.map(cseqOf)).toEqual(['3 BYE', '2 BYE']);
    for (const bye of byes) await peer.respond(bye, 200);
    const final = await hangup;
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'api', failure: null });
    expect(final.phoneAnsweredAt).not.toBeNull();
    expect(final.targetAnsweredAt).not.toBeNull();
    expectTimesOrdered(final);
    expect(states).toEqual(['ringing_phone', 'ringing_target', 'connected', 'completed']);
    expect(h.agent.calls()).toEqual([]);
  });

  it('takes the route set from the first 200 only (reversed), keeps it across a re-INVITE, follows the new Contact', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const rr = [`<sip:127.0.0.1:${peer.port};lr;hop=edge>`, `<sip:127.0.0.1:${peer.port};lr;hop=core>`];
    const { phoneInvite, targetInvite } = await (async () => {
      const { invite } = await phoneAnswers(peer, { recordRoute: rr });
      const target = await peer.waitFor(isTargetInvite);
      await peer.respond(target, 200, { toTag: TARGET_TAG, contact: peer.contact('target'), body: offerSdp(5000) });
      const reinvite = await peer.waitFor(isRequest('INVITE', (r) => cseqOf(r) === '2 INVITE'));
      expect(reinvite.headers.all('Route')).toEqual([rr[1], rr[0]]);
      // A 200 to a re-INVITE has no business changing the route set, even if it says otherwise; its Contact moves the phone.
      await peer.respond(reinvite, 200, { contact: `<sip:phone-moved@127.0.0.1:${peer.port}>`, recordRoute: ['<sip:192.0.2.99;lr>'], body: offerSdp(4000, '111', 2) });
      return { phoneInvite: invite, targetInvite: target };
    })();
    await statusReached(call, 'connected');
    const phoneAck = peer.requests('ACK').find((r) => callIdOf(r) === callIdOf(phoneInvite) && cseqOf(r) === '1 ACK')!;
    expect(phoneAck.headers.all('Route')).toEqual([rr[1], rr[0]]);
    // No Record-Route on the target's 200: no Route at all there.
    const targetAck = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(targetInvite)));
    expect(targetAck.headers.all('Route')).toEqual([]);

    void call.hangup();
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    expect(bye.uri).toBe(`sip:phone-moved@127.0.0.1:${peer.port}`);
    expect(bye.headers.all('Route')).toEqual([rr[1], rr[0]]);
  });

  it('sends in-dialog requests to a strict router the RFC 3261 §12.2.1.1 way', async () => {
    h = await startHarness();
    const { peer } = h;
    h.call();
    const strict = `<sip:127.0.0.1:${peer.port};hop=strict>`;
    const { invite } = await phoneAnswers(peer, { recordRoute: [strict] });
    const ack = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(invite)));
    expect(ack.uri).toBe(`sip:127.0.0.1:${peer.port};hop=strict`);
    expect(ack.headers.all('Route')).toEqual([`<sip:phone@127.0.0.1:${peer.port}>`]);
  });

  it('re-ACKs each retransmission of a 2xx with the same ACK', async () => {
    h = await startHarness();
    const { peer } = h;
    h.call();
    const { invite, ok } = await phoneAnswers(peer);
    const isAck = isRequest('ACK', (r) => callIdOf(r) === callIdOf(invite));
    await peer.waitFor(isAck);
    await peer.send(ok, h.agent.address.port);
    await sleep(20);
    await peer.send(ok, h.agent.address.port);
    await sleep(100);
    const acks = peer.all(isAck);
    expect(acks).toHaveLength(3);
    expect(new Set(acks.map((a) => a.raw)).size).toBe(1);
    expect(cseqOf(acks[0]!.message)).toBe('1 ACK');
    // The target is called once, however often the phone's 200 came.
    expect(new Set(peer.all(isTargetInvite).map((r) => branchOf(r.message)))).toHaveLength(1);
  });

  it('ACKs a second answering fork and hangs it up', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite } = await phoneAnswers(peer);
    await peer.respond(invite, 200, { toTag: 'otherfork', contact: peer.contact('desk2'), body: offerSdp(4100) });
    const forkAck = await peer.waitFor(isRequest('ACK', (r) => r.uri.startsWith('sip:desk2@')));
    expect(forkAck.headers.get('To')).toMatch(/;tag=otherfork$/);
    expect(parseSdp(forkAck.body).session).toContain('c=IN IP4 0.0.0.0');
    const forkBye = await peer.waitFor(isRequest('BYE', (r) => r.uri.startsWith('sip:desk2@')));
    expect(cseqOf(forkBye)).toBe('2 BYE');
    // The first phone to answer keeps the call.
    expect(call.snapshot().status).toBe('ringing_target');
    expect(peer.all(isRequest('BYE', (r) => r.uri.startsWith('sip:phone@')))).toHaveLength(0);
  });

  it('cancels the ringing target on hangup(): CANCEL in the INVITE transaction, 487 ACKed, BYE to the phone', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    const target = await peer.waitFor(isTargetInvite);
    await peer.respond(target, 180, { toTag: TARGET_TAG });
    await statusReached(call, 'ringing_target');

    const hangup = call.hangup();
    expect(call.snapshot()).toMatchObject({ status: 'failed', sipCode: 487, endedBy: 'api' });
    const cancel = await peer.waitFor(isRequest('CANCEL'));
    expect(cancel.uri).toBe(target.uri);
    expect(branchOf(cancel)).toBe(branchOf(target));
    expect(cseqOf(cancel)).toBe('1 CANCEL');
    expect(cancel.headers.get('To')).toBe(target.headers.get('To'));
    expect(cancel.headers.get('From')).toBe(target.headers.get('From'));
    expect(cancel.headers.all('Route')).toEqual(target.headers.all('Route'));
    await peer.respond(cancel, 200, { toTag: TARGET_TAG });
    await peer.respond(target, 487, { toTag: TARGET_TAG });
    const ack = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(target)));
    expect(branchOf(ack)).toBe(branchOf(target));
    expect(cseqOf(ack)).toBe('1 ACK');
    expect(ack.headers.get('To')).toMatch(/;tag=targettag$/);
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    await peer.respond(bye, 200);
    const final = await hangup;
    expect(final).toMatchObject({ status: 'failed', sipCode: 487, endedBy: 'api', targetAnsweredAt: null, failure: 'hung up while the target rang' });
    expect(final.phoneAnsweredAt).not.toBeNull();
    expectTimesOrdered(final);
  });

  it('holds the CANCEL until a provisional response came (RFC 3261 §9.1)', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const invite = await peer.waitFor(isPhoneInvite);
    void call.hangup();
    await sleep(5 * h.t1);
    expect(peer.requests('CANCEL')).toHaveLength(0);
    await peer.respond(invite, 180, { toTag: PHONE_TAG });
    const cancel = await peer.waitFor(isRequest('CANCEL'));
    expect(branchOf(cancel)).toBe(branchOf(invite));
    await peer.respond(cancel, 200);
    await peer.respond(invite, 487, { toTag: PHONE_TAG });
    expect(await call.ended).toMatchObject({ status: 'failed', sipCode: 487, endedBy: 'api', phoneAnsweredAt: null, failure: 'hung up before the employee answered' });
  });

  it('ends the target leg when the phone hangs up, and answers the BYE', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const after = peer.received.length;
    const { branch } = await peer.requestInDialog(phoneInvite, PHONE_TAG, 'BYE');
    const answer = await peer.waitFor<SipResponse>((m) => m.kind === 'response' && branchOf(m) === branch, { after });
    expect(answer.status).toBe(200);
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(targetInvite)), { after });
    await peer.respond(bye, 200);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'phone' });
    expectTimesOrdered(final);
    // No BYE goes back to the phone that already left.
    expect(peer.all(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)))).toHaveLength(0);
  });

  it('ends the phone leg when the target hangs up', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const after = peer.received.length;
    const { branch } = await peer.requestInDialog(targetInvite, TARGET_TAG, 'BYE');
    expect((await peer.waitFor<SipResponse>((m) => m.kind === 'response' && branchOf(m) === branch, { after })).status).toBe(200);
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)), { after });
    expect(bye.headers.get('From')).toBe(phoneInvite.headers.get('From'));
    expect(bye.headers.get('To')).toBe(`<sip:101@pbx.example.org>;tag=${PHONE_TAG}`);
    await peer.respond(bye, 200);
    expect(await call.ended).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'target' });
  });

  it('cancels the target when the phone hangs up while it rings', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    const target = await peer.waitFor(isTargetInvite);
    await peer.respond(target, 183, { toTag: TARGET_TAG });
    await peer.requestInDialog(phoneInvite, PHONE_TAG, 'BYE');
    const cancel = await peer.waitFor(isRequest('CANCEL'));
    expect(branchOf(cancel)).toBe(branchOf(target));
    await peer.respond(cancel, 200);
    await peer.respond(target, 487, { toTag: TARGET_TAG });
    expect(await call.ended).toMatchObject({ status: 'failed', sipCode: 487, endedBy: 'phone', failure: 'the employee hung up before the target answered' });
  });

  it('gives up on a phone that rings too long: CANCEL, and the call ends with 408', async () => {
    h = await startHarness({ phoneRingTimeoutMs: 300 });
    const { peer } = h;
    const wire = watchWire();
    fakeClock();
    const call = h.call();
    await arrived(h, isPhoneInvite, 1);
    const invite = firstOf(h, isPhoneInvite);
    await peer.respond(invite, 180, { toTag: PHONE_TAG });
    await advanceBy(h, wire, 299);
    expect(peer.all(isRequest('CANCEL'))).toHaveLength(0);
    await advanceBy(h, wire, 1);
    const cancel = firstOf(h, isRequest('CANCEL'));
    const snapshot = call.snapshot();
    expect(snapshot).toMatchObject({ status: 'failed', sipCode: 408, endedBy: 'timeout' });
    expect(snapshot.endedAt! - snapshot.startedAt).toBe(300);
    expect(snapshot.failure).toMatch(/did not answer within/);
    await peer.respond(cancel, 200);
    await peer.respond(invite, 487, { toTag: PHONE_TAG });
    await runClock(h, wire, call.ended);
    expect(peer.all(isTargetInvite)).toHaveLength(0);
  });

  it('gives up on a target that rings too long: CANCEL to it, BYE to the phone, 408', async () => {
    h = await startHarness({ targetRingTimeoutMs: 300 });
    const { peer } = h;
    const wire = watchWire();
    fakeClock();
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    await arrived(h, isTargetInvite, 1);
    const target = firstOf(h, isTargetInvite);
    await peer.respond(target, 180, { toTag: TARGET_TAG });
    await advanceBy(h, wire, 299);
    expect(peer.all(isRequest('CANCEL'))).toHaveLength(0);
    await advanceBy(h, wire, 1);
    const cancel = firstOf(h, isRequest('CANCEL'));
    expect(branchOf(cancel)).toBe(branchOf(target));
    const bye = firstOf(h, isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    await peer.respond(cancel, 200);
    await peer.respond(target, 487, { toTag: TARGET_TAG });
    await peer.respond(bye, 200);
    await runClock(h, wire, call.ended);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: 408, endedBy: 'timeout', targetAnsweredAt: null });
    expect(final.endedAt! - final.phoneAnsweredAt!).toBe(300);
  });

  it.each([
    [486, 'is busy (486 Busy Here)'],
    [404, 'does not exist (404 Not Found)'],
    [603, 'declined the call (603 Decline)'],
  ])('reports the target failing with %i and hangs up the phone', async (status, words) => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    const target = await peer.waitFor(isTargetInvite);
    await peer.respond(target, status, { toTag: TARGET_TAG });
    const ack = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(target)));
    expect(branchOf(ack)).toBe(branchOf(target));
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite)));
    await peer.respond(bye, 200);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: status, endedBy: 'target', targetAnsweredAt: null });
    expect(final.failure).toContain(`the target ${words}`);
  });

  it('reports the phone refusing with its own code, without calling the target', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const invite = await peer.waitFor(isPhoneInvite);
    await peer.respond(invite, 486, { toTag: PHONE_TAG });
    const ack = await peer.waitFor(isRequest('ACK'));
    expect(branchOf(ack)).toBe(branchOf(invite));
    // A retransmitted final is ACKed again from the transaction, and reported once.
    const states: string[] = [];
    call.on('state', (s) => states.push(s.status));
    await peer.respond(invite, 486, { toTag: PHONE_TAG });
    await peer.waitFor(isRequest('ACK'), { after: peer.received.indexOf(peer.all(isRequest('ACK'))[0]!) + 1 });
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: 486, endedBy: 'phone', phoneAnsweredAt: null });
    expect(final.failure).toBe("the employee's phone is busy (486 Busy Here)");
    expect(states).toEqual([]);
    expect(peer.all(isTargetInvite)).toHaveLength(0);
  });

  it('forwards a re-INVITE from one side to the other once connected, and answers in-dialog requests', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { phoneInvite, targetInvite } = await connect(h, call);
    const after = peer.received.length;

    // The target moves its media: the phone gets the new offer in a re-INVITE.
    const sent = await peer.requestInDialog(targetInvite, TARGET_TAG, 'INVITE', { body: offerSdp(5500, '222', 2), cseq: 10 });
    const toPhone = await peer.waitFor(isRequest('INVITE', (r) => callIdOf(r) === callIdOf(phoneInvite) && r.body.includes('m=audio 5500')), { after });
    expect(cseqOf(toPhone)).toBe('3 INVITE');
    await peer.respond(toPhone, 200, { contact: peer.contact('phone'), body: offerSdp(4000, '111', 3) });
    const answer = await peer.waitFor<SipResponse>((m) => isResponse(200, 'INVITE')(m) && branchOf(m) === sent.branch, { after });
    expect(answer.headers.get('Contact')).toBe(`<sip:sipsim@127.0.0.1:${h.agent.address.port}>`);
    expect(parseSdp(answer.body).media[0]).toMatchObject({ port: 4000 });
    // Without our ACK the 200 comes again (T1, 2*T1...).
    await peer.waitFor<SipResponse>((m) => isResponse(200, 'INVITE')(m) && branchOf(m) === sent.branch, { after: peer.received.indexOf(peer.received.find((r) => r.message === answer)!) + 1 });
    await peer.requestInDialog(targetInvite, TARGET_TAG, 'ACK', { cseq: 10 });
    const answered = peer.received.length;
    await sleep(8 * h.t1);
    expect(peer.all((m) => m.kind === 'response' && branchOf(m) === sent.branch).filter((r) => r.index >= answered)).toHaveLength(0);

    const ask = async (method: string, cseq: number, body?: string) => {
      const mark = peer.received.length;
      const { branch } = await peer.requestInDialog(targetInvite, TARGET_TAG, method, { cseq, ...(body && { body }) });
      return peer.waitFor<SipResponse>((m) => m.kind === 'response' && branchOf(m) === branch, { after: mark });
    };
    const options = await ask('OPTIONS', 11);
    expect(options.status).toBe(200);
    expect(options.headers.all('Allow').join(', ')).toBe('INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE');
    expect((await ask('INFO', 12)).status).toBe(200);
    expect((await ask('UPDATE', 13)).status).toBe(200);
    expect((await ask('MESSAGE', 14)).status).toBe(405);
    expect((await ask('NOTIFY', 15)).status).toBe(481);
    expect((await ask('FROBNICATE', 16)).status).toBe(501);
    // An older CSeq than the last one is out of order (§12.2.2).
    expect((await ask('INFO', 5)).status).toBe(500);
    expect(call.snapshot().status).toBe('connected');
  });

  it('keeps the phone parked when it sends an offer while the target rings', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite } = await phoneAnswers(peer);
    await peer.waitFor(isTargetInvite);
    const { branch } = await peer.requestInDialog(invite, PHONE_TAG, 'INVITE', { body: offerSdp(4200, '111', 2) });
    const trying = await peer.waitFor<SipResponse>((m) => m.kind === 'response' && branchOf(m) === branch);
    expect(trying.status).toBe(100);
    const ok = await peer.waitFor<SipResponse>((m) => isResponse(200, 'INVITE')(m) && branchOf(m) === branch);
    const sdp = parseSdp(ok.body);
    expect(sdp.session).toContain('c=IN IP4 0.0.0.0');
    expect(sdp.media[0]!.lines).toContain('a=inactive');
    expect(call.snapshot().status).toBe('ringing_target');
  });

  it('retries the connecting re-INVITE after a 491 (glare), after the random wait of RFC 3261 §14.1', async () => {
    h = await startHarness({ t1: 40 });
    const { peer } = h;
    const wire = watchWire();
    fakeClock();
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    await arrived(h, isTargetInvite, 1);
    const target = firstOf(h, isTargetInvite);
    await peer.respond(target, 200, { toTag: TARGET_TAG, contact: peer.contact('target'), body: offerSdp(5000) });
    const isReinvite = (cseq: string) => isRequest('INVITE', (r) => callIdOf(r) === callIdOf(phoneInvite) && cseqOf(r) === cseq);
    await arrived(h, isReinvite('2 INVITE'), 1);
    const first = peer.all(isReinvite('2 INVITE'))[0]!;
    await peer.respond(first.message as SipRequest, 491);
    await advanceBy(h, wire, 320);
    const second = peer.all(isReinvite('3 INVITE'))[0]!;
    // 2.1 to 4 s with T1 = 500 ms, scaled to T1 = 40 ms: 168 to 320 ms.
    expect(second.at - first.at).toBeGreaterThanOrEqual(168);
    expect(second.at - first.at).toBeLessThanOrEqual(320);
    expect(second.message.body).toBe((first.message as SipRequest).body);
    vi.useRealTimers();
    await peer.respond(second.message as SipRequest, 200, { contact: peer.contact('phone'), body: offerSdp(4000, '111', 2) });
    await statusReached(call, 'connected');
    // The 491 was ACKed in its transaction.
    expect(peer.all(isRequest('ACK', (r) => cseqOf(r) === '2 ACK' && branchOf(r) === branchOf(first.message)))).toHaveLength(1);
  });

  it('fails the call when the phone refuses the target\'s offer: the target is ACKed with a valid answer, then both legs hung up', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    const { invite: phoneInvite } = await phoneAnswers(peer);
    const target = await peer.waitFor(isTargetInvite);
    await peer.respond(target, 200, { toTag: TARGET_TAG, contact: peer.contact('target'), body: offerSdp(5000) });
    const reinvite = await peer.waitFor(isRequest('INVITE', (r) => callIdOf(r) === callIdOf(phoneInvite) && cseqOf(r) === '2 INVITE'));
    await peer.respond(reinvite, 488);
    const targetAck = await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(target)));
    expect(parseSdp(targetAck.body).session).toContain('c=IN IP4 0.0.0.0');
    const byes = await Promise.all([
      peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(target))),
      peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phoneInvite))),
    ]);
    for (const bye of byes) await peer.respond(bye, 200);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: 488, endedBy: 'error', connectedAt: null });
    expect(final.failure).toMatch(/could not connect/);
  });

  it('ends a connected call at the duration cap', async () => {
    h = await startHarness({ maxCallDurationMs: 200 });
    const { peer } = h;
    const wire = watchWire();
    fakeClock();
    const call = h.call();
    await connect(h, call);
    const isBye = (user: string) => isRequest('BYE', (r) => r.uri.startsWith(`sip:${user}@`));
    await advanceBy(h, wire, 199);
    expect(peer.all(isRequest('BYE'))).toHaveLength(0);
    await advanceBy(h, wire, 1);
    for (const bye of [firstOf(h, isBye('phone')), firstOf(h, isBye('target'))]) await peer.respond(bye, 200);
    await runClock(h, wire, call.ended);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'completed', sipCode: 200, endedBy: 'timeout' });
    expect(final.endedAt! - final.connectedAt!).toBe(200);
  });

  it('rings a phone at a direct contact without the proxy, and still calls the target through it', async () => {
    h = await startHarness();
    const desk = await FakePeer.start();
    try {
      const call = h.call({ phoneUri: `sip:101@127.0.0.1:${desk.port}`, phoneRoute: 'direct' });
      const invite = await desk.waitFor(isRequest('INVITE'));
      expect(invite.uri).toBe(`sip:101@127.0.0.1:${desk.port}`);
      expect(invite.headers.all('Route')).toEqual([]);
      await desk.respond(invite, 200, { toTag: PHONE_TAG, contact: desk.contact('desk'), body: offerSdp(4000) });
      await desk.waitFor(isRequest('ACK'));
      const target = await h.peer.waitFor(isTargetInvite);
      expect(target.headers.all('Route')).toEqual([`<sip:127.0.0.1:${h.peer.port};lr>`]);
      expect(h.peer.all(isRequest('INVITE', (r) => r.uri.includes('101')))).toHaveLength(0);
      await h.peer.respond(target, 486, { toTag: TARGET_TAG });
      await desk.respond(await desk.waitFor(isRequest('BYE')), 200);
      expect(await call.ended).toMatchObject({ status: 'failed', sipCode: 486 });
    } finally {
      await desk.close();
    }
  });

  it('refuses bad input before sending anything', async () => {
    h = await startHarness();
    expect(() => h!.call({ number: '06 12 AB' })).toThrow(/not a phone number/);
    expect(() => h!.call({ phoneUri: 'http://example.org' })).toThrow();
    expect(() => h!.agent.clickToCall({ phoneUri: PHONE_URI })).toThrow(/number or a target URI/);
    expect(h.agent.targetUri('+33 1 23 45 67 89')).toBe('sip:+33123456789@example.org');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.peer.received).toHaveLength(0);
  });

  it('close() hangs up the calls in progress and frees the socket', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    await connect(h, call);
    const closing = h.agent.close();
    const byes = await Promise.all([peer.waitFor(isRequest('BYE', (r) => r.uri.startsWith('sip:phone@'))), peer.waitFor(isRequest('BYE', (r) => r.uri.startsWith('sip:target@')))]);
    for (const bye of byes) await peer.respond(bye, 200);
    await closing;
    expect(call.snapshot()).toMatchObject({ status: 'completed', endedBy: 'shutdown', sipCode: 200 });
    expect(() => h!.call()).toThrow(/closing/);
  });
});
