/**
 * Writes classic libpcap files (Ethernet / IPv4 / UDP or TCP) from payloads, so that a dissector such
 * as tshark can read exactly the bytes we would send, deterministically and without capturing.
 *
 * UDP: one datagram per payload. TCP: one connection per call of `tcpStream` with a three-way
 * handshake, the given payload chunks as segments with consistent sequence numbers, and a FIN
 * exchange, so that TCP analysis has nothing to complain about. Checksums are computed (IPv4 header,
 * UDP and TCP over the pseudo header) so the file is valid even with checksum validation on.
 */

export interface Endpoint {
  /** Dotted IPv4 address. */
  readonly addr: string;
  readonly port: number;
}

export interface Frame {
  readonly data: Buffer;
  /** Capture time in microseconds since the epoch. */
  readonly timeUs: number;
}

const ETH_SRC = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
const ETH_DST = Buffer.from([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;

function ipv4Bytes(addr: string): Buffer {
  const parts = addr.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not a dotted IPv4 address: ${addr}`);
  }
  return Buffer.from(parts);
}

/** Internet checksum (RFC 1071) over the given buffers, as if concatenated. */
function inetChecksum(...bufs: Buffer[]): number {
  let sum = 0;
  let odd: number | undefined;
  for (const b of bufs) {
    for (let i = 0; i < b.length; i++) {
      const byte = b[i] as number;
      if (odd === undefined) odd = byte;
      else {
        sum += (odd << 8) | byte;
        odd = undefined;
      }
    }
  }
  if (odd !== undefined) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

let ipId = 1;

function ipv4Packet(src: string, dst: string, protocol: number, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(ipId++ & 0xffff, 4);
  h.writeUInt16BE(0x4000, 6); // DF
  h[8] = 64;
  h[9] = protocol;
  ipv4Bytes(src).copy(h, 12);
  ipv4Bytes(dst).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, l4]);
}

function pseudoHeader(src: string, dst: string, protocol: number, length: number): Buffer {
  const p = Buffer.alloc(12);
  ipv4Bytes(src).copy(p, 0);
  ipv4Bytes(dst).copy(p, 4);
  p[9] = protocol;
  p.writeUInt16BE(length, 10);
  return p;
}

function ethernet(ipPacket: Buffer): Buffer {
  const h = Buffer.alloc(14);
  ETH_DST.copy(h, 0);
  ETH_SRC.copy(h, 6);
  h.writeUInt16BE(0x0800, 12);
  return Buffer.concat([h, ipPacket]);
}

/** One Ethernet frame carrying one UDP datagram. */
export function udpFrame(src: Endpoint, dst: Endpoint, payload: Buffer): Buffer {
  const length = 8 + payload.length;
  if (length > 0xffff - 20) throw new Error(`UDP payload too large: ${payload.length}`);
  const u = Buffer.alloc(8);
  u.writeUInt16BE(src.port, 0);
  u.writeUInt16BE(dst.port, 2);
  u.writeUInt16BE(length, 4);
  const sum = inetChecksum(pseudoHeader(src.addr, dst.addr, 17, length), u, payload);
  u.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return ethernet(ipv4Packet(src.addr, dst.addr, 17, Buffer.concat([u, payload])));
}

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

function tcpSegment(
  src: Endpoint,
  dst: Endpoint,
  seq: number,
  ack: number,
  flags: number,
  payload: Buffer,
): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(src.port, 0);
  t.writeUInt16BE(dst.port, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(flags & TCP_ACK ? ack >>> 0 : 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  const sum = inetChecksum(pseudoHeader(src.addr, dst.addr, 6, 20 + payload.length), t, payload);
  t.writeUInt16BE(sum, 16);
  return ethernet(ipv4Packet(src.addr, dst.addr, 6, Buffer.concat([t, payload])));
}

/**
 * Frames of one complete TCP connection from `client` to `server`: handshake, each chunk as one
 * client→server segment (each acknowledged by the server), then FIN/ACK both ways.
 */
export function tcpStream(client: Endpoint, server: Endpoint, chunks: readonly Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  const cIsn = 1000;
  const sIsn = 5000;
  frames.push(tcpSegment(client, server, cIsn, 0, TCP_SYN, Buffer.alloc(0)));
  frames.push(tcpSegment(server, client, sIsn, cIsn + 1, TCP_SYN | TCP_ACK, Buffer.alloc(0)));
  let cSeq = cIsn + 1;
  const sSeq = sIsn + 1;
  frames.push(tcpSegment(client, server, cSeq, sSeq, TCP_ACK, Buffer.alloc(0)));
  for (const chunk of chunks) {
    frames.push(tcpSegment(client, server, cSeq, sSeq, TCP_ACK | TCP_PSH, chunk));
    cSeq += chunk.length;
    frames.push(tcpSegment(server, client, sSeq, cSeq, TCP_ACK, Buffer.alloc(0)));
  }
  frames.push(tcpSegment(client, server, cSeq, sSeq, TCP_FIN | TCP_ACK, Buffer.alloc(0)));
  frames.push(tcpSegment(server, client, sSeq, cSeq + 1, TCP_FIN | TCP_ACK, Buffer.alloc(0)));
  frames.push(tcpSegment(client, server, cSeq + 1, sSeq + 1, TCP_ACK, Buffer.alloc(0)));
  return frames;
}

/** TPKT (RFC 1006) framing as H.248.1 Annex D.2 uses it on TCP: 0x03 0x00 <length incl. header>. */
export function tpkt(payload: Buffer): Buffer {
  const len = payload.length + 4;
  if (len > 0xffff) throw new Error(`TPKT payload too large: ${payload.length}`);
  const h = Buffer.from([3, 0, (len >> 8) & 0xff, len & 0xff]);
  return Buffer.concat([h, payload]);
}

/** A whole pcap file (microsecond timestamps, Ethernet link type) with the frames in order. */
export function pcapFile(frames: readonly Buffer[], startUs = 1_700_000_000_000_000): Buffer {
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeInt32LE(0, 8);
  g.writeUInt32LE(0, 12);
  g.writeUInt32LE(SNAPLEN, 16);
  g.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const out: Buffer[] = [g];
  frames.forEach((f, i) => {
    const t = startUs + i * 1000;
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(t / 1_000_000), 0);
    r.writeUInt32LE(t % 1_000_000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    out.push(r, f);
  });
  return Buffer.concat(out);
}
