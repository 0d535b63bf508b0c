import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseWebhookEvent,
  SipsimError,
  verifyWebhookSignature,
  WEBHOOK_EVENT_NAMES,
  webhookEventName,
  WebhookVerificationError,
  type WebhookEvent,
  type WebhookVerificationReason,
} from '../../packages/sdk/src/index.js';
import { postWebhook } from '../../src/webhooks/dispatcher.js';
import { WEBHOOK_EVENTS } from '../../src/domain/webhook-events.js';
import { messageOfPbxEvent, testMessage } from '../../src/domain/webhook-messages.js';
import { signWebhook } from '../../src/webhooks/signature.js';

/**
 * The receiver's side of webhook signatures, checked against the server's
 * own signing: what passes, every way a forged, altered, replayed or garbled
 * delivery is turned away, and a real delivery over HTTP.
 */

const SECRET = 'whsec_test-secret-0123456789';
const NOW_S = 1_736_937_000; // 2025-01-15T10:30:00Z
const now = () => NOW_S * 1000;

/** A delivery as the server signs it, with the headers as the dispatcher names them. */
function signed(body: string, { secret = SECRET, timestamp = NOW_S } = {}) {
  return { body, headers: { 'X-Webhook-Signature': signWebhook(secret, timestamp, body), 'X-Webhook-Timestamp': String(timestamp) } };
}

const BODY = testMessage(NOW_S).body;

/** The reason parseWebhookEvent gives, or null when it accepts. */
async function reasonOf(...args: Parameters<typeof parseWebhookEvent>): Promise<WebhookVerificationReason | null> {
  try {
    await parseWebhookEvent(...args);
    return null;
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    return error.reason;
  }
}

describe('verifyWebhookSignature', () => {
  it('accepts a delivery signed by the server, with Headers or a plain object in any case', async () => {
    const { body, headers } = signed(BODY);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    for (const h of [new Headers(headers), headers, lower, upper, { ...lower, 'content-type': 'application/json', 'x-other': undefined }]) {
      expect(await verifyWebhookSignature(body, h, SECRET, { now })).toBe(true);
    }
    // A repeated header arrives as an array in Node: the first value counts.
    expect(await verifyWebhookSignature(body, { 'x-webhook-signature': [headers['X-Webhook-Signature'], 'f'.repeat(64)], 'x-webhook-timestamp': [String(NOW_S)] }, SECRET, { now })).toBe(true);
    expect(await verifyWebhookSignature(body, { 'x-webhook-signature': ['f'.repeat(64), headers['X-Webhook-Signature']], 'x-webhook-timestamp': String(NOW_S) }, SECRET, { now })).toBe(false);
  });

  it('uses the real clock by default', async () => {
    const { body, headers } = signed(BODY, { timestamp: Math.floor(Date.now() / 1000) });
    expect(await verifyWebhookSignature(body, headers, SECRET)).toBe(true);
    const old = signed(BODY, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(await verifyWebhookSignature(old.body, old.headers, SECRET)).toBe(false);
  });

  it('takes the body as a string, a Uint8Array, an ArrayBuffer or a Buffer slice of a larger pool', async () => {
    // Not ASCII: the bytes signed must be the UTF-8 ones, never re-encoded.
    const body = JSON.stringify({ event: 'sms', caller: '+33612345678', receiver: '+33198765432', message: 'Rendez-vous à 14 h ✅ 🎉', time: '2025-01-15T11:00:00Z', direction: 'inbound' });
    const { headers } = signed(body);
    const bytes = new TextEncoder().encode(body);
    const pooled = Buffer.concat([Buffer.from('garbage before'), Buffer.from(body), Buffer.from('garbage after')]);
    const slice = pooled.subarray(14, 14 + Buffer.byteLength(body));
    expect(slice.byteOffset).toBeGreaterThan(0);
    for (const raw of [body, bytes, bytes.buffer.slice(0), slice, Buffer.from(body)]) {
      expect(await verifyWebhookSignature(raw, headers, SECRET, { now })).toBe(true);
    }
    // The whole pool is not the body.
    expect(await verifyWebhookSignature(pooled.buffer.slice(pooled.byteOffset, pooled.byteOffset + pooled.length), headers, SECRET, { now })).toBe(false);
  });

  it('rejects any change of the body, even one that means the same JSON', async () => {
    const { body, headers } = signed(BODY);
    const variants = [
      body.replace('test_000000', 'test_000001'),
      `${body} `,
      `${body}\n`,
      body.slice(0, -1),
      JSON.stringify(JSON.parse(body), null, 2),
      JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(body)).reverse())),
      '',
    ];
    for (const variant of variants) {
      expect(await verifyWebhookSignature(variant, headers, SECRET, { now }), JSON.stringify(variant)).toBe(false);
    }
    // Every single flipped bit of the raw bytes is caught.
    const bytes = new TextEncoder().encode(body);
    for (let i = 0; i < bytes.length; i += 7) {
      const flipped = bytes.slice();
      flipped[i]! ^= 1 << (i % 8);
      expect(await verifyWebhookSignature(flipped, headers, SECRET, { now })).toBe(false);
    }
  });

  it('rejects another secret, a rotated one, and a timestamp changed without re-signing', async () => {
    const { body, headers } = signed(BODY);
    expect(await verifyWebhookSignature(body, headers, `${SECRET}x`, { now })).toBe(false);
    expect(await verifyWebhookSignature(body, headers, 'whsec_rotated', { now })).toBe(false);
    expect(await reasonOf(body, headers, 'whsec_rotated', { now })).toBe('bad_signature');
    // The timestamp is part of what is signed: moving it (to dodge the tolerance) breaks the signature.
    const moved = { ...headers, 'X-Webhook-Timestamp': String(NOW_S + 1) };
    expect(await verifyWebhookSignature(body, moved, SECRET, { now })).toBe(false);
    expect(await reasonOf(body, moved, SECRET, { now })).toBe('bad_signature');
  });

  it('rejects timestamps older or newer than the tolerance, 300 s unless told', async () => {
    const { body, headers } = signed(BODY);
    const at = (seconds: number) => () => seconds * 1000;
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S + 300) })).toBe(true);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S - 300) })).toBe(true);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S + 301) })).toBe(false);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S - 301) })).toBe(false);
    expect(await reasonOf(body, headers, SECRET, { now: at(NOW_S + 3600) })).toBe('stale_timestamp');
    expect(await reasonOf(body, headers, SECRET, { now: at(NOW_S - 3600) })).toBe('stale_timestamp');
    // Fractions of a second count: 300.5 s is beyond 300.
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: () => (NOW_S + 300) * 1000 + 500 })).toBe(false);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S + 30), toleranceSeconds: 10 })).toBe(false);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S + 30), toleranceSeconds: 60 })).toBe(true);
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S), toleranceSeconds: 0 })).toBe(true);
    // Infinity checks a stored delivery long after the fact; a stale one still needs the right signature.
    expect(await verifyWebhookSignature(body, headers, SECRET, { now: at(NOW_S + 86400 * 365), toleranceSeconds: Infinity })).toBe(true);
    expect(await verifyWebhookSignature(body, headers, 'other', { now: at(NOW_S + 86400 * 365), toleranceSeconds: Infinity })).toBe(false);
    // A stale delivery is refused even when its signature is right: a replay.
    const message = await parseWebhookEvent(body, headers, SECRET, { now: at(NOW_S + 400) }).catch((e: Error) => e.message);
    expect(message).toMatch(/400 s in the past, beyond the 300 s allowed/);
    await expect(verifyWebhookSignature(body, headers, SECRET, { toleranceSeconds: -1 })).rejects.toThrow(TypeError);
    await expect(verifyWebhookSignature(body, headers, SECRET, { toleranceSeconds: Number.NaN })).rejects.toThrow(TypeError);
  });

  it('rejects missing or empty headers', async () => {
    const { body, headers } = signed(BODY);
    const cases: Array<Record<string, string | string[] | undefined>> = [
      {},
      { 'X-Webhook-Signature': headers['X-Webhook-Signature'] },
      { 'X-Webhook-Timestamp': headers['X-Webhook-Timestamp'] },
      { ...headers, 'X-Webhook-Signature': '' },
      { ...headers, 'X-Webhook-Timestamp': '  ' },
      { ...headers, 'X-Webhook-Signature': undefined },
      { ...headers, 'X-Webhook-Signature': [] },
      // Near misses of the names are other headers.
      { 'X-Webhook-Signatures': headers['X-Webhook-Signature'], 'X-Webhook-Timestamp': headers['X-Webhook-Timestamp'] },
    ];
    for (const h of cases) {
      expect(await verifyWebhookSignature(body, h, SECRET, { now }), JSON.stringify(h)).toBe(false);
      expect(await reasonOf(body, h, SECRET, { now })).toBe('missing_headers');
    }
    expect(await verifyWebhookSignature(body, new Headers(), SECRET, { now })).toBe(false);
  });

  it('rejects malformed signatures and timestamps, and accepts the hex in upper case', async () => {
    const { body, headers } = signed(BODY);
    const good = headers['X-Webhook-Signature'];
    expect(good).toMatch(/^[0-9a-f]{64}$/);
    // Upper case is the same bytes written differently, so it is accepted (decided: the bytes are compared, not the text).
    expect(await verifyWebhookSignature(body, { ...headers, 'X-Webhook-Signature': good.toUpperCase() }, SECRET, { now })).toBe(true);
    expect(await verifyWebhookSignature(body, { ...headers, 'X-Webhook-Signature': ` ${good} ` }, SECRET, { now })).toBe(true);
    const signatures = [
      good.slice(0, 63), // odd length
      good.slice(0, 62), // a byte short
      `${good}00`, // a byte long
      `${good.slice(0, 63)}g`, // not hex
      `sha256=${good}`,
      `${good},${good}`,
      Buffer.from(good, 'hex').toString('base64'),
      '0'.repeat(64), // well formed, wrong
    ];
    for (const signature of signatures) {
      expect(await verifyWebhookSignature(body, { ...headers, 'X-Webhook-Signature': signature }, SECRET, { now }), signature).toBe(false);
    }
    expect(await reasonOf(body, { ...headers, 'X-Webhook-Signature': good.slice(0, 63) }, SECRET, { now })).toBe('malformed_headers');
    expect(await reasonOf(body, { ...headers, 'X-Webhook-Signature': `${good.slice(0, 63)}g` }, SECRET, { now })).toBe('malformed_headers');
    expect(await reasonOf(body, { ...headers, 'X-Webhook-Signature': '0'.repeat(64) }, SECRET, { now })).toBe('bad_signature');

    for (const timestamp of ['abc', '-5', '1736937000.5', '1e9', '0x10', '']) {
      const h = { 'X-Webhook-Signature': signWebhook(SECRET, NOW_S, BODY), 'X-Webhook-Timestamp': timestamp };
      expect(await verifyWebhookSignature(body, h, SECRET, { now }), timestamp).toBe(false);
    }
    expect(await reasonOf(body, { ...headers, 'X-Webhook-Timestamp': '1736937000.5' }, SECRET, { now })).toBe('malformed_headers');
    // Milliseconds instead of seconds: far in the future.
    const ms = signed(BODY, { timestamp: NOW_S * 1000 });
    expect(await reasonOf(ms.body, ms.headers, SECRET, { now })).toBe('stale_timestamp');
  });

  it('refuses an empty secret outright: a missing configuration, not a bad delivery', async () => {
    const { body, headers } = signed(BODY);
    await expect(verifyWebhookSignature(body, headers, '', { now })).rejects.toThrow(TypeError);
    await expect(verifyWebhookSignature(body, headers, undefined as unknown as string, { now })).rejects.toThrow(TypeError);
  });
});

describe('parseWebhookEvent', () => {
  it('returns the event of a verified delivery, typed by its name', async () => {
    const end = messageOfPbxEvent({ event: 'incoming_call_end', pbx_id: 'call_abc123', caller: '+33612345678', receiver: '+33198765432', time: NOW_S, duration: 285, sip_code: 200, audio_path: 'https://example.com/r.mp3' });
    const { body, headers } = signed(end.body);
    const event = await parseWebhookEvent(body, headers, SECRET, { now });
    expect(event).toEqual(JSON.parse(end.body));
    expect(event).toEqual({ event: 'incoming_call_end', caller: '+33612345678', receiver: '+33198765432', time: '2025-01-15T10:30:00Z', pbx_id: 'call_abc123', duration: 285, audio_path: 'https://example.com/r.mp3', status: 'ANSWER' });
    // The union narrows on `event`: a field of another event is a type error here.
    if (event.event === 'incoming_call_end') expect(event.duration + (event.audio_path ?? '').length).toBeGreaterThan(0);
    else throw new Error('not narrowed');

    const test = signed(BODY);
    const parsed = await parseWebhookEvent(new TextEncoder().encode(test.body), new Headers(test.headers), SECRET, { now });
    expect(parsed).toEqual({ event: 'test', message: expect.stringContaining('test webhook'), timestamp: '2025-01-15T10:30:00Z', pbx_id: 'test_000000' });
    expect(webhookEventName(parsed)).toBe('test');
  });

  it('reads speech and summary, which SIPSIM documents without an event field', async () => {
    const speech = JSON.stringify({ call_id: 12345, speech_state: 'speech_stored', payload: [{ text: 'Hello', start: 0.5, end: 3.2, start_sec: 0.5, channel: 'left' }] });
    const summary = JSON.stringify({ id: 789, summary: 'The caller asked for pricing.', call_id: 12345 });
    const names: string[] = [];
    for (const body of [speech, summary]) {
      const s = signed(body);
      const event: WebhookEvent = await parseWebhookEvent(s.body, s.headers, SECRET, { now });
      names.push(webhookEventName(event));
    }
    expect(names).toEqual(['speech', 'summary']);
  });

  it('throws a WebhookVerificationError, a SipsimError, with the reason', async () => {
    const { body, headers } = signed(BODY);
    const error = await parseWebhookEvent(body, headers, 'wrong', { now }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error).toBeInstanceOf(SipsimError);
    expect(error).toMatchObject({ name: 'WebhookVerificationError', reason: 'bad_signature', code: 'bad_signature' });
    expect(await reasonOf(body, {}, SECRET, { now })).toBe('missing_headers');
    // A forged body is refused before it is read: its JSON is never looked at.
    expect(await reasonOf('not json', headers, SECRET, { now })).toBe('bad_signature');
  });

  it('refuses what is signed but not an event: not JSON, not an object, not UTF-8, an unknown name', async () => {
    const cases: Array<[string | Uint8Array, WebhookVerificationReason]> = [
      ['not json', 'bad_json'],
      ['[1,2]', 'bad_json'],
      ['null', 'bad_json'],
      ['"test"', 'bad_json'],
      [new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 'bad_json'],
      ['{"event":"call_exploded","pbx_id":"x"}', 'unknown_event'],
      ['{"event":42}', 'unknown_event'],
      ['{"pbx_id":"x"}', 'unknown_event'],
    ];
    for (const [body, reason] of cases) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      const headers = { 'x-webhook-signature': hmacOfBytes(bytes), 'x-webhook-timestamp': String(NOW_S) };
      expect(await verifyWebhookSignature(bytes, headers, SECRET, { now }), String(body)).toBe(true);
      expect(await reasonOf(bytes, headers, SECRET, { now }), String(body)).toBe(reason);
    }
  });

  it('knows the events the server sends, and only those', () => {
    expect([...WEBHOOK_EVENT_NAMES]).toEqual([...WEBHOOK_EVENTS, 'test']);
  });
});

/** The signature of raw bytes, which may not be valid UTF-8 and so cannot go through signWebhook's string. */
function hmacOfBytes(bytes: Uint8Array): string {
  return createHmac('sha256', SECRET).update(Buffer.concat([Buffer.from(`${NOW_S}.`), bytes])).digest('hex');
}

describe('a real delivery, over HTTP', () => {
  let server: Server;
  let url: string;
  const received: Array<{ headers: IncomingHttpHeaders; event: WebhookEvent | null; reason: string | null }> = [];

  beforeAll(async () => {
    // A receiver written as the guide says: raw bytes in, verified before anything else, 401 when not.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        parseWebhookEvent(Buffer.concat(chunks), req.headers, SECRET).then(
          (event) => {
            received.push({ headers: req.headers, event, reason: null });
            res.writeHead(200).end('ok');
          },
          (error: unknown) => {
            received.push({ headers: req.headers, event: null, reason: error instanceof WebhookVerificationError ? error.reason : String(error) });
            res.writeHead(401).end(`refused: ${error instanceof Error ? error.message : error}`);
          },
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sipsim`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('verifies what postWebhook sends, from the raw bytes, and refuses a delivery signed with another secret', async () => {
    received.length = 0;
    const message = testMessage(Math.floor(Date.now() / 1000));
    const ok = await postWebhook(url, SECRET, { id: 41, event: message.event, body: message.body }, 2000);
    expect(ok).toEqual({ ok: true, status: 200, error: null });
    expect(received).toHaveLength(1);
    expect(received[0]!.event).toEqual(JSON.parse(message.body));
    expect(received[0]!.headers).toMatchObject({ 'content-type': 'application/json', 'x-webhook-event': 'test', 'x-webhook-id': '41' });

    const end = messageOfPbxEvent({ event: 'outgoing_call_end', pbx_id: 'call_déf', caller: '+33198765432', receiver: '+33612345678', time: NOW_S, duration: 0, sip_code: 486 });
    expect(await postWebhook(url, SECRET, { id: 42, event: end.event, body: end.body }, 2000)).toMatchObject({ ok: true, status: 200 });
    expect(received[1]!.event).toMatchObject({ event: 'outgoing_call_end', pbx_id: 'call_déf', status: 'BUSY', duration: 0 });

    const refused = await postWebhook(url, 'whsec_someone-else', { id: 43, event: message.event, body: message.body }, 2000);
    expect(refused).toMatchObject({ ok: false, status: 401 });
    expect(refused.error).toContain('does not match');
    expect(received[2]).toMatchObject({ event: null, reason: 'bad_signature' });
  });
});

describe('the SDK package stays runtime-neutral', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const sdkDir = resolve(here, '../../packages/sdk/src');

  /** The files `entry` loads, itself included, failing on any import from node:, from a package or from outside the SDK. */
  const closure = (entry: string): string[] => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      expect(relative(sdkDir, file), `${file} is outside the SDK package`).not.toMatch(/^\.\./);
      const text = readFileSync(file, 'utf8');
      const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)].map(
        (m) => m[1] ?? m[2] ?? m[3] ?? m[4]!,
      );
      for (const specifier of specifiers) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\.?\//);
        visit(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      }
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\bBuffer\b|\bprocess\.|node:/);
    };
    visit(join(sdkDir, entry));
    return [...seen].map((f) => relative(sdkDir, f)).sort();
  };

  it('imports nothing from node: or from packages, directly or through its own imports, and never uses Buffer', () => {
    expect(closure('webhooks.ts')).toEqual(['errors.ts', 'webhooks.ts']);
  });

  it('loads, from its entry point, every file of its own and nothing else', () => {
    const own = readdirSync(sdkDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).sort();
    expect(closure('index.ts')).toEqual(own);
  });
});
