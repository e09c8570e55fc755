/**
 * Who may send to a stream, and where the gateway sends (PROFILE §9): source filtering (`gm/saf`,
 * `gm/sam`, `gm/spf`, `gm/spr`) and latching (`ipnapt/latch`, `ipnapt/rlatch`).
 *
 * Source rules, checked per packet in this order:
 *   1. Port filter (`gm/spf=on`): the source port must be within `gm/spr` (`<port>` or `<low>-<high>`),
 *      or, without `gm/spr`, equal the Remote port (RTP: the m= port; RTCP: a=rtcp or m= port + 1).
 *   2. Address filter (`gm/saf=on`): the source address must match `gm/sam`: a prefix
 *      (`192.0.2.0/24`, `2001:db8::/32`), a dotted IPv4 netmask applied to the Remote address
 *      (`255.255.255.0`), or one address; without `gm/sam`, the Remote address itself.
 *   3. Without latching and without `gm/saf`, the source address must be the Remote address (any
 *      port: peers need not send from the port they receive on). No Remote yet: nothing is admitted.
 *
 * Latching (per socket: RTP and RTCP latch separately; on a muxed port they share one):
 *   - `ipnapt/latch=on`: the first packet that passes the rules above (and the stream's packet check:
 *     a valid RTP v2 header, a valid RTCP header, any non-empty UDPTL datagram) fixes the destination
 *     to its source address and port; until then the gateway sends to Remote. Packets from any other
 *     source are dropped afterwards.
 *   - `ipnapt/rlatch=on` as well: a new source takes over after `relatchPackets` consecutive valid
 *     packets from it (for RTP, of one SSRC); a packet from the latched source in between resets the
 *     count. The new source's packets are dropped until it takes over.
 *   - A new Remote address or port (Modify) forgets the latch.
 *   - Each change of the RTP (or UDPTL) destination away from Remote is reported (`adr/ipcha` with the
 *     new address and port) by the media plane.
 */
import { BlockList, SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { TrgwdError } from '../../errors.js';

/** An IPv4 dotted quad as an unsigned 32-bit number, or -1 if `s` is not one. Allocation-free. */
export function ipv4ToInt(s: string): number {
  let acc = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      acc = acc * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      if (dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255 || digits > 3) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return acc * 256 + part;
}

/**
 * The address filter as plain data (it travels to worker threads): one exact address, an IPv4 prefix
 * (numbers) or an IPv6 prefix (compiled into a BlockList where it is used: compileMatch()).
 */
export type AddressMatch =
  | { readonly kind: 'exact'; readonly address: string }
  | { readonly kind: 'v4'; readonly net: number; readonly mask: number }
  | { readonly kind: 'v6'; readonly network: string; readonly prefix: number };

/** An AddressMatch ready for the packet path. */
export type CompiledMatch =
  | { readonly kind: 'exact'; readonly address: string }
  | { readonly kind: 'v4'; readonly net: number; readonly mask: number }
  | { readonly kind: 'v6'; readonly list: BlockList };

export function compileMatch(m: AddressMatch): CompiledMatch {
  if (m.kind !== 'v6') return m;
  const list = new BlockList();
  list.addSubnet(m.network, m.prefix, 'ipv6');
  return { kind: 'v6', list };
}

function bad(what: string, value: string): TrgwdError {
  return new TrgwdError(
    'ERR_PKG_BAD_VALUE',
    `bad value ${JSON.stringify(value).replace(/"/g, '')} for ${what}`,
    {
      details: { value },
    },
  );
}

function maskOfPrefix(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a contiguous dotted netmask, or -1. */
function netmaskLength(n: number): number {
  for (let len = 0; len <= 32; len++) if (maskOfPrefix(len) === n) return len;
  return -1;
}

/** Canonical text of an IP address as Node reports packet sources (IPv6 compressed, lower case). */
export function canonicalAddress(address: string): string {
  // Node's own text form, the one rinfo.address has (URL would print ::ffff:1.2.3.4 as ::ffff:102:304)
  if (isIPv6(address)) return new SocketAddress({ address, family: 'ipv6' }).address;
  return address;
}

/**
 * `gm/sam` against the Remote address (see the module comment). Throws ERR_PKG_BAD_VALUE (449) for a
 * value that is none of the accepted forms. Returns undefined when it needs a Remote that is missing.
 */
export function parseSam(sam: string | undefined, remote: string | undefined): AddressMatch | undefined {
  if (sam === undefined || sam.trim() === '')
    return remote !== undefined ? { kind: 'exact', address: canonicalAddress(remote) } : undefined;
  const v = sam.trim();
  const slash = v.indexOf('/');
  if (slash >= 0) {
    const addr = v.slice(0, slash);
    const lenText = v.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) throw bad('gm/sam', sam);
    const len = Number(lenText);
    if (isIPv4(addr) && len <= 32) {
      const mask = maskOfPrefix(len);
      return { kind: 'v4', net: (ipv4ToInt(addr) & mask) >>> 0, mask };
    }
    if (isIPv6(addr) && len <= 128) return { kind: 'v6', network: addr, prefix: len };
    throw bad('gm/sam', sam);
  }
  if (isIPv4(v)) {
    const n = ipv4ToInt(v);
    const len = netmaskLength(n);
    // a netmask (255.255.255.0) applies to the Remote address; 255.255.255.255 is the Remote address
    if (len >= 8 || n === 0) {
      if (remote === undefined || !isIPv4(remote)) return undefined;
      return { kind: 'v4', net: (ipv4ToInt(remote) & n) >>> 0, mask: n };
    }
    return { kind: 'exact', address: v };
  }
  if (isIPv6(v)) return { kind: 'exact', address: canonicalAddress(v) };
  throw bad('gm/sam', sam);
}

/** `gm/spr`: `<port>` or `<low>-<high>`. Throws ERR_PKG_BAD_VALUE (449) otherwise. */
export function parseSpr(spr: string): readonly [number, number] {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(spr);
  if (m === null) throw bad('gm/spr', spr);
  const low = Number(m[1]);
  const high = m[2] !== undefined ? Number(m[2]) : low;
  if (low > 65535 || high > 65535 || low > high) throw bad('gm/spr', spr);
  return [low, high];
}

/** True when `address` matches. Allocation-free for exact and IPv4 matches. */
export function addressMatches(m: CompiledMatch, address: string): boolean {
  switch (m.kind) {
    case 'exact':
      return address === m.address;
    case 'v4': {
      const n = ipv4ToInt(address);
      return n >= 0 && (n & m.mask) >>> 0 === m.net;
    }
    case 'v6':
      // rare (IPv6 media with a mask filter); BlockList parses the address for us
      return isIPv6(address) && m.list.check(address, 'ipv6');
  }
}
