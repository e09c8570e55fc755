/**
 * Types of the DTLS part (daemon/tls/dtls/), shared with its callers (the UDP/TLS/UDPTL media plane).
 */
import type { TlsFailReason } from '../types.js';

/** DTLS role of one session; of an endpoint also `auto` (server until told otherwise, RFC 5763 §5). */
export type DtlsRole = 'server' | 'client';
export type DtlsEndpointRole = DtlsRole | 'auto';

/** `tlsbsc/fail` reasons a DTLS handshake can end with (a subset of PROFILE §7's). */
export type DtlsFailReason = Extract<TlsFailReason, 'fingerprint' | 'handshake' | 'timeout'>;

/** Why an established association ended (`tlsbsc/rel`, logs). */
export type DtlsReleaseCause =
  /** close_notify from the peer. */
  | 'peer'
  /** We ended it (close, reset for a new tls-id, subtract, shutdown). */
  | 'local'
  /** A fatal alert or record error. */
  | 'error'
  /** A newer association (a new handshake that matched the pin) took over. */
  | 'replaced'
  /** A new Remote fingerprint that the peer's certificate does not match; `failed` came first. */
  | 'failed';

/** Limits and timers of the DTLS part (config `dtls.*`). */
export interface DtlsConfig {
  /** Handshakes in progress at once, all endpoints (server and client). */
  readonly maxHandshakes: number;
  /** Handshakes in progress at once from one source address (server role). */
  readonly maxHandshakesPerSource: number;
  /** A handshake not established within this (pin check included) fails with `timeout`. */
  readonly handshakeTimeoutMs: number;
  /** First retransmission interval of a handshake flight (RFC 6347 §4.2.4.1: 1 s), then doubling. */
  readonly retransmitInitialMs: number;
  /** Largest DTLS datagram we send; handshake messages are fragmented to fit. */
  readonly mtu: number;
  /** A HelloVerifyRequest cookie is valid for one to two lifetimes. */
  readonly cookieLifetimeS: number;
  /** OpenSSL cipher list for DTLS 1.2. */
  readonly ciphers: string;
}

export interface DtlsEstablished {
  readonly role: DtlsRole;
  readonly address: string;
  readonly port: number;
  /** `DTLSv1.2`. */
  readonly protocol: string;
  readonly cipher: string;
  /** SHA-256 fingerprint of the peer's certificate (`AB:CD:…`). */
  readonly peerFingerprint: string;
}

export interface DtlsFailure {
  readonly reason: DtlsFailReason;
  readonly role: DtlsRole;
  readonly address: string;
  readonly port: number;
  /** For logs: what OpenSSL or our check said. */
  readonly message: string;
}

export interface DtlsReleased {
  readonly cause: DtlsReleaseCause;
  readonly address: string;
  readonly port: number;
}
