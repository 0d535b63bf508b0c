import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { branchOf, callIdOf, cseqOf, isPhoneInvite, isRequest, isTargetInvite, offerSdp, PHONE_TAG, startHarness, TARGET_TAG, type Harness } from '../helpers/fake-peer.js';

/** Digest authentication towards the proxy (RFC 3261 §22), checked with an MD5 of the test's own. */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function fields(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) out[m[1]!] = m[3] ?? m[2]!;
  return out;
}

const CREDENTIALS = { username: 'alice', password: 's3cret' };

describe('digest authentication towards the proxy', () => {
  it('answers a 407 (qop=auth): ACKs it, re-sends the INVITE with CSeq 2 and a correct Proxy-Authorization', async () => {
    h = await startHarness({ credentials: CREDENTIALS });
    const { peer } = h;
    const call = h.call();
    const first = await peer.waitFor(isPhoneInvite);
    await peer.respond(first, 407, { toTag: 'proxy1', headers: [['Proxy-Authenticate', 'Digest realm="example.org", nonce="n0nce-1", qop="auth", algorithm=MD5, opaque="op4que"']] });
    const ack = await peer.waitFor(isRequest('ACK'));
    expect(branchOf(ack)).toBe(branchOf(first));
    expect(cseqOf(ack)).toBe('1 ACK');

    const second = await peer.waitFor(isRequest('INVITE', (r) => cseqOf(r) === '2 INVITE'));
    expect(second.uri).toBe(first.uri);
    expect(callIdOf(second)).toBe(callIdOf(first));
    expect(second.headers.get('From')).toBe(first.headers.get('From'));
    expect(branchOf(second)).not.toBe(branchOf(first));
    expect(second.headers.has('Authorization')).toBe(false);
    const auth = fields(second.headers.get('Proxy-Authorization')!);
    expect(auth).toMatchObject({ username: 'alice', realm: 'example.org', nonce: 'n0nce-1', uri: first.uri, qop: 'auth', nc: '00000001', algorithm: 'MD5', opaque: 'op4que' });
    expect(auth.cnonce).toMatch(/^\w{8,}$/);
    const ha1 = md5(`alice:example.org:s3cret`);
    const ha2 = md5(`INVITE:${first.uri}`);
    expect(auth.response).toBe(md5(`${ha1}:n0nce-1:00000001:${auth.cnonce}:auth:${ha2}`));

    // The call goes on from the authorised INVITE; the ACK of its 2xx carries the same credentials (§22.1).
    await peer.respond(second, 200, { toTag: PHONE_TAG, contact: peer.contact('phone'), body: offerSdp(4000) });
    const ack2xx = await peer.waitFor(isRequest('ACK', (r) => cseqOf(r) === '2 ACK'));
    expect(ack2xx.headers.get('Proxy-Authorization')).toBe(second.headers.get('Proxy-Authorization'));
    await peer.waitFor(isTargetInvite);
    expect(call.snapshot().status).toBe('ringing_target');
  });

  it('answers a 401 without qop, and a challenged BYE is re-sent with CSeq+1', async () => {
    h = await startHarness({ credentials: CREDENTIALS });
    const { peer } = h;
    const call = h.call();
    const phone = await peer.waitFor(isPhoneInvite);
    await peer.respond(phone, 200, { toTag: PHONE_TAG, contact: peer.contact('phone'), body: offerSdp(4000) });
    const target = await peer.waitFor(isTargetInvite);
    await peer.respond(target, 401, { toTag: 'x', headers: [['WWW-Authenticate', 'Digest realm="carrier", nonce="abc"']] });
    const retry = await peer.waitFor(isRequest('INVITE', (r) => callIdOf(r) === callIdOf(target) && cseqOf(r) === '2 INVITE'));
    const auth = fields(retry.headers.get('Authorization')!);
    expect(auth).toMatchObject({ username: 'alice', realm: 'carrier', nonce: 'abc', uri: target.uri });
    expect(auth.qop).toBeUndefined();
    expect(auth.nc).toBeUndefined();
    expect(auth.response).toBe(md5(`${md5('alice:carrier:s3cret')}:abc:${md5(`INVITE:${target.uri}`)}`));

    await peer.respond(retry, 180, { toTag: TARGET_TAG });
    await peer.respond(retry, 200, { toTag: TARGET_TAG, contact: peer.contact('target'), body: offerSdp(5000) });
    const reinvite = await peer.waitFor(isRequest('INVITE', (r) => callIdOf(r) === callIdOf(phone) && cseqOf(r) === '2 INVITE'));
    await peer.respond(reinvite, 200, { contact: peer.contact('phone'), body: offerSdp(4000, '1', 2) });
    await peer.waitFor(isRequest('ACK', (r) => callIdOf(r) === callIdOf(target)));

    void call.hangup();
    const bye = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(target)));
    expect(cseqOf(bye)).toBe('3 BYE');
    await peer.respond(bye, 407, { headers: [['Proxy-Authenticate', 'Digest realm="carrier", nonce="def", qop="auth"']] });
    const byeAgain = await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(target) && cseqOf(r) === '4 BYE'));
    expect(branchOf(byeAgain)).not.toBe(branchOf(bye));
    const byeAuth = fields(byeAgain.headers.get('Proxy-Authorization')!);
    expect(byeAuth.response).toBe(md5(`${md5('alice:carrier:s3cret')}:def:00000001:${byeAuth.cnonce}:auth:${md5(`BYE:${bye.uri}`)}`));
    await peer.respond(byeAgain, 200);
    await peer.respond(await peer.waitFor(isRequest('BYE', (r) => callIdOf(r) === callIdOf(phone))), 200);
    expect(await call.ended).toMatchObject({ status: 'completed', sipCode: 200 });
  });

  it('gives up when the same realm challenges again (wrong password), and reports the 407', async () => {
    h = await startHarness({ credentials: CREDENTIALS });
    const { peer } = h;
    const call = h.call();
    const challenge = { headers: [['Proxy-Authenticate', 'Digest realm="example.org", nonce="n1", qop="auth"']] as Array<[string, string]> };
    await peer.respond(await peer.waitFor(isPhoneInvite), 407, { toTag: 'p', ...challenge });
    await peer.respond(await peer.waitFor(isRequest('INVITE', (r) => cseqOf(r) === '2 INVITE')), 407, { toTag: 'p', ...challenge });
    const final = await call.ended;
    expect(final).toMatchObject({ status: 'failed', sipCode: 407, endedBy: 'phone' });
    expect(peer.requests('INVITE')).toHaveLength(2);
  });

  it('re-answers a stale nonce with the new one', async () => {
    h = await startHarness({ credentials: CREDENTIALS });
    const { peer } = h;
    h.call();
    await peer.respond(await peer.waitFor(isPhoneInvite), 407, { toTag: 'p', headers: [['Proxy-Authenticate', 'Digest realm="example.org", nonce="old", qop="auth"']] });
    await peer.respond(await peer.waitFor(isRequest('INVITE', (r) => cseqOf(r) === '2 INVITE')), 407, {
      toTag: 'p',
      headers: [['Proxy-Authenticate', 'Digest realm="example.org", nonce="new", qop="auth", stale=true']],
    });
    const third = await peer.waitFor(isRequest('INVITE', (r) => cseqOf(r) === '3 INVITE'));
    expect(fields(third.headers.get('Proxy-Authorization')!)).toMatchObject({ nonce: 'new', nc: '00000001' });
    expect(third.headers.all('Proxy-Authorization')).toHaveLength(1);
  });

  it('does not answer challenges without credentials', async () => {
    h = await startHarness();
    const { peer } = h;
    const call = h.call();
    await peer.respond(await peer.waitFor(isPhoneInvite), 401, { toTag: 'p', headers: [['WWW-Authenticate', 'Digest realm="r", nonce="n"']] });
    expect(await call.ended).toMatchObject({ status: 'failed', sipCode: 401 });
    expect(peer.requests('INVITE')).toHaveLength(1);
  });
});
