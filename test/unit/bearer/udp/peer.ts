/**
 * A UDP endpoint for relay tests: binds 127.0.0.1:0, queues what it receives, and waits for it.
 * `settle()` proves nothing else is on its way: a sentinel sent to the peer after the relay acted
 * arrives behind anything the relay sent before it (loopback keeps the order of one receive queue).
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

export const LO = '127.0.0.1';

export interface Received {
  readonly data: Buffer;
  readonly address: string;
  readonly port: number;
}

const SENTINEL = Buffer.from('--sentinel--');

export class Peer {
  readonly socket: Socket;
  readonly queue: Received[] = [];
  #waiters: ((r: Received) => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => {
      const r = { data, address: rinfo.address, port: rinfo.port };
      const w = this.#waiters.shift();
      if (w !== undefined) w(r);
      else this.queue.push(r);
    });
  }

  static async open(): Promise<Peer> {
    const s = createSocket('udp4');
    s.bind(0, LO);
    await once(s, 'listening');
    return new Peer(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer, port: number, address = LO): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, port, address, (e) => (e ? reject(e) : resolve())),
    );
  }

  /** The next datagram (queued or yet to come). */
  next(timeoutMs = 3000): Promise<Received> {
    const q = this.queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise((resolve, reject) => {
      const w = (r: Received): void => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new Error(`peer ${this.port}: nothing received within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  /** The next `n` datagrams. */
  async take(n: number, timeoutMs = 3000): Promise<Received[]> {
    const out: Received[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Everything received before a sentinel sent to us now (the sentinel itself is not returned). */
  async settle(): Promise<Received[]> {
    const probe = createSocket('udp4');
    try {
      probe.bind(0, LO);
      await once(probe, 'listening');
      await new Promise<void>((resolve, reject) =>
        probe.send(SENTINEL, this.port, LO, (e) => (e ? reject(e) : resolve())),
      );
      const out: Received[] = [];
      for (;;) {
        const r = await this.next();
        if (r.port === probe.address().port && r.data.equals(SENTINEL)) return out;
        out.push(r);
      }
    } finally {
      probe.close();
    }
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // closed
    }
  }
}

/** Resolves when `check()` is true (checked on every turn of the event loop), or rejects after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
