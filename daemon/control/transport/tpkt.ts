/**
 * RFC 1006 TPKT framing for H.248 over TCP (H.248.1 Annex D.2).
 *
 * A TPKT is a 4-byte header `03 00 <len16 big-endian>` followed by the payload; `len` counts the
 * header too, so it is 4..65535 and a payload is at most 65531 bytes. The reserved second byte is
 * written as 0 and ignored on input (RFC 1006 gives receivers no rule for it).
 *
 * `TpktDeframer` is fed the chunks a TCP socket delivers, split anywhere, and returns whole payloads.
 * It validates each header as soon as its 4 bytes are in, so a peer cannot make it buffer more than
 * one message of at most `maxMessageBytes` bytes plus a header. A bad header is a `TpktError`; the
 * deframer then stays failed (every later `push` throws the same error) and the owner closes that
 * connection only.
 */
import { TrgwdError } from '../../errors.js';

export const TPKT_VERSION = 3;
export const TPKT_HEADER_SIZE = 4;
/** Largest payload a TPKT can carry (65535 minus the header). */
export const TPKT_MAX_PAYLOAD = 0xffff - TPKT_HEADER_SIZE;

export type TpktErrorCode = 'ERR_TPKT_BAD_VERSION' | 'ERR_TPKT_BAD_LENGTH' | 'ERR_TPKT_TOO_LARGE';

/** A framing error: the connection it came from must be closed. */
export class TpktError extends TrgwdError {
  declare readonly code: TpktErrorCode;
  constructor(code: TpktErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details !== undefined ? { details } : undefined);
  }
}

/** Frames one payload (copying it behind a fresh header). Throws `ERR_TPKT_TOO_LARGE` above 65531 bytes. */
export function encodeTpkt(payload: Uint8Array): Buffer {
  if (payload.length > TPKT_MAX_PAYLOAD) {
    throw new TpktError(
      'ERR_TPKT_TOO_LARGE',
      `TPKT payload of ${payload.length} bytes exceeds the maximum of ${TPKT_MAX_PAYLOAD}`,
      { length: payload.length, max: TPKT_MAX_PAYLOAD },
    );
  }
  const out = Buffer.allocUnsafe(TPKT_HEADER_SIZE + payload.length);
  out[0] = TPKT_VERSION;
  out[1] = 0;
  out.writeUInt16BE(TPKT_HEADER_SIZE + payload.length, 2);
  out.set(payload, TPKT_HEADER_SIZE);
  return out;
}

export interface TpktDeframerOptions {
  /**
   * Largest payload accepted, in bytes (a header announcing more is an error before any of the body
   * is buffered). Default and ceiling: 65531 (`TPKT_MAX_PAYLOAD`).
   */
  readonly maxMessageBytes?: number;
}

/**
 * Incremental TPKT deframer. Returned payloads are views into the pushed chunks when a message lies
 * inside one chunk (no copy), or a fresh buffer when it spans several; either way the caller owns
 * them. Empty TPKTs (length 4) carry no message and are skipped.
 */
export class TpktDeframer {
  readonly maxMessageBytes: number;
  private readonly header = Buffer.alloc(TPKT_HEADER_SIZE);
  private headerFill = 0;
  /** Body being assembled across chunks, or null between messages. */
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failure: TpktError | null = null;

  constructor(options: TpktDeframerOptions = {}) {
    const max = options.maxMessageBytes ?? TPKT_MAX_PAYLOAD;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`maxMessageBytes must be a positive integer, got ${max}`);
    this.maxMessageBytes = Math.min(max, TPKT_MAX_PAYLOAD);
  }

  /** Bytes held for an incomplete message (at most 4 + maxMessageBytes). */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** True after a framing error: the stream cannot be resynchronised. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Feeds one chunk; returns the payloads it completed, in order. Throws `TpktError` on a bad header. */
  push(chunk: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    this.feed(chunk, (p) => out.push(p));
    return out;
  }

  /**
   * Feeds one chunk, calling `onPayload` for each payload it completes, in order. On a bad header the
   * payloads before it in the chunk have been delivered, then `TpktError` is thrown.
   */
  feed(chunk: Uint8Array, onPayload: (payload: Buffer) => void): void {
    if (this.failure !== null) throw this.failure;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let off = 0;
    const end = buf.length;
    while (off < end) {
      if (this.body === null) {
        // Fast path: a whole header and body inside this chunk, at a message boundary: no copy.
        if (this.headerFill === 0 && end - off >= TPKT_HEADER_SIZE) {
          const bodyLen = this.check(buf[off]!, buf.readUInt16BE(off + 2));
          off += TPKT_HEADER_SIZE;
          if (end - off >= bodyLen) {
            if (bodyLen > 0) onPayload(buf.subarray(off, off + bodyLen));
            off += bodyLen;
            continue;
          }
          this.body = Buffer.allocUnsafe(bodyLen);
          this.bodyFill = 0;
          continue;
        }
        // Slow path: header split across chunks.
        const n = Math.min(TPKT_HEADER_SIZE - this.headerFill, end - off);
        buf.copy(this.header, this.headerFill, off, off + n);
        this.headerFill += n;
        off += n;
        if (this.headerFill < TPKT_HEADER_SIZE) break;
        this.headerFill = 0;
        const bodyLen = this.check(this.header[0]!, this.header.readUInt16BE(2));
        if (bodyLen === 0) continue;
        this.body = Buffer.allocUnsafe(bodyLen);
        this.bodyFill = 0;
        continue;
      }
      const body: Buffer = this.body;
      const n = Math.min(body.length - this.bodyFill, end - off);
      buf.copy(body, this.bodyFill, off, off + n);
      this.bodyFill += n;
      off += n;
      if (this.bodyFill === body.length) {
        this.body = null;
        this.bodyFill = 0;
        onPayload(body);
      }
    }
  }

  /** Validates a header; returns the body length or records and throws the failure. */
  private check(version: number, length: number): number {
    let err: TpktError | null = null;
    if (version !== TPKT_VERSION) {
      err = new TpktError(
        'ERR_TPKT_BAD_VERSION',
        `bad TPKT header: version ${version}, expected ${TPKT_VERSION}`,
        {
          version,
        },
      );
    } else if (length < TPKT_HEADER_SIZE) {
      err = new TpktError(
        'ERR_TPKT_BAD_LENGTH',
        `bad TPKT header: length ${length} is below the header size`,
        {
          length,
        },
      );
    } else if (length - TPKT_HEADER_SIZE > this.maxMessageBytes) {
      err = new TpktError(
        'ERR_TPKT_TOO_LARGE',
        `bad TPKT header: message of ${length - TPKT_HEADER_SIZE} bytes exceeds the maximum of ${this.maxMessageBytes}`,
        { length: length - TPKT_HEADER_SIZE, max: this.maxMessageBytes },
      );
    }
    if (err !== null) {
      this.failure = err;
      this.body = null;
      this.bodyFill = 0;
      this.headerFill = 0;
      throw err;
    }
    return length - TPKT_HEADER_SIZE;
  }
}
