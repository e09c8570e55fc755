/**
 * Helpers of the UDP relay integration tests: a gateway model (the command harness) with the UDP
 * media plane, and two-party calls built with H.248 text between loopback peers.
 */
import assert from 'node:assert/strict';
import { UdpMediaPlane, type UdpMediaPlaneOptions } from '../../daemon/bearer/udp/udp-plane.js';
import {
  amm,
  audit,
  commands,
  harness,
  localOf,
  portOf,
  type Harness,
} from '../unit/control/commands/harness.js';
import { metricValue } from '../helpers/daemon.js';
import { LO, type Peer } from '../unit/bearer/udp/peer.js';

export interface RelayHarness extends Harness {
  readonly plane: UdpMediaPlane;
  /** A metric's value after flushing the relay's counters. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export function relayHarness(base: number, opts: UdpMediaPlaneOptions = {}): RelayHarness {
  const h = harness(base);
  const plane = new UdpMediaPlane({ metrics: h.metrics, log: h.mg.log, ...opts });
  h.mg.addMediaPlane(plane);
  return Object.assign(h, {
    plane,
    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      plane.flushMetrics();
      return metricValue(await h.metrics.registry.metrics(), name, labels) ?? 0;
    },
  });
}

export interface Side {
  /** Transport and formats of the m= line (default `RTP/AVP 0`). */
  readonly proto?: string;
  readonly media?: string;
  /** Extra SDP lines for Local / Remote (with trailing newline). */
  readonly localExtra?: string;
  readonly remoteExtra?: string;
  /** Remote port (default: the peer's). */
  readonly remotePort?: number;
  /** Remote address (default 127.0.0.1). */
  readonly remoteAddress?: string;
  readonly mode?: string;
  /** More LocalControl properties (`ipnapt/latch = on, ...`). */
  readonly props?: string;
  /** An Events descriptor for the termination (`Events = 1 { adr/ipcha }`). */
  readonly events?: string;
}

export interface Call {
  readonly ctx: number;
  readonly a: string;
  readonly b: string;
  /** Gateway ports facing peer a and peer b (RTP or UDPTL; RTCP is +1). */
  readonly gwA: number;
  readonly gwB: number;
}

export function remoteSdp(peerPort: number, s: Side = {}): string {
  return `v=0\nc=IN IP4 ${s.remoteAddress ?? LO}\nm=${s.media ?? 'audio'} ${s.remotePort ?? peerPort} ${s.proto ?? 'RTP/AVP 0'}\n${s.remoteExtra ?? ''}`;
}

function localSdp(s: Side): string {
  return `v=0\nc=IN IP4 $\nm=${s.media ?? 'audio'} $ ${s.proto ?? 'RTP/AVP 0'}\n${s.localExtra ?? ''}`;
}

function addText(peer: Peer, s: Side): string {
  const lc = [`Mode = ${s.mode ?? 'SendReceive'}`, ...(s.props !== undefined ? [s.props] : [])].join(', ');
  const ev = s.events !== undefined ? `, ${s.events}` : '';
  return `Add = $ { Media { Stream = 1 { LocalControl { ${lc} }, Local { ${localSdp(s)} }, Remote { ${remoteSdp(peer.port, s)} } } }${ev} }`;
}

/** Context $ with two terminations: a faces peer `pa`, b faces peer `pb`. */
export async function call(h: Harness, pa: Peer, pb: Peer, sa: Side = {}, sb: Side = {}): Promise<Call> {
  const r = await h.tx(`Context = $ { ${addText(pa, sa)}, ${addText(pb, sb)} }`);
  assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
  // relay worker threads bind the ports just after the reply: wait for them (a no-op on the main thread)
  await (h as Partial<RelayHarness>).plane?.forwarder.settled?.();
  const [ca, cb] = commands(r);
  return {
    ctx: r[0]!.contextId as number,
    a: amm(ca).terminationId,
    b: amm(cb).terminationId,
    gwA: portOf(localOf(audit(ca))),
    gwB: portOf(localOf(audit(cb))),
  };
}

/** Statistics of a Subtract (or AuditValue) reply as name → number. */
export function statsOf(r: Awaited<ReturnType<Harness['tx']>>, i = 0): Record<string, number> {
  const st = audit(commands(r)[i])?.statistics ?? [];
  return Object.fromEntries(st.map((s) => [s.name, Number(s.value)]));
}
