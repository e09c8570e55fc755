/**
 * Shared helpers for the SRTP tests: whether the native addon is there, RTP/RTCP packet builders, and
 * a stand-in for the forwarder's leg (FakeLeg).
 */
import {
  SEC_BASE,
  SEC_LENGTH,
  TOTALS_LENGTH,
  isPortable,
  newLegCounters,
  type AnySecurity,
  type LegSecurity,
  type SecurityEvent,
} from '../../../../daemon/bearer/udp/forwarder.js';
import { nativeAvailable } from '../../../../daemon/tls/srtp/binding.js';
import { SRTP_MAX_TRAILER_LENGTH } from '../../../../daemon/tls/srtp/suites.js';

/**
 * `skip` option for suites that need the addon: a message when it is not built locally, false under
 * CI (`CI=true`), where a missing addon must fail the run (ERR_NATIVE_MISSING).
 */
export function skipWithoutNative(): string | false {
  if (nativeAvailable() || process.env.CI === 'true') return false;
  return 'native addon not built: run `npm run build:native` (needs libsrtp2-dev, pkg-config, a C compiler)';
}

export interface RtpSpec {
  seq: number;
  ssrc: number;
  timestamp?: number;
  payloadType?: number;
  marker?: boolean;
  payload?: Uint8Array | number;
  csrcs?: number[];
  /** RFC 8285 one-byte header extension data (padded to 32-bit words). */
  extension?: Uint8Array;
}

export function rtpPacket(spec: RtpSpec): Buffer {
  const csrcs = spec.csrcs ?? [];
  const payload =
    typeof spec.payload === 'number'
      ? Buffer.alloc(spec.payload, 0xab)
      : Buffer.from(spec.payload ?? Buffer.alloc(160, 0xab));
  let ext = Buffer.alloc(0);
  if (spec.extension !== undefined) {
    const words = Math.ceil(spec.extension.length / 4);
    ext = Buffer.alloc(4 + 4 * words);
    ext.writeUInt16BE(0xbede, 0);
    ext.writeUInt16BE(words, 2);
    Buffer.from(spec.extension).copy(ext, 4);
  }
  const h = Buffer.alloc(12 + 4 * csrcs.length);
  h[0] = 0x80 | (spec.extension !== undefined ? 0x10 : 0) | csrcs.length;
  h[1] = ((spec.marker === true ? 0x80 : 0) | (spec.payloadType ?? 0)) & 0xff;
  h.writeUInt16BE(spec.seq & 0xffff, 2);
  h.writeUInt32BE((spec.timestamp ?? spec.seq * 160) >>> 0, 4);
  h.writeUInt32BE(spec.ssrc >>> 0, 8);
  csrcs.forEach((c, i) => h.writeUInt32BE(c >>> 0, 12 + 4 * i));
  return Buffer.concat([h, ext, payload]);
}

/** An RTCP sender report (+ optional receiver-report blocks' worth of filler) for `ssrc`. */
export function rtcpPacket(ssrc: number, extraWords = 5): Buffer {
  const words = 6 + extraWords; // SR: header + SSRC + 5 words sender info, then filler words
  const b = Buffer.alloc(4 * (words + 1), 0xcd);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(words, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return b;
}

/** A copy of `pkt` at the start of a buffer with `room` octets of tail room (filled with `fill`). */
export function withRoom(pkt: Uint8Array, room = SRTP_MAX_TRAILER_LENGTH, fill = 0xee): Buffer {
  const b = Buffer.alloc(pkt.length + room, fill);
  b.set(pkt, 0);
  return b;
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/**
 * What the forwarder does with a leg's security (forwarder.ts Leg.secure), without sockets: builds
 * portable security's transforms on this leg's counters and realm totals, hands the previous
 * transforms over and closes them, and passes packets through.
 */
export class FakeLeg {
  readonly cnt = newLegCounters();
  readonly totals = new Float64Array(TOTALS_LENGTH);
  security: AnySecurity | undefined;
  tx: LegSecurity | undefined;

  /** `sec` becomes the leg's security (what the media plane's setSecurity does). */
  secure(sec: AnySecurity | undefined): this {
    const built = isPortable(this.security) ? this.tx : undefined;
    this.security = sec;
    if (isPortable(sec)) {
      const env = { cnt: this.cnt, totals: this.totals, event: (e: SecurityEvent) => sec.onEvent(e) };
      this.tx = sec.build(built, env);
    } else {
      this.tx = sec;
    }
    if (built !== undefined && built !== this.tx) built.close?.();
    return this;
  }

  inbound(buf: Buffer, len: number, rtcp: boolean): number {
    return this.tx!.inbound(buf, len, rtcp);
  }

  outbound(buf: Buffer, len: number, rtcp: boolean): Buffer | undefined {
    return this.tx!.outbound(buf, len, rtcp);
  }

  /** The SRTP block of the totals (SRTP_TOTALS layout). */
  get srtpTotals(): Float64Array {
    return this.totals.subarray(SEC_BASE, SEC_BASE + SEC_LENGTH);
  }

  close(): void {
    this.secure(undefined);
  }
}
