/**
 * The user agent core: one UDP socket, the transactions on it, and the
 * dispatch of what arrives to the dialogs this agent started. Anything else
 * is refused: this agent places calls, it never takes or relays them.
 *
 * Over 500 lines because the matching of what arrives (RFC 3261 §17.1.3,
 * §17.2.3, §12.2.2) is one set of rules that must be read together.
 */
import { createHash, randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { digestAuthorization, parseChallenge, type DigestCredentials } from './digest.js';
import {
  BRANCH_COOKIE,
  createResponse,
  formatVia,
  parseCSeq,
  parseMessage,
  parseVia,
  serializeMessage,
  Headers,
  type SipRequest,
  type SipResponse,
} from './message.js';
import {
  branchOf,
  clientKey,
  ClientTransaction,
  DEFAULT_TIMERS,
  serverKey,
  ServerTransaction,
  type TimerConfig,
  type TransactionHost,
} from './transaction.js';
import { resolveHost, UdpTransport, type Destination } from './transport.js';
import { parseNameAddr, parseUri, tagOf } from './uri.js';

export interface SipLogger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
  error?(message: string): void;
}

/** Every datagram in and out, for debugging and for tests. */
export interface SipTraceEvent {
  direction: 'in' | 'out';
  peer: Destination;
  text: string;
}

export interface SipCoreOptions {
  /** Address to bind; 0.0.0.0 for every interface. */
  listenHost: string;
  /** Port to bind; 0 takes a free one (see `address`). */
  listenPort: number;
  /** Host written in Via and Contact, when peers must reach us at another address (NAT, 0.0.0.0 bind). */
  publicHost?: string;
  publicPort?: number;
  credentials?: DigestCredentials & {
    /** Only answer challenges of this realm; any realm when absent. */
    realm?: string;
  };
  timers?: Partial<TimerConfig>;
  userAgent?: string;
  logger?: SipLogger;
  trace?: (event: SipTraceEvent) => void;
}

/** A dialog this agent owns, as the core sees it. */
export interface DialogUser {
  readonly callId: string;
  /** Whether an in-dialog request (it has a To tag) belongs to this dialog. */
  matches(request: SipRequest): boolean;
  /** An in-dialog request; ACKs come without a transaction, as they are never answered. */
  handleRequest(request: SipRequest, transaction: ServerTransaction | undefined): void;
  /** A 2xx to an INVITE that no transaction claims any more: a late retransmission. */
  handleStray2xx(response: SipResponse): void;
}

export interface RequestCallbacks {
  provisional?(response: SipResponse): void;
  /** The final response: received, or made up by us (408 on timeout, 503 when it could not be sent). */
  final(response: SipResponse): void;
  /** INVITE only: each 2xx after the final one (retransmissions, other forks). */
  extra2xx?(response: SipResponse): void;
  /** The request went out again with credentials and the next CSeq. */
  resent?(request: SipRequest): void;
}

/** Methods that only make sense inside a dialog: out of one, the dialog does not exist. */
const DIALOG_ONLY = new Set(['BYE', 'INFO', 'UPDATE', 'PRACK', 'NOTIFY']);
/** Methods we know and refuse outside a dialog. */
const KNOWN = new Set(['INVITE', 'OPTIONS', 'REGISTER', 'SUBSCRIBE', 'MESSAGE', 'REFER', 'PUBLISH']);

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE';

const random = (bytes: number) => randomBytes(bytes).toString('hex');

/** A response this agent made up because none came (timeout, transport error). */
export function localResponse(request: SipRequest, status: number, reason: string): SipResponse {
  const response = createResponse(request, status, { reason });
  response.local = true;
  return response;
}

function firstExternalIPv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export class SipCore implements TransactionHost {
  readonly timers: TimerConfig;
  /** Host and port written in our Via and Contact headers. */
  readonly publicHost: string;
  readonly publicPort: number;
  readonly userAgent: string;
  readonly credentials: SipCoreOptions['credentials'];
  readonly log: Required<SipLogger>;
  private transport!: UdpTransport;
  private readonly clients = new Map<string, ClientTransaction>();
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly dialogs = new Map<string, DialogUser>();
  private readonly nonceCounts = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly options: SipCoreOptions,
    bound: Destination,
  ) {
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    const host = options.publicHost ?? (bound.host === '0.0.0.0' || bound.host === '::' ? firstExternalIPv4() ?? '127.0.0.1' : bound.host);
    this.publicHost = host;
    this.publicPort = options.publicPort ?? bound.port;
    this.userAgent = options.userAgent ?? 'sipsim';
    this.credentials = options.credentials;
    const noop = () => {};
    this.log = {
      debug: options.logger?.debug?.bind(options.logger) ?? noop,
      info: options.logger?.info?.bind(options.logger) ?? noop,
      warn: options.logger?.warn?.bind(options.logger) ?? noop,
      error: options.logger?.error?.bind(options.logger) ?? noop,
    };
  }

  static async start(options: SipCoreOptions): Promise<SipCore> {
    let core: SipCore | undefined;
    const pending: Array<[Buffer, Destination]> = [];
    const transport = await UdpTransport.bind(
      options.listenHost,
      options.listenPort,
      (data, from) => (core ? core.receive(data, from) : pending.push([data, from])),
      (error) => core?.log.warn(`sip: socket error: ${error.message}`),
    );
    core = new SipCore(options, transport.address);
    core.transport = transport;
    for (const [data, from] of pending) core.receive(data, from);
    return core;
  }

  /** The address the socket is bound to (the port chosen when 0 was asked). */
  get address(): Destination {
    return this.transport.address;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  newBranch(): string {
    return `${BRANCH_COOKIE}${random(10)}`;
  }

  newTag(): string {
    return random(6);
  }

  newCallId(): string {
    return `${random(12)}@${this.publicHost}`;
  }

  /** Our Contact URI, on which peers send in-dialog requests. */
  contact(user = 'sipsim'): string {
    const host = this.publicHost.includes(':') ? `[${this.publicHost}]` : this.publicHost;
    return `<sip:${user}@${host}:${this.publicPort}>`;
  }

  register(dialog: DialogUser): void {
    this.dialogs.set(dialog.callId, dialog);
  }

  unregister(dialog: DialogUser): void {
    if (this.dialogs.get(dialog.callId) === dialog) this.dialogs.delete(dialog.callId);
  }

  /** Starts a request in its own client transaction, answering digest challenges on the way. */
  request(request: SipRequest, callbacks: RequestCallbacks): OutgoingRequest {
    const outgoing = new OutgoingRequest(this, request, callbacks);
    outgoing.start();
    return outgoing;
  }

  /**
   * Sends a request outside any transaction: the ACK for a 2xx (§13.2.2.4),
   * a new request with its own branch. Returns the text sent, for re-sending.
   */
  async sendAck(ack: SipRequest): Promise<{ text: string; to: Destination }> {
    this.addVia(ack);
    const to = await this.nextHop(ack);
    const text = serializeMessage(ack);
    await this.sendRaw(text, to);
    return { text, to };
  }

  addVia(request: SipRequest): void {
    request.headers.delete('Via');
    request.headers.prepend('Via', formatVia({ transport: 'UDP', host: this.publicHost, port: this.publicPort, params: { branch: this.newBranch(), rport: null } }));
  }

  /**
   * Where a request goes first (§8.1.2, §12.2.1.1): the first Route when it
   * is a loose router, else the Request-URI (which holds a strict router).
   */
  async nextHop(request: SipRequest): Promise<Destination> {
    const routes = request.headers.all('Route');
    let uri = routes.length ? parseNameAddr(routes[0]!).uri : undefined;
    if (!uri || !('lr' in uri.params)) uri = parseUri(request.uri);
    const transport = uri.params.transport?.toLowerCase();
    if (transport && transport !== 'udp') this.log.debug(`sip: ${uri.host} asks for transport=${transport}; sending over UDP`);
    const host = uri.params.maddr ?? uri.host;
    return { host: await resolveHost(host), port: uri.port ?? 5060 };
  }

  /** The nonce count to put in the next answer to this nonce (RFC 2617 nc). */
  nextNonceCount(nonce: string): number {
    const count = (this.nonceCounts.get(nonce) ?? 0) + 1;
    this.nonceCounts.delete(nonce);
    this.nonceCounts.set(nonce, count);
    if (this.nonceCounts.size > 256) this.nonceCounts.delete(this.nonceCounts.keys().next().value!);
    return count;
  }

  addClient(transaction: ClientTransaction): void {
    this.clients.set(transaction.key, transaction);
  }

  /** Answers a request; a final answer to a request without To tag gets one (§8.2.6.2), the same for each retransmission. */
  respond(transaction: ServerTransaction, status: number, options: Parameters<typeof createResponse>[2] = {}): void {
    const headers = [...(options.headers ?? [])];
    if (!headers.some(([name]) => name.toLowerCase() === 'server')) headers.push(['Server', this.userAgent]);
    transaction.toTag ??= this.newTag();
    transaction.respond(createResponse(transaction.request, status, { toTag: transaction.toTag, ...options, headers }));
  }

  // ---- TransactionHost ----

  async sendRaw(text: string, to: Destination): Promise<void> {
    if (this.closed) throw new Error('the SIP agent is closed');
    this.options.trace?.({ direction: 'out', peer: to, text });
    await this.transport.send(text, to);
  }

  transactionEnded(transaction: ClientTransaction | ServerTransaction): void {
    if (transaction instanceof ClientTransaction) {
      if (this.clients.get(transaction.key) === transaction) this.clients.delete(transaction.key);
    } else if (this.servers.get(transaction.key) === transaction) {
      this.servers.delete(transaction.key);
    }
  }

  // ---- incoming ----

  private receive(data: Buffer, from: Destination): void {
    if (this.closed) return;
    let message;
    try {
      message = parseMessage(data);
    } catch (error) {
      // Keep-alive CRLFs are normal; anything else unparsable is dropped, never answered.
      if (data.toString('latin1').trim()) this.log.debug(`sip: dropped an unparsable datagram from ${from.host}:${from.port}: ${(error as Error).message}`);
      return;
    }
    this.options.trace?.({ direction: 'in', peer: from, text: data.toString('utf8') });
    if (message.kind === 'response') this.receiveResponse(message);
    else this.receiveRequest(message, from);
  }

  private receiveResponse(response: SipResponse): void {
    const cseq = parseCSeq(response.headers.get('CSeq'));
    const branch = branchOf(response);
    if (!cseq || !branch || !response.headers.get('Call-ID')) return;
    const transaction = this.clients.get(clientKey(branch, cseq.method));
    if (transaction) {
      transaction.receive(response);
      return;
    }
    if (cseq.method === 'INVITE' && response.status >= 200 && response.status < 300) {
      this.dialogs.get(response.headers.get('Call-ID')!)?.handleStray2xx(response);
    }
  }

  private receiveRequest(request: SipRequest, from: Destination): void {
    const via = parseVia(request.headers.get('Via'));
    if (!via) return; // nowhere to answer
    // RFC 3581 and §18.2.1: answer where the request came from, and say so in the Via.
    via.params.received = from.host;
    if ('rport' in via.params) via.params.rport = String(from.port);
    const vias = request.headers.all('Via');
    request.headers.set('Via', [formatVia(via), ...vias.slice(1)]);

    const cseq = parseCSeq(request.headers.get('CSeq'));
    const callId = request.headers.get('Call-ID');
    const valid = cseq && callId && request.headers.get('From') && request.headers.get('To') && cseq.method === request.method;
    if (!valid) {
      if (request.method !== 'ACK') this.refuse(request, from, 400, 'Bad Request (missing or inconsistent headers)');
      return;
    }

    const key = serverKey(request)!;
    const existing = this.servers.get(key);
    if (existing) {
      existing.receive(request);
      return;
    }

    if (request.method === 'ACK') {
      // The ACK of a 2xx: a request of its own, for the dialog.
      const dialog = this.dialogs.get(callId);
      if (dialog?.matches(request)) dialog.handleRequest(request, undefined);
      return;
    }

    if (request.method === 'CANCEL') {
      const invite = this.servers.get(key.replace(/\|CANCEL$/, '|INVITE'));
      if (!invite) {
        this.refuse(request, from, 481);
        return;
      }
      const transaction = new ServerTransaction(this, request, from);
      this.servers.set(transaction.key, transaction);
      this.respond(transaction, 200);
      if (!invite.answered) {
        invite.cancelled = true;
        invite.onCancel?.();
      }
      return;
    }

    const require = request.headers.all('Require');
    if (require.length) {
      this.refuse(request, from, 420, undefined, [['Unsupported', require.join(', ')]]);
      return;
    }

    if (!tagOf(request.headers.get('To'))) {
      // Out of any dialog: nothing here takes calls or relays them.
      if (request.method === 'INVITE') this.refuse(request, from, 403, 'Forbidden (this agent takes no calls)');
      else if (DIALOG_ONLY.has(request.method)) this.refuse(request, from, 481);
      else if (KNOWN.has(request.method)) this.refuse(request, from, 403);
      else this.refuse(request, from, 501, undefined, [['Allow', ALLOW]]);
      this.log.debug(`sip: refused out-of-dialog ${request.method} from ${from.host}:${from.port}`);
      return;
    }
    const dialog = this.dialogs.get(callId);
    if (!dialog || !dialog.matches(request)) {
      this.refuse(request, from, 481);
      return;
    }
    const transaction = new ServerTransaction(this, request, from);
    this.servers.set(transaction.key, transaction);
    dialog.handleRequest(request, transaction);
  }

  /**
   * Refuses a request statelessly (RFC 3261 §8.2.7): one response per
   * request received, no transaction and no retransmission, so that a
   * stranger's request (or a spoofed one) costs one datagram back and no
   * memory. The To tag is derived from the request, the same for its
   * retransmissions.
   */
  private refuse(request: SipRequest, to: Destination, status: number, reason?: string, headers: Array<[string, string]> = []): void {
    const toTag = createHash('sha1')
      .update(`${request.headers.get('Call-ID')}|${request.headers.get('From')}|${request.headers.get('CSeq')}|${branchOf(request)}`)
      .digest('hex')
      .slice(0, 12);
    const response = createResponse(request, status, { toTag, headers: [...headers, ['Server', this.userAgent]], ...(reason && { reason }) });
    void this.sendRaw(serializeMessage(response), to).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const transaction of [...this.clients.values(), ...this.servers.values()]) transaction.terminate();
    this.dialogs.clear();
    await this.transport.close();
  }
}

/**
 * One request and what it takes to get it through: the client transaction,
 * a new one with credentials and CSeq+1 when challenged (§22.2), and for an
 * INVITE, CANCEL once it may be sent (§9.1).
 */
export class OutgoingRequest {
  provisionalSeen = false;
  finalResponse: SipResponse | undefined;
  private transaction: ClientTransaction | undefined;
  private cancelState: 'none' | 'pending' | 'sent' = 'none';
  private cancelGuard: NodeJS.Timeout | undefined;
  private readonly answeredRealms = new Set<string>();

  constructor(
    private readonly core: SipCore,
    /** The request as last sent: after a challenge, the one with credentials. */
    public request: SipRequest,
    private readonly callbacks: RequestCallbacks,
  ) {}

  start(): void {
    void this.send(this.request);
  }

  get cancelled(): boolean {
    return this.cancelState !== 'none';
  }

  /**
   * Cancels an INVITE: now if a provisional response came, else as soon as
   * one does. A final response ends it either way.
   */
  cancel(): void {
    if (this.request.method !== 'INVITE' || this.finalResponse || this.cancelState !== 'none') return;
    this.cancelState = 'pending';
    if (this.provisionalSeen) this.sendCancel();
  }

  private async send(request: SipRequest): Promise<void> {
    this.core.addVia(request);
    let to: Destination;
    try {
      to = await this.core.nextHop(request);
    } catch (error) {
      this.finish(localResponse(request, 503, `Service Unavailable (${(error as Error).message})`));
      return;
    }
    if (this.core.isClosed) return;
    const transaction = new ClientTransaction(this.core, request, to, {
      response: (response) => this.onResponse(response),
      timeout: () => this.finish(localResponse(request, 408, 'Request Timeout (no response)')),
      transportError: (error) => this.finish(localResponse(request, 503, `Service Unavailable (${error.message})`)),
    });
    this.transaction = transaction;
    this.core.addClient(transaction);
    transaction.start();
  }

  private onResponse(response: SipResponse): void {
    if (response.status < 200) {
      if (this.finalResponse) return;
      this.provisionalSeen = true;
      if (this.cancelState === 'pending') this.sendCancel();
      this.callbacks.provisional?.(response);
      return;
    }
    if (this.finalResponse) {
      if (response.status < 300) this.callbacks.extra2xx?.(response);
      return;
    }
    if ((response.status === 401 || response.status === 407) && this.retryWithCredentials(response)) return;
    this.finish(response);
  }

  private finish(response: SipResponse): void {
    if (this.finalResponse) return;
    this.finalResponse = response;
    clearTimeout(this.cancelGuard);
    this.callbacks.final(response);
  }

  /** §22.2: the same request again, with the next CSeq and an answer to each challenge we can meet. */
  private retryWithCredentials(response: SipResponse): boolean {
    const credentials = this.core.credentials;
    if (!credentials || this.cancelState !== 'none') return false;
    const proxy = response.status === 407;
    const challengeHeader = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const answerHeader = proxy ? 'Proxy-Authorization' : 'Authorization';
    const challenges = response.headers
      .all(challengeHeader)
      .map(parseChallenge)
      .filter((c): c is NonNullable<typeof c> => c !== undefined && (!credentials.realm || c.realm === credentials.realm));
    // A realm challenged again without stale=true means the password was refused: give up.
    const usable = challenges.filter((c) => c.stale || !this.answeredRealms.has(`${response.status}:${c.realm}`));
    if (!usable.length) return false;

    const previous = this.request;
    const cseq = parseCSeq(previous.headers.get('CSeq'))!;
    const headers = previous.headers.clone();
    headers.set('CSeq', `${cseq.seq + 1} ${cseq.method}`);
    const kept = headers.all(answerHeader).filter((value) => !usable.some((c) => value.includes(`realm="${c.realm}"`)));
    headers.set(answerHeader, kept);
    try {
      for (const challenge of usable) {
        const answer = digestAuthorization({
          challenge,
          credentials,
          method: previous.method,
          uri: previous.uri,
          body: previous.body,
          nonceCount: this.core.nextNonceCount(challenge.nonce),
        });
        headers.append(answerHeader, answer.header);
        this.answeredRealms.add(`${response.status}:${challenge.realm}`);
      }
    } catch (error) {
      this.core.log.warn(`sip: cannot answer the challenge: ${(error as Error).message}`);
      return false;
    }
    const next: SipRequest = { kind: 'request', method: previous.method, uri: previous.uri, headers, body: previous.body };
    this.request = next;
    this.provisionalSeen = false;
    this.callbacks.resent?.(next);
    void this.send(next);
    return true;
  }

  private sendCancel(): void {
    const invite = this.request;
    const transaction = this.transaction;
    if (!transaction || this.cancelState === 'sent') return;
    this.cancelState = 'sent';
    // §9.1: same Request-URI, Call-ID, From, To, CSeq number, Route set and top Via (branch) as the INVITE.
    const headers = new Headers();
    headers.append('Via', invite.headers.all('Via')[0]!);
    for (const route of invite.headers.all('Route')) headers.append('Route', route);
    headers.append('Max-Forwards', '70');
    headers.append('From', invite.headers.get('From')!);
    headers.append('To', invite.headers.get('To')!);
    headers.append('Call-ID', invite.headers.get('Call-ID')!);
    headers.append('CSeq', `${parseCSeq(invite.headers.get('CSeq'))!.seq} CANCEL`);
    headers.append('User-Agent', this.core.userAgent);
    const cancel: SipRequest = { kind: 'request', method: 'CANCEL', uri: invite.uri, headers, body: '' };
    const cancelTransaction = new ClientTransaction(this.core, cancel, transaction.destination, {
      response: () => {},
      timeout: () => this.core.log.debug('sip: no answer to CANCEL'),
      transportError: () => {},
    });
    this.core.addClient(cancelTransaction);
    cancelTransaction.start();
    // §9.1: without a final response 64*T1 after the CANCEL, the INVITE transaction is given up.
    this.cancelGuard = setTimeout(() => {
      transaction.terminate();
      this.finish(localResponse(invite, 487, 'Request Terminated (no final response after CANCEL)'));
    }, 64 * this.core.timers.t1);
  }

  /** Stops everything this request runs (the agent is closing). */
  abandon(): void {
    clearTimeout(this.cancelGuard);
    this.transaction?.terminate();
  }
}
