/**
 * e2ae SRTP termination (PROFILE §4, §9): the UDP media plane hands it the streams of RTP/SAVP(F) with
 * a=crypto, and it gives each such leg its transforms (LegSecurity): unprotect what the peer sends
 * with the Remote key, protect what goes out with the Local key, over libsrtp2 (session.ts).
 *
 * - One SrtpLeg per leg and key pair. A change of one direction's line (a Modify with a new key) makes
 *   a new SrtpLeg that takes over the other direction's SrtpSession as it is (ROC, replay window), and
 *   a fresh context (ROC 0) for the changed one; the forwarder swaps legs between two packets, so no
 *   packet of the unchanged direction is lost.
 * - libsrtp2 sessions are SSRC-any: a new SSRC (a re-latched peer, a restarted sender) gets its own
 *   stream in the context, as libsrtp2 expects; the forwarder re-latches only to a source whose packet
 *   authenticated (forwarder.ts).
 * - Failures (authentication, replay, unknown MKI, expired key, no key yet) drop the packet; each is
 *   counted per stream (srtp/af, srtp/rf statistics) and in trgwd_srtp_failures_total.
 * - Key lifetime (a=crypto ...|<lifetime>): at srtp.rekeyNoticePercent of it `srtp/rekey` is raised
 *   (where requested) for that direction; at the end the key is no longer used (RFC 4568 §6.1): the
 *   sender moves to the line's next key (several keys with MKIs), else drops.
 *
 * Packet path: no throw, no log; one pooled Buffer per protected packet, because Node may queue a UDP
 * send and read the bytes later, so they cannot be written over by the next packet.
 */
import type { SdpGroup } from '../../control/codec/sdp.js';
import { TrgwdError, errorMessage } from '../../errors.js';
import type { StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import type { LegSecurity } from '../../bearer/udp/forwarder.js';
import type { UdpStreamSecurity } from '../../bearer/udp/udp-plane.js';
import { nativeAvailable } from './binding.js';
import { cryptoToSessionParams } from './crypto-attr.js';
import { chooseCrypto, cryptoValues, prepareSdes, type CryptoLine } from './sdes.js';
import { SRTP_RESULT, SrtpSession } from './session.js';

export const REKEY_EVENT = 'srtp/rekey';

/** Failure reasons (metric label `reason`); index = slot in the totals. */
export const SRTP_FAILURES = ['auth_fail', 'replay_fail', 'replay_old', 'bad_mki', 'key_expired', 'no_key', 'other'] as const;
export type SrtpFailure = (typeof SRTP_FAILURES)[number];
const F_AUTH = 0;
const F_REPLAY = 1;
const F_OLD = 2;
const F_MKI = 3;
const F_EXPIRED = 4;
const F_NO_KEY = 5;
const F_OTHER = 6;

// totals layout: protect rtp, protect rtcp, unprotect rtp, unprotect rtcp, then failures
const T_PROTECT = 0;
const T_UNPROTECT = 2;
const T_FAIL = 4;

function failureSlot(code: number): number {
  switch (code) {
    case SRTP_RESULT.AUTH_FAIL:
      return F_AUTH;
    case SRTP_RESULT.REPLAY_FAIL:
      return F_REPLAY;
    case SRTP_RESULT.REPLAY_OLD:
      return F_OLD;
    case SRTP_RESULT.BAD_MKI:
      return F_MKI;
    case SRTP_RESULT.KEY_EXPIRED:
      return F_EXPIRED;
    default:
      return F_OTHER;
  }
}

export interface SrtpE2aeOptions {
  /** `srtp.replayWindow`. */
  readonly replayWindow?: number;
  /** `srtp.rekeyNoticePercent`. */
  readonly rekeyNoticePercent?: number;
  /** `media.statsFlushMs`: how often the packet totals reach Prometheus. */
  readonly statsFlushMs?: number;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** Random source for generated keys (tests); default node:crypto's CSPRNG. */
  readonly random?: (n: number) => Uint8Array;
}

/** Per-stream failure counts, kept across rekeys (srtp/af, srtp/rf). */
interface StreamCounts {
  readonly failures: Float64Array;
}

/**
 * One direction's a=crypto line in use: its session and lifetime accounting (RFC 4568 §6.1: the
 * lifetime is per master key). The receiver cannot tell which key of a line a packet used without
 * reading its MKI, so inbound counts against all keys' lifetimes together; the sender moves to the
 * line's next key when one is used up (libsrtp2 srtp_update: ROC and replay state kept).
 */
class Direction {
  readonly session: SrtpSession;
  readonly line: CryptoLine;
  /** Packets (RTP) each master key may protect; Infinity where no lifetime is given. */
  readonly limits: readonly number[];
  /** All keys together. */
  readonly total: number;
  /** Packets after which srtp/rekey is raised. */
  readonly notice: number;
  used = 0;
  /** Outbound: the key protecting now, and the packets it protected. */
  key = 0;
  usedOnKey = 0;
  noticed = false;

  constructor(session: SrtpSession, line: CryptoLine, noticePercent: number) {
    this.session = session;
    this.line = line;
    this.limits = line.crypto.keys.map((k) => k.lifetime ?? Infinity);
    this.total = this.limits.reduce((a, b) => a + b, 0);
    this.notice = Number.isFinite(this.total)
      ? Math.max(1, Math.floor((this.total * noticePercent) / 100))
      : Infinity;
  }

  get text(): string {
    return this.line.text;
  }
}

export class SrtpLeg implements LegSecurity {
  readonly #owner: SrtpE2ae;
  readonly #stream: Stream;
  #termination: Termination;
  #in: Direction | undefined;
  #out: Direction | undefined;
  readonly #counts: StreamCounts;
  #closed = false;

  constructor(
    owner: SrtpE2ae,
    stream: Stream,
    termination: Termination,
    local: CryptoLine | undefined,
    remote: CryptoLine | undefined,
    prev: SrtpLeg | undefined,
  ) {
    this.#owner = owner;
    this.#stream = stream;
    this.#termination = termination;
    this.#counts = prev !== undefined ? prev.#counts : { failures: new Float64Array(SRTP_FAILURES.length) };
    // the unchanged direction goes on with its context; the changed one starts afresh (ROC 0)
    const keepIn = prev !== undefined && prev.#in !== undefined && prev.#in.text === remote?.text;
    const keepOut = prev !== undefined && prev.#out !== undefined && prev.#out.text === local?.text;
    this.#in = keepIn ? prev.#take('in') : this.#open('in', remote);
    this.#out = keepOut ? prev.#take('out') : this.#open('out', local);
  }

  get localText(): string | undefined {
    return this.#out?.text;
  }

  get remoteText(): string | undefined {
    return this.#in?.text;
  }

  /** Authentication and replay failures of this stream so far (srtp/af, srtp/rf). */
  get failures(): Readonly<Float64Array> {
    return this.#counts.failures;
  }

  set termination(t: Termination) {
    this.#termination = t;
  }

  #open(dir: 'in' | 'out', line: CryptoLine | undefined): Direction | undefined {
    if (line === undefined) return undefined;
    try {
      const params = cryptoToSessionParams(line.crypto, { windowSize: this.#owner.replayWindow });
      const s = new SrtpSession(dir === 'in' ? 'inbound' : 'outbound', params);
      this.#owner.contextOpened();
      return new Direction(s, line, this.#owner.noticePercent);
    } catch (e) {
      // checked in prepareStream; if libsrtp2 still refuses, the stream carries nothing (counted no_key)
      this.#termination.log.error({ stream: this.#stream.id, dir, err: errorMessage(e) }, 'srtp: no crypto context');
      return undefined;
    }
  }

  /** Hands a direction to the SrtpLeg that replaces this one (this one no longer uses or frees it). */
  #take(dir: 'in' | 'out'): Direction | undefined {
    const d = dir === 'in' ? this.#in : this.#out;
    if (dir === 'in') this.#in = undefined;
    else this.#out = undefined;
    return d;
  }

  #fail(slot: number): void {
    this.#counts.failures[slot]!++;
    this.#owner.totals[T_FAIL + slot]!++;
  }

  /** Counts a packet against the lifetime; raises srtp/rekey once at the notice share. */
  #count(d: Direction, dir: 'in' | 'out'): void {
    const n = ++d.used;
    if (n >= d.notice && !d.noticed) {
      d.noticed = true;
      this.#owner.rekeyNotice(this.#termination, this.#stream, dir);
    }
  }

  /** Outbound: the key in use is spent; protect with the line's next one. False when none is left. */
  #nextKey(d: Direction): boolean {
    if (d.key + 1 >= d.limits.length) return false;
    try {
      const params = cryptoToSessionParams(d.line.crypto, { windowSize: this.#owner.replayWindow });
      d.session.update({ ...params, sendKeyIndex: d.key + 1 });
    } catch (e) {
      this.#termination.log.error({ stream: this.#stream.id, err: errorMessage(e) }, 'srtp: cannot move to the next key');
      return false;
    }
    d.key++;
    d.usedOnKey = 0;
    this.#termination.log.info({ stream: this.#stream.id, key: d.key }, 'srtp: key lifetime used up; next key of the line');
    return true;
  }

  inbound(buf: Buffer, len: number, rtcp: boolean): number {
    const d = this.#in;
    if (d === undefined) {
      this.#fail(F_NO_KEY);
      return -1;
    }
    const n = rtcp ? d.session.unprotectRtcp(buf, len) : d.session.unprotectRtp(buf, len);
    if (n < 0) {
      this.#fail(failureSlot(n));
      return n;
    }
    if (!rtcp) {
      if (d.used >= d.total) {
        this.#fail(F_EXPIRED);
        return SRTP_RESULT.KEY_EXPIRED;
      }
      this.#count(d, 'in');
    }
    this.#owner.totals[T_UNPROTECT + (rtcp ? 1 : 0)]!++;
    return n;
  }

  outbound(buf: Buffer, len: number, rtcp: boolean): Buffer | undefined {
    const d = this.#out;
    if (d === undefined) {
      this.#fail(F_NO_KEY);
      return undefined;
    }
    if (!rtcp && d.usedOnKey >= d.limits[d.key]! && !this.#nextKey(d)) {
      this.#fail(F_EXPIRED);
      return undefined;
    }
    const s = d.session;
    const out = Buffer.allocUnsafe(len + (rtcp ? s.rtcpTrailerLength : s.rtpTrailerLength));
    buf.copy(out, 0, 0, len);
    const n = rtcp ? s.protectRtcp(out, len) : s.protectRtp(out, len);
    if (n < 0) {
      this.#fail(failureSlot(n));
      return undefined;
    }
    if (!rtcp) {
      d.usedOnKey++;
      this.#count(d, 'out');
    }
    this.#owner.totals[T_PROTECT + (rtcp ? 1 : 0)]!++;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** Frees the contexts still held (not handed over). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const d of [this.#in, this.#out]) {
      if (d === undefined) continue;
      d.session.destroy();
      this.#owner.contextClosed();
    }
    this.#in = undefined;
    this.#out = undefined;
  }
}

export class SrtpE2ae implements UdpStreamSecurity {
  readonly replayWindow: number;
  readonly noticePercent: number;
  /** Packet totals since the last flush (see T_* and F_*); written by the legs. */
  readonly totals = new Float64Array(T_FAIL + SRTP_FAILURES.length);
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout | undefined;
  #contexts = 0;

  constructor(options: SrtpE2aeOptions = {}) {
    this.replayWindow = options.replayWindow ?? 128;
    this.noticePercent = options.rekeyNoticePercent ?? 90;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.#log = options.log ?? silentLogger();
    if (this.#metrics !== undefined) {
      this.#metrics.srtpContexts.set(0);
      this.#timer = setInterval(() => this.flushMetrics(), options.statsFlushMs ?? 1000);
      this.#timer.unref();
    }
  }

  /** Crypto contexts in use now. */
  get contexts(): number {
    return this.#contexts;
  }

  // ---- UdpStreamSecurity ------------------------------------------------------------------------

  prepareStream(p: StreamPreparation): void {
    if (!nativeAvailable()) {
      throw new TrgwdError(
        'ERR_BEARER_UNSUPPORTED_TRANSPORT',
        `${p.transport ?? 'RTP/SAVP'} with a=crypto needs the native SRTP addon, which is not built (npm run build:native)`,
        { details: { transport: p.transport } },
      );
    }
    const remote: readonly SdpGroup[] | undefined = p.remote ?? p.current?.remote;
    prepareSdes(p.local, remote, p.current?.local, { random: this.#random });
  }

  legSecurity(stream: Stream, termination: Termination, current: LegSecurity | undefined): LegSecurity | undefined {
    const { local, remote } = chooseCrypto(cryptoValues(stream.local), cryptoValues(stream.remote));
    const prev = current instanceof SrtpLeg ? current : undefined;
    if (prev !== undefined && prev.localText === local?.text && prev.remoteText === remote?.text) {
      prev.termination = termination;
      return prev;
    }
    const leg = new SrtpLeg(this, stream, termination, local, remote, prev);
    if (prev === undefined) {
      stream.extraStatistics.set('srtp/af', () => leg.failures[F_AUTH]!);
      stream.extraStatistics.set('srtp/rf', () => leg.failures[F_REPLAY]! + leg.failures[F_OLD]!);
    }
    termination.log.info(
      {
        stream: stream.id,
        suite: (remote ?? local)?.crypto.suite,
        tags: { local: local?.crypto.tag, remote: remote?.crypto.tag },
        rekey: prev !== undefined ? { in: prev.remoteText !== remote?.text, out: prev.localText !== local?.text } : undefined,
      },
      prev === undefined ? 'srtp: stream keyed' : 'srtp: stream rekeyed',
    );
    return leg;
  }

  // ---- for the legs -----------------------------------------------------------------------------

  /** @internal */
  contextOpened(): void {
    this.#contexts++;
    this.#metrics?.srtpContexts.set(this.#contexts);
  }

  /** @internal */
  contextClosed(): void {
    this.#contexts--;
    this.#metrics?.srtpContexts.set(this.#contexts);
  }

  /** @internal a key reached the notice share of its lifetime (rare: once per key). */
  rekeyNotice(t: Termination, s: Stream, dir: 'in' | 'out'): void {
    this.#metrics?.srtpRekeyNotices.inc({ direction: dir });
    t.log.warn({ stream: s.id, dir, percent: this.noticePercent }, 'srtp: key lifetime nearly used up; rekey needed');
    t.raise(REKEY_EVENT, { dir }, s.id);
  }

  /** Adds the packet totals since the last flush to Prometheus. */
  flushMetrics(): void {
    const m = this.#metrics;
    const t = this.totals;
    if (m === undefined) return;
    const ops = [
      ['protect', 'rtp', T_PROTECT],
      ['protect', 'rtcp', T_PROTECT + 1],
      ['unprotect', 'rtp', T_UNPROTECT],
      ['unprotect', 'rtcp', T_UNPROTECT + 1],
    ] as const;
    for (const [operation, protocol, i] of ops) if (t[i]! > 0) m.srtpPackets.inc({ operation, protocol }, t[i]!);
    for (let f = 0; f < SRTP_FAILURES.length; f++) {
      const n = t[T_FAIL + f]!;
      if (n > 0) m.srtpFailures.inc({ reason: SRTP_FAILURES[f]! }, n);
    }
    t.fill(0);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.flushMetrics();
    this.#log.debug({ contexts: this.#contexts }, 'srtp termination closed');
  }
}
