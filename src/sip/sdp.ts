/**
 * Just enough SDP (RFC 4566) for a controller that never handles media:
 * reading a peer's offer, writing the "black hole" answer that parks a leg,
 * and re-stamping the origin line of a description passed from one leg to
 * the other (RFC 3725 writes these forwarded bodies offer1', answer2').
 */

export interface SdpMedia {
  media: string;
  port: number;
  /** "6000/2" style port counts are kept in the raw m= line. */
  proto: string;
  formats: string[];
  /** The lines after m=, without it. */
  lines: string[];
}

export interface Sdp {
  /** Session-level lines (v=, o=, s=, c=, t=, a=...), in order. */
  session: string[];
  media: SdpMedia[];
}

export class SdpError extends Error {
  override name = 'SdpError';
}

export function parseSdp(text: string): Sdp {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines[0]?.startsWith('v=')) throw new SdpError('SDP does not start with v=');
  const sdp: Sdp = { session: [], media: [] };
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) throw new SdpError(`bad SDP line: ${line.slice(0, 60)}`);
    if (line.startsWith('m=')) {
      const parts = line.slice(2).split(/\s+/);
      if (parts.length < 3) throw new SdpError(`bad m= line: ${line}`);
      const port = Number(parts[1]!.split('/')[0]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SdpError(`bad media port: ${line}`);
      sdp.media.push({ media: parts[0]!, port, proto: parts[2]!, formats: parts.slice(3), lines: [] });
    } else if (sdp.media.length > 0) {
      sdp.media[sdp.media.length - 1]!.lines.push(line);
    } else {
      sdp.session.push(line);
    }
  }
  if (!sdp.session.some((l) => l.startsWith('o='))) throw new SdpError('SDP has no o= line');
  return sdp;
}

export function formatSdp(sdp: Sdp): string {
  const lines = [...sdp.session];
  for (const m of sdp.media) {
    lines.push(`m=${m.media} ${m.port} ${m.proto}${m.formats.length ? ` ${m.formats.join(' ')}` : ''}`, ...m.lines);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The o= line we put on every description we send on one leg. RFC 3264 §8
 * wants one origin per session, its version bumped on each change, whoever
 * wrote the body first.
 */
export class SdpOrigin {
  private version: number;
  private last: string | undefined;

  constructor(
    readonly address: string,
    readonly sessionId = String(Math.floor(Math.random() * 2 ** 31) + 1),
  ) {
    this.version = Math.floor(Math.random() * 1000) + 1;
  }

  /** Puts our origin on a description, bumping the version when the rest of it changed. */
  stamp(text: string): string {
    const sdp = parseSdp(text);
    const rest = formatSdp({ ...sdp, session: sdp.session.filter((l) => !l.startsWith('o=')) });
    if (this.last !== undefined && rest !== this.last) this.version++;
    this.last = rest;
    const family = this.address.includes(':') ? 'IP6' : 'IP4';
    sdp.session = sdp.session.map((l) => (l.startsWith('o=') ? `o=sipsim ${this.sessionId} ${this.version} IN ${family} ${this.address}` : l));
    return formatSdp(sdp);
  }
}

const DIRECTIONS = new Set(['a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive']);

/**
 * The answer that parks a leg (RFC 3725 §4.3 "black hole"): every offered
 * stream accepted with one of its own formats, so the phone keeps the call,
 * but pointed at 0.0.0.0 and inactive so that no media flows.
 *
 * A rejected stream (port 0) would make RFC 3264 §6 hold for the whole
 * session if it is the only one, and phones drop calls with no usable
 * stream; a non-zero discard port (9) keeps the stream alive.
 */
export function holdAnswer(offerText: string): string {
  const offer = parseSdp(offerText);
  const family = offer.session.find((l) => l.startsWith('c='))?.includes('IP6') ? 'IP6' : 'IP4';
  const nowhere = family === 'IP6' ? '::' : '0.0.0.0';
  const session = ['v=0', `o=- 0 0 IN ${family} ${nowhere}`, 's=-', `c=IN ${family} ${nowhere}`, 't=0 0'];
  const media = offer.media.map((m): SdpMedia => {
    if (m.port === 0 || m.formats.length === 0) return { media: m.media, port: 0, proto: m.proto, formats: m.formats.slice(0, 1), lines: [] };
    const format = primaryFormat(m);
    const keep = m.lines.filter((l) => l.startsWith(`a=rtpmap:${format} `) || l.startsWith(`a=fmtp:${format} `));
    return { media: m.media, port: 9, proto: m.proto, formats: [format], lines: [...keep, 'a=inactive'] };
  });
  return formatSdp({ session, media });
}

/** The hold answer, or undefined when the offer is not SDP we can read. */
export function tryHoldAnswer(offer: string | undefined): string | undefined {
  if (!offer) return undefined;
  try {
    return holdAnswer(offer);
  } catch {
    return undefined;
  }
}

/** The first real codec of a stream: not DTMF events nor comfort noise, which cannot stand alone. */
function primaryFormat(m: SdpMedia): string {
  const names = new Map<string, string>();
  for (const line of m.lines) {
    const match = /^a=rtpmap:(\S+)\s+([^/\s]+)/.exec(line);
    if (match) names.set(match[1]!, match[2]!.toLowerCase());
  }
  return m.formats.find((f) => !['telephone-event', 'cn'].includes(names.get(f) ?? '') && f !== '13') ?? m.formats[0]!;
}

/** Whether a description parks its streams (inactive, or pointed at 0.0.0.0). */
export function isHold(text: string): boolean {
  const sdp = parseSdp(text);
  const sessionNowhere = sdp.session.some((l) => /^c=IN IP[46] (0\.0\.0\.0|::)$/.test(l));
  return sdp.media.every((m) => {
    if (m.port === 0) return true;
    const nowhere = m.lines.some((l) => /^c=IN IP[46] (0\.0\.0\.0|::)$/.test(l)) || (sessionNowhere && !m.lines.some((l) => l.startsWith('c=')));
    const direction = m.lines.find((l) => DIRECTIONS.has(l)) ?? sdp.session.find((l) => DIRECTIONS.has(l));
    return nowhere || direction === 'a=inactive' || direction === 'a=sendonly';
  });
}

/** Where each stream of a description wants its media: for logs and tests. */
export function mediaAddresses(text: string): Array<{ media: string; address: string; port: number }> {
  const sdp = parseSdp(text);
  const sessionC = sdp.session.find((l) => l.startsWith('c='));
  return sdp.media.map((m) => {
    const c = m.lines.find((l) => l.startsWith('c=')) ?? sessionC ?? '';
    return { media: m.media, address: c.split(/\s+/)[2]?.split('/')[0] ?? '', port: m.port };
  });
}
