/**
 * SIP URIs (RFC 3261 §19.1) and the name-addr form of From, To, Contact,
 * Route and Record-Route (§20). Enough of the grammar for what a user agent
 * meets on the wire; parsing is tolerant of case and of stray whitespace.
 */

export type Params = Record<string, string | null>;

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** A host name, an IPv4 address, or an IPv6 reference without its brackets. */
  host: string;
  port?: number;
  /** Parameter names are lower-cased; a parameter without a value (`;lr`) maps to null. */
  params: Params;
  headers: Record<string, string>;
}

export class SipUriError extends Error {
  override name = 'SipUriError';
}

/** `;a=b;c` → { a: 'b', c: null }. Leading text up to the first `;` is ignored. */
export function parseParams(text: string): Params {
  const params: Params = {};
  for (const part of splitOutsideQuotes(text, ';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) params[item.toLowerCase()] = null;
    else params[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim();
  }
  return params;
}

export function formatParams(params: Params): string {
  return Object.entries(params)
    .map(([name, value]) => (value === null ? `;${name}` : `;${name}=${value}`))
    .join('');
}

/** Splits on a separator that is outside double quotes and angle brackets. */
export function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angle = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      current += ch;
      if (ch === '\\' && i + 1 < text.length) current += text[++i];
      else if (ch === '"') quoted = false;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '<') angle++;
    else if (ch === '>' && angle > 0) angle--;
    else if (ch === separator && angle === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

export function parseUri(text: string): SipUri {
  const raw = text.trim();
  const colon = raw.indexOf(':');
  if (colon < 0) throw new SipUriError(`not a SIP URI: ${raw}`);
  const scheme = raw.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') throw new SipUriError(`unsupported URI scheme: ${raw}`);
  let rest = raw.slice(colon + 1);

  const headers: Record<string, string> = {};
  const question = rest.indexOf('?');
  if (question >= 0) {
    for (const pair of rest.slice(question + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      headers[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1);
    }
    rest = rest.slice(0, question);
  }

  // The user part may itself hold ';' (user parameters), so the host starts after the last '@'.
  let user: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    user = pc < 0 ? userinfo : userinfo.slice(0, pc);
    if (pc >= 0) password = userinfo.slice(pc + 1);
    if (!user || !/^[^\s<>"@]+$/.test(user)) throw new SipUriError(`bad user part: ${raw}`);
  }

  const semi = rest.indexOf(';');
  const hostport = (semi < 0 ? rest : rest.slice(0, semi)).trim();
  const params = semi < 0 ? {} : parseParams(rest.slice(semi + 1));

  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw new SipUriError(`unterminated IPv6 reference: ${raw}`);
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after) {
      if (!after.startsWith(':')) throw new SipUriError(`bad host: ${raw}`);
      portText = after.slice(1);
    }
  } else {
    const pc = hostport.lastIndexOf(':');
    host = pc < 0 ? hostport : hostport.slice(0, pc);
    if (pc >= 0) portText = hostport.slice(pc + 1);
  }
  if (!host || !/^[A-Za-z0-9.\-_:]+$/.test(host)) throw new SipUriError(`bad host: ${raw}`);
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw new SipUriError(`bad port: ${raw}`);
    port = Number(portText);
  }
  const uri: SipUri = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

export function formatUri(uri: SipUri): string {
  const userinfo = uri.user !== undefined ? `${uri.user}${uri.password !== undefined ? `:${uri.password}` : ''}@` : '';
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  const port = uri.port !== undefined ? `:${uri.port}` : '';
  const headers = Object.entries(uri.headers);
  const query = headers.length ? `?${headers.map(([k, v]) => `${k}=${v}`).join('&')}` : '';
  return `${uri.scheme}:${userinfo}${host}${port}${formatParams(uri.params)}${query}`;
}

/** A copy without the parameters and headers that are not allowed in a Request-URI (§19.1.1). */
export function requestUriOf(uri: SipUri): SipUri {
  const params = { ...uri.params };
  delete params.method;
  delete params.ttl;
  return { ...uri, params, headers: {} };
}

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  /** Header parameters (tag, expires, ...), outside the angle brackets. */
  params: Params;
}

/**
 * Parses `"Name" <sip:x@y>;tag=1`, `Name <sip:x@y>` and the bare addr-spec
 * `sip:x@y;tag=1` (whose parameters then belong to the header, §20.10).
 */
export function parseNameAddr(text: string): NameAddr {
  const raw = text.trim();
  const open = indexOutsideQuotes(raw, '<');
  if (open >= 0) {
    const close = raw.indexOf('>', open);
    if (close < 0) throw new SipUriError(`unterminated <: ${raw}`);
    let display = raw.slice(0, open).trim();
    if (display.startsWith('"') && display.endsWith('"') && display.length >= 2) {
      display = display.slice(1, -1).replace(/\\(.)/g, '$1');
    }
    const result: NameAddr = { uri: parseUri(raw.slice(open + 1, close)), params: parseParams(raw.slice(close + 1)) };
    if (display) result.displayName = display;
    return result;
  }
  const semi = raw.indexOf(';');
  return {
    uri: parseUri(semi < 0 ? raw : raw.slice(0, semi)),
    params: semi < 0 ? {} : parseParams(raw.slice(semi + 1)),
  };
}

function indexOutsideQuotes(text: string, ch: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === ch) return i;
  }
  return -1;
}

export function formatNameAddr(addr: NameAddr): string {
  const display = addr.displayName ? `"${addr.displayName.replace(/(["\\])/g, '\\$1')}" ` : '';
  return `${display}<${formatUri(addr.uri)}>${formatParams(addr.params)}`;
}

/** The tag parameter of a From or To header value, if any. */
export function tagOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return parseNameAddr(value).params.tag ?? undefined;
  } catch {
    return undefined;
  }
}
