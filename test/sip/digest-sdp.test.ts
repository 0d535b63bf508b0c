import { describe, expect, it } from 'vitest';
import { digestAuthorization, parseChallenge } from '../../src/sip/digest.js';
import { holdAnswer, isHold, mediaAddresses, parseSdp, SdpOrigin } from '../../src/sip/sdp.js';
import { offerSdp } from '../helpers/fake-peer.js';

describe('digest authentication', () => {
  it('matches the RFC 2617 §3.5 example (MD5, qop=auth)', () => {
    const challenge = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')!;
    expect(challenge).toEqual({
      scheme: 'Digest',
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
      algorithm: 'MD5',
      qop: ['auth', 'auth-int'],
      stale: false,
    });
    const result = digestAuthorization({
      challenge,
      credentials: { username: 'Mufasa', password: 'Circle Of Life' },
      method: 'GET',
      uri: '/dir/index.html',
      cnonce: '0a4f113b',
      nonceCount: 1,
    });
    expect(result.response).toBe('6629fae49393a05397450978507c4ef1');
    expect(result.header).toBe(
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", ' +
        'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, opaque="5ccc069c403ebaf9f0171e9517f40e41", qop=auth, nc=00000001, cnonce="0a4f113b"',
    );
  });

  it('answers a challenge without qop the RFC 2069 way, and counts nonce uses in hex', () => {
    const noQop = digestAuthorization({
      challenge: parseChallenge('Digest realm="atlanta.example.com",nonce="84a4cc6f3082121f32b42a2187831a9e",algorithm=MD5')!,
      credentials: { username: 'alice', password: 'secret' },
      method: 'INVITE',
      uri: 'sip:+33612345678@atlanta.example.com',
    });
    expect(noQop.response).toBe('064f726d8f1ca6ba63ad8d7bf8ff7aac');
    expect(noQop.header).not.toMatch(/qop|nc=|cnonce/);
    const second = digestAuthorization({
      challenge: parseChallenge('digest realm="atlanta.example.com", nonce="abc123", qop=auth, stale=TRUE')!,
      credentials: { username: 'alice', password: 'secret' },
      method: 'BYE',
      uri: 'sip:bob@192.0.2.4',
      cnonce: 'deadbeef',
      nonceCount: 2,
    });
    expect(second).toMatchObject({ response: '8b9c3e48d1df00c6315d2157449468cf', nc: '00000002', qop: 'auth' });
  });

  it('ignores what it cannot answer', () => {
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenge('Digest nonce="x"')).toBeUndefined();
    expect(() =>
      digestAuthorization({ challenge: parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-512-256')!, credentials: { username: 'u', password: 'p' }, method: 'INVITE', uri: 'sip:a@b' }),
    ).toThrow(/algorithm/);
  });
});

describe('SDP helpers', () => {
  it('parks a leg: every stream answered with one real codec, at 0.0.0.0, inactive, on a non-zero port', () => {
    const offer = offerSdp(43160).replace('RTP/AVP 0 8 101', 'RTP/AVP 101 8 0') + 'm=video 0 RTP/AVP 96\r\n';
    const answer = holdAnswer(offer);
    expect(answer).toBe(
      ['v=0', 'o=- 0 0 IN IP4 0.0.0.0', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 9 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000', 'a=inactive', 'm=video 0 RTP/AVP 96', ''].join('\r\n'),
    );
    expect(isHold(answer)).toBe(true);
    expect(isHold(offer)).toBe(false);
    expect(parseSdp(answer).media).toHaveLength(2);
  });

  it('stamps our origin on forwarded descriptions, bumping the version only when they change', () => {
    const origin = new SdpOrigin('192.0.2.7', '4242');
    const first = origin.stamp(offerSdp(1000));
    const version = Number(/^o=sipsim 4242 (\d+) IN IP4 192\.0\.2\.7$/m.exec(first)![1]);
    // The same description with the peer's own new o= line: no change for us.
    expect(origin.stamp(offerSdp(1000, '999', 7))).toContain(`o=sipsim 4242 ${version} IN IP4 192.0.2.7`);
    expect(origin.stamp(offerSdp(2000))).toContain(`o=sipsim 4242 ${version + 1} IN IP4 192.0.2.7`);
    expect(mediaAddresses(offerSdp(2000))).toEqual([{ media: 'audio', address: '127.0.0.1', port: 2000 }]);
  });

  it('refuses what is not SDP', () => {
    expect(() => parseSdp('hello')).toThrow();
    expect(() => holdAnswer('v=0\r\nm=audio x RTP/AVP 0\r\n')).toThrow();
  });
});
