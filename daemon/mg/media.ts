/**
 * Local and Remote descriptors of one stream (H.248.1 §7.1.8): choosing among alternatives,
 * allocating real ports for `$`, and writing the gateway's address and ports into the Local SDP.
 *
 * What the gateway fills in a Local today: `c=` with `$` (the realm's `advertise` or `address`), the
 * `m=` port `$`, and `a=rtcp:$` (port, and address when written `$`). Other `$` values (`inline:$`,
 * `a=fingerprint:... $`, `a=path:$`, `a=tls-id:$`) belong to the SRTP, TLS/DTLS and MSRP parts and
 * are left as written until those parts fill them.
 */
import { isIP } from 'node:net';
import {
  SDP_ATTR,
  SdpGroup,
  type SdpMedia,
  type SdpTransport,
} from '../control/codec/sdp.js';
import type { PortLease, PortManager, RtpPairLease, TcpPortLease, UdpPortLease } from '../bearer/ports.js';
import { mgError, shown } from './errors.js';

/** How a transport takes ports from the realm. */
export type AllocationKind = 'rtp' | 'udp' | 'tcp';

/**
 * PROFILE §3 transports and what each allocates: RTP (even RTP + odd RTCP), one UDP port (UDPTL,
 * DTLS/UDPTL), or a TCP port (bound later by the TCP bearer). `null`: not supported, answered 449
 * naming the transport. DTLS-SRTP is "later" in PROFILE §3, so it is not offered yet.
 */
export const TRANSPORT_ALLOCATION: Readonly<Record<SdpTransport, AllocationKind | null>> = Object.freeze({
  'RTP/AVP': 'rtp',
  'RTP/AVPF': 'rtp',
  'RTP/SAVP': 'rtp',
  'RTP/SAVPF': 'rtp',
  udptl: 'udp',
  'UDP/TLS/UDPTL': 'udp',
  TCP: 'tcp',
  'TCP/MSRP': 'tcp',
  'TCP/TLS/MSRP': 'tcp',
  'TCP/TLS': 'tcp',
  'TCP/TLS/BFCP': 'tcp',
  'TCP/BFCP': 'tcp',
  'UDP/TLS/RTP/SAVP': null,
  'UDP/TLS/RTP/SAVPF': null,
  unknown: null,
});

/** A port lease held by a stream, with what the SDP needs from it. */
export interface MediaPort {
  readonly kind: AllocationKind;
  readonly realm: string;
  /** RTP port, or the single UDP/TCP port. */
  readonly port: number;
  /** RTCP port (RTP only). */
  readonly rtcpPort?: number;
  readonly lease: PortLease;
}

/** What a realm gives the media code. */
export interface RealmPorts {
  readonly name: string;
  /** Address written into SDP (`advertise`, else the bind address). */
  readonly sdpAddress: string;
  readonly ports: PortManager;
  /** Counts an allocation refused for lack of ports (metrics). */
  onExhausted?(): void;
}

export interface LocalResult {
  /** The groups the gateway keeps and returns (one, or every supported one with ReserveGroup). */
  readonly groups: SdpGroup[];
  /** Every port the stream holds afterwards. */
  readonly ports: MediaPort[];
  /** Ports allocated by this call (to release if the command fails). */
  readonly fresh: MediaPort[];
}

/** The transport of a group's single m= line; undefined for a group without m=. 474 for several m=. */
function mediaOf(g: SdpGroup): SdpMedia | undefined {
  if (g.media.length > 1) {
    throw mgError('ERR_MG_BAD_SDP', 'Invalid SDP: one session description may hold only one m= line (H.248.1 §7.1.8)');
  }
  return g.media[0];
}

function kindOf(m: SdpMedia | undefined): AllocationKind | null | undefined {
  return m === undefined ? undefined : TRANSPORT_ALLOCATION[m.transport];
}

/**
 * The alternatives to keep: the first supported one (ReserveGroup false), or every supported one
 * (ReserveGroup true, H.248.1 §7.1.7). None supported: 449 naming the first transport, unless
 * ReserveGroup allows answering an empty descriptor.
 */
export function chooseGroups(groups: readonly SdpGroup[], reserveGroup: boolean, which: 'Local' | 'Remote'): SdpGroup[] {
  const out: SdpGroup[] = [];
  let firstBad: string | undefined;
  for (const g of groups) {
    const m = mediaOf(g);
    const kind = kindOf(m);
    if (kind === null) {
      firstBad ??= m?.proto;
      continue;
    }
    out.push(g);
    if (!reserveGroup) break;
  }
  if (out.length === 0 && groups.length > 0 && !reserveGroup) {
    throw mgError('ERR_BEARER_UNSUPPORTED_TRANSPORT', `unsupported transport ${shown(firstBad ?? '?')} in ${which}`, {
      transport: firstBad,
    });
  }
  return out;
}

/** Reads the typed attributes the gateway relies on, so a malformed one is 474 now, not later. */
export function validateGroup(g: SdpGroup, which: 'Local' | 'Remote'): void {
  for (const m of g.media) {
    for (const s of [g.session, m]) {
      s.get(SDP_ATTR.rtcp);
      s.getAll(SDP_ATTR.crypto);
      s.get(SDP_ATTR.setup);
      s.get(SDP_ATTR.connection);
      if (which === 'Remote') {
        s.getAll(SDP_ATTR.fingerprint);
        s.get(SDP_ATTR.path);
        s.get(SDP_ATTR.tlsId);
      }
    }
    if (which === 'Remote' && (m.port === '$' || g.effectiveConnection(m)?.address === '$')) {
      throw mgError('ERR_PKG_BAD_VALUE', 'CHOOSE ($) is not allowed in Remote', { value: '$' });
    }
  }
}

async function allocate(kind: AllocationKind, realm: RealmPorts): Promise<MediaPort> {
  try {
    switch (kind) {
      case 'rtp': {
        const l: RtpPairLease = await realm.ports.allocateRtpPair();
        return { kind, realm: realm.name, port: l.rtpPort, rtcpPort: l.rtcpPort, lease: l };
      }
      case 'udp': {
        const l: UdpPortLease = await realm.ports.allocateUdp();
        return { kind, realm: realm.name, port: l.port, lease: l };
      }
      case 'tcp': {
        // reserved only: the TCP bearer binds it (listen or connect from it) when it knows its role
        const l: TcpPortLease = await realm.ports.allocateTcpPort();
        return { kind, realm: realm.name, port: l.port, lease: l };
      }
    }
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_PORTS_EXHAUSTED') realm.onExhausted?.();
    throw e;
  }
}

export function releaseAll(ports: readonly MediaPort[]): Promise<void> {
  return Promise.all(ports.map((p) => p.lease.release().catch(() => undefined))).then(() => undefined);
}

function addrTypeOf(address: string, written: string): string {
  const v = isIP(address);
  return v === 6 ? 'IP6' : v === 4 ? 'IP4' : written;
}

/** Writes address and ports into one group (in place). */
function fill(g: SdpGroup, port: MediaPort | undefined, realm: RealmPorts): void {
  const addr = realm.sdpAddress;
  const m = g.media[0];
  let hasConnection = false;
  for (const s of m !== undefined ? [g.session, m] : [g.session]) {
    const c = s.connection();
    if (c === undefined) continue;
    hasConnection = true;
    if (c.address === '$') s.setConnection({ nettype: c.nettype, addrtype: addrTypeOf(addr, c.addrtype), address: addr });
  }
  if (m === undefined) return;
  if (!hasConnection && port !== undefined) {
    // the controller asked for a port but wrote no c=: the port is useless without our address
    g.session.setConnection({ nettype: 'IN', addrtype: addrTypeOf(addr, 'IP4'), address: addr });
  }
  if (port !== undefined && m.port === '$') m.setPort(port.port);
  const rtcp = m.get(SDP_ATTR.rtcp);
  if (rtcp !== undefined && (rtcp.port === '$' || rtcp.address === '$')) {
    const next = { ...rtcp };
    if (rtcp.port === '$' && port?.rtcpPort !== undefined) next.port = port.rtcpPort;
    if (rtcp.address === '$') {
      next.address = addr;
      next.addrtype = addrTypeOf(addr, rtcp.addrtype ?? 'IP4');
    }
    m.set(SDP_ATTR.rtcp, next);
  }
}

/**
 * Applies a Local descriptor: keeps the chosen alternative(s), takes a port for each `$` port
 * (re-using one the stream already holds in the same realm with the same kind: a Modify that keeps
 * the transport keeps its port), and fills the SDP. `groups` are consumed (filled in place). On
 * failure every port allocated here is released before the error is thrown.
 */
export async function applyLocal(
  groups: readonly SdpGroup[],
  options: { readonly realm: RealmPorts; readonly current: readonly MediaPort[]; readonly reserveGroup: boolean },
): Promise<LocalResult> {
  const chosen = chooseGroups(groups, options.reserveGroup, 'Local');
  for (const g of chosen) validateGroup(g, 'Local');
  const reusable = options.current.filter((p) => p.realm === options.realm.name);
  const used: MediaPort[] = [];
  const fresh: MediaPort[] = [];
  const take = (pred: (p: MediaPort) => boolean): MediaPort | undefined => {
    const i = reusable.findIndex(pred);
    if (i < 0) return undefined;
    const [p] = reusable.splice(i, 1);
    return p;
  };
  try {
    for (const g of chosen) {
      const m = g.media[0];
      const kind = kindOf(m);
      let port: MediaPort | undefined;
      if (m !== undefined && kind) {
        if (m.port === '$') {
          port = take((p) => p.kind === kind);
          if (port === undefined) {
            port = await allocate(kind, options.realm);
            fresh.push(port);
          }
        } else if (typeof m.port === 'number' && m.port !== 0) {
          // a port written out must be one we hold (the controller echoing our earlier answer)
          port = take((p) => p.kind === kind && p.port === m.port);
          if (port === undefined) {
            throw mgError('ERR_PKG_BAD_VALUE', `Local port ${m.port} is not held by the gateway (write $ to have one chosen)`, {
              value: m.port,
            });
          }
        }
      }
      if (port !== undefined) used.push(port);
      fill(g, port, options.realm);
    }
  } catch (e) {
    await releaseAll(fresh);
    throw e;
  }
  return { groups: chosen, ports: used, fresh };
}

/** Applies a Remote descriptor: the chosen alternative(s), validated. */
export function applyRemote(groups: readonly SdpGroup[], reserveGroup: boolean): SdpGroup[] {
  const chosen = chooseGroups(groups, reserveGroup, 'Remote');
  for (const g of chosen) validateGroup(g, 'Remote');
  return chosen;
}

/** A deep copy of groups (the Local template is kept unfilled for re-allocation in another realm). */
export function cloneGroups(groups: readonly SdpGroup[]): SdpGroup[] {
  return groups.map((g) => g.clone());
}

export { SdpGroup };
