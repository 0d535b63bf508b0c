/**
 * The transaction layer of RFC 3261 §17 for an unreliable transport, with
 * the RFC 6026 "Accepted" states that keep an INVITE transaction alive after
 * a 2xx so that its retransmissions and forked answers still reach the user
 * agent.
 *
 * Timer values come from the agent (T1, T2, T4), so that tests can run the
 * whole state machine in milliseconds.
 */
import { parseCSeq, parseVia, serializeMessage, Headers, BRANCH_COOKIE, type SipRequest, type SipResponse } from './message.js';
import type { Destination } from './transport.js';

export interface TimerConfig {
  /** RTT estimate: the first retransmission interval. */
  t1: number;
  /** The longest retransmission interval for non-INVITE requests and INVITE responses. */
  t2: number;
  /** How long a message may live in the network. */
  t4: number;
}

export const DEFAULT_TIMERS: TimerConfig = { t1: 500, t2: 4000, t4: 5000 };

/** What the transactions need from the agent that owns them. */
export interface TransactionHost {
  readonly timers: TimerConfig;
  sendRaw(text: string, to: Destination): Promise<void>;
  transactionEnded(transaction: ClientTransaction | ServerTransaction): void;
}

/** A transaction's timers, all cleared at once when it ends. */
class TimerSet {
  private readonly handles = new Set<NodeJS.Timeout>();

  after(ms: number, fn: () => void): NodeJS.Timeout {
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      fn();
    }, ms);
    this.handles.add(handle);
    return handle;
  }

  cancel(handle: NodeJS.Timeout | undefined): void {
    if (!handle) return;
    clearTimeout(handle);
    this.handles.delete(handle);
  }

  clear(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}

export function branchOf(message: SipRequest | SipResponse): string | undefined {
  return parseVia(message.headers.get('Via'))?.params.branch ?? undefined;
}

export function clientKey(branch: string, method: string): string {
  return `${branch}|${method.toUpperCase()}`;
}

export interface ClientTransactionUser {
  /** Every response the transaction lets through: provisionals, the final, and for INVITE each later 2xx. */
  response(response: SipResponse, transaction: ClientTransaction): void;
  /** Timer B or F: no final response in time. */
  timeout(transaction: ClientTransaction): void;
  transportError(error: Error, transaction: ClientTransaction): void;
}

type ClientState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

export class ClientTransaction {
  readonly invite: boolean;
  readonly branch: string;
  readonly key: string;
  state: ClientState;
  private readonly timers = new TimerSet();
  private readonly raw: string;
  private retransmit: NodeJS.Timeout | undefined;
  private ackRaw: string | undefined;

  constructor(
    private readonly host: TransactionHost,
    readonly request: SipRequest,
    readonly destination: Destination,
    private readonly user: ClientTransactionUser,
  ) {
    this.invite = request.method === 'INVITE';
    const branch = branchOf(request);
    if (!branch) throw new Error('a request needs a Via branch before it is sent');
    this.branch = branch;
    this.key = clientKey(branch, request.method);
    this.state = this.invite ? 'calling' : 'trying';
    this.raw = serializeMessage(request);
  }

  start(): void {
    const { t1, t2 } = this.host.timers;
    this.send(this.raw);
    if (this.invite) {
      // Timer A: retransmit at T1, 2*T1, 4*T1... until a response; Timer B gives up at 64*T1.
      let interval = t1;
      const timerA = () => {
        this.retransmit = this.timers.after(interval, () => {
          if (this.state !== 'calling') return;
          this.send(this.raw);
          interval *= 2;
          timerA();
        });
      };
      timerA();
      this.timers.after(64 * t1, () => {
        if (this.state === 'calling') this.fail(() => this.user.timeout(this));
      });
    } else {
      // Timer E: T1 doubling up to T2 (T2 once a provisional came); Timer F gives up at 64*T1.
      let interval = t1;
      const timerE = () => {
        this.retransmit = this.timers.after(interval, () => {
          if (this.state !== 'trying' && this.state !== 'proceeding') return;
          this.send(this.raw);
          interval = this.state === 'proceeding' ? t2 : Math.min(2 * interval, t2);
          timerE();
        });
      };
      timerE();
      this.timers.after(64 * t1, () => {
        if (this.state === 'trying' || this.state === 'proceeding') this.fail(() => this.user.timeout(this));
      });
    }
  }

  receive(response: SipResponse): void {
    const { t1, t4 } = this.host.timers;
    const status = response.status;
    if (this.invite) {
      switch (this.state) {
        case 'calling':
        case 'proceeding':
          if (status < 200) {
            this.state = 'proceeding';
            this.timers.cancel(this.retransmit);
            this.user.response(response, this);
          } else if (status < 300) {
            // RFC 6026: stay alive for 64*T1 so that 2xx retransmissions and forks reach the user agent.
            this.state = 'accepted';
            this.timers.clear();
            this.timers.after(64 * t1, () => this.terminate());
            this.user.response(response, this);
          } else {
            this.state = 'completed';
            this.timers.clear();
            this.ackRaw = serializeMessage(this.ackFor(response));
            this.send(this.ackRaw);
            // Timer D: absorb retransmissions of the final response (32 s on UDP with the default T1).
            this.timers.after(64 * t1, () => this.terminate());
            this.user.response(response, this);
          }
          return;
        case 'completed':
          if (status >= 300 && this.ackRaw) this.send(this.ackRaw);
          return;
        case 'accepted':
          if (status >= 200 && status < 300) this.user.response(response, this);
          return;
        default:
          return;
      }
    }
    switch (this.state) {
      case 'trying':
      case 'proceeding':
        if (status < 200) {
          this.state = 'proceeding';
          this.user.response(response, this);
        } else {
          this.state = 'completed';
          this.timers.clear();
          // Timer K: absorb retransmitted finals.
          this.timers.after(t4, () => this.terminate());
          this.user.response(response, this);
        }
        return;
      default:
        return;
    }
  }

  /** §17.1.1.3: the ACK for a non-2xx final is part of the INVITE transaction and reuses its branch. */
  private ackFor(response: SipResponse): SipRequest {
    const headers = new Headers();
    headers.append('Via', this.request.headers.all('Via')[0]!);
    for (const route of this.request.headers.all('Route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', this.request.headers.get('From')!);
    headers.append('To', response.headers.get('To') ?? this.request.headers.get('To')!);
    headers.append('Call-ID', this.request.headers.get('Call-ID')!);
    headers.append('CSeq', `${parseCSeq(this.request.headers.get('CSeq'))!.seq} ACK`);
    return { kind: 'request', method: 'ACK', uri: this.request.uri, headers, body: '' };
  }

  private send(text: string): void {
    this.host.sendRaw(text, this.destination).catch((error: Error) => {
      if (this.state === 'terminated' || this.state === 'completed' || this.state === 'accepted') return;
      this.fail(() => this.user.transportError(error, this));
    });
  }

  private fail(notify: () => void): void {
    this.terminate();
    notify();
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clear();
    this.host.transactionEnded(this);
  }
}

type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/**
 * Identifies a request's server transaction (§17.2.3): the branch and sent-by
 * of its top Via and its method, an ACK belonging to its INVITE.
 */
export function serverKey(request: SipRequest): string | undefined {
  const via = parseVia(request.headers.get('Via'));
  if (!via) return undefined;
  const method = request.method === 'ACK' ? 'INVITE' : request.method;
  const branch = via.params.branch;
  if (branch && branch.startsWith(BRANCH_COOKIE)) return `${branch}|${via.host}:${via.port ?? 5060}|${method}`;
  // An RFC 2543 peer: fall back on the dialog and sequence identifiers.
  const cseq = parseCSeq(request.headers.get('CSeq'));
  return `${request.headers.get('Call-ID')}|${request.headers.get('From')}|${cseq?.seq}|${via.host}:${via.port ?? 5060}|${method}`;
}

export class ServerTransaction {
  readonly invite: boolean;
  readonly key: string;
  state: ServerState = 'trying';
  /** Set when a CANCEL for this INVITE arrived. */
  cancelled = false;
  onCancel: (() => void) | undefined;
  /** Our To tag in the responses, when the request had none. */
  toTag: string | undefined;
  private readonly timers = new TimerSet();
  private lastRaw: string | undefined;

  constructor(
    private readonly host: TransactionHost,
    readonly request: SipRequest,
    readonly source: Destination,
  ) {
    this.invite = request.method === 'INVITE';
    this.key = serverKey(request)!;
  }

  /** Whether a final response has been sent. */
  get answered(): boolean {
    return this.state !== 'trying' && this.state !== 'proceeding';
  }

  respond(response: SipResponse): void {
    if (this.answered) return;
    const { t1, t2 } = this.host.timers;
    this.lastRaw = serializeMessage(response);
    this.send(this.lastRaw);
    if (response.status < 200) {
      this.state = 'proceeding';
      return;
    }
    if (!this.invite) {
      this.state = 'completed';
      // Timer J: answer retransmitted requests from the stored response.
      this.timers.after(64 * t1, () => this.terminate());
      return;
    }
    if (response.status < 300) {
      // The user agent core retransmits the 2xx until its ACK (§13.3.1.4); this only absorbs INVITE retransmissions.
      this.state = 'accepted';
      this.timers.after(64 * t1, () => this.terminate());
      return;
    }
    this.state = 'completed';
    // Timer G retransmits the final until the ACK; Timer H gives up.
    let interval = t1;
    const timerG = () => {
      this.timers.after(interval, () => {
        if (this.state !== 'completed') return;
        this.send(this.lastRaw!);
        interval = Math.min(2 * interval, t2);
        timerG();
      });
    };
    timerG();
    this.timers.after(64 * t1, () => {
      if (this.state === 'completed') this.terminate();
    });
  }

  /** Sends the last response again: the user agent core's 2xx retransmission (§13.3.1.4). */
  retransmit(): void {
    if (this.lastRaw) this.send(this.lastRaw);
  }

  /** A retransmission of the request, or the ACK of a non-2xx final. */
  receive(request: SipRequest): void {
    if (request.method === 'ACK') {
      if (this.state === 'completed') {
        this.state = 'confirmed';
        this.timers.clear();
        // Timer I: absorb ACK retransmissions.
        this.timers.after(this.host.timers.t4, () => this.terminate());
      }
      return;
    }
    if (this.lastRaw && this.state !== 'confirmed') this.send(this.lastRaw);
  }

  private send(text: string): void {
    this.host.sendRaw(text, this.source).catch(() => {
      // §17.2.4: a transport error ends the transaction; the peer will retransmit or give up.
      this.terminate();
    });
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.timers.clear();
    this.host.transactionEnded(this);
  }
}
