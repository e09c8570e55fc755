/**
 * One TCP leg: the TCP bearer of one stream of one termination (PROFILE §5). It owns the stream's
 * listener use, its connect attempts and its one connection, and relays what it reads to its
 * partner leg (the same stream id on the other termination of the context).
 *
 * Relay (per direction, A → B): bytes read from A are written to B while B is up, the topology
 * lets them flow and the modes allow it; otherwise they are held in A's buffer (`bufferBytes`) and
 * A stops reading when that is full. When B's write queue passes `highWaterMark`, A stops reading
 * until B drains. So a leg never holds more than bufferBytes + highWaterMark + one read chunk,
 * whatever the peers do; the rest waits in the kernel and in TCP flow control.
 * A FIN read from A is passed on as B's FIN once A's held bytes are written (half-close, sockets
 * are allowHalfOpen); a reset of A resets B (RST passed on).
 *
 * Life of a connection: established (`tcpbcc/est`), TLS wrapped for TLS transports, relaying,
 * released (`tcpbcc/rel` with fin | rst | timeout | local, and `g/cause`). Our own closes (Subtract,
 * `a=connection:new`, idle) send a FIN and reset the connection if it is still open `closeGraceMs`
 * later.
 *
 * The packet path (onData, write, drain) does not throw, log or allocate beyond Node's own chunk.
 */
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SdpGroup, SdpTransport } from '../../control/codec/sdp.js';
import type { PackageValue } from '../../control/packages/types.js';
import type { TcpPortLease } from '../ports.js';
import type { Context } from '../../mg/context.js';
import type { Stream } from '../../mg/stream.js';
import type { GeneralCause, Termination } from '../../mg/termination.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import { startConnect, ConnectFailure, type ConnectAttempt } from './connector.js';
import { connectionOf, isOutgoing, planOf, type Endpoint, type TcpPlan } from './roles.js';
import { isTlsTransport, type ByteStage, type ReleaseCause, type TcpSettings, type TcpTlsEngine } from './types.js';

export type Direction = 'in' | 'out';
export type AttemptResult = 'established' | 'refused' | 'filtered' | 'failed' | 'limit';

/** Byte counts per realm, flushed to Prometheus by the plane (no metric call per chunk). */
export interface ByteTally {
  rx: number;
  tx: number;
}

/** What a leg needs from its plane. */
export interface LegHost {
  readonly settings: TcpSettings;
  readonly tls: TcpTlsEngine | undefined;
  readonly log: Logger;
  /** Takes a slot for a connection being established; false when `maxPendingConnections` are taken. */
  takePending(): boolean;
  releasePending(): void;
  /** Room for one more established connection (`maxConnections`). */
  hasRoom(): boolean;
  connectionUp(leg: TcpLeg, dir: Direction): void;
  connectionDown(leg: TcpLeg, dir: Direction, cause: ReleaseCause): void;
  attempt(leg: TcpLeg, dir: Direction, result: AttemptResult): void;
  /** The leg's relay is ready: its partner's delayed establishment may go. */
  ready(leg: TcpLeg): void;
  closed(leg: TcpLeg): void;
  bytes(realm: string): ByteTally;
  stage(leg: TcpLeg): ByteStage | undefined;
}

const EVENT_EST = 'tcpbcc/est';
const EVENT_FAIL = 'tcpbcc/fail';
const EVENT_REL = 'tcpbcc/rel';
export const SIGNAL_ESTAB = 'tcpbcc/estab';

const GENERAL_CAUSE: Readonly<Record<ReleaseCause, GeneralCause>> = { fin: 'NR', local: 'NR', timeout: 'NR', rst: 'FT' };
const CAUSE_TEXT: Readonly<Record<ReleaseCause, string>> = {
  fin: 'TCP connection closed by the peer',
  local: 'TCP connection closed by the gateway',
  timeout: 'TCP connection idle timeout',
  rst: 'TCP connection reset',
};

function canReceive(mode: Stream['mode']): boolean {
  return mode === 'sendRecv' || mode === 'recvOnly';
}
function canSend(mode: Stream['mode']): boolean {
  return mode === 'sendRecv' || mode === 'sendOnly';
}

/** `::ffff:192.0.2.1` and `192.0.2.1` are the same peer. */
function sameAddress(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const strip = (x: string): string => (x.startsWith('::ffff:') && x.includes('.') ? x.slice(7) : x).toLowerCase();
  return strip(a) === strip(b);
}

function boolProperty(stream: Stream, name: string): boolean | undefined {
  const v: PackageValue | undefined = stream.property(name)?.value;
  return typeof v === 'boolean' ? v : undefined;
}

function numberProperty(stream: Stream, name: string): number | undefined {
  const v: PackageValue | undefined = stream.property(name)?.value;
  return typeof v === 'number' ? v : undefined;
}

/** One established connection of a leg. */
class Conn {
  readonly raw: Socket;
  /** What the relay reads and writes: the raw socket, or the TLS cleartext side. */
  app: Duplex | undefined;
  readonly dir: Direction;
  readonly address: string;
  readonly port: number;
  /** The peer's FIN was read. */
  peerEnded = false;
  /** Why it ends, when we know before it closes (our close, idle, reset). */
  cause: ReleaseCause | undefined;
  grace: NodeJS.Timeout | undefined;
  /** Bytes of earlier TLS/TCP counting (raw bytes are read from the socket at the end). */
  constructor(raw: Socket, dir: Direction) {
    this.raw = raw;
    this.dir = dir;
    this.address = raw.remoteAddress ?? '';
    this.port = raw.remotePort ?? 0;
  }
}

export class TcpLeg {
  readonly termination: Termination;
  readonly stream: Stream;
  readonly #host: LegHost;
  #closed = false;
  /** The TCP port lease of the stream the leg works with. */
  #lease: TcpPortLease | undefined;
  #plan: TcpPlan | undefined;
  #planKey = '';
  /** Plan key whose establishment is done or failed: not retried until the plan changes. */
  #spentKey: string | undefined;
  #transport: SdpTransport = 'TCP';
  #latch = false;
  #delayed = true;
  /** A `tcpbcc/estab` signal lifted holdconn / delayed establishment. */
  #estab = false;
  #seenLocal: SdpGroup[] | undefined;
  #seenRemote: SdpGroup[] | undefined;
  #seenSignals: unknown;
  #seenProperties: unknown;
  // listener
  #wantListen = false;
  #listenGen = 0;
  #server: Server | undefined;
  // outgoing
  #attempt: ConnectAttempt | undefined;
  // incoming connections being set up (TLS handshake) before they become #conn
  #handshaking: Conn | undefined;
  #conn: Conn | undefined;
  /** Relay ready: connected (and TLS up). */
  #ready = false;
  partner: TcpLeg | undefined;
  /** Topology and modes let bytes flow from this leg to its partner. */
  #forward = false;
  // bytes read here and held for the partner
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Pass a FIN to the partner once #held is written. */
  #finPending = false;
  #reading = false;
  #stage: ByteStage | undefined;
  readonly #tally: ByteTally;
  /** TCP payload bytes of connections already closed (tcptv statistics). */
  #tcpSentBefore = 0;
  #tcpReceivedBefore = 0;
  #log: Logger;

  constructor(termination: Termination, stream: Stream, host: LegHost) {
    this.termination = termination;
    this.stream = stream;
    this.#host = host;
    this.#tally = host.bytes(termination.realm);
    this.#log = termination.log.child({ stream: stream.id, part: 'tcp' });
    stream.extraStatistics.set('tcptv/bs', () => this.tcpBytesSent);
    stream.extraStatistics.set('tcptv/br', () => this.tcpBytesReceived);
  }

  get closed(): boolean {
    return this.#closed;
  }
  get transport(): SdpTransport {
    return this.#transport;
  }
  get plan(): TcpPlan | undefined {
    return this.#plan;
  }
  /** Connected and (TLS legs) handshake done: bytes can be relayed. */
  get ready(): boolean {
    return this.#ready;
  }
  /** The plan makes this leg connect out (it will not be brought up by an incoming connection). */
  get outgoing(): boolean {
    return this.#plan !== undefined && isOutgoing(this.#plan.action);
  }
  get connection(): { dir: Direction; address: string; port: number } | undefined {
    const c = this.#conn;
    return c === undefined ? undefined : { dir: c.dir, address: c.address, port: c.port };
  }
  /** Bytes held here for the partner plus the bytes queued on this leg's socket. */
  get bufferedBytes(): number {
    return this.#heldBytes + (this.#conn?.app?.writableLength ?? 0);
  }
  get tcpBytesSent(): number {
    return this.#tcpSentBefore + (this.#conn?.raw.bytesWritten ?? 0);
  }
  get tcpBytesReceived(): number {
    return this.#tcpReceivedBefore + (this.#conn?.raw.bytesRead ?? 0);
  }

  // ---- reconcile ---------------------------------------------------------------------------

  /**
   * Brings the leg in line with its stream, termination and context (idempotent, never throws).
   * Partners are set by the plane before.
   */
  apply(ctx: Context): void {
    if (this.#closed) return;
    const s = this.stream;
    const t = this.termination;
    const g = s.local?.[0] ?? s.remote?.[0];
    this.#transport = g?.media[0]?.transport ?? this.#transport;
    const lease = s.ports.find((p) => p.kind === 'tcp')?.lease as TcpPortLease | undefined;
    const fresh = s.local !== this.#seenLocal || s.remote !== this.#seenRemote;
    let connAttr: 'new' | 'existing' | undefined;
    if (fresh) {
      // the descriptor(s) this change set decide: a new Remote first, else a new Local
      if (s.remote !== this.#seenRemote) connAttr = safe(() => connectionOf(s.remote));
      if (connAttr === undefined && s.local !== this.#seenLocal) connAttr = safe(() => connectionOf(s.local));
      this.#seenLocal = s.local;
      this.#seenRemote = s.remote;
      this.#estab = false;
    }
    if (t.signals !== this.#seenSignals) {
      this.#seenSignals = t.signals;
      if (t.signals?.names.some((n) => n.toLowerCase() === SIGNAL_ESTAB) === true) {
        this.#estab = true;
        this.#spentKey = undefined;
      }
    }
    const so = boolProperty(s, 'tcphp/so') ?? false;
    let plan: TcpPlan | undefined;
    try {
      plan = lease === undefined || s.local === undefined || s.local.length === 0
        ? undefined
        : planOf({ local: s.local, remote: s.remote, simultaneous: so, estab: this.#estab });
    } catch (e) {
      // a malformed a=setup was refused when the descriptor came (474); nothing to do with it
      this.#log.warn({ err: errorMessage(e) }, 'TCP role not settled');
      plan = undefined;
    }
    this.#delayed = boolProperty(s, 'tcpbcc/dly') ?? true;
    const latchDefault = plan?.action === 'listen' && this.#host.settings.latchRealms.some((r) => r.toLowerCase() === t.realm.toLowerCase());
    this.#latch = boolProperty(s, 'ipnapt/latch') ?? latchDefault;
    const soTo = numberProperty(s, 'tcphp/to') ?? 10000;
    const key =
      plan === undefined
        ? 'none'
        : `${plan.action}|${plan.remote?.address ?? ''}:${plan.remote?.port ?? ''}|${plan.action === 'simultaneous' ? soTo : ''}|${isTlsTransport(this.#transport)}`;

    if (lease !== this.#lease) {
      // a new port (realm change, new Local): everything on the old one goes
      this.#stopListening();
      this.#cancelAttempt();
      this.#dropHandshake();
      if (this.#conn !== undefined) this.#closeConn('local');
      this.#lease = lease;
      this.#spentKey = undefined;
    }
    if (key !== this.#planKey) {
      this.#planKey = key;
      this.#spentKey = undefined;
      this.#cancelAttempt();
    }
    this.#plan = plan;

    // the connection that is up: kept, or replaced (RFC 4145 §5 a=connection)
    const c = this.#conn;
    if (c !== undefined && c.cause === undefined) {
      let replace: boolean;
      if (connAttr === 'new') replace = true;
      else if (connAttr === 'existing') replace = false;
      else replace = !this.#fits(c, plan);
      if (replace) {
        this.#closeConn('local');
        this.#spentKey = undefined;
      }
    }
    if (this.#handshaking !== undefined && !this.#fits(this.#handshaking, plan)) this.#dropHandshake();
    const tlsLeg = isTlsTransport(this.#transport);
    if (tlsLeg && (fresh || s.properties !== this.#seenProperties)) {
      // new Remote fingerprints or tlsm/rcc apply from the session's next handshake
      const app = this.#conn?.app;
      if (app !== undefined && app !== this.#conn?.raw) this.#host.tls?.update?.(app, s);
    }
    this.#seenProperties = s.properties;
    if (tlsLeg && !s.extraStatistics.has('tlstv/bs')) {
      // application bytes through TLS: what the relay wrote to and read from the session
      s.extraStatistics.set('tlstv/bs', () => s.counters.octetsSent);
      s.extraStatistics.set('tlstv/br', () => s.counters.octetsReceived);
    } else if (!tlsLeg) {
      s.extraStatistics.delete('tlstv/bs');
      s.extraStatistics.delete('tlstv/br');
    }

    // flow from this leg to its partner (H.248.1 §7.1.18 topology, §7.1.7 modes)
    const p = this.partner;
    this.#forward =
      p !== undefined &&
      ctx.flows(t.id, p.termination.id, s.id) &&
      canReceive(s.mode) &&
      canSend(p.stream.mode);

    // listener: only while passive (a listener on the port would make our own connects fail)
    if (plan?.action === 'listen') this.#startListening();
    else this.#stopListening();
    this.#maybeConnect();
  }

  /** The partner became ready: a delayed establishment may go now. */
  wake(): void {
    if (this.#closed) return;
    this.#maybeConnect();
    this.#flush();
  }

  /** After every leg of the context was applied: move held bytes, resume readers. */
  kick(): void {
    if (this.#closed) return;
    this.#flush();
  }

  /** Does an established connection still match the plan (no `a=connection` said otherwise)? */
  #fits(c: Conn, plan: TcpPlan | undefined): boolean {
    if (plan === undefined) return false;
    if (c.dir === 'in') {
      if (plan.action !== 'listen') return false;
      return this.#latch || plan.remoteAddress === undefined || sameAddress(plan.remoteAddress, c.address);
    }
    if (plan.action !== 'connect' && plan.action !== 'simultaneous') return false;
    return plan.remote !== undefined && sameAddress(plan.remote.address, c.address) && plan.remote.port === c.port;
  }

  // ---- passive -----------------------------------------------------------------------------

  #startListening(): void {
    if (this.#wantListen || this.#lease === undefined) return;
    this.#wantListen = true;
    const gen = ++this.#listenGen;
    const lease = this.#lease;
    void (async () => {
      let server: Server;
      try {
        // accepted sockets stay paused until the relay reads them; half-close is relayed
        server = await lease.listen({ allowHalfOpen: true, pauseOnConnect: true });
        if (!server.listening) await relisten(server, lease.address, lease.port);
      } catch (e) {
        if (gen !== this.#listenGen || this.#closed) return;
        this.#wantListen = false;
        this.#log.warn({ err: errorMessage(e), port: lease.port }, 'TCP listen failed');
        this.#raise(EVENT_FAIL, { cause: 'bind' });
        return;
      }
      if (gen !== this.#listenGen || this.#closed || lease !== this.#lease) {
        // stopped meanwhile: stopping closed nothing, the listener came up afterwards
        if (!this.#wantListen && server.listening && lease === this.#lease) server.close();
        return;
      }
      this.#server = server;
      server.on('connection', this.#onConnection);
    })();
  }

  #stopListening(): void {
    if (!this.#wantListen) return;
    this.#wantListen = false;
    this.#listenGen++;
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      server.off('connection', this.#onConnection);
      // stops accepting; connections already accepted are ours and stay
      if (server.listening) server.close();
    }
  }

  readonly #onConnection = (sock: Socket): void => {
    sock.on('error', () => undefined);
    const plan = this.#plan;
    if (this.#closed || plan?.action !== 'listen') {
      sock.resetAndDestroy();
      return;
    }
    // one connection per leg: a second one is refused while one is up or being set up
    if (this.#conn !== undefined || this.#handshaking !== undefined) {
      this.#host.attempt(this, 'in', 'refused');
      sock.resetAndDestroy();
      return;
    }
    // without latching only the Remote address may connect (PROFILE §5); a Remote not known yet
    // filters nothing (the controller may send it after the peer connected)
    if (!this.#latch && plan.remoteAddress !== undefined && !sameAddress(plan.remoteAddress, sock.remoteAddress)) {
      this.#host.attempt(this, 'in', 'filtered');
      sock.resetAndDestroy();
      return;
    }
    if (!this.#host.hasRoom() || !this.#host.takePending()) {
      this.#host.attempt(this, 'in', 'limit');
      sock.resetAndDestroy();
      return;
    }
    this.#established(sock, 'in');
  };

  // ---- active / simultaneous open ----------------------------------------------------------

  #maybeConnect(): void {
    const plan = this.#plan;
    if (plan === undefined || this.#closed || this.#attempt !== undefined || this.#conn !== undefined) return;
    if (plan.action !== 'connect' && plan.action !== 'simultaneous') return;
    if (plan.remote === undefined || this.#lease === undefined) return;
    if (this.#spentKey === this.#planKey) return;
    if (this.#delayed && !this.#estab) {
      // delayed establishment (tcpbcc/dly): "incoming TCP bearer establishment triggers the
      // outgoing one": wait for the partner, unless the partner is outgoing too (nothing would
      // ever come in to trigger us)
      const p = this.partner;
      if (p === undefined || (!p.ready && !p.outgoing)) return;
    }
    if (!this.#host.hasRoom() || !this.#host.takePending()) {
      this.#spentKey = this.#planKey;
      this.#host.attempt(this, 'out', 'limit');
      this.#raise(EVENT_FAIL, { cause: 'limit' });
      return;
    }
    const st = this.#host.settings;
    const so = plan.action === 'simultaneous';
    const attempt = startConnect({
      localAddress: this.#lease.address,
      localPort: this.#lease.port,
      remote: plan.remote,
      deadlineMs: so ? (numberProperty(this.stream, 'tcphp/to') ?? 10000) : st.connectTimeoutMs,
      retryMinMs: so ? st.soRetryMinMs : st.connectRetryMinMs,
      retryMaxMs: so ? st.soRetryMaxMs : st.connectRetryMaxMs,
    });
    this.#attempt = attempt;
    const key = this.#planKey;
    attempt.done.then(
      (sock) => {
        if (this.#attempt !== attempt) {
          sock.destroy();
          return;
        }
        this.#attempt = undefined;
        this.#spentKey = key;
        this.#established(sock, 'out');
      },
      (e: unknown) => {
        if (this.#attempt !== attempt) return;
        this.#attempt = undefined;
        this.#host.releasePending();
        this.#spentKey = key;
        const cause = e instanceof ConnectFailure ? e.reason : 'error';
        this.#host.attempt(this, 'out', 'failed');
        this.#log.info({ remote: plan.remote, cause, attempts: attempt.attempts, so }, 'TCP connect failed');
        this.#raise(EVENT_FAIL, { cause });
      },
    );
  }

  #cancelAttempt(): void {
    const a = this.#attempt;
    if (a === undefined) return;
    this.#attempt = undefined;
    this.#host.releasePending();
    a.cancel();
  }

  // ---- connection --------------------------------------------------------------------------

  /** A TCP connection is up (accepted or connected); the pending slot is ours until it is ready. */
  #established(sock: Socket, dir: Direction): void {
    const c = new Conn(sock, dir);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (c.cause === undefined) c.cause = e.code === 'ETIMEDOUT' ? 'timeout' : 'rst';
    });
    sock.setNoDelay(true);
    this.#host.attempt(this, dir, 'established');
    this.#raise(EVENT_EST, { dir, addr: c.address, port: c.port });
    this.#log.info({ dir, addr: c.address, port: c.port }, 'TCP connection established');
    if (isTlsTransport(this.#transport)) {
      const tls = this.#host.tls;
      if (tls === undefined) {
        // prepareStream refuses TLS transports without an engine; a leftover is closed
        this.#host.releasePending();
        sock.resetAndDestroy();
        return;
      }
      this.#handshaking = c;
      sock.once('close', (hadError: boolean) => {
        if (this.#handshaking !== c) return;
        // the peer went during the handshake
        this.#handshaking = undefined;
        this.#host.releasePending();
        this.#raise(EVENT_REL, { cause: c.cause ?? (hadError ? 'rst' : 'fin') });
      });
      tls.wrap(sock, { role: dir === 'out' ? 'client' : 'server', termination: this.termination, stream: this.stream }).then(
        (app) => {
          if (this.#handshaking !== c) return;
          this.#handshaking = undefined;
          this.#host.releasePending();
          this.#up(c, app);
        },
        () => {
          // the engine reported why (tlsbsc/fail); the TCP connection goes with it
          if (this.#handshaking !== c) return;
          this.#handshaking = undefined;
          this.#host.releasePending();
          this.#raise(EVENT_REL, { cause: 'local' });
          sock.resetAndDestroy();
        },
      );
      return;
    }
    this.#host.releasePending();
    this.#up(c, sock);
  }

  #dropHandshake(): void {
    const c = this.#handshaking;
    if (c === undefined) return;
    this.#handshaking = undefined;
    this.#host.releasePending();
    this.#raise(EVENT_REL, { cause: 'local' });
    c.raw.resetAndDestroy();
  }

  /** The relay starts on this connection. */
  #up(c: Conn, app: Duplex): void {
    if (this.#closed) {
      c.raw.resetAndDestroy();
      return;
    }
    if (this.#conn !== undefined) {
      // cannot happen (one connection per leg); keep the first
      c.raw.resetAndDestroy();
      return;
    }
    c.app = app;
    this.#conn = c;
    this.#ready = true;
    this.#host.connectionUp(this, c.dir);
    this.#stage = this.#host.stage(this);
    // a new connection: what the previous one left undelivered to its partner was delivered or dropped
    const idle = this.#host.settings.idleTimeoutMs;
    if (idle > 0) {
      c.raw.setTimeout(idle);
      c.raw.on('timeout', () => {
        if (this.#conn === c) this.#closeConn('timeout');
      });
    }
    app.on('data', (chunk: Buffer) => this.#onData(c, chunk));
    app.on('end', () => this.#onEnd(c));
    app.on('drain', () => {
      const p = this.partner;
      if (p !== undefined) p.#flush();
    });
    if (app !== c.raw) app.on('error', () => undefined);
    c.raw.on('close', (hadError: boolean) => this.#onClose(c, hadError));
    this.#reading = false;
    this.#resume();
    // the partner waiting for us (delayed establishment), and bytes it held for us
    this.#host.ready(this);
  }

  // ---- relay (packet path) -----------------------------------------------------------------

  /** The partner, when bytes read here can be written to it now. */
  #target(): TcpLeg | undefined {
    const p = this.partner;
    if (p === undefined || !this.#forward || !p.#ready) return undefined;
    const pc = p.#conn;
    if (pc === undefined || pc.cause !== undefined || pc.app === undefined || pc.app.writableEnded) return undefined;
    return p;
  }

  #onData(c: Conn, chunk: Buffer): void {
    if (this.#conn !== c || this.#closed) return;
    const n = chunk.length;
    this.stream.counters.octetsReceived += n;
    this.#tally.rx += n;
    const st = this.#stage;
    if (st === undefined) {
      this.#deliver(chunk);
      return;
    }
    const out = st.transform(chunk);
    if (out === undefined) return;
    if (Buffer.isBuffer(out)) this.#deliver(out);
    else for (const b of out as readonly Buffer[]) this.#deliver(b);
  }

  #deliver(chunk: Buffer): void {
    const p = this.#heldBytes === 0 ? this.#target() : undefined;
    if (p !== undefined) {
      p.#write(chunk);
      if (p.#backlogged()) this.#pause();
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#heldBytes >= this.#host.settings.bufferBytes) this.#pause();
  }

  #write(chunk: Buffer): void {
    const n = chunk.length;
    this.stream.counters.octetsSent += n;
    this.#tally.tx += n;
    this.#conn!.app!.write(chunk);
  }

  #backlogged(): boolean {
    return (this.#conn?.app?.writableLength ?? 0) >= this.#host.settings.highWaterMark;
  }

  /** Writes held bytes to the partner while it takes them; passes a pending FIN; resumes reading. */
  #flush(): void {
    if (this.#closed) return;
    if (this.#heldBytes > 0 || this.#finPending) {
      const p = this.#target();
      if (p === undefined) {
        this.#resume();
        return;
      }
      while (this.#held.length > 0 && !p.#backlogged()) {
        const b = this.#held.shift()!;
        this.#heldBytes -= b.length;
        p.#write(b);
      }
      if (this.#held.length === 0 && this.#finPending) {
        this.#finPending = false;
        p.#passFin();
      }
    }
    this.#resume();
  }

  #pause(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#conn?.app?.pause();
  }

  /** Reads again when the held bytes are below the bound and the partner is not backlogged. */
  #resume(): void {
    const c = this.#conn;
    if (this.#reading || c === undefined || c.app === undefined || c.peerEnded || c.cause !== undefined) return;
    if (this.#heldBytes >= this.#host.settings.bufferBytes) return;
    const p = this.#target();
    if (p !== undefined && p.#backlogged()) return;
    this.#reading = true;
    c.app.resume();
  }

  /** The peer's FIN (half-close): passed on once the held bytes are written. */
  #onEnd(c: Conn): void {
    if (this.#conn !== c) return;
    c.peerEnded = true;
    this.#reading = false;
    // a connection we are closing (replacement, idle) answers our FIN: nothing to pass on
    if (c.cause !== undefined) return;
    this.#stageEnd();
    this.#finPending = true;
    this.#flush();
  }

  /** The stage's last bytes for the partner when this connection's bytes end (MSRP: close an open chunk). */
  #stageEnd(): void {
    const st = this.#stage;
    this.#stage = undefined;
    const out = st?.end?.();
    if (out === undefined) return;
    if (Buffer.isBuffer(out)) this.#deliver(out);
    else for (const b of out as readonly Buffer[]) this.#deliver(b);
  }

  /** Our FIN to this leg's peer, passing on the partner's. */
  #passFin(): void {
    const c = this.#conn;
    if (c === undefined || c.app === undefined || c.app.writableEnded) return;
    c.app.end();
  }

  #onClose(c: Conn, hadError: boolean): void {
    if (c.grace !== undefined) clearTimeout(c.grace);
    const cause: ReleaseCause = c.cause ?? (hadError ? 'rst' : 'fin');
    this.#tcpSentBefore += c.raw.bytesWritten;
    this.#tcpReceivedBefore += c.raw.bytesRead;
    if (this.#conn !== c) {
      this.#host.connectionDown(this, c.dir, cause);
      return;
    }
    this.#conn = undefined;
    this.#ready = false;
    this.#reading = false;
    this.#host.connectionDown(this, c.dir, cause);
    this.#log.info({ dir: c.dir, cause }, 'TCP connection released');
    this.#raise(EVENT_REL, { cause });
    if (!this.#closed) this.termination.bearerReleased(GENERAL_CAUSE[cause], CAUSE_TEXT[cause]);
    const p = this.partner;
    if (cause === 'rst') {
      // a reset is passed on as a reset; what was held for the partner is void
      this.#held = [];
      this.#heldBytes = 0;
      this.#finPending = false;
      if (p !== undefined) p.#reset();
      // what the partner held for this connection is void too
      if (p !== undefined) {
        p.#held = [];
        p.#heldBytes = 0;
      }
    } else if (cause === 'timeout') {
      // idle: the partner's peer sees a FIN after what we held
      this.#stageEnd();
      this.#finPending = true;
      this.#flush();
    } else {
      // a replaced connection ('local') passes no FIN on: the partner's bytes wait for the new one
      this.#stage = undefined;
    }
    if (p !== undefined) p.#resume();
    this.#maybeConnect();
  }

  /** Resets this leg's connection (a reset passed on from the partner). */
  #reset(): void {
    const c = this.#conn;
    if (c === undefined || c.raw.destroyed) return;
    c.cause ??= 'rst';
    c.raw.resetAndDestroy();
  }

  /** Our close: FIN now, reset if still open after closeGraceMs. */
  #closeConn(cause: ReleaseCause): void {
    const c = this.#conn;
    if (c === undefined || c.cause !== undefined) return;
    c.cause = cause;
    this.#pause();
    if (c.app !== undefined && !c.app.writableEnded) c.app.end();
    c.grace = setTimeout(() => {
      if (!c.raw.destroyed) c.raw.resetAndDestroy();
    }, this.#host.settings.closeGraceMs);
    c.grace.unref();
  }

  // ---- events ------------------------------------------------------------------------------

  #raise(name: string, params: Readonly<Record<string, PackageValue | undefined>>): void {
    if (this.#closed) return;
    try {
      this.termination.raise(name, params, this.stream.id);
    } catch (e) {
      this.#log.warn({ event: name, err: errorMessage(e) }, 'event not raised');
    }
  }

  // ---- teardown ----------------------------------------------------------------------------

  /** Closes the leg (Subtract, transport change): FIN to its peer, passed on to the partner's. */
  close(): void {
    if (this.#closed) return;
    const p = this.partner;
    if (p !== undefined) {
      // our peer's bytes still held go out, then our side's end is passed on as a FIN
      const target = this.#target();
      if (target !== undefined) {
        for (const b of this.#held) target.#write(b);
        target.#passFin();
      }
      p.partner = undefined;
      p.#forward = false;
      // what the partner held for us is void; it reads on (into its bounded buffer)
      p.#held = [];
      p.#heldBytes = 0;
      p.#resume();
      this.partner = undefined;
    }
    this.#held = [];
    this.#heldBytes = 0;
    this.#closed = true;
    this.#stopListening();
    this.#cancelAttempt();
    this.#dropHandshake();
    if (this.#conn !== undefined) this.#closeConn('local');
    this.#ready = false;
    this.stream.extraStatistics.delete('tcptv/bs');
    this.stream.extraStatistics.delete('tcptv/br');
    // statistics read after the close (Subtract reply) keep the totals
    const sent = this.tcpBytesSent;
    const received = this.tcpBytesReceived;
    this.stream.extraStatistics.set('tcptv/bs', () => sent);
    this.stream.extraStatistics.set('tcptv/br', () => received);
    this.#host.closed(this);
  }

  /** Shutdown: no grace. */
  destroy(): void {
    this.close();
    const c = this.#conn;
    if (c !== undefined && !c.raw.destroyed) c.raw.resetAndDestroy();
  }

  /**
   * MSRP hook (daemon/bearer/msrp/): bytes from this leg's stage to its own peer (answers such as
   * 481), in order with what the partner relays to it: behind what the partner still holds for it,
   * so a relayed frame is never cut.
   */
  reply(chunk: Buffer): void {
    const p = this.partner;
    if (p !== undefined && p.#heldBytes > 0) {
      p.#held.push(chunk);
      p.#heldBytes += chunk.length;
      return;
    }
    const c = this.#conn;
    if (this.#closed || c === undefined || c.app === undefined || c.app.writableEnded || c.cause !== undefined) return;
    this.#write(chunk);
  }

  /** MSRP hook: the peer broke the framing or a limit: disconnect it (FIN, reset after closeGraceMs). */
  abort(): void {
    this.#closeConn('local');
  }

  /** For the plane's partner bookkeeping: the flow flag is recomputed on the next apply(). */
  unpair(): void {
    this.partner = undefined;
    this.#forward = false;
  }
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** Listens again on a server closed earlier (passive → active → passive on the same port). */
function relisten(server: Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export type { Endpoint };
