import { afterEach, describe, expect, it } from 'vitest';
import { connect, FakePeer, isRequest, offerSdp, startHarness, type Harness, type SipResponse } from '../helpers/fake-peer.js';

/**
 * The agent's socket is open to anyone: it must answer what it did not
 * start with an error, relay nothing, and survive any datagram.
 */

let h: Harness | undefined;
let stranger: FakePeer | undefined;
afterEach(async () => {
  await h?.close();
  await stranger?.close();
  h = undefined;
  stranger = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function request(method: string, port: number, options: { toTag?: string; body?: string; branch?: string; extra?: string[] } = {}): string {
  const body = options.body ?? '';
  return [
    `${method} sip:+33612345678@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${options.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`};rport`,
    'Max-Forwards: 70',
    'From: <sip:intruder@198.51.100.7>;tag=evil',
    `To: <sip:+33612345678@127.0.0.1>${options.toTag ? `;tag=${options.toTag}` : ''}`,
    `Call-ID: ${Math.random().toString(36).slice(2)}@198.51.100.7`,
    `CSeq: 1 ${method}`,
    'Contact: <sip:intruder@198.51.100.7>',
    ...(options.extra ?? []),
    ...(body ? ['Content-Type: application/sdp'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

describe('the listener', () => {
  it('refuses requests outside its dialogs and relays nothing', async () => {
    h = await startHarness();
    stranger = await FakePeer.start();
    const port = h.agent.address.port;
    const cases: Array<[string, string, number]> = [
      ['an unsolicited INVITE', request('INVITE', stranger.port, { body: offerSdp(7000) }), 403],
      ['an INVITE for a dialog we do not have', request('INVITE', stranger.port, { toTag: 'nope', body: offerSdp(7000) }), 481],
      ['a BYE for a dialog we do not have', request('BYE', stranger.port, { toTag: 'nope' }), 481],
      ['a BYE without To tag', request('BYE', stranger.port), 481],
      ['an OPTIONS', request('OPTIONS', stranger.port), 403],
      ['a REGISTER', request('REGISTER', stranger.port), 403],
      ['a MESSAGE', request('MESSAGE', stranger.port, { body: 'hi' }), 403],
      ['a CANCEL of nothing', request('CANCEL', stranger.port), 481],
      ['an unknown method', request('FOO', stranger.port), 501],
      ['a request requiring an extension', request('INVITE', stranger.port, { extra: ['Require: 100rel'] }), 420],
    ];
    for (const [what, text, status] of cases) {
      const mark = stranger.received.length;
      await stranger.send(text, port);
      const answer = await stranger.waitFor<SipResponse>((m) => m.kind === 'response', { after: mark });
      expect(answer.status, what).toBe(status);
      // The answer goes back where the request came from, and says so (RFC 3581).
      expect(answer.headers.get('Via'), what).toMatch(/;received=127\.0\.0\.1(;|$)/);
      expect(answer.headers.get('Via'), what).toMatch(new RegExp(`;rport=${stranger.port}(;|$)`));
      // RFC 3261 §8.2.6.2: a final response gets a To tag.
      expect(answer.headers.get('To'), what).toMatch(/;tag=\w+$/);
    }
    // An ACK is never answered.
    await stranger.send(request('ACK', stranger.port, { toTag: 'x' }), port);
    await sleep(6 * h.t1);
    // Refused statelessly: one answer per request, none repeated (not even the INVITE errors), no 100 Trying.
    expect(stranger.received).toHaveLength(cases.length);
    expect(stranger.received.every((r) => r.message.kind === 'response' && r.message.status >= 400)).toBe(true);
    // Nothing went to the proxy.
    expect(h.peer.received).toHaveLength(0);
    expect(h.agent.calls()).toHaveLength(0);
  });

  it('answers each copy of a retransmitted unsolicited INVITE with the same response, and nothing more', async () => {
    h = await startHarness();
    stranger = await FakePeer.start();
    const text = request('INVITE', stranger.port, { branch: 'z9hG4bKretrans1' });
    await stranger.send(text, h.agent.address.port);
    await stranger.waitFor((m) => m.kind === 'response');
    await stranger.send(text, h.agent.address.port);
    await stranger.waitFor((m) => m.kind === 'response', { after: 1 });
    // No Timer G: the refusal is not retransmitted, whether or not an ACK comes.
    await sleep(10 * h.t1);
    expect(stranger.received).toHaveLength(2);
    expect(stranger.received[0]!.raw).toBe(stranger.received[1]!.raw);
    expect((stranger.received[0]!.message as SipResponse).status).toBe(403);
    const ack = text.replace(/^INVITE/, 'ACK').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK');
    await stranger.send(ack, h.agent.address.port);
    await sleep(50);
    expect(stranger.received).toHaveLength(2);
  });

  it('ignores garbage without crashing, and keeps working', async () => {
    h = await startHarness();
    stranger = await FakePeer.start();
    const port = h.agent.address.port;
    const garbage = [
      Buffer.from([0, 1, 2, 3, 255, 254]),
      Buffer.from('\r\n\r\n'),
      Buffer.from('hello there'),
      Buffer.from('INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKg\r\nContent-Length: 500\r\n\r\nshort'),
      Buffer.from(`INVITE sip:x SIP/2.0\r\n${'X-Filler: y\r\n'.repeat(2000)}\r\n`),
      Buffer.from('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKnotours\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n'),
      Buffer.from('SIP/2.0 200 OK\r\nCSeq: nonsense\r\n\r\n'),
      Buffer.from('INVITE sip:a@b SIP/2.0\r\nFrom: <sip:a@b>\r\n\r\n'),
      Buffer.from('BYE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKq\r\nCSeq: 1 INVITE\r\n\r\n'),
      Buffer.from('INVITE <sip:a@b> SIP/2.0\r\nVia: \r\nTo: \r\nFrom: \r\nCall-ID: \r\nCSeq: \r\n\r\n'),
      Buffer.alloc(60000, 0x41),
    ];
    for (const datagram of garbage) await new Promise<void>((resolve) => stranger!['socket'].send(datagram, port, '127.0.0.1', () => resolve()));
    await sleep(100);
    // Requests that name no way back get no answer; the inconsistent BYE (CSeq says INVITE) gets a 400.
    expect(stranger.received.map((r) => (r.message as SipResponse).status)).toEqual([400]);
    // Still alive: a call goes through.
    const call = h.call();
    await connect(h, call);
    expect(call.snapshot().status).toBe('connected');
    expect(h.peer.all(isRequest('INVITE')).length).toBeGreaterThan(0);
  });

  it('survives unreadable SDP from the phone: the 200 is ACKed, the call fails with 488 and is hung up', async () => {
    h = await startHarness();
    const call = h.call();
    const invite = await h.peer.waitFor(isRequest('INVITE'));
    await h.peer.respond(invite, 200, { toTag: 'p', contact: h.peer.contact('phone'), body: 'v=0\r\nm=audio notaport RTP/AVP 0\r\n' });
    const ack = await h.peer.waitFor(isRequest('ACK'));
    expect(ack.body).toBe('');
    await h.peer.respond(await h.peer.waitFor(isRequest('BYE')), 200);
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: 488, endedBy: 'error', failure: "the employee's phone answered with an SDP offer that cannot be read" });
  });

  it('answers an unreadable re-INVITE offer with an error and keeps the call', async () => {
    h = await startHarness();
    const call = h.call();
    const { targetInvite } = await connect(h, call);
    const mark = h.peer.received.length;
    const { branch } = await h.peer.requestInDialog(targetInvite, 'targettag', 'INVITE', { body: 'garbage', cseq: 50 });
    const answer = await h.peer.waitFor<SipResponse>((m) => m.kind === 'response' && m.status >= 300 && m.headers.get('Via')!.includes(branch), { after: mark });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(call.snapshot().status).toBe('connected');
  });
});
