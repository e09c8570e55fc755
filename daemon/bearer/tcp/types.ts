/**
 * Settings and seams of the TCP bearer plane: limits and timers (config `media.tcp.*`), the TLS
 * engine hook for the `TCP/TLS*` transports (daemon/tls/), and the per-direction byte stage the
 * MSRP-aware handling will plug into.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SdpTransport } from '../../control/codec/sdp.js';
import type { StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';

/** `media.tcp` in the config (config/schema.ts documents each key and its default). */
export interface TcpSettings {
  /** Deadline of an active connect (ms). */
  readonly connectTimeoutMs: number;
  /** Back-off between active connect attempts: first wait, doubled up to the max (ms). */
  readonly connectRetryMinMs: number;
  readonly connectRetryMaxMs: number;
  /** Back-off between simultaneous-open attempts (ms); the deadline is `tcphp/to`. */
  readonly soRetryMinMs: number;
  readonly soRetryMaxMs: number;
  /** TCP bearers (terminations streams with a TCP transport) at once; beyond: 510 / refused. */
  readonly maxConnections: number;
  /** Connections being established at once (connect attempts, TLS handshakes); beyond: refused. */
  readonly maxPendingConnections: number;
  /** Bytes read from one leg and held while the other leg is not up (delayed establishment). */
  readonly bufferBytes: number;
  /** Bytes queued towards a slow reader before the other side's reading pauses (backpressure). */
  readonly highWaterMark: number;
  /** No bytes either way for this long closes the connection (ms); 0: never. */
  readonly idleTimeoutMs: number;
  /** After our FIN (Subtract, replacement, idle), the connection is reset if still open this much later (ms). */
  readonly closeGraceMs: number;
  /** Realms whose passive terminations latch by default (`ipnapt/latch` absent): the access side. */
  readonly latchRealms: readonly string[];
}

export const DEFAULT_TCP_SETTINGS: TcpSettings = Object.freeze({
  connectTimeoutMs: 10000,
  connectRetryMinMs: 100,
  connectRetryMaxMs: 2000,
  soRetryMinMs: 50,
  soRetryMaxMs: 500,
  maxConnections: 10000,
  maxPendingConnections: 1000,
  bufferBytes: 262144,
  highWaterMark: 262144,
  idleTimeoutMs: 7200000,
  closeGraceMs: 2000,
  latchRealms: Object.freeze(['access']),
});

/** TLS role follows the TCP role (PROFILE §7): the side that connected is the TLS client. */
export type TlsRole = 'client' | 'server';

/**
 * What the TCP plane needs from the TLS engine (daemon/tls/) for `TCP/TLS`, `TCP/TLS/MSRP` and
 * `TCP/TLS/BFCP`: the certificate fingerprint for Local `a=fingerprint:... $`, and one call that wraps
 * a connected TCP socket. The engine checks the Remote fingerprint and raises the `tlsbsc` events.
 */
export interface TcpTlsEngine {
  /** Fills the TLS `$` values of the Local (fingerprint) and checks the Remote; may throw a TrgwdError. */
  prepareStream?(p: StreamPreparation): void | Promise<void>;
  /**
   * Runs the handshake on a connected socket; resolves with the cleartext side once it is up,
   * rejects when it fails (the engine has reported why). The raw socket stays the plane's.
   */
  wrap(socket: Socket, options: { readonly role: TlsRole; readonly termination: Termination; readonly stream: Stream }): Promise<Duplex>;
  /** A Modify set a new Remote (fingerprints) or LocalControl (`tlsm/rcc`) on a stream whose session is up. */
  update?(session: Duplex, stream: Stream): void;
  /** Shutdown (after every leg closed). */
  close?(): Promise<void>;
}

/** The TLS transports of PROFILE §3. */
export function isTlsTransport(t: SdpTransport | undefined): boolean {
  return t === 'TCP/TLS' || t === 'TCP/TLS/MSRP' || t === 'TCP/TLS/BFCP';
}

/**
 * A per-direction processing stage: what one leg reads passes through its stage before it is
 * written to the other leg. The MSRP-aware relay (PROFILE §6) will be one; plain TCP has none (the
 * bytes go through untouched, e2e TLS included). Called on the packet path: must not throw.
 */
export interface ByteStage {
  /** Bytes read from the leg → bytes to write to the other one (undefined or [] : nothing now). */
  transform(chunk: Buffer): Buffer | readonly Buffer[] | undefined;
  /** The leg's connection stopped giving bytes (FIN, our close): last bytes for the other one. */
  end?(): Buffer | readonly Buffer[] | undefined;
}

/** Makes the inbound stage of a leg (undefined: bytes untouched). */
export type StageFactory = (leg: {
  readonly transport: SdpTransport;
  readonly termination: Termination;
  readonly stream: Stream;
  /** Writes to this leg's own peer, in order with what the other leg relays to it (MSRP answers). */
  readonly reply: (chunk: Buffer) => void;
  /** Disconnects this leg's peer (MSRP framing error). */
  readonly abort: (reason: string) => void;
}) => ByteStage | undefined;

/** `tcpbcc/rel` causes (PROFILE §5). */
export type ReleaseCause = 'fin' | 'rst' | 'timeout' | 'local';
