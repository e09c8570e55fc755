/**
 * H.248 over TCP with TPKT framing (H.248.1 Annex D.2, RFC 1006).
 *
 * Listens on `{address, port}` for controllers that connect, and opens connections itself when the
 * gateway originates a message (`sendTo`): an MG normally connects to its MGC, and that connection is
 * kept and reused for everything sent to the same endpoint (and for what the MGC sends back on it).
 * A bad TPKT header closes that connection only. Limits: `maxMessageBytes` per message,
 * `maxConnections` in total, `maxWriteBufferBytes` of unsent data per connection.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { TrgwdError, errorMessage } from '../../errors.js';
import { TpktDeframer, encodeTpkt } from './tpkt.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_TCP_CONNECTIONS,
  DEFAULT_MAX_WRITE_BUFFER_BYTES,
  formatEndpoint,
  isWildcard,
  newCounters,
  normalizeAddress,
  peerKey,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransport,
  type ControlTransportCounters,
  type ControlTransportEvent,
  type TcpControlTransportOptions,
} from './types.js';
import { bindError } from './udp.js';

type CloseReason = 'remote' | 'local' | 'error' | 'framing' | 'overload';

class TcpConnection implements ControlPeer {
  readonly transport = 'tcp' as const;
  readonly key: string;
  readonly deframer: TpktDeframer;
  /** Messages read and not yet handed to `onMessage` (see `adopt`). */
  readonly inbox: Buffer[] = [];
  closed = false;
  closeReason: CloseReason = 'remote';

  constructor(
    private readonly owner: TcpControlTransport,
    readonly socket: Socket,
    readonly address: string,
    readonly port: number,
    readonly direction: 'in' | 'out',
    maxMessageBytes: number,
  ) {
    this.key = peerKey('tcp', address, port);
    this.deframer = new TpktDeframer({ maxMessageBytes });
  }

  send(bytes: Uint8Array): boolean {
    return this.owner.write(this, bytes);
  }

  destroy(reason: CloseReason): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.socket.destroy();
  }
}

export class TcpControlTransport implements ControlTransport {
  readonly kind = 'tcp' as const;
  readonly counters: ControlTransportCounters = newCounters();
  readonly maxMessageBytes: number;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly maxWriteBufferBytes: number;
  private readonly server: Server;
  /** Open connections by peer key. */
  private readonly connections = new Map<string, TcpConnection>();
  /** Outbound connections being set up, by peer key (concurrent sendTo calls share one). */
  private readonly connecting = new Map<string, { socket: Socket; ready: Promise<TcpConnection> }>();
  private listening: Promise<ControlEndpoint> | null = null;
  private bound: ControlEndpoint | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: TcpControlTransportOptions) {
    this.maxMessageBytes = positive('maxMessageBytes', options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
    this.maxConnections = positive('maxConnections', options.maxConnections ?? DEFAULT_MAX_TCP_CONNECTIONS);
    this.connectTimeoutMs = positive(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.maxWriteBufferBytes = positive(
      'maxWriteBufferBytes',
      options.maxWriteBufferBytes ?? DEFAULT_MAX_WRITE_BUFFER_BYTES,
    );
    this.server = createServer({ noDelay: true }, (socket) => this.onInbound(socket));
  }

  listen(): Promise<ControlEndpoint> {
    if (this.listening !== null) return this.listening;
    const { address, port } = this.options;
    this.listening = new Promise<ControlEndpoint>((resolve, reject) => {
      if (this.closing !== null) {
        reject(bindError('tcp', address, port, new Error('transport closed')));
        return;
      }
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        reject(bindError('tcp', address, port, err));
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.emit({ type: 'socket-error', error: err }));
        const a = this.server.address();
        if (a === null || typeof a === 'string') {
          reject(bindError('tcp', address, port, new Error('no address after listen')));
          return;
        }
        this.bound = { address: a.address, port: a.port };
        resolve(this.bound);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      try {
        this.server.listen({ host: address, port, exclusive: true });
      } catch (err) {
        this.server.off('error', onError);
        this.server.off('listening', onListening);
        reject(bindError('tcp', address, port, err));
      }
    });
    return this.listening;
  }

  address(): ControlEndpoint {
    if (this.bound === null)
      throw new TrgwdError('ERR_CONTROL_NOT_BOUND', 'TCP control transport is not listening');
    return this.bound;
  }

  /** Open connections (inbound and outbound), for audits and tests. */
  peers(): ControlPeer[] {
    return [...this.connections.values()];
  }

  async sendTo(dest: ControlEndpoint, bytes: Uint8Array): Promise<void> {
    const conn = await this.open(dest);
    if (!this.write(conn, bytes)) {
      throw new TrgwdError(
        'ERR_CONTROL_SEND',
        `cannot send to tcp ${formatEndpoint(dest.address, dest.port)}: connection closed or message too large`,
        { details: { address: dest.address, port: dest.port, transport: 'tcp' } },
      );
    }
  }

  /**
   * The open connection to `dest` (any direction), or a new outbound one. Rejects with
   * `ERR_CONTROL_CONNECT` (refused, timeout, limit reached) or `ERR_CONTROL_CLOSED`.
   */
  connectionTo(dest: ControlEndpoint): Promise<ControlPeer> {
    return this.open(dest);
  }

  private open(dest: ControlEndpoint): Promise<TcpConnection> {
    const address = normalizeAddress(dest.address);
    const key = peerKey('tcp', address, dest.port);
    if (this.closing !== null) {
      this.counters.sendErrors++;
      return Promise.reject(new TrgwdError('ERR_CONTROL_CLOSED', 'TCP control transport is closed'));
    }
    const open = this.connections.get(key);
    if (open !== undefined && !open.closed) return Promise.resolve(open);
    const pending = this.connecting.get(key);
    if (pending !== undefined) return pending.ready;
    if (this.connections.size + this.connecting.size >= this.maxConnections) {
      this.counters.connectionsRejected++;
      this.counters.sendErrors++;
      return Promise.reject(
        connectError(dest, new Error(`connection limit of ${this.maxConnections} reached`)),
      );
    }
    const local = this.options.address;
    const socket = netConnect({
      host: dest.address,
      port: dest.port,
      noDelay: true,
      ...(isWildcard(local) ? {} : { localAddress: local }),
    });
    const ready = new Promise<TcpConnection>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy(new Error(`connect timeout after ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('connect', onConnect);
        this.connecting.delete(key);
        this.counters.sendErrors++;
        reject(connectError(dest, err));
      };
      const onConnect = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', fail);
        socket.off('close', onEarlyClose);
        this.connecting.delete(key);
        if (this.closing !== null) {
          socket.destroy();
          reject(new TrgwdError('ERR_CONTROL_CLOSED', 'TCP control transport is closed'));
          return;
        }
        const conn = this.adopt(socket, address, dest.port, 'out');
        this.counters.connectionsOpened++;
        this.emit({ type: 'connection-open', peer: conn, direction: 'out' });
        resolve(conn);
      };
      const onEarlyClose = (): void => fail(new Error('connection closed while connecting'));
      socket.once('error', fail);
      socket.once('close', onEarlyClose);
      socket.once('connect', onConnect);
    });
    this.connecting.set(key, { socket, ready });
    return ready;
  }

  /** @internal write path of a TcpConnection. */
  write(conn: TcpConnection, bytes: Uint8Array): boolean {
    if (conn.closed || conn.socket.destroyed || this.closing !== null) {
      this.counters.sendErrors++;
      return false;
    }
    let frame: Buffer;
    try {
      frame = encodeTpkt(bytes);
    } catch (err) {
      this.counters.sendErrors++;
      this.emit({ type: 'send-error', peer: conn, error: err as Error });
      return false;
    }
    conn.socket.write(frame);
    if (conn.socket.writableLength > this.maxWriteBufferBytes) {
      this.counters.sendErrors++;
      this.emit({
        type: 'send-error',
        peer: conn,
        error: new Error(`peer left more than ${this.maxWriteBufferBytes} bytes unread`),
      });
      conn.destroy('overload');
      return false;
    }
    this.counters.messagesSent++;
    this.counters.bytesSent += bytes.length;
    return true;
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const waits: Promise<void>[] = [];
    for (const { socket } of this.connecting.values()) socket.destroy();
    for (const conn of this.connections.values()) {
      waits.push(new Promise<void>((resolve) => conn.socket.once('close', () => resolve())));
      conn.destroy('local');
    }
    waits.push(
      new Promise<void>((resolve) => {
        if (!this.server.listening) {
          resolve();
          return;
        }
        this.server.close(() => resolve());
      }),
    );
    this.closing = Promise.all(waits).then(() => undefined);
    return this.closing;
  }

  private onInbound(socket: Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const address = normalizeAddress(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    const probe: ControlPeer = {
      transport: 'tcp',
      address,
      port,
      key: peerKey('tcp', address, port),
      send: () => false,
    };
    if (this.connections.size + this.connecting.size >= this.maxConnections) {
      this.counters.connectionsRejected++;
      this.emit({ type: 'connection-rejected', reason: 'limit', peer: probe });
      socket.destroy();
      return;
    }
    if (this.options.accept !== undefined && !this.safeAccept(probe)) {
      this.counters.droppedNotAccepted++;
      this.emit({ type: 'connection-rejected', reason: 'not-accepted', peer: probe });
      socket.destroy();
      return;
    }
    const conn = this.adopt(socket, address, port, 'in');
    this.counters.connectionsAccepted++;
    this.emit({ type: 'connection-open', peer: conn, direction: 'in' });
  }

  /** Registers a connected socket and wires its data and close handling. */
  private adopt(socket: Socket, address: string, port: number, direction: 'in' | 'out'): TcpConnection {
    const conn = new TcpConnection(this, socket, address, port, direction, this.maxMessageBytes);
    // An older connection with the same key (cannot normally happen: 4-tuples are unique) is replaced.
    this.connections.get(conn.key)?.destroy('local');
    this.connections.set(conn.key, conn);
    this.counters.connectionsCurrent = this.connections.size;
    // One message per callback, as UDP gets one per datagram. A read often carries several messages
    // (whatever arrived while the loop was busy); handed over in one go, every one of them is decoded
    // and started before the promise continuations that send the first one's reply can run, so each
    // reply waits for the whole batch (measured: a transaction's time in the daemon grew with the
    // number of messages in its read). The first goes at once, the rest each in its own setImmediate
    // (all in this turn's check phase, microtasks drained in between), in order through the inbox.
    const deliverNext = (): void => {
      const payload = conn.inbox.shift();
      if (payload !== undefined) this.deliver(conn, payload);
    };
    let first = false;
    const deliver = (payload: Buffer): void => {
      if (first) {
        first = false;
        this.deliver(conn, payload);
        return;
      }
      conn.inbox.push(payload);
      setImmediate(deliverNext);
    };
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      first = conn.inbox.length === 0;
      try {
        conn.deframer.feed(chunk, deliver);
      } catch (error) {
        // What came before the bad header is handed over now, as it would have been without the inbox.
        while (conn.inbox.length > 0) deliverNext();
        this.counters.framingErrors++;
        this.emit({ type: 'framing-error', peer: conn, error: error as Error });
        conn.destroy('framing');
      }
    });
    socket.on('error', (error) => {
      if (conn.closeReason === 'remote') conn.closeReason = 'error';
      this.emit({ type: 'socket-error', error });
    });
    socket.once('close', () => {
      conn.closed = true;
      conn.inbox.length = 0;
      if (this.connections.get(conn.key) === conn) this.connections.delete(conn.key);
      this.counters.connectionsClosed++;
      this.counters.connectionsCurrent = this.connections.size;
      this.emit({ type: 'connection-close', peer: conn, direction, reason: conn.closeReason });
    });
    return conn;
  }

  private deliver(conn: TcpConnection, payload: Buffer): void {
    if (conn.closed || this.closing !== null) return;
    this.counters.messagesReceived++;
    this.counters.bytesReceived += payload.length;
    try {
      this.options.onMessage(payload, conn);
    } catch (error) {
      this.counters.handlerErrors++;
      this.emit({ type: 'handler-error', peer: conn, error });
    }
  }

  private safeAccept(peer: ControlPeer): boolean {
    try {
      return this.options.accept!(peer);
    } catch (error) {
      this.counters.handlerErrors++;
      this.emit({ type: 'handler-error', peer, error });
      return false;
    }
  }

  private emit(event: ControlTransportEvent): void {
    if (this.options.onEvent === undefined) return;
    try {
      this.options.onEvent(event);
    } catch {
      // a logging hook must not break the transport
    }
  }
}

function positive(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function connectError(dest: ControlEndpoint, cause: unknown): TrgwdError {
  return new TrgwdError(
    'ERR_CONTROL_CONNECT',
    `cannot connect to tcp ${formatEndpoint(dest.address, dest.port)}: ${errorMessage(cause)}`,
    { cause, details: { address: dest.address, port: dest.port, transport: 'tcp' } },
  );
}
