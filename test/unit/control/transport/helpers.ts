// Test helpers for the control transports: an awaitable inbox, and a TPKT-speaking TCP client.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { TpktDeframer, encodeTpkt } from '../../../../daemon/control/transport/tpkt.js';

/** Queue whose `next()` resolves with the next item pushed (or one already waiting). */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((v: T) => void)[] = [];
  push = (item: T): void => {
    const w = this.waiters.shift();
    if (w !== undefined) w(item);
    else this.items.push(item);
  };
  next(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  get size(): number {
    return this.items.length;
  }
}

/** A TCP client that speaks TPKT, like a controller would. */
export class TpktClient {
  readonly messages = new Inbox<string>();
  readonly closed: Promise<void>;
  private readonly deframer = new TpktDeframer();
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.deframer.push(chunk)) this.messages.push(m.toString());
    });
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => undefined);
  }
  static async connect(port: number, host = '127.0.0.1'): Promise<TpktClient> {
    const socket = connect({ port, host });
    await once(socket, 'connect');
    return new TpktClient(socket);
  }
  send(text: string): void {
    this.socket.write(encodeTpkt(Buffer.from(text)));
  }
  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }
  end(): void {
    this.socket.destroy();
  }
}
