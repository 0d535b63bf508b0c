import { describe, expect, it } from 'vitest';
import { numberToUri, InvalidNumberError } from '../../src/sip/third-party-call.js';
import { createResponse, parseCSeq, parseMessage, parseVia, serializeMessage, SipParseError, type SipRequest } from '../../src/sip/message.js';
import { formatNameAddr, formatUri, parseNameAddr, parseUri, tagOf } from '../../src/sip/uri.js';

const INVITE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
  'Content-Length: 23',
  '',
  'v=0\r\no=- 1 1 IN IP4 x\r\n',
].join('\r\n');

describe('SIP message parser', () => {
  it('parses a request and serialises it back to the same message', () => {
    const message = parseMessage(INVITE) as SipRequest;
    expect(message.kind).toBe('request');
    expect(message.method).toBe('INVITE');
    expect(message.uri).toBe('sip:bob@biloxi.example.com');
    expect(message.headers.get('call-id')).toBe('a84b4c76e66710@pc33.atlanta.example.com');
    expect(message.headers.get('From')).toBe('"Alice A." <sip:alice@atlanta.example.com>;tag=1928301774');
    expect(message.body).toBe('v=0\r\no=- 1 1 IN IP4 x\r\n');
    const text = serializeMessage(message);
    expect(text).toBe(INVITE);
    const again = parseMessage(text) as SipRequest;
    expect(again.headers.entries()).toEqual(message.headers.entries());
    expect(again.body).toBe(message.body);
  });

  it('parses a response with an empty reason phrase and a UTF-8 body length in bytes', () => {
    const body = 'é\r\n';
    const text = `SIP/2.0 180\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const message = parseMessage(text);
    expect(message).toMatchObject({ kind: 'response', status: 180, reason: '', body });
    expect(serializeMessage(message)).toContain('Content-Length: 4\r\n');
  });

  it('takes compact forms, any case, folded lines, LF line ends and leading CRLFs', () => {
    const text = [
      '',
      'bye sip:a@b SIP/2.0',
      'v: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1,',
      '   SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2',
      'V: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK3',
      'f: <sip:x@y>;tag=1',
      't: sip:a@b',
      'i: abc',
      'CSEQ: 2 BYE',
      'm: <sip:c@d>',
      'k: timer, 100rel',
      'SUBJECT  :   folded',
      '\tvalue',
      'l: 0',
      '',
      '',
    ].join('\n');
    const message = parseMessage(`\r\n${text}`) as SipRequest;
    expect(message.method).toBe('BYE');
    expect(message.headers.all('Via')).toEqual(['SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1', 'SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2', 'SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK3']);
    expect(message.headers.get('Via')).toBe('SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK1');
    expect(message.headers.get('Call-ID')).toBe('abc');
    expect(message.headers.get('To')).toBe('sip:a@b');
    expect(message.headers.get('Contact')).toBe('<sip:c@d>');
    expect(message.headers.all('Supported')).toEqual(['timer', '100rel']);
    expect(message.headers.get('Subject')).toBe('folded value');
    expect(parseCSeq(message.headers.get('CSeq'))).toEqual({ seq: 2, method: 'BYE' });
    // Serialised with full names.
    expect(serializeMessage(message)).toMatch(/^BYE sip:a@b SIP\/2\.0\r\nVia: .*\r\nFrom: <sip:x@y>;tag=1\r\nTo: sip:a@b\r\nCall-ID: abc\r\n/s);
  });

  it('keeps commas inside quotes and angle brackets in one list element', () => {
    const message = parseMessage('OPTIONS sip:a@b SIP/2.0\r\nContact: "Doe, John" <sip:j@d;x=a,b>, <sip:k@d>\r\nWWW-Authenticate: Digest realm="a", nonce="b"\r\n\r\n');
    expect(message.headers.all('Contact')).toEqual(['"Doe, John" <sip:j@d;x=a,b>', '<sip:k@d>']);
    // Not a list header: the challenge stays whole.
    expect(message.headers.all('WWW-Authenticate')).toEqual(['Digest realm="a", nonce="b"']);
  });

  it('cuts the body at Content-Length and refuses a body shorter than announced', () => {
    const base = 'MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n';
    expect(parseMessage(`${base}Content-Length: 3\r\n\r\nabcdef`).body).toBe('abc');
    expect(() => parseMessage(`${base}Content-Length: 30\r\n\r\nabc`)).toThrow(SipParseError);
    expect(() => parseMessage(`${base}Content-Length: x\r\n\r\n`)).toThrow(SipParseError);
    // Without Content-Length, UDP takes the rest of the datagram.
    expect(parseMessage(`${base}\r\nhello`).body).toBe('hello');
  });

  it.each([
    ['empty', ''],
    ['line ends only', '\r\n\r\n'],
    ['not SIP', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['wrong version', 'INVITE sip:a@b SIP/3.0\r\n\r\n'],
    ['bad status', 'SIP/2.0 99 Low\r\n\r\n'],
    ['header without colon', 'INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n'],
    ['NUL bytes', 'INVITE sip:a@b SIP/2.0\r\nVia: a\0b\r\n\r\n'],
    ['binary', Buffer.from([0x80, 0x00, 0xff, 0x13, 0x37]).toString('latin1')],
  ])('refuses garbage: %s', (_, text) => {
    expect(() => parseMessage(Buffer.from(text, 'latin1'))).toThrow(SipParseError);
  });

  it('parses Via with rport, received, IPv6 and odd spacing', () => {
    expect(parseVia('SIP / 2.0 / udp 192.0.2.1:5062 ;branch=z9hG4bKx;rport;received=10.0.0.1')).toEqual({
      transport: 'UDP',
      host: '192.0.2.1',
      port: 5062,
      params: { branch: 'z9hG4bKx', rport: null, received: '10.0.0.1' },
    });
    expect(parseVia('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKy')).toMatchObject({ host: '2001:db8::1', port: 5060 });
    expect(parseVia('garbage')).toBeUndefined();
    expect(parseCSeq('abc INVITE')).toBeUndefined();
    expect(parseCSeq('99999999999 INVITE')).toBeUndefined();
  });

  it('builds a response from a request: Vias, From, To with our tag, Call-ID, CSeq', () => {
    const request = parseMessage(INVITE) as SipRequest;
    const response = createResponse(request, 486, { toTag: 'abc' });
    expect(serializeMessage(response)).toBe(
      [
        'SIP/2.0 486 Busy Here',
        'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
        'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
        'To: Bob <sip:bob@biloxi.example.com>;tag=abc',
        'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
        'CSeq: 314159 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  });
});

describe('SIP URIs and name-addr', () => {
  it('parses and formats URIs with user, password, port, parameters and headers', () => {
    const uri = parseUri('SIP:+33612345678:pw@Example.org:5070;user=phone;LR?subject=hi&priority=urgent');
    expect(uri).toEqual({ scheme: 'sip', user: '+33612345678', password: 'pw', host: 'Example.org', port: 5070, params: { user: 'phone', lr: null }, headers: { subject: 'hi', priority: 'urgent' } });
    expect(formatUri(uri)).toBe('sip:+33612345678:pw@Example.org:5070;user=phone;lr?subject=hi&priority=urgent');
    expect(parseUri('sips:[2001:db8::1]:5061;transport=tcp')).toMatchObject({ scheme: 'sips', host: '2001:db8::1', port: 5061 });
    expect(formatUri(parseUri('sip:[2001:db8::1]'))).toBe('sip:[2001:db8::1]');
    expect(parseUri('sip:101-0x55d26a506ac0@127.0.0.1:27140')).toMatchObject({ user: '101-0x55d26a506ac0', host: '127.0.0.1', port: 27140 });
  });

  it.each(['tel:+3361234', 'sip:', 'sip:a@', 'sip:a@b:99999', 'sip:a@b:x', 'sip:@b', 'http://x', 'sip:a@[::1', 'sip:a b@c'])('refuses %s', (text) => {
    expect(() => parseUri(text)).toThrow();
  });

  it('parses name-addr with quoted names, bare addr-specs and header parameters', () => {
    const quoted = parseNameAddr('"Doe, \\"JD\\" John" <sip:jd@example.org;transport=udp>;tag=88;expires=60');
    expect(quoted.displayName).toBe('Doe, "JD" John');
    expect(quoted.uri.params).toEqual({ transport: 'udp' });
    expect(quoted.params).toEqual({ tag: '88', expires: '60' });
    expect(formatNameAddr(quoted)).toBe('"Doe, \\"JD\\" John" <sip:jd@example.org;transport=udp>;tag=88;expires=60');
    // In a bare addr-spec, the parameters belong to the header (RFC 3261 §20.10).
    const bare = parseNameAddr('sip:bob@biloxi.example.com;tag=xyz');
    expect(bare.uri.params).toEqual({});
    expect(bare.params).toEqual({ tag: 'xyz' });
    expect(parseNameAddr('Bob <sip:bob@b>').displayName).toBe('Bob');
    expect(tagOf('<sip:a@b>;TAG=QQ')).toBe('QQ');
    expect(tagOf('<sip:a@b;tag=inside>')).toBeUndefined();
    expect(tagOf('not a uri')).toBeUndefined();
  });
});

describe('numbers to target URIs', () => {
  it('keeps the E.164 plus by default and strips it when asked', () => {
    expect(numberToUri('+33612345678', { domain: 'example.org' })).toBe('sip:+33612345678@example.org');
    expect(numberToUri('+33 6 12-34.56 (78)', { domain: 'example.org', stripPlus: true })).toBe('sip:33612345678@example.org');
    expect(numberToUri('*97#', { domain: 'pbx.example.org:5080' })).toBe('sip:*97%23@pbx.example.org:5080');
  });

  it.each(['', '+', 'abc', '0612345678;x=1', '06@evil', '+33612345678\r\nVia: x', '1'.repeat(40)])('refuses %j', (number) => {
    expect(() => numberToUri(number, { domain: 'example.org' })).toThrow(InvalidNumberError);
  });
});
