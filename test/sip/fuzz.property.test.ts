import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage, SipParseError } from '../../src/sip/message.js';
import { parseNameAddr, parseUri, SipUriError } from '../../src/sip/uri.js';
import { connect, isRequest, startHarness, type Harness } from '../helpers/fake-peer.js';

/** Whatever arrives, the parser answers or refuses; the agent never falls over. */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const SAMPLES = [
  'INVITE sip:+33612345678@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKabc;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:5099>\r\nContent-Type: application/sdp\r\nContent-Length: 31\r\n\r\nv=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n',
  'BYE sip:sipsim@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKdef\r\nf: <sip:a@b>;tag=2\r\nt: <sip:c@d>;tag=3\r\ni: x@y\r\nCSeq: 2 BYE\r\nl: 0\r\n\r\n',
  'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKzzz\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=9\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:p;lr>, <sip:q;lr>\r\nContact: <sip:z@1.2.3.4>\r\nContent-Length: 0\r\n\r\n',
];

/** A sample with a few bytes replaced, inserted or cut. */
const mutated = fc
  .tuple(fc.constantFrom(...SAMPLES), fc.array(fc.tuple(fc.nat(), fc.constantFrom('replace', 'insert', 'cut'), fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 6 }))
  .map(([sample, edits]) => {
    let text = sample;
    for (const [at, kind, chunk] of edits) {
      const i = at % (text.length + 1);
      if (kind === 'replace') text = text.slice(0, i) + chunk + text.slice(i + chunk.length);
      else if (kind === 'insert') text = text.slice(0, i) + chunk + text.slice(i);
      else text = text.slice(0, i) + text.slice(i + chunk.length + 1);
    }
    return text;
  });

describe('fuzzing', () => {
  it('the parsers only ever throw their own errors', () => {
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string(), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'))), (text) => {
        try {
          parseMessage(Buffer.from(text, 'latin1'));
        } catch (error) {
          expect(error).toBeInstanceOf(SipParseError);
        }
        try {
          parseNameAddr(text.slice(0, 120));
        } catch (error) {
          expect(error).toBeInstanceOf(SipUriError);
        }
        try {
          parseUri(text.slice(0, 80));
        } catch (error) {
          expect(error).toBeInstanceOf(SipUriError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the agent survives a storm of mangled messages, during a call', async () => {
    h = await startHarness();
    const call = h.call();
    await connect(h, call);
    const texts = fc.sample(mutated, 400);
    for (const text of texts) await h.peer.send(text, h.agent.address.port);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Still the same call, still answering: a hang-up goes through.
    expect(call.snapshot().status).toBe('connected');
    void call.hangup();
    await h.peer.waitFor(isRequest('BYE'));
  });
});
