import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RelayedPost {
  headers: IncomingHttpHeaders;
  body: Record<string, any>;
  /** What sipsim answered to it. */
  status: number;
  answer: any;
}

export interface EventRelay {
  url: string;
  /** Where posts go on to: a sipsim's base URL; while null, each is answered 503. */
  upstream: string | null;
  posts: RelayedPost[];
  close(): Promise<void>;
}

/**
 * Sits between a PBX and sipsim: passes every event post on unchanged and
 * keeps it, with sipsim's answer, so that a test checks both what the PBX
 * posted and what sipsim made of it. The upstream can be set later, for a PBX
 * that must start before the sipsim it reports to.
 */
export async function startEventRelay(upstream: string | null = null): Promise<EventRelay> {
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type']) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      const answer = relay.upstream
        ? await fetch(`${relay.upstream}${request.url}`, { method: request.method, headers, body: raw }).catch(
            (error: Error) => new Response(JSON.stringify({ status: 'error', errors: [error.message] }), { status: 599 }),
          )
        : new Response(JSON.stringify({ status: 'error', errors: ['no sipsim running'] }), { status: 503 });
      const text = await answer.text();
      relay.posts.push({ headers: request.headers, body: parsed(raw, (r) => ({ unparsable: r })), status: answer.status, answer: parsed(text, (t) => t) });
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      response.end(text);
    });
  });
  const relay: EventRelay = {
    url: '',
    upstream,
    posts: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return relay;
}

function parsed<T>(text: string, otherwise: (text: string) => T): any {
  try {
    return JSON.parse(text);
  } catch {
    return otherwise(text);
  }
}
