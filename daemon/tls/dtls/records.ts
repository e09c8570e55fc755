/**
 * Looking at a datagram before any DTLS state is involved (RFC 6347 §4.1, §4.2.2): is it DTLS at all,
 * which epoch, is it a ClientHello. Reads octets in place: no allocation, no throw.
 */

/** DTLS record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const DTLS_RECORD_HEADER = 13;
/** Handshake header: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). */
export const DTLS_HANDSHAKE_HEADER = 12;

export const CONTENT_HANDSHAKE = 22;
export const HANDSHAKE_CLIENT_HELLO = 1;

/**
 * A plausible DTLS record: RFC 7983 §7 puts DTLS at first octets 20..63, and every DTLS version is
 * 0xFEnn (254 = ~1 of DTLS 1.x). Anything else on a DTLS port is noise to drop.
 */
export function isDtlsRecord(buf: Uint8Array, len: number): boolean {
  if (len < DTLS_RECORD_HEADER) return false;
  const t = buf[0]!;
  return t >= 20 && t <= 63 && buf[1] === 0xfe;
}

/** Epoch of the first record (0: before ChangeCipherSpec, i.e. the clear handshake). */
export function recordEpoch(buf: Uint8Array): number {
  return (buf[3]! << 8) | buf[4]!;
}

/** The datagram starts with a ClientHello (epoch 0 handshake record, msg_type 1). */
export function isClientHello(buf: Uint8Array, len: number): boolean {
  return (
    len >= DTLS_RECORD_HEADER + DTLS_HANDSHAKE_HEADER &&
    buf[0] === CONTENT_HANDSHAKE &&
    buf[1] === 0xfe &&
    buf[3] === 0 &&
    buf[4] === 0 &&
    buf[DTLS_RECORD_HEADER] === HANDSHAKE_CLIENT_HELLO
  );
}
