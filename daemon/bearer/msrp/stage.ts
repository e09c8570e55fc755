/**
 * MSRP-aware handling plugged into the TCP bearer plane (daemon/bearer/tcp/): `MsrpAware` gives the
 * plane its per-direction byte stage for `TCP/MSRP` and `TCP/TLS/MSRP` legs and fills our `a=path`
 * when a command is prepared. `TCP` (agnostic) gets no stage: bytes pass untouched.
 *
 *   const msrp = new MsrpAware({ ...config.msrp, metrics, events, log });
 *   new TcpPlane({ ..., stages: msrp.stages, prepare: (p) => msrp.prepareStream(p) })
 *
 * The two aware streams with the same stream id in a context form one MSRP session (relay.ts): one
 * relay, created when the first of them gets a connection, shared by both legs' stages, kept across
 * reconnections (each new connection starts with no waiting transaction). Leg settings (our URI, the
 * peer's path, CEMA) are read from the streams' Local and Remote whenever they change (Modify). An
 * aware leg whose partner is agnostic (`TCP`) relays bytes untouched: there is no path to rewrite to.
 *
 * Statistics per stream: `msrpstat/ms`, `mr` (requests sent to / received from the peer), `bs`, `br`
 * (MSRP bytes), kept across connections. Metrics are tallied per realm and reach Prometheus once a
 * second (no metric call per frame). A framing error disconnects that peer (the leg's `abort`), is
 * logged and published on the event bus (`error`, part `msrp`).
 */
import type { SdpTransport } from '../../control/codec/sdp.js';
import type { StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';
import type { EventBus } from '../../observe/events.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import type { MsrpFramingError, MsrpFramingLimits } from './framing.js';
import { MsrpRelay, newMsrpLegCounters, type MsrpLegConfig, type MsrpLegCounters, type MsrpObserver, type MsrpSide } from './relay.js';
import { fillMsrpPath, isMsrpAware, msrpLegOf } from './sdp.js';

/** What the TCP plane tells a stage about its leg (`reply`, `abort`: the plane's MSRP hooks). */
export interface MsrpStageLeg {
  readonly transport: SdpTransport;
  readonly termination: Termination;
  readonly stream: Stream;
  /** Writes bytes to this leg's own peer, in order with what the partner leg relays to it. */
  readonly reply?: (chunk: Buffer) => void;
  /** Disconnects this leg's peer (it broke the framing or a limit). */
  readonly abort?: (reason: string) => void;
}

/** The per-direction stage (the TCP plane's ByteStage, plus `end` when the peer's bytes end). */
export interface MsrpByteStage {
  transform(chunk: Buffer): Buffer | readonly Buffer[] | undefined;
  /** The connection's bytes ended (FIN, reset, replaced): what to write to the partner still. */
  end?(): Buffer | readonly Buffer[] | undefined;
}

export interface MsrpAwareOptions extends Partial<MsrpFramingLimits> {
  /** `msrp.maxPendingTransactions`. */
  readonly maxPendingTransactions?: number;
  readonly metrics?: Metrics;
  readonly events?: EventBus;
  readonly log?: Logger;
}

const METHODS = ['SEND', 'REPORT', 'AUTH', 'other', 'response'] as const;
const REASONS = { syntax: 'syntax', 'header-too-large': 'header_too_large', 'chunk-too-large': 'chunk_too_large' } as const;

function methodIndex(m: string): number {
  switch (m) {
    case 'SEND':
      return 0;
    case 'REPORT':
      return 1;
    case 'AUTH':
      return 2;
    case '':
      return 4;
    default:
      return 3;
  }
}

/** Per-realm tallies, flushed to Prometheus once a second. */
interface Tally {
  /** [rx SEND, REPORT, AUTH, other, response, tx ...]. */
  readonly frames: number[];
  rx: number;
  tx: number;
  unknown: number;
}

interface Side {
  stream: Stream;
  termination: Termination;
  leg: MsrpStageLeg | undefined;
  /** Local/Remote the relay was configured from. */
  seenLocal: unknown;
  seenRemote: unknown;
  /** The stream's transport is MSRP-aware (read with Local/Remote, not per read). */
  aware: boolean;
  tally: Tally;
}

/** One MSRP session: the two aware streams of a stream id in a context, and their relay. */
class Session {
  readonly relay: MsrpRelay;
  readonly sides: Record<MsrpSide, Side | undefined> = { a: undefined, b: undefined };
  readonly #owner: MsrpAware;

  constructor(owner: MsrpAware, relay: (s: Session) => MsrpRelay) {
    this.#owner = owner;
    this.relay = relay(this);
  }

  sideOf(stream: Stream): MsrpSide | undefined {
    if (this.sides.a?.stream === stream) return 'a';
    if (this.sides.b?.stream === stream) return 'b';
    return undefined;
  }

  /** Re-reads a side's settings when its Local or Remote changed (cheap identity checks per read). */
  refresh(side: MsrpSide): void {
    const s = this.sides[side];
    if (s === undefined) return;
    if (s.stream.local === s.seenLocal && s.stream.remote === s.seenRemote) return;
    s.seenLocal = s.stream.local;
    s.seenRemote = s.stream.remote;
    s.aware = awareOf(s.stream);
    this.relay.update(side, legConfig(s.stream));
  }

  framingError(side: MsrpSide, e: MsrpFramingError): void {
    this.#owner.framingError(this.sides[side], e);
  }
}

function legConfig(stream: Stream): MsrpLegConfig {
  const info = msrpLegOf(stream);
  return { localUri: info.localUri ?? '', remotePath: info.remotePath ?? [], cema: info.cema };
}

function awareOf(s: Stream): boolean {
  return isMsrpAware((s.local?.[0] ?? s.remote?.[0])?.media[0]?.transport);
}

/** The stream with the same id on another termination of the context (the TCP plane's pairing). */
function partnerOf(t: Termination, s: Stream): { termination: Termination; stream: Stream } | undefined {
  const ctx = t.context;
  if (ctx === undefined) return undefined;
  for (const o of ctx.terminations.values()) {
    if (o === t) continue;
    const p = o.streams.get(s.id);
    if (p !== undefined && !p.closed && (p.local !== undefined || p.remote !== undefined)) return { termination: o, stream: p };
  }
  return undefined;
}

export class MsrpAware {
  readonly limits: Partial<MsrpFramingLimits>;
  readonly maxPendingTransactions: number;
  readonly #metrics: Metrics | undefined;
  readonly #events: EventBus | undefined;
  readonly #log: Logger;
  readonly #sessions = new WeakMap<Stream, Session>();
  readonly #counters = new WeakMap<Stream, MsrpLegCounters>();
  readonly #tallies = new Map<string, Tally>();
  #live = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MsrpAwareOptions = {}) {
    this.limits = {
      ...(options.maxHeaderBytes !== undefined ? { maxHeaderBytes: options.maxHeaderBytes } : {}),
      ...(options.maxChunkBytes !== undefined ? { maxChunkBytes: options.maxChunkBytes } : {}),
    };
    this.maxPendingTransactions = options.maxPendingTransactions ?? 1024;
    this.#metrics = options.metrics;
    this.#events = options.events;
    this.#log = (options.log ?? silentLogger()).child({ part: 'msrp' });
  }

  /** For the TCP plane's prepareStream: our `a=path` in Local, the peer's checked (sdp.ts). */
  prepareStream(p: StreamPreparation): void {
    fillMsrpPath(p);
  }

  /** The TCP plane's StageFactory: a stage for aware legs, none (bytes untouched) for the others. */
  readonly stages = (leg: MsrpStageLeg): MsrpByteStage | undefined => {
    if (!isMsrpAware(leg.transport)) return undefined;
    let session = this.#session(leg);
    let side = session.sideOf(leg.stream)!;
    session.relay.attach(side, leg.reply !== undefined ? { write: leg.reply } : undefined);
    const through = (chunk: Buffer): Buffer | readonly Buffer[] | undefined => {
      if (session.relay.closed) {
        // the other stream left (Subtract, Move): a new session, paired with whoever comes
        session = this.#session(leg);
        side = session.sideOf(leg.stream)!;
        session.relay.attach(side, leg.reply !== undefined ? { write: leg.reply } : undefined);
      }
      const other: MsrpSide = side === 'a' ? 'b' : 'a';
      session.refresh(side);
      let o = session.sides[other];
      if (o === undefined || o.stream.closed) {
        // the partner stream came after us: pair it now
        this.#bindPartner(session, side);
        o = session.sides[other];
      }
      if (o !== undefined) session.refresh(other);
      // an agnostic partner (TCP): nothing to rewrite to, bytes pass untouched
      if (o !== undefined && !o.aware) return chunk;
      return session.relay.receive(side, chunk);
    };
    return {
      transform: through,
      end: () => (session.relay.closed ? undefined : session.relay.ended(side)),
    };
  };

  /** Closes every session's accounting (the gateway stops). */
  close(): void {
    this.#flush();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  // ---- sessions ------------------------------------------------------------------------------

  #session(leg: MsrpStageLeg): Session {
    const partner = partnerOf(leg.termination, leg.stream);
    const existing = this.#sessions.get(leg.stream);
    const side = existing?.sideOf(leg.stream);
    if (existing !== undefined && side !== undefined && !existing.relay.closed) {
      const other = existing.sides[side === 'a' ? 'b' : 'a'];
      // still the same pair (no Move put another termination opposite): keep it
      if (other === undefined || other.stream === partner?.stream) {
        existing.sides[side]!.leg = leg;
        if (other === undefined) this.#bindPartner(existing, side);
        return existing;
      }
    }
    // a partner whose session waits for its other side: join it
    const ps = partner !== undefined ? this.#sessions.get(partner.stream) : undefined;
    const pside = ps?.sideOf(partner!.stream);
    if (ps !== undefined && pside !== undefined && !ps.relay.closed) {
      const mine: MsrpSide = pside === 'a' ? 'b' : 'a';
      const cur = ps.sides[mine];
      if (cur === undefined || cur.stream === leg.stream || cur.stream.closed) {
        this.#bind(ps, mine, leg.stream, leg.termination, leg);
        return ps;
      }
    }
    const session = new Session(
      this,
      (s) =>
        new MsrpRelay({
          a: legConfig(leg.stream),
          b: { localUri: '', remotePath: [], cema: false },
          limits: this.limits,
          maxPendingTransactions: this.maxPendingTransactions,
          observer: this.#observer(s),
          onFramingError: (side, e) => s.framingError(side, e),
        }),
    );
    this.#live++;
    this.#arm();
    this.#bind(session, 'a', leg.stream, leg.termination, leg);
    if (partner !== undefined) this.#bind(session, 'b', partner.stream, partner.termination, undefined);
    return session;
  }

  /** The partner stream arrived after the session was made: it takes the other side. */
  #bindPartner(session: Session, side: MsrpSide): void {
    const me = session.sides[side];
    const partner = me !== undefined ? partnerOf(me.termination, me.stream) : undefined;
    if (partner === undefined) return;
    this.#bind(session, side === 'a' ? 'b' : 'a', partner.stream, partner.termination, undefined);
  }

  #bind(session: Session, side: MsrpSide, stream: Stream, termination: Termination, leg: MsrpStageLeg | undefined): void {
    // the session ends when either of its streams closes
    if (session.sides.a?.stream !== stream && session.sides.b?.stream !== stream) stream.own({ close: () => this.#ended(session) });
    session.sides[side] = {
      stream,
      termination,
      leg,
      seenLocal: stream.local,
      seenRemote: stream.remote,
      aware: awareOf(stream),
      tally: this.#tally(termination.realm),
    };
    this.#sessions.set(stream, session);
    session.relay.update(side, legConfig(stream));
    session.relay.useCounters(side, this.#countersOf(stream));
  }

  /** The stream's MSRP counters (created once; msrpstat statistics read them). */
  #countersOf(stream: Stream): MsrpLegCounters {
    let c = this.#counters.get(stream);
    if (c === undefined) {
      c = newMsrpLegCounters();
      this.#counters.set(stream, c);
      this.#statistics(stream, c);
    }
    return c;
  }

  #statistics(stream: Stream, c: MsrpLegCounters): void {
    stream.extraStatistics.set('msrpstat/ms', () => c.requestsSent);
    stream.extraStatistics.set('msrpstat/mr', () => c.requestsReceived);
    stream.extraStatistics.set('msrpstat/bs', () => c.bytesSent);
    stream.extraStatistics.set('msrpstat/br', () => c.bytesReceived);
  }

  #ended(session: Session): void {
    if (session.relay.closed) return;
    session.relay.close();
    this.#live = Math.max(0, this.#live - 1);
    this.#flush();
    if (this.#live === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  // ---- metrics and events -------------------------------------------------------------------

  #tally(realm: string): Tally {
    let t = this.#tallies.get(realm);
    if (t === undefined) {
      t = { frames: new Array<number>(10).fill(0), rx: 0, tx: 0, unknown: 0 };
      this.#tallies.set(realm, t);
    }
    return t;
  }

  #observer(session: Session): MsrpObserver {
    const tally = (side: MsrpSide): Tally | undefined => session.sides[side]?.tally;
    return {
      frame: (side, dir, method) => {
        const t = tally(side);
        if (t !== undefined) t.frames[(dir === 'rx' ? 0 : 5) + methodIndex(method)]!++;
      },
      bytes: (side, dir, n) => {
        const t = tally(side);
        if (t !== undefined) t[dir] += n;
      },
      unknownSession: (side) => {
        const t = tally(side);
        if (t !== undefined) t.unknown++;
      },
      framingError: () => undefined,
    };
  }

  /** @internal a peer broke the framing: disconnect it, count, log, publish. */
  framingError(side: Side | undefined, e: MsrpFramingError): void {
    const realm = side?.termination.realm ?? 'unknown';
    this.#metrics?.msrpFramingErrors.inc({ realm, reason: REASONS[e.reason] });
    const term = side?.termination;
    this.#log.warn({ ctx: term?.context?.id, term: term?.id, stream: side?.stream.id, reason: e.reason, err: e.message }, 'MSRP framing error: peer disconnected');
    this.#events?.publish({
      type: 'error',
      part: 'msrp',
      code: e.reason === 'syntax' ? 'ERR_MSRP_FRAMING' : 'ERR_MSRP_LIMIT',
      message: `${term?.id ?? '?'} stream ${side?.stream.id ?? '?'}: ${e.message}`,
    });
    side?.leg?.abort?.(e.reason);
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#metrics === undefined) return;
    this.#timer = setInterval(() => this.#flush(), 1000);
    this.#timer.unref();
  }

  #flush(): void {
    const m = this.#metrics;
    for (const [realm, t] of this.#tallies) {
      if (m !== undefined) {
        for (let i = 0; i < 10; i++) {
          const n = t.frames[i]!;
          if (n > 0) m.msrpMessages.inc({ realm, direction: i < 5 ? 'rx' : 'tx', method: METHODS[i % 5]! }, n);
        }
        if (t.rx > 0) m.msrpBytes.inc({ realm, direction: 'rx' }, t.rx);
        if (t.tx > 0) m.msrpBytes.inc({ realm, direction: 'tx' }, t.tx);
        if (t.unknown > 0) m.msrpUnknownSession.inc({ realm }, t.unknown);
      }
      t.frames.fill(0);
      t.rx = 0;
      t.tx = 0;
      t.unknown = 0;
    }
  }
}
