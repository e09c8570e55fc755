/**
 * PortManager: the one owner of a realm's media ports (ARCHITECTURE: "Ports come from, and return
 * to, one PortManager").
 *
 * A realm is `{ name, address, ports: [low, high] }` (IPv4 or IPv6). The manager hands out *bound*
 * sockets, so a port it returns is really ours:
 *
 * - `allocateRtpPair()`: an even RTP port and RTP+1 for RTCP, two bound `dgram` sockets.
 * - `allocateUdp()`: one bound UDP socket (UDPTL, DTLS). It takes a whole even/odd slot and leaves the
 *   odd port unbound: the pool stays one queue of pairs, so allocation stays O(1) and singles never
 *   fragment the pair space. (Costs one unused port per single; ranges are sized for RTP pairs.)
 * - `allocateTcpPort()`: a port number from the same range; TCP and UDP port numbers are separate
 *   name spaces in the OS, so TCP ports are a second, independent pool. The TCP layer binds it later
 *   (`lease.listen()`), or at once with `allocateTcpPort({ listen: true })`, which also skips ports
 *   another process holds.
 *
 * Free slots sit in a FIFO queue: allocation takes the oldest free slot, release appends at the tail.
 * A released port is therefore reused only after every other free port has been used (quarantine),
 * so late packets of an old call do not reach a new one. Ports the OS refuses (EADDRINUSE from
 * another process, EACCES) are skipped and moved to the tail; each allocation tries each free slot at
 * most once, so it is O(1) while the range is ours and O(conflicts) otherwise. When no slot can be
 * bound the allocation fails with `ERR_PORTS_EXHAUSTED` (H.248 510) and succeeds again as soon as
 * leases are released.
 *
 * Each lease owns its sockets: `release()` closes them (idempotent, returns the same promise) and only
 * then gives the port back. Every socket gets an `'error'` listener (counted in `socketErrors`) so a
 * stray socket error can never crash the process; flows add their own.
 */
import type { Socket, SocketType } from 'node:dgram';
import { createServer, isIP, type ListenOptions, type Server, type ServerOpts } from 'node:net';
import { TrgwdError, errorMessage } from '../errors.js';
import { bindMediaSocket, closeMediaSocket } from './udp/sockets.js';

/** One realm as the manager needs it: `{ name, ...config.media.realms[name] }` fits. */
export interface PortRealm {
  /** Realm name, as the controller names it in `ipdc/realm`. */
  readonly name: string;
  /** Local address media sockets bind to (IPv4 or IPv6). */
  readonly address: string;
  /** Inclusive port range `[low, high]`, 1..65535. */
  readonly ports: readonly [number, number];
}

/** Plain counters for the metrics layer (bounded labels: realm, protocol). */
export interface PortManagerCounters {
  /** UDP ports reserved by leases (a pair and a single each reserve 2). */
  udpPortsInUse: number;
  /** TCP ports reserved by leases. */
  tcpPortsInUse: number;
  rtpPairsInUse: number;
  udpSinglesInUse: number;
  /** Allocations that ended in `ERR_PORTS_EXHAUSTED`. */
  allocationFailures: number;
  /** Ports skipped because the OS refused them (held by another process). */
  bindConflicts: number;
  /** `'error'` events on sockets owned by leases. */
  socketErrors: number;
  allocations: number;
  releases: number;
}

export interface PortLease {
  readonly realm: string;
  readonly address: string;
  readonly released: boolean;
  /** Closes the lease's sockets and returns its ports to the pool (at the tail). Idempotent. */
  release(): Promise<void>;
  /** `release()` without waiting: the `Closable` shape (daemon/mg/resource.ts) for owners. Never throws. */
  close(): void;
}

export interface RtpPairLease extends PortLease {
  readonly kind: 'rtp-pair';
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly rtp: Socket;
  readonly rtcp: Socket;
}

export interface UdpPortLease extends PortLease {
  readonly kind: 'udp';
  readonly port: number;
  readonly socket: Socket;
}

export interface TcpPortLease extends PortLease {
  readonly kind: 'tcp';
  readonly port: number;
  /** The listener bound on this port, if any (owned by the lease, closed by `release()`). */
  readonly server: Server | null;
  /**
   * Binds a TCP listener on the reserved port (once; later calls return the same server). Rejects with
   * `ERR_BEARER_BIND` (510) when the OS refuses it. Attach `'connection'` handlers to the result.
   */
  listen(options?: ServerOpts & Pick<ListenOptions, 'backlog'>): Promise<Server>;
}

/** Fixed-capacity FIFO of slot numbers: O(1) push and shift, no allocation. */
class SlotQueue {
  private readonly ring: Int32Array;
  private head = 0;
  private count = 0;
  constructor(capacity: number) {
    this.ring = new Int32Array(Math.max(capacity, 1));
  }
  get length(): number {
    return this.count;
  }
  push(slot: number): void {
    if (this.count === this.ring.length) throw new Error('SlotQueue overflow'); // a slot returned twice
    this.ring[(this.head + this.count) % this.ring.length] = slot;
    this.count++;
  }
  shift(): number | undefined {
    if (this.count === 0) return undefined;
    const slot = this.ring[this.head]!;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    return slot;
  }
  /** Slots in allocation order (tests, audits). */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.ring[(this.head + i) % this.ring.length]!);
    return out;
  }
}

/** Errors meaning "this port is taken or forbidden, try another". */
const SKIPPABLE = new Set(['EADDRINUSE', 'EACCES']);

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class PortManager {
  readonly realm: string;
  readonly address: string;
  readonly low: number;
  readonly high: number;
  readonly counters: PortManagerCounters = {
    udpPortsInUse: 0,
    tcpPortsInUse: 0,
    rtpPairsInUse: 0,
    udpSinglesInUse: 0,
    allocationFailures: 0,
    bindConflicts: 0,
    socketErrors: 0,
    allocations: 0,
    releases: 0,
  };
  private readonly udpType: SocketType;
  /** First even port of the range; UDP slot `s` is ports `firstEven + 2s` and `+1`. */
  private readonly firstEven: number;
  private readonly udpFree: SlotQueue;
  private readonly tcpFree: SlotQueue;
  readonly udpSlots: number;
  private readonly leases = new Set<LeaseBase>();
  private closing: Promise<void> | null = null;

  constructor(realm: PortRealm) {
    const [low, high] = realm.ports;
    const bad = (why: string): TrgwdError =>
      new TrgwdError('ERR_PORTS_BAD_REALM', `realm "${realm.name}": ${why}`, {
        details: { realm: realm.name },
      });
    if (typeof realm.name !== 'string' || realm.name.length === 0) throw bad('name is empty');
    if (isIP(realm.address) === 0) throw bad(`address "${realm.address}" is not an IP address`);
    if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
      throw bad(`port range [${low}, ${high}] is not within 1..65535 with low <= high`);
    }
    this.realm = realm.name;
    this.address = realm.address;
    this.low = low;
    this.high = high;
    this.udpType = isIP(realm.address) === 6 ? 'udp6' : 'udp4';
    this.firstEven = low % 2 === 0 ? low : low + 1;
    this.udpSlots = this.firstEven + 1 <= high ? Math.floor((high - this.firstEven + 1) / 2) : 0;
    this.udpFree = new SlotQueue(this.udpSlots);
    for (let s = 0; s < this.udpSlots; s++) this.udpFree.push(s);
    const tcpCount = high - low + 1;
    this.tcpFree = new SlotQueue(tcpCount);
    for (let s = 0; s < tcpCount; s++) this.tcpFree.push(s);
  }

  /** UDP ports the range can lend (2 per slot). */
  get udpPortsTotal(): number {
    return this.udpSlots * 2;
  }
  get tcpPortsTotal(): number {
    return this.high - this.low + 1;
  }
  get udpSlotsFree(): number {
    return this.udpFree.length;
  }
  get tcpPortsFree(): number {
    return this.tcpFree.length;
  }

  /** Even ports of the free UDP slots, next to be allocated first (tests, diagnostics). */
  udpFreeOrder(): number[] {
    return this.udpFree.toArray().map((s) => this.firstEven + 2 * s);
  }

  async allocateRtpPair(): Promise<RtpPairLease> {
    const { slot, sockets } = await this.bindUdpSlot(true);
    const lease = new RtpPair(this, slot, this.firstEven + 2 * slot, sockets[0], sockets[1]!);
    this.counters.rtpPairsInUse++;
    this.counters.udpPortsInUse += 2;
    this.track(lease);
    return lease;
  }

  async allocateUdp(): Promise<UdpPortLease> {
    const { slot, sockets } = await this.bindUdpSlot(false);
    const lease = new UdpSingle(this, slot, this.firstEven + 2 * slot, sockets[0]);
    this.counters.udpSinglesInUse++;
    this.counters.udpPortsInUse += 2;
    this.track(lease);
    return lease;
  }

  /**
   * Reserves a TCP port. With `listen` a listener is bound at once (ports held by other processes
   * are skipped); without it only the number is reserved.
   */
  async allocateTcpPort(options: { listen?: boolean; server?: ServerOpts } = {}): Promise<TcpPortLease> {
    this.checkOpen();
    const attempts = this.tcpFree.length;
    for (let i = 0; i < attempts; i++) {
      const slot = this.tcpFree.shift();
      if (slot === undefined) break;
      const port = this.low + slot;
      let server: Server | null = null;
      if (options.listen === true) {
        try {
          server = await this.bindTcp(port, options.server);
        } catch (e) {
          this.tcpFree.push(slot);
          if (SKIPPABLE.has(errnoOf(e) ?? '')) {
            this.counters.bindConflicts++;
            continue;
          }
          throw this.bindError('tcp', port, e);
        }
        if (this.closing !== null) {
          await closeServer(server);
          this.tcpFree.push(slot);
          this.checkOpen();
        }
      }
      const lease = new TcpPort(this, slot, port, server);
      this.counters.tcpPortsInUse++;
      this.track(lease);
      return lease;
    }
    throw this.exhausted('tcp');
  }

  /** Releases every outstanding lease (shutdown safety net). Idempotent; later allocations fail. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = Promise.all([...this.leases].map((l) => l.release())).then(() => undefined);
    return this.closing;
  }

  // ---- internals used by the leases

  /** @internal */
  returnUdp(lease: RtpPair | UdpSingle): void {
    this.leases.delete(lease);
    this.udpFree.push(lease.slot);
    this.counters.udpPortsInUse -= 2;
    if (lease.kind === 'rtp-pair') this.counters.rtpPairsInUse--;
    else this.counters.udpSinglesInUse--;
    this.counters.releases++;
  }

  /** @internal */
  returnTcp(lease: TcpPort): void {
    this.leases.delete(lease);
    this.tcpFree.push(lease.slot);
    this.counters.tcpPortsInUse--;
    this.counters.releases++;
  }

  /** @internal */
  bindTcp(port: number, options?: ServerOpts & Pick<ListenOptions, 'backlog'>): Promise<Server> {
    return new Promise<Server>((resolve, reject) => {
      const { backlog, ...serverOpts } = options ?? {};
      const server = createServer(serverOpts);
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(
        { host: this.address, port, exclusive: true, ...(backlog !== undefined ? { backlog } : {}) },
        () => {
          server.off('error', onError);
          server.on('error', () => this.counters.socketErrors++);
          resolve(server);
        },
      );
    });
  }

  /** @internal */
  bindError(protocol: 'udp' | 'tcp', port: number, cause: unknown): TrgwdError {
    return new TrgwdError(
      'ERR_BEARER_BIND',
      `cannot bind ${protocol} ${this.address.includes(':') ? `[${this.address}]` : this.address}:${port} in realm "${this.realm}": ${errorMessage(cause)}`,
      { cause, details: { realm: this.realm, address: this.address, port, protocol, errno: errnoOf(cause) } },
    );
  }

  private track(lease: LeaseBase): void {
    this.leases.add(lease);
    this.counters.allocations++;
  }

  private checkOpen(): void {
    if (this.closing !== null) {
      throw new TrgwdError('ERR_PORTS_CLOSED', `port manager of realm "${this.realm}" is closed`, {
        details: { realm: this.realm },
      });
    }
  }

  private exhausted(protocol: 'udp' | 'tcp'): TrgwdError {
    this.counters.allocationFailures++;
    return new TrgwdError(
      'ERR_PORTS_EXHAUSTED',
      `no free ${protocol} port in realm "${this.realm}" (${this.low}-${this.high})`,
      { details: { realm: this.realm, protocol } },
    );
  }

  /** Takes free slots in FIFO order until one binds; skipped slots go to the tail. */
  private async bindUdpSlot(pair: boolean): Promise<{ slot: number; sockets: [Socket, Socket?] }> {
    this.checkOpen();
    const attempts = this.udpFree.length;
    for (let i = 0; i < attempts; i++) {
      const slot = this.udpFree.shift();
      if (slot === undefined) break;
      const port = this.firstEven + 2 * slot;
      let first: Socket;
      try {
        first = await this.bindUdp(port);
      } catch (e) {
        this.udpFree.push(slot);
        if (SKIPPABLE.has(errnoOf(e) ?? '')) {
          this.counters.bindConflicts++;
          continue;
        }
        throw this.bindError('udp', port, e);
      }
      let second: Socket | undefined;
      if (pair) {
        try {
          second = await this.bindUdp(port + 1);
        } catch (e) {
          await closeSocket(first);
          this.udpFree.push(slot);
          if (SKIPPABLE.has(errnoOf(e) ?? '')) {
            this.counters.bindConflicts++;
            continue;
          }
          throw this.bindError('udp', port + 1, e);
        }
      }
      if (this.closing !== null) {
        await closeSocket(first);
        if (second !== undefined) await closeSocket(second);
        this.udpFree.push(slot);
        this.checkOpen();
      }
      return { slot, sockets: [first, second] };
    }
    throw this.exhausted('udp');
  }

  private async bindUdp(port: number): Promise<Socket> {
    const socket = await bindMediaSocket(this.udpType, this.address, port);
    socket.on('error', () => this.counters.socketErrors++);
    return socket;
  }
}

abstract class LeaseBase implements PortLease {
  abstract readonly kind: 'rtp-pair' | 'udp' | 'tcp';
  private releasing: Promise<void> | null = null;
  constructor(
    protected readonly manager: PortManager,
    /** @internal pool slot */
    readonly slot: number,
  ) {}
  get realm(): string {
    return this.manager.realm;
  }
  get address(): string {
    return this.manager.address;
  }
  get released(): boolean {
    return this.releasing !== null;
  }
  release(): Promise<void> {
    if (this.releasing === null) this.releasing = this.closeAll().then(() => this.giveBack());
    return this.releasing;
  }
  close(): void {
    void this.release();
  }
  protected abstract closeAll(): Promise<void>;
  protected abstract giveBack(): void;
}

class RtpPair extends LeaseBase implements RtpPairLease {
  readonly kind = 'rtp-pair' as const;
  readonly rtcpPort: number;
  constructor(
    manager: PortManager,
    slot: number,
    readonly rtpPort: number,
    readonly rtp: Socket,
    readonly rtcp: Socket,
  ) {
    super(manager, slot);
    this.rtcpPort = rtpPort + 1;
  }
  protected async closeAll(): Promise<void> {
    await Promise.all([closeSocket(this.rtp), closeSocket(this.rtcp)]);
  }
  protected giveBack(): void {
    this.manager.returnUdp(this);
  }
}

class UdpSingle extends LeaseBase implements UdpPortLease {
  readonly kind = 'udp' as const;
  constructor(
    manager: PortManager,
    slot: number,
    readonly port: number,
    readonly socket: Socket,
  ) {
    super(manager, slot);
  }
  protected closeAll(): Promise<void> {
    return closeSocket(this.socket);
  }
  protected giveBack(): void {
    this.manager.returnUdp(this);
  }
}

class TcpPort extends LeaseBase implements TcpPortLease {
  readonly kind = 'tcp' as const;
  private listening: Promise<Server> | null;
  private bound: Server | null;
  constructor(
    manager: PortManager,
    slot: number,
    readonly port: number,
    server: Server | null,
  ) {
    super(manager, slot);
    this.bound = server;
    this.listening = server !== null ? Promise.resolve(server) : null;
  }
  get server(): Server | null {
    return this.bound;
  }
  listen(options?: ServerOpts & Pick<ListenOptions, 'backlog'>): Promise<Server> {
    if (this.released) {
      return Promise.reject(
        new TrgwdError('ERR_PORTS_RELEASED', `tcp port ${this.port} of realm "${this.realm}" was released`),
      );
    }
    this.listening ??= this.manager.bindTcp(this.port, options).then(
      (server) => {
        this.bound = server;
        if (this.released) void closeServer(server);
        return server;
      },
      (e: unknown) => {
        this.listening = null; // may be retried
        throw this.manager.bindError('tcp', this.port, e);
      },
    );
    return this.listening;
  }
  protected async closeAll(): Promise<void> {
    const pending = this.listening;
    if (pending !== null) {
      const server = await pending.catch(() => null);
      if (server !== null) await closeServer(server);
    }
  }
  protected giveBack(): void {
    this.manager.returnTcp(this);
  }
}

/** Closes a dgram socket; resolves when closed (also when it was closed already by someone else). */
function closeSocket(socket: Socket): Promise<void> {
  return closeMediaSocket(socket);
}

/**
 * Stops a listener. The listening socket is closed at once (the port can be bound again); connections
 * it accepted belong to the TCP flows and are left alone, so this does not wait for them.
 */
function closeServer(server: Server): Promise<void> {
  try {
    if (server.listening) server.close();
  } catch {
    // already closed
  }
  return Promise.resolve();
}
