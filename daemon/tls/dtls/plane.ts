/**
 * The UDP/TLS/UDPTL media plane (PROFILE §3, §8; RFC 7345 with RFC 8842 tls-id): the gateway
 * terminates DTLS on the access termination and relays the UDPTL datagrams inside it, one for one,
 * with the plain `udptl` termination of the context.
 *
 * prepareStream (nothing committed yet): fills Local `a=fingerprint:<hash> $` with our certificate's
 * fingerprint and `a=tls-id:$` with a fresh random id (RFC 8842 §4: at least 20 characters; ours are
 * 32); checks that a Remote carries an `a=fingerprint` with a hash we know (472 / 449 otherwise).
 *
 * contextChanged (reconcile, never throws), per UDP/TLS/UDPTL stream:
 *   - a DtlsEndpoint on the stream's UDP socket (the port lease's), owned by the stream;
 *   - role from Local `a=setup` (active: client, passive: server), actpass or none: from the Remote's
 *     (peer active: we serve, peer passive or actpass: we connect; no Remote setup yet: we accept a
 *     ClientHello, RFC 5763 §5); `holdconn`: no DTLS;
 *   - pins from Remote `a=fingerprint`; a client handshake starts once Remote gives an address and a
 *     fingerprint, and again on each new `tlsbsc/estab` signal;
 *   - a changed Local or Remote `a=tls-id` ends the association (RFC 8842 §4: a new association).
 *
 * Relay: the DTLS stream is a leg of the UDP plane's Forwarder (kind udptl) whose "socket" is a shim:
 * what the Forwarder sends out of the leg is encrypted into the association, and each decrypted record
 * enters the Forwarder as a datagram from the association's peer. So mode, topology, policing (on the
 * UDPTL payload: PROFILE §9's security overhead is not counted) and statistics (nt/os, nt/or count
 * UDPTL datagrams and octets) are the UDP plane's, unchanged. The Forwarder's targets of the context's
 * udptl legs are recomputed here with the UDP plane's rule plus our legs; this plane must therefore be
 * registered after the UDP plane (gateway.ts), so its contextChanged runs second.
 *
 * Events on the termination: `tlsbsc/est` (resumed off: no resumption on DTLS), `tlsbsc/fail`
 * (`reason` fingerprint, handshake, timeout), `tlsbsc/rel`. Statistics: besides nt/os, nt/or (the
 * Forwarder's), `tlstv/bs` and `tlstv/br`: application octets sent into and received from DTLS.
 */
import type { Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  SDP_ATTR,
  type SdpGroup,
  type SdpSection,
  type SdpSetup,
  type SdpTransport,
} from '../../control/codec/sdp.js';
import { TrgwdError, errorMessage } from '../../errors.js';
import type { Context } from '../../mg/context.js';
import type { MediaPlane, StreamPreparation } from '../../mg/media-plane.js';
import type { Closable } from '../../mg/resource.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import type { StoredSignals } from '../../mg/types.js';
import type { UdpPortLease } from '../../bearer/ports.js';
import type { Forwarder, LegConfig } from '../../bearer/udp/forwarder.js';
import { acceptsIn, attachStreamCounters, policerOf, remoteEndpoints, sendsOut } from '../../bearer/udp/udp-plane.js';
import { checkRemote, fillLocalFingerprints, pinKey, remotePins } from '../fingerprint.js';
import type { DtlsEngine } from './engine.js';
import type { DtlsEndpoint } from './endpoint.js';
import type { DtlsEndpointRole } from './types.js';

export const DTLS_TRANSPORT: SdpTransport = 'UDP/TLS/UDPTL';
export const EST_EVENT = 'tlsbsc/est';
export const FAIL_EVENT = 'tlsbsc/fail';
export const REL_EVENT = 'tlsbsc/rel';
export const ESTAB_SIGNAL = 'tlsbsc/estab';

/** What this plane needs of the UDP plane (UdpMediaPlane fits): its Forwarder and its leg ids. */
export interface UdpRelay {
  readonly forwarder: Forwarder;
  legOf(stream: Stream): number | undefined;
}

export interface DtlsUdptlPlaneOptions {
  /** The engine, or how to make it on first use (the native addon is loaded then). */
  readonly engine: DtlsEngine | (() => DtlsEngine);
  /** The UDP plane whose udptl legs ours relay with. */
  readonly udp: UdpRelay;
}

/** Our legs' ids in the shared Forwarder: far above the UDP plane's (which count up from 1). */
const FIRST_LEG_ID = 0x40000000;
/** RFC 8842 §4: tls-id of at least 20 characters of base64 alphabet; 24 random bytes → 32 characters. */
const TLS_ID_BYTES = 24;

export function newTlsId(): string {
  return randomBytes(TLS_ID_BYTES).toString('base64url');
}

function media0(g: SdpGroup | undefined): SdpSection | undefined {
  return g?.media[0];
}

/** A media-level attribute, else the session-level one (RFC 4566 §5.13). */
function setupOf(g: SdpGroup | undefined): SdpSetup | undefined {
  if (g === undefined) return undefined;
  return media0(g)?.get(SDP_ATTR.setup) ?? g.session.get(SDP_ATTR.setup);
}

function tlsIdOf(g: SdpGroup | undefined): string | undefined {
  if (g === undefined) return undefined;
  return media0(g)?.get(SDP_ATTR.tlsId) ?? g.session.get(SDP_ATTR.tlsId);
}

/**
 * Our DTLS role (PROFILE §8): Local active → client, passive → server; actpass (or none) → the
 * Remote decides: active → server, passive → client, actpass → client (we answer, RFC 5763 §5: the
 * answerer SHOULD be active); no Remote a=setup → accept a ClientHello (auto). `hold`: holdconn.
 */
export function dtlsRole(
  local: SdpGroup | undefined,
  remote: SdpGroup | undefined,
): DtlsEndpointRole | 'hold' {
  const l = setupOf(local);
  if (l === 'holdconn') return 'hold';
  if (l === 'active') return 'client';
  if (l === 'passive') return 'server';
  const r = setupOf(remote);
  if (r === 'active') return 'server';
  if (r === 'passive' || r === 'actpass') return 'client';
  return 'auto';
}


/** Fills Local `a=tls-id:$` (session and media level, every group) with a new id. */
function fillTlsIds(local: readonly SdpGroup[]): void {
  for (const g of local) {
    for (const section of [g.session, ...g.media]) {
      if (section.get(SDP_ATTR.tlsId) === '$') section.set(SDP_ATTR.tlsId, newTlsId());
    }
  }
}


/**
 * The Forwarder side of a DTLS leg, shaped as the dgram Socket the Forwarder uses: `send` encrypts
 * into the association; decrypted records are emitted as `message`.
 */
class ShimSocket extends EventEmitter {
  endpoint: DtlsEndpoint | undefined;
  /** Application octets that went into the association (tlstv/bs). */
  bytesOut = 0;

  // dgram's send(buf, port, address) and send(buf, offset, length, port, address)
  send(buf: Buffer, a: number, b?: number | string, c?: number): void {
    const ep = this.endpoint;
    if (ep === undefined) return;
    let n: number;
    let ok: boolean;
    if (typeof b === 'number' && c !== undefined) {
      n = b;
      ok = a === 0 ? ep.send(buf, b) : ep.send(buf.subarray(a, a + b), b);
    } else {
      n = buf.length;
      ok = ep.send(buf, n);
    }
    if (ok) this.bytesOut += n;
  }
}

class DtlsLeg implements Closable {
  readonly id: number;
  readonly stream: Stream;
  termination: Termination;
  readonly lease: UdpPortLease;
  readonly endpoint: DtlsEndpoint;
  readonly shim = new ShimSocket();
  readonly onMessage: (buf: Buffer, rinfo: { address: string; port: number }) => void;
  /** The association's peer, handed to the Forwarder with every record (it reads address and port only). */
  readonly rinfo = { address: '', port: 0 };
  cfg: LegConfig | undefined;
  /** Application octets that came out of the association (tlstv/br). */
  bytesIn = 0;
  role: DtlsEndpointRole | 'hold' = 'auto';
  localTlsId: string | undefined;
  remoteTlsId: string | undefined;
  pinsKey = '';
  /** What the last client handshake was started for (no restart while it holds). */
  attempt = '';
  signals: StoredSignals | undefined;
  #closed = false;
  readonly #onClose: (l: DtlsLeg) => void;

  constructor(
    id: number,
    stream: Stream,
    termination: Termination,
    lease: UdpPortLease,
    endpoint: DtlsEndpoint,
    onClose: (l: DtlsLeg) => void,
  ) {
    this.id = id;
    this.stream = stream;
    this.termination = termination;
    this.lease = lease;
    this.endpoint = endpoint;
    this.shim.endpoint = endpoint;
    this.#onClose = onClose;
    this.onMessage = (buf, rinfo) => endpoint.receive(buf, buf.length, rinfo.address, rinfo.port);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.lease.socket.off('message', this.onMessage);
    this.endpoint.close();
    this.shim.endpoint = undefined;
    this.#onClose(this);
  }
}

export class DtlsUdptlPlane implements MediaPlane {
  readonly name = 'dtls';
  readonly #engineOpt: DtlsEngine | (() => DtlsEngine);
  readonly #udp: UdpRelay;
  #engine: DtlsEngine | undefined;
  readonly #legs = new Map<Stream, DtlsLeg>();
  /** Detaches a leg's Forwarder counters from its stream (attachStreamCounters). */
  readonly #counters = new Map<DtlsLeg, () => void>();
  #nextId = FIRST_LEG_ID;
  #closed = false;

  constructor(options: DtlsUdptlPlaneOptions) {
    this.#engineOpt = options.engine;
    this.#udp = options.udp;
  }

  serves(transport: SdpTransport): boolean {
    return transport === DTLS_TRANSPORT;
  }

  /** Streams with a DTLS leg now (tests, diagnostics). */
  get legCount(): number {
    return this.#legs.size;
  }

  /** The endpoint of a stream (tests, diagnostics). */
  endpointOf(stream: Stream): DtlsEndpoint | undefined {
    return this.#legs.get(stream)?.endpoint;
  }

  /** The engine, made on first use; ERR_DTLS_UNAVAILABLE (449) when the addon is missing. */
  engine(): DtlsEngine {
    if (this.#engine !== undefined) return this.#engine;
    const opt = this.#engineOpt;
    try {
      this.#engine = typeof opt === 'function' ? opt() : opt;
    } catch (e) {
      throw new TrgwdError('ERR_DTLS_UNAVAILABLE', `${DTLS_TRANSPORT} is not available: ${errorMessage(e)}`, {
        cause: e,
        details: { transport: DTLS_TRANSPORT },
      });
    }
    return this.#engine;
  }

  // ---- MediaPlane -----------------------------------------------------------------------------

  prepareStream(p: StreamPreparation): void {
    if (p.transport !== DTLS_TRANSPORT) return;
    const engine = this.engine();
    if (p.local !== undefined) {
      // the same `$` fingerprints as on a TLS stream (RFC 8122), plus the tls-id (RFC 8842)
      fillLocalFingerprints(p.local, engine.identity);
      fillTlsIds(p.local);
    }
    if (p.remote !== undefined && p.remote.length > 0) checkRemote(p.remote);
  }

  contextChanged(ctx: Context): void {
    if (this.#closed) return;
    let ours = false;
    for (const t of ctx.terminations.values()) {
      for (const s of t.streams.values()) {
        try {
          if (this.#reconcile(s, t) !== undefined) ours = true;
        } catch (e) {
          t.log.error({ stream: s.id, err: errorMessage(e) }, 'dtls: stream not configured');
        }
      }
    }
    if (ours) this.#targets(ctx);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const leg of [...this.#legs.values()]) leg.stream.disown(leg);
    this.#engine?.close();
  }

  // ---- legs -----------------------------------------------------------------------------------

  #reconcile(s: Stream, t: Termination): DtlsLeg | undefined {
    let leg = this.#legs.get(s);
    const transport = (s.local?.[0] ?? s.remote?.[0])?.media[0]?.transport;
    const port = s.ports.find((p) => p.kind === 'udp');
    const lease = port?.lease as UdpPortLease | undefined;
    if (s.closed || transport !== DTLS_TRANSPORT || lease === undefined || lease.released) {
      if (leg !== undefined) s.disown(leg);
      return undefined;
    }
    if (leg !== undefined && leg.lease !== lease) {
      s.disown(leg); // new port (realm change): a new endpoint on the new socket
      leg = undefined;
    }
    const udp = this.#udp;
    const engine = this.engine();
    if (leg === undefined) leg = this.#newLeg(engine, udp, s, t, lease, port!.realm);
    leg.termination = t;
    this.#apply(leg, udp, port!.realm);
    return leg;
  }

  #newLeg(
    engine: DtlsEngine,
    udp: UdpRelay,
    s: Stream,
    t: Termination,
    lease: UdpPortLease,
    realm: string,
  ): DtlsLeg {
    const id = this.#nextId++;
    // the leg exists before the endpoint's handlers can fire (they are only called from receive/timers)
    const ref: { leg?: DtlsLeg } = {};
    const endpoint = engine.endpoint(
      {
        send: (buf, address, port) => {
          try {
            lease.socket.send(buf, port, address);
          } catch {
            // socket closed under us: the leg is going away
          }
        },
        data: (buf, len) => {
          const leg = ref.leg;
          if (leg === undefined || leg.closed) return;
          if (leg.endpoint.association === undefined) return;
          leg.bytesIn += len;
          leg.shim.emit('message', len === buf.length ? buf : buf.subarray(0, len), leg.rinfo);
        },
        established: (e) => {
          const leg = ref.leg;
          if (leg === undefined) return;
          // the source the Forwarder sees for every record of this association
          leg.rinfo.address = e.address;
          leg.rinfo.port = e.port;
          this.#configure(leg, realm); // the Forwarder now sends to the association's peer
          leg.termination.raise(EST_EVENT, { resumed: false }, leg.stream.id);
        },
        failed: (f) => {
          const leg = ref.leg;
          if (leg === undefined) return; // the endpoint logged it (with the stream)
          leg.termination.raise(FAIL_EVENT, { reason: f.reason }, leg.stream.id);
        },
        released: () => {
          const leg = ref.leg;
          if (leg === undefined) return;
          if (!leg.closed) this.#configure(leg, realm);
          leg.termination.raise(REL_EVENT, {}, leg.stream.id);
        },
      },
      { role: 'auto', log: t.log.child({ stream: s.id, part: 'dtls' }) },
    );
    const leg = new DtlsLeg(id, s, t, lease, endpoint, (l) => this.#dropLeg(l, udp));
    ref.leg = leg;
    this.#legs.set(s, leg);
    lease.socket.on('message', leg.onMessage);
    leg.cfg = this.#configOf(leg, realm);
    // pinned: the shim lives in this thread, so the leg and its context stay on the main thread
    const view = udp.forwarder.addLeg(id, { rtp: leg.shim as unknown as Socket, pinned: true }, leg.cfg);
    this.#counters.set(leg, attachStreamCounters(s, view));
    s.own(leg);
    // our close_notify must leave before the stream's socket closes (subtract)
    s.lingerPorts();
    // tlstv (H.248.90): application octets through DTLS, summed over the stream's associations
    s.extraStatistics.set('tlstv/bs', () => leg.shim.bytesOut);
    s.extraStatistics.set('tlstv/br', () => leg.bytesIn);
    return leg;
  }

  /** Brings endpoint (role, pins, tls-id, client start) and the Forwarder leg in line with the stream. */
  #apply(leg: DtlsLeg, udp: UdpRelay, realm: string): void {
    const s = leg.stream;
    const t = leg.termination;
    const ep = leg.endpoint;
    const local = s.local?.[0];
    const remote = s.remote?.[0];
    // a new tls-id on either side is a new association (RFC 8842 §4)
    const localId = tlsIdOf(local);
    const remoteId = tlsIdOf(remote);
    const newAssociation =
      (leg.localTlsId !== undefined && localId !== undefined && localId !== leg.localTlsId) ||
      (leg.remoteTlsId !== undefined && remoteId !== undefined && remoteId !== leg.remoteTlsId);
    leg.localTlsId = localId ?? leg.localTlsId;
    leg.remoteTlsId = remoteId ?? leg.remoteTlsId;
    if (newAssociation) {
      ep.reset();
      leg.attempt = '';
    }
    const pins = remote !== undefined ? remotePins(s.remote) : [];
    const pinsKey = pins.map(pinKey).join(',');
    if (pinsKey !== leg.pinsKey) {
      leg.pinsKey = pinsKey;
      ep.setPins(pins.length > 0 ? pins : undefined);
    }
    const role = dtlsRole(local, remote);
    if (role !== leg.role) {
      leg.role = role;
      if (role === 'hold') {
        // holdconn: no association, and no ClientHello taken either (a client that connects nowhere)
        ep.reset();
        ep.setRole('client');
      } else {
        ep.setRole(role);
      }
    }
    // client: start when Remote gives where and whom (address and pin), again on a new tlsbsc/estab
    const freshSignal =
      t.signals !== leg.signals && t.signals?.names.some((n) => n.toLowerCase() === ESTAB_SIGNAL) === true;
    leg.signals = t.signals;
    if (role === 'client' && pins.length > 0 && ep.association === undefined) {
      // canonical address (as rinfo gives it): the handshake is keyed on the peer's address and port
      const to = remoteEndpoints(remote).media;
      if (to !== undefined) {
        const attempt = `${leg.localTlsId ?? ''}|${leg.remoteTlsId ?? ''}|${to.address}|${to.port}|${pinsKey}`;
        if (freshSignal || (attempt !== leg.attempt && ep.handshakeCount === 0)) {
          leg.attempt = attempt;
          ep.connect(to.address, to.port);
        }
      }
    }
    const cfg = this.#configOf(leg, realm);
    leg.cfg = cfg;
    udp.forwarder.configure(leg.id, cfg);
  }

  /** Only the Forwarder side (after the association came or went). */
  #configure(leg: DtlsLeg, realm: string): void {
    const udp = this.#udp;
    if (leg.closed) return;
    leg.cfg = this.#configOf(leg, leg.cfg?.realm ?? realm);
    udp.forwarder.configure(leg.id, leg.cfg);
  }

  #configOf(leg: DtlsLeg, realm: string): LegConfig {
    const a = leg.endpoint.association;
    return {
      kind: 'udptl',
      // legs that relay to each other share a group: the context
      group: leg.termination.context?.id ?? 0,
      realm,
      mode: leg.stream.mode,
      // the Forwarder sends to the association's peer (the shim ignores the address anyway); without an
      // association there is nowhere to send: counted as no_destination
      remote: a !== undefined ? { address: a.address, port: a.port } : undefined,
      rtcpMuxRx: false,
      rtcpMuxTx: false,
      // the DTLS association is the source check: only its records come out of the shim
      latch: false,
      rlatch: false,
      relatchPackets: 1,
      sourceAddress: undefined,
      admitNone: false,
      policer: policerOf(leg.stream.properties),
    };
  }

  /** The Forwarder targets of every udptl leg of the context (UDP plane's rule, with our legs). */
  #targets(ctx: Context): void {
    const udp = this.#udp;
    const legs: { id: number; t: Termination; s: Stream }[] = [];
    for (const t of ctx.terminations.values()) {
      for (const s of t.streams.values()) {
        const mine = this.#legs.get(s);
        if (mine !== undefined) {
          legs.push({ id: mine.id, t, s });
          continue;
        }
        const transport = (s.local?.[0] ?? s.remote?.[0])?.media[0]?.transport;
        const id = transport === 'udptl' ? udp.legOf(s) : undefined;
        if (id !== undefined) legs.push({ id, t, s });
      }
    }
    for (const a of legs) {
      const media: number[] = [];
      for (const b of legs) {
        if (b === a || b.t === a.t || b.s.id !== a.s.id) continue;
        if (ctx.flows(a.t.id, b.t.id, a.s.id) && acceptsIn(a.s.mode) && sendsOut(b.s.mode)) media.push(b.id);
      }
      udp.forwarder.setTargets(a.id, media, []);
    }
  }

  #dropLeg(leg: DtlsLeg, udp: UdpRelay): void {
    if (this.#legs.get(leg.stream) === leg) this.#legs.delete(leg.stream);
    // the stream keeps the last numbers as plain values (statistics after Subtract)
    this.#counters.get(leg)?.();
    this.#counters.delete(leg);
    udp.forwarder.removeLeg(leg.id);
  }
}
