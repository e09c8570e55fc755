/**
 * Entry point of a relay worker, a thread or a child process (`media.workerMode`; worker-forwarder.ts
 * starts it through relay-channel.ts, which also says how the two differ). The worker owns the sockets
 * of the legs it is given: it binds them on the ports the main thread's PortManager reserved (the main
 * thread closed its own sockets on them just before), runs a LocalForwarder over them, counts into the
 * shared memory the main thread reads (leg counters, per-realm totals), and reports latching.
 *
 * Messages travel in batches (arrays, in order): all those of one turn of the sending thread.
 * Messages in (from the main thread, in order):
 *   chunk   { index, mem }                     a block of leg counter slots (SharedRef: a
 *                                              SharedArrayBuffer, or { pid, fd, bytes } of shm)
 *   add     { id, slot, bind, cfg }            bind the sockets, start the leg
 *   cfg     { id, cfg } / targets { id, media, rtcp }
 *   sec     { id, spec }                       the leg's portable security (null: none): built here
 *   remove  { id }                             stop the leg, close its sockets, answer `removed`
 *   sync    { n }                              answer `synced` { n }: everything before it is applied
 *   close   {}                                 stop everything and exit
 * Messages out: ready {} (listening), bound { id } (its sockets are bound), removed { id },
 * latched { id, socket, address, port, relatch }, bindFailed { id, port, message },
 * secEvent { id, e } (an event of the leg's security transforms), synced { n }.
 */
import type { Socket } from 'node:dgram';
import {
  CNT_SLOTS,
  LocalForwarder,
  TOTALS_LENGTH,
  type LegConfig,
  type SecurityEvent,
  type SecuritySpec,
} from './forwarder.js';
import { buildSecurity } from './worker-security.js';
import { connectToParent, mapShared, type ParentChannel, type SharedRef } from './relay-channel.js';
import { closeMediaSocket, createMediaSocket } from './sockets.js';

export interface BindSpec {
  readonly type: 'udp4' | 'udp6';
  readonly address: string;
  readonly rtp: number;
  readonly rtcp?: number | undefined;
}

export interface WorkerInit {
  /** Realm names, in the order of their totals blocks (one more block counts any other realm). */
  readonly realms: readonly string[];
  /** Float64Array of (realms.length + 1) × TOTALS_LENGTH numbers. */
  readonly totals: SharedRef;
  readonly chunkSlots: number;
}

export type ToWorker =
  | { readonly t: 'chunk'; readonly index: number; readonly mem: SharedRef }
  | {
      readonly t: 'add';
      readonly id: number;
      readonly slot: number;
      readonly bind: BindSpec;
      readonly cfg: LegConfig;
    }
  | { readonly t: 'cfg'; readonly id: number; readonly cfg: LegConfig }
  | {
      readonly t: 'targets';
      readonly id: number;
      readonly media: readonly number[];
      readonly rtcp: readonly number[];
    }
  | { readonly t: 'sec'; readonly id: number; readonly spec: SecuritySpec | null }
  | { readonly t: 'remove'; readonly id: number }
  | { readonly t: 'sync'; readonly n: number }
  | { readonly t: 'close' };

export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'bound'; readonly id: number }
  | { readonly t: 'removed'; readonly id: number }
  | {
      readonly t: 'latched';
      readonly id: number;
      readonly socket: 'rtp' | 'rtcp';
      readonly address: string;
      readonly port: number;
      readonly relatch: boolean;
    }
  | { readonly t: 'bindFailed'; readonly id: number; readonly port: number; readonly message: string }
  | { readonly t: 'secEvent'; readonly id: number; readonly e: SecurityEvent }
  | { readonly t: 'synced'; readonly n: number };

function run(init: WorkerInit, port: ParentChannel): void {
  const totals = mapShared(init.totals);
  const realmIndex = new Map(init.realms.map((r, i) => [r, i]));
  const fwd = new LocalForwarder({
    totalsOf: (realm) => {
      const i = realmIndex.get(realm) ?? init.realms.length;
      return totals.subarray(i * TOTALS_LENGTH, (i + 1) * TOTALS_LENGTH);
    },
  });
  const chunks: Float64Array[] = [];
  const sockets = new Map<number, Socket[]>();
  // the turn's messages go as one batch (one postMessage, one wake-up of the main thread)
  let outbox: FromWorker[] = [];
  const flush = (): void => {
    const batch = outbox;
    outbox = [];
    if (batch.length > 0) port.post(batch);
  };
  const post = (m: FromWorker): void => {
    if (outbox.length === 0) queueMicrotask(flush);
    outbox.push(m);
  };
  fwd.setListener({
    latched: (id, socket, address, p, relatch) =>
      post({ t: 'latched', id, socket, address, port: p, relatch }),
  });

  const closeAll = (list: readonly Socket[] | undefined): void => {
    for (const s of list ?? []) void closeMediaSocket(s);
  };
  /** Sockets still binding, per leg: `bound` goes out when the last one is. */
  const binding = new Map<number, number>();
  const bind = (id: number, type: 'udp4' | 'udp6', address: string, p: number): Socket => {
    const s = createMediaSocket(type);
    binding.set(id, (binding.get(id) ?? 0) + 1);
    const failed = (e: Error): void => {
      binding.delete(id);
      post({ t: 'bindFailed', id, port: p, message: e.message });
      fwd.removeLeg(id);
      closeAll(sockets.get(id));
      sockets.delete(id);
    };
    s.once('error', failed);
    s.bind({ port: p, address, exclusive: true }, () => {
      s.off('error', failed);
      const left = (binding.get(id) ?? 1) - 1;
      if (left > 0) {
        binding.set(id, left);
      } else if (binding.delete(id)) {
        post({ t: 'bound', id });
      }
    });
    return s;
  };

  const handle = (m: ToWorker): void => {
    switch (m.t) {
      case 'chunk':
        chunks[m.index] = mapShared(m.mem);
        break;
      case 'add': {
        const chunk = chunks[Math.floor(m.slot / init.chunkSlots)];
        if (chunk === undefined) break;
        const off = (m.slot % init.chunkSlots) * CNT_SLOTS;
        const rtp = bind(m.id, m.bind.type, m.bind.address, m.bind.rtp);
        const rtcp =
          m.bind.rtcp !== undefined ? bind(m.id, m.bind.type, m.bind.address, m.bind.rtcp) : undefined;
        sockets.set(m.id, rtcp !== undefined ? [rtp, rtcp] : [rtp]);
        // sends before the bind completes are queued by Node; receiving starts once bound
        fwd.addLeg(m.id, { rtp, rtcp, connectable: true }, m.cfg, chunk.subarray(off, off + CNT_SLOTS));
        break;
      }
      case 'cfg':
        fwd.configure(m.id, m.cfg);
        break;
      case 'targets':
        fwd.setTargets(m.id, m.media, m.rtcp);
        break;
      case 'sec': {
        const { id, spec } = m;
        fwd.setSecurity(
          id,
          spec === null
            ? undefined
            : {
                spec,
                build: (prev, env) => buildSecurity(spec, prev, env),
                onEvent: (e) => post({ t: 'secEvent', id, e }),
              },
        );
        break;
      }
      case 'sync':
        post({ t: 'synced', n: m.n });
        break;
      case 'remove':
        binding.delete(m.id);
        fwd.removeLeg(m.id);
        closeAll(sockets.get(m.id));
        sockets.delete(m.id);
        post({ t: 'removed', id: m.id });
        break;
      case 'close':
        void fwd.close();
        for (const list of sockets.values()) closeAll(list);
        sockets.clear();
        if (outbox.length > 0) flush();
        port.close();
        break;
    }
  };
  port.onMessage((batch) => {
    for (const m of batch) handle(m);
  });
  post({ t: 'ready' });
}

connectToParent(run);
