/**
 * Receive statistics of one RTP stream, per RFC 3550 Appendix A: extended highest sequence number
 * with wrap and reordering (A.1), cumulative loss (A.3) and interarrival jitter (A.8). Plain number
 * fields updated in place per packet: no allocation.
 *
 * Differences from A.1, on purpose: no probation for a new SSRC (the packet already passed the
 * stream's source checks, and the gateway does not play media out, it only counts), and a new SSRC
 * restarts the sequence state while the loss of earlier SSRCs is kept (`lostBefore`), so rtp/pl
 * covers the whole life of the stream.
 */

const RTP_SEQ_MOD = 0x10000;
/** RFC 3550 A.1: a jump of fewer packets than this is a gap (loss), not a restart. */
const MAX_DROPOUT = 3000;
/** RFC 3550 A.1: a packet this far behind is late (reordered or a duplicate). */
const MAX_MISORDER = 100;
const TWO_32 = 0x100000000;

export class RtpReceiveStats {
  /** SSRC being tracked; -1 before the first packet. */
  ssrc = -1;
  baseSeq = 0;
  maxSeq = 0;
  /** Shifted count of sequence number cycles (multiples of 65536). */
  cycles = 0;
  /** A.1 `bad_seq`: the sequence number that, if it comes next, means the source restarted. */
  badSeq = RTP_SEQ_MOD + 1;
  /** Packets counted for the current SSRC (duplicates included, as in A.3). */
  received = 0;
  /** Loss of the SSRCs seen before the current one. */
  lostBefore = 0;
  /** A.8 state: relative transit time of the last packet, in timestamp units; NaN: none yet. */
  transit = Number.NaN;
  /** Clock rate the transit was measured with (a payload type change with another rate resets it). */
  rate = 0;
  /** Interarrival jitter in timestamp units (A.8 `jitter`, kept as a float, not shifted by 4). */
  jitter = 0;

  /** Packets lost so far (never negative: duplicates can make expected < received). */
  get lost(): number {
    const expected = this.cycles + this.maxSeq - this.baseSeq + 1;
    const cur = this.ssrc < 0 ? 0 : expected - this.received;
    return this.lostBefore + (cur > 0 ? cur : 0);
  }

  /** Jitter in milliseconds at the clock rate of the last packet. */
  get jitterMs(): number {
    return this.rate > 0 ? (this.jitter * 1000) / this.rate : 0;
  }

  /**
   * One received packet: `seq`, `ts` and `ssrc` from its header, `arrivalMs` from a monotonic clock,
   * `rate` the clock rate of its payload type (Hz).
   */
  update(seq: number, ts: number, ssrc: number, arrivalMs: number, rate: number): void {
    if (ssrc !== this.ssrc) {
      if (this.ssrc >= 0) this.lostBefore = this.lost;
      this.ssrc = ssrc;
      this.#initSeq(seq);
      this.transit = Number.NaN;
      this.jitter = 0;
      this.received = 1;
    } else {
      this.#updateSeq(seq);
    }
    // A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16, all in timestamp units
    if (rate !== this.rate) {
      this.rate = rate;
      this.transit = Number.NaN;
    }
    const transit = (arrivalMs * rate) / 1000 - ts;
    const prev = this.transit;
    this.transit = transit;
    if (prev === prev) {
      let d = transit - prev;
      // the 32-bit RTP timestamp wrapped between the two packets
      if (d > TWO_32 / 2) d -= TWO_32;
      else if (d < -TWO_32 / 2) d += TWO_32;
      if (d < 0) d = -d;
      this.jitter += (d - this.jitter) / 16;
    }
  }

  #initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
  }

  /** RFC 3550 A.1 update_seq without probation. */
  #updateSeq(seq: number): void {
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (udelta < MAX_DROPOUT) {
      // in order, with a permissible gap
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // a very large jump: twice in a row means the sender restarted its sequence
      if (seq === this.badSeq) {
        this.lostBefore = this.lost;
        this.#initSeq(seq);
        this.received = 1;
        return;
      }
      this.badSeq = (seq + 1) & 0xffff;
      return;
    }
    // in order, or a duplicate / reordered packet (the highest sequence number stays): counted
    this.received++;
  }
}
