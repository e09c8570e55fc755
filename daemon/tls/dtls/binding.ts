/**
 * Loader and types of the DTLS part of trgwd's native addon (native/src/dtls.c).
 *
 * The addon is the one `trgwd_native.node` (SRTP, DTLS, shared memory); this module only loads the
 * DTLS part (tls/native-addon.ts), checks its functions and that its code tables match this build,
 * and describes the calls. `session.ts`, `endpoint.ts` and `engine.ts` are the typed layer the daemon uses.
 *
 * Packet calls (feed, read, write, handleTimeout) return a number and never throw: negative
 * DTLS_CODE values, or DTLS_FLAG bits in the low 8 bits with the length of the application record in
 * the bits above (`r >>> 8`).
 */
import { TrgwdError } from '../../errors.js';
import { checkMirror, loadAddonPart, nativeAddonCandidates, type AddonErrorFactory } from '../native-addon.js';

/** Negative results of the packet calls (mirror of dtls.c; never renumbered). */
export const DTLS_CODE = { BAD_PARAM: -1, CLOSED: -2, STATE: -3, WRITE: -4, TOO_BIG: -5 } as const;

/** Flag bits of the packet calls' results (mirror of dtls.c). */
export const DTLS_FLAG = {
  /** Datagrams are queued: takeOut() until undefined. */
  OUT: 1,
  /** The session became established (pin verified) during this call. */
  ESTABLISHED: 2,
  /** The handshake failed during this call (info().reason says why). */
  FAILED: 4,
  /** The peer closed (close_notify), or a fatal alert ended an established session. */
  CLOSED: 8,
  /** More records of the same datagram are buffered: call read() again. */
  MORE: 16,
  /** An application record was copied into `out`; its length is `r >>> 8`. */
  DATA: 32,
  /** Handshake done, but no pin known yet: nothing passes until setPins() matches. */
  VERIFY_WAIT: 64,
} as const;

/** Session states (mirror of dtls.c). */
export const DTLS_STATE = { HANDSHAKE: 0, VERIFY_WAIT: 1, ESTABLISHED: 2, FAILED: 3, CLOSED: 4 } as const;

/** Why a session failed or closed (mirror of dtls.c). */
export const DTLS_REASON = {
  NONE: 0,
  FINGERPRINT: 1,
  HANDSHAKE: 2,
  TIMEOUT: 3,
  PEER_CLOSE: 4,
  ALERT: 5,
  LOCAL: 6,
} as const;

/** Hash functions of pins (mirror of dtls.c). */
export const DTLS_HASH = { SHA1: 1, SHA256: 2, SHA384: 3, SHA512: 4 } as const;

/** Results of listen() (mirror of dtls.c). */
export const DTLS_LISTEN = { DROP: 0, HVR: 1, ACCEPT: 2 } as const;

declare const ctxBrand: unique symbol;
declare const sessionBrand: unique symbol;
/** Opaque SSL_CTX handle (napi_external). */
export type NativeDtlsContext = { readonly [ctxBrand]: true };
/** Opaque per-peer SSL handle (napi_external). */
export type NativeDtlsSession = { readonly [sessionBrand]: true };

export interface NativePin {
  /** DTLS_HASH value. */
  hash: number;
  digest: Uint8Array;
}

export interface NativeContextOptions {
  /** Our certificate: PEM (leaf first, then its chain) or DER. */
  cert: Uint8Array;
  /** Our private key: PEM or DER. */
  key: Uint8Array;
  /** HMAC key of the cookies (default: 32 random bytes). */
  cookieSecret?: Uint8Array;
  cookieLifetimeS?: number;
  retransmitInitialMs?: number;
  /** OpenSSL cipher list (DTLS 1.2). */
  ciphers?: string;
}

export interface NativeSessionOptions {
  /** Largest datagram sent (handshake messages are fragmented to fit), 256..65507. */
  mtu?: number;
  /** Pins of the peer's certificate; null/undefined: not known yet (checked on setPins). */
  pins?: NativePin[] | null;
  /** Peer address bytes the cookie is bound to (same as given to listen()). */
  peer?: Uint8Array;
}

export interface NativeSessionInfo {
  state: number;
  role: 0 | 1;
  reason: number;
  error: string | null;
  version: string | null;
  cipher: string | null;
  /** SHA-256 of the peer certificate, `AB:CD:…`, once one was received. */
  peerFingerprint: string | null;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  droppedUnverified: number;
  outQueueDropped: number;
  destroyed: boolean;
}

export interface NativeDtls {
  /** Throws an Error with code ERR_DTLS_CONFIG / ERR_DTLS_INIT. */
  createContext(opts: NativeContextOptions): NativeDtlsContext;
  /** No new sessions afterwards; idempotent. */
  destroyContext(ctx: NativeDtlsContext): void;
  /** Stateless cookie check of one datagram from `peer` (DTLS_LISTEN). */
  listen(ctx: NativeDtlsContext, buf: Uint8Array, len: number, peer: Uint8Array): number;
  /** The HelloVerifyRequest queued by the last listen(). */
  listenTakeOut(ctx: NativeDtlsContext): Buffer | undefined;
  /** The server session of the ClientHello that listen() accepted. Throws ERR_DTLS_PARAM. */
  accept(ctx: NativeDtlsContext, opts: NativeSessionOptions): NativeDtlsSession;
  /** A client session (handshake() sends the ClientHello). Throws ERR_DTLS_PARAM. */
  connect(ctx: NativeDtlsContext, opts: NativeSessionOptions): NativeDtlsSession;
  handshake(s: NativeDtlsSession): number;
  /** Feeds one datagram; the first application record goes to `out` (may be `buf` itself). */
  feed(s: NativeDtlsSession, buf: Uint8Array, len: number, out: Uint8Array): number;
  read(s: NativeDtlsSession, out: Uint8Array): number;
  write(s: NativeDtlsSession, buf: Uint8Array, len: number): number;
  takeOut(s: NativeDtlsSession): Buffer | undefined;
  timeoutMs(s: NativeDtlsSession): number;
  handleTimeout(s: NativeDtlsSession): number;
  setPins(s: NativeDtlsSession, pins: NativePin[] | null): number;
  shutdown(s: NativeDtlsSession): number;
  destroy(s: NativeDtlsSession): void;
  info(s: NativeDtlsSession): NativeSessionInfo;
  state(s: NativeDtlsSession): number;
  exportKeyingMaterial(
    s: NativeDtlsSession,
    label: string,
    length: number,
    context?: Uint8Array,
  ): Buffer | undefined;
  stats(): { liveSessions: number; liveContexts: number };
  codes: Readonly<Record<keyof typeof DTLS_CODE, number>>;
  flags: Readonly<Record<keyof typeof DTLS_FLAG, number>>;
  states: Readonly<Record<keyof typeof DTLS_STATE, number>>;
  reasons: Readonly<Record<keyof typeof DTLS_REASON, number>>;
  hashes: Readonly<Record<keyof typeof DTLS_HASH, number>>;
  listenResults: Readonly<Record<keyof typeof DTLS_LISTEN, number>>;
  opensslVersion: string;
}

/** ERR_NATIVE_MISSING (not built), ERR_NATIVE_MISMATCH (stale build without, or with other, DTLS tables). */
export class DtlsNativeError extends TrgwdError {}

const fail: AddonErrorFactory = (code, message, options) => new DtlsNativeError(code, message, options);

const DTLS_FUNCTIONS = [
  'createContext',
  'destroyContext',
  'listen',
  'listenTakeOut',
  'accept',
  'connect',
  'handshake',
  'feed',
  'read',
  'write',
  'takeOut',
  'timeoutMs',
  'handleTimeout',
  'setPins',
  'shutdown',
  'destroy',
  'info',
  'state',
  'exportKeyingMaterial',
  'stats',
] as const satisfies ReadonlyArray<keyof NativeDtls>;

/** Loads the DTLS part from the first candidate that exists; throws DtlsNativeError. */
export function loadDtlsNativeFrom(candidates: readonly string[]): NativeDtls {
  const { path, part: d } = loadAddonPart<NativeDtls>(candidates, 'dtls', 'DTLS', DTLS_FUNCTIONS, fail);
  checkMirror('dtls.codes', d.codes, DTLS_CODE, path, fail);
  checkMirror('dtls.flags', d.flags, DTLS_FLAG, path, fail);
  checkMirror('dtls.states', d.states, DTLS_STATE, path, fail);
  checkMirror('dtls.reasons', d.reasons, DTLS_REASON, path, fail);
  checkMirror('dtls.hashes', d.hashes, DTLS_HASH, path, fail);
  checkMirror('dtls.listenResults', d.listenResults, DTLS_LISTEN, path, fail);
  return d;
}

let cached: NativeDtls | undefined;

/** The DTLS part of the addon, loaded once per thread. Throws DtlsNativeError when not built. */
export function loadDtlsNative(): NativeDtls {
  cached ??= loadDtlsNativeFrom(nativeAddonCandidates());
  return cached;
}

/** True when the DTLS part loads (tests skip locally without it). */
export function dtlsNativeAvailable(): boolean {
  try {
    loadDtlsNative();
    return true;
  } catch {
    return false;
  }
}
