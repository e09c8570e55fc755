/**
 * Statistics of a termination (H.248.1 E.11 nt, E.12 rtp) computed from its streams' counters:
 * nt/dur (ms in the current context), nt/os, nt/or (octets), and for RTP streams rtp/ps, rtp/pr
 * (packets), rtp/pl (loss, percent of expected packets) and rtp/jit (ms, the worst stream); with
 * policing on (tman/pol), tmanr/dp and tmanr/do (packets and octets the policer dropped).
 */
import type { Stream } from './stream.js';
import type { Termination } from './termination.js';
import type { StreamCounters } from './types.js';

export interface StatValue {
  /** Canonical `pkg/item`. */
  readonly name: string;
  readonly value: number;
}

/** Names of the statistics kept on every termination / on RTP streams. */
export const TERMINATION_STATS = ['nt/dur', 'nt/os', 'nt/or'] as const;
export const RTP_STATS = ['rtp/ps', 'rtp/pr', 'rtp/pl', 'rtp/jit'] as const;

function sum(streams: readonly Stream[], pick: (c: StreamCounters) => number): number {
  let n = 0;
  for (const s of streams) n += pick(s.counters);
  return n;
}

function lossPercent(received: number, lost: number): number {
  const expected = received + lost;
  return expected > 0 ? Math.round((lost / expected) * 10000) / 100 : 0;
}

function rtpStats(rtp: readonly Stream[]): StatValue[] {
  const pr = sum(rtp, (c) => c.packetsReceived);
  const pl = sum(rtp, (c) => c.packetsLost);
  let jit = 0;
  for (const s of rtp) jit = Math.max(jit, s.counters.jitterMs);
  return [
    { name: 'rtp/ps', value: sum(rtp, (c) => c.packetsSent) },
    { name: 'rtp/pr', value: pr },
    { name: 'rtp/pl', value: lossPercent(pr, pl) },
    { name: 'rtp/jit', value: jit },
  ];
}

/** Every statistic kept on the termination, in a stable order. */
export function terminationStatistics(t: Termination, now: number): StatValue[] {
  const streams = [...t.streams.values()];
  const out: StatValue[] = [
    { name: 'nt/dur', value: Math.max(0, Math.round(now - t.joinedAt)) },
    { name: 'nt/os', value: sum(streams, (c) => c.octetsSent) },
    { name: 'nt/or', value: sum(streams, (c) => c.octetsReceived) },
  ];
  const rtp = streams.filter((s) => s.isRtp);
  if (rtp.length > 0) out.push(...rtpStats(rtp));
  const policed = streams.filter(isPoliced);
  if (policed.length > 0) out.push(...policingStats(policed));
  out.push(...extraStats(streams));
  return out;
}

/** Statistics the media planes keep per stream (Stream.extraStatistics), summed by name. */
function extraStats(streams: readonly Stream[]): StatValue[] {
  const sums = new Map<string, number>();
  for (const s of streams) for (const [name, read] of s.extraStatistics) sums.set(name, (sums.get(name) ?? 0) + read());
  return [...sums].map(([name, value]) => ({ name, value }));
}

/** Policing is on for the stream (tman/pol=on): it has tmanr statistics (H.248.53). */
function isPoliced(s: Stream): boolean {
  return s.property('tman/pol')?.value === true;
}

function policingStats(streams: readonly Stream[]): StatValue[] {
  return [
    { name: 'tmanr/dp', value: sum(streams, (c) => c.policedPackets) },
    { name: 'tmanr/do', value: sum(streams, (c) => c.policedOctets) },
  ];
}

/** The statistics of one stream (v2 per-stream Statistics): octets, and RTP counters on RTP streams. */
export function streamStatistics(s: Stream): StatValue[] {
  const out: StatValue[] = [
    { name: 'nt/os', value: s.counters.octetsSent },
    { name: 'nt/or', value: s.counters.octetsReceived },
  ];
  if (s.isRtp) out.push(...rtpStats([s]));
  if (isPoliced(s)) out.push(...policingStats([s]));
  out.push(...extraStats([s]));
  return out;
}
