/**
 * RTP and RTCP header checks for the packet path (RFC 3550 §5.1, §6.4; RFC 5761 §4). Everything here
 * reads octets in place: no allocation, no throw, no DataView. A check returns a boolean or a number
 * and the caller counts and drops what fails.
 */

/** Fixed RTP header (V, P, X, CC, M, PT, sequence number, timestamp, SSRC). */
export const RTP_HEADER_BYTES = 12;
/** RTCP common header plus the sender SSRC: the shortest RTCP packet (an empty RR). */
export const RTCP_MIN_BYTES = 8;

/**
 * RFC 5761 §4: on a muxed port, a packet whose second octet without the marker bit is 64–95 is RTCP
 * (RTCP packet types 192–223 land there); RTP payload types in that range must not be used.
 */
export function isRtcpOnMux(buf: Uint8Array, len: number): boolean {
  if (len < 2) return false;
  const pt = buf[1]! & 0x7f;
  return pt >= 64 && pt <= 95;
}

/**
 * A valid RTP v2 header (RFC 3550 A.1 checks that do not need state): version 2, room for the CSRC
 * list, the header extension and the padding the header announces. SRTP packets pass too (the header
 * is in the clear), so e2e SRTP is checked and counted like RTP.
 */
export function isValidRtp(buf: Uint8Array, len: number): boolean {
  if (len < RTP_HEADER_BYTES) return false;
  const b0 = buf[0]!;
  if (b0 >>> 6 !== 2) return false;
  let hdr = RTP_HEADER_BYTES + 4 * (b0 & 0x0f);
  if (hdr > len) return false;
  if ((b0 & 0x10) !== 0) {
    // header extension: 16-bit profile, 16-bit length in 32-bit words (RFC 3550 §5.3.1)
    if (hdr + 4 > len) return false;
    hdr += 4 + 4 * ((buf[hdr + 2]! << 8) | buf[hdr + 3]!);
    if (hdr > len) return false;
  }
  if ((b0 & 0x20) !== 0) {
    // padding: the last octet counts the padding octets, itself included (RFC 3550 §5.1)
    const pad = buf[len - 1]!;
    if (pad === 0 || hdr + pad > len) return false;
  }
  return true;
}

/**
 * A plausible RTCP packet (RFC 3550 §6.4.1 / A.2): version 2, a first packet type of 192–223 and a
 * first length that fits the datagram. Only the first header is checked: in SRTCP (passed through
 * end to end) what follows it is encrypted and a trailer follows the compound packet.
 */
export function isValidRtcp(buf: Uint8Array, len: number): boolean {
  if (len < RTCP_MIN_BYTES) return false;
  if (buf[0]! >>> 6 !== 2) return false;
  const pt = buf[1]!;
  if (pt < 192 || pt > 223) return false;
  const words = (buf[2]! << 8) | buf[3]!;
  return (words + 1) * 4 <= len;
}

export function rtpPayloadType(buf: Uint8Array): number {
  return buf[1]! & 0x7f;
}

export function rtpSequence(buf: Uint8Array): number {
  return (buf[2]! << 8) | buf[3]!;
}

/** RTP timestamp as an unsigned 32-bit number. */
export function rtpTimestamp(buf: Uint8Array): number {
  return ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
}

/** SSRC as an unsigned 32-bit number. */
export function rtpSsrc(buf: Uint8Array): number {
  return ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
}

/**
 * RTP clock rates of the static payload types (RFC 3551 Table 4 and 5); 0 where the table gives none
 * (dynamic or unassigned: the stream's a=rtpmap decides, else the default).
 */
const STATIC_CLOCK: Readonly<Record<number, number>> = {
  0: 8000,
  3: 8000,
  4: 8000,
  5: 8000,
  6: 16000,
  7: 8000,
  8: 8000,
  9: 8000,
  10: 44100,
  11: 44100,
  12: 8000,
  13: 8000,
  14: 90000,
  15: 8000,
  16: 11025,
  17: 22050,
  18: 8000,
  25: 90000,
  26: 90000,
  28: 90000,
  31: 90000,
  32: 90000,
  33: 90000,
  34: 90000,
};

/** The default clock rate when neither a=rtpmap nor the static table gives one (PROFILE §2). */
export const DEFAULT_CLOCK_RATE = 8000;

/**
 * A clock-rate table indexed by payload type (0–127), from `a=rtpmap` lines (pt → rate) over the static
 * table, unknown types at `fallback`. Built when a stream is configured, read per packet.
 */
export function clockTable(rtpmap: ReadonlyMap<number, number>, fallback = DEFAULT_CLOCK_RATE): Float64Array {
  const t = new Float64Array(128);
  for (let pt = 0; pt < 128; pt++) t[pt] = rtpmap.get(pt) ?? STATIC_CLOCK[pt] ?? fallback;
  return t;
}
