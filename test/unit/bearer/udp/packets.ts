/** Test packets: RTP and RTCP built by hand (RFC 3550 §5.1, §6.4). */
export interface RtpFields {
  seq: number;
  ts?: number;
  ssrc?: number;
  pt?: number;
  marker?: boolean;
  payload?: Buffer | number;
  csrc?: number;
  extensionWords?: number;
  padding?: number;
}

export function rtp(f: RtpFields): Buffer {
  const payload =
    typeof f.payload === 'number' ? Buffer.alloc(f.payload, 0xd5) : (f.payload ?? Buffer.alloc(160, 0xd5));
  const cc = f.csrc ?? 0;
  const ext = f.extensionWords !== undefined ? 4 + 4 * f.extensionWords : 0;
  const pad = f.padding ?? 0;
  const b = Buffer.alloc(12 + 4 * cc + ext + payload.length + pad);
  b[0] = 0x80 | (ext > 0 ? 0x10 : 0) | (pad > 0 ? 0x20 : 0) | cc;
  b[1] = (f.marker ? 0x80 : 0) | (f.pt ?? 0);
  b.writeUInt16BE(f.seq & 0xffff, 2);
  b.writeUInt32BE((f.ts ?? f.seq * 160) >>> 0, 4);
  b.writeUInt32BE((f.ssrc ?? 0x11223344) >>> 0, 8);
  let o = 12 + 4 * cc;
  if (ext > 0) {
    b.writeUInt16BE(0xbede, o);
    b.writeUInt16BE(f.extensionWords!, o + 2);
    o += ext;
  }
  payload.copy(b, o);
  if (pad > 0) b[b.length - 1] = pad;
  return b;
}

/** An RTCP receiver report without report blocks (8 octets), or with `blocks` report blocks. */
export function rtcpRr(ssrc = 0x55667788, blocks = 0): Buffer {
  const b = Buffer.alloc(8 + 24 * blocks);
  b[0] = 0x80 | blocks;
  b[1] = 201;
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}
