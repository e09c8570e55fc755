/**
 * The controller-facing transport seam (the megaco "transport" layer): bytes in, bytes out, no H.248.
 *
 * Both transports bind the same `{address, port}` (H.248.1 §9: 2944 for text over UDP and TCP),
 * deliver every whole message as `(bytes, peer)` and let the owner answer with `peer.send(bytes)`,
 * which goes back to the request's source (UDP: sendto the source address; TCP: the same connection,
 * TPKT-framed). `sendTo` originates messages to a controller (ServiceChange, Notify).
 */
import { isIPv6 } from 'node:net';

export type ControlTransportKind = 'udp' | 'tcp';

export interface ControlEndpoint {
  readonly address: string;
  readonly port: number;
}

/** Where a message came from, and the way back to it. */
export interface ControlPeer extends ControlEndpoint {
  readonly transport: ControlTransportKind;
  /**
   * Stable key for per-peer state: `udp:<addr>:<port>` / `tcp:<addr>:<port>` (IPv6 in brackets,
   * IPv4-mapped IPv6 shown as plain IPv4). On TCP it names one connection while it lives.
   */
  readonly key: string;
  /**
   * Sends one message back to this peer. Returns false when it could not be handed to the OS (the
   * connection or transport is closed, the message is too large to frame): counted in `sendErrors`,
   * never thrown. Asynchronous failures are counted the same way and reported through `onEvent`.
   */
  send(bytes: Uint8Array): boolean;
}

export type MessageHandler = (bytes: Buffer, peer: ControlPeer) => void;

/** Diagnostics for logs; counters are the source of truth for metrics. */
export type ControlTransportEvent =
  | { readonly type: 'dropped'; readonly reason: 'not-accepted' | 'oversize'; readonly peer: ControlPeer }
  | { readonly type: 'framing-error'; readonly peer: ControlPeer; readonly error: Error }
  | { readonly type: 'connection-open'; readonly peer: ControlPeer; readonly direction: 'in' | 'out' }
  | {
      readonly type: 'connection-close';
      readonly peer: ControlPeer;
      readonly direction: 'in' | 'out';
      readonly reason: 'remote' | 'local' | 'error' | 'framing' | 'overload';
    }
  | {
      readonly type: 'connection-rejected';
      readonly reason: 'limit' | 'not-accepted';
      readonly peer: ControlPeer;
    }
  | { readonly type: 'send-error'; readonly peer: ControlEndpoint; readonly error: Error }
  | { readonly type: 'handler-error'; readonly peer: ControlPeer; readonly error: unknown }
  | { readonly type: 'socket-error'; readonly error: Error };

/**
 * Default `maxMessageBytes` (config `mg.maxMessageBytes`). UDP cannot carry more than 65507 bytes
 * over IPv4 anyway, and a TPKT no more than 65531, so on TCP the effective limit is the lower of the two.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 65_535;
/** Default `maxConnections` (config `mg.maxTcpConnections`; TCP, inbound and outbound together). */
export const DEFAULT_MAX_TCP_CONNECTIONS = 64;
/** Default `connectTimeoutMs` for TCP connections the gateway opens to a controller. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Default `maxWriteBufferBytes`: a TCP peer that leaves this much unread is disconnected. */
export const DEFAULT_MAX_WRITE_BUFFER_BYTES = 1 << 20;

export interface ControlTransportOptions {
  /** Address to bind (`0.0.0.0`, `::`, or one interface address). */
  readonly address: string;
  /** Port to bind; 0 picks a free one (tests), read it back from `address()`. */
  readonly port: number;
  /** Receives each whole message. Exceptions are caught and counted in `handlerErrors`. */
  readonly onMessage: MessageHandler;
  /**
   * Admission check (configured controllers only). UDP: called per datagram, rejected datagrams are
   * dropped without a reply. TCP: called once per inbound connection, rejected connections are closed
   * at once. Both count `droppedNotAccepted`. Default: accept all.
   */
  readonly accept?: (peer: ControlPeer) => boolean;
  /** Diagnostics hook (logging). Exceptions thrown by it are swallowed. */
  readonly onEvent?: (event: ControlTransportEvent) => void;
  /** Largest message accepted, bytes (config `mg.maxMessageBytes`). Default 65535. */
  readonly maxMessageBytes?: number;
}

export interface TcpControlTransportOptions extends ControlTransportOptions {
  /** Connections at once, inbound and outbound (config). Default 64. Above it, new ones are closed. */
  readonly maxConnections?: number;
  /** Time allowed to connect to a controller, ms. Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Unsent bytes allowed per connection before it is dropped as stuck. Default 1 MiB. */
  readonly maxWriteBufferBytes?: number;
}

/** Plain counters, read by the metrics layer. Fields that do not apply to a transport stay 0. */
export interface ControlTransportCounters {
  messagesReceived: number;
  bytesReceived: number;
  messagesSent: number;
  bytesSent: number;
  /** UDP datagrams, or TCP connections, refused by `accept`. */
  droppedNotAccepted: number;
  /** UDP datagrams larger than `maxMessageBytes` (on TCP an oversize message is a framing error). */
  droppedOversize: number;
  /** TCP connections closed because of a bad TPKT header. */
  framingErrors: number;
  /** Sends that failed (closed, too large, OS error, stuck peer). */
  sendErrors: number;
  /** `onMessage` threw. */
  handlerErrors: number;
  /** TCP: inbound connections accepted / outbound connections opened / closed (any reason). */
  connectionsAccepted: number;
  connectionsOpened: number;
  connectionsClosed: number;
  /** TCP: connections refused because `maxConnections` was reached. */
  connectionsRejected: number;
  /** TCP: connections open now. */
  connectionsCurrent: number;
}

export function newCounters(): ControlTransportCounters {
  return {
    messagesReceived: 0,
    bytesReceived: 0,
    messagesSent: 0,
    bytesSent: 0,
    droppedNotAccepted: 0,
    droppedOversize: 0,
    framingErrors: 0,
    sendErrors: 0,
    handlerErrors: 0,
    connectionsAccepted: 0,
    connectionsOpened: 0,
    connectionsClosed: 0,
    connectionsRejected: 0,
    connectionsCurrent: 0,
  };
}

export interface ControlTransport {
  readonly kind: ControlTransportKind;
  readonly counters: Readonly<ControlTransportCounters>;
  /** Binds `{address, port}`. Rejects with a TrgwdError `ERR_BIND` naming both. Idempotent. */
  listen(): Promise<ControlEndpoint>;
  /** The bound endpoint (the real port when 0 was asked). Throws before `listen()` resolved. */
  address(): ControlEndpoint;
  /**
   * Originates one message to a controller. UDP: sendto. TCP: over the open connection to that
   * endpoint, connecting first when there is none (and reusing it afterwards).
   */
  sendTo(dest: ControlEndpoint, bytes: Uint8Array): Promise<void>;
  /** Closes the socket(s) and every connection. Idempotent; later sends fail. */
  close(): Promise<void>;
}

/** `1.2.3.4` for `::ffff:1.2.3.4`, unchanged otherwise. */
export function normalizeAddress(address: string): string {
  if (address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && address.indexOf('.') > 0) {
    return address.slice(7);
  }
  return address;
}

/** `1.2.3.4:2944` or `[::1]:2944`. */
export function formatEndpoint(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

export function peerKey(transport: ControlTransportKind, address: string, port: number): string {
  return `${transport}:${formatEndpoint(address, port)}`;
}

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '0:0:0:0:0:0:0:0';
}
