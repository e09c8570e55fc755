/**
 * DtlsEndpoint: DTLS on one UDP port (one UDP/TLS/UDPTL stream). The owner gives it every datagram
 * the port receives (`receive`) and a way to send (`handler.send`); it gives back application data
 * (`handler.data`, one UDPTL datagram per record) and the events `established`, `failed`, `released`.
 * It never touches a socket or throws on the packet path.
 *
 * One association at a time (RFC 7345: one DTLS association per m-line), plus handshakes in progress:
 *
 *   - Server (Local a=setup passive, or actpass until the Remote says otherwise, RFC 5763 §5): a
 *     ClientHello from a source with no session goes through the stateless cookie exchange first
 *     (RFC 6347 §4.2.1): without a valid cookie it is answered with a HelloVerifyRequest and leaves
 *     no state; with one, a session is created if the handshake caps allow (engine.reserve).
 *   - Client (a=setup active): connect(address, port) starts a handshake to the Remote.
 *   - The first session whose peer certificate matches a pin becomes the association; other
 *     handshakes are dropped. A later handshake that completes (a peer that restarted, or moved behind
 *     a NAT) replaces it; until then the live association is untouched: a ClientHello from the
 *     association's own address is handled beside it (RFC 6347 §4.2.8: "MUST NOT destroy the existing
 *     association until the client has demonstrated reachability"), and replayed or garbage datagrams
 *     never reach it as anything but records its keys reject.
 *   - Failures are reported (handler.failed) while no association is up, or always in the client
 *     role; a stray failed handshake next to a live association is only counted.
 */
import type { Logger } from '../../observe/log.js';
import type { Closable } from '../../mg/resource.js';
import type { TlsPeerPin } from '../types.js';
import { DTLS_HASH, DTLS_LISTEN, type NativePin } from './binding.js';
import type { DtlsEngine } from './engine.js';
import { isClientHello, isDtlsRecord, recordEpoch } from './records.js';
import { DtlsSession, type SessionOwner } from './session.js';
import type {
  DtlsEndpointRole,
  DtlsEstablished,
  DtlsFailReason,
  DtlsFailure,
  DtlsReleased,
  DtlsReleaseCause,
} from './types.js';

export interface DtlsEndpointHandler {
  /** Sends one datagram from the endpoint's port (never throws; errors are the caller's to count). */
  send(buf: Buffer, address: string, port: number): void;
  /** One application datagram (UDPTL) from the association; `buf` is only valid during the call. */
  data?(buf: Buffer, len: number): void;
  established?(e: DtlsEstablished): void;
  failed?(f: DtlsFailure): void;
  released?(r: DtlsReleased): void;
}

export interface DtlsEndpointOptions {
  /** Default `auto`: accept handshakes as a server until connect() or setRole('client'). */
  readonly role?: DtlsEndpointRole;
  /** Pins of the peer's certificate (Remote a=fingerprint); undefined: not known yet. */
  readonly pins?: readonly TlsPeerPin[] | undefined;
  readonly log?: Logger;
}

const HASH_CODE: Readonly<Record<TlsPeerPin['hash'], number>> = {
  'sha-1': DTLS_HASH.SHA1,
  'sha-256': DTLS_HASH.SHA256,
  'sha-384': DTLS_HASH.SHA384,
  'sha-512': DTLS_HASH.SHA512,
};

/** Pins in the addon's form; null for "not known yet". */
export function nativePins(pins: readonly TlsPeerPin[] | undefined): NativePin[] | null {
  if (pins === undefined) return null;
  return pins.map((p) => ({
    hash: HASH_CODE[p.hash],
    digest: Buffer.from(p.value.replace(/:/g, ''), 'hex'),
  }));
}

function keyOf(address: string, port: number): string {
  return `${address}|${port}`;
}

export class DtlsEndpoint implements SessionOwner, Closable {
  readonly #engine: DtlsEngine;
  readonly #handler: DtlsEndpointHandler;
  readonly #log: Logger | undefined;
  #role: DtlsEndpointRole;
  #pins: NativePin[] | null;
  #assoc: DtlsSession | undefined;
  /** A new handshake from the association's own address and port, beside the association. */
  #rehandshake: DtlsSession | undefined;
  /** Handshakes from (server) or to (client) other addresses, by `address|port`. */
  readonly #handshakes = new Map<string, DtlsSession>();
  #closed = false;

  constructor(engine: DtlsEngine, handler: DtlsEndpointHandler, opts: DtlsEndpointOptions = {}) {
    this.#engine = engine;
    this.#handler = handler;
    this.#log = opts.log;
    this.#role = opts.role ?? 'auto';
    this.#pins = nativePins(opts.pins);
  }

  get role(): DtlsEndpointRole {
    return this.#role;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The live association, if any. */
  get association(): DtlsSession | undefined {
    return this.#assoc;
  }

  /** Handshakes in progress on this endpoint. */
  get handshakeCount(): number {
    return this.#handshakes.size + (this.#rehandshake !== undefined ? 1 : 0);
  }

  /**
   * A datagram arrived on the endpoint's port. Never throws; drops are counted.
   * Application data is decrypted in place into `buf`.
   */
  receive(buf: Buffer, len: number, address: string, port: number): void {
    if (this.#closed) return;
    const t = this.#engine.totals;
    if (!isDtlsRecord(buf, len)) {
      t.malformed++;
      return;
    }
    const a = this.#assoc;
    if (a !== undefined && a.port === port && a.address === address) {
      if (isClientHello(buf, len)) {
        this.#hello(buf, len, address, port, true);
        return;
      }
      const re = this.#rehandshake;
      if (re === undefined) {
        a.input(buf, len);
        return;
      }
      // A new handshake runs beside the association: its clear records (epoch 0) are its own; an
      // encrypted one is the association's unless the association's keys reject it (the new
      // handshake's Finished).
      if (recordEpoch(buf) === 0) re.input(buf, len);
      else if (!a.input(buf, len) && !re.ended && this.#rehandshake === re) re.input(buf, len);
      return;
    }
    const key = keyOf(address, port);
    const hs = this.#handshakes.get(key);
    if (hs !== undefined) {
      hs.input(buf, len);
      return;
    }
    if (isClientHello(buf, len)) {
      this.#hello(buf, len, address, port, false);
      return;
    }
    t.unexpected++;
  }

  /**
   * Starts a client handshake to `address:port` (role becomes client). Returns false when the
   * handshake caps refuse it (handler.failed is told, reason handshake).
   */
  connect(address: string, port: number): boolean {
    if (this.#closed) return false;
    this.setRole('client');
    const key = keyOf(address, port);
    this.#handshakes.get(key)?.close(false);
    this.#handshakes.delete(key);
    if (!this.#engine.reserve(address, 'client')) {
      this.#engine.countHandshake('client', 'refused', 'limit');
      this.#engine.totals.limit++;
      this.#emitFailed({
        reason: 'handshake',
        role: 'client',
        address,
        port,
        message: 'too many DTLS handshakes in progress (dtls.maxHandshakes)',
      });
      return false;
    }
    let s: DtlsSession;
    try {
      const h = this.#engine.native.connect(this.#engine.ctx, {
        mtu: this.#engine.config.mtu,
        pins: this.#pins,
        peer: Buffer.from(key),
      });
      s = new DtlsSession(this.#engine, this, h, 'client', address, port);
    } catch (e) {
      this.#engine.unreserve(address);
      this.#emitFailed({
        reason: 'handshake',
        role: 'client',
        address,
        port,
        message: e instanceof Error ? e.message : String(e),
      });
      return false;
    }
    this.#handshakes.set(key, s);
    s.start();
    return true;
  }

  /**
   * The DTLS role: `client` stops accepting ClientHellos (server handshakes in progress are dropped),
   * `server` drops client handshakes in progress; the association stays.
   */
  setRole(role: DtlsEndpointRole): void {
    if (role === this.#role) return;
    this.#role = role;
    for (const [k, s] of this.#handshakes) {
      if ((role === 'client' && s.role === 'server') || (role === 'server' && s.role === 'client')) {
        this.#handshakes.delete(k);
        s.close(false);
      }
    }
    if (role === 'client' && this.#rehandshake !== undefined) {
      this.#rehandshake.close(false);
      this.#rehandshake = undefined;
    }
  }

  /**
   * New pins (a Remote a=fingerprint). Sessions waiting for them are checked now; an established
   * association whose certificate does not match any more is ended (`failed` fingerprint, then
   * `released` failed).
   */
  setPins(pins: readonly TlsPeerPin[] | undefined): void {
    this.#pins = nativePins(pins);
    for (const s of [...this.#handshakes.values()]) s.setPins(this.#pins);
    this.#rehandshake?.setPins(this.#pins);
    this.#assoc?.setPins(this.#pins);
  }

  /** Sends one application datagram through the association; false (counted) without one. */
  send(buf: Uint8Array, len: number): boolean {
    const a = this.#assoc;
    if (a === undefined || !a.write(buf, len)) {
      this.#engine.totals.noAssociation++;
      return false;
    }
    return true;
  }

  /**
   * Ends the association (close_notify, `released` local) and every handshake: what a new tls-id
   * asks for (RFC 8842 §4). The endpoint stays usable: a new association can follow.
   */
  reset(): void {
    for (const s of this.#handshakes.values()) s.close(false);
    this.#handshakes.clear();
    this.#rehandshake?.close(false);
    this.#rehandshake = undefined;
    const a = this.#assoc;
    if (a !== undefined) {
      this.#assoc = undefined;
      a.close(true);
      this.#released(a, 'local');
    }
  }

  /** reset(), and nothing more is accepted. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.reset();
    this.#closed = true;
    this.#engine.forget(this);
  }

  // ---- SessionOwner ------------------------------------------------------------------------

  sendRaw(buf: Buffer, address: string, port: number): void {
    this.#handler.send(buf, address, port);
  }

  sessionEstablished(s: DtlsSession): void {
    this.#detach(s);
    const old = this.#assoc;
    this.#assoc = s;
    this.#engine.associationUp();
    this.#engine.countHandshake(s.role, 'ok', 'none');
    // one association per m-line: other handshakes in progress have lost
    for (const other of this.#handshakes.values()) other.close(false);
    this.#handshakes.clear();
    if (this.#rehandshake !== undefined && this.#rehandshake !== s) this.#rehandshake.close(false);
    this.#rehandshake = undefined;
    if (old !== undefined) {
      old.close(old.address !== s.address || old.port !== s.port); // same peer: its old keys are gone anyway
      this.#released(old, 'replaced');
    }
    const info = s.handle !== undefined ? this.#engine.native.info(s.handle) : undefined;
    const e: DtlsEstablished = {
      role: s.role,
      address: s.address,
      port: s.port,
      protocol: info?.version ?? 'DTLSv1.2',
      cipher: info?.cipher ?? '',
      peerFingerprint: info?.peerFingerprint ?? '',
    };
    this.#log?.info({ dtls: e }, 'DTLS association established');
    this.#handler.established?.(e);
  }

  sessionData(_s: DtlsSession, buf: Buffer, len: number): void {
    this.#handler.data?.(buf, len);
  }

  sessionFailed(s: DtlsSession, reason: DtlsFailReason, message: string): void {
    this.#detach(s);
    this.#engine.countHandshake(s.role, 'failed', reason);
    const f: DtlsFailure = { reason, role: s.role, address: s.address, port: s.port, message };
    if (this.#assoc === undefined || s.role === 'client') this.#emitFailed(f);
    else this.#log?.debug({ dtls: f }, 'DTLS handshake beside a live association failed');
  }

  sessionClosed(s: DtlsSession, cause: 'peer' | 'error' | 'failed', message: string): void {
    if (this.#assoc !== s) {
      this.#detach(s);
      return;
    }
    this.#assoc = undefined;
    if (cause === 'failed') {
      this.#emitFailed({ reason: 'fingerprint', role: s.role, address: s.address, port: s.port, message });
    }
    this.#released(s, cause);
  }

  // ---- internals ---------------------------------------------------------------------------

  #hello(buf: Buffer, len: number, address: string, port: number, fromAssociation: boolean): void {
    const engine = this.#engine;
    const t = engine.totals;
    if (this.#role === 'client') {
      t.unexpected++;
      return;
    }
    const key = keyOf(address, port);
    const peer = Buffer.from(key);
    const r = engine.native.listen(engine.ctx, buf, len, peer);
    if (r === DTLS_LISTEN.HVR) {
      const hvr = engine.native.listenTakeOut(engine.ctx);
      if (hvr !== undefined) {
        t.helloVerify++;
        this.#handler.send(hvr, address, port);
      }
      return;
    }
    if (r !== DTLS_LISTEN.ACCEPT) {
      t.malformed++;
      return;
    }
    // The cookie proved the source address; now the caps decide whether it gets state.
    if (!engine.reserve(address, 'server')) {
      t.limit++;
      engine.countHandshake('server', 'refused', 'limit');
      return;
    }
    let s: DtlsSession;
    try {
      const h = engine.native.accept(engine.ctx, { mtu: engine.config.mtu, pins: this.#pins, peer });
      s = new DtlsSession(engine, this, h, 'server', address, port);
    } catch (e) {
      engine.unreserve(address);
      this.#log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'DTLS server session not created');
      return;
    }
    if (fromAssociation) {
      this.#rehandshake?.close(false);
      this.#rehandshake = s;
    } else {
      this.#handshakes.set(key, s);
    }
    s.start();
  }

  /** Forgets a session that is no longer a handshake in progress. */
  #detach(s: DtlsSession): void {
    if (this.#rehandshake === s) this.#rehandshake = undefined;
    const key = keyOf(s.address, s.port);
    if (this.#handshakes.get(key) === s) this.#handshakes.delete(key);
  }

  #released(s: DtlsSession, cause: DtlsReleaseCause): void {
    this.#engine.associationDown();
    const r: DtlsReleased = { cause, address: s.address, port: s.port };
    this.#log?.info({ dtls: r }, 'DTLS association released');
    this.#handler.released?.(r);
  }

  #emitFailed(f: DtlsFailure): void {
    this.#log?.warn({ dtls: f }, 'DTLS handshake failed');
    this.#handler.failed?.(f);
  }
}

