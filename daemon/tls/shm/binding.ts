/**
 * Loader and typed wrapper of the shared memory part of trgwd's native addon (native/src/shm.c):
 * memory that several processes map at once, for relay worker processes (`media.workerMode:
 * process`), whose leg counters and realm totals the main process reads as worker threads' are read
 * from SharedArrayBuffers.
 *
 * The creator gets a memfd (close-on-exec) and an ArrayBuffer over its mapping; another process of
 * the same user maps the same memory by the creator's pid and fd number (`/proc/<pid>/fd/<fd>`), so
 * the reference ({ pid, fd, bytes }) travels in an IPC message. A mapping lives until its ArrayBuffer
 * is collected (the creator's fd with it). Not the packet path: calls throw ShmError.
 *
 * The addon is the one `trgwd_native.node` (SRTP, DTLS, shm); this module loads its shm part
 * through tls/native-addon.ts, as the other parts are loaded.
 */
import { TrgwdError, errorMessage } from '../../errors.js';
import { loadAddonPart, nativeAddonCandidates, type AddonErrorFactory } from '../native-addon.js';

/** Where a shared memory block is, for another process: the creator's pid, its fd, the size mapped. */
export interface ShmRef {
  readonly pid: number;
  readonly fd: number;
  readonly bytes: number;
}

/** A block this process created: its reference (for others) and its own mapping. */
export interface SharedMemory {
  readonly ref: ShmRef;
  readonly buffer: ArrayBuffer;
}

export interface NativeShm {
  /** Throws an Error with code ERR_SHM_PARAM / ERR_SHM_CREATE / ERR_SHM_MAP. */
  create(bytes: number): { fd: number; buffer: ArrayBuffer };
  /** Throws an Error with code ERR_SHM_PARAM / ERR_SHM_OPEN / ERR_SHM_SIZE / ERR_SHM_MAP. */
  open(pid: number, fd: number, bytes: number): ArrayBuffer;
  /** Largest block accepted. */
  maxBytes: number;
}

/**
 * Errors of shared memory: ERR_NATIVE_MISSING (addon not built), ERR_NATIVE_MISMATCH (built without
 * the shm part), and the addon's ERR_SHM_* (PARAM, CREATE, OPEN, SIZE, MAP, UNSUPPORTED).
 */
export class ShmError extends TrgwdError {}

/** Loads the shm part from the first candidate that exists; throws ShmError. */
export function loadShmNativeFrom(candidates: readonly string[]): NativeShm {
  const fail: AddonErrorFactory = (code, message, options) => new ShmError(code, message, options);
  return loadAddonPart<NativeShm>(candidates, 'shm', 'shared memory', ['create', 'open'], fail).part;
}

let cached: NativeShm | undefined;

/** The shm part of the addon, loaded once per thread. Throws ShmError when not built. */
export function loadShmNative(): NativeShm {
  cached ??= loadShmNativeFrom(nativeAddonCandidates());
  return cached;
}

/** True when the shm part loads (tests skip locally without it). */
export function shmAvailable(): boolean {
  try {
    loadShmNative();
    return true;
  } catch {
    return false;
  }
}

/** The addon's Error (with `code`) as a ShmError with the same code. */
function rethrow(e: unknown, details: Record<string, unknown>): never {
  const code = (e as { code?: unknown } | null)?.code;
  throw new ShmError(typeof code === 'string' ? code : 'ERR_SHM_MAP', errorMessage(e), {
    cause: e,
    details,
  });
}

/** A new zero-filled block of `bytes`, mapped here; `ref` lets another process map it (openShm). */
export function createShm(bytes: number): SharedMemory {
  const native = loadShmNative();
  let r: { fd: number; buffer: ArrayBuffer };
  try {
    r = native.create(bytes);
  } catch (e) {
    rethrow(e, { bytes });
  }
  return { ref: { pid: process.pid, fd: r.fd, bytes }, buffer: r.buffer };
}

/** Maps a block another process (or this one) created; the same memory, read and write. */
export function openShm(ref: ShmRef): ArrayBuffer {
  const native = loadShmNative();
  try {
    return native.open(ref.pid, ref.fd, ref.bytes);
  } catch (e) {
    rethrow(e, { pid: ref.pid, fd: ref.fd, bytes: ref.bytes });
  }
}
