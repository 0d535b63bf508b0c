/**
 * The UAC side of a dialog (RFC 3261 §12): its identifiers, sequence numbers,
 * remote target and route set, and how requests inside it are built.
 */
import { Headers, parseCSeq, type SipRequest, type SipResponse } from './message.js';
import { formatUri, parseNameAddr, requestUriOf, tagOf } from './uri.js';

export class DialogError extends Error {
  override name = 'DialogError';
}

export class Dialog {
  /** Our CSeq: the INVITE's, then one more for each request we send in the dialog. */
  localSeq: number;
  /** The peer's last CSeq, once it sent a request (§12.2.2 ordering). */
  remoteSeq: number | undefined;

  private constructor(
    readonly callId: string,
    /** Our From header value, tag included. */
    readonly local: string,
    /** The peer's To header value, tag included. */
    readonly remote: string,
    readonly localTag: string,
    readonly remoteTag: string,
    /** The peer's Contact URI: the Request-URI of our in-dialog requests. */
    public remoteTarget: string,
    /** Fixed at the dialog's creation, never changed by a target refresh (§12.2.1.2). */
    readonly routeSet: readonly string[],
    localSeq: number,
  ) {
    this.localSeq = localSeq;
  }

  /**
   * The dialog a 2xx to our INVITE creates (§12.1.2): the route set is the
   * Record-Route of that response, reversed; the remote target its Contact.
   */
  static fromResponse(invite: SipRequest, response: SipResponse): Dialog {
    const local = invite.headers.get('From')!;
    const remote = response.headers.get('To')!;
    const localTag = tagOf(local);
    const remoteTag = tagOf(remote);
    if (!localTag || !remoteTag) throw new DialogError('a dialog needs tags on both sides');
    // A 2xx must carry a Contact; without a usable one, the Request-URI is the best guess left.
    const contact = response.headers.all('Contact')[0];
    let target = invite.uri;
    try {
      if (contact) target = formatUri(requestUriOf(parseNameAddr(contact).uri));
    } catch {
      // keep the Request-URI
    }
    const routeSet = response.headers.all('Record-Route').reverse();
    for (const route of routeSet) {
      try {
        parseNameAddr(route);
      } catch {
        throw new DialogError(`unusable Record-Route: ${route}`);
      }
    }
    return new Dialog(
      invite.headers.get('Call-ID')!,
      local,
      remote,
      localTag,
      remoteTag,
      target,
      routeSet,
      parseCSeq(invite.headers.get('CSeq'))!.seq,
    );
  }

  /** Whether a request the peer sent belongs here: our tag in its To, theirs in its From. */
  matches(request: SipRequest): boolean {
    return tagOf(request.headers.get('To')) === this.localTag && tagOf(request.headers.get('From')) === this.remoteTag;
  }

  /** A new request in the dialog, with the next CSeq (ACK and CANCEL use `requestWithSeq`). */
  request(method: string, body = '', contentType = 'application/sdp'): SipRequest {
    this.localSeq++;
    return this.requestWithSeq(method, this.localSeq, body, contentType);
  }

  /**
   * §12.2.1.1: with a loose router first in the route set the Request-URI is
   * the remote target; a strict router takes the Request-URI itself, and the
   * remote target goes last in the Route header.
   */
  requestWithSeq(method: string, seq: number, body = '', contentType = 'application/sdp'): SipRequest {
    const headers = new Headers();
    let uri = this.remoteTarget;
    const routes = [...this.routeSet];
    if (routes.length) {
      const first = parseNameAddr(routes[0]!).uri;
      if (!('lr' in first.params)) {
        uri = formatUri(requestUriOf(first));
        routes.shift();
        routes.push(`<${this.remoteTarget}>`);
      }
    }
    for (const route of routes) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', this.local);
    headers.append('To', this.remote);
    headers.append('Call-ID', this.callId);
    headers.append('CSeq', `${seq} ${method}`);
    if (body) headers.append('Content-Type', contentType);
    return { kind: 'request', method, uri, headers, body };
  }
}
