/**
 * The media plane for TCP bearers (PROFILE §3, §5): `TCP`, `TCP/MSRP`, `TCP/BFCP` (bytes relayed
 * untouched; e2e TLS passes through) and `TCP/TLS`, `TCP/TLS/MSRP`, `TCP/TLS/BFCP` (TLS terminated by
 * the TLS engine on the connected socket, the side that connected being the TLS client). MSRP-aware
 * handling plugs in as a per-direction byte stage (`stages`, daemon/bearer/msrp/); without one,
 * TCP/MSRP bytes are relayed like TCP.
 *
 * Each stream with such a transport gets a TcpLeg (leg.ts), owned by the stream so Subtract closes
 * it; legs with the same stream id on two terminations of a context relay to each other. More than
 * two TCP terminations on one stream id: the first two (in order of arrival) are paired.
 *
 * "Access" for the latching default (`ipnapt/latch` absent on a passive leg) is the realm: realms
 * listed in `media.tcp.latchRealms` (default `access`) latch, others do not.
 *
 * Limits (config `media.tcp`): `maxConnections` TCP legs at once (a new one beyond it is refused with
 * 510 when the command is prepared, and an incoming connection beyond it is reset, counted);
 * `maxPendingConnections` connections being established (connect attempts, TLS handshakes; beyond:
 * reset or `tcpbcc/fail` cause `limit`, counted); `bufferBytes` and `highWaterMark` bound what one
 * leg holds (leg.ts).
 */
import type { SdpTransport } from '../../control/codec/sdp.js';
import type { Context } from '../../mg/context.js';
import { mgError } from '../../mg/errors.js';
import { fillMsrpPath } from '../msrp/sdp.js';
import type { MediaPlane, StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import { TcpLeg, type AttemptResult, type ByteTally, type Direction, type LegHost } from './leg.js';
import {
  DEFAULT_TCP_SETTINGS,
  isTlsTransport,
  type ByteStage,
  type ReleaseCause,
  type StageFactory,
  type TcpSettings,
  type TcpTlsEngine,
} from './types.js';

export const TCP_TRANSPORTS: readonly SdpTransport[] = ['TCP', 'TCP/MSRP', 'TCP/BFCP', 'TCP/TLS', 'TCP/TLS/MSRP', 'TCP/TLS/BFCP'];

export interface TcpPlaneOptions {
  readonly settings?: Partial<TcpSettings>;
  /** The TLS engine for the TCP/TLS* transports; without it they are refused (449). */
  readonly tls?: TcpTlsEngine;
  /** Per-direction byte stages (MSRP-aware handling); default none. */
  readonly stages?: StageFactory;
  readonly metrics?: Metrics;
  readonly log?: Logger;
}

/** Counts for tests and diagnostics (the Prometheus metrics carry the same). */
export interface TcpPlaneStats {
  legs: number;
  connections: number;
  pending: number;
  refused: number;
  filtered: number;
  limited: number;
  failed: number;
}

function servedTransport(s: Stream): SdpTransport | undefined {
  const t = (s.local?.[0] ?? s.remote?.[0])?.media[0]?.transport;
  return t !== undefined && TCP_TRANSPORTS.includes(t) ? t : undefined;
}

export class TcpPlane implements MediaPlane {
  readonly name = 'tcp';
  readonly settings: TcpSettings;
  readonly #legs = new Map<Stream, TcpLeg>();
  readonly #tls: TcpTlsEngine | undefined;
  readonly #stages: StageFactory | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #log: Logger;
  readonly #tallies = new Map<string, ByteTally>();
  #flushTimer: NodeJS.Timeout | undefined;
  #pending = 0;
  #connections = 0;
  readonly #stats: TcpPlaneStats = { legs: 0, connections: 0, pending: 0, refused: 0, filtered: 0, limited: 0, failed: 0 };
  readonly #host: LegHost;

  constructor(options: TcpPlaneOptions = {}) {
    this.settings = { ...DEFAULT_TCP_SETTINGS, ...options.settings };
    this.#tls = options.tls;
    this.#stages = options.stages;
    this.#metrics = options.metrics;
    this.#log = (options.log ?? silentLogger()).child({ plane: 'tcp' });
    this.#host = {
      settings: this.settings,
      tls: this.#tls,
      log: this.#log,
      takePending: () => {
        if (this.#pending >= this.settings.maxPendingConnections) return false;
        this.#pending++;
        return true;
      },
      releasePending: () => {
        this.#pending = Math.max(0, this.#pending - 1);
      },
      hasRoom: () => this.#connections + this.#pending < this.settings.maxConnections,
      connectionUp: (leg, dir) => {
        this.#connections++;
        this.#metrics?.tcpConnections.inc({ realm: leg.termination.realm, direction: dir });
      },
      connectionDown: (leg, dir, cause) => this.#down(leg, dir, cause),
      attempt: (leg, dir, result) => this.#attempted(leg, dir, result),
      ready: (leg) => leg.partner?.wake(),
      closed: (leg) => {
        if (this.#legs.get(leg.stream) === leg) this.#legs.delete(leg.stream);
        if (this.#legs.size === 0) this.#flushBytes();
      },
      bytes: (realm) => {
        let t = this.#tallies.get(realm);
        if (t === undefined) {
          t = { rx: 0, tx: 0 };
          this.#tallies.set(realm, t);
        }
        return t;
      },
      stage: (leg): ByteStage | undefined =>
        this.#stages?.({
          transport: leg.transport,
          termination: leg.termination,
          stream: leg.stream,
          reply: (b) => leg.reply(b),
          abort: () => leg.abort(),
        }),
    };
  }

  serves(transport: SdpTransport): boolean {
    return TCP_TRANSPORTS.includes(transport);
  }

  /** Refuses what cannot be served (TLS without an engine, no room); lets the TLS engine fill its `$`. */
  async prepareStream(p: StreamPreparation): Promise<void> {
    if (isTlsTransport(p.transport)) {
      if (this.#tls === undefined) {
        throw mgError('ERR_BEARER_UNSUPPORTED_TRANSPORT', `unsupported transport ${p.transport ?? '?'}: TLS is not available`, {
          transport: p.transport,
        });
      }
      await this.#tls.prepareStream?.(p);
    }
    // MSRP-aware transports: our a=path in Local, the peer's checked (daemon/bearer/msrp/sdp.ts)
    fillMsrpPath(p);
    const known = p.current !== undefined && this.#legs.has(p.current);
    if (!known && this.#legs.size >= this.settings.maxConnections) {
      this.#stats.limited++;
      throw mgError('ERR_RESOURCE_LIMIT', `TCP bearer limit reached (media.tcp.maxConnections = ${this.settings.maxConnections})`);
    }
  }

  contextChanged(ctx: Context): void {
    const byStream = new Map<number, TcpLeg[]>();
    const inCtx = new Set<TcpLeg>();
    for (const t of ctx.terminations.values()) {
      for (const s of t.streams.values()) {
        const existing = this.#legs.get(s);
        if (servedTransport(s) === undefined || s.closed) {
          // no longer a TCP stream (Modify changed the transport): its leg goes
          if (existing !== undefined) s.disown(existing);
          continue;
        }
        const leg = existing ?? this.#newLeg(t, s);
        inCtx.add(leg);
        const list = byStream.get(s.id);
        if (list === undefined) byStream.set(s.id, [leg]);
        else list.push(leg);
      }
    }
    // partners: the first two legs of each stream id; a partner that left the context is dropped
    for (const list of byStream.values()) {
      const [a, b] = list;
      for (const leg of list) {
        const want = leg === a ? b : leg === b ? a : undefined;
        if (leg.partner !== want) {
          if (leg.partner !== undefined && !inCtx.has(leg.partner)) leg.partner.unpair();
          leg.partner = want;
        }
      }
      if (list.length > 2) this.#log.warn({ ctx: ctx.id, legs: list.length }, 'more than two TCP terminations on one stream: the first two are relayed');
    }
    for (const leg of inCtx) leg.apply(ctx);
    for (const leg of inCtx) leg.kick();
  }

  contextDeleted(): void {
    // legs close with their streams (Subtract cascades); nothing is kept per context
  }

  async close(): Promise<void> {
    for (const leg of [...this.#legs.values()]) leg.destroy();
    this.#legs.clear();
    this.#flushBytes();
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    this.#flushTimer = undefined;
    await this.#tls?.close?.();
  }

  // ---- diagnostics -------------------------------------------------------------------------

  /** The leg of a stream (tests, diagnostics). */
  leg(stream: Stream): TcpLeg | undefined {
    return this.#legs.get(stream);
  }

  legs(): TcpLeg[] {
    return [...this.#legs.values()];
  }

  /** Bytes the relay holds now, all legs (held for a partner plus queued on sockets). */
  bufferedBytes(): number {
    let n = 0;
    for (const l of this.#legs.values()) n += l.bufferedBytes;
    return n;
  }

  get stats(): Readonly<TcpPlaneStats> {
    this.#stats.legs = this.#legs.size;
    this.#stats.connections = this.#connections;
    this.#stats.pending = this.#pending;
    return this.#stats;
  }

  // ---- internals ---------------------------------------------------------------------------

  #newLeg(t: Termination, s: Stream): TcpLeg {
    const leg = new TcpLeg(t, s, this.#host);
    this.#legs.set(s, leg);
    s.own(leg);
    if (this.#flushTimer === undefined && this.#metrics !== undefined) {
      // byte counters reach Prometheus once a second, not per chunk (no metric call on the packet path)
      this.#flushTimer = setInterval(() => this.#flushBytes(), 1000);
      this.#flushTimer.unref();
    }
    return leg;
  }

  #down(leg: TcpLeg, dir: Direction, cause: ReleaseCause): void {
    this.#connections = Math.max(0, this.#connections - 1);
    const realm = leg.termination.realm;
    this.#metrics?.tcpConnections.dec({ realm, direction: dir });
    this.#metrics?.tcpReleases.inc({ realm, reason: cause });
    this.#flushBytes();
  }

  #attempted(leg: TcpLeg, dir: Direction, result: AttemptResult): void {
    if (result === 'refused') this.#stats.refused++;
    else if (result === 'filtered') this.#stats.filtered++;
    else if (result === 'limit') this.#stats.limited++;
    else if (result === 'failed') this.#stats.failed++;
    this.#metrics?.tcpConnectionAttempts.inc({ realm: leg.termination.realm, direction: dir, result });
  }

  #flushBytes(): void {
    const m = this.#metrics;
    for (const [realm, t] of this.#tallies) {
      if (m !== undefined) {
        if (t.rx > 0) m.tcpBytes.inc({ realm, direction: 'rx' }, t.rx);
        if (t.tx > 0) m.tcpBytes.inc({ realm, direction: 'tx' }, t.tx);
      }
      t.rx = 0;
      t.tx = 0;
    }
    if (this.#legs.size === 0 && this.#flushTimer !== undefined) {
      clearInterval(this.#flushTimer);
      this.#flushTimer = undefined;
    }
  }
}
