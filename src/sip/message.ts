/**
 * SIP messages (RFC 3261 §7): a tolerant parser and a strict serialiser.
 *
 * The parser takes what real peers send: compact header names, any case,
 * folded lines, LF-only line ends, several values on one line or one per
 * line. It throws SipParseError on anything it cannot make sense of, and the
 * transport drops such datagrams.
 */
import { parseParams, splitOutsideQuotes, type Params } from './uri.js';

export class SipParseError extends Error {
  override name = 'SipParseError';
}

/** RFC 3261 §7.3.3 compact forms, plus the common ones from later RFCs. */
const COMPACT: Record<string, string> = {
  i: 'Call-ID',
  m: 'Contact',
  e: 'Content-Encoding',
  l: 'Content-Length',
  c: 'Content-Type',
  f: 'From',
  s: 'Subject',
  k: 'Supported',
  t: 'To',
  v: 'Via',
  o: 'Event',
  r: 'Refer-To',
  b: 'Referred-By',
  u: 'Allow-Events',
  x: 'Session-Expires',
  a: 'Accept-Contact',
  j: 'Reject-Contact',
  d: 'Request-Disposition',
  y: 'Identity',
};

const SPECIAL_CASE: Record<string, string> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  'rseq': 'RSeq',
  'rack': 'RAck',
};

/**
 * Headers whose values are comma-separated lists (§7.3.1), so that
 * `Via: a, b` and two `Via:` lines mean the same. Authentication headers
 * hold commas inside one value and are deliberately not listed.
 */
const LIST_HEADERS = new Set([
  'Via', 'Route', 'Record-Route', 'Contact', 'Allow', 'Supported', 'Require', 'Proxy-Require',
  'Unsupported', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Allow-Events', 'Content-Encoding',
  'Content-Language', 'In-Reply-To', 'Path', 'Service-Route', 'Reason',
]);

export function canonicalHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  if (lower.length === 1 && COMPACT[lower]) return COMPACT[lower];
  return SPECIAL_CASE[lower] ?? lower.replace(/(^|-)([a-z])/g, (_, dash: string, ch: string) => dash + ch.toUpperCase());
}

/** An ordered, case-insensitive header list. */
export class Headers {
  private readonly list: Array<{ name: string; value: string }> = [];

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [name, value] of entries) this.append(name, value);
  }

  /** The first value of a header (for a list header, its first element). */
  get(name: string): string | undefined {
    const key = canonicalHeaderName(name);
    if (LIST_HEADERS.has(key)) return this.all(key)[0];
    return this.list.find((h) => h.name === key)?.value;
  }

  /** Every value, list headers split into their elements. */
  all(name: string): string[] {
    const key = canonicalHeaderName(name);
    const values = this.list.filter((h) => h.name === key).map((h) => h.value);
    if (!LIST_HEADERS.has(key)) return values;
    return values.flatMap((v) => splitOutsideQuotes(v, ',').map((s) => s.trim()).filter(Boolean));
  }

  has(name: string): boolean {
    const key = canonicalHeaderName(name);
    return this.list.some((h) => h.name === key);
  }

  /** Replaces every occurrence, where the first one was; an array gives one line per value. */
  set(name: string, value: string | string[]): this {
    const key = canonicalHeaderName(name);
    const index = this.list.findIndex((h) => h.name === key);
    this.delete(key);
    const entries = (Array.isArray(value) ? value : [value]).map((v) => ({ name: key, value: v.trim() }));
    this.list.splice(index < 0 ? this.list.length : index, 0, ...entries);
    return this;
  }

  append(name: string, value: string): this {
    this.list.push({ name: canonicalHeaderName(name), value: value.trim() });
    return this;
  }

  /** Puts a value before the others of its name (at the very top if none): our own Via goes first. */
  prepend(name: string, value: string): this {
    const key = canonicalHeaderName(name);
    const index = this.list.findIndex((h) => h.name === key);
    const entry = { name: key, value: value.trim() };
    this.list.splice(index < 0 ? 0 : index, 0, entry);
    return this;
  }

  delete(name: string): this {
    const key = canonicalHeaderName(name);
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.name === key) this.list.splice(i, 1);
    return this;
  }

  /** Removes the first element of a list header (the top Via of a response, say). */
  shift(name: string): string | undefined {
    const values = this.all(name);
    const first = values.shift();
    if (first !== undefined) this.set(name, values);
    return first;
  }

  entries(): Array<[string, string]> {
    return this.list.map((h) => [h.name, h.value]);
  }

  clone(): Headers {
    return new Headers(this.entries());
  }
}

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  headers: Headers;
  body: string;
}

export interface SipResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: Headers;
  body: string;
  /** Made up by this agent (timeout, transport error), not received. */
  local?: boolean;
}

export type SipMessage = SipRequest | SipResponse;

export function createRequest(method: string, uri: string, headers: Iterable<readonly [string, string]> = [], body = ''): SipRequest {
  return { kind: 'request', method: method.toUpperCase(), uri, headers: new Headers(headers), body };
}

/** The header lines a message is made of, without the body. */
const MAX_HEADER_LINES = 500;

/** Parses one datagram. Throws SipParseError when it is not a SIP message. */
export function parseMessage(data: Buffer | string): SipMessage {
  const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  // Leading CRLFs are keep-alives or stray line ends before the start line (§7.5).
  let start = 0;
  while (start < buffer.length && (buffer[start] === 0x0d || buffer[start] === 0x0a)) start++;
  if (start >= buffer.length) throw new SipParseError('empty message');

  let headerEnd = buffer.indexOf('\r\n\r\n', start);
  let bodyStart: number;
  if (headerEnd >= 0) bodyStart = headerEnd + 4;
  else {
    headerEnd = buffer.indexOf('\n\n', start);
    if (headerEnd >= 0) bodyStart = headerEnd + 2;
    else {
      // No blank line: a message with no body whose sender dropped the final CRLF.
      headerEnd = buffer.length;
      bodyStart = buffer.length;
    }
  }
  const head = buffer.subarray(start, headerEnd).toString('utf8');
  if (head.includes('\0')) throw new SipParseError('NUL in the header section');
  const rawLines = head.split(/\r?\n/);
  const startLine = rawLines.shift()!.trim();

  // Unfold: a line that starts with whitespace continues the previous header (§7.3.1).
  const lines: string[] = [];
  for (const line of rawLines) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ` ${line.trim()}`;
    else if (line.trim()) lines.push(line);
  }
  if (lines.length > MAX_HEADER_LINES) throw new SipParseError('too many header lines');

  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`malformed header line: ${line.slice(0, 80)}`);
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9!%*_+`'~.-]+$/.test(name)) throw new SipParseError(`malformed header name: ${name.slice(0, 80)}`);
    headers.append(name, line.slice(colon + 1));
  }

  let bodyBytes = buffer.subarray(bodyStart);
  const lengthText = headers.get('Content-Length');
  if (lengthText !== undefined) {
    if (!/^\d+$/.test(lengthText)) throw new SipParseError(`bad Content-Length: ${lengthText}`);
    const length = Number(lengthText);
    // §18.3: over UDP a body shorter than announced makes the message unusable.
    if (length > bodyBytes.length) throw new SipParseError('body shorter than Content-Length');
    bodyBytes = bodyBytes.subarray(0, length);
  }
  const body = bodyBytes.toString('utf8');

  const response = /^SIP\s*\/\s*(\d+\.\d+)\s+(\d{3})(?:\s+(.*))?$/i.exec(startLine);
  if (response) {
    if (response[1] !== '2.0') throw new SipParseError(`unsupported SIP version ${response[1]}`);
    const status = Number(response[2]);
    if (status < 100 || status > 699) throw new SipParseError(`bad status code ${status}`);
    return { kind: 'response', status, reason: response[3]?.trim() ?? '', headers, body };
  }
  const request = /^([A-Za-z!%*_+`'~.-]+)\s+(\S+)\s+SIP\s*\/\s*(\d+\.\d+)$/i.exec(startLine);
  if (request) {
    if (request[3] !== '2.0') throw new SipParseError(`unsupported SIP version ${request[3]}`);
    return { kind: 'request', method: request[1]!.toUpperCase(), uri: request[2]!, headers, body };
  }
  throw new SipParseError(`not a SIP start line: ${startLine.slice(0, 80)}`);
}

/** Serialises with full header names, CRLF line ends and a Content-Length that matches the body. */
export function serializeMessage(message: SipMessage): string {
  const startLine = message.kind === 'request' ? `${message.method} ${message.uri} SIP/2.0` : `SIP/2.0 ${message.status} ${message.reason}`;
  const lines = [startLine];
  for (const [name, value] of message.headers.entries()) {
    if (name !== 'Content-Length') lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(message.body, 'utf8')}`);
  return `${lines.join('\r\n')}\r\n\r\n${message.body}`;
}

// ---- header values ----

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(value: string | undefined): CSeq | undefined {
  if (!value) return undefined;
  const match = /^\s*(\d{1,10})\s+([A-Za-z!%*_+`'~.-]+)\s*$/.exec(value);
  if (!match) return undefined;
  const seq = Number(match[1]);
  if (seq > 2 ** 31 - 1) return undefined;
  return { seq, method: match[2]!.toUpperCase() };
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Params;
}

export function parseVia(value: string | undefined): Via | undefined {
  if (!value) return undefined;
  const match = /^\s*SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s;:]+)(?:\s*:\s*(\d{1,5}))?\s*(;.*)?$/.exec(value);
  if (!match) return undefined;
  const via: Via = {
    transport: match[1]!.toUpperCase(),
    host: match[2]!.replace(/^\[|\]$/g, ''),
    params: parseParams(match[4] ?? ''),
  };
  if (match[3] !== undefined) via.port = Number(match[3]);
  return via;
}

export function formatVia(via: Via): string {
  const host = via.host.includes(':') ? `[${via.host}]` : via.host;
  const params = Object.entries(via.params)
    .map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`))
    .join('');
  return `SIP/2.0/${via.transport} ${host}${via.port !== undefined ? `:${via.port}` : ''}${params}`;
}

/** The RFC 3261 magic cookie that marks a branch as globally unique (§8.1.1.7). */
export const BRANCH_COOKIE = 'z9hG4bK';

/** Standard reason phrases for the responses this agent sends or synthesises. */
export const REASONS: Record<number, string> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  415: 'Unsupported Media Type',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  600: 'Busy Everywhere',
  603: 'Decline',
};

/**
 * A response to a request (§8.2.6): Via, From, To, Call-ID and CSeq copied,
 * and a To tag added when the caller gives one and the request had none.
 */
export function createResponse(request: SipRequest, status: number, options: { reason?: string; toTag?: string; headers?: Iterable<readonly [string, string]>; body?: string } = {}): SipResponse {
  const headers = new Headers();
  for (const via of request.headers.all('Via')) headers.append('Via', via);
  for (const name of ['From', 'To', 'Call-ID', 'CSeq']) {
    const value = request.headers.get(name);
    if (value !== undefined) headers.append(name, value);
  }
  if (options.toTag && status !== 100) {
    const to = headers.get('To');
    if (to !== undefined && !/;\s*tag\s*=/i.test(to)) headers.set('To', `${to};tag=${options.toTag}`);
  }
  for (const [name, value] of options.headers ?? []) headers.append(name, value);
  return { kind: 'response', status, reason: options.reason ?? REASONS[status] ?? 'Unknown', headers, body: options.body ?? '' };
}
