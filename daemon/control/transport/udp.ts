/**
 * H.248 over UDP (H.248.1 Annex D.1, application-level framing): one message per datagram.
 *
 * At-most-once semantics (reply cache, duplicates, retransmission) live in the transaction layer;
 * this file only moves datagrams. Replies go to the datagram's source address and port.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { TrgwdError, errorMessage } from '../../errors.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  formatEndpoint,
  newCounters,
  normalizeAddress,
  peerKey,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransport,
  type ControlTransportCounters,
  type ControlTransportEvent,
  type ControlTransportOptions,
} from './types.js';

class UdpPeer implements ControlPeer {
  readonly transport = 'udp' as const;
  readonly address: string;
  readonly key: string;
  constructor(
    private readonly owner: UdpControlTransport,
    /** Address as the socket reported it (IPv4-mapped on a dual-stack socket): what sendto needs. */
    private readonly rawAddress: string,
    readonly port: number,
  ) {
    this.address = normalizeAddress(rawAddress);
    this.key = peerKey('udp', this.address, port);
  }
  send(bytes: Uint8Array): boolean {
    return this.owner.sendRaw(this.rawAddress, this.port, bytes, this);
  }
}

export class UdpControlTransport implements ControlTransport {
  readonly kind = 'udp' as const;
  readonly counters: ControlTransportCounters = newCounters();
  readonly maxMessageBytes: number;
  private readonly socket: Socket;
  private readonly v6: boolean;
  private listening: Promise<ControlEndpoint> | null = null;
  private bound: ControlEndpoint | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: ControlTransportOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 1) {
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${this.maxMessageBytes}`);
    }
    this.v6 = isIPv6(options.address);
    this.socket = createSocket({ type: this.v6 ? 'udp6' : 'udp4' });
    this.socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
  }

  listen(): Promise<ControlEndpoint> {
    if (this.listening !== null) return this.listening;
    const { address, port } = this.options;
    this.listening = new Promise<ControlEndpoint>((resolve, reject) => {
      if (this.closing !== null) {
        reject(bindError('udp', address, port, new Error('transport closed')));
        return;
      }
      const onError = (err: Error): void => {
        this.socket.off('listening', onListening);
        reject(bindError('udp', address, port, err));
      };
      const onListening = (): void => {
        this.socket.off('error', onError);
        this.socket.on('error', (err) => this.emit({ type: 'socket-error', error: err }));
        const a = this.socket.address();
        this.bound = { address: a.address, port: a.port };
        resolve(this.bound);
      };
      this.socket.once('error', onError);
      this.socket.once('listening', onListening);
      try {
        this.socket.bind({ address, port, exclusive: true });
      } catch (err) {
        this.socket.off('error', onError);
        this.socket.off('listening', onListening);
        reject(bindError('udp', address, port, err));
      }
    });
    return this.listening;
  }

  address(): ControlEndpoint {
    if (this.bound === null)
      throw new TrgwdError('ERR_CONTROL_NOT_BOUND', 'UDP control transport is not bound');
    return this.bound;
  }

  sendTo(dest: ControlEndpoint, bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closing !== null || this.bound === null) {
        this.counters.sendErrors++;
        reject(
          sendError(dest, new Error(this.closing !== null ? 'transport closed' : 'transport not bound')),
        );
        return;
      }
      const raw = this.v6 && isIPv4(dest.address) ? `::ffff:${dest.address}` : dest.address;
      try {
        this.socket.send(bytes, dest.port, raw, (err) => {
          if (err) {
            this.counters.sendErrors++;
            this.emit({ type: 'send-error', peer: dest, error: err });
            reject(sendError(dest, err));
          } else {
            this.counters.messagesSent++;
            this.counters.bytesSent += bytes.length;
            resolve();
          }
        });
      } catch (err) {
        this.counters.sendErrors++;
        reject(sendError(dest, err));
      }
    });
  }

  /** @internal reply path of a UdpPeer. */
  sendRaw(rawAddress: string, port: number, bytes: Uint8Array, peer: ControlPeer): boolean {
    if (this.closing !== null) {
      this.counters.sendErrors++;
      return false;
    }
    try {
      this.socket.send(bytes, port, rawAddress, (err) => {
        if (err) {
          this.counters.sendErrors++;
          this.emit({ type: 'send-error', peer, error: err });
        } else {
          this.counters.messagesSent++;
          this.counters.bytesSent += bytes.length;
        }
      });
      return true;
    } catch (err) {
      this.counters.sendErrors++;
      this.emit({ type: 'send-error', peer, error: err instanceof Error ? err : new Error(String(err)) });
      return false;
    }
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or already closed
      }
    });
    return this.closing;
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closing !== null) return;
    const peer = new UdpPeer(this, rinfo.address, rinfo.port);
    if (this.options.accept !== undefined && !this.safeAccept(peer)) {
      this.counters.droppedNotAccepted++;
      this.emit({ type: 'dropped', reason: 'not-accepted', peer });
      return;
    }
    if (msg.length > this.maxMessageBytes) {
      this.counters.droppedOversize++;
      this.emit({ type: 'dropped', reason: 'oversize', peer });
      return;
    }
    this.counters.messagesReceived++;
    this.counters.bytesReceived += msg.length;
    try {
      this.options.onMessage(msg, peer);
    } catch (error) {
      this.counters.handlerErrors++;
      this.emit({ type: 'handler-error', peer, error });
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

/** The `ERR_BIND` error of both transports: names the transport, address and port. */
export function bindError(
  transport: 'udp' | 'tcp',
  address: string,
  port: number,
  cause: unknown,
): TrgwdError {
  const code = (cause as { code?: unknown } | null)?.code;
  return new TrgwdError(
    'ERR_BIND',
    `cannot bind ${transport} ${formatEndpoint(address, port)}: ${errorMessage(cause)}`,
    { cause, details: { address, port, transport, ...(typeof code === 'string' ? { errno: code } : {}) } },
  );
}

function sendError(dest: ControlEndpoint, cause: unknown): TrgwdError {
  return new TrgwdError(
    'ERR_CONTROL_SEND',
    `cannot send to udp ${formatEndpoint(dest.address, dest.port)}: ${errorMessage(cause)}`,
    { cause, details: { address: dest.address, port: dest.port, transport: 'udp' } },
  );
}
