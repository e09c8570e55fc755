/**
 * Types shared by the TLS part (daemon/tls/) and its callers (the TCP bearer plane). See index.ts for
 * how they fit together.
 */

/** TLS role; it follows the TCP role (RFC 4572 §6.2 / PROFILE §7): the side that connects is the client. */
export type TlsRole = 'client' | 'server';

/** Hash functions accepted in a Remote `a=fingerprint` (RFC 8122 §5, lower-case canonical names). */
export type FingerprintHash = 'sha-1' | 'sha-256' | 'sha-384' | 'sha-512';

/** One Remote `a=fingerprint` line, normalised: what the peer's certificate must match. */
export interface TlsPeerPin {
  readonly hash: FingerprintHash;
  /** Upper-case hex bytes separated by `:` (RFC 8122 §5). */
  readonly value: string;
}

/** `tlsm/rcc`: what to do when a renegotiation presents a different peer certificate. */
export type CertChangePolicy = 'allow' | 'deny';

/** `tlsbsc/fail` `reason` values (PROFILE §7). */
export type TlsFailReason = 'fingerprint' | 'handshake' | 'timeout' | 'cert-change';

/** Why an established session ended (for `tlsbsc/rel` and logs). */
export type TlsReleaseCause =
  /** The peer closed (close_notify, or TCP FIN) and our side finished too. */
  | 'peer'
  /** We closed it (`close()`, `end()`, subtract, shutdown). */
  | 'local'
  /** The TCP connection broke (reset, error). */
  | 'error'
  /** Ended by a failure after establishment (a refused certificate change); `failed` came first. */
  | 'failed';

export interface TlsEstablished {
  /** Abbreviated handshake (session ticket or session id): `tlsbsc/est` `resumed=on`. */
  readonly resumed: boolean;
  /** `TLSv1.2` or `TLSv1.3`. */
  readonly protocol: string;
  /** OpenSSL name of the cipher suite. */
  readonly cipher: string;
  /**
   * SHA-256 fingerprint of the peer's certificate (upper-case hex with colons); on a resumed client
   * session (no certificate sent again) the pin the original, full handshake matched.
   */
  readonly peerFingerprint: string;
}

export interface TlsFailure {
  readonly reason: TlsFailReason;
  /** For logs: what OpenSSL or our check said. */
  readonly message: string;
}

export interface TlsReleased {
  readonly cause: TlsReleaseCause;
}
