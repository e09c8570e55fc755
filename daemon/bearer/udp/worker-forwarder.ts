/**
 * ShardedForwarder: the Forwarder (forwarder.ts) spread over worker threads (`media.workers`), so the
 * per-packet work of different contexts runs on different cores and the main thread keeps serving the
 * controller. The workers may be child processes instead (`media.workerMode: process`, option `mode`):
 * each then has its own descriptor table and RLIMIT_NOFILE (4 descriptors per context of two RTP
 * terminations: 10,000 contexts need 40,000), and its counters live in shared memory of the native
 * addon instead of SharedArrayBuffers. relay-channel.ts holds that difference (RelayWorkerChannel,
 * SharedBlock); what follows says "thread" for either.
 *
 * Sharding is by group (the context): every leg of a group lives on one thread, because a leg sends
 * out of its peer leg's socket. A new group goes to the worker with the fewest legs. A leg whose group
 * changes (Move) or whose group gets plain security transforms (functions cannot cross threads) moves:
 * its old thread stops it and closes its sockets, its new thread binds the same ports and starts it
 * (media of that leg pauses for that long). Groups with plain transforms, or with a leg on sockets that
 * cannot move (LegSockets.pinned: the DTLS plane's shim), run on the main thread.
 *
 * Portable security (e2ae SRTP: forwarder.ts PortableSecurity) runs where the leg runs: its spec goes
 * to the worker (`sec`), which builds the transforms (worker-security.ts); their events come back
 * (`secEvent`) to the security object's onEvent here. A leg that moves between threads gets its
 * transforms built afresh there (for SRTP: new contexts, ROC 0), as after a rekey of both directions;
 * so a Move of such a leg brings the group it joins to the leg's thread instead, unless that group has
 * secured or pinned legs of its own (keepsCryptoState).
 *
 * Sockets: the PortManager binds in the main thread (so a port it lends is known free). For a leg on
 * a worker, the main thread takes the ports from the lease (LegSockets.bound, else asks the sockets),
 * closes the sockets, and the worker binds the same ports at once. Between the two, the port is free: another process binding exactly that port in
 * that instant would take it; the worker then reports bindFailed, which is logged (the leg stays
 * silent). The lease keeps the port reserved in the PortManager either way.
 *
 * Messages: what one synchronous run of the main thread sends a worker (a command's contextChanged:
 * add, cfg, targets, remove for each leg) goes as one batch, and so do a worker's answers to it. What
 * a command costs the main thread with workers is mostly these crossings: on the 2-vCPU VM this was
 * measured on, a postMessage that wakes an idle worker costs the sender ~30 µs of CPU and usually
 * hands it the sender's core for a while (the scheduler runs the woken thread where it was woken);
 * one that finds the worker awake (relaying) costs ~1 µs. A call costs three such batches (Add,
 * Modify, Subtract) and two answers (bound, removed).
 *
 * Counters: each leg has a slot of CNT_SLOTS numbers in a SharedArrayBuffer chunk (a shm block with
 * worker processes), written by the thread that runs it and read by the main thread (statistics,
 * inactivity); a slot is reused only after its worker confirmed the leg stopped. Per-realm totals live
 * in one such block per worker, never reset; drainTotals() hands over the difference since the last
 * call.
 */
import { isIP } from 'node:net';
import { errorMessage } from '../../errors.js';
import { silentLogger, type Logger } from '../../observe/log.js';
import {
  CNT_SLOTS,
  LocalForwarder,
  newLegCounters,
  TOTALS_LENGTH,
  type Forwarder,
  isPortable,
  type AnySecurity,
  type ForwarderListener,
  type LegConfig,
  type LegSockets,
  type PortableSecurity,
} from './forwarder.js';
import type { BindSpec, FromWorker, ToWorker, WorkerInit } from './forwarder-worker.js';
import {
  sharedBlock,
  startRelayWorker,
  type RelayWorkerChannel,
  type RelayWorkerMode,
  type SharedRef,
} from './relay-channel.js';
import { bindMediaSocket, closeMediaSocket } from './sockets.js';

/** Leg counter slots per SharedArrayBuffer chunk. */
const CHUNK_SLOTS = 1024;
/** The main thread, as a shard number. */
const MAIN = -1;

export interface ShardedForwarderOptions {
  /** Workers (at least 1). */
  readonly workers: number;
  /** Worker threads (default) or child processes (each with its own descriptors; counters in shm). */
  readonly mode?: RelayWorkerMode;
  /** Realm names (metric labels); legs of other realms are counted as `other`. */
  readonly realms: readonly string[];
  readonly log?: Logger;
}

interface Shard {
  readonly index: number;
  readonly channel: RelayWorkerChannel;
  readonly totals: Float64Array;
  readonly last: Float64Array;
  legs: number;
  alive: boolean;
  exited: Promise<void>;
  /** Resolves when the worker is listening for messages (or died). */
  started: Promise<void>;
  onReady: () => void;
  /** Messages of this turn, posted together (one postMessage per worker and turn, not per message). */
  outbox: ToWorker[];
  /**
   * Messages were posted that no answer will confirm (cfg, targets, sec: a Modify) since the last add
   * or remove (whose answers come once the worker has handled everything before them) or sync.
   */
  unconfirmed: boolean;
  syncSeq: number;
  /** settled() callers waiting for a `synced` answer, by sync number. */
  readonly syncWaiters: Map<number, () => void>;
}

interface Rec {
  readonly id: number;
  readonly slot: number;
  readonly view: Float64Array;
  readonly bind: BindSpec;
  cfg: LegConfig;
  group: number;
  shard: number;
  media: readonly number[];
  rtcp: readonly number[];
  security: AnySecurity | undefined;
  /** The last portable security the leg had: its transforms' last events (contexts freed) go there. */
  lastPortable: PortableSecurity | undefined;
  /** Sockets the main thread runs the leg on (the caller's, or ours after a move). */
  mainSockets: LegSockets | undefined;
  /** mainSockets were bound here (close them when the leg leaves the main thread). */
  ownSockets: boolean;
  /** LegSockets.pinned: stays on the main thread, and so does its group. */
  readonly pinned: boolean;
  /** Moving between threads: where to. */
  moveTo: number | undefined;
  removed: boolean;
  /** Resolves the promise removeLeg() returned. */
  gone: (() => void) | undefined;
}

interface Group {
  shard: number;
  readonly legs: Set<Rec>;
}

/**
 * A leg with portable security (SRTP) joins group `g` (Move) on another thread: its transforms hold
 * state a rebuild would lose (the rollover counters: after 2^16 packets a fresh context no longer
 * matches the peer's), so the group comes to the leg's thread instead, when none of its other legs
 * has state or a thread of its own (security, pinned sockets).
 */
function keepsCryptoState(rec: Rec, g: Group): boolean {
  if (!isPortable(rec.security) || rec.moveTo !== undefined || rec.shard === g.shard) return false;
  for (const r of g.legs) if (r !== rec && (r.security !== undefined || r.pinned)) return false;
  return true;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The leg has security transforms that are functions of this thread (not portable). */
function hasPlainSecurity(rec: Rec): boolean {
  return rec.security !== undefined && !isPortable(rec.security);
}

function closeSockets(s: LegSockets | undefined): void {
  if (s?.rtp !== undefined) void closeMediaSocket(s.rtp);
  if (s?.rtcp !== undefined) void closeMediaSocket(s.rtcp);
}

function bindSpecOf(s: LegSockets): BindSpec {
  const b = s.bound;
  if (b !== undefined) {
    return { type: isIP(b.address) === 6 ? 'udp6' : 'udp4', address: b.address, rtp: b.rtp, rtcp: b.rtcp };
  }
  const a = s.rtp.address();
  return {
    type: a.family === 'IPv6' ? 'udp6' : 'udp4',
    address: a.address,
    rtp: a.port,
    rtcp: s.rtcp?.address().port,
  };
}

async function bindMain(spec: BindSpec): Promise<LegSockets> {
  const [rtp, rtcp] = await Promise.allSettled([
    bindMediaSocket(spec.type, spec.address, spec.rtp),
    spec.rtcp !== undefined ? bindMediaSocket(spec.type, spec.address, spec.rtcp) : undefined,
  ]);
  if (rtp.status === 'rejected' || rtcp.status === 'rejected') {
    // the one that did bind must not keep its port
    for (const r of [rtp, rtcp]) if (r.status === 'fulfilled' && r.value !== undefined) void closeMediaSocket(r.value);
    throw rtp.status === 'rejected' ? rtp.reason : (rtcp as PromiseRejectedResult).reason;
  }
  return { rtp: rtp.value, rtcp: rtcp.value, connectable: true };
}

export class ShardedForwarder implements Forwarder {
  readonly where: string;
  readonly rebinds = true;
  readonly #log: Logger;
  readonly #realms: readonly string[];
  readonly #shards: Shard[] = [];
  readonly #main = new LocalForwarder();
  readonly #recs = new Map<number, Rec>();
  readonly #groups = new Map<number, Group>();
  readonly #mode: RelayWorkerMode;
  readonly #chunks: SharedRef[] = [];
  readonly #views: Float64Array[] = [];
  readonly #freeSlots: number[] = [];
  /** Worker acknowledgements of `remove`, by leg id. */
  readonly #acks = new Map<number, () => void>();
  readonly #delta = new Float64Array(TOTALS_LENGTH);
  #listener: ForwarderListener | undefined;
  #closing: Promise<void> | undefined;
  /**
   * Legs not settled (their thread has not yet bound their ports, or not yet let go of them), in the
   * order they became so, each with its sequence number.
   */
  readonly #binding = new Map<number, number>();
  #bindingSeq = 0;
  /** settled() callers, oldest first: each waits for the legs unsettled when it was called (up to `upTo`). */
  #settledWaiters: { readonly upTo: number; readonly resolve: () => void }[] = [];
  readonly ready: Promise<void>;

  constructor(options: ShardedForwarderOptions) {
    const n = Math.max(1, Math.floor(options.workers));
    this.#mode = options.mode ?? 'thread';
    this.where =
      this.#mode === 'process'
        ? `${n} worker process${n === 1 ? '' : 'es'}`
        : `${n} worker thread${n === 1 ? '' : 's'}`;
    this.#log = options.log ?? silentLogger();
    this.#realms = [...options.realms];
    const blocks = this.#realms.length + 1;
    for (let i = 0; i < n; i++) {
      const totals = sharedBlock(this.#mode, blocks * TOTALS_LENGTH * 8);
      const init: WorkerInit = { realms: this.#realms, totals: totals.ref, chunkSlots: CHUNK_SLOTS };
      const channel = startRelayWorker(this.#mode, init, i);
      const shard: Shard = {
        index: i,
        channel,
        totals: totals.view,
        last: new Float64Array(blocks * TOTALS_LENGTH),
        legs: 0,
        alive: true,
        exited: Promise.resolve(),
        started: Promise.resolve(),
        onReady: () => undefined,
        outbox: [],
        unconfirmed: false,
        syncSeq: 0,
        syncWaiters: new Map(),
      };
      let exited: () => void = () => undefined;
      shard.exited = new Promise((resolve) => (exited = resolve));
      shard.started = new Promise((resolve) => {
        shard.onReady = resolve;
        // a worker that dies before it is ready must not hold the gateway up
        void shard.exited.then(resolve);
      });
      channel.onMessage((batch) => {
        for (const m of batch) this.#fromWorker(shard, m);
      });
      channel.onError((e) => {
        shard.alive = false;
        this.#abandon(shard);
        this.#log.error(
          { worker: i, pid: channel.pid, err: errorMessage(e) },
          'udp relay worker failed; its streams no longer relay',
        );
      });
      channel.onExit((code, signal) => {
        exited();
        this.#abandon(shard);
        if (this.#closing === undefined) {
          shard.alive = false;
          this.#log.error(
            { worker: i, code, ...(channel.pid !== undefined ? { pid: channel.pid, signal } : {}) },
            'udp relay worker exited',
          );
        }
      });
      this.#shards.push(shard);
    }
    this.ready = Promise.all(this.#shards.map((s) => s.started)).then(() => undefined);
    this.#main.setListener({ latched: (...args) => this.#listener?.latched?.(...args) });
  }

  /**
   * Resolves when the legs added or removed before this call are settled, and every worker has
   * applied what it was sent before it (a Modify's new destination, targets or keys: a `sync` that it
   * answers when it got that far, where no add or remove answer will say so). Legs that become
   * unsettled later do not hold it up: under a steady flow of commands the set is rarely empty, and
   * waiting for it to empty would make every reply wait for the commands that came after it.
   */
  settled(): Promise<void> {
    const waits: Promise<void>[] = [];
    // what the caller changed goes out now, before the answer it is about to give
    for (const s of this.#shards) {
      if (s.alive && s.unconfirmed) {
        const n = ++s.syncSeq;
        s.outbox.push({ t: 'sync', n });
        s.unconfirmed = false;
        waits.push(new Promise((resolve) => s.syncWaiters.set(n, resolve)));
      }
      this.#flush(s);
    }
    if (this.#binding.size > 0) {
      const upTo = this.#bindingSeq;
      waits.push(new Promise((resolve) => this.#settledWaiters.push({ upTo, resolve })));
    }
    if (waits.length === 0) return Promise.resolve();
    return Promise.all(waits).then(() => undefined);
  }

  /** A leg is unsettled from now on (again, if it was: it then counts as the newest). */
  #unsettled(id: number): void {
    this.#binding.delete(id);
    this.#binding.set(id, ++this.#bindingSeq);
  }

  #boundDone(id: number): void {
    if (!this.#binding.delete(id)) return;
    const w = this.#settledWaiters;
    if (w.length === 0) return;
    // the oldest leg still unsettled (a Map iterates in insertion order)
    let oldest = Infinity;
    for (const seq of this.#binding.values()) {
      oldest = seq;
      break;
    }
    let n = 0;
    while (n < w.length && w[n]!.upTo < oldest) n++;
    if (n === 0) return;
    for (const x of w.splice(0, n)) x.resolve();
  }

  /** Process ids of the worker processes (process mode; empty with threads). */
  get workerPids(): number[] {
    return this.#shards.flatMap((s) => (s.channel.pid !== undefined ? [s.channel.pid] : []));
  }

  get legCount(): number {
    let n = 0;
    for (const r of this.#recs.values()) if (!r.removed) n++;
    return n;
  }

  /** Which thread runs a leg: -1 main, else the worker index (tests, diagnostics). */
  shardOf(id: number): number | undefined {
    const r = this.#recs.get(id);
    return r === undefined || r.removed ? undefined : (r.moveTo ?? r.shard);
  }

  addLeg(id: number, sockets: LegSockets, cfg: LegConfig): Float64Array {
    this.removeLeg(id);
    const slot = this.#allocSlot();
    const view = this.#viewOf(slot);
    view.set(newLegCounters());
    const group = this.#group(cfg.group);
    const pinned = sockets.pinned === true;
    if (pinned && group.shard !== MAIN) this.#toMain(group);
    const rec: Rec = {
      id,
      slot,
      view,
      // pinned sockets never move, and a shim has no port of its own
      bind: pinned ? { type: 'udp4', address: '', rtp: 0 } : bindSpecOf(sockets),
      cfg,
      group: cfg.group,
      shard: group.shard,
      media: [],
      rtcp: [],
      security: undefined,
      lastPortable: undefined,
      mainSockets: undefined,
      ownSockets: false,
      pinned,
      moveTo: undefined,
      removed: false,
      gone: undefined,
    };
    this.#recs.set(id, rec);
    group.legs.add(rec);
    if (group.shard === MAIN) {
      rec.mainSockets = sockets;
      this.#main.addLeg(id, sockets, cfg, view);
    } else {
      // the worker binds these ports now: the caller's sockets must let go of them first
      closeSockets(sockets);
      this.#startOn(rec, group.shard);
    }
    return view;
  }

  configure(id: number, cfg: LegConfig): void {
    const rec = this.#live(id);
    if (rec === undefined) return;
    rec.cfg = cfg;
    if (cfg.group !== rec.group) {
      // Move: the leg joins another group, on that group's thread
      this.#leaveGroup(rec);
      rec.group = cfg.group;
      const g = this.#group(cfg.group);
      g.legs.add(rec);
      if ((rec.pinned || hasPlainSecurity(rec)) && g.shard !== MAIN) this.#toMain(g);
      else if (keepsCryptoState(rec, g) && this.#runs(rec.shard)) this.#moveGroup(g, rec.shard);
      if ((rec.moveTo ?? rec.shard) !== g.shard) {
        this.#move(rec, g.shard);
        return;
      }
    }
    if (rec.moveTo !== undefined) return;
    if (rec.shard === MAIN) this.#main.configure(id, cfg);
    else this.#post(rec.shard, { t: 'cfg', id, cfg });
  }

  setTargets(id: number, media: readonly number[], rtcp: readonly number[]): void {
    const rec = this.#live(id);
    if (rec === undefined) return;
    // the plane sets every leg's targets on every change of its context: unchanged ones cost a
    // message (and the sync settled() then needs) for nothing
    if (sameIds(rec.media, media) && sameIds(rec.rtcp, rtcp)) return;
    rec.media = [...media];
    rec.rtcp = [...rtcp];
    if (rec.moveTo !== undefined) return;
    this.#sendTargets(rec);
  }

  setSecurity(id: number, security: AnySecurity | undefined): void {
    const rec = this.#live(id);
    if (rec === undefined) return;
    rec.security = security;
    if (isPortable(security)) rec.lastPortable = security;
    const g = this.#groupOf(rec);
    if (hasPlainSecurity(rec) && g !== undefined && g.shard !== MAIN) {
      // plain transforms are functions: the whole group runs where they live
      this.#toMain(g);
      return;
    }
    if (rec.moveTo !== undefined) return; // the move hands it over
    if (rec.shard === MAIN) this.#main.setSecurity(id, security);
    else this.#post(rec.shard, { t: 'sec', id, spec: isPortable(security) ? security.spec : null });
  }

  removeLeg(id: number): Promise<void> | void {
    const rec = this.#live(id);
    if (rec === undefined) return;
    rec.removed = true;
    this.#unsettled(id);
    const gone = new Promise<void>((resolve) => (rec.gone = resolve));
    this.#leaveGroup(rec);
    if (rec.moveTo === undefined) this.#stop(rec, () => this.#forget(rec));
    // else the move finishes the removal
    return gone;
  }

  drainTotals(sink: (realm: string, totals: Float64Array) => void): void {
    this.#main.drainTotals(sink);
    const names = [...this.#realms, 'other'];
    for (const shard of this.#shards) {
      for (let b = 0; b < names.length; b++) {
        const base = b * TOTALS_LENGTH;
        let any = false;
        for (let k = 0; k < TOTALS_LENGTH; k++) {
          const now = shard.totals[base + k]!;
          const d = now - shard.last[base + k]!;
          shard.last[base + k] = now;
          this.#delta[k] = d;
          if (d !== 0) any = true;
        }
        if (any) sink(names[b]!, this.#delta);
      }
    }
  }

  setListener(listener: ForwarderListener | undefined): void {
    this.#listener = listener;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const rec of this.#recs.values()) if (rec.ownSockets) closeSockets(rec.mainSockets);
      await this.#main.close();
      for (const s of this.#shards) if (s.alive) this.#post(s.index, { t: 'close' });
      await Promise.all(
        this.#shards.map(async (s) => {
          const timer = setTimeout(() => s.channel.stop(), 2000);
          timer.unref();
          await s.exited;
          clearTimeout(timer);
        }),
      );
    })();
    return this.#closing;
  }

  // ---- internals --------------------------------------------------------------------------------

  #live(id: number): Rec | undefined {
    const r = this.#recs.get(id);
    return r === undefined || r.removed ? undefined : r;
  }

  #groupOf(rec: Rec): Group | undefined {
    return this.#groups.get(rec.group);
  }

  /** The group (created on the least loaded live worker). */
  #group(id: number): Group {
    let g = this.#groups.get(id);
    if (g === undefined) {
      let best: Shard | undefined;
      for (const s of this.#shards) if (s.alive && (best === undefined || s.legs < best.legs)) best = s;
      g = { shard: best?.index ?? MAIN, legs: new Set() };
      this.#groups.set(id, g);
    }
    return g;
  }

  /** The thread still runs (the main thread always does). */
  #runs(shard: number): boolean {
    return shard === MAIN || this.#shards[shard]?.alive === true;
  }

  /** The leg leaves its group; an emptied group is forgotten. */
  #leaveGroup(rec: Rec): void {
    const g = this.#groupOf(rec);
    if (g === undefined) return;
    g.legs.delete(rec);
    if (g.legs.size === 0) this.#groups.delete(rec.group);
  }

  /** A group that must run on the main thread (security, pinned sockets): its legs move there. */
  #toMain(g: Group): void {
    this.#moveGroup(g, MAIN);
  }

  #moveGroup(g: Group, to: number): void {
    g.shard = to;
    for (const r of g.legs) this.#move(r, to);
  }

  /**
   * Queues a message for a worker; the messages of one synchronous run (a command's contextChanged:
   * 4-6 per leg) go as one batch when it ends, or when settled() is asked. Each postMessage that
   * wakes an idle worker costs the main thread tens of µs here (a 2-vCPU VM), whatever its size.
   */
  #post(shard: number, m: ToWorker): void {
    const s = this.#shards[shard];
    if (s === undefined || !s.alive) return;
    // an add or remove is answered once the worker has handled it and all before it
    s.unconfirmed = m.t !== 'add' && m.t !== 'remove';
    if (s.outbox.length === 0) queueMicrotask(() => this.#flush(s));
    s.outbox.push(m);
  }

  #flush(s: Shard): void {
    const batch = s.outbox;
    s.outbox = [];
    if (batch.length > 0 && s.alive) s.channel.post(batch);
  }

  #sendTargets(rec: Rec): void {
    if (rec.shard === MAIN) this.#main.setTargets(rec.id, rec.media, rec.rtcp);
    else this.#post(rec.shard, { t: 'targets', id: rec.id, media: rec.media, rtcp: rec.rtcp });
  }

  /** Starts a leg on a worker (its ports are free: the main thread closed its sockets). */
  #startOn(rec: Rec, shard: number): void {
    rec.shard = shard;
    const s = this.#shards[shard];
    if (s !== undefined) s.legs++;
    if (s?.alive !== true) {
      // a dead worker binds nothing: nobody may wait for this leg (it no longer relays; logged at the death)
      this.#boundDone(rec.id);
    } else if (!this.#binding.has(rec.id)) {
      // a leg moving here is unsettled since its move began: keep that place among the waiters
      this.#unsettled(rec.id);
    }
    this.#post(shard, { t: 'add', id: rec.id, slot: rec.slot, bind: rec.bind, cfg: rec.cfg });
    if (isPortable(rec.security)) this.#post(shard, { t: 'sec', id: rec.id, spec: rec.security.spec });
    if (rec.media.length > 0 || rec.rtcp.length > 0) this.#sendTargets(rec);
  }

  /**
   * Stops a leg where it runs; `then` once its sockets are closed (a worker confirms). On the main
   * thread the caller's sockets stay open unless the leg is moving (its new thread binds the ports;
   * the lease still owns, and releases, them).
   */
  #stop(rec: Rec, then: () => void, moving = false): void {
    if (rec.shard === MAIN) {
      this.#main.removeLeg(rec.id);
      if (rec.ownSockets || moving) closeSockets(rec.mainSockets);
      rec.mainSockets = undefined;
      rec.ownSockets = false;
      then();
      return;
    }
    const s = this.#shards[rec.shard];
    if (s !== undefined) s.legs--;
    if (s === undefined || !s.alive) {
      then();
      return;
    }
    this.#acks.set(rec.id, () => {
      // a moving leg is not listening until its new thread has bound the ports
      if (!moving) this.#boundDone(rec.id);
      then();
    });
    this.#post(rec.shard, { t: 'remove', id: rec.id });
  }

  /** Moves a leg to another thread; its group's legs get their targets again once it runs there. */
  #move(rec: Rec, to: number): void {
    if (rec.moveTo !== undefined) {
      rec.moveTo = to;
      return;
    }
    if (rec.shard === to || (rec.pinned && to !== MAIN)) return;
    rec.moveTo = to;
    this.#unsettled(rec.id);
    this.#stop(rec, () => void this.#arrive(rec), true);
  }

  async #arrive(rec: Rec): Promise<void> {
    const to = rec.moveTo!;
    if (rec.removed || this.#closing !== undefined) {
      rec.moveTo = undefined;
      this.#forget(rec);
      return;
    }
    if (to === MAIN) {
      let sockets: LegSockets;
      try {
        sockets = await bindMain(rec.bind);
      } catch (e) {
        rec.moveTo = undefined;
        rec.shard = MAIN;
        this.#boundDone(rec.id);
        this.#log.error(
          { leg: rec.id, port: rec.bind.rtp, err: errorMessage(e) },
          'udp relay: cannot bind a moved stream again; it no longer relays',
        );
        if (rec.removed) this.#forget(rec);
        return;
      }
      if (rec.removed || this.#closing !== undefined) {
        closeSockets(sockets);
        rec.moveTo = undefined;
        this.#forget(rec);
        return;
      }
      rec.moveTo = undefined;
      rec.shard = MAIN;
      rec.mainSockets = sockets;
      rec.ownSockets = true;
      this.#main.addLeg(rec.id, sockets, rec.cfg, rec.view);
      this.#main.setSecurity(rec.id, rec.security);
      this.#main.setTargets(rec.id, rec.media, rec.rtcp);
      this.#boundDone(rec.id);
    } else {
      rec.moveTo = undefined;
      this.#startOn(rec, to);
    }
    // its peers on that thread learn of it again (their targets skipped it while it was away)
    for (const r of this.#groupOf(rec)?.legs ?? [])
      if (r !== rec && r.moveTo === undefined) this.#sendTargets(r);
  }

  /** A worker is gone: nothing it owed (binds, removals) will come; whoever waits goes on. */
  #abandon(shard: Shard): void {
    shard.alive = false;
    for (const resolve of shard.syncWaiters.values()) resolve();
    shard.syncWaiters.clear();
    for (const rec of this.#recs.values()) {
      if (rec.shard !== shard.index) continue;
      this.#boundDone(rec.id);
      const then = this.#acks.get(rec.id);
      this.#acks.delete(rec.id);
      then?.();
    }
  }

  #forget(rec: Rec): void {
    if (this.#recs.get(rec.id) === rec) this.#recs.delete(rec.id);
    this.#freeSlots.push(rec.slot);
    this.#boundDone(rec.id);
    rec.gone?.();
    rec.gone = undefined;
  }

  #fromWorker(shard: Shard, m: FromWorker): void {
    switch (m.t) {
      case 'ready':
        shard.onReady();
        break;
      case 'bound': {
        // a leg that has since been told to move is listening nowhere yet
        const rec = this.#recs.get(m.id);
        if (rec === undefined || (rec.moveTo === undefined && rec.shard === shard.index))
          this.#boundDone(m.id);
        break;
      }
      case 'removed': {
        const then = this.#acks.get(m.id);
        this.#acks.delete(m.id);
        then?.();
        break;
      }
      case 'latched':
        this.#listener?.latched?.(m.id, m.socket, m.address, m.port, m.relatch);
        break;
      case 'synced': {
        const resolve = shard.syncWaiters.get(m.n);
        shard.syncWaiters.delete(m.n);
        resolve?.();
        break;
      }
      case 'secEvent': {
        // events of transforms the worker built, to the security they were built from (or its successor)
        this.#recs.get(m.id)?.lastPortable?.onEvent(m.e);
        break;
      }
      case 'bindFailed': {
        const rec = this.#recs.get(m.id);
        if (rec === undefined || (rec.moveTo === undefined && rec.shard === shard.index))
          this.#boundDone(m.id);
        this.#log.error(
          { worker: shard.index, leg: m.id, port: m.port, err: m.message },
          'udp relay worker cannot bind a stream port; it does not relay',
        );
        break;
      }
    }
  }

  #allocSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    const index = this.#chunks.length;
    const chunk = sharedBlock(this.#mode, CHUNK_SLOTS * CNT_SLOTS * 8);
    this.#chunks.push(chunk.ref);
    this.#views.push(chunk.view);
    for (const s of this.#shards) this.#post(s.index, { t: 'chunk', index, mem: chunk.ref });
    // slots of the new chunk, lowest first
    for (let i = CHUNK_SLOTS - 1; i > 0; i--) this.#freeSlots.push(index * CHUNK_SLOTS + i);
    return index * CHUNK_SLOTS;
  }

  #viewOf(slot: number): Float64Array {
    const chunk = this.#views[Math.floor(slot / CHUNK_SLOTS)]!;
    const off = (slot % CHUNK_SLOTS) * CNT_SLOTS;
    return chunk.subarray(off, off + CNT_SLOTS);
  }
}
