/**
 * Token-bucket policing of received packets (PROFILE §9, H.248.53 tman): a sustained bucket filled at
 * `tman/sdr` bytes/s holding at most `tman/mbs` bytes, and, when `tman/pdr` is given, a peak bucket
 * filled at `pdr` holding `pdr × tman/dvt` (µs) bytes but never less than one 1500-byte packet. A packet
 * passes when both buckets hold its size; it then takes its size from both. A dropped packet takes
 * nothing, so traffic within the buckets is never dropped. Both buckets start full.
 *
 * The size policed is the datagram's UDP payload without security overhead: on a leg where the gateway
 * terminates SRTP the forwarder polices the unprotected packet (no tag, MKI or SRTCP index: PROFILE §9
 * "bandwidth adjustment"), so a rate computed for plain media never drops secured media.
 *
 * Time is a monotonic clock in ms (performance.now()), passed in: tests drive it.
 */

/** Peak bucket depth never below one full packet. */
const MIN_PEAK_DEPTH = 1500;

export interface PolicerConfig {
  /** tman/sdr, bytes per second (> 0). */
  readonly sdr: number;
  /** tman/mbs, bytes; absent: one second's worth of sdr. */
  readonly mbs?: number | undefined;
  /** tman/pdr, bytes per second; absent or 0: no peak bucket. */
  readonly pdr?: number | undefined;
  /** tman/dvt, microseconds (the peak bucket's depth in time). */
  readonly dvt?: number | undefined;
}

export class Policer {
  readonly rate: number;
  readonly depth: number;
  readonly peakRate: number;
  readonly peakDepth: number;
  tokens: number;
  peakTokens: number;
  #last: number;

  constructor(cfg: PolicerConfig, nowMs: number) {
    this.rate = cfg.sdr;
    this.depth = cfg.mbs !== undefined && cfg.mbs > 0 ? cfg.mbs : cfg.sdr;
    this.peakRate = cfg.pdr !== undefined && cfg.pdr > 0 ? cfg.pdr : 0;
    this.peakDepth = this.peakRate > 0 ? Math.max(MIN_PEAK_DEPTH, (this.peakRate * (cfg.dvt ?? 0)) / 1e6) : 0;
    this.tokens = this.depth;
    this.peakTokens = this.peakDepth;
    this.#last = nowMs;
  }

  /** Same parameters (a Modify that keeps them must not refill the bucket). */
  sameAs(cfg: PolicerConfig): boolean {
    const p = new Policer(cfg, 0);
    return (
      p.rate === this.rate &&
      p.depth === this.depth &&
      p.peakRate === this.peakRate &&
      p.peakDepth === this.peakDepth
    );
  }

  /** True when a packet of `bytes` conforms (and is charged); false: drop it. */
  admit(bytes: number, nowMs: number): boolean {
    const dt = nowMs - this.#last;
    if (dt > 0) {
      this.#last = nowMs;
      const t = this.tokens + (dt * this.rate) / 1000;
      this.tokens = t < this.depth ? t : this.depth;
      if (this.peakRate > 0) {
        const p = this.peakTokens + (dt * this.peakRate) / 1000;
        this.peakTokens = p < this.peakDepth ? p : this.peakDepth;
      }
    }
    if (bytes > this.tokens) return false;
    if (this.peakRate > 0) {
      if (bytes > this.peakTokens) return false;
      this.peakTokens -= bytes;
    }
    this.tokens -= bytes;
    return true;
  }
}
