/**
 * The per-packet half of e2ae SRTP (PROFILE §4): one leg's transforms over libsrtp2 (session.ts),
 * built from a plain SrtpSpec by the forwarder that runs the leg, on whichever thread that is (the
 * main thread, or a relay worker: bearer/udp/worker-security.ts). e2ae.ts is the owner's half: it
 * reads the SDP, makes the spec and turns the events into logs, metrics and srtp/rekey.
 *
 * - One SrtpTransform per leg and key pair. A change of one direction's line (a Modify with a new
 *   key) builds a new SrtpTransform that takes over the other direction's SrtpSession as it is (ROC,
 *   replay window), and a fresh context (ROC 0) for the changed one; the forwarder swaps transforms
 *   between two packets, so no packet of the unchanged direction is lost.
 * - libsrtp2 sessions are SSRC-any: a new SSRC (a re-latched peer, a restarted sender) gets its own
 *   stream in the context, as libsrtp2 expects; the forwarder re-latches only to a source whose packet
 *   authenticated (forwarder.ts).
 * - Failures (authentication, replay, unknown MKI, expired key, no key yet) drop the packet; each is
 *   counted in the leg's counters (CNT.securityAuthFail/securityReplay: srtp/af, srtp/rf) and in its
 *   realm's totals (SRTP_TOTALS, for trgwd_srtp_failures_total).
 * - Key lifetime (a=crypto ...|<lifetime>): at the notice share an `srtp/rekey` event goes to the
 *   owner for that direction; at the end the key is no longer used (RFC 4568 §6.1): the sender moves
 *   to the line's next key (several keys with MKIs), else drops.
 *
 * Packet path: no throw, no log; one pooled Buffer per protected packet, because Node may queue a UDP
 * send and read the bytes later, so they cannot be written over by the next packet.
 */
import { errorMessage } from '../../errors.js';
import {
  CNT,
  SEC_BASE,
  SEC_LENGTH,
  type LegSecurity,
  type SecuritySpec,
  type TransformEnv,
} from '../../bearer/udp/forwarder.js';
import { cryptoToSessionParams } from './crypto-attr.js';
import type { CryptoLine } from './sdes.js';
import { SRTP_RESULT, SrtpSession } from './session.js';

/** What a leg's transforms are built from (structured-cloneable: it crosses to relay workers). */
export interface SrtpSpec extends SecuritySpec {
  readonly kind: 'srtp';
  /** Our sending key (Local a=crypto). */
  readonly local?: CryptoLine | undefined;
  /** The peer's sending key (Remote a=crypto). */
  readonly remote?: CryptoLine | undefined;
  /** `srtp.replayWindow`. */
  readonly replayWindow: number;
  /** `srtp.rekeyNoticePercent`. */
  readonly noticePercent: number;
}

/** Event kinds (SecurityEvent.kind). */
export const SRTP_EVENT = Object.freeze({
  /** A key reached the notice share of its lifetime (dir). */
  rekey: 'srtp/rekey',
  /** The sender moved to the line's next key (key: its index). */
  nextKey: 'srtp/next-key',
  /** libsrtp2 refused a context or an update (dir, message). */
  error: 'srtp/error',
  /** Crypto contexts opened (delta > 0) or freed (delta < 0). */
  contexts: 'srtp/contexts',
});

/** Failure reasons (metric label `reason`); index = slot in the totals block after the packet counts. */
export const SRTP_FAILURES = ['auth_fail', 'replay_fail', 'replay_old', 'bad_mki', 'key_expired', 'no_key', 'other'] as const;
export type SrtpFailure = (typeof SRTP_FAILURES)[number];
const F_AUTH = 0;
const F_REPLAY = 1;
const F_OLD = 2;
const F_MKI = 3;
const F_EXPIRED = 4;
const F_NO_KEY = 5;
const F_OTHER = 6;

/**
 * The security block of a realm's totals (forwarder SEC_BASE): protect rtp, protect rtcp, unprotect
 * rtp, unprotect rtcp, then the failures by reason.
 */
export const SRTP_TOTALS = Object.freeze({ protect: 0, unprotect: 2, failures: 4 });
const T_PROTECT = SEC_BASE + SRTP_TOTALS.protect;
const T_UNPROTECT = SEC_BASE + SRTP_TOTALS.unprotect;
const T_FAIL = SEC_BASE + SRTP_TOTALS.failures;
if (SRTP_TOTALS.failures + SRTP_FAILURES.length > SEC_LENGTH) throw new Error('SEC_LENGTH too small for SRTP');
const C_AF = CNT.securityAuthFail;
const C_RF = CNT.securityReplay;

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

export class SrtpTransform implements LegSecurity {
  readonly #spec: SrtpSpec;
  readonly #env: TransformEnv;
  #in: Direction | undefined;
  #out: Direction | undefined;
  #closed = false;

  /** `prev`: the leg's transforms until now; the direction whose line did not change goes on with its context. */
  constructor(spec: SrtpSpec, prev: SrtpTransform | undefined, env: TransformEnv) {
    this.#spec = spec;
    this.#env = env;
    const keepIn = prev !== undefined && prev.#in !== undefined && prev.#in.text === spec.remote?.text;
    const keepOut = prev !== undefined && prev.#out !== undefined && prev.#out.text === spec.local?.text;
    this.#in = keepIn ? prev.#take('in') : this.#open('in', spec.remote);
    this.#out = keepOut ? prev.#take('out') : this.#open('out', spec.local);
  }

  #open(dir: 'in' | 'out', line: CryptoLine | undefined): Direction | undefined {
    if (line === undefined) return undefined;
    try {
      const params = cryptoToSessionParams(line.crypto, { windowSize: this.#spec.replayWindow });
      const s = new SrtpSession(dir === 'in' ? 'inbound' : 'outbound', params);
      this.#env.event({ kind: SRTP_EVENT.contexts, delta: 1 });
      return new Direction(s, line, this.#spec.noticePercent);
    } catch (e) {
      // checked when the stream was prepared; if libsrtp2 still refuses, the stream carries nothing (no_key)
      this.#env.event({ kind: SRTP_EVENT.error, dir, message: errorMessage(e) });
      return undefined;
    }
  }

  /** Hands a direction to the transform that replaces this one (this one no longer uses or frees it). */
  #take(dir: 'in' | 'out'): Direction | undefined {
    const d = dir === 'in' ? this.#in : this.#out;
    if (dir === 'in') this.#in = undefined;
    else this.#out = undefined;
    return d;
  }

  #fail(slot: number): void {
    const env = this.#env;
    env.totals[T_FAIL + slot]!++;
    if (slot === F_AUTH) env.cnt[C_AF]!++;
    else if (slot === F_REPLAY || slot === F_OLD) env.cnt[C_RF]!++;
  }

  /** Counts a packet against the lifetime; raises srtp/rekey once at the notice share. */
  #count(d: Direction, dir: 'in' | 'out'): void {
    const n = ++d.used;
    if (n >= d.notice && !d.noticed) {
      d.noticed = true;
      this.#env.event({ kind: SRTP_EVENT.rekey, dir });
    }
  }

  /** Outbound: the key in use is spent; protect with the line's next one. False when none is left. */
  #nextKey(d: Direction): boolean {
    if (d.key + 1 >= d.limits.length) return false;
    try {
      const params = cryptoToSessionParams(d.line.crypto, { windowSize: this.#spec.replayWindow });
      d.session.update({ ...params, sendKeyIndex: d.key + 1 });
    } catch (e) {
      this.#env.event({ kind: SRTP_EVENT.error, dir: 'out', message: `cannot move to the next key: ${errorMessage(e)}` });
      return false;
    }
    d.key++;
    d.usedOnKey = 0;
    this.#env.event({ kind: SRTP_EVENT.nextKey, dir: 'out', key: d.key });
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
    this.#env.totals[T_UNPROTECT + (rtcp ? 1 : 0)]!++;
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
    this.#env.totals[T_PROTECT + (rtcp ? 1 : 0)]!++;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** Frees the contexts still held (not handed over). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let freed = 0;
    for (const d of [this.#in, this.#out]) {
      if (d === undefined) continue;
      d.session.destroy();
      freed++;
    }
    this.#in = undefined;
    this.#out = undefined;
    if (freed > 0) this.#env.event({ kind: SRTP_EVENT.contexts, delta: -freed });
  }
}

/** Builds a leg's SRTP transforms (the forwarder's PortableSecurity.build, on any thread). */
export function buildSrtpTransform(spec: SrtpSpec, prev: LegSecurity | undefined, env: TransformEnv): SrtpTransform {
  return new SrtpTransform(spec, prev instanceof SrtpTransform ? prev : undefined, env);
}
