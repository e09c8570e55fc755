/**
 * TLS for TCP media (e2ae, PROFILE §7; STANDARDS §4.3, §4.9). The TCP bearer plane owns the TCP
 * connection; this part turns a connected socket into a pinned TLS session and says how it went.
 *
 * One `TlsMedia` per gateway (built from `config.tls`): our certificate (from `tls.certFile` and
 * `tls.keyFile`, else generated at construction: ECDSA P-256, self-signed, random serial), the
 * server ticket keys and session-id cache, the client session cache, the `tls.maxConnections` limit
 * and the metrics.
 *
 * While a command is prepared (MediaPlane.prepareStream, nothing committed yet):
 *
 *   tls.prepareStream(p.local, p.remote)   // on TLS transports (TCP/TLS, TCP/TLS/MSRP, TCP/TLS/BFCP)
 *     - fills Local `a=fingerprint:<hash> $` with our certificate's fingerprint (in place);
 *     - checks Remote `a=fingerprint` (sha-1/-256/-384/-512; several lines: any may match):
 *       throws ERR_TLS_FINGERPRINT_HASH (449) when none is usable, ERR_TLS_NO_FINGERPRINT (472)
 *       when a Remote has none;
 *     - throws ERR_TLS_LIMIT (510) when `tls.maxConnections` sessions are up.
 *   tls.fingerprint('sha-256')             // 'AB:CD:…' if you fill Local yourself
 *   remotePins(stream.remote)              // TlsPeerPin[] for secure()
 *
 * When the TCP connection is up (role follows the TCP role: we connected → 'client', we accepted →
 * 'server'):
 *
 *   const s = tls.secure(socket, { role, pins: remotePins(stream.remote),
 *                                  certChange: stream.property('tlsm/rcc')?.value === 'allow' ? 'allow' : 'deny',
 *                                  log });   // throws ERR_TLS_LIMIT (510): destroy the socket, count
 *   stream.own(s);                            // closes with the stream (close() = destroy at once)
 *   s.on('established', (e: TlsEstablished) => raise tlsbsc/est { resumed: e.resumed });
 *   s.on('failed', (f: TlsFailure) => raise tlsbsc/fail { reason: f.reason });
 *   s.on('released', (r: TlsReleased) => raise tlsbsc/rel);
 *   s.pipe(otherLeg); otherLeg.pipe(s);       // s is a Duplex of application bytes
 *   s.update({ pins, certChange });           // Modify: new Remote fingerprint or tlsm/rcc
 *
 * Guarantees of a TlsSession:
 *   - It is a Duplex of plaintext with backpressure both ways and half-close (end() sends
 *     close_notify then FIN; the peer's close gives 'end'). It never emits 'error' (a failure is the
 *     'failed' event, then the stream is destroyed), so an unhandled-error crash cannot happen.
 *   - No application byte is read or written before the peer's certificate matched a pin (writes are
 *     held until then). After every handshake, renegotiations included, the certificate is checked
 *     again; a different certificate is refused ('failed' cert-change) unless certChange 'allow', and
 *     then it must still match a pin ('failed' fingerprint). Nothing received after a refused
 *     handshake is delivered.
 *   - Events: at most one 'failed'; 'established' once; 'released' once if and only if 'established'
 *     came, always last (after a post-establishment 'failed', with cause 'failed').
 *   - Handshake not done within `tls.handshakeTimeoutMs`: 'failed' timeout.
 *   - bytesIn / bytesOut count application bytes (tlstv/br, tlstv/bs); the socket is destroyed with
 *     the session.
 */
export type {
  CertChangePolicy,
  FingerprintHash,
  TlsEstablished,
  TlsFailReason,
  TlsFailure,
  TlsPeerPin,
  TlsReleaseCause,
  TlsReleased,
  TlsRole,
} from './types.js';
export { TLS_DEFAULTS, TlsMedia, type TlsMediaConfig, type TlsMediaDeps, type TlsSecureOptions, type TlsVersion } from './tls-media.js';
export { TlsSession, type TlsMetrics } from './session.js';
export { checkRemote, fillLocalFingerprints, isTlsTransport, matchPins, normaliseHash, remotePins } from './fingerprint.js';
export { LocalIdentity, generateSelfSigned, fingerprintOf } from './certificate.js';
