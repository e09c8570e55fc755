/**
 * SrtpSession: one SRTP/SRTCP crypto context for one direction of one media stream, over the
 * native libsrtp2 binding (binding.ts, native/src/srtp.c).
 *
 *   inbound  — the key the peer sends with (remote a=crypto): unprotectRtp / unprotectRtcp
 *   outbound — the key we send with (local a=crypto):         protectRtp / protectRtcp
 *
 * Packet calls work in place: `buf` holds the packet in its first `len` octets and, for protect,
 * has at least rtpTrailerLength / rtcpTrailerLength octets of tail room. They return the new
 * length (>= 0) or a negative SRTP_RESULT code — never throw; name a code with srtpResultName().
 * On an error the packet bytes are unspecified: drop the packet.
 *
 * A key change (PROFILE §4: a Modify with a new key) is destroy() + new SrtpSession() for that
 * direction: a fresh context, ROC 0. update() is the other tool: new keys for the same context,
 * keeping ROC and the replay window (libsrtp2's srtp_update).
 *
 * The owner calls destroy() (idempotent). If it forgets, the native finalizer frees the context
 * when the object is garbage-collected.
 */
import { TrgwdError } from '../../errors.js';
import { loadNative, NATIVE_FLAG, NATIVE_SUITE } from './binding.js';
import type { NativeSrtp, NativeSrtpEvents, NativeSrtpHandle, NativeSrtpParams } from './binding.js';
import { SRTP_MAX_MKI_LENGTH, SRTP_SUITE_INFO, isSrtpSuite } from './suites.js';
import type { SrtpSuite } from './suites.js';

export { SRTP_RESULT, srtpResultName } from './binding.js';
export type { SrtpResultName } from './binding.js';
export type { SrtpSuite } from './suites.js';

/** Errors of SRTP set-up (never of the packet path): ERR_SRTP_PARAM, ERR_SRTP_INIT, ERR_SRTP_CLOSED, ERR_SRTP_NO_STREAM. */
export class SrtpError extends TrgwdError {}

export type SrtpDirection = 'inbound' | 'outbound';

export interface SrtpMasterKey {
  /** Master key (16 or 32 octets by suite). */
  key: Uint8Array;
  /** Master salt (14 for AES-CM, 12 for AEAD suites). */
  salt: Uint8Array;
  /** MKI value as its wire bytes (1..128 octets); every key of a session has one, or none has. */
  mki?: Uint8Array | undefined;
}

export interface SrtpSessionParams {
  suite: SrtpSuite;
  /** 1..16 master keys; more than one needs MKIs. */
  keys: readonly SrtpMasterKey[];
  /** RFC 4568 session parameters (AES-CM suites only). */
  unencryptedSrtp?: boolean | undefined;
  unencryptedSrtcp?: boolean | undefined;
  unauthenticatedSrtp?: boolean | undefined;
  /** Replay window, packets: 128 (default) to 32767. */
  windowSize?: number | undefined;
  /** Restrict to one SSRC (needed for a known ROC); default: any SSRC. */
  ssrc?: number | undefined;
  /** Known rollover counter for `ssrc`. */
  roc?: number | undefined;
  /** Outbound: let the same sequence number be protected twice (retransmission). Default false. */
  allowRepeatTx?: boolean | undefined;
  /** Outbound: index into `keys` of the key (and MKI) to protect with. Default 0. */
  sendKeyIndex?: number | undefined;
}

function paramError(message: string, details?: Record<string, unknown>): SrtpError {
  return new SrtpError('ERR_SRTP_PARAM', message, details !== undefined ? { details } : undefined);
}

function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Checks params and turns them into the addon's shape. The caller wipes the returned key copies. */
function toNative(direction: SrtpDirection, p: SrtpSessionParams): NativeSrtpParams {
  if (!isSrtpSuite(p.suite)) throw paramError(`unknown SRTP suite ${String(p.suite)}`);
  const info = SRTP_SUITE_INFO[p.suite];
  if (!Array.isArray(p.keys) || p.keys.length < 1 || p.keys.length > 16) {
    throw paramError('keys must hold 1 to 16 master keys');
  }
  let flags = 0;
  if (p.unencryptedSrtp === true) flags |= NATIVE_FLAG.UNENCRYPTED_SRTP;
  if (p.unencryptedSrtcp === true) flags |= NATIVE_FLAG.UNENCRYPTED_SRTCP;
  if (p.unauthenticatedSrtp === true) flags |= NATIVE_FLAG.UNAUTHENTICATED_SRTP;
  if (flags !== 0 && info.aead) {
    throw paramError(`${p.suite} always encrypts and authenticates: no UNENCRYPTED_*/UNAUTHENTICATED_SRTP`);
  }
  const windowSize = p.windowSize ?? 128;
  if (!Number.isInteger(windowSize) || windowSize < 128 || windowSize > 0x7fff) {
    throw paramError('windowSize must be an integer from 128 to 32767', { windowSize });
  }
  if (p.ssrc !== undefined && !isU32(p.ssrc)) throw paramError('ssrc must be an integer from 0 to 2^32-1');
  if (p.roc !== undefined && !isU32(p.roc)) throw paramError('roc must be an integer from 0 to 2^32-1');
  if (p.roc !== undefined && p.ssrc === undefined) throw paramError('a known roc needs the ssrc');
  const sendKeyIndex = p.sendKeyIndex ?? 0;
  if (!Number.isInteger(sendKeyIndex) || sendKeyIndex < 0 || sendKeyIndex >= p.keys.length) {
    throw paramError('sendKeyIndex must be an index into keys');
  }
  const withMki = p.keys.filter((k) => k.mki !== undefined).length;
  if (withMki !== 0 && withMki !== p.keys.length) throw paramError('either every key has an MKI or none has');
  if (p.keys.length > 1 && withMki === 0) throw paramError('several master keys need an MKI each');
  const mkiLength = p.keys[0]?.mki?.length ?? 0;
  const keys = p.keys.map((k, i) => {
    if (!(k.key instanceof Uint8Array) || k.key.length !== info.keyLength) {
      throw paramError(`keys[${i}].key must be ${info.keyLength} octets for ${p.suite}`);
    }
    if (!(k.salt instanceof Uint8Array) || k.salt.length !== info.saltLength) {
      throw paramError(`keys[${i}].salt must be ${info.saltLength} octets for ${p.suite}`);
    }
    if (k.mki !== undefined) {
      if (!(k.mki instanceof Uint8Array) || k.mki.length < 1 || k.mki.length > SRTP_MAX_MKI_LENGTH) {
        throw paramError(`keys[${i}].mki must be 1 to 128 octets`);
      }
      if (k.mki.length !== mkiLength) throw paramError('every MKI of a session must have the same length');
    }
    const keySalt = new Uint8Array(info.keyLength + info.saltLength);
    keySalt.set(k.key, 0);
    keySalt.set(k.salt, info.keyLength);
    return { key: keySalt, mki: k.mki };
  });
  return {
    direction: direction === 'outbound' ? 1 : 0,
    suite: NATIVE_SUITE[p.suite],
    flags,
    keys,
    windowSize,
    allowRepeatTx: p.allowRepeatTx === true,
    ssrc: p.ssrc,
    roc: p.roc,
    sendKeyIndex,
  };
}

function wipeKeys(n: NativeSrtpParams): void {
  for (const k of n.keys) k.key.fill(0);
}

/** Turns an Error thrown by the addon (with a `code`) into an SrtpError. */
function fromNative(e: unknown): SrtpError {
  if (e instanceof SrtpError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return new SrtpError(
    typeof code === 'string' && code.startsWith('ERR_SRTP_') ? code : 'ERR_SRTP_INIT',
    message,
    {
      cause: e,
    },
  );
}

export class SrtpSession {
  readonly direction: SrtpDirection;
  readonly suite: SrtpSuite;
  readonly #n: NativeSrtp;
  readonly #h: NativeSrtpHandle;
  #rtpTrailer: number;
  #rtcpTrailer: number;
  #closed = false;

  /** Throws NativeAddonError ERR_NATIVE_MISSING if the addon is not built, SrtpError on bad params. */
  constructor(direction: SrtpDirection, params: SrtpSessionParams) {
    if (direction !== 'inbound' && direction !== 'outbound')
      throw paramError('direction must be inbound or outbound');
    const { srtp } = loadNative();
    const n = toNative(direction, params);
    let h: NativeSrtpHandle;
    try {
      h = srtp.create(n);
    } catch (e) {
      throw fromNative(e);
    } finally {
      wipeKeys(n);
    }
    this.#n = srtp;
    this.#h = h;
    this.direction = direction;
    this.suite = params.suite;
    const info = srtp.info(h);
    this.#rtpTrailer = info.rtpTrailer;
    this.#rtcpTrailer = info.rtcpTrailer;
  }

  /** Octets protectRtp appends (tag + MKI): the tail room `buf` needs. */
  get rtpTrailerLength(): number {
    return this.#rtpTrailer;
  }

  /** Octets protectRtcp appends (index + tag + MKI). */
  get rtcpTrailerLength(): number {
    return this.#rtcpTrailer;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** RTP → SRTP in place. Returns the SRTP length or a negative SRTP_RESULT code. Outbound only. */
  protectRtp(buf: Uint8Array, len: number): number {
    return this.#n.protectRtp(this.#h, buf, len);
  }

  /** SRTP → RTP in place. Returns the RTP length or a negative SRTP_RESULT code. Inbound only. */
  unprotectRtp(buf: Uint8Array, len: number): number {
    return this.#n.unprotectRtp(this.#h, buf, len);
  }

  /** RTCP → SRTCP in place. Returns the SRTCP length or a negative SRTP_RESULT code. Outbound only. */
  protectRtcp(buf: Uint8Array, len: number): number {
    return this.#n.protectRtcp(this.#h, buf, len);
  }

  /** SRTCP → RTCP in place. Returns the RTCP length or a negative SRTP_RESULT code. Inbound only. */
  unprotectRtcp(buf: Uint8Array, len: number): number {
    return this.#n.unprotectRtcp(this.#h, buf, len);
  }

  /** The rollover counter libsrtp2 holds for `ssrc`, or undefined if it has no stream for it (yet). */
  getRoc(ssrc: number): number | undefined {
    const r = this.#n.getRoc(this.#h, ssrc);
    return r >= 0 ? r : undefined;
  }

  /** Sets the ROC for a stream libsrtp2 already has (a specific-SSRC session, or one it has seen). */
  setRoc(ssrc: number, roc: number): void {
    if (!isU32(ssrc) || !isU32(roc)) throw paramError('ssrc and roc must be integers from 0 to 2^32-1');
    if (this.#closed) throw new SrtpError('ERR_SRTP_CLOSED', 'SRTP session destroyed');
    if (this.#n.setRoc(this.#h, ssrc, roc) === 0) return;
    throw new SrtpError('ERR_SRTP_NO_STREAM', `no SRTP stream for SSRC ${ssrc}`, { details: { ssrc } });
  }

  /**
   * New master keys (and MKIs, window, send key) for the same direction and suite; libsrtp2 keeps
   * the ROC and replay state of each stream. `ssrc` must be what the session was created with.
   */
  update(params: SrtpSessionParams): void {
    if (params.suite !== this.suite) throw paramError('update cannot change the suite: create a new session');
    if (params.roc !== undefined) throw paramError('update keeps the ROC: use setRoc()');
    if (this.#closed) throw new SrtpError('ERR_SRTP_CLOSED', 'SRTP session destroyed');
    const n = toNative(this.direction, params);
    try {
      this.#n.update(this.#h, n);
    } catch (e) {
      throw fromNative(e);
    } finally {
      wipeKeys(n);
    }
    const info = this.#n.info(this.#h);
    this.#rtpTrailer = info.rtpTrailer;
    this.#rtcpTrailer = info.rtcpTrailer;
  }

  /** Packets processed successfully since creation (for key-lifetime accounting). */
  packets(): { rtp: number; rtcp: number } {
    const info = this.#n.info(this.#h);
    return { rtp: info.rtpPackets, rtcp: info.rtcpPackets };
  }

  /** Frees the libsrtp2 context. Idempotent; packet calls afterwards return SRTP_RESULT.CLOSED. */
  destroy(): void {
    this.#closed = true;
    this.#n.destroy(this.#h);
  }
}

/** libsrtp2 sessions alive in this process (all threads), for leak checks and a gauge. */
export function liveSrtpSessions(): number {
  return loadNative().srtp.liveSessions();
}

/** libsrtp2 events (SSRC collision, key usage limits) and log lines counted so far, process-wide. */
export function srtpLibraryEvents(): NativeSrtpEvents {
  return loadNative().srtp.events();
}

/** Version string of the libsrtp2 the addon runs on (e.g. "libsrtp2 2.5.0"). */
export function libsrtpVersion(): string {
  return loadNative().srtp.libsrtpVersion;
}
