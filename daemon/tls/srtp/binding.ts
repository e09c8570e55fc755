/**
 * Loader and types for trgwd's native addon (native/, built by `npm run build:native`), SRTP part.
 *
 * The addon is plain C over a vendored libsrtp on Node's own OpenSSL (see native/src/srtp.c). This
 * module only loads it and describes it; `session.ts` is the typed wrapper the rest of the daemon uses.
 *
 * Packet calls return numbers: a length (>= 0) or one of the negative SRTP_RESULT codes. They never
 * throw, so the media path can count and drop without try/catch.
 */
import { TrgwdError } from '../../errors.js';
import {
  NATIVE_ADDON_ENV,
  NATIVE_ADDON_RELATIVE_PATH,
  checkMirror,
  loadAddonPart,
  nativeAddonCandidates,
  type AddonErrorFactory,
} from '../native-addon.js';

export { NATIVE_ADDON_ENV, NATIVE_ADDON_RELATIVE_PATH, nativeAddonCandidates };

/** Errors of the native layer: ERR_NATIVE_MISSING (not built), ERR_NATIVE_MISMATCH (stale build). */
export class NativeAddonError extends TrgwdError {}

/** Stable result codes of the packet calls (mirror of native/src/srtp.c; never renumbered). */
export const SRTP_RESULT = {
  AUTH_FAIL: -1,
  REPLAY_FAIL: -2,
  REPLAY_OLD: -3,
  BAD_PARAM: -4,
  OTHER: -5,
  NO_ROOM: -6,
  CLOSED: -7,
  BAD_MKI: -8,
  KEY_EXPIRED: -9,
  NO_STREAM: -10,
  DIRECTION: -11,
} as const;

export type SrtpResultKey = keyof typeof SRTP_RESULT;

/** Label values for a result (bounded set, usable as a Prometheus `result` label). */
export type SrtpResultName =
  | 'ok'
  | 'auth_fail'
  | 'replay_fail'
  | 'replay_old'
  | 'bad_param'
  | 'other'
  | 'no_room'
  | 'closed'
  | 'bad_mki'
  | 'key_expired'
  | 'no_stream'
  | 'direction';

const RESULT_NAMES: Readonly<Record<number, SrtpResultName>> = {
  [SRTP_RESULT.AUTH_FAIL]: 'auth_fail',
  [SRTP_RESULT.REPLAY_FAIL]: 'replay_fail',
  [SRTP_RESULT.REPLAY_OLD]: 'replay_old',
  [SRTP_RESULT.BAD_PARAM]: 'bad_param',
  [SRTP_RESULT.OTHER]: 'other',
  [SRTP_RESULT.NO_ROOM]: 'no_room',
  [SRTP_RESULT.CLOSED]: 'closed',
  [SRTP_RESULT.BAD_MKI]: 'bad_mki',
  [SRTP_RESULT.KEY_EXPIRED]: 'key_expired',
  [SRTP_RESULT.NO_STREAM]: 'no_stream',
  [SRTP_RESULT.DIRECTION]: 'direction',
};

/** Name of a packet-call result: 'ok' for any length >= 0, else the error's name ('other' if unknown). */
export function srtpResultName(result: number): SrtpResultName {
  if (result >= 0) return 'ok';
  return RESULT_NAMES[result] ?? 'other';
}

/** Suite numbers understood by the addon (mirror of native/src/srtp.c). */
export const NATIVE_SUITE = {
  AES_CM_128_HMAC_SHA1_80: 1,
  AES_CM_128_HMAC_SHA1_32: 2,
  AEAD_AES_128_GCM: 3,
  AEAD_AES_256_GCM: 4,
} as const;

/** SDES session parameters as flag bits (mirror of native/src/srtp.c). */
export const NATIVE_FLAG = {
  UNENCRYPTED_SRTP: 1,
  UNENCRYPTED_SRTCP: 2,
  UNAUTHENTICATED_SRTP: 4,
} as const;

/** Parameter object of `create()` / `update()` in the addon. */
export interface NativeSrtpParams {
  /** 0 = inbound (unprotect), 1 = outbound (protect). */
  direction: 0 | 1;
  suite: number;
  flags?: number;
  /** 1..16 master keys: `key` is master key || master salt; `mki` the MKI bytes (all or none). */
  keys: ReadonlyArray<{ key: Uint8Array; mki?: Uint8Array | undefined }>;
  windowSize?: number;
  allowRepeatTx?: boolean;
  /** A specific SSRC; without it the session takes any SSRC (libsrtp2 wildcard). */
  ssrc?: number | undefined;
  /** Known ROC for `ssrc` (needs ssrc). */
  roc?: number | undefined;
  /** Which key (and MKI) protect uses. */
  sendKeyIndex?: number;
}

declare const handleBrand: unique symbol;

/** Opaque handle of one libsrtp2 session for one direction (a napi_external; freed by GC if not destroyed). */
export type NativeSrtpHandle = { readonly [handleBrand]: true };

/** Facts about a session, read off the packet path. */
export interface NativeSrtpInfo {
  closed: boolean;
  outbound: boolean;
  /** Octets protectRtp appends (tag + MKI). */
  rtpTrailer: number;
  /** Octets protectRtcp appends (index + tag + MKI). */
  rtcpTrailer: number;
  /** Packets processed successfully since creation. */
  rtpPackets: number;
  rtcpPackets: number;
}

export interface NativeSrtp {
  /** Throws an Error with code ERR_SRTP_PARAM / ERR_SRTP_INIT on bad parameters. */
  create(params: NativeSrtpParams): NativeSrtpHandle;
  /** New keys for the same direction and suite (libsrtp2 keeps ROC and replay state). Throws like create. */
  update(h: NativeSrtpHandle, params: NativeSrtpParams): void;
  /** Idempotent. */
  destroy(h: NativeSrtpHandle): void;
  protectRtp(h: NativeSrtpHandle, buf: Uint8Array, len: number): number;
  unprotectRtp(h: NativeSrtpHandle, buf: Uint8Array, len: number): number;
  protectRtcp(h: NativeSrtpHandle, buf: Uint8Array, len: number): number;
  unprotectRtcp(h: NativeSrtpHandle, buf: Uint8Array, len: number): number;
  /** ROC for `ssrc`, or a negative code (NO_STREAM, CLOSED, BAD_PARAM). */
  getRoc(h: NativeSrtpHandle, ssrc: number): number;
  /** 0, or a negative code (NO_STREAM, CLOSED, BAD_PARAM). */
  setRoc(h: NativeSrtpHandle, ssrc: number, roc: number): number;
  info(h: NativeSrtpHandle): NativeSrtpInfo;
  codes: Readonly<Record<SrtpResultKey, number>>;
  suites: Readonly<Record<keyof typeof NATIVE_SUITE, number>>;
  flags: Readonly<Record<keyof typeof NATIVE_FLAG, number>>;
  libsrtpVersion: string;
  initStatus: number;
  /**
   * The crypto library under libsrtp, from libsrtp's own cipher descriptions: "openssl" (Node's own
   * OpenSSL; the addon builds the vendored libsrtp 2.5.0 with its OpenSSL backend, native/README.md).
   */
  cryptoBackend: string;
  /** libsrtp2 sessions alive in the process (all threads). */
  liveSessions(): number;
  /** libsrtp2 events and log lines, counted process-wide (libsrtp2 would print them on stderr). */
  events(): NativeSrtpEvents;
}

export interface NativeSrtpEvents {
  ssrcCollision: number;
  keySoftLimit: number;
  keyHardLimit: number;
  packetIndexLimit: number;
  logErrors: number;
  logWarnings: number;
}

export interface TrgwdNative {
  srtp: NativeSrtp;
}

const fail: AddonErrorFactory = (code, message, options) => new NativeAddonError(code, message, options);

const REQUIRED_FUNCTIONS = [
  'create',
  'update',
  'destroy',
  'protectRtp',
  'unprotectRtp',
  'protectRtcp',
  'unprotectRtcp',
  'getRoc',
  'setRoc',
  'info',
  'liveSessions',
  'events',
] as const satisfies ReadonlyArray<keyof NativeSrtp>;

let cached: TrgwdNative | undefined;

/**
 * Loads the addon from an explicit path (or the first candidate that exists), checks that its code
 * tables match this module, and returns it. Throws NativeAddonError ERR_NATIVE_MISSING if absent.
 */
export function loadNativeFrom(candidates: readonly string[]): TrgwdNative {
  const { path, part: srtp } = loadAddonPart<NativeSrtp>(candidates, 'srtp', 'SRTP', REQUIRED_FUNCTIONS, fail);
  checkMirror('codes', srtp.codes, SRTP_RESULT, path, fail);
  checkMirror('suites', srtp.suites, NATIVE_SUITE, path, fail);
  checkMirror('flags', srtp.flags, NATIVE_FLAG, path, fail);
  return { srtp };
}

/** The addon, loaded once per thread. Throws NativeAddonError ERR_NATIVE_MISSING if not built. */
export function loadNative(): TrgwdNative {
  cached ??= loadNativeFrom(nativeAddonCandidates());
  return cached;
}

/** True when the addon loads (for tests that skip locally when it is not built). */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}
