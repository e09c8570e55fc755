/**
 * TLS for TCP media, gateway-wide: our identity, the TLS settings of `config.tls` (TS 33.310 Annex E
 * suites, TLS 1.2/1.3), session resumption state (RFC 5077 ticket keys and a bounded session-id
 * cache on the server side; a client cache keyed by pin), the `tls.maxConnections` limit, and the
 * metrics. The TCP bearer plane calls prepareStream() and secure(); see index.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import type { SdpGroup } from '../control/codec/sdp.js';
import { TrgwdError } from '../errors.js';
import { silentLogger, type Logger } from '../observe/log.js';
import { LocalIdentity } from './certificate.js';
import { checkRemote, fillLocalFingerprints } from './fingerprint.js';
import { SessionCache } from './session-cache.js';
import { TlsSession, type ClientSessionEntry, type TlsMetrics, type TlsSessionHost, type TlsSessionOptions } from './session.js';
import type { FingerprintHash } from './types.js';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** `config.tls` (config/schema.ts documents each key and its default). */
export interface TlsMediaConfig {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly generatedCertDays: number;
  readonly ciphers: readonly string[];
  readonly minVersion: TlsVersion;
  readonly maxVersion: TlsVersion;
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly sessionCacheSize: number;
  readonly sessionTimeoutS: number;
  readonly closeTimeoutMs: number;
}

/** The defaults of config/schema.ts, for tests and tools that build a TlsMedia by hand. */
export const TLS_DEFAULTS: TlsMediaConfig = {
  generatedCertDays: 365,
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
  ],
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  handshakeTimeoutMs: 10000,
  maxConnections: 1024,
  sessionCacheSize: 1024,
  sessionTimeoutS: 300,
  closeTimeoutMs: 2000,
};

export interface TlsMediaDeps {
  log?: Logger;
  metrics?: TlsMetrics;
  /** Use this certificate instead of the config's or a generated one (tests). */
  identity?: LocalIdentity;
}

export type TlsSecureOptions = TlsSessionOptions;

export class TlsMedia {
  readonly identity: LocalIdentity;
  readonly config: TlsMediaConfig;
  readonly #log: Logger;
  readonly #metrics: TlsMetrics | undefined;
  readonly #sessions = new Set<TlsSession>();
  readonly #serverSessions: SessionCache<Buffer>;
  readonly #host: TlsSessionHost;
  #closed = false;

  /** Loads or generates our certificate at once (ERR_TLS_CERT when the configured files are unusable). */
  constructor(config: TlsMediaConfig, deps: TlsMediaDeps = {}) {
    this.config = config;
    this.#log = deps.log ?? silentLogger();
    this.#metrics = deps.metrics;
    this.identity = deps.identity ?? TlsMedia.#loadIdentity(config);
    const ttlMs = config.sessionTimeoutS * 1000;
    this.#serverSessions = new SessionCache<Buffer>(config.sessionCacheSize, ttlMs);
    const secureContext = tls.createSecureContext({
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      minVersion: config.minVersion,
      maxVersion: config.maxVersion,
      ciphers: config.ciphers.join(':'),
      honorCipherOrder: true,
      // RFC 5077 tickets: one random key set per process (tickets do not survive a restart)
      ticketKeys: randomBytes(48),
      sessionTimeout: config.sessionTimeoutS,
      // without it OpenSSL refuses to resume sessions when a client certificate was requested
      sessionIdContext: 'trgwd-tls-media',
    });
    // Server session-id cache (RFC 5246 §7.4.1.2): a listener-only Server, never listening.
    const sessionEvents = new tls.Server();
    sessionEvents.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.#serverSessions.set(id.toString('hex'), data);
      done();
    });
    sessionEvents.on('resumeSession', (id: Buffer, done: (e: Error | null, data: Buffer | null) => void) => {
      done(null, this.#serverSessions.get(id.toString('hex')) ?? null);
    });
    this.#host = {
      secureContext,
      sessionEvents,
      clientSessions: new SessionCache<ClientSessionEntry>(config.sessionCacheSize, ttlMs),
      handshakeTimeoutMs: config.handshakeTimeoutMs,
      closeTimeoutMs: config.closeTimeoutMs,
      metrics: this.#metrics,
      log: this.#log,
      sessionDone: (s) => {
        if (this.#sessions.delete(s)) this.#metrics?.tlsConnections.set(this.#sessions.size);
      },
    };
    this.#log.info(
      { generated: this.identity.generated, fingerprint: this.identity.fingerprint('sha-256'), notAfter: this.identity.certificate.validTo },
      'TLS media certificate ready',
    );
  }

  static #loadIdentity(c: TlsMediaConfig): LocalIdentity {
    if (c.certFile !== undefined && c.keyFile !== undefined) return LocalIdentity.fromFiles(c.certFile, c.keyFile);
    if (c.certFile !== undefined || c.keyFile !== undefined)
      throw new TrgwdError('ERR_TLS_CERT', 'tls.certFile and tls.keyFile go together');
    return LocalIdentity.generate({ days: c.generatedCertDays });
  }

  /** TLS sessions in existence (handshaking or up). */
  get active(): number {
    return this.#sessions.size;
  }

  /** Our certificate's fingerprint, upper-case hex with colons (RFC 8122). */
  fingerprint(hash: FingerprintHash = 'sha-256'): string {
    return this.identity.fingerprint(hash);
  }

  /**
   * For MediaPlane.prepareStream on a TLS transport: fills Local `a=fingerprint:<hash> $`, checks
   * the Remote's fingerprints and that a TLS connection may still be opened. Throws
   * ERR_TLS_FINGERPRINT_HASH (449), ERR_TLS_NO_FINGERPRINT (472) or ERR_TLS_LIMIT (510). Keeps no
   * state (the command may still be aborted).
   */
  prepareStream(local: readonly SdpGroup[] | undefined, remote: readonly SdpGroup[] | undefined): void {
    fillLocalFingerprints(local, this.identity);
    if (remote !== undefined) checkRemote(remote);
    this.checkCapacity();
  }

  /** Throws ERR_TLS_LIMIT (510) when `tls.maxConnections` sessions exist (counted). */
  checkCapacity(): void {
    if (this.#closed || this.#sessions.size >= this.config.maxConnections) {
      this.#metrics?.tlsRefused.inc();
      throw new TrgwdError(
        'ERR_TLS_LIMIT',
        this.#closed ? 'TLS media is shut down' : `TLS connections at the limit (tls.maxConnections ${this.config.maxConnections})`,
      );
    }
  }

  /**
   * Starts TLS on a connected TCP socket (role follows the TCP role). The session owns the socket
   * from now on. Throws ERR_TLS_LIMIT (510) at `tls.maxConnections`: the caller closes the socket.
   */
  secure(socket: Socket, opts: TlsSecureOptions): TlsSession {
    this.checkCapacity();
    const s = new TlsSession(socket, opts, this.#host);
    this.#sessions.add(s);
    this.#metrics?.tlsConnections.set(this.#sessions.size);
    return s;
  }

  /** Ends every session and forgets cached sessions. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const s of [...this.#sessions]) s.close();
    this.#serverSessions.clear();
    this.#host.clientSessions.clear();
  }
}
