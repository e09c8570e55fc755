/**
 * MediaGateway: the root of the gateway model. It owns the contexts (and through them terminations,
 * streams and port leases), one PortManager per realm, the ROOT termination, id allocation, limits,
 * and reports lifecycle events and gauges. The command layer (daemon/control/commands/) drives it.
 *
 * Limits: `maxContexts` reached → 510 (the context could exist, the gateway lacks the resources;
 * 412 is kept for the id space itself running out, which cannot happen below 2^32 - 3 contexts);
 * `maxTerminationsPerContext` → 434.
 */
import type { TrgwdConfig } from '../../config/schema.js';
import { PortManager } from '../bearer/ports.js';
import type { SdpLimits, SdpTransport } from '../control/codec/sdp.js';
import type { ControllerLink, RootEventsListener } from '../control/handler.js';
import { PackageRegistry } from '../control/packages/registry.js';
import type { PackageValue } from '../control/packages/types.js';
import { formatValue } from '../control/packages/values.js';
import type { Part } from '../lifecycle.js';
import type { EventBus } from '../observe/events.js';
import { silentLogger, type Logger } from '../observe/log.js';
import type { Metrics } from '../observe/metrics.js';
import { Context } from './context.js';
import { mgError } from './errors.js';
import { ContextIdAllocator, TerminationNamer, isRoot } from './ids.js';
import type { RealmPorts } from './media.js';
import { RootTermination } from './root.js';
import { Termination, type TerminationHost } from './termination.js';
import type { MediaPlane, StreamPreparation } from './media-plane.js';
import { systemClock, type Clock, type StoredProperty } from './types.js';

export interface RealmOptions {
  readonly address: string;
  readonly ports: readonly [number, number];
  /** Address written into SDP instead of `address` (NAT, container host). */
  readonly advertise?: string | undefined;
}

export interface MediaGatewayOptions {
  /** `media.realms`: name → interface and port range. */
  readonly realms: Readonly<Record<string, RealmOptions>>;
  /** `media.defaultRealm`: used when neither LocalControl nor TerminationState names one. */
  readonly defaultRealm: string;
  /** `limits.maxContexts`. */
  readonly maxContexts: number;
  /** `limits.maxTerminationsPerContext`. */
  readonly maxTerminationsPerContext: number;
  /** Package registry; default: every package of the catalog with `aliases`. */
  readonly registry?: PackageRegistry;
  /** `h248.aliases` (used when no registry is given). */
  readonly aliases?: Readonly<Record<string, string>>;
  readonly events?: EventBus;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  /** How Notify reaches the controller; may also be set later with setLink(). */
  readonly link?: ControllerLink;
  readonly clock?: Clock;
  /** Heartbeat period (s) for `hangterm/thb` without `timerx`; 0 (default): none. */
  readonly heartbeatDefaultS?: number;
  /** Extra ROOT property values by canonical name (e.g. root/MGProvisionalResponseTimerValue). */
  readonly rootProperties?: Readonly<Record<string, PackageValue>>;
  /** SDP limits for Local/Remote (from h248.limits). */
  readonly sdpLimits?: Partial<SdpLimits>;
  /** What moves the bytes, per transport (media-plane.ts); may also be added later with addMediaPlane(). */
  readonly media?: readonly MediaPlane[];
}

interface Realm extends RealmPorts {
  readonly options: RealmOptions;
}

export class MediaGateway implements Part {
  readonly name = 'mg';
  readonly registry: PackageRegistry;
  readonly root: RootTermination;
  readonly defaultRealm: string;
  readonly maxContexts: number;
  readonly maxTerminationsPerContext: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly sdpLimits: Partial<SdpLimits> | undefined;
  readonly #realms = new Map<string, Realm>();
  readonly #contexts = new Map<number, Context>();
  /** Contexts announced on the event bus (they got a first termination). */
  readonly #announced = new WeakSet<Context>();
  #announcedCount = 0;
  /** Lower-cased id → termination, every live termination. */
  readonly #terminations = new Map<string, Termination>();
  readonly #contextIds = new ContextIdAllocator();
  readonly #namer = new TerminationNamer('ip/');
  readonly #events: EventBus | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #host: TerminationHost;
  readonly #planes: MediaPlane[] = [];
  #link: ControllerLink | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MediaGatewayOptions) {
    this.log = options.log ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.registry = options.registry ?? new PackageRegistry({ aliases: options.aliases ?? {} });
    this.maxContexts = options.maxContexts;
    this.maxTerminationsPerContext = options.maxTerminationsPerContext;
    this.sdpLimits = options.sdpLimits;
    this.#events = options.events;
    this.#metrics = options.metrics;
    this.#link = options.link;
    this.#planes.push(...(options.media ?? []));
    for (const [name, r] of Object.entries(options.realms)) {
      const ports = new PortManager({ name, address: r.address, ports: r.ports });
      const realm: Realm = {
        name,
        options: r,
        sdpAddress: r.advertise !== undefined && r.advertise !== '' ? r.advertise : r.address,
        ports,
        onExhausted: () => this.#metrics?.portAllocationFailures.inc({ realm: name }),
      };
      this.#realms.set(name.toLowerCase(), realm);
      this.#metrics?.portsInUse.set({ realm: name }, 0);
    }
    const def = this.#realms.get(options.defaultRealm.toLowerCase());
    if (def === undefined) {
      throw mgError('ERR_INTERNAL', `media.defaultRealm "${options.defaultRealm}" is not one of media.realms`);
    }
    this.defaultRealm = def.name;
    const rootValues: Record<string, PackageValue> = {
      'root/maxNumberOfContexts': this.maxContexts,
      'root/maxTerminationsPerContext': this.maxTerminationsPerContext,
      ...options.rootProperties,
    };
    this.root = new RootTermination(
      Object.entries(rootValues).map(([n, v]) => this.#storedProperty(n, v)),
      this.log.child({ term: 'ROOT' }),
    );
    const heartbeatDefaultS = options.heartbeatDefaultS ?? 0;
    this.#host = {
      registry: this.registry,
      clock: this.clock,
      log: this.log,
      heartbeatDefaultS,
      realm: (n) => this.realm(n),
      link: () => this.#link,
      portsChanged: (n) => this.#portsChanged(n),
      prepareStream: (prep) => this.#prepareStream(prep),
    };
    this.#gauges();
  }

  /** Builds the model from the configuration (the composition root calls this). */
  static fromConfig(
    config: TrgwdConfig,
    deps: { log?: Logger; metrics?: Metrics; events?: EventBus; link?: ControllerLink; clock?: Clock } = {},
  ): MediaGateway {
    const realms: Record<string, RealmOptions> = {};
    for (const [name, r] of Object.entries(config.media.realms)) {
      realms[name] = { address: r.address, ports: [r.ports[0], r.ports[1]], advertise: r.advertise };
    }
    return new MediaGateway({
      realms,
      defaultRealm: config.media.defaultRealm,
      maxContexts: config.limits.maxContexts,
      maxTerminationsPerContext: config.limits.maxTerminationsPerContext,
      aliases: config.h248.aliases,
      heartbeatDefaultS: config.control.timers.heartbeatDefaultS,
      rootProperties: { 'root/MGProvisionalResponseTimerValue': config.control.timers.provisionalResponseMs },
      sdpLimits: { maxLines: config.h248.limits.maxSdpLines, maxLineLength: config.h248.limits.maxStringLength },
      ...(deps.log !== undefined ? { log: deps.log.child({ part: 'mg' }) } : {}),
      ...(deps.metrics !== undefined ? { metrics: deps.metrics } : {}),
      ...(deps.events !== undefined ? { events: deps.events } : {}),
      ...(deps.link !== undefined ? { link: deps.link } : {}),
      ...(deps.clock !== undefined ? { clock: deps.clock } : {}),
    });
  }

  // ---- Part --------------------------------------------------------------------------------

  /** Nothing to bind up front: ports are bound per call. */
  async start(): Promise<void> {}

  /** Deletes every context (ports released), then closes the PortManagers. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pending: Promise<void>[] = [];
      for (const ctx of [...this.#contexts.values()]) pending.push(this.deleteContext(ctx));
      await Promise.all(pending);
      await Promise.all(this.#planes.map((p) => p.close?.()));
      await Promise.all([...this.#realms.values()].map((r) => r.ports.close()));
      for (const r of this.#realms.values()) this.#portsChanged(r.name);
    })();
    return this.#closing;
  }

  get closing(): boolean {
    return this.#closing !== undefined;
  }

  // ---- wiring ------------------------------------------------------------------------------

  /** Adds a media plane (the composition root does this before start). */
  addMediaPlane(plane: MediaPlane): void {
    this.#planes.push(plane);
  }

  /** The plane serving a transport, if any. */
  planeFor(transport: SdpTransport): MediaPlane | undefined {
    return this.#planes.find((p) => p.serves(transport));
  }

  /**
   * The commands of an action changed this context (terminations, streams, modes, topology): each
   * media plane reconciles its flows. Planes never throw here; a broken one must not stop the others.
   */
  mediaChanged(ctx: Context): void {
    if (ctx.deleted) return;
    for (const p of this.#planes) {
      try {
        p.contextChanged(ctx);
      } catch (e) {
        this.log.error({ ctx: ctx.id, plane: p.name, err: e instanceof Error ? e.message : String(e) }, 'media plane failed to apply a change');
      }
    }
  }

  /**
   * Resolves when every media plane's changes so far are in effect (MediaPlane.settled): the command
   * layer awaits it after mediaChanged() and before replying, so the ports it names are held.
   */
  async mediaSettled(): Promise<void> {
    await Promise.all(this.#planes.map((p) => p.settled?.()));
  }

  async #prepareStream(prep: StreamPreparation): Promise<void> {
    if (prep.transport === undefined) return;
    const plane = this.planeFor(prep.transport);
    await plane?.prepareStream?.(prep);
  }

  /** Sets (or clears) the link Notify goes through. */
  setLink(link: ControllerLink | undefined): void {
    this.#link = link;
  }

  get link(): ControllerLink | undefined {
    return this.#link;
  }

  /** ROOT's Events descriptor changes (it/ito): the association arms its inactivity watch. */
  onRootEvents(listener: RootEventsListener): () => void {
    return this.root.onEvents(listener);
  }

  // ---- lookups -----------------------------------------------------------------------------

  realm(name: string): RealmPorts | undefined {
    return this.#realms.get(name.toLowerCase());
  }

  realmNames(): string[] {
    return [...this.#realms.values()].map((r) => r.name);
  }

  /** The PortManager of a realm (tests, diagnostics). */
  ports(realm: string): PortManager | undefined {
    return this.#realms.get(realm.toLowerCase())?.ports;
  }

  context(id: number): Context | undefined {
    return this.#contexts.get(id);
  }

  contexts(): Context[] {
    return [...this.#contexts.values()];
  }

  get contextCount(): number {
    return this.#contexts.size;
  }

  get terminationCount(): number {
    return this.#terminations.size;
  }

  termination(id: string): Termination | undefined {
    return this.#terminations.get(id.toLowerCase());
  }

  terminations(): Termination[] {
    return [...this.#terminations.values()];
  }

  /** Termination ids handed out so far (ids are never reused). */
  get terminationsIssued(): number {
    return this.#namer.issued;
  }

  // ---- changes -----------------------------------------------------------------------------

  /** A new, empty context with an id chosen by the gateway (`Context = $`). */
  createContext(): Context {
    if (this.#closing !== undefined) throw mgError('ERR_RESOURCE_LIMIT', 'the gateway is shutting down');
    if (this.#contexts.size >= this.maxContexts) {
      throw mgError('ERR_RESOURCE_LIMIT', `context limit reached (limits.maxContexts = ${this.maxContexts})`);
    }
    const id = this.#contextIds.allocate((n) => this.#contexts.has(n), this.#contexts.size);
    if (id === undefined) throw mgError('ERR_MG_NO_CONTEXT_IDS', 'No ContextIDs available');
    const ctx = new Context(id, this.clock.now());
    this.#contexts.set(id, ctx);
    this.#gauges();
    return ctx;
  }

  /** A new ephemeral termination (not yet in a context). */
  newTermination(realm?: string): Termination {
    return new Termination(this.#namer.next(), realm ?? this.defaultRealm, this.#host);
  }

  /** Checks that `ctx` can take one more termination (434). */
  checkRoom(ctx: Context): void {
    if (ctx.size >= this.maxTerminationsPerContext) {
      throw mgError(
        'ERR_MG_TOO_MANY_TERMINATIONS',
        `context ${ctx.id} already has ${ctx.size} terminations (limits.maxTerminationsPerContext = ${this.maxTerminationsPerContext})`,
      );
    }
  }

  /** Puts a new termination into a context (after its change was committed). */
  attach(t: Termination, ctx: Context): void {
    if (isRoot(t.id)) throw mgError('ERR_MG_NOT_ALLOWED', 'ROOT cannot be added to a context');
    // closed meanwhile (shutdown while ports were being bound): the caller closes the termination
    if (this.#closing !== undefined) throw mgError('ERR_RESOURCE_LIMIT', 'the gateway is shutting down');
    if (ctx.deleted) throw mgError('ERR_MG_UNKNOWN_CONTEXT', `context ${ctx.id} no longer exists`);
    this.checkRoom(ctx);
    ctx.terminations.set(t.id.toLowerCase(), t);
    this.#terminations.set(t.id.toLowerCase(), t);
    t.joined(ctx);
    this.#announce(ctx);
    this.#events?.publish({ type: 'termination.created', context: ctx.id, termination: t.id, realm: t.realm });
    t.log.info({ realm: t.realm }, 'termination created');
    this.#gauges();
  }

  /** Moves a termination to another context (Move); the source is deleted when it empties. */
  move(t: Termination, target: Context): void {
    const source = t.context;
    if (source === target) return;
    if (target.deleted) throw mgError('ERR_MG_UNKNOWN_CONTEXT', `context ${target.id} no longer exists`);
    this.checkRoom(target);
    if (source !== undefined) {
      source.terminations.delete(t.id.toLowerCase());
      source.forget(t.id);
    }
    target.terminations.set(t.id.toLowerCase(), t);
    t.joined(target);
    this.#announce(target);
    t.log.info({ from: source?.id }, 'termination moved');
    if (source !== undefined && source.size === 0) this.#forgetContext(source);
    this.#gauges();
  }

  /**
   * Removes a termination from its context and closes it (Subtract); the context is deleted when it
   * empties. Resolves when its ports are back in their PortManagers.
   */
  subtract(t: Termination): Promise<void> {
    const ctx = t.context;
    if (ctx !== undefined) {
      ctx.terminations.delete(t.id.toLowerCase());
      ctx.forget(t.id);
    }
    this.#terminations.delete(t.id.toLowerCase());
    t.close();
    if (ctx !== undefined) {
      this.#events?.publish({ type: 'termination.deleted', context: ctx.id, termination: t.id });
      t.log.info('termination deleted');
      if (ctx.size === 0) this.#forgetContext(ctx);
    }
    this.#gauges();
    return t.released;
  }

  /** Subtracts every termination of a context; the context goes with the last one. */
  async deleteContext(ctx: Context): Promise<void> {
    const pending = [...ctx.terminations.values()].map((t) => this.subtract(t));
    if (ctx.size === 0 && !ctx.deleted) this.#forgetContext(ctx);
    await Promise.all(pending);
  }

  /** Deletes a context created for `$` that never got a termination (the command failed). */
  discardIfEmpty(ctx: Context): void {
    if (ctx.size === 0 && !ctx.deleted) this.#forgetContext(ctx);
  }

  // ---- internals ---------------------------------------------------------------------------

  #announce(ctx: Context): void {
    if (this.#announced.has(ctx)) return;
    this.#announced.add(ctx);
    this.#announcedCount++;
    this.#events?.publish({ type: 'context.created', context: ctx.id });
    this.log.info({ ctx: ctx.id }, 'context created');
  }

  #forgetContext(ctx: Context): void {
    if (ctx.deleted) return;
    ctx.markDeleted();
    for (const p of this.#planes) {
      try {
        p.contextDeleted?.(ctx);
      } catch (e) {
        this.log.error({ ctx: ctx.id, plane: p.name, err: e instanceof Error ? e.message : String(e) }, 'media plane failed to drop a context');
      }
    }
    this.#contexts.delete(ctx.id);
    if (this.#announced.has(ctx)) {
      this.#announcedCount--;
      this.#events?.publish({ type: 'context.deleted', context: ctx.id });
      this.log.info({ ctx: ctx.id }, 'context deleted');
    }
    this.#gauges();
  }

  #gauges(): void {
    const m = this.#metrics;
    if (m === undefined) return;
    m.contexts.set(this.#announcedCount);
    m.terminations.set(this.#terminations.size);
  }

  #portsChanged(name: string): void {
    const r = this.#realms.get(name.toLowerCase());
    if (r === undefined || this.#metrics === undefined) return;
    this.#metrics.portsInUse.set({ realm: r.name }, r.ports.counters.udpPortsInUse + r.ports.counters.tcpPortsInUse);
  }

  #storedProperty(name: string, value: PackageValue): StoredProperty {
    const r = this.registry.property(name, 'ROOT');
    const text = formatValue(r.def.type, value);
    return {
      name: r.name,
      value,
      parm: typeof text === 'string' ? { name: r.name, relation: '=', value: text } : { name: r.name, relation: '=', alternatives: text },
    };
  }
}
