/**
 * DtlsEngine: the one DTLS context of a gateway (our certificate in an SSL_CTX of the native addon),
 * the handshake caps (`dtls.maxHandshakes` overall, `dtls.maxHandshakesPerSource` per source
 * address), the totals behind the `trgwd_dtls_*` metrics, and the factory of endpoints (one per
 * UDP/TLS/UDPTL stream, see endpoint.ts).
 *
 * Per-packet totals are plain numbers, flushed to Prometheus once a second (the packet path never
 * touches prom-client); handshake results are rare and counted at once.
 */
import { TrgwdError, errorMessage } from '../../errors.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import type { FingerprintHash } from '../types.js';
import { loadDtlsNative, type NativeDtls, type NativeDtlsContext } from './binding.js';
import { DtlsEndpoint, type DtlsEndpointHandler, type DtlsEndpointOptions } from './endpoint.js';
import type { DtlsConfig, DtlsRole } from './types.js';

/** Defaults of `dtls.*` for tests and tools; the same as config/schema.ts's (engine.test.ts checks). */
export const DEFAULT_DTLS_CONFIG: DtlsConfig = Object.freeze({
  maxHandshakes: 256,
  maxHandshakesPerSource: 4,
  handshakeTimeoutMs: 30000,
  retransmitInitialMs: 1000,
  mtu: 1200,
  cookieLifetimeS: 60,
  ciphers:
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
    'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:' +
    'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA',
});

/** Our certificate as the engine needs it; daemon/tls/certificate.ts's LocalIdentity fits. */
export interface DtlsIdentity {
  readonly certPem: string;
  readonly keyPem: string;
  fingerprint(hash?: FingerprintHash): string;
}

export interface DtlsEngineOptions {
  readonly identity: DtlsIdentity;
  readonly config?: Partial<DtlsConfig>;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** The addon's DTLS part (default: loaded from native/build). */
  readonly native?: NativeDtls;
  /** HMAC key of the cookies (tests); default random. */
  readonly cookieSecret?: Uint8Array;
}

/** Datagram drop reasons (metric label `reason`). */
export type DtlsDropReason = 'malformed' | 'unexpected' | 'limit' | 'unverified' | 'no_association';

/** Running totals since the last metrics flush (and in all, for tests and the bench). */
export class DtlsTotals {
  recordsIn = 0;
  recordsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  helloVerify = 0;
  malformed = 0;
  unexpected = 0;
  limit = 0;
  unverified = 0;
  noAssociation = 0;

  add(o: DtlsTotals): void {
    this.recordsIn += o.recordsIn;
    this.recordsOut += o.recordsOut;
    this.bytesIn += o.bytesIn;
    this.bytesOut += o.bytesOut;
    this.helloVerify += o.helloVerify;
    this.malformed += o.malformed;
    this.unexpected += o.unexpected;
    this.limit += o.limit;
    this.unverified += o.unverified;
    this.noAssociation += o.noAssociation;
  }

  reset(): void {
    this.recordsIn = this.recordsOut = this.bytesIn = this.bytesOut = this.helloVerify = 0;
    this.malformed = this.unexpected = this.limit = this.unverified = this.noAssociation = 0;
  }
}

const FLUSH_MS = 1000;

export class DtlsEngine {
  readonly native: NativeDtls;
  readonly ctx: NativeDtlsContext;
  readonly config: DtlsConfig;
  readonly identity: DtlsIdentity;
  readonly log: Logger;
  /** Since the last flush (packet path writes here). */
  readonly totals = new DtlsTotals();
  /** Since the engine was built (flushed totals added). */
  readonly allTotals = new DtlsTotals();
  readonly #metrics: Metrics | undefined;
  readonly #perSource = new Map<string, number>();
  #inProgress = 0;
  #associations = 0;
  #endpoints = new Set<DtlsEndpoint>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: DtlsEngineOptions) {
    this.config = { ...DEFAULT_DTLS_CONFIG, ...opts.config };
    this.identity = opts.identity;
    this.log = opts.log ?? silentLogger();
    this.#metrics = opts.metrics;
    this.native = opts.native ?? loadDtlsNative();
    try {
      this.ctx = this.native.createContext({
        cert: Buffer.from(opts.identity.certPem),
        key: Buffer.from(opts.identity.keyPem),
        cookieLifetimeS: this.config.cookieLifetimeS,
        retransmitInitialMs: this.config.retransmitInitialMs,
        ciphers: this.config.ciphers,
        ...(opts.cookieSecret !== undefined ? { cookieSecret: opts.cookieSecret } : {}),
      });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new TrgwdError(
        typeof code === 'string' && code.startsWith('ERR_DTLS_') ? code : 'ERR_DTLS_CONFIG',
        `DTLS: ${errorMessage(e)}`,
        {
          cause: e,
        },
      );
    }
    if (this.#metrics !== undefined) {
      this.#timer = setInterval(() => this.flushMetrics(), FLUSH_MS);
      this.#timer.unref();
      this.#gauges();
    }
  }

  /** A DTLS endpoint on one UDP port (one UDP/TLS/UDPTL stream). */
  endpoint(handler: DtlsEndpointHandler, opts: DtlsEndpointOptions = {}): DtlsEndpoint {
    if (this.#closed) throw new TrgwdError('ERR_DTLS_CLOSED', 'DTLS engine is closed');
    const ep = new DtlsEndpoint(this, handler, opts);
    this.#endpoints.add(ep);
    return ep;
  }

  get handshakesInProgress(): number {
    return this.#inProgress;
  }

  get associations(): number {
    return this.#associations;
  }

  /** Handshakes in progress from `source` (tests). */
  handshakesFrom(source: string): number {
    return this.#perSource.get(source) ?? 0;
  }

  // ---- for endpoints and sessions ------------------------------------------------------------

  /** Takes a handshake slot for `source` (false: a cap is reached; nothing taken). */
  reserve(source: string, role: DtlsRole): boolean {
    if (this.#inProgress >= this.config.maxHandshakes) return false;
    const n = this.#perSource.get(source) ?? 0;
    // the per-source cap protects the server role from one address opening many handshakes; our own
    // client handshakes go to addresses the controller named and only count against the overall cap
    if (role === 'server' && n >= this.config.maxHandshakesPerSource) return false;
    this.#perSource.set(source, n + 1);
    this.#inProgress++;
    this.#metrics?.dtlsHandshakesInProgress.set(this.#inProgress);
    return true;
  }

  unreserve(source: string): void {
    const n = this.#perSource.get(source) ?? 0;
    if (n <= 1) this.#perSource.delete(source);
    else this.#perSource.set(source, n - 1);
    if (this.#inProgress > 0) this.#inProgress--;
    this.#metrics?.dtlsHandshakesInProgress.set(this.#inProgress);
  }

  associationUp(): void {
    this.#associations++;
    this.#metrics?.dtlsAssociations.set(this.#associations);
  }

  associationDown(): void {
    if (this.#associations > 0) this.#associations--;
    this.#metrics?.dtlsAssociations.set(this.#associations);
  }

  /** One handshake's outcome (rare: counted at once). */
  countHandshake(role: DtlsRole, result: 'ok' | 'failed' | 'refused', reason: string): void {
    this.#metrics?.dtlsHandshakes.inc({ role, result, reason });
  }

  /** @internal an endpoint closed. */
  forget(ep: DtlsEndpoint): void {
    this.#endpoints.delete(ep);
  }

  /** Moves the per-packet totals into the Prometheus counters. */
  flushMetrics(): void {
    const t = this.totals;
    this.allTotals.add(t);
    const m = this.#metrics;
    if (m !== undefined) {
      if (t.recordsIn > 0) m.dtlsRecords.inc({ direction: 'rx' }, t.recordsIn);
      if (t.recordsOut > 0) m.dtlsRecords.inc({ direction: 'tx' }, t.recordsOut);
      if (t.bytesIn > 0) m.dtlsBytes.inc({ direction: 'rx' }, t.bytesIn);
      if (t.bytesOut > 0) m.dtlsBytes.inc({ direction: 'tx' }, t.bytesOut);
      if (t.helloVerify > 0) m.dtlsHelloVerifyRequests.inc(t.helloVerify);
      if (t.malformed > 0) m.dtlsDropped.inc({ reason: 'malformed' }, t.malformed);
      if (t.unexpected > 0) m.dtlsDropped.inc({ reason: 'unexpected' }, t.unexpected);
      if (t.limit > 0) m.dtlsDropped.inc({ reason: 'limit' }, t.limit);
      if (t.unverified > 0) m.dtlsDropped.inc({ reason: 'unverified' }, t.unverified);
      if (t.noAssociation > 0) m.dtlsDropped.inc({ reason: 'no_association' }, t.noAssociation);
    }
    t.reset();
  }

  /** Closes every endpoint (close_notify to established peers) and the context. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ep of [...this.#endpoints]) ep.close();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.flushMetrics();
    this.native.destroyContext(this.ctx);
  }

  #gauges(): void {
    this.#metrics?.dtlsHandshakesInProgress.set(this.#inProgress);
    this.#metrics?.dtlsAssociations.set(this.#associations);
  }
}
