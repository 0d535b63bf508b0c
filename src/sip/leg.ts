/**
 * One call leg of the controller: an INVITE we send and the dialog it makes,
 * from the first request to the last BYE. It speaks SIP; what to put in the
 * bodies and what a peer's request means for the call is left to its
 * handler, the third-party call that holds it.
 *
 * Over 500 lines because it is one state machine (calling, early, confirmed,
 * terminated) and every transition reads best beside the others.
 */
import { ALLOW, localResponse, type OutgoingRequest, type SipCore, type DialogUser } from './core.js';
import { Dialog, DialogError } from './dialog.js';
import { Headers, parseCSeq, type SipRequest, type SipResponse } from './message.js';
import { SdpOrigin, tryHoldAnswer } from './sdp.js';
import type { ServerTransaction } from './transaction.js';
import type { Destination } from './transport.js';
import { formatUri, parseNameAddr, requestUriOf, tagOf } from './uri.js';

export type LegState = 'calling' | 'early' | 'confirmed' | 'terminated';

/** What the handler makes of an offer a peer sent inside the dialog. */
export interface OfferOutcome {
  status: number;
  reason?: string;
  /** The answer, with a 2xx. */
  sdp?: string;
}

export type ReinviteResult = { ok: true; answer: string } | { ok: false; status: number; reason: string };

export interface LegHandler {
  provisional?(response: SipResponse): void;
  /**
   * The 2xx that makes the dialog. Returns the body of its ACK: the answer
   * when the 2xx carried an offer. The ACK waits for it.
   */
  answered(response: SipResponse): Promise<string | undefined> | string | undefined;
  /** The INVITE got a final failure (received, or ours: 408 timeout, 503 unreachable). */
  failed(response: SipResponse): void;
  /** The established dialog is over. */
  ended(by: 'remote' | 'local', detail: string): void;
  /** An offer in a re-INVITE or UPDATE from the peer. */
  offer(sdp: string): Promise<OfferOutcome>;
}

export interface LegOptions {
  requestUri: string;
  /** From header value, without tag. */
  from: string;
  to: string;
  /** A preloaded route, e.g. the outbound proxy (`<sip:proxy;lr>`). */
  route?: string[];
  body?: string;
  headers?: Array<[string, string]>;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class InviteLeg implements DialogUser {
  readonly callId: string;
  readonly localTag: string;
  state: LegState = 'calling';
  dialog: Dialog | undefined;
  /** The o= line of every description we send on this leg. */
  readonly origin: SdpOrigin;
  /** Our last description on this leg (offer or answer), as sent. */
  lastSentSdp: string | undefined;
  /** The peer's last description. */
  lastReceivedSdp: string | undefined;
  /** Resolves when the leg is over, whichever way. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private invite: OutgoingRequest | undefined;
  private wantEnd = false;
  private ackPending = false;
  private byeSent = false;
  /** ACKs we sent, by CSeq, to answer each 2xx retransmission. */
  private readonly acks = new Map<number, { text: string; to: Destination }>();
  /** Other dialogs a forking proxy created: ACKed and ended. */
  private readonly forks = new Map<string, { text: string; to: Destination } | 'pending'>();
  private clientReinvite: OutgoingRequest | undefined;
  private reinviteWaiter: (() => void) | undefined;
  private serverOfferPending = false;
  /** Our 2xx to a peer's re-INVITE, retransmitted until its ACK. */
  private serverReinvite: { seq: number; timers: NodeJS.Timeout[] } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly core: SipCore,
    readonly options: LegOptions,
    private readonly handler: LegHandler,
    readonly name: string,
  ) {
    this.callId = core.newCallId();
    this.localTag = core.newTag();
    this.origin = new SdpOrigin(core.publicHost);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Sends the INVITE. */
  start(): void {
    const o = this.options;
    const headers: Array<[string, string]> = [];
    for (const route of o.route ?? []) headers.push(['Route', route]);
    headers.push(
      ['Max-Forwards', '70'],
      ['From', `${o.from};tag=${this.localTag}`],
      ['To', o.to],
      ['Call-ID', this.callId],
      ['CSeq', '1 INVITE'],
      ['Contact', this.core.contact()],
      ['Allow', ALLOW],
      ['Accept', 'application/sdp'],
      ['User-Agent', this.core.userAgent],
      ...(o.headers ?? []),
    );
    if (o.body) {
      headers.push(['Content-Type', 'application/sdp']);
      this.lastSentSdp = o.body;
    }
    const request: SipRequest = { kind: 'request', method: 'INVITE', uri: o.requestUri, headers: new Headers(headers), body: o.body ?? '' };
    this.core.register(this);
    this.invite = this.core.request(request, {
      provisional: (response) => {
        if (this.state === 'calling') this.state = 'early';
        this.handler.provisional?.(response);
      },
      final: (response) => {
        if (response.status < 300) void this.confirm(response);
        else this.fail(response);
      },
      extra2xx: (response) => this.on2xx(response),
    });
  }

  /**
   * Ends the leg whatever its state: CANCEL while it rings (once a
   * provisional response allows it), BYE once answered. Resolves when done.
   */
  end(): Promise<void> {
    if (this.state === 'terminated') return this.done;
    this.wantEnd = true;
    if (this.state === 'calling' || this.state === 'early') this.invite?.cancel();
    else if (!this.ackPending) this.bye();
    return this.done;
  }

  // ---- the INVITE's answer ----

  private fail(response: SipResponse): void {
    if (this.state === 'terminated') return;
    this.finish();
    this.handler.failed(response);
  }

  private async confirm(response: SipResponse): Promise<void> {
    try {
      await this.confirmDialog(response);
    } catch (error) {
      // Nothing a peer sends may take the process down with an unhandled rejection.
      this.core.log.error(`sip: ${this.name}: ${(error as Error).stack ?? error}`);
    }
  }

  private async confirmDialog(response: SipResponse): Promise<void> {
    const invite = this.invite!.request;
    try {
      this.dialog = Dialog.fromResponse(invite, response);
    } catch (error) {
      // No tag on the 2xx: no dialog we could ever end. Treat it as a failure.
      this.core.log.warn(`sip: ${this.name}: ${(error as DialogError).message}`);
      this.fail(localResponse(invite, 502, 'Bad Gateway (unusable 2xx)'));
      return;
    }
    this.state = 'confirmed';
    if (response.body) this.lastReceivedSdp = response.body;
    let body: string | undefined;
    if (this.wantEnd) {
      // Answered after we gave up (a CANCEL crossed the 2xx): accept, then hang up (§9.1).
      body = tryHoldAnswer(response.body);
    } else {
      this.ackPending = true;
      try {
        body = await this.handler.answered(response);
      } catch (error) {
        this.core.log.warn(`sip: ${this.name}: no answer for the ACK: ${(error as Error).message}`);
        body = tryHoldAnswer(response.body);
      }
      this.ackPending = false;
    }
    await this.sendAck(parseCSeq(invite.headers.get('CSeq'))!.seq, invite, body);
    if (this.wantEnd) this.bye();
  }

  /** The ACK for a 2xx (§13.2.2.4): a new transaction-less request, CSeq of the INVITE, the INVITE's credentials. */
  private async sendAck(seq: number, invite: SipRequest, body: string | undefined): Promise<void> {
    const dialog = this.dialog!;
    const stamped = body ? this.stamp(body) : '';
    const ack = dialog.requestWithSeq('ACK', seq, stamped);
    for (const name of ['Authorization', 'Proxy-Authorization']) for (const value of invite.headers.all(name)) ack.headers.append(name, value);
    ack.headers.append('User-Agent', this.core.userAgent);
    try {
      this.acks.set(seq, await this.core.sendAck(ack));
    } catch (error) {
      this.core.log.warn(`sip: ${this.name}: cannot send the ACK: ${(error as Error).message}`);
    }
  }

  /** A 2xx after the first: a retransmission (ACK again) or another fork (ACK, then BYE). */
  private on2xx(response: SipResponse): void {
    const cseq = parseCSeq(response.headers.get('CSeq'));
    const toTag = tagOf(response.headers.get('To'));
    if (!cseq || !toTag) return;
    if (!this.dialog || toTag === this.dialog.remoteTag) {
      const ack = this.acks.get(cseq.seq);
      // No ACK yet: it is being prepared, and goes out once the answer is known.
      if (ack) void this.core.sendRaw(ack.text, ack.to).catch(() => {});
      return;
    }
    const fork = this.forks.get(toTag);
    if (fork === 'pending') return;
    if (fork) {
      void this.core.sendRaw(fork.text, fork.to).catch(() => {});
      return;
    }
    if (cseq.seq !== parseCSeq(this.invite!.request.headers.get('CSeq'))!.seq) return;
    this.forks.set(toTag, 'pending');
    void this.endFork(response);
  }

  private async endFork(response: SipResponse): Promise<void> {
    const invite = this.invite!.request;
    const toTag = tagOf(response.headers.get('To'))!;
    try {
      const fork = Dialog.fromResponse(invite, response);
      const hold = tryHoldAnswer(response.body);
      const ack = fork.requestWithSeq('ACK', fork.localSeq, hold ? this.stamp(hold) : '');
      this.forks.set(toTag, await this.core.sendAck(ack));
      const bye = fork.request('BYE');
      bye.headers.append('User-Agent', this.core.userAgent);
      this.core.request(bye, { final: () => {}, resent: (r) => (fork.localSeq = parseCSeq(r.headers.get('CSeq'))!.seq) });
      this.core.log.info(`sip: ${this.name}: a second phone answered (fork ${toTag}); hung it up`);
    } catch (error) {
      this.core.log.warn(`sip: ${this.name}: cannot end fork ${toTag}: ${(error as Error).message}`);
    }
  }

  handleStray2xx(response: SipResponse): void {
    this.on2xx(response);
  }

  matches(request: SipRequest): boolean {
    return this.dialog ? this.dialog.matches(request) : false;
  }

  // ---- our requests in the dialog ----

  private bye(): void {
    if (this.byeSent || this.state !== 'confirmed' || !this.dialog) return;
    this.byeSent = true;
    this.clientReinvite?.cancel();
    const dialog = this.dialog;
    const bye = dialog.request('BYE');
    bye.headers.append('User-Agent', this.core.userAgent);
    this.core.request(bye, {
      final: (response) => this.terminate('local', `BYE answered ${response.status} ${response.reason}`),
      resent: (request) => (dialog.localSeq = parseCSeq(request.headers.get('CSeq'))!.seq),
    });
  }

  /**
   * Sends our offer in a re-INVITE and returns the peer's answer; its 2xx is
   * ACKed here. A 491 (both sides re-INVITing at once) is retried after the
   * random wait of §14.1; 481 and 408 end the dialog (§12.2.1.2).
   */
  async reinvite(offer: string): Promise<ReinviteResult> {
    for (let attempt = 0; ; attempt++) {
      if (this.state !== 'confirmed' || this.wantEnd || !this.dialog) return { ok: false, status: 481, reason: 'the dialog is over' };
      if (this.clientReinvite || this.serverOfferPending) return { ok: false, status: 491, reason: 'an offer is already under way' };
      const response = await this.sendReinvite(this.stamp(offer));
      if (response.status === 491 && attempt < 2) {
        // We made the Call-ID: wait 2.1 to 4 s (scaled with T1, so that tests can shorten it).
        await sleep(((2100 + Math.random() * 1900) * this.core.timers.t1) / 500);
        continue;
      }
      if (response.status >= 200 && response.status < 300) {
        if (!response.body) return { ok: false, status: 488, reason: 'the re-INVITE was answered without SDP' };
        this.lastReceivedSdp = response.body;
        return { ok: true, answer: response.body };
      }
      if (response.status === 481 || response.status === 408) {
        this.terminate('remote', `re-INVITE answered ${response.status} ${response.reason}`);
      }
      return { ok: false, status: response.status, reason: response.reason };
    }
  }

  private sendReinvite(body: string): Promise<SipResponse> {
    const dialog = this.dialog!;
    const request = dialog.request('INVITE', body);
    request.headers.append('Contact', this.core.contact());
    request.headers.append('Allow', ALLOW);
    request.headers.append('User-Agent', this.core.userAgent);
    return new Promise((resolve) => {
      // If the leg ends meanwhile (the peer hung up), the caller learns it now, not at the transaction's end.
      this.reinviteWaiter = () => resolve(localResponse(request, 481, 'Call/Transaction Does Not Exist (the leg ended)'));
      // A peer that answers 1xx and then nothing would hold the call forever.
      const guard = this.timer(32 * this.core.timers.t1, () => this.clientReinvite?.cancel());
      const outgoing = this.core.request(request, {
        final: (response) => {
          this.clearTimer(guard);
          this.clientReinvite = undefined;
          this.reinviteWaiter = undefined;
          const sent = outgoing.request;
          if (response.status < 300) {
            if (this.state === 'confirmed') this.refreshTarget(response);
            void this.sendAck(parseCSeq(sent.headers.get('CSeq'))!.seq, sent, undefined).then(() => resolve(response));
          } else resolve(response);
        },
        extra2xx: (response) => this.on2xx(response),
        resent: (r) => (dialog.localSeq = parseCSeq(r.headers.get('CSeq'))!.seq),
      });
      this.clientReinvite = outgoing;
    });
  }

  /** A successful re-INVITE or UPDATE may move the peer (§12.2.1.2 target refresh); the route set stays. */
  private refreshTarget(message: SipRequest | SipResponse): void {
    const contact = message.headers.all('Contact')[0];
    if (!contact || !this.dialog) return;
    try {
      this.dialog.remoteTarget = formatUri(requestUriOf(parseNameAddr(contact).uri));
    } catch {
      // keep the old target
    }
  }

  // ---- the peer's requests in the dialog ----

  handleRequest(request: SipRequest, transaction: ServerTransaction | undefined): void {
    const dialog = this.dialog!;
    const cseq = parseCSeq(request.headers.get('CSeq'))!;
    if (request.method === 'ACK' || !transaction) {
      if (this.serverReinvite?.seq === cseq.seq) this.stopRetransmitting();
      return;
    }
    // §12.2.2: a request older than the last one is out of order.
    if (dialog.remoteSeq !== undefined && cseq.seq <= dialog.remoteSeq) {
      this.core.respond(transaction, 500, { reason: 'Server Internal Error (CSeq out of order)' });
      return;
    }
    dialog.remoteSeq = cseq.seq;
    if (this.state === 'terminated') {
      this.core.respond(transaction, 481);
      return;
    }
    switch (request.method) {
      case 'BYE':
        this.core.respond(transaction, 200);
        this.terminate('remote', 'BYE');
        return;
      case 'INVITE':
        void this.handleOffer(request, transaction, true);
        return;
      case 'UPDATE':
        void this.handleOffer(request, transaction, false);
        return;
      case 'OPTIONS':
        this.core.respond(transaction, 200, { headers: [['Allow', ALLOW], ['Accept', 'application/sdp']] });
        return;
      case 'INFO':
        // DTMF and the like: nothing to do with them, but refusing would look like a broken call.
        this.core.respond(transaction, 200);
        return;
      case 'NOTIFY':
      case 'PRACK':
        // No subscription, no reliable provisional response of ours to acknowledge.
        this.core.respond(transaction, 481);
        return;
      case 'REFER':
      case 'MESSAGE':
      case 'SUBSCRIBE':
      case 'PUBLISH':
      case 'REGISTER':
        this.core.respond(transaction, 405, { headers: [['Allow', ALLOW]] });
        return;
      default:
        this.core.respond(transaction, 501, { headers: [['Allow', ALLOW]] });
    }
  }

  /** A re-INVITE or UPDATE: the handler answers an offer; an offerless re-INVITE gets our last description again. */
  private async handleOffer(request: SipRequest, transaction: ServerTransaction, invite: boolean): Promise<void> {
    try {
      await this.answerOffer(request, transaction, invite);
    } catch (error) {
      this.core.log.error(`sip: ${this.name}: ${(error as Error).stack ?? error}`);
      this.serverOfferPending = false;
      this.core.respond(transaction, 500);
    }
  }

  private async answerOffer(request: SipRequest, transaction: ServerTransaction, invite: boolean): Promise<void> {
    if (this.clientReinvite) {
      this.core.respond(transaction, 491);
      return;
    }
    if (this.serverOfferPending || this.serverReinvite) {
      // §14.2: one re-INVITE at a time; ask to come back shortly.
      this.core.respond(transaction, invite ? 500 : 491, { headers: invite ? [['Retry-After', String(Math.floor(Math.random() * 10))]] : [] });
      return;
    }
    const type = request.headers.get('Content-Type')?.split(';')[0]?.trim().toLowerCase();
    if (request.body && type !== 'application/sdp') {
      this.core.respond(transaction, 415, { headers: [['Accept', 'application/sdp']] });
      return;
    }
    if (!request.body && !invite) {
      this.refreshTarget(request);
      this.core.respond(transaction, 200, { headers: [['Contact', this.core.contact()]] });
      return;
    }
    if (invite) this.core.respond(transaction, 100);
    this.serverOfferPending = true;
    let outcome: OfferOutcome;
    try {
      if (request.body) {
        this.lastReceivedSdp = request.body;
        outcome = await this.handler.offer(request.body);
      } else if (this.lastSentSdp) {
        // No offer: ours is the last description we sent, unchanged; the answer comes in the ACK.
        outcome = { status: 200, sdp: this.lastSentSdp };
      } else {
        outcome = { status: 488, reason: 'Not Acceptable Here (nothing to offer)' };
      }
    } catch (error) {
      outcome = { status: 500, reason: `Server Internal Error (${(error as Error).message})` };
    }
    this.serverOfferPending = false;
    if (transaction.cancelled) {
      this.core.respond(transaction, 487);
      return;
    }
    if (this.state !== 'confirmed') {
      this.core.respond(transaction, 481);
      return;
    }
    if (outcome.status >= 300 || !outcome.sdp) {
      this.core.respond(transaction, outcome.status >= 300 ? outcome.status : 488, outcome.reason ? { reason: outcome.reason } : {});
      return;
    }
    this.refreshTarget(request);
    const body = this.stamp(outcome.sdp);
    this.core.respond(transaction, 200, {
      headers: [['Contact', this.core.contact()], ['Allow', ALLOW], ['Content-Type', 'application/sdp']],
      body,
    });
    if (invite) this.retransmitUntilAck(transaction, parseCSeq(request.headers.get('CSeq'))!.seq);
  }

  /** §13.3.1.4: our 2xx goes again at T1, 2*T1... up to T2, until its ACK; none in 64*T1 ends the dialog. */
  private retransmitUntilAck(transaction: ServerTransaction, seq: number): void {
    const { t1, t2 } = this.core.timers;
    const state = { seq, timers: [] as NodeJS.Timeout[] };
    this.serverReinvite = state;
    let interval = t1;
    const again = () => {
      state.timers.push(
        this.timer(interval, () => {
          transaction.retransmit();
          interval = Math.min(2 * interval, t2);
          again();
        }),
      );
    };
    again();
    state.timers.push(
      this.timer(64 * t1, () => {
        this.stopRetransmitting();
        this.core.log.warn(`sip: ${this.name}: no ACK for our 2xx to the re-INVITE; ending the leg`);
        this.wantEnd = true;
        this.bye();
      }),
    );
  }

  private stopRetransmitting(): void {
    for (const t of this.serverReinvite?.timers ?? []) this.clearTimer(t);
    this.serverReinvite = undefined;
  }

  // ---- bookkeeping ----

  /** Our origin on a description we send; it becomes our last description. */
  private stamp(sdp: string): string {
    try {
      this.lastSentSdp = this.origin.stamp(sdp);
    } catch {
      this.lastSentSdp = sdp;
    }
    return this.lastSentSdp;
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  private clearTimer(handle: NodeJS.Timeout): void {
    clearTimeout(handle);
    this.timers.delete(handle);
  }

  private terminate(by: 'remote' | 'local', detail: string): void {
    if (this.state === 'terminated') return;
    const wasConfirmed = this.state === 'confirmed';
    this.finish();
    if (wasConfirmed) this.handler.ended(by, detail);
  }

  private finish(): void {
    this.state = 'terminated';
    this.reinviteWaiter?.();
    this.reinviteWaiter = undefined;
    this.stopRetransmitting();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // Linger a while so that late retransmissions (a 2xx, a BYE) are still answered from this dialog.
    const linger = setTimeout(() => this.core.unregister(this), 64 * this.core.timers.t1);
    linger.unref();
    this.resolveDone();
  }

  /** The agent is closing: drop everything at once. */
  dispose(): void {
    if (this.state !== 'terminated') {
      this.invite?.abandon();
      this.clientReinvite?.abandon();
      this.finish();
    }
    this.core.unregister(this);
  }
}
