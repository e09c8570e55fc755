/**
 * The SRTP crypto suites trgwd terminates (PROFILE §4) and their sizes.
 *
 * Sources: RFC 4568 §6.2 (AES_CM_128_HMAC_SHA1_80/_32: 128-bit key, 112-bit salt, 80/32-bit SRTP tag,
 * and an 80-bit SRTCP tag for both), RFC 7714 §12/§14.2 (AEAD_AES_128_GCM / AEAD_AES_256_GCM:
 * 128/256-bit key, 96-bit salt, 16-octet tag for SRTP and SRTCP), RFC 3711 §3.4 (SRTCP adds the
 * 32-bit E flag + SRTCP index; the MKI, when used, follows it in SRTCP and the payload in SRTP).
 */

export const SRTP_SUITES = [
  'AES_CM_128_HMAC_SHA1_80',
  'AES_CM_128_HMAC_SHA1_32',
  'AEAD_AES_128_GCM',
  'AEAD_AES_256_GCM',
] as const;

export type SrtpSuite = (typeof SRTP_SUITES)[number];

export interface SrtpSuiteInfo {
  /** Master key length, octets. */
  readonly keyLength: number;
  /** Master salt length, octets. */
  readonly saltLength: number;
  /** Authentication tag appended to SRTP packets, octets. */
  readonly srtpTagLength: number;
  /** Authentication tag appended to SRTCP packets, octets. */
  readonly srtcpTagLength: number;
  /** AEAD suites always encrypt and authenticate (no UNENCRYPTED_* / UNAUTHENTICATED_SRTP). */
  readonly aead: boolean;
  /** Largest key lifetime in SRTP packets (RFC 3711 §9.2: 2^48). */
  readonly maxLifetimeSrtp: number;
  /** Largest key lifetime in SRTCP packets (2^31). */
  readonly maxLifetimeSrtcp: number;
}

const P48 = 2 ** 48;
const P31 = 2 ** 31;

export const SRTP_SUITE_INFO: Readonly<Record<SrtpSuite, SrtpSuiteInfo>> = {
  AES_CM_128_HMAC_SHA1_80: {
    keyLength: 16,
    saltLength: 14,
    srtpTagLength: 10,
    srtcpTagLength: 10,
    aead: false,
    maxLifetimeSrtp: P48,
    maxLifetimeSrtcp: P31,
  },
  AES_CM_128_HMAC_SHA1_32: {
    keyLength: 16,
    saltLength: 14,
    srtpTagLength: 4,
    srtcpTagLength: 10,
    aead: false,
    maxLifetimeSrtp: P48,
    maxLifetimeSrtcp: P31,
  },
  AEAD_AES_128_GCM: {
    keyLength: 16,
    saltLength: 12,
    srtpTagLength: 16,
    srtcpTagLength: 16,
    aead: true,
    maxLifetimeSrtp: P48,
    maxLifetimeSrtcp: P31,
  },
  AEAD_AES_256_GCM: {
    keyLength: 32,
    saltLength: 12,
    srtpTagLength: 16,
    srtcpTagLength: 16,
    aead: true,
    maxLifetimeSrtp: P48,
    maxLifetimeSrtcp: P31,
  },
};

/** SRTCP's E flag + 31-bit index, octets. */
export const SRTCP_INDEX_LENGTH = 4;

/** Largest MKI libsrtp2 accepts, octets (RFC 4568 allows 1..128). */
export const SRTP_MAX_MKI_LENGTH = 128;

/** Tail room that always suffices for protect (16-octet tag + 128-octet MKI + SRTCP index). */
export const SRTP_MAX_TRAILER_LENGTH = 16 + SRTP_MAX_MKI_LENGTH + SRTCP_INDEX_LENGTH;

export function isSrtpSuite(name: string): name is SrtpSuite {
  return (SRTP_SUITES as readonly string[]).includes(name);
}

/** Master key and salt lengths of a suite, octets. */
export function suiteKeyLengths(suite: SrtpSuite): { key: number; salt: number } {
  const info = SRTP_SUITE_INFO[suite];
  return { key: info.keyLength, salt: info.saltLength };
}

export interface SrtpOverheadOptions {
  /** MKI length in octets (0 or absent: no MKI). */
  mkiLength?: number | undefined;
  /** UNAUTHENTICATED_SRTP: SRTP carries no tag (SRTCP keeps its tag). AES-CM suites only. */
  unauthenticatedSrtp?: boolean | undefined;
}

/**
 * Octets protect adds per packet (for bandwidth and policer adjustment): SRTP = tag + MKI;
 * SRTCP = index (4) + tag + MKI.
 */
export function srtpOverhead(
  suite: SrtpSuite,
  opts: SrtpOverheadOptions = {},
): { rtp: number; rtcp: number } {
  const info = SRTP_SUITE_INFO[suite];
  const mki = opts.mkiLength ?? 0;
  const rtpTag = opts.unauthenticatedSrtp === true && !info.aead ? 0 : info.srtpTagLength;
  return { rtp: rtpTag + mki, rtcp: SRTCP_INDEX_LENGTH + info.srtcpTagLength + mki };
}
