/**
 * The UDP media plane (PROFILE §2, §3, §9, §10): RTP/RTCP relay for `RTP/AVP`, `RTP/AVPF`, and
 * `RTP/SAVP`/`RTP/SAVPF` without a=crypto (e2e: SRTP passes untouched, its headers are counted) or with
 * it (e2ae: the `security` option unprotects and protects on the legs, PROFILE §4), and
 * UDPTL relay for `udptl`, datagram for datagram. It turns the gateway model into legs of the Forwarder
 * (forwarder.ts) on every change of a context, and reports what the fast path finds (latching,
 * inactivity) as events on the termination.
 *
 * Mode mapping (H.248.1 §7.1.7: "'Send' and 'receive' are with respect to the exterior of the Context,
 * so that, for example, a stream set to mode=sendOnly does not pass received media into the Context"),
 * for media (RTP, UDPTL) received on termination A's stream s and termination B's stream s:
 *
 *   | A's mode    | what A receives from its exterior | A sends to its exterior |
 *   |-------------|-----------------------------------|-------------------------|
 *   | sendRecv    | into the context                  | yes                     |
 *   | sendOnly    | dropped (counted no_route)        | yes                     |
 *   | recvOnly    | into the context                  | no                      |
 *   | inactive    | dropped                           | no                      |
 *   | loopback    | echoed back to its source only    | only the echo           |
 *
 * A packet from A reaches B when A lets it into the context, B sends to its exterior, and the
 * topology lets it flow from A to B (`ctx.flows(A, B, s)`, H.248.1 §7.1.18). Streams are connected by
 * StreamID (H.248.1 §7.1.6) and only RTP to RTP, UDPTL to UDPTL.
 * RTCP is control, not media (RFC 3264 §5.1: RTCP is still sent on sendonly/recvonly streams): it is
 * relayed between A and B when neither is inactive or loopback and the topology lets media flow
 * either way between them; isolate stops it.
 *
 * Statistics (stream.counters, read by Subtract/AuditValue): nt/or, rtp/pr count the RTP (UDPTL)
 * packets received from an admitted source and their UDP payload octets, before mode and policing;
 * nt/os, rtp/ps what was sent out of the stream; RTCP is not in them. rtp/pl and rtp/jit come from
 * RFC 3550 A.1/A.3/A.8 on the received packets (clock rate from the Local a=rtpmap, else Remote's,
 * else the static table, else 8000). tmanr/dp, tmanr/do: what the policer dropped (octets as received; the
 * policer itself measures a secured packet without its security overhead).
 *
 * DSCP (`ds/dscp`): Node.js 20 has no way to set IP_TOS on a dgram socket, so the value is accepted
 * and stored but packets are not marked; each stream given one logs a warning once and counts
 * trgwd_dscp_unsupported_total.
 *
 * Threads (`media.workers`): contexts are spread over worker threads that own their sockets
 * (worker-forwarder.ts; with `media.workerMode: process` they are child processes, each with its own
 * open-file limit: relay-channel.ts), or, with 0 (the default for now), the relay runs on the main
 * thread (LocalForwarder). Measured
 * on the 2-core build machine, 500 two-party flows of 172-byte RTP on loopback from a C generator
 * (itself ~0.5 core at 150k pps): both cost 7-9 µs CPU per relayed packet and relay 150k packets/s
 * without loss; at 170k the main thread loses ~10%, the workers 0-8%; past that, on 2 cores shared
 * with the generator, both lose and the workers more. What decides is the control plane: at 150k pps
 * the main thread's event-loop delay (what an H.248 transaction waits behind) is p99 112 ms with the
 * relay on it, 4 ms with the relay on workers. The command layer awaits MediaGateway.mediaSettled()
 * before answering (settled() below), so a port handed to a worker is bound again before the reply
 * that names it, and what a Modify changed (Remote, mode, keys) is applied there before its reply.
 * Workers are not the default because of what they cost call setup (bench/control on a 2-vCPU VM:
 * ~1,500-1,600 against ~3,300 cycles/s): each command that changes a context sends a batch to
 * a worker and waits for its answer, and waking an idle worker costs tens of µs of CPU there. The
 * port handoff (bound here, closed, bound again by the worker) is the smaller part: a prototype in
 * which only the worker binds set up 17% more calls per second, still far from the main thread's rate.
 */
import { availableParallelism } from 'node:os';
import { SDP_ATTR, type SdpGroup, type SdpTransport } from '../../control/codec/sdp.js';
import type { StreamMode } from '../../control/codec/model.js';
import { TrgwdError, errorMessage } from '../../errors.js';
import type { Context } from '../../mg/context.js';
import type { MediaPlane, StreamPreparation } from '../../mg/media-plane.js';
import type { Closable } from '../../mg/resource.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import type { StoredProperty, StreamCounters } from '../../mg/types.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import type { TrgwdConfig } from '../../../config/schema.js';
import type { RtpPairLease, UdpPortLease } from '../ports.js';
import {
  CNT,
  DROP_BASE,
  DROP_REASONS,
  LocalForwarder,
  PROTOCOLS,
  SEC_BASE,
  SEC_LENGTH,
  epochNow,
  isPortable,
  type AnySecurity,
  type Endpoint,
  type Forwarder,
  type LegConfig,
  type LegKind,
  type LegSockets,
} from './forwarder.js';
import { canonicalAddress, parseSam, parseSpr } from './latch.js';
import { usableAddress } from '../tcp/roles.js';
import type { PolicerConfig } from './policer.js';
import { ShardedForwarder } from './worker-forwarder.js';
// pure SDP reading (no native code): which streams are e2ae SRTP
import { hasCryptoLine } from '../../tls/srtp/sdes.js';

const SERVED: ReadonlySet<SdpTransport> = new Set<SdpTransport>([
  'RTP/AVP',
  'RTP/AVPF',
  'RTP/SAVP',
  'RTP/SAVPF',
  'udptl',
]);
const SRTP: ReadonlySet<SdpTransport> = new Set<SdpTransport>(['RTP/SAVP', 'RTP/SAVPF']);

export const LATCH_EVENT = 'adr/ipcha';
export const STOP_EVENT = 'adid/ipstop';
export const QUALITY_EVENT = 'nt/qualert';

/**
 * SRTP termination (e2ae, PROFILE §4: tls/srtp/e2ae.ts) plugs in here: streams of RTP/SAVP(F) with
 * a=crypto are handed to it. Without one, such a stream is refused (449) rather than relayed with keys
 * nobody applies.
 */
export interface UdpStreamSecurity {
  /** Fills the `$` values it owns (inline:$) and checks a=crypto; throws a TrgwdError to fail the command. */
  prepareStream(p: StreamPreparation): void | Promise<void>;
  /**
   * The leg's security after a change (undefined: none); `current` is what the leg has now, `counters`
   * the leg's (CNT: the transforms count failures there, wherever the leg runs).
   */
  legSecurity(
    stream: Stream,
    termination: Termination,
    current: AnySecurity | undefined,
    counters: Float64Array | undefined,
  ): AnySecurity | undefined;
  /** The security block (SEC_BASE..) of a realm's totals since the last flush, summed over threads. */
  addTotals?(block: Float64Array): void;
  /** With the plane (after its legs). */
  close?(): void;
}

export interface UdpMediaPlaneOptions {
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** Default: a LocalForwarder on this thread. */
  readonly forwarder?: Forwarder;
  /** `media.inactivityTimeoutMs` (0: off unless adid/ipstop gives `dt`). */
  readonly inactivityTimeoutMs?: number;
  /** `media.relatchPackets`. */
  readonly relatchPackets?: number;
  /** `media.statsFlushMs`. */
  readonly statsFlushMs?: number;
  readonly security?: UdpStreamSecurity;
}

interface Watch {
  readonly event: typeof STOP_EVENT | typeof QUALITY_EVENT;
  readonly ms: number;
  readonly dir: 'in' | 'out' | 'both';
  readonly params: Readonly<Record<string, number>>;
}

/** The plane's record of one leg (one stream it serves). */
class LegRecord implements Closable {
  readonly id: number;
  readonly stream: Stream;
  termination: Termination;
  readonly lease: RtpPairLease | UdpPortLease;
  kind: LegKind;
  realm: string;
  security: AnySecurity | undefined;
  /** The forwarder's counters of this leg (CNT). */
  view: Float64Array | undefined;
  /** Undoes attachStreamCounters(). */
  detach: (() => void) | undefined;
  watch: Watch | undefined;
  /** Epoch ms when the inactivity watch (re)started. */
  watchFrom = 0;
  /** Inactivity reported, waiting for media to resume. */
  quiet = false;
  dscpWarned = false;
  #closed = false;
  readonly #onClose: (r: LegRecord) => void;

  constructor(
    id: number,
    stream: Stream,
    termination: Termination,
    lease: RtpPairLease | UdpPortLease,
    cfg: LegConfig,
    onClose: (r: LegRecord) => void,
  ) {
    this.id = id;
    this.stream = stream;
    this.termination = termination;
    this.lease = lease;
    this.kind = cfg.kind;
    this.realm = cfg.realm;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
  }
}

function prop(props: readonly StoredProperty[], name: string): StoredProperty['value'] | undefined {
  const lower = name.toLowerCase();
  return props.find((p) => p.name.toLowerCase() === lower)?.value;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The transport of a stream's Local (else Remote) m= line. */
export function streamTransport(s: {
  local?: SdpGroup[] | undefined;
  remote?: SdpGroup[] | undefined;
}): SdpTransport | undefined {
  return (s.local?.[0] ?? s.remote?.[0])?.media[0]?.transport;
}

function hasMux(g: SdpGroup | undefined): boolean {
  const m = g?.media[0];
  if (g === undefined || m === undefined) return false;
  return m.hasAttribute('rtcp-mux') || g.session.hasAttribute('rtcp-mux');
}

/** A unicast address we can send to: an IP literal other than the unspecified address (hold). */

/** Remote RTP (UDPTL) and RTCP endpoints; undefined where the SDP gives none we can send to. */
export function remoteEndpoints(g: SdpGroup | undefined): { media?: Endpoint; rtcp?: Endpoint } {
  const m = g?.media[0];
  if (g === undefined || m === undefined) return {};
  const c = g.effectiveConnection(m);
  if (typeof m.port !== 'number' || m.port === 0 || !usableAddress(c?.address)) return {};
  const media = { address: canonicalAddress(c.address), port: m.port };
  // RFC 3605 a=rtcp (port, optionally address), else the next port (RFC 3550 §11)
  const attr = m.get(SDP_ATTR.rtcp) ?? g.session.get(SDP_ATTR.rtcp);
  let rtcp: Endpoint | undefined;
  if (attr !== undefined && typeof attr.port === 'number' && attr.port !== 0) {
    rtcp = {
      address: usableAddress(attr.address) ? canonicalAddress(attr.address) : media.address,
      port: attr.port,
    };
  } else if (m.port < 65535) {
    rtcp = { address: media.address, port: m.port + 1 };
  }
  return rtcp !== undefined ? { media, rtcp } : { media };
}

/** pt → clock rate from the a=rtpmap lines of a group's m= section. */
function clockRatesOf(g: SdpGroup | undefined): Map<number, number> {
  const out = new Map<number, number>();
  const m = g?.media[0];
  if (m === undefined) return out;
  for (const r of m.rtpmaps()) out.set(r.pt, r.clockRate);
  return out;
}

/** tman policing of a leg (PROFILE §9) from LocalControl; shared with the DTLS/UDPTL plane. */
export function policerOf(props: readonly StoredProperty[]): PolicerConfig | undefined {
  if (prop(props, 'tman/pol') !== true) return undefined;
  const sdr = num(prop(props, 'tman/sdr'));
  if (sdr === undefined || sdr <= 0) return undefined;
  return {
    sdr,
    mbs: num(prop(props, 'tman/mbs')),
    pdr: num(prop(props, 'tman/pdr')),
    dvt: num(prop(props, 'tman/dvt')),
  };
}

/** H.248.1 §7.1.7: the stream lets media from its exterior into the context / sends media out. */
export const acceptsIn = (m: StreamMode): boolean => m === 'sendRecv' || m === 'recvOnly';
export const sendsOut = (m: StreamMode): boolean => m === 'sendRecv' || m === 'sendOnly';
const carriesRtcp = (m: StreamMode): boolean => m !== 'inactive' && m !== 'loopback';

/**
 * Makes a stream's statistics read a leg's counters (Forwarder.addLeg's view, on any thread) through
 * stream.counterSource: what the stream counted before (an earlier leg on other ports) plus what this
 * leg counts. Returns the detach function: the last numbers stay in the stream as plain values.
 * For every plane whose legs run in the Forwarder (this one, the DTLS/UDPTL plane).
 */
export function attachStreamCounters(s: Stream, view: Float64Array): () => void {
  const base = { ...s.counters };
  const sync = (c: StreamCounters): void => {
    c.octetsSent = base.octetsSent + view[CNT.octetsSent]!;
    c.octetsReceived = base.octetsReceived + view[CNT.octetsReceived]!;
    c.packetsSent = base.packetsSent + view[CNT.packetsSent]!;
    c.packetsReceived = base.packetsReceived + view[CNT.packetsReceived]!;
    c.packetsLost = base.packetsLost + view[CNT.packetsLost]!;
    c.jitterMs =
      view[CNT.packetsReceived]! > 0 ? Math.round(view[CNT.jitterMs]! * 1000) / 1000 : base.jitterMs;
    c.policedPackets = base.policedPackets + view[CNT.policedPackets]!;
    c.policedOctets = base.policedOctets + view[CNT.policedOctets]!;
  };
  s.counterSource = sync;
  return () => {
    if (s.counterSource !== sync) return;
    void s.counters; // one last read brings the final numbers in
    s.counterSource = undefined;
  };
}

/**
 * The forwarder `media.workers` asks for: workers (-1: one per core), or the main thread (0); the
 * workers are threads or child processes as `media.workerMode` says.
 */
export function udpForwarder(config: TrgwdConfig, realms: readonly string[], log?: Logger): Forwarder {
  const n = config.media.workers < 0 ? availableParallelism() : config.media.workers;
  if (n === 0) return new LocalForwarder();
  return new ShardedForwarder({
    workers: n,
    mode: config.media.workerMode,
    realms,
    ...(log !== undefined ? { log } : {}),
  });
}

export class UdpMediaPlane implements MediaPlane {
  readonly name = 'udp';
  readonly forwarder: Forwarder;
  readonly #log: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #inactivityMs: number;
  readonly #relatchPackets: number;
  readonly #security: UdpStreamSecurity | undefined;
  readonly #legs = new Map<Stream, LegRecord>();
  readonly #byId = new Map<number, LegRecord>();
  /** Legs with an inactivity watch (checked on the watch timer; usually few). */
  readonly #watched = new Set<LegRecord>();
  /** Watched legs set since the last #armWatch() (their timeouts may need a finer tick). */
  readonly #pendingWatch = new Set<LegRecord>();
  readonly #kinds = { rtp: 0, udptl: 0 };
  #nextId = 1;
  readonly #flushTimer: NodeJS.Timeout | undefined;
  #watchTimer: NodeJS.Timeout | undefined;
  #watchTick = 0;
  #closed = false;

  constructor(options: UdpMediaPlaneOptions = {}) {
    this.#log = options.log ?? silentLogger();
    this.#metrics = options.metrics;
    this.#inactivityMs = options.inactivityTimeoutMs ?? 0;
    this.#relatchPackets = Math.max(1, options.relatchPackets ?? 3);
    this.#security = options.security;
    this.forwarder = options.forwarder ?? new LocalForwarder();
    this.forwarder.setListener({
      latched: (id, socket, address, port, relatch) => this.#latched(id, socket, address, port, relatch),
    });
    this.#log.info(
      {
        where: this.forwarder.where,
        inactivityTimeoutMs: this.#inactivityMs,
        relatchPackets: this.#relatchPackets,
      },
      'udp relay ready',
    );
    if (this.#metrics !== undefined) {
      for (const p of ['rtp', 'udptl']) this.#metrics.mediaStreams.set({ protocol: p }, 0);
      this.#flushTimer = setInterval(() => this.flushMetrics(), options.statsFlushMs ?? 1000);
      this.#flushTimer.unref();
    }
  }

  serves(transport: SdpTransport): boolean {
    return SERVED.has(transport);
  }

  /** Streams with a leg now (tests, diagnostics). */
  get legCount(): number {
    return this.#legs.size;
  }

  /** The forwarder's leg id of a stream, if it has one. */
  legOf(stream: Stream): number | undefined {
    return this.#legs.get(stream)?.id;
  }

  /** Epoch ms of the last media packet a stream received (-1: none; undefined: no leg). */
  lastReceived(stream: Stream): number | undefined {
    return this.#legs.get(stream)?.view?.[CNT.lastRx];
  }

  // ---- MediaPlane -----------------------------------------------------------------------------

  async prepareStream(p: StreamPreparation): Promise<void> {
    // worker threads start with the gateway; the first stream waits for them rather than lose media
    if (this.forwarder.ready !== undefined) await this.forwarder.ready;
    const props = p.properties;
    const remote = p.remote ?? p.current?.remote;
    const local = p.local ?? p.current?.local;
    // values the fast path will rely on: refuse them now (449/472), not silently later
    if (prop(props, 'gm/saf') === true) {
      const sam = str(prop(props, 'gm/sam'));
      if (sam !== undefined) parseSam(sam, remoteEndpoints(remote?.[0]).media?.address ?? '0.0.0.0');
    }
    const spr = str(prop(props, 'gm/spr'));
    if (spr !== undefined) parseSpr(spr);
    if (prop(props, 'tman/pol') === true && !(num(prop(props, 'tman/sdr'))! > 0)) {
      throw new TrgwdError(
        'ERR_MG_REQUIRED_INFO_MISSING',
        'tman/pol=on needs tman/sdr (bytes/s) greater than 0',
      );
    }
    if (p.transport !== undefined && SRTP.has(p.transport) && (hasCryptoLine(local) || hasCryptoLine(remote))) {
      if (this.#security === undefined) {
        throw new TrgwdError(
          'ERR_BEARER_UNSUPPORTED_TRANSPORT',
          `${p.transport} with a=crypto (SRTP termination) is not available; without a=crypto SRTP is relayed end to end`,
          { details: { transport: p.transport } },
        );
      }
      await this.#security.prepareStream(p);
    }
  }

  contextChanged(ctx: Context): void {
    if (this.#closed) return;
    const legs: LegRecord[] = [];
    for (const t of ctx.terminations.values()) {
      for (const s of t.streams.values()) {
        try {
          const rec = this.#reconcile(s, t);
          if (rec !== undefined) legs.push(rec);
        } catch (e) {
          // never throw into the model: count and log, the stream just does not relay
          t.log.error({ stream: s.id, err: errorMessage(e) }, 'udp relay: stream not configured');
        }
      }
    }
    for (const a of legs) {
      const media: number[] = [];
      const rtcp: number[] = [];
      for (const b of legs) {
        if (b === a || b.termination === a.termination || b.stream.id !== a.stream.id || b.kind !== a.kind)
          continue;
        const ab = ctx.flows(a.termination.id, b.termination.id, a.stream.id);
        if (ab && acceptsIn(a.stream.mode) && sendsOut(b.stream.mode)) media.push(b.id);
        if (a.kind === 'rtp' && carriesRtcp(a.stream.mode) && carriesRtcp(b.stream.mode)) {
          if (ab || ctx.flows(b.termination.id, a.termination.id, a.stream.id)) rtcp.push(b.id);
        }
      }
      this.forwarder.setTargets(a.id, media, rtcp);
    }
    this.#gauges();
    this.#armWatch();
  }

  /** MediaPlane.settled: the forwarder's legs listen on (or let go of) their ports. */
  settled(): Promise<void> {
    return this.forwarder.settled?.() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const rec of [...this.#legs.values()]) rec.close();
    await this.forwarder.close();
    this.#security?.close?.();
    if (this.#flushTimer !== undefined) clearInterval(this.#flushTimer);
    if (this.#watchTimer !== undefined) clearInterval(this.#watchTimer);
    this.flushMetrics();
  }

  // ---- legs -----------------------------------------------------------------------------------

  /** Brings one stream's leg in line with the model; returns it, or undefined if it has none. */
  #reconcile(s: Stream, t: Termination): LegRecord | undefined {
    let rec = this.#legs.get(s);
    const transport = streamTransport(s);
    const port = s.ports.find((p) => p.kind === 'rtp' || p.kind === 'udp');
    const lease = port?.lease as RtpPairLease | UdpPortLease | undefined;
    if (
      s.closed ||
      transport === undefined ||
      !SERVED.has(transport) ||
      lease === undefined ||
      lease.released
    ) {
      if (rec !== undefined) {
        if (!s.closed && lease === rec.lease && !lease.released && this.forwarder.rebinds) {
          // the lease stays with the stream for another plane, but its sockets went to a relay worker
          t.log.warn(
            { stream: s.id, transport },
            'udp relay: this stream’s ports were bound by a relay worker; the new transport cannot reuse them',
          );
        }
        s.disown(rec);
      }
      return undefined;
    }
    if (rec !== undefined && rec.lease !== lease) {
      // the ports changed (new transport or realm): a new leg on the new sockets
      s.disown(rec);
      rec = undefined;
    }
    const cfg = this.#configOf(s, port!.realm, transport, t.context?.id ?? 0);
    if (rec === undefined) {
      const id = this.#nextId++;
      // the PortManager binds explicit ports: the sockets may be connected to a latched source
      const sockets: LegSockets =
        lease.kind === 'rtp-pair'
          ? {
              rtp: lease.rtp,
              rtcp: lease.rtcp,
              connectable: true,
              bound: { address: lease.address, rtp: lease.rtpPort, rtcp: lease.rtcpPort },
            }
          : { rtp: lease.socket, connectable: true, bound: { address: lease.address, rtp: lease.port } };
      // the forwarder first: if it cannot take the leg (shared memory for worker processes), nothing
      // is recorded that no one would drop
      const view = this.forwarder.addLeg(id, sockets, cfg);
      rec = new LegRecord(id, s, t, lease, cfg, (r) => this.#dropLeg(r));
      this.#kinds[cfg.kind]++;
      this.#legs.set(s, rec);
      this.#byId.set(id, rec);
      this.#attachCounters(rec, view);
      s.own(rec);
      rec.watchFrom = epochNow();
    } else {
      rec.termination = t;
      if (rec.kind !== cfg.kind) {
        this.#kinds[rec.kind]--;
        this.#kinds[cfg.kind]++;
      }
      rec.kind = cfg.kind;
      rec.realm = cfg.realm;
      this.forwarder.configure(rec.id, cfg);
    }
    const secured =
      this.#security !== undefined && SRTP.has(transport) && (hasCryptoLine(s.local) || hasCryptoLine(s.remote));
    this.#secure(rec, secured ? this.#security!.legSecurity(s, t, rec.security, rec.view) : undefined);
    this.#setWatch(rec, t);
    if (!rec.dscpWarned && s.property('ds/dscp') !== undefined) {
      rec.dscpWarned = true;
      this.#metrics?.dscpUnsupported.inc();
      t.log.warn(
        { stream: s.id, dscp: s.property('ds/dscp')?.value },
        'ds/dscp not applied: Node.js cannot set the IP TOS of a UDP socket; packets go unmarked',
      );
    }
    return rec;
  }

  #attachCounters(rec: LegRecord, view: Float64Array): void {
    rec.view = view;
    rec.detach = attachStreamCounters(rec.stream, view);
  }

  #detachCounters(rec: LegRecord): void {
    rec.detach?.();
    rec.detach = undefined;
  }

  #configOf(s: Stream, realm: string, transport: SdpTransport, group: number): LegConfig {
    const props = s.properties;
    const kind: LegKind = transport === 'udptl' ? 'udptl' : 'rtp';
    const remoteGroup = s.remote?.[0];
    const localGroup = s.local?.[0];
    const ends = remoteEndpoints(remoteGroup);
    const remoteMux = hasMux(remoteGroup);
    const localMux = hasMux(localGroup);
    const muxTx = kind === 'rtp' && remoteMux && (localMux || localGroup === undefined);
    const rlatch = prop(props, 'ipnapt/rlatch') === true;
    const latch = rlatch || prop(props, 'ipnapt/latch') === true;
    const saf = prop(props, 'gm/saf') === true;
    const spf = prop(props, 'gm/spf') === true;
    let admitNone = false;
    let sourceAddress: LegConfig['sourceAddress'];
    if (saf) {
      sourceAddress = parseSam(str(prop(props, 'gm/sam')), ends.media?.address);
      if (sourceAddress === undefined) admitNone = true;
    } else if (!latch) {
      if (ends.media !== undefined) sourceAddress = { kind: 'exact', address: ends.media.address };
      else admitNone = true;
    }
    let sourcePorts: readonly [number, number] | undefined;
    let sourceRtcpPorts: readonly [number, number] | undefined;
    if (spf) {
      const spr = str(prop(props, 'gm/spr'));
      if (spr !== undefined) {
        sourcePorts = parseSpr(spr);
        sourceRtcpPorts = sourcePorts;
      } else {
        // without a range: the Remote ports themselves (none known: nothing passes)
        sourcePorts = ends.media !== undefined ? [ends.media.port, ends.media.port] : [1, 0];
        const r = muxTx ? ends.media : ends.rtcp;
        sourceRtcpPorts = r !== undefined ? [r.port, r.port] : [1, 0];
      }
    }
    const clockRates = clockRatesOf(localGroup);
    if (clockRates.size === 0) for (const [pt, r] of clockRatesOf(remoteGroup)) clockRates.set(pt, r);
    return {
      kind,
      group,
      realm,
      mode: s.mode,
      remote: ends.media,
      remoteRtcp: muxTx ? ends.media : ends.rtcp,
      rtcpMuxRx: kind === 'rtp' && (localMux || remoteMux),
      rtcpMuxTx: muxTx,
      latch,
      rlatch,
      relatchPackets: this.#relatchPackets,
      sourceAddress,
      admitNone,
      sourcePorts,
      sourceRtcpPorts,
      policer: policerOf(props),
      clockRates,
    };
  }

  /** The leg's security becomes `sec`; plain transforms it replaces are ours to close (portable ones the forwarder built and frees). */
  #secure(rec: LegRecord, sec: AnySecurity | undefined, tellForwarder = true): void {
    const prev = rec.security;
    if (sec === prev) return;
    rec.security = sec;
    if (tellForwarder) this.forwarder.setSecurity(rec.id, sec);
    if (!isPortable(prev)) prev?.close?.();
  }

  #dropLeg(rec: LegRecord): void {
    this.#detachCounters(rec);
    if (this.#legs.get(rec.stream) === rec) this.#legs.delete(rec.stream);
    this.#byId.delete(rec.id);
    this.#watched.delete(rec);
    this.#pendingWatch.delete(rec);
    this.#kinds[rec.kind]--;
    const gone = this.forwarder.removeLeg(rec.id); // it frees the transforms it built
    this.#secure(rec, undefined, false);
    // a worker still has the ports bound: they go back to the PortManager once it let go of them
    if (gone !== undefined) rec.stream.lingerPorts(gone);
    this.#gauges();
  }

  #gauges(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    m.mediaStreams.set({ protocol: 'rtp' }, this.#kinds.rtp);
    m.mediaStreams.set({ protocol: 'udptl' }, this.#kinds.udptl);
  }

  // ---- events from the fast path ---------------------------------------------------------------

  #latched(id: number, socket: 'rtp' | 'rtcp', address: string, port: number, relatch: boolean): void {
    const rec = this.#byId.get(id);
    if (rec === undefined) return;
    this.#metrics?.mediaLatches.inc({ realm: rec.realm, result: relatch ? 'relatched' : 'latched' });
    rec.termination.log.info(
      { stream: rec.stream.id, socket, address, port, relatch },
      relatch ? 'stream re-latched' : 'stream latched',
    );
    // adr/ipcha reports where the media goes now; RTCP follows without its own report
    if (socket === 'rtp') rec.termination.raise(LATCH_EVENT, { addr: address, port }, rec.stream.id);
  }

  // ---- inactivity (PROFILE §10) -----------------------------------------------------------------

  #setWatch(rec: LegRecord, t: Termination): void {
    const stop = t.requested(STOP_EVENT);
    let watch: Watch | undefined;
    if (stop !== undefined) {
      const ms = num(stop.params['dt']) ?? this.#inactivityMs;
      const dir = stop.params['dir'];
      if (ms > 0)
        watch = { event: STOP_EVENT, ms, dir: dir === 'out' || dir === 'both' ? dir : 'in', params: {} };
    } else {
      const q = t.requested(QUALITY_EVENT);
      if (q !== undefined && this.#inactivityMs > 0) {
        const th = num(q.params['th']);
        watch = {
          event: QUALITY_EVENT,
          ms: this.#inactivityMs,
          dir: 'in',
          params: th !== undefined ? { th } : {},
        };
      }
    }
    const prev = rec.watch;
    if (prev?.ms !== watch?.ms || prev?.event !== watch?.event || prev?.dir !== watch?.dir) {
      rec.watch = watch;
      rec.watchFrom = epochNow();
      rec.quiet = false;
    }
    if (watch !== undefined) {
      this.#watched.add(rec);
      this.#pendingWatch.add(rec);
    } else {
      this.#watched.delete(rec);
    }
  }

  /**
   * Runs the watch timer while some leg is watched, ticking a few times per shortest timeout (reported
   * at most a quarter of it late). Only a shorter timeout re-arms it: a tick finer than needed is
   * harmless, and recomputing the minimum would cost O(legs) per change.
   */
  #armWatch(): void {
    if (this.#watched.size === 0) {
      if (this.#watchTimer !== undefined) clearInterval(this.#watchTimer);
      this.#watchTimer = undefined;
      this.#watchTick = 0;
      return;
    }
    let min = Infinity;
    for (const r of this.#pendingWatch) if (r.watch !== undefined) min = Math.min(min, r.watch.ms);
    this.#pendingWatch.clear();
    const tick = Math.max(20, Math.min(1000, Math.floor(min / 4)));
    if (this.#watchTimer !== undefined && tick >= this.#watchTick) return;
    if (this.#watchTimer !== undefined) clearInterval(this.#watchTimer);
    this.#watchTick = tick;
    this.#watchTimer = setInterval(() => this.checkInactivity(), tick);
    this.#watchTimer.unref();
  }

  /** Reports streams without media for their watch time (runs on a timer; tests may call it). */
  checkInactivity(now = epochNow()): void {
    for (const rec of this.#watched) {
      const w = rec.watch;
      if (w === undefined || rec.view === undefined || rec.stream.mode === 'inactive') continue;
      const rx = rec.view[CNT.lastRx]!;
      const tx = rec.view[CNT.lastTx]!;
      const seen = w.dir === 'in' ? rx : w.dir === 'out' ? tx : Math.max(rx, tx);
      const last = Math.max(seen, rec.watchFrom);
      if (rec.quiet) {
        // media came back: watch again
        if (seen > rec.watchFrom) {
          rec.quiet = false;
          rec.watchFrom = seen;
        }
        continue;
      }
      if (now - last >= w.ms) {
        rec.quiet = true;
        rec.watchFrom = now;
        this.#metrics?.mediaInactivity.inc({ realm: rec.realm });
        rec.termination.log.info({ stream: rec.stream.id, ms: w.ms, dir: w.dir }, 'no media on stream');
        rec.termination.raise(w.event, w.params, rec.stream.id);
      }
    }
  }

  // ---- metrics ----------------------------------------------------------------------------------

  /** Adds what the fast path counted since the last flush to the Prometheus counters. */
  flushMetrics(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    this.forwarder.drainTotals((realm, t) => {
      for (let p = 0; p < PROTOCOLS.length; p++) {
        for (let d = 0; d < 2; d++) {
          const i = p * 4 + d * 2;
          const labels = { realm, protocol: PROTOCOLS[p]!, direction: d === 0 ? 'rx' : 'tx' };
          if (t[i]! > 0) m.mediaPackets.inc(labels, t[i]!);
          if (t[i + 1]! > 0) m.mediaBytes.inc(labels, t[i + 1]!);
        }
      }
      for (let r = 0; r < DROP_REASONS.length; r++) {
        const n = t[DROP_BASE + r]!;
        if (n > 0) m.mediaDropped.inc({ realm, reason: DROP_REASONS[r]! }, n);
      }
      this.#security?.addTotals?.(t.subarray(SEC_BASE, SEC_BASE + SEC_LENGTH));
    });
  }
}
