/**
 * e2ae SRTP termination (PROFILE §4, §9), the owner's half: the UDP media plane hands it the streams
 * of RTP/SAVP(F) with a=crypto; it fills and checks the SDES lines (sdes.ts) and gives each such leg
 * an SrtpLeg: the portable description of its keys (an SrtpSpec) that the forwarder running the leg
 * builds the per-packet transforms from (transform.ts), on the main thread or on a relay worker. What
 * the transforms report comes back here: contexts opened and freed (trgwd_srtp_contexts), key
 * lifetimes (srtp/rekey where requested, logs), errors; their packet and failure counts come through
 * the forwarder's totals (addTotals: trgwd_srtp_packets_total, trgwd_srtp_failures_total) and the
 * leg's counters (srtp/af, srtp/rf statistics, kept across rekeys).
 */
import type { SdpGroup } from '../../control/codec/sdp.js';
import { TrgwdError } from '../../errors.js';
import type { StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import {
  CNT,
  type AnySecurity,
  type LegSecurity,
  type PortableSecurity,
  type SecurityEvent,
  type TransformEnv,
} from '../../bearer/udp/forwarder.js';
import type { UdpStreamSecurity } from '../../bearer/udp/udp-plane.js';
import { nativeAvailable } from './binding.js';
import { chooseCrypto, cryptoValues, prepareSdes, type CryptoLine } from './sdes.js';
import { SRTP_EVENT, SRTP_FAILURES, SRTP_TOTALS, buildSrtpTransform, type SrtpSpec } from './transform.js';

export { SRTP_FAILURES, type SrtpFailure } from './transform.js';

export const REKEY_EVENT = 'srtp/rekey';

export interface SrtpE2aeOptions {
  /** `srtp.replayWindow`. */
  readonly replayWindow?: number;
  /** `srtp.rekeyNoticePercent`. */
  readonly rekeyNoticePercent?: number;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** Random source for generated keys (tests); default node:crypto's CSPRNG. */
  readonly random?: (n: number) => Uint8Array;
}

/**
 * A leg's SRTP keys as the forwarder needs them (PortableSecurity): the spec it builds the transforms
 * from wherever the leg runs, and where their events go (this termination and stream).
 */
export class SrtpLeg implements PortableSecurity {
  readonly spec: SrtpSpec;
  readonly #owner: SrtpE2ae;
  readonly #stream: Stream;
  #termination: Termination;

  constructor(owner: SrtpE2ae, stream: Stream, termination: Termination, local: CryptoLine | undefined, remote: CryptoLine | undefined) {
    this.#owner = owner;
    this.#stream = stream;
    this.#termination = termination;
    this.spec = { kind: 'srtp', local, remote, replayWindow: owner.replayWindow, noticePercent: owner.noticePercent };
  }

  get localText(): string | undefined {
    return this.spec.local?.text;
  }

  get remoteText(): string | undefined {
    return this.spec.remote?.text;
  }

  set termination(t: Termination) {
    this.#termination = t;
  }

  build(prev: LegSecurity | undefined, env: TransformEnv): LegSecurity {
    return buildSrtpTransform(this.spec, prev, env);
  }

  onEvent(e: SecurityEvent): void {
    const t = this.#termination;
    const stream = this.#stream.id;
    switch (e.kind) {
      case SRTP_EVENT.contexts:
        this.#owner.contextsChanged(e.delta ?? 0);
        break;
      case SRTP_EVENT.rekey:
        this.#owner.rekeyNotice(t, this.#stream, e.dir ?? 'out');
        break;
      case SRTP_EVENT.nextKey:
        t.log.info({ stream, key: e.key }, 'srtp: key lifetime used up; next key of the line');
        break;
      case SRTP_EVENT.error:
        t.log.error({ stream, dir: e.dir, err: e.message }, 'srtp: no crypto context');
        break;
    }
  }
}

export class SrtpE2ae implements UdpStreamSecurity {
  readonly replayWindow: number;
  readonly noticePercent: number;
  readonly #random: ((n: number) => Uint8Array) | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #log: Logger;
  #contexts = 0;

  constructor(options: SrtpE2aeOptions = {}) {
    this.replayWindow = options.replayWindow ?? 128;
    this.noticePercent = options.rekeyNoticePercent ?? 90;
    this.#random = options.random;
    this.#metrics = options.metrics;
    this.#log = options.log ?? silentLogger();
    this.#metrics?.srtpContexts.set(0);
  }

  /** Crypto contexts in use now (as reported by the transforms, on whatever thread they run). */
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

  legSecurity(
    stream: Stream,
    termination: Termination,
    current: AnySecurity | undefined,
    counters: Float64Array | undefined,
  ): AnySecurity | undefined {
    const { local, remote } = chooseCrypto(cryptoValues(stream.local), cryptoValues(stream.remote));
    const prev = current instanceof SrtpLeg ? current : undefined;
    if (prev !== undefined && prev.localText === local?.text && prev.remoteText === remote?.text) {
      prev.termination = termination;
      return prev;
    }
    const leg = new SrtpLeg(this, stream, termination, local, remote);
    if (prev === undefined && counters !== undefined) {
      // the leg's counters outlive rekeys and moves between threads
      stream.extraStatistics.set('srtp/af', () => counters[CNT.securityAuthFail]!);
      stream.extraStatistics.set('srtp/rf', () => counters[CNT.securityReplay]!);
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

  /** Adds a realm's SRTP totals (the forwarder's security block) to Prometheus. */
  addTotals(t: Float64Array): void {
    const m = this.#metrics;
    if (m === undefined) return;
    const ops = [
      ['protect', 'rtp', SRTP_TOTALS.protect],
      ['protect', 'rtcp', SRTP_TOTALS.protect + 1],
      ['unprotect', 'rtp', SRTP_TOTALS.unprotect],
      ['unprotect', 'rtcp', SRTP_TOTALS.unprotect + 1],
    ] as const;
    for (const [operation, protocol, i] of ops) if (t[i]! > 0) m.srtpPackets.inc({ operation, protocol }, t[i]!);
    for (let f = 0; f < SRTP_FAILURES.length; f++) {
      const n = t[SRTP_TOTALS.failures + f]!;
      if (n > 0) m.srtpFailures.inc({ reason: SRTP_FAILURES[f]! }, n);
    }
  }

  // ---- for the legs -----------------------------------------------------------------------------

  /** @internal crypto contexts opened (> 0) or freed (< 0) by a leg's transforms. */
  contextsChanged(delta: number): void {
    this.#contexts += delta;
    this.#metrics?.srtpContexts.set(this.#contexts);
  }

  /** @internal a key reached the notice share of its lifetime (rare: once per key). */
  rekeyNotice(t: Termination, s: Stream, dir: 'in' | 'out'): void {
    this.#metrics?.srtpRekeyNotices.inc({ direction: dir });
    t.log.warn({ stream: s.id, dir, percent: this.noticePercent }, 'srtp: key lifetime nearly used up; rekey needed');
    t.raise(REKEY_EVENT, { dir }, s.id);
  }

  close(): void {
    this.#log.debug({ contexts: this.#contexts }, 'srtp termination closed');
  }
}
