/**
 * An ephemeral termination (`ip/<n>`): its streams, realm, Events/Signals/EventBuffer/DigitMap,
 * TerminationState, statistics and heartbeat timer. It owns its streams (and through them the port
 * leases); close() is idempotent and cascades.
 *
 * Changes are two-phase so a failing command leaves nothing behind (H.248.1 §8: "the MG shall as far
 * as possible restore the state that existed prior to the attempted execution of the command"):
 * prepare() does everything that can fail (SDP choice, port allocation) without touching the live
 * state, then commit() swaps it in (cannot fail) or abort() returns what prepare() took.
 */
import type { ControllerLink } from '../control/handler.js';
import type {
  BufferControl,
  DigitMapDescriptor,
  EventSpec,
  ObservedEvent,
  PropertyParm,
  ServiceState,
} from '../control/codec/model.js';
import type { SdpGroup } from '../control/codec/sdp.js';
import type { PackageRegistry } from '../control/packages/registry.js';
import type { PackageValue } from '../control/packages/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import type { Context } from './context.js';
import { mgError, shown } from './errors.js';
import { applyLocal, applyRemote, cloneGroups, releaseAll, type MediaPort, type RealmPorts } from './media.js';
import { Owned, type Closable } from './resource.js';
import { DEFAULT_MODE, Stream } from './stream.js';
import type { StreamPreparation } from './media-plane.js';
import {
  h248Timestamp,
  type Clock,
  type StoredEvent,
  type StoredEvents,
  type StoredProperty,
  type StoredSignals,
  type StreamUpdate,
  type TerminationUpdate,
} from './types.js';

/** What a termination needs from its gateway. */
export interface TerminationHost {
  readonly registry: PackageRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  /** Heartbeat period when `hangterm/thb` comes without `timerx` (0: none). */
  readonly heartbeatDefaultS: number;
  realm(name: string): RealmPorts | undefined;
  link(): ControllerLink | undefined;
  /** Port leases changed in this realm (gauges). */
  portsChanged(realm: string): void;
  /** Media planes fill their `$` values and check what they need (media-plane.ts); may throw. */
  prepareStream(prep: StreamPreparation): Promise<void>;
}

/** Generalcause values of `g/cause` (H.248.1 E.1). */
export type GeneralCause = 'NR' | 'UR' | 'FT' | 'FP' | 'IW' | 'UN';

export const HEARTBEAT_EVENT = 'hangterm/thb';
export const CAUSE_EVENT = 'g/cause';

/** A change prepared by Termination.prepare(): commit() or abort(), exactly once. */
export interface PreparedChange {
  /** Stream id → the Local the gateway answers (streams whose Local was set or re-allocated). */
  readonly localReplies: ReadonlyMap<number, SdpGroup[]>;
  commit(): void;
  abort(): Promise<void>;
}

interface StreamPlan {
  readonly id: number;
  readonly update: StreamUpdate | undefined;
  local?: SdpGroup[];
  template?: SdpGroup[];
  ports?: MediaPort[];
  remote?: SdpGroup[];
}

export class Termination implements Closable {
  readonly id: string;
  readonly createdAt: number;
  /** When it entered its current context (nt/dur counts from here; reset by Move). */
  joinedAt: number;
  /** Set by the gateway while the termination is in a context. */
  context: Context | undefined;
  realm: string;
  readonly streams = new Map<number, Stream>();
  serviceState: ServiceState = 'inService';
  bufferControl: BufferControl = 'off';
  /** TerminationState package properties (merged by name). */
  stateProperties: readonly StoredProperty[] = [];
  events: StoredEvents | undefined;
  signals: StoredSignals | undefined;
  eventBuffer: readonly EventSpec[] | undefined;
  digitMap: DigitMapDescriptor | undefined;
  log: Logger;
  readonly #host: TerminationHost;
  readonly #owned = new Owned();
  #heartbeat: unknown;
  #released: Promise<void> = Promise.resolve();

  constructor(id: string, realm: string, host: TerminationHost) {
    this.id = id;
    this.realm = realm;
    this.#host = host;
    this.createdAt = host.clock.now();
    this.joinedAt = this.createdAt;
    this.log = host.log.child({ term: id });
    // the heartbeat timer is owned like any other resource: cleared on close
    this.#owned.own({ close: () => this.#stopHeartbeat() });
  }

  get closed(): boolean {
    return this.#owned.closed;
  }

  /** Resolves when every port of this termination is back in its PortManager (after close()). */
  get released(): Promise<void> {
    return this.#released;
  }

  /** Every port lease the termination holds, all streams. */
  get ports(): MediaPort[] {
    const out: MediaPort[] = [];
    for (const s of this.streams.values()) out.push(...s.ports);
    return out;
  }

  /** Sets the context (and the log tags); nt/dur restarts when the context changes. */
  joined(context: Context): void {
    if (this.context !== context) this.joinedAt = this.#host.clock.now();
    this.context = context;
    this.log = this.#host.log.child({ ctx: context.id, term: this.id });
  }

  // ---- changes -----------------------------------------------------------------------------

  /**
   * Prepares an Add/Modify/Move change: chooses SDP alternatives and allocates ports, without
   * touching the live state. Throws a coded error (and leaves nothing allocated) when it cannot.
   */
  async prepare(update: TerminationUpdate): Promise<PreparedChange> {
    if (this.closed) throw mgError('ERR_MG_UNKNOWN_TERMINATION', `termination ${this.id} is gone`);
    const realmName = update.realm ?? this.realm;
    const realm = this.#host.realm(realmName);
    if (realm === undefined) {
      throw mgError('ERR_PKG_BAD_VALUE', `unknown realm ${shown(realmName)} for ipdc/realm`, { value: realmName });
    }
    const realmChanged = realmName.toLowerCase() !== this.realm.toLowerCase();
    const plans: StreamPlan[] = [];
    const fresh: MediaPort[] = [];
    const localReplies = new Map<number, SdpGroup[]>();
    const named = new Set<number>();
    try {
      for (const su of update.streams ?? []) {
        named.add(su.id);
        plans.push(await this.#planStream(su.id, su, realm, realmChanged, fresh, localReplies));
      }
      if (realmChanged) {
        // streams not named in this command still move their ports to the new realm
        for (const s of this.streams.values()) {
          if (!named.has(s.id) && s.ports.length > 0) {
            plans.push(await this.#planStream(s.id, undefined, realm, true, fresh, localReplies));
          }
        }
      }
    } catch (e) {
      await releaseAll(fresh);
      this.#host.portsChanged(realm.name);
      throw e;
    }
    if (fresh.length > 0) this.#host.portsChanged(realm.name);
    if (this.closed) {
      // closed while ports were being bound (gateway shutdown): nothing to commit to
      await releaseAll(fresh);
      this.#host.portsChanged(realm.name);
      throw mgError('ERR_MG_UNKNOWN_TERMINATION', `termination ${this.id} is gone`);
    }
    let done = false;
    return {
      localReplies,
      commit: () => {
        if (done) return;
        done = true;
        this.#commit(update, realmName, plans);
      },
      abort: async () => {
        if (done) return;
        done = true;
        await releaseAll(fresh);
        this.#host.portsChanged(realm.name);
      },
    };
  }

  async #planStream(
    id: number,
    su: StreamUpdate | undefined,
    realm: RealmPorts,
    realmChanged: boolean,
    fresh: MediaPort[],
    localReplies: Map<number, SdpGroup[]>,
  ): Promise<StreamPlan> {
    const s = this.streams.get(id);
    const plan: StreamPlan = { id, update: su };
    const reserveGroup = su?.localControl !== undefined ? su.localControl.reserveGroup === true : (s?.reserveGroup ?? false);
    const current = realmChanged ? [] : (s?.ports ?? []);
    if (su?.local !== undefined) {
      if (su.local.length === 0) {
        // an empty Local releases the receive resources (H.248.1 §7.1.8 b)
        plan.local = [];
        plan.template = [];
        plan.ports = [];
      } else {
        plan.template = cloneGroups(su.local);
        const r = await applyLocal(su.local, { realm, current, reserveGroup });
        fresh.push(...r.fresh);
        plan.local = r.groups;
        plan.ports = r.ports;
      }
      localReplies.set(id, plan.local);
    } else if (realmChanged && s?.localTemplate !== undefined && s.localTemplate.length > 0) {
      const r = await applyLocal(cloneGroups(s.localTemplate), { realm, current: [], reserveGroup });
      fresh.push(...r.fresh);
      plan.local = r.groups;
      plan.ports = r.ports;
      localReplies.set(id, plan.local);
    }
    if (su?.remote !== undefined) plan.remote = su.remote.length === 0 ? [] : applyRemote(su.remote, reserveGroup);
    const local = plan.local ?? s?.local;
    const remote = plan.remote ?? s?.remote;
    await this.#host.prepareStream({
      termination: this,
      streamId: id,
      current: s,
      transport: (local?.[0] ?? remote?.[0])?.media[0]?.transport,
      local: plan.local,
      remote: plan.remote,
      properties: su?.localControl !== undefined ? (su.localControl.properties ?? []) : (s?.properties ?? []),
    });
    return plan;
  }

  #commit(update: TerminationUpdate, realmName: string, plans: readonly StreamPlan[]): void {
    const oldRealm = this.realm;
    for (const plan of plans) {
      let s = this.streams.get(plan.id);
      if (s === undefined) {
        s = this.#owned.own(new Stream(plan.id));
        this.streams.set(plan.id, s);
      }
      const lc = plan.update?.localControl;
      if (lc !== undefined) {
        // a new LocalControl replaces the previous one as a whole (H.248.1 §7.1.7)
        s.mode = lc.mode ?? DEFAULT_MODE;
        s.reserveValue = lc.reserveValue ?? false;
        s.reserveGroup = lc.reserveGroup ?? false;
        s.properties = lc.properties;
      }
      if (plan.local !== undefined) {
        s.local = plan.local;
        if (plan.template !== undefined) s.localTemplate = plan.template;
      }
      if (plan.ports !== undefined) s.setPorts(plan.ports);
      if (plan.remote !== undefined) s.remote = plan.remote;
      this.#track(s.released);
    }
    this.realm = realmName;
    const ts = update.terminationState;
    if (ts !== undefined) {
      if (ts.serviceState !== undefined) this.serviceState = ts.serviceState;
      if (ts.bufferControl !== undefined) this.bufferControl = ts.bufferControl;
      if (ts.properties !== undefined) this.stateProperties = mergeProperties(this.stateProperties, ts.properties);
    }
    if (update.events !== undefined) {
      this.events = update.events ?? undefined;
      this.#armHeartbeat();
    }
    if (update.signals !== undefined) this.signals = update.signals.parms.length > 0 ? update.signals : undefined;
    if (update.eventBuffer !== undefined) this.eventBuffer = update.eventBuffer;
    if (update.digitMap !== undefined) this.digitMap = update.digitMap;
    // gauges once the ports given up are really back in their PortManagers
    this.#host.portsChanged(realmName);
    void this.#released.then(() => {
      this.#host.portsChanged(realmName);
      if (oldRealm !== realmName) this.#host.portsChanged(oldRealm);
    });
  }

  // ---- events ------------------------------------------------------------------------------

  /** The requested event with this canonical name, if the Events descriptor has it. */
  requested(name: string): StoredEvent | undefined {
    const lower = name.toLowerCase();
    return this.events?.events.find((e) => e.name.toLowerCase() === lower);
  }

  /**
   * An event happened on this termination (bearer, TLS, NAT parts call this): when the Events
   * descriptor asks for it, a Notify goes to the controller with the RequestID, the controller's
   * spelling of the event and the observed parameters. Returns whether a Notify was sent. Events
   * seen while no controller is registered are dropped (the association re-syncs by audit).
   */
  raise(name: string, observed: Readonly<Record<string, PackageValue | undefined>> = {}, stream?: number): boolean {
    if (this.closed) return false;
    const ev = this.requested(name);
    const events = this.events;
    if (ev === undefined || events === undefined) return false;
    const link = this.#host.link();
    if (link === undefined || !link.registered) return false;
    let params: PropertyParm[] | undefined;
    try {
      const texts = this.#host.registry.formatObserved(ev.name, observed);
      if (texts.length > 0) {
        params = texts.map((t) =>
          typeof t.value === 'string'
            ? { name: t.name, relation: '=' as const, value: t.value }
            : { name: t.name, relation: '=' as const, alternatives: [...t.value] },
        );
      }
    } catch (e) {
      this.log.warn({ event: ev.name, err: errorMessage(e) }, 'observed event parameters not reportable');
      return false;
    }
    const oe: ObservedEvent = { name: ev.requested.name, timestamp: h248Timestamp(this.#host.clock.now()) };
    if (stream !== undefined) oe.stream = stream;
    if (params !== undefined) oe.params = params;
    const contextId = this.context?.id ?? '-';
    link.notify({ contextId, terminationId: this.id, requestId: events.requestId, events: [oe] }).catch((e: unknown) => {
      this.log.warn({ event: ev.name, err: errorMessage(e) }, 'notify not answered');
    });
    return true;
  }

  /** Hook for the bearer parts: a bearer of this termination was released (`g/cause`). */
  bearerReleased(cause: GeneralCause, text?: string): boolean {
    return this.raise(CAUSE_EVENT, { Generalcause: cause, Failurecause: text });
  }

  /** Heartbeat period in ms now armed (0: none); for tests and audits. */
  get heartbeatMs(): number {
    const ev = this.requested(HEARTBEAT_EVENT);
    if (ev === undefined) return 0;
    const s = typeof ev.params.timerx === 'number' ? ev.params.timerx : this.#host.heartbeatDefaultS;
    return s > 0 ? s * 1000 : 0;
  }

  #armHeartbeat(): void {
    this.#stopHeartbeat();
    const ms = this.heartbeatMs;
    if (ms <= 0) return;
    // hangterm/thb (H.248.36): a Notify every timerx while the termination lives
    this.#heartbeat = this.#host.clock.setInterval(() => {
      this.raise(HEARTBEAT_EVENT);
    }, ms);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) {
      this.#host.clock.clearInterval(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  // ---- teardown ----------------------------------------------------------------------------

  /** Closes streams (ports released) and timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.#owned.close();
    for (const s of this.streams.values()) this.#track(s.released);
    const realm = this.realm;
    void this.#released.then(() => this.#host.portsChanged(realm));
  }

  #track(p: Promise<void>): void {
    const prev = this.#released;
    this.#released = Promise.all([prev, p]).then(() => undefined);
  }
}

/** Properties merged by canonical name: later ones replace earlier ones. */
export function mergeProperties(
  current: readonly StoredProperty[],
  next: readonly StoredProperty[],
): readonly StoredProperty[] {
  const out = [...current];
  for (const p of next) {
    const i = out.findIndex((q) => q.name.toLowerCase() === p.name.toLowerCase());
    if (i >= 0) out[i] = p;
    else out.push(p);
  }
  return out;
}
