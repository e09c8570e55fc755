/**
 * DtlsSession: one DTLS association attempt with one peer (address, port): a native SSL handle, its
 * retransmission timer and its handshake deadline. The endpoint (endpoint.ts) creates sessions,
 * routes datagrams to them and is told what happened through the SessionOwner callbacks.
 *
 * Flags returned by the native calls are handled in one place (#apply), in this order: queued
 * datagrams are sent first (so an alert or a flight leaves before anyone reacts), then
 * established, then application data, then failure or close.
 */
import {
  DTLS_FLAG,
  DTLS_REASON,
  DTLS_STATE,
  type NativeDtls,
  type NativeDtlsSession,
  type NativePin,
} from './binding.js';
import type { DtlsEngine } from './engine.js';
import type { DtlsFailReason, DtlsRole } from './types.js';

/** What a session tells its endpoint. */
export interface SessionOwner {
  /** Sends one datagram to the session's peer (never throws). */
  sendRaw(buf: Buffer, address: string, port: number): void;
  /** Pin verified: the association is up. */
  sessionEstablished(s: DtlsSession): void;
  /** Application data (one record); `buf` is only valid during the call. */
  sessionData(s: DtlsSession, buf: Buffer, len: number): void;
  /** The handshake failed (or its deadline passed); the session is gone. */
  sessionFailed(s: DtlsSession, reason: DtlsFailReason, message: string): void;
  /**
   * An established session ended: close_notify (`peer`), a fatal alert (`error`), or new pins its
   * certificate does not match (`failed`). The session is gone.
   */
  sessionClosed(s: DtlsSession, cause: 'peer' | 'error' | 'failed', message: string): void;
}

/** Largest plaintext of one DTLS record (RFC 6347 §4.1: 2^14). */
export const MAX_RECORD = 16384;

const F_OUT = DTLS_FLAG.OUT;
const F_ESTABLISHED = DTLS_FLAG.ESTABLISHED;
const F_FAILED = DTLS_FLAG.FAILED;
const F_CLOSED = DTLS_FLAG.CLOSED;
const F_MORE = DTLS_FLAG.MORE;
const F_DATA = DTLS_FLAG.DATA;

function failReason(code: number): DtlsFailReason {
  if (code === DTLS_REASON.FINGERPRINT) return 'fingerprint';
  if (code === DTLS_REASON.TIMEOUT) return 'timeout';
  return 'handshake';
}

export class DtlsSession {
  readonly role: DtlsRole;
  readonly address: string;
  readonly port: number;
  readonly #native: NativeDtls;
  readonly #engine: DtlsEngine;
  readonly #owner: SessionOwner;
  #h: NativeDtlsSession | undefined;
  #retransmit: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  /** Holds a handshake slot of the engine until established or gone. */
  #reserved = true;
  #established = false;
  #ended = false;

  constructor(
    engine: DtlsEngine,
    owner: SessionOwner,
    handle: NativeDtlsSession,
    role: DtlsRole,
    address: string,
    port: number,
  ) {
    this.#engine = engine;
    this.#native = engine.native;
    this.#owner = owner;
    this.#h = handle;
    this.role = role;
    this.address = address;
    this.port = port;
    this.#deadline = setTimeout(() => this.#timedOut(), engine.config.handshakeTimeoutMs);
    this.#deadline.unref();
  }

  get established(): boolean {
    return this.#established;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The native handle while the session lives (exportKeyingMaterial, info). */
  get handle(): NativeDtlsSession | undefined {
    return this.#h;
  }

  /** Starts (client: ClientHello) or continues (server: the ClientHello listen() accepted) the handshake. */
  start(): void {
    const h = this.#h;
    if (h === undefined) return;
    this.#apply(this.#native.handshake(h), undefined);
  }

  /**
   * One datagram from the peer. Application data is decrypted into `buf` itself (OpenSSL copies the
   * datagram before decrypting) and handed to the owner. Returns true when data was delivered.
   */
  input(buf: Buffer, len: number): boolean {
    const h = this.#h;
    if (h === undefined) return false;
    return this.#apply(this.#native.feed(h, buf, len, buf), buf);
  }

  /** Sends one application datagram (UDPTL) as one record; false when not established or refused. */
  write(buf: Uint8Array, len: number): boolean {
    const h = this.#h;
    if (h === undefined || !this.#established) return false;
    const r = this.#native.write(h, buf, len);
    if (r < 0) return false;
    if ((r & F_OUT) !== 0) this.#flush(h);
    const t = this.#engine.totals;
    t.recordsOut++;
    t.bytesOut += len;
    return true;
  }

  /** New pins (Remote a=fingerprint); may establish a session waiting for them, or fail one. */
  setPins(pins: NativePin[] | null): void {
    const h = this.#h;
    if (h === undefined) return;
    this.#apply(this.#native.setPins(h, pins), undefined);
  }

  /** Ends the session: close_notify when `notify` and it got that far, then the handle is freed. */
  close(notify: boolean): void {
    const h = this.#h;
    if (h === undefined) return;
    if (notify) {
      const r = this.#native.shutdown(h);
      if (r > 0 && (r & F_OUT) !== 0) this.#flush(h);
    }
    this.#end();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Handles the flags of a native call; true when application data was delivered. */
  #apply(r: number, buf: Buffer | undefined): boolean {
    if (r < 0) return false;
    const h = this.#h!;
    if ((r & F_OUT) !== 0) this.#flush(h);
    if ((r & F_ESTABLISHED) !== 0 && !this.#established) {
      this.#established = true;
      this.#stopHandshakeTimers();
      this.#owner.sessionEstablished(this);
      if (this.#h === undefined) return false; // the owner closed it
    }
    let delivered = false;
    if ((r & F_DATA) !== 0 && buf !== undefined) {
      delivered = true;
      this.#deliver(buf, r >>> 8);
    }
    if ((r & F_MORE) !== 0) {
      // rare: several records in one datagram; each gets its own buffer (the first used `buf`)
      let q = r;
      while ((q & F_MORE) !== 0 && this.#h !== undefined) {
        const out = Buffer.allocUnsafe(MAX_RECORD + 256);
        q = this.#native.read(this.#h, out);
        if (q < 0) break;
        if ((q & F_OUT) !== 0) this.#flush(this.#h);
        if ((q & F_DATA) !== 0) {
          delivered = true;
          this.#deliver(out, q >>> 8);
        }
        r |= q & (F_FAILED | F_CLOSED);
      }
    }
    if (this.#h === undefined) return delivered;
    if ((r & F_FAILED) !== 0) {
      const info = this.#native.info(this.#h);
      if (this.#established) {
        // a new pin the established peer does not match (setPins): the association ends
        this.#end();
        this.#owner.sessionClosed(this, 'failed', info.error ?? 'fingerprint');
      } else {
        const reason = failReason(info.reason);
        this.#end();
        this.#owner.sessionFailed(this, reason, info.error ?? reason);
      }
      return delivered;
    }
    if ((r & F_CLOSED) !== 0) {
      const info = this.#native.info(this.#h);
      const wasUp = this.#established;
      this.#end();
      if (wasUp)
        this.#owner.sessionClosed(
          this,
          info.reason === DTLS_REASON.PEER_CLOSE ? 'peer' : 'error',
          info.error ?? 'closed',
        );
      else this.#owner.sessionFailed(this, 'handshake', info.error ?? 'closed during the handshake');
      return delivered;
    }
    if (!this.#established) this.#arm(this.#h);
    else if ((r & F_DATA) === 0 && (r & F_OUT) !== 0) this.#arm(this.#h); // a retransmitted last flight
    return delivered;
  }

  #deliver(buf: Buffer, len: number): void {
    const t = this.#engine.totals;
    t.recordsIn++;
    t.bytesIn += len;
    this.#owner.sessionData(this, buf, len);
  }

  #flush(h: NativeDtlsSession): void {
    for (let d = this.#native.takeOut(h); d !== undefined; d = this.#native.takeOut(h)) {
      this.#owner.sendRaw(d, this.address, this.port);
    }
  }

  /** (Re)arms the retransmission timer from OpenSSL's DTLS timer. */
  #arm(h: NativeDtlsSession): void {
    const ms = this.#native.timeoutMs(h);
    if (this.#retransmit !== undefined) {
      clearTimeout(this.#retransmit);
      this.#retransmit = undefined;
    }
    if (ms < 0) return;
    this.#retransmit = setTimeout(() => this.#onRetransmit(), Math.max(ms, 1));
    this.#retransmit.unref();
  }

  #onRetransmit(): void {
    this.#retransmit = undefined;
    const h = this.#h;
    if (h === undefined) return;
    const r = this.#native.handleTimeout(h);
    if (r < 0) return;
    if ((r & F_OUT) !== 0) this.#flush(h);
    if ((r & F_FAILED) !== 0) {
      this.#end();
      this.#owner.sessionFailed(this, 'timeout', 'peer did not answer (retransmissions exhausted)');
      return;
    }
    this.#arm(h);
  }

  #timedOut(): void {
    this.#deadline = undefined;
    if (this.#h === undefined || this.#established) return;
    const waiting = this.#native.state(this.#h) === DTLS_STATE.VERIFY_WAIT;
    this.close(waiting); // a finished handshake gets close_notify; a half-done one just stops
    this.#owner.sessionFailed(
      this,
      'timeout',
      waiting
        ? 'no Remote a=fingerprint to check the peer certificate against in time'
        : 'handshake not finished in time',
    );
  }

  #stopHandshakeTimers(): void {
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (this.#retransmit !== undefined) clearTimeout(this.#retransmit);
    this.#retransmit = undefined;
    this.#unreserve();
  }

  #unreserve(): void {
    if (!this.#reserved) return;
    this.#reserved = false;
    this.#engine.unreserve(this.address);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopHandshakeTimers();
    const h = this.#h;
    this.#h = undefined;
    if (h !== undefined) this.#native.destroy(h);
  }
}
