/**
 * What a TCP termination should do, from its Local and Remote SDP (RFC 4145) and LocalControl
 * (PROFILE §5). Pure: no sockets, no timers; the leg (leg.ts) turns a plan into listeners and
 * connects.
 *
 * In H.248 the Local `a=setup` is the gateway's own role on that termination and the Remote one the
 * peer's (RFC 4145 §4 values). The gateway is neither offerer nor answerer (the controller is), so
 * the roles are settled here:
 *
 * | Local               | Remote                          | the gateway                          |
 * |---------------------|---------------------------------|--------------------------------------|
 * | `passive`           | any                             | listens on the Local port            |
 * | `active`            | `active`                        | simultaneous open (RFC 793 §3.4)     |
 * | `active`            | other / none                    | connects to the Remote address:port  |
 * | `holdconn`          | any                             | nothing until a Modify or tcpbcc/estab |
 * | `actpass` / absent  | `active`                        | listens                              |
 * | `actpass` / absent  | `passive`                       | connects                             |
 * | `actpass` / absent  | `holdconn`                      | nothing (the peer holds)             |
 * | `actpass` / absent  | `actpass`                       | connects (RFC 4145 §4.1: the answer to actpass is active or passive; active is the one that crosses the peer's NAT) — listens when the Remote port is 9 or 0 |
 * | `actpass` / absent  | no `a=setup`                    | RFC 4145 §4.1 defaults: a Remote port of 9/0 is an active peer (listen), a real port a passive one (connect) |
 * | `actpass` / absent  | no Remote yet                   | listens (an actpass endpoint accepts) |
 *
 * `tcphp/so=on` turns any outgoing role into a simultaneous open, and a passive one too once the
 * Remote port is known (the peer is behind a NAT: listening would never see its SYN).
 * An outgoing role without a usable Remote address and port waits (`wait`) for a Modify.
 */
import { isIP } from 'node:net';
import { SDP_ATTR, type SdpGroup, type SdpMedia, type SdpSetup, type SdpTcpConnection } from '../../control/codec/sdp.js';

/** The peer's address and port as the Remote SDP gives them. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export type TcpAction =
  /** Accept one connection on the Local port. */
  | 'listen'
  /** Connect from the Local port to the Remote endpoint, retrying within a deadline. */
  | 'connect'
  /** Connect repeatedly so crossing SYNs meet (RFC 793 §3.4), until `tcphp/to`. */
  | 'simultaneous'
  /** Nothing until a Modify or the `tcpbcc/estab` signal (holdconn). */
  | 'hold'
  /** An outgoing role but the Remote gives no usable endpoint yet. */
  | 'wait';

export interface TcpPlan {
  readonly action: TcpAction;
  /** Remote address:port when usable for connecting (not port 9/0, not 0.0.0.0). */
  readonly remote: Endpoint | undefined;
  /** Remote address even without a usable port (source filtering of passive legs). */
  readonly remoteAddress: string | undefined;
  readonly localSetup: SdpSetup | undefined;
  readonly remoteSetup: SdpSetup | undefined;
}

export interface PlanInput {
  readonly local: readonly SdpGroup[] | undefined;
  readonly remote: readonly SdpGroup[] | undefined;
  /** `tcphp/so`. */
  readonly simultaneous: boolean;
  /** A `tcpbcc/estab` signal lifted a holdconn. */
  readonly estab: boolean;
}

function firstMedia(groups: readonly SdpGroup[] | undefined): { g: SdpGroup; m: SdpMedia } | undefined {
  const g = groups?.[0];
  const m = g?.media[0];
  return g !== undefined && m !== undefined ? { g, m } : undefined;
}

/** A media-level attribute, else the session-level one (RFC 4145 §4: either level). */
function attr<T>(gm: { g: SdpGroup; m: SdpMedia } | undefined, get: (s: SdpGroup['session']) => T | undefined): T | undefined {
  if (gm === undefined) return undefined;
  return get(gm.m) ?? get(gm.g.session);
}

export function setupOf(groups: readonly SdpGroup[] | undefined): SdpSetup | undefined {
  return attr(firstMedia(groups), (s) => s.get(SDP_ATTR.setup));
}

export function connectionOf(groups: readonly SdpGroup[] | undefined): SdpTcpConnection | undefined {
  return attr(firstMedia(groups), (s) => s.get(SDP_ATTR.connection));
}

/** Ports that mean "no port": 9 (discard, RFC 4145 §4: an active endpoint's port) and 0. */
function usablePort(port: unknown): port is number {
  return typeof port === 'number' && port !== 9 && port !== 0;
}

/** An address one can send to (an IP literal, not the unspecified one). */
export function usableAddress(address: string | undefined): address is string {
  return address !== undefined && isIP(address) !== 0 && address !== '0.0.0.0' && address !== '::';
}

/** The Remote address (and port, when one can be connected to). */
export function remoteOf(groups: readonly SdpGroup[] | undefined): { address: string | undefined; endpoint: Endpoint | undefined } {
  const gm = firstMedia(groups);
  if (gm === undefined) return { address: undefined, endpoint: undefined };
  const address = gm.g.effectiveConnection(gm.m)?.address;
  if (!usableAddress(address)) return { address: undefined, endpoint: undefined };
  return { address, endpoint: usablePort(gm.m.port) ? { address, port: gm.m.port } : undefined };
}

/** Settles the gateway's role (table above). */
export function planOf(input: PlanInput): TcpPlan {
  const localSetup = setupOf(input.local);
  const remoteSetup = setupOf(input.remote);
  const { address, endpoint } = remoteOf(input.remote);
  const hasRemote = firstMedia(input.remote) !== undefined;
  const base = { remote: endpoint, remoteAddress: address, localSetup, remoteSetup };
  const out = (simultaneous: boolean): TcpPlan => ({
    ...base,
    action: endpoint === undefined ? 'wait' : simultaneous || input.simultaneous ? 'simultaneous' : 'connect',
  });
  const listen = (): TcpPlan =>
    input.simultaneous && endpoint !== undefined ? { ...base, action: 'simultaneous' } : { ...base, action: 'listen' };
  // a holdconn lifted by tcpbcc/estab takes the role the Remote leaves (as actpass)
  const local = localSetup === 'holdconn' && input.estab ? 'actpass' : localSetup;
  switch (local) {
    case 'holdconn':
      return { ...base, action: 'hold' };
    case 'passive':
      return listen();
    case 'active':
      return out(remoteSetup === 'active');
    default:
      break;
  }
  // actpass or absent: the role the Remote leaves us
  switch (remoteSetup) {
    case 'active':
      return listen();
    case 'passive':
      return out(false);
    case 'holdconn':
      return input.estab ? (endpoint !== undefined ? out(false) : listen()) : { ...base, action: 'hold' };
    default:
      // actpass, or no a=setup (RFC 4145 §4.1 defaults), or no Remote yet
      if (!hasRemote) return listen();
      return endpoint !== undefined ? out(false) : listen();
  }
}

/** True when the plan makes the gateway connect out (the leg is an outgoing one). */
export function isOutgoing(action: TcpAction): boolean {
  return action === 'connect' || action === 'simultaneous' || action === 'wait';
}
