/**
 * One TLS connection over a TCP connection the TCP bearer plane owns, seen by it as a Duplex of
 * application bytes. The peer is authenticated by its certificate's fingerprint (RFC 8122 pins from
 * Remote), checked after every handshake, renegotiations included (RFC 5746 secure renegotiation is
 * OpenSSL's default; unsafe legacy renegotiation is never enabled).
 *
 * Node facts this relies on (Node 20 / OpenSSL 3.0, covered by tests):
 *   - `'secure'` is emitted synchronously from OpenSSL's handshake-done callback after every
 *     handshake, before the application records that follow it are handed to JS, so a gate closed
 *     in that handler drops everything after a refused handshake;
 *   - with `rejectUnauthorized: false` no chain check stops a self-signed peer, and
 *     `checkServerIdentity` is not called for it: the pin check below is the only authentication;
 *   - a resumed client session carries no peer certificate: the client session cache is keyed by the
 *     pin the original full handshake matched, and only offered when that pin is still wanted;
 *   - a client TLSSocket on an already connected socket only starts through `tls.connect({socket})`.
 */
import type { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Socket } from 'node:net';
import type { Logger } from '../observe/log.js';
import type { Metrics } from '../observe/metrics.js';
import type { Closable } from '../mg/resource.js';
import { fingerprintOf } from './certificate.js';
import { matchPins, pinKey } from './fingerprint.js';
import type { SessionCache } from './session-cache.js';
import type {
  CertChangePolicy,
  TlsEstablished,
  TlsFailReason,
  TlsFailure,
  TlsPeerPin,
  TlsReleaseCause,
  TlsReleased,
  TlsRole,
} from './types.js';

export type TlsMetrics = Pick<Metrics, 'tlsHandshakes' | 'tlsResumed' | 'tlsRenegotiations' | 'tlsConnections' | 'tlsRefused'>;

/** A client session remembered for resumption, with what its full handshake verified. */
export interface ClientSessionEntry {
  readonly session: Buffer;
  /** SHA-256 fingerprint of the certificate the full handshake saw. */
  readonly fingerprint: string;
}

/** @internal What a session needs of TlsMedia. */
export interface TlsSessionHost {
  readonly secureContext: tls.SecureContext;
  /** Not listening: carries the server's newSession/resumeSession listeners (session-id cache). */
  readonly sessionEvents: tls.Server;
  readonly clientSessions: SessionCache<ClientSessionEntry>;
  readonly handshakeTimeoutMs: number;
  /** After our close_notify, cut the connection this much later if it is still open. */
  readonly closeTimeoutMs: number;
  readonly metrics: TlsMetrics | undefined;
  readonly log: Logger;
  sessionDone(s: TlsSession): void;
}

export interface TlsSessionOptions {
  /** Follows the TCP role: 'client' when we connected, 'server' when we accepted. */
  readonly role: TlsRole;
  /** Remote `a=fingerprint` pins (remotePins()); the peer certificate must match one. */
  readonly pins: readonly TlsPeerPin[];
  /** `tlsm/rcc` (default deny). */
  readonly certChange?: CertChangePolicy;
  /** Child logger carrying ctx/term. */
  readonly log?: Logger;
}

type State = 'handshaking' | 'open' | 'failed' | 'closed';

/** OpenSSL and Node TLS errors (as opposed to socket errors such as ECONNRESET). */
function isTlsError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || 'library' in e;
}

/**
 * Events (payload types in types.ts): 'established' (TlsEstablished), 'failed' (TlsFailure),
 * 'released' (TlsReleased), 'renegotiated' ({ peerFingerprint }); never 'error'.
 */
export class TlsSession extends Duplex implements Closable {
  readonly role: TlsRole;
  /** Application bytes received from the peer and passed on (tlstv/br). */
  bytesIn = 0;
  /** Application bytes sent to the peer (tlstv/bs). */
  bytesOut = 0;
  readonly #host: TlsSessionHost;
  readonly #log: Logger;
  readonly #socket: Socket;
  readonly #tls: tls.TLSSocket;
  #pins: readonly TlsPeerPin[];
  #certChange: CertChangePolicy;
  #state: State = 'handshaking';
  #info: TlsEstablished | undefined;
  /** SHA-256 fingerprint of the certificate the peer presented last. */
  #peerFingerprint: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Client: the cached session offered, and its cache key. */
  #offered: { key: string; entry: ClientSessionEntry } | undefined;
  /** Client: a session that arrived before the pin check passed. */
  #pendingSession: Buffer | undefined;
  /** Client: cache key (the matched pin) for sessions of this connection. */
  #sessionKey: string | undefined;
  #heldWrite: { chunk: Buffer; cb: (e?: Error | null) => void } | undefined;
  #heldFinal: ((e?: Error | null) => void) | undefined;
  #drainCb: ((e?: Error | null) => void) | undefined;
  /** Who ended first, for 'released'. */
  #endedBy: 'peer' | 'local' | undefined;
  #peerEnded = false;
  #releaseCause: TlsReleaseCause | undefined;
  /** TLS reached 'secure' at least once: a close sends close_notify first. */
  #tlsUp = false;
  #done = false;

  /** @internal Use TlsMedia.secure(). */
  constructor(socket: Socket, opts: TlsSessionOptions, host: TlsSessionHost) {
    super({ allowHalfOpen: true });
    this.role = opts.role;
    this.#host = host;
    this.#log = opts.log ?? host.log;
    this.#socket = socket;
    this.#pins = opts.pins;
    this.#certChange = opts.certChange ?? 'deny';
    if (opts.role === 'client') {
      this.#offered = this.#lookupSession();
      this.#tls = tls.connect({
        socket,
        secureContext: host.secureContext,
        // the pin check after 'secure' authenticates the peer; a self-signed peer fails any chain check
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        ...(this.#offered !== undefined ? { session: this.#offered.entry.session } : {}),
      });
      this.#tls.on('session', (s: Buffer) => this.#onSession(s));
    } else {
      this.#tls = new tls.TLSSocket(socket, {
        isServer: true,
        server: host.sessionEvents,
        secureContext: host.secureContext,
        // RFC 4572 §6.2 / RFC 8122: both sides present a certificate; we pin, not chain
        requestCert: true,
        rejectUnauthorized: false,
      });
    }
    const t = this.#tls;
    t.on('secure', () => this.#onSecure());
    t.on('data', (chunk: Buffer) => this.#onData(chunk));
    t.on('end', () => this.#onEnd());
    t.on('error', (e: Error) => this.#onError(e));
    t.on('close', () => this.#onClose());
    t.on('drain', () => {
      const cb = this.#drainCb;
      this.#drainCb = undefined;
      cb?.();
    });
    this.#timer = setTimeout(() => this.#fail('timeout', `no TLS session within ${host.handshakeTimeoutMs} ms`), host.handshakeTimeoutMs);
    this.#timer.unref();
  }

  /** True once the peer's certificate matched a pin (until the session ends). */
  get established(): boolean {
    return this.#state === 'open';
  }

  /** What the first handshake agreed (undefined before it). */
  get info(): TlsEstablished | undefined {
    return this.#info;
  }

  /** SHA-256 fingerprint of the peer certificate in use. */
  get peerFingerprint(): string | undefined {
    return this.#peerFingerprint;
  }

  /**
   * New pins (a Modify changed Remote `a=fingerprint`) or `tlsm/rcc` policy; they apply from the
   * next handshake (a renegotiation, or the next connection).
   */
  update(p: { pins?: readonly TlsPeerPin[]; certChange?: CertChangePolicy }): void {
    if (p.pins !== undefined) this.#pins = p.pins;
    if (p.certChange !== undefined) this.#certChange = p.certChange;
  }

  /** Starts a renegotiation (TLS 1.2 only; RFC 5746). Resolves when it completed and was accepted. */
  renegotiate(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ok = this.#tls.renegotiate({ requestCert: true, rejectUnauthorized: false }, (e) => {
        if (e !== null && e !== undefined) reject(e);
        else if (this.#state !== 'open') reject(new Error('TLS session ended during the renegotiation'));
        else resolve();
      });
      if (!ok) reject(new Error('renegotiation not possible (TLS 1.3 or session ended)'));
    });
  }

  /** Ends the session at once (close_notify if TLS is up); 'released' follows. Idempotent. */
  close(): void {
    this.#releaseCause ??= 'local';
    this.destroy();
  }

  // --- Duplex ---------------------------------------------------------------------------------------

  override _read(): void {
    if (this.#state === 'open' && this.#tls.isPaused()) this.#tls.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.#state === 'handshaking') {
      // nothing goes to a peer before its certificate is checked
      this.#heldWrite = { chunk, cb };
      return;
    }
    if (this.#state !== 'open') {
      cb(); // failed or closed: dropped ('failed'/'released' told the owner; we never emit 'error')
      return;
    }
    this.bytesOut += chunk.length;
    if (this.#tls.write(chunk)) cb();
    else this.#drainCb = cb;
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.#state === 'handshaking') {
      this.#heldFinal = cb;
      return;
    }
    if (this.#state === 'open') {
      this.#endedBy ??= 'local';
      this.#tls.end(); // close_notify, then FIN (half-close)
    }
    cb();
  }

  override _destroy(_err: Error | null, cb: (e?: Error | null) => void): void {
    const graceful = this.#tlsUp && this.#state !== 'closed' && !this.#tls.destroyed;
    if (this.#state === 'handshaking' || this.#state === 'open') this.#state = 'closed';
    this.#clearTimer();
    const t = this.#tls;
    if (!t.destroyed) {
      if (graceful) {
        // close_notify (RFC 8446 §6.1, RFC 5246 §7.2.1) before the FIN; cut anyway if it cannot leave
        if (!t.writableEnded) t.end();
        if (t.writableFinished) t.destroy();
        else {
          const guard = setTimeout(() => t.destroy(), this.#host.closeTimeoutMs);
          guard.unref();
          t.once('finish', () => t.destroy());
          t.once('close', () => clearTimeout(guard));
        }
      } else {
        t.destroy();
      }
    }
    // the TCP socket is the TLS socket's transport; make sure it goes with it
    if (t.destroyed) this.#socket.destroy();
    else t.once('close', () => this.#socket.destroy());
    this.#finish();
    const held = this.#heldWrite;
    this.#heldWrite = undefined;
    held?.cb();
    cb(null); // never an 'error' event: failures were reported as 'failed'
  }

  // --- TLS events ---------------------------------------------------------------------------------------

  #onSecure(): void {
    this.#tlsUp = true;
    if (this.#state === 'failed' || this.#state === 'closed') return;
    const cert = this.#tls.getPeerX509Certificate();
    if (this.#state === 'handshaking') this.#onFirstHandshake(cert);
    else this.#onRenegotiated(cert);
  }

  #onFirstHandshake(cert: X509Certificate | undefined): void {
    this.#clearTimer();
    const resumed = this.#tls.isSessionReused();
    let fingerprint: string;
    if (cert !== undefined) {
      const pin = matchPins(this.#pins, cert.raw);
      fingerprint = fingerprintOf(cert.raw, 'sha-256');
      if (pin === undefined) {
        this.#fail(
          'fingerprint',
          this.#pins.length === 0
            ? 'no Remote a=fingerprint to check the peer certificate against'
            : `peer certificate SHA-256 ${fingerprint} matches no Remote a=fingerprint`,
        );
        return;
      }
      this.#sessionKey = pinKey(pin);
    } else if (this.role === 'client' && resumed && this.#offered !== undefined) {
      // resumed: no certificate is sent again; the session was cached under a pin still wanted
      fingerprint = this.#offered.entry.fingerprint;
      this.#sessionKey = this.#offered.key;
    } else {
      this.#fail('fingerprint', 'peer presented no certificate');
      return;
    }
    this.#peerFingerprint = fingerprint;
    this.#state = 'open';
    const pending = this.#pendingSession;
    this.#pendingSession = undefined;
    if (pending !== undefined) this.#storeSession(pending);
    const cipher = this.#tls.getCipher();
    this.#info = {
      resumed,
      protocol: this.#tls.getProtocol() ?? 'unknown',
      cipher: cipher.name,
      peerFingerprint: fingerprint,
    };
    this.#host.metrics?.tlsHandshakes.inc({ role: this.role, result: 'ok', reason: 'none' });
    if (resumed) this.#host.metrics?.tlsResumed.inc({ role: this.role });
    this.#log.debug({ role: this.role, ...this.#info }, 'TLS session established');
    this.emit('established', this.#info);
    // held writes and end() go out now, in order
    const w = this.#heldWrite;
    this.#heldWrite = undefined;
    if (w !== undefined) this._write(w.chunk, 'binary', w.cb);
    const f = this.#heldFinal;
    this.#heldFinal = undefined;
    if (f !== undefined) this._final(f);
  }

  #onRenegotiated(cert: X509Certificate | undefined): void {
    // an abbreviated renegotiation (same session) sends no certificate: nothing can have changed
    if (cert !== undefined) {
      const fp = fingerprintOf(cert.raw, 'sha-256');
      if (fp !== this.#peerFingerprint) {
        if (this.#certChange !== 'allow') {
          this.#host.metrics?.tlsRenegotiations.inc({ role: this.role, result: 'aborted' });
          this.#fail('cert-change', `peer certificate changed on renegotiation (SHA-256 ${fp}); tlsm/rcc is deny`);
          return;
        }
        if (matchPins(this.#pins, cert.raw) === undefined) {
          this.#host.metrics?.tlsRenegotiations.inc({ role: this.role, result: 'aborted' });
          this.#fail('fingerprint', `certificate after renegotiation (SHA-256 ${fp}) matches no Remote a=fingerprint`);
          return;
        }
        this.#peerFingerprint = fp;
        this.#log.info({ role: this.role, peerFingerprint: fp }, 'TLS peer certificate changed on renegotiation (allowed)');
      }
    }
    this.#host.metrics?.tlsRenegotiations.inc({ role: this.role, result: 'ok' });
    this.emit('renegotiated', { peerFingerprint: this.#peerFingerprint });
  }

  #onData(chunk: Buffer): void {
    // The gate: nothing before the pin check, nothing after a refused handshake.
    if (this.#state !== 'open') return;
    this.bytesIn += chunk.length;
    if (!this.push(chunk)) this.#tls.pause();
  }

  #onEnd(): void {
    if (this.#state !== 'open') return;
    this.#peerEnded = true;
    this.#endedBy ??= 'peer';
    this.push(null);
  }

  #onError(e: Error): void {
    if (this.#state === 'handshaking') {
      this.#fail('handshake', e.message);
    } else if (this.#state === 'open') {
      if (isTlsError(e)) {
        this.#fail('handshake', e.message);
      } else {
        this.#releaseCause ??= 'error';
        this.destroy();
      }
    }
  }

  #onClose(): void {
    if (this.#state === 'handshaking') {
      this.#fail('handshake', 'connection closed during the TLS handshake');
      return;
    }
    if (this.#state !== 'open') return;
    // both directions ended cleanly: the Duplex ends (autoDestroy) once its reader has taken the rest
    if (this.#peerEnded && this.writableFinished) return;
    this.#releaseCause ??= this.#peerEnded ? 'peer' : 'error';
    if (this.#peerEnded && !this.readableEnded) {
      // the peer's last bytes are still buffered here: hand them over first
      this.#state = 'closed';
      this.once('end', () => this.destroy());
    } else {
      this.destroy();
    }
  }

  #onSession(session: Buffer): void {
    // TLS 1.3 tickets arrive after the handshake, possibly after we closed: still good to resume
    if (this.#state === 'failed') return;
    if (this.#sessionKey !== undefined) this.#storeSession(session);
    else if (this.#state === 'handshaking') this.#pendingSession = session;
  }

  // --- helpers --------------------------------------------------------------------------------------

  #lookupSession(): { key: string; entry: ClientSessionEntry } | undefined {
    for (const p of this.#pins) {
      const key = pinKey(p);
      const entry = this.#host.clientSessions.get(key);
      if (entry !== undefined) return { key, entry };
    }
    return undefined;
  }

  #storeSession(session: Buffer): void {
    if (this.#sessionKey === undefined || this.#peerFingerprint === undefined) return;
    this.#host.clientSessions.set(this.#sessionKey, { session, fingerprint: this.#peerFingerprint });
  }

  #fail(reason: TlsFailReason, message: string): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    this.#state = 'failed';
    this.#clearTimer();
    this.#tls.pause();
    if (wasOpen) this.#releaseCause = 'failed';
    this.#host.metrics?.tlsHandshakes.inc({ role: this.role, result: 'fail', reason });
    this.#log.info({ role: this.role, reason, err: message }, 'TLS session failed');
    const failure: TlsFailure = { reason, message };
    this.emit('failed', failure);
    // destroyed on the next turn: we may be inside OpenSSL's handshake callback here
    setImmediate(() => this.destroy());
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#host.sessionDone(this);
    if (this.#info !== undefined) {
      const r: TlsReleased = { cause: this.#releaseCause ?? this.#endedBy ?? 'local' };
      this.emit('released', r);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}
