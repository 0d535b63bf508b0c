/**
 * SIP over UDP on node:dgram. One socket, bound once: every request we send
 * leaves from it and every response comes back to it, which is what NATs and
 * proxies that answer to the source (RFC 3581) expect.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

export interface Destination {
  /** An IP address (names are resolved before anything is sent). */
  host: string;
  port: number;
}

export type DatagramHandler = (data: Buffer, from: Destination) => void;

export class UdpTransport {
  private closed = false;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly address: Destination,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Binds the socket; port 0 takes any free port, reported in `address`. */
  static bind(host: string, port: number, onDatagram: DatagramHandler, onError: (error: Error) => void): Promise<UdpTransport> {
    const family = isIP(host) === 6 ? 'udp6' : 'udp4';
    const socket = dgram.createSocket({ type: family, reuseAddr: false });
    return new Promise((resolve, reject) => {
      const failBind = (error: Error) => {
        socket.close();
        reject(error);
      };
      socket.once('error', failBind);
      socket.bind(port, host, () => {
        socket.off('error', failBind);
        const bound = socket.address();
        const transport = new UdpTransport(socket, { host: bound.address, port: bound.port }, onError);
        // A send to an unreachable port surfaces as a socket error on some systems: it must never crash us.
        socket.on('error', (error) => transport.onError(error));
        socket.on('message', (data, rinfo) => {
          try {
            onDatagram(data, { host: rinfo.address, port: rinfo.port });
          } catch (error) {
            transport.onError(error as Error);
          }
        });
        resolve(transport);
      });
    });
  }

  send(data: string | Buffer, to: Destination): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    return new Promise((resolve, reject) => {
      this.socket.send(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, to.port, to.host, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** Resolves a host name to an address of the socket's family; IP literals pass through. */
export async function resolveHost(host: string, family: 4 | 6 = 4): Promise<string> {
  if (isIP(host)) return host;
  const { address } = await lookup(host, { family });
  return address;
}
