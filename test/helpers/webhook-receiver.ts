import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../packages/sdk/src/webhooks.js';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, any>;
  at: number;
  /** Whether the signature checked out with the receiver's secret, as a receiver would check it. */
  valid: boolean;
  /** What the receiver answered. */
  answered: number;
  /** The order it arrived in, from 0 (what is received is listed in the order it was answered). */
  index: number;
}

/** How to answer: with `status`, after `delayMs`, or only once `until` settles (a request held open). */
export type Behaviour = { status?: number; delayMs?: number; until?: Promise<unknown> };

/**
 * A real webhook endpoint on a local port, which can be taken down and
 * brought back on the same port, answer errors, or answer late; it records
 * every request it got and checks each signature with the SDK helper.
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  behaviour: Behaviour | ((request: Received) => Behaviour) = {};
  private server: Server | null = null;
  private waiters: Array<() => void> = [];
  private arrivals = 0;
  port = 0;

  constructor(public secret = '') {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Answered 2xx: what counts as delivered. */
  get delivered(): Received[] {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  async start(port = this.port): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const entry: Received = { headers: request.headers, raw, body: safeJson(raw), at: Date.now(), valid: false, answered: 0, index: this.arrivals++ };
        entry.valid = await verifyWebhookSignature(raw, request.headers, this.secret);
        const behaviour = typeof this.behaviour === 'function' ? this.behaviour(entry) : this.behaviour;
        entry.answered = behaviour.status ?? 200;
        const answer = () => {
          this.received.push(entry);
          response.writeHead(entry.answered, { 'content-type': 'text/plain' }).end(entry.answered < 300 ? 'ok' : 'receiver says no');
          for (const wake of this.waiters.splice(0)) wake();
        };
        if (behaviour.until) void behaviour.until.then(answer, answer);
        else if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Down: the port refuses connections until `start()` again. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Waits until `check` holds over what was received. */
  async waitFor(check: (received: Received[]) => boolean, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the receiver did not get what was expected in ${timeoutMs} ms; it got ${this.received.length} requests: ${this.received.map((r) => `${r.body.event}/${r.answered}`).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

function safeJson(raw: string): Record<string, any> {
  try {
    return JSON.parse(raw);
  } catch {
    return {};
  }
}
