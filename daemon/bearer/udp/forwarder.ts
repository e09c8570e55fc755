/**
 * The UDP fast path: RTP/RTCP and UDPTL datagrams from one stream's sockets to the streams its context
 * connects it to. Everything per packet happens here and nowhere else (ARCHITECTURE: "the forwarding
 * path sits behind one interface"): the media plane (udp-plane.ts) turns the gateway model into
 * `LegConfig`s and target lists, the Forwarder moves bytes.
 *
 * A leg is one stream of one termination: its bound socket(s) (the port lease's: RTP and RTCP, or one
 * UDPTL socket), where it sends (Remote, or the latched source), who may send to it, its mode, policer
 * and statistics. Per packet:
 *
 *   receive → (RTCP demux on a muxed port, RFC 5761 §4) → header check → source check → optional
 *   inbound transform (SRTP hook: only an authenticated packet goes further) → latch → statistics →
 *   [loopback: echo to the source] → policer → each target leg: optional outbound transform → send
 *   from the target's socket to its destination
 *
 * Rules of the path: no throw, no log, no allocation of our own (Node allocates the Buffer and rinfo of
 * each datagram; we forward that same Buffer), counters are plain numbers (stream counters for H.248
 * statistics, per-realm Float64Arrays for Prometheus, drained by the plane on a timer).
 *
 * Threads: LocalForwarder runs on the thread that owns the sockets. The interface speaks leg ids and
 * plain (structured-cloneable) data, and a leg's counters are a Float64Array view (CNT indices) that
 * may live in a SharedArrayBuffer, so ShardedForwarder (worker-forwarder.ts) runs LocalForwarders in
 * worker threads behind the same interface.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { StreamMode } from '../../control/codec/model.js';
import { addressMatches, compileMatch, type AddressMatch, type CompiledMatch } from './latch.js';
import { Policer, type PolicerConfig } from './policer.js';
import {
  clockTable,
  isRtcpOnMux,
  isValidRtcp,
  isValidRtp,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
} from './rtp.js';
import { RtpReceiveStats } from './stats.js';

export type LegKind = 'rtp' | 'udptl';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Everything a leg needs to know about its stream; plain data. */
export interface LegConfig {
  readonly kind: LegKind;
  /** Legs that may send to each other share a group (the context id): a sharded forwarder keeps a group on one thread. */
  readonly group: number;
  /** Realm of the leg's ports (metrics label). */
  readonly realm: string;
  readonly mode: StreamMode;
  /** Where to send RTP/UDPTL when not latched; undefined: nowhere (no Remote, port 0, c=0.0.0.0). */
  readonly remote?: Endpoint | undefined;
  /** Where to send RTCP when not latched (a=rtcp, port + 1, or the RTP endpoint when muxed). */
  readonly remoteRtcp?: Endpoint | undefined;
  /** RTCP may arrive on the RTP port (Local or Remote has a=rtcp-mux). */
  readonly rtcpMuxRx: boolean;
  /** RTCP is sent to the RTP endpoint from the RTP socket (both sides agreed on a=rtcp-mux). */
  readonly rtcpMuxTx: boolean;
  readonly latch: boolean;
  readonly rlatch: boolean;
  /** Consecutive valid packets from a new source before re-latching to it. */
  readonly relatchPackets: number;
  /** Address rule (latch.ts): gm/saf, else the Remote address when not latching; undefined: any. */
  readonly sourceAddress?: AddressMatch | undefined;
  /** Without latching and without an address rule, admit nothing (no Remote known yet). */
  readonly admitNone?: boolean;
  /** gm/spf port ranges, RTP and RTCP sockets; undefined: any port. */
  readonly sourcePorts?: readonly [number, number] | undefined;
  readonly sourceRtcpPorts?: readonly [number, number] | undefined;
  readonly policer?: PolicerConfig | undefined;
  /** a=rtpmap clock rates of the received payload types (pt → Hz). */
  readonly clockRates?: ReadonlyMap<number, number>;
}

/**
 * Media security on a leg (e2ae SRTP/SRTCP termination, tls/srtp/e2ae.ts): its per-packet transforms.
 * Called on the packet path: never throws. A leg with security unprotects what it receives before it
 * counts, polices (so policing sees the packet without the security overhead, PROFILE §9) or latches
 * to it: a new source is only latched to once a packet from it authenticated.
 */
export interface LegSecurity {
  /** Unprotects a received packet in place; returns its new length, or < 0 to drop it (counted by the hook). */
  inbound(buf: Buffer, len: number, rtcp: boolean): number;
  /** Protects a packet about to be sent from this leg; returns what to send (not `buf`), or undefined to drop. */
  outbound(buf: Buffer, len: number, rtcp: boolean): Buffer | undefined;
  /** Frees what the transforms hold; called by the owner when it replaces or removes them. */
  close?(): void;
}

/** A structured-cloneable description of a leg's security; `kind` names its builder (worker-security.ts). */
export interface SecuritySpec {
  readonly kind: string;
}

/** What a transform reports besides packets (rare: key lifetimes, setup errors, contexts opened). */
export interface SecurityEvent {
  readonly kind: string;
  readonly dir?: 'in' | 'out' | undefined;
  readonly key?: number | undefined;
  readonly delta?: number | undefined;
  readonly message?: string | undefined;
}

/** Where transforms count and report: the leg they serve (its CNT counters, its realm's totals). */
export interface TransformEnv {
  /** The leg's counters (CNT: securityAuthFail, securityReplay). */
  readonly cnt: Float64Array;
  /** The leg's realm totals (TOTALS layout; the security block at SEC_BASE). */
  readonly totals: Float64Array;
  event(e: SecurityEvent): void;
}

/**
 * Security that can run on any thread: the forwarder running the leg builds the transforms (build)
 * where the sockets are, from the spec when that is another thread; their events come back to
 * onEvent on the owner's thread. The forwarder owns the transforms it built and closes them.
 */
export interface PortableSecurity {
  readonly spec: SecuritySpec;
  /** The transforms, on this thread; they take over from `prev` (the leg's current ones) what stays. */
  build(prev: LegSecurity | undefined, env: TransformEnv): LegSecurity;
  onEvent(e: SecurityEvent): void;
}

export function isPortable(s: LegSecurity | PortableSecurity | undefined): s is PortableSecurity {
  return s !== undefined && 'spec' in s;
}

export interface LegSockets {
  /** RTP (or the one UDPTL) socket. */
  readonly rtp: Socket;
  /** RTCP socket of an RTP pair. */
  readonly rtcp?: Socket | undefined;
  /**
   * The sockets were bound to an explicit port (the PortManager's are), so they may be connect()ed to
   * a latched source and disconnected again: Linux keeps an explicitly bound port across a
   * disconnect, but drops a port the kernel chose (bind to 0). Default false: never connected.
   */
  readonly connectable?: boolean | undefined;
  /**
   * Not the bound sockets of a port (e.g. the DTLS plane's shim that feeds decrypted UDPTL in and
   * encrypts what is sent), so they cannot move to another thread: the leg, and its group, run on the
   * thread that added it (the main thread).
   */
  readonly pinned?: boolean | undefined;
  /**
   * Where the sockets are bound, when the caller knows it (a PortManager lease does): a forwarder that
   * rebinds the ports on another thread then asks no socket for its address.
   */
  readonly bound?: { readonly address: string; readonly rtp: number; readonly rtcp?: number | undefined } | undefined;
}

/**
 * A leg's counters: a Float64Array of CNT_SLOTS numbers the fast path writes and the owner reads
 * (stream statistics, inactivity). lastRx/lastTx are epoch ms (performance.timeOrigin + now, so they
 * compare across threads); -1: never.
 */
export const CNT = Object.freeze({
  octetsSent: 0,
  octetsReceived: 1,
  packetsSent: 2,
  packetsReceived: 3,
  packetsLost: 4,
  jitterMs: 5,
  policedPackets: 6,
  policedOctets: 7,
  lastRx: 8,
  lastTx: 9,
  /** Packets whose authentication failed (srtp/af). */
  securityAuthFail: 10,
  /** Replayed or too old packets (srtp/rf). */
  securityReplay: 11,
});
export const CNT_SLOTS = 12;

export function newLegCounters(): Float64Array {
  const c = new Float64Array(CNT_SLOTS);
  c[CNT.lastRx] = -1;
  c[CNT.lastTx] = -1;
  return c;
}

/** Epoch ms now, comparable with lastRx/lastTx written on any thread. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

const ORIGIN = performance.timeOrigin;
const C_OS = CNT.octetsSent;
const C_OR = CNT.octetsReceived;
const C_PS = CNT.packetsSent;
const C_PR = CNT.packetsReceived;
const C_PL = CNT.packetsLost;
const C_JIT = CNT.jitterMs;
const C_DP = CNT.policedPackets;
const C_DO = CNT.policedOctets;
const C_RX = CNT.lastRx;
const C_TX = CNT.lastTx;

/** Drop reasons (metric label `reason`). */
export const DROP_REASONS = [
  'malformed',
  'source',
  'policed',
  'no_route',
  'no_destination',
  'send_error',
  'security',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export const PROTOCOLS = ['rtp', 'rtcp', 'udptl'] as const;
export type MediaProtocol = (typeof PROTOCOLS)[number];

/**
 * Per-realm totals for Prometheus, in one Float64Array: for protocol p (PROTOCOLS index) and direction
 * d (0 rx, 1 tx), packets at `4p + 2d` and bytes at `4p + 2d + 1`; drops by reason at `DROP_BASE + r`;
 * then SEC_LENGTH numbers the security transforms count in (their layout: tls/srtp/transform.ts), so
 * they reach the owner the way the rest does, from any thread.
 */
export const DROP_BASE = PROTOCOLS.length * 4;
export const SEC_BASE = DROP_BASE + DROP_REASONS.length;
export const SEC_LENGTH = 12;
export const TOTALS_LENGTH = SEC_BASE + SEC_LENGTH;
const P_RTP = 0;
const P_RTCP = 1;
const P_UDPTL = 2;
const D_MALFORMED = DROP_BASE + 0;
const D_SOURCE = DROP_BASE + 1;
const D_POLICED = DROP_BASE + 2;
const D_NO_ROUTE = DROP_BASE + 3;
const D_NO_DEST = DROP_BASE + 4;
const D_SEND_ERROR = DROP_BASE + 5;
const D_SECURITY = DROP_BASE + 6;

/** What the forwarder tells its owner (rare events; allocation is fine here). */
export interface ForwarderListener {
  /** A leg latched (first packet) or re-latched to a new source. */
  latched?(id: number, socket: 'rtp' | 'rtcp', address: string, port: number, relatch: boolean): void;
}

/** A leg's security: portable (runs where the leg runs), or transforms of this thread (pin the leg here). */
export type AnySecurity = LegSecurity | PortableSecurity;

/** The forwarding path, whichever thread runs it. */
export interface Forwarder {
  /**
   * Creates a leg on these sockets (bound by the caller, who keeps owning them). Returns the leg's
   * counters (CNT), valid until removeLeg(); the caller reads them, never writes them.
   */
  addLeg(id: number, sockets: LegSockets, cfg: LegConfig): Float64Array;
  /** Replaces a leg's configuration (Modify): latches survive unless Remote changed. */
  configure(id: number, cfg: LegConfig): void;
  /** Where media (RTP/UDPTL) and RTCP received on leg `id` go: other legs' ids (of its group). */
  setTargets(id: number, media: readonly number[], rtcp: readonly number[]): void;
  /**
   * A leg's security (undefined: none). Portable security is built where the leg runs (the forwarder
   * owns and closes what it built); plain transforms are the caller's and keep the leg on its thread.
   */
  setSecurity(id: number, security: AnySecurity | undefined): void;
  /**
   * Removes a leg; its sockets are no longer read or written. A promise when that happens later (a
   * worker thread closes the sockets it bound): the ports are free once it resolves.
   */
  removeLeg(id: number): Promise<void> | void;
  /** Hands each realm's totals since the last drain to `sink` (TOTALS layout). */
  drainTotals(sink: (realm: string, totals: Float64Array) => void): void;
  setListener(listener: ForwarderListener | undefined): void;
  readonly legCount: number;
  /** Where legs run, for logs: 'main thread' or 'N worker threads'. */
  readonly where: string;
  /** addLeg() closes the caller's sockets and binds their ports on another thread. */
  readonly rebinds: boolean;
  /** Resolves when the forwarder can take legs (worker threads started); awaited before the first one. */
  readonly ready?: Promise<void>;
  /** Resolves when every leg added so far listens on its ports and every leg removed let go of them. */
  settled?(): Promise<void>;
  close(): Promise<void>;
}

/** One leg on the owning thread. Fields are public for the engine only. */
class Leg {
  readonly id: number;
  readonly engine: LocalForwarder;
  readonly rtpSock: Socket;
  readonly rtcpSock: Socket | undefined;
  readonly connectable: boolean;
  readonly cnt: Float64Array;
  /** packetsLost already in `cnt` when the leg started (a leg moved between threads keeps counting). */
  readonly lostBase: number;
  totals: Float64Array;
  cfg: LegConfig;
  proto = P_RTP;
  loopback = false;
  rtcpOn = true;
  muxRx = false;
  muxTx = false;
  // destination (Remote, or latched)
  dstAddr: string | undefined;
  dstPort = 0;
  rtcpAddr: string | undefined;
  rtcpPort = 0;
  latched = false;
  rtcpLatched = false;
  /**
   * The socket is connect()ed to the latched source: latched without rlatch, so only that source may
   * send and everything goes to it; the kernel then filters other sources (they are no longer seen
   * or counted) and sends skip Node's per-send address lookup (~0.7 µs of ~4 µs per send, measured).
   */
  rtpConnected = false;
  rtcpConnected = false;
  // re-latch candidates (RTP/UDPTL socket and RTCP socket)
  candAddr = '';
  candPort = 0;
  candSsrc = -1;
  candCount = 0;
  rtcpCandAddr = '';
  rtcpCandPort = 0;
  rtcpCandCount = 0;
  // source rules
  srcMatch: CompiledMatch | undefined;
  /** The address of an exact rule (the usual one: the Remote address), compared here without a call. */
  srcExact: string | undefined;
  admitNone = false;
  portLow = 0;
  portHigh = 65535;
  rtcpPortLow = 0;
  rtcpPortHigh = 65535;
  policer: Policer | undefined;
  security: LegSecurity | undefined;
  /** The portable security `security` was built from (this forwarder owns and closes the transforms). */
  portable: PortableSecurity | undefined;
  clock: Float64Array = clockTable(new Map());
  readonly stats = new RtpReceiveStats();
  targets: Leg[] = [];
  rtcpTargets: Leg[] = [];
  /** Legs whose targets name this one (so removing it is O(its peers), not O(all legs)). */
  readonly sources = new Set<Leg>();
  closed = false;
  readonly onRtp: (buf: Buffer, rinfo: RemoteInfo) => void;
  readonly onRtcp: (buf: Buffer, rinfo: RemoteInfo) => void;
  readonly onError: () => void;

  constructor(engine: LocalForwarder, id: number, sockets: LegSockets, cnt: Float64Array, cfg: LegConfig) {
    this.engine = engine;
    this.id = id;
    this.rtpSock = sockets.rtp;
    this.rtcpSock = sockets.rtcp;
    this.connectable = sockets.connectable === true;
    this.cnt = cnt;
    this.lostBase = cnt[C_PL]!;
    this.cfg = cfg;
    this.totals = engine.totalsOf(cfg.realm);
    this.onRtp = (buf, rinfo) => this.receiveRtpPort(buf, rinfo);
    this.onRtcp = (buf, rinfo) => this.receiveRtcp(buf, rinfo, false);
    // a send that failed asynchronously (ICMP unreachable, EPERM...) surfaces as an 'error' event
    this.onError = () => {
      this.totals[D_SEND_ERROR]!++;
    };
    this.apply(cfg, true);
    this.rtpSock.on('message', this.onRtp);
    this.rtpSock.on('error', this.onError);
    if (this.rtcpSock !== undefined) {
      this.rtcpSock.on('message', this.onRtcp);
      this.rtcpSock.on('error', this.onError);
    }
  }

  apply(cfg: LegConfig, first: boolean): void {
    const prev = this.cfg;
    this.cfg = cfg;
    this.proto = cfg.kind === 'udptl' ? P_UDPTL : P_RTP;
    if (!first && prev.realm !== cfg.realm) this.totals = this.engine.totalsOf(cfg.realm);
    this.loopback = cfg.mode === 'loopback';
    this.rtcpOn = cfg.mode !== 'inactive' && cfg.mode !== 'loopback';
    this.muxRx = cfg.kind === 'rtp' && cfg.rtcpMuxRx;
    this.muxTx = cfg.kind === 'rtp' && cfg.rtcpMuxTx;
    // a new Remote forgets the latch (the peer moved, or a new call leg reuses the termination)
    if (first || !sameEndpoint(prev.remote, cfg.remote) || prev.latch !== cfg.latch) {
      this.latched = false;
      this.dstAddr = cfg.remote?.address;
      this.dstPort = cfg.remote?.port ?? 0;
      this.candCount = 0;
    }
    if (
      first ||
      !sameEndpoint(prev.remoteRtcp, cfg.remoteRtcp) ||
      prev.latch !== cfg.latch ||
      prev.rtcpMuxTx !== cfg.rtcpMuxTx
    ) {
      this.rtcpLatched = false;
      this.rtcpAddr = cfg.remoteRtcp?.address;
      this.rtcpPort = cfg.remoteRtcp?.port ?? 0;
      this.rtcpCandCount = 0;
    }
    this.srcMatch = cfg.sourceAddress !== undefined ? compileMatch(cfg.sourceAddress) : undefined;
    this.srcExact = this.srcMatch?.kind === 'exact' ? this.srcMatch.address : undefined;
    this.admitNone = cfg.admitNone === true;
    this.portLow = cfg.sourcePorts?.[0] ?? 0;
    this.portHigh = cfg.sourcePorts?.[1] ?? 65535;
    this.rtcpPortLow = cfg.sourceRtcpPorts?.[0] ?? 0;
    this.rtcpPortHigh = cfg.sourceRtcpPorts?.[1] ?? 65535;
    // a connected socket hears only its peer: undo it when the peer may change
    if ((this.rtpConnected || this.rtpConnecting) && (!this.latched || cfg.rlatch)) this.unconnect(false);
    if ((this.rtcpConnected || this.rtcpConnecting) && (!this.rtcpLatched || cfg.rlatch))
      this.unconnect(true);
    if (cfg.policer === undefined) this.policer = undefined;
    else if (this.policer === undefined || !this.policer.sameAs(cfg.policer))
      this.policer = new Policer(cfg.policer, performance.now());
    this.clock = clockTable(cfg.clockRates ?? new Map());
  }

  detach(): void {
    this.closed = true;
    // only sockets that were connected: disconnect() of another throws (an Error built for nothing)
    if (this.rtpConnected || this.rtpConnecting) this.unconnect(false);
    if (this.rtcpConnected || this.rtcpConnecting) this.unconnect(true);
    this.rtpSock.off('message', this.onRtp);
    this.rtpSock.off('error', this.onError);
    if (this.rtcpSock !== undefined) {
      this.rtcpSock.off('message', this.onRtcp);
      this.rtcpSock.off('error', this.onError);
    }
    this.targets = [];
    this.rtcpTargets = [];
  }

  /** Source rule for a packet on the RTP/UDPTL port (rtcp false) or the RTCP port. */
  admits(address: string, port: number, rtcp: boolean): boolean {
    if (rtcp) {
      if (port < this.rtcpPortLow || port > this.rtcpPortHigh) return false;
    } else if (port < this.portLow || port > this.portHigh) {
      return false;
    }
    if (this.admitNone) return false;
    const exact = this.srcExact;
    if (exact !== undefined) return address === exact;
    const m = this.srcMatch;
    return m === undefined || addressMatches(m, address);
  }

  /** A datagram on the RTP (or UDPTL) socket. */
  receiveRtpPort(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    const len = buf.length;
    if (this.muxRx && isRtcpOnMux(buf, len)) {
      this.receiveRtcp(buf, rinfo, true);
      return;
    }
    const totals = this.totals;
    const proto = this.proto;
    const isRtp = proto === P_RTP;
    if (isRtp ? !isValidRtp(buf, len) : len === 0) {
      totals[D_MALFORMED]!++;
      return;
    }
    const address = rinfo.address;
    const port = rinfo.port;
    if (!this.admits(address, port, false)) {
      totals[D_SOURCE]!++;
      return;
    }
    // a latched leg refuses other sources unless it may re-latch (decided before any crypto)
    const moved = this.cfg.latch && this.latched && (port !== this.dstPort || address !== this.dstAddr);
    if (moved && !this.cfg.rlatch) {
      totals[D_SOURCE]!++;
      return;
    }
    // with security, only a packet that authenticates may latch, re-latch or enter the context;
    // n: the length without security (what policing and the other legs see)
    const sec = this.security;
    let n = len;
    if (sec !== undefined) {
      n = sec.inbound(buf, len, false);
      if (n < 0) {
        totals[D_SECURITY]!++;
        return;
      }
    }
    if (this.cfg.latch) {
      if (!this.latched) {
        this.latchTo(address, port);
      } else if (moved) {
        if (!this.relatchCandidate(address, port, isRtp ? rtpSsrc(buf) : -1)) {
          totals[D_SOURCE]!++;
          return;
        }
      } else {
        this.candCount = 0;
      }
    }
    const now = performance.now();
    const c = this.cnt;
    c[C_RX] = ORIGIN + now;
    c[C_PR]!++;
    c[C_OR]! += len;
    const t4 = proto * 4;
    totals[t4]!++;
    totals[t4 + 1]! += len;
    if (isRtp) {
      const st = this.stats;
      st.update(rtpSequence(buf), rtpTimestamp(buf), rtpSsrc(buf), now, this.clock[rtpPayloadType(buf)]!);
      c[C_PL] = this.lostBase + st.lost;
      c[C_JIT] = st.jitterMs;
    }
    if (this.loopback) {
      // Loopback (H.248.1 §7.1.7): what the exterior sends comes back to it (its source, whatever
      // Remote says), protected again on a secured leg; nothing enters the context
      let out = buf;
      if (sec !== undefined) {
        const p = sec.outbound(buf, n, false);
        if (p === undefined) {
          totals[D_SECURITY]!++;
          return;
        }
        out = p;
      }
      if (this.sendRaw(this.rtpSock, this.rtpConnected, out, out.length, port, address, proto)) {
        c[C_PS]!++;
        c[C_OS]! += out.length;
        c[C_TX] = ORIGIN + now;
      }
      return;
    }
    const targets = this.targets;
    if (targets.length === 0) {
      totals[D_NO_ROUTE]!++;
      return;
    }
    const pol = this.policer;
    if (pol !== undefined && !pol.admit(n, now)) {
      c[C_DP]!++;
      c[C_DO]! += len;
      totals[D_POLICED]!++;
      return;
    }
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.dstPort === 0 || t.dstAddr === undefined) {
        t.totals[D_NO_DEST]!++;
        continue;
      }
      t.sendOut(buf, n, false, now);
    }
  }

  /** An RTCP packet (RTCP socket, or demuxed from the RTP socket). */
  receiveRtcp(buf: Buffer, rinfo: RemoteInfo, muxed: boolean): void {
    if (this.closed) return;
    const len = buf.length;
    const totals = this.totals;
    if (!isValidRtcp(buf, len)) {
      totals[D_MALFORMED]!++;
      return;
    }
    const address = rinfo.address;
    const port = rinfo.port;
    if (!this.admits(address, port, !muxed)) {
      totals[D_SOURCE]!++;
      return;
    }
    const sec = this.security;
    let n = len;
    if (this.cfg.latch) {
      // what the latch refuses is dropped before any crypto; what it would take must authenticate first
      if (muxed) {
        // one port, one latch: RTCP follows the RTP latch and never moves it
        if (this.latched && (port !== this.dstPort || address !== this.dstAddr)) {
          totals[D_SOURCE]!++;
          return;
        }
      } else if (this.rtcpLatched && (port !== this.rtcpPort || address !== this.rtcpAddr) && !this.cfg.rlatch) {
        totals[D_SOURCE]!++;
        return;
      }
    }
    if (sec !== undefined) {
      n = sec.inbound(buf, len, true);
      if (n < 0) {
        totals[D_SECURITY]!++;
        return;
      }
    }
    if (this.cfg.latch && !muxed) {
      if (!this.rtcpLatched) {
        this.rtcpLatched = true;
        this.rtcpAddr = address;
        this.rtcpPort = port;
        this.engine.listener?.latched?.(this.id, 'rtcp', address, port, false);
        if (!this.cfg.rlatch) this.connectTo(true, address, port);
      } else if (port !== this.rtcpPort || address !== this.rtcpAddr) {
        if (!this.relatchRtcp(address, port)) {
          totals[D_SOURCE]!++;
          return;
        }
      } else {
        this.rtcpCandCount = 0;
      }
    }
    totals[4]!++;
    totals[5]! += len;
    const targets = this.rtcpTargets;
    if (!this.rtcpOn || targets.length === 0) {
      totals[D_NO_ROUTE]!++;
      return;
    }
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      if (t.muxTx) {
        if (t.dstPort === 0 || t.dstAddr === undefined) t.totals[D_NO_DEST]!++;
        else t.sendOut(buf, n, true, 0);
      } else if (t.rtcpPort === 0 || t.rtcpAddr === undefined || t.rtcpSock === undefined) {
        t.totals[D_NO_DEST]!++;
      } else {
        t.sendOut(buf, n, true, 0);
      }
    }
  }

  /** Sends a packet out of this leg to its (RTCP) destination, through its security transform. */
  sendOut(buf: Buffer, len: number, rtcp: boolean, now: number): void {
    let out = buf;
    let n = len;
    const sec = this.security;
    if (sec !== undefined) {
      const p = sec.outbound(buf, len, rtcp);
      if (p === undefined) {
        this.totals[D_SECURITY]!++;
        return;
      }
      out = p;
      n = p.length;
    }
    if (!rtcp) {
      if (this.sendRaw(this.rtpSock, this.rtpConnected, out, n, this.dstPort, this.dstAddr!, this.proto)) {
        const c = this.cnt;
        c[C_PS]!++;
        c[C_OS]! += n;
        c[C_TX] = ORIGIN + now;
      }
    } else if (this.muxTx) {
      this.sendRaw(this.rtpSock, this.rtpConnected, out, n, this.dstPort, this.dstAddr!, P_RTCP);
    } else {
      this.sendRaw(this.rtcpSock!, this.rtcpConnected, out, n, this.rtcpPort, this.rtcpAddr!, P_RTCP);
    }
  }

  /** One datagram out of `sock`; false when the socket refused it (counted). */
  sendRaw(
    sock: Socket,
    connected: boolean,
    buf: Buffer,
    len: number,
    port: number,
    address: string,
    proto: number,
  ): boolean {
    try {
      // the whole Buffer when we can: the (offset, length) form makes Node slice a new Buffer
      if (connected) {
        if (len === buf.length) sock.send(buf);
        else sock.send(buf, 0, len);
      } else if (len === buf.length) {
        sock.send(buf, port, address);
      } else {
        sock.send(buf, 0, len, port, address);
      }
    } catch {
      // socket closed under us (ERR_SOCKET_DGRAM_NOT_RUNNING): the leg is going away
      this.totals[D_SEND_ERROR]!++;
      return false;
    }
    const t = this.totals;
    const i = proto * 4 + 2;
    t[i]!++;
    t[i + 1]! += len;
    return true;
  }

  latchTo(address: string, port: number): void {
    this.latched = true;
    this.candCount = 0;
    const moved = address !== this.dstAddr || port !== this.dstPort;
    this.dstAddr = address;
    this.dstPort = port;
    if (this.muxTx) {
      // RTCP shares the port: it goes where the media goes
      this.rtcpAddr = address;
      this.rtcpPort = port;
    }
    if (moved || this.cfg.remote === undefined)
      this.engine.listener?.latched?.(this.id, 'rtp', address, port, false);
    if (!this.cfg.rlatch) this.connectTo(false, address, port);
  }

  rtpConnecting = false;
  rtcpConnecting = false;

  /** connect()s the RTP (or RTCP) socket to the latched source (rare: once per latch). */
  connectTo(rtcp: boolean, address: string, port: number): void {
    const sock = rtcp ? this.rtcpSock : this.rtpSock;
    if (!this.connectable || sock === undefined) return;
    if (rtcp ? this.rtcpConnecting || this.rtcpConnected : this.rtpConnecting || this.rtpConnected) return;
    if (rtcp) this.rtcpConnecting = true;
    else this.rtpConnecting = true;
    const done = (err?: Error): void => {
      if (rtcp) this.rtcpConnecting = false;
      else this.rtpConnecting = false;
      const still = rtcp
        ? this.rtcpLatched && this.rtcpAddr === address && this.rtcpPort === port
        : this.latched && this.dstAddr === address && this.dstPort === port;
      if (err !== undefined) return;
      if (this.closed || this.cfg.rlatch || !still) {
        disconnect(sock);
        return;
      }
      if (rtcp) this.rtcpConnected = true;
      else this.rtpConnected = true;
    };
    try {
      sock.connect(port, address, done);
    } catch {
      // already connected or closed: stay unconnected, sends name the address
      if (rtcp) this.rtcpConnecting = false;
      else this.rtpConnecting = false;
    }
  }

  unconnect(rtcp: boolean): void {
    if (!this.connectable) return;
    const sock = rtcp ? this.rtcpSock : this.rtpSock;
    if (rtcp) this.rtcpConnected = false;
    else this.rtpConnected = false;
    // still connecting: done() sees the state and disconnects
    if (sock !== undefined) disconnect(sock);
  }

  /** Counts a packet from a would-be new source; true when it takes over (this packet passes). */
  relatchCandidate(address: string, port: number, ssrc: number): boolean {
    if (this.candCount > 0 && address === this.candAddr && port === this.candPort && ssrc === this.candSsrc) {
      this.candCount++;
    } else {
      this.candAddr = address;
      this.candPort = port;
      this.candSsrc = ssrc;
      this.candCount = 1;
    }
    if (this.candCount < this.cfg.relatchPackets) return false;
    this.candCount = 0;
    this.dstAddr = address;
    this.dstPort = port;
    if (this.muxTx) {
      this.rtcpAddr = address;
      this.rtcpPort = port;
    }
    this.engine.listener?.latched?.(this.id, 'rtp', address, port, true);
    return true;
  }

  /** Replaces the security (closing transforms built here that are not handed on). */
  secure(s: AnySecurity | undefined): void {
    const built = this.portable !== undefined ? this.security : undefined;
    if (isPortable(s)) {
      this.portable = s;
      this.security = s.build(built, new LegTransformEnv(this, s));
    } else {
      this.portable = undefined;
      this.security = s;
    }
    if (built !== undefined && built !== this.security) built.close?.();
  }

  relatchRtcp(address: string, port: number): boolean {
    if (this.rtcpCandCount > 0 && address === this.rtcpCandAddr && port === this.rtcpCandPort) {
      this.rtcpCandCount++;
    } else {
      this.rtcpCandAddr = address;
      this.rtcpCandPort = port;
      this.rtcpCandCount = 1;
    }
    if (this.rtcpCandCount < this.cfg.relatchPackets) return false;
    this.rtcpCandCount = 0;
    this.rtcpAddr = address;
    this.rtcpPort = port;
    this.engine.listener?.latched?.(this.id, 'rtcp', address, port, true);
    return true;
  }
}

/** Where the transforms built from `owner` count (the leg's counters and current realm) and report (owner). */
class LegTransformEnv implements TransformEnv {
  readonly #leg: Leg;
  readonly #owner: PortableSecurity;

  constructor(leg: Leg, owner: PortableSecurity) {
    this.#leg = leg;
    this.#owner = owner;
  }

  get cnt(): Float64Array {
    return this.#leg.cnt;
  }

  get totals(): Float64Array {
    return this.#leg.totals;
  }

  event(e: SecurityEvent): void {
    this.#owner.onEvent(e);
  }
}

function disconnect(sock: Socket): void {
  try {
    sock.disconnect();
  } catch {
    // not connected (or closed): nothing to undo
  }
}

function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.address === b.address && a.port === b.port;
}

export interface LocalForwarderOptions {
  /** Where a realm's totals are kept (a worker's shared memory); default: arrays drained and zeroed here. */
  readonly totalsOf?: (realm: string) => Float64Array;
}

/** The Forwarder on the thread that owns the sockets. */
export class LocalForwarder implements Forwarder {
  readonly where = 'main thread';
  readonly rebinds = false;
  readonly #legs = new Map<number, Leg>();
  readonly #totals = new Map<string, Float64Array>();
  readonly #totalsOf: ((realm: string) => Float64Array) | undefined;
  /** @internal read by legs */
  listener: ForwarderListener | undefined;

  constructor(options: LocalForwarderOptions = {}) {
    this.#totalsOf = options.totalsOf;
  }

  get legCount(): number {
    return this.#legs.size;
  }

  /** @internal the totals array of a realm (created on first use). */
  totalsOf(realm: string): Float64Array {
    if (this.#totalsOf !== undefined) return this.#totalsOf(realm);
    let t = this.#totals.get(realm);
    if (t === undefined) {
      t = new Float64Array(TOTALS_LENGTH);
      this.#totals.set(realm, t);
    }
    return t;
  }

  /** `counters`: where the leg counts (a shared slot); default a fresh array. */
  addLeg(
    id: number,
    sockets: LegSockets,
    cfg: LegConfig,
    counters: Float64Array = newLegCounters(),
  ): Float64Array {
    this.removeLeg(id);
    this.#legs.set(id, new Leg(this, id, sockets, counters, cfg));
    return counters;
  }

  configure(id: number, cfg: LegConfig): void {
    this.#legs.get(id)?.apply(cfg, false);
  }

  setTargets(id: number, media: readonly number[], rtcp: readonly number[]): void {
    const leg = this.#legs.get(id);
    if (leg === undefined) return;
    for (const t of leg.targets) t.sources.delete(leg);
    for (const t of leg.rtcpTargets) t.sources.delete(leg);
    leg.targets = this.#resolve(media, id);
    leg.rtcpTargets = this.#resolve(rtcp, id);
    for (const t of leg.targets) t.sources.add(leg);
    for (const t of leg.rtcpTargets) t.sources.add(leg);
  }

  setSecurity(id: number, security: AnySecurity | undefined): void {
    this.#legs.get(id)?.secure(security);
  }

  removeLeg(id: number): void {
    const leg = this.#legs.get(id);
    if (leg === undefined) return;
    this.#legs.delete(id);
    // nobody may keep sending into a leg that is gone
    for (const src of leg.sources) {
      src.targets = src.targets.filter((l) => l !== leg);
      src.rtcpTargets = src.rtcpTargets.filter((l) => l !== leg);
    }
    leg.sources.clear();
    for (const t of leg.targets) t.sources.delete(leg);
    for (const t of leg.rtcpTargets) t.sources.delete(leg);
    leg.detach();
    leg.secure(undefined);
  }

  /** The leg's RTP socket is connect()ed to its latched source (tests, diagnostics). */
  isConnected(id: number): boolean {
    return this.#legs.get(id)?.rtpConnected === true;
  }

  drainTotals(sink: (realm: string, totals: Float64Array) => void): void {
    for (const [realm, t] of this.#totals) {
      sink(realm, t);
      t.fill(0);
    }
  }

  setListener(listener: ForwarderListener | undefined): void {
    this.listener = listener;
  }

  close(): Promise<void> {
    for (const id of [...this.#legs.keys()]) this.removeLeg(id);
    return Promise.resolve();
  }

  #resolve(ids: readonly number[], self: number): Leg[] {
    const out: Leg[] = [];
    for (const id of ids) {
      const l = this.#legs.get(id);
      if (l !== undefined && id !== self) out.push(l);
    }
    return out;
  }
}
