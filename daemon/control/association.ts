/**
 * The control association with the controller (H.248.1 §11): registration, version negotiation,
 * failover, handoff, inactivity supervision, graceful shutdown. It is also the engine's executor
 * (505 before registration, 406, ServiceChange on ROOT from the controller) and the gateway
 * model's ControllerLink (Notify, ServiceChange towards the controller).
 *
 * Registration (§11.2, §9.2): after a random wait in [0, restartDelayMaxMs],
 * `ServiceChange = ROOT { Services { Method = Restart, Reason = "901 Cold Boot", Version, Profile } }`
 * in Context `-` to the first controller; an unanswered (T-MAX), refused or unacceptable attempt
 * moves down the list, round and round, with back-off capped at registrationRetryMaxMs and a fresh
 * random wait after every full round. `MgcIdToTry` in the reply redirects (at most maxRedirects in
 * a row). Controller loss (T-MAX on any request of ours, or the inactivity timer): §11.5, Failover /
 * 909 to the next controller starting at the primary unless the primary failed, Disconnected / 900
 * when coming back to the lost one.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TrgwdError, errorMessage, isTrgwdError } from '../errors.js';
import type { EventBus, GatewayEvent } from '../observe/events.js';
import type { Logger } from '../observe/log.js';
import type { Metrics } from '../observe/metrics.js';
import type {
  ActionReply,
  ActionRequest,
  CommandRequest,
  MId,
  RequestedEvent,
  ServiceChangeMethod,
  ServiceChangeParms,
  ServiceChangeRequest,
  TransactionReply,
  TransactionRequest,
} from './codec/model.js';
import type {
  ControllerLink,
  NotifyRequestOut,
  RequestContext,
  RootEventsListener,
  ServiceChangeOut,
  TransactionHandler,
} from './handler.js';
import type { ControllerEndpoint, IncomingRequestInfo } from './transaction/engine.js';
import { formatEndpoint, normalizeAddress } from './transport/types.js';

/** What the association needs of the transaction engine. */
export interface AssociationEngine {
  version: number;
  request(dest: ControllerEndpoint, actions: ActionRequest[], opts?: { version?: number }): Promise<TransactionReply>;
}

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
}

export interface AssociationTimers {
  /** MWD of H.248.1 §9.2: random wait before registering, and after each unsuccessful round. */
  readonly restartDelayMaxMs: number;
  /** First back-off between registration attempts (doubles per attempt). */
  readonly initialRetransmitMs: number;
  /** Cap of that back-off. */
  readonly registrationRetryMaxMs: number;
  /** Delay announced in the ServiceChange Graceful on shutdown, seconds (0: no Delay). */
  readonly gracefulDelayS: number;
  /** How long close() waits for the controller's answer to that ServiceChange. */
  readonly gracefulReplyWaitMs: number;
}

export interface AssociationOptions {
  readonly controllers: readonly ControllerEndpoint[];
  /** mg.version: the highest version we offer (1..3). */
  readonly version: number;
  readonly profile: { readonly name: string; readonly version: number };
  readonly timers: AssociationTimers;
  /** MgcIdToTry redirections followed in a row before the attempt counts as failed. */
  readonly maxRedirects: number;
  readonly engine: AssociationEngine;
  readonly handler: TransactionHandler;
  readonly events?: EventBus;
  readonly metrics?: Metrics;
  readonly log: Logger;
  readonly onReadiness?: (r: Readiness) => void;
  /** A controller address we may talk to beyond the configured ones (MgcIdToTry, HandOff). */
  readonly allowAddress?: (address: string) => void;
  /** [0, 1) random source (tests). */
  readonly random?: () => number;
  /** Name resolution of a domain-name MgcIdToTry (tests). */
  readonly resolveName?: (name: string) => Promise<string>;
}

type State = 'idle' | 'registering' | 'registered' | 'closing' | 'closed';

/** A controller to try, and how to announce ourselves to it. */
interface Attempt {
  readonly target: ControllerEndpoint;
  readonly method: ServiceChangeMethod;
  readonly reason: string;
}

/** What starts a registration run. */
type Plan =
  | { readonly kind: 'restart' }
  /** Our controller stopped answering (§11.5). */
  | { readonly kind: 'failover'; readonly lost: ControllerEndpoint }
  /** The controller handed us off to `target` (§11.5). */
  | { readonly kind: 'handoff'; readonly target: ControllerEndpoint; readonly from: ControllerEndpoint }
  /** The controller sent Restart/Forced/Graceful on ROOT: register with it again. */
  | { readonly kind: 'reregister'; readonly target: ControllerEndpoint };

type AttemptResult =
  | { readonly kind: 'accepted'; readonly target: ControllerEndpoint; readonly version: number }
  | { readonly kind: 'failed'; readonly why: string }
  | { readonly kind: 'cancelled' };

const IT_ITO = 'it/ito';
const DEFAULT_H248_PORT = 2944;

export class Association implements ControllerLink {
  readonly #o: AssociationOptions;
  readonly #log: Logger;
  readonly #random: () => number;
  #state: State = 'idle';
  #current: ControllerEndpoint | undefined;
  #version: number;
  /** Bumped to stop a registration run (a newer one starts, or close). */
  #generation = 0;
  readonly #sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  /** it/ito on ROOT (H.248.14): requestId and mit (ms) while armed. */
  #ito: { requestId: number; mitMs: number; timer: NodeJS.Timeout | undefined; notifying: boolean } | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: AssociationOptions) {
    if (opts.controllers.length === 0) throw new TrgwdError('ERR_CONFIG', 'control.controllers is empty');
    this.#o = opts;
    this.#log = opts.log;
    this.#random = opts.random ?? Math.random;
    this.#version = opts.version;
  }

  /** ControllerLink: true while a controller has accepted our ServiceChange. */
  get registered(): boolean {
    return this.#state === 'registered';
  }

  /** The controller we are registered with (or last tried to be). */
  get controller(): ControllerEndpoint | undefined {
    return this.#current;
  }

  /** The protocol version of the association (negotiated at registration). */
  get version(): number {
    return this.#version;
  }

  get state(): State {
    return this.#state;
  }

  /** Starts registering (in the background). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'registering';
    this.#readiness(false, 'registering with a controller');
    this.#startRun({ kind: 'restart' }, true);
  }

  // -------------------------------------------------------------------------------------------
  // Registration

  /** Starts a registration run in the background; a failure of ours there is logged, never thrown. */
  #startRun(plan: Plan, initialWait: boolean): void {
    this.#run(plan, initialWait).catch((e: unknown) => {
      this.#log.error({ err: errorMessage(e), plan: plan.kind }, 'registration run failed');
    });
  }

  /** One registration run: tries controllers until one accepts, unless a newer run or close stops it. */
  async #run(plan: Plan, initialWait: boolean): Promise<void> {
    const gen = ++this.#generation;
    const live = (): boolean => gen === this.#generation && this.#state !== 'closing' && this.#state !== 'closed';
    const t = this.#o.timers;
    // §9.2: avoid restart avalanches with a random wait before the first attempt.
    if (initialWait && t.restartDelayMaxMs > 0) await this.#sleep(this.#random() * t.restartDelayMaxMs);
    let backoff = t.initialRetransmitMs;
    let first = true;
    for (let round = 0; live(); round++) {
      if (round > 0 && t.restartDelayMaxMs > 0) {
        // §11.2/§11.5: nobody answered; wait a random time, then start again from the primary.
        await this.#sleep(this.#random() * t.restartDelayMaxMs);
        if (!live()) return;
      }
      for (const attempt of this.#attempts(plan, round)) {
        if (!first) {
          await this.#sleep(backoff);
          backoff = Math.min(backoff * 2, t.registrationRetryMaxMs);
        }
        first = false;
        if (!live()) return;
        const result = await this.#register(attempt, live);
        if (!live() || result.kind === 'cancelled') return;
        if (result.kind === 'accepted') {
          this.#registeredWith(result.target, result.version);
          return;
        }
        this.#publish({ type: 'registration', state: 'failed', controller: endpointText(attempt.target), reason: result.why });
      }
    }
  }

  /** The controllers to try in one round, with the method and reason for each (§11.2, §11.5). */
  #attempts(plan: Plan, round: number): Attempt[] {
    const list = this.#o.controllers;
    const out: Attempt[] = [];
    switch (plan.kind) {
      case 'restart':
        for (const target of list) out.push({ target, method: 'restart', reason: '901 Cold Boot' });
        return out;
      case 'reregister':
        if (round === 0) out.push({ target: plan.target, method: 'restart', reason: '903 MGC Directed Change' });
        for (const target of list) {
          if (round === 0 && sameEndpoint(target, plan.target)) continue;
          out.push({ target, method: 'restart', reason: '901 Cold Boot' });
        }
        return out;
      case 'handoff':
        // §11.5: if the designated MGC does not answer, behave as if our MGC (the one that handed
        // us off) failed.
        if (round === 0) out.push({ target: plan.target, method: 'handOff', reason: '903 MGC Directed Change' });
        return [...out, ...this.#failoverOrder(plan.from, round)];
      case 'failover':
        return this.#failoverOrder(plan.lost, round);
    }
  }

  /**
   * §11.5: start at the primary unless it is the one that failed (then at the first secondary);
   * Failover / 909 to the others, Disconnected / 900 when contacting the lost one again. Later
   * rounds start at the primary.
   */
  #failoverOrder(lost: ControllerEndpoint, round: number): Attempt[] {
    const list = this.#o.controllers;
    const start = round === 0 && list.length > 1 && sameEndpoint(list[0]!, lost) ? 1 : 0;
    const out: Attempt[] = [];
    for (let i = 0; i < list.length; i++) {
      const target = list[(start + i) % list.length]!;
      out.push(
        sameEndpoint(target, lost)
          ? { target, method: 'disconnected', reason: '900 Service Restored' }
          : { target, method: 'failover', reason: '909 MGC Impending Failure' },
      );
    }
    if (!list.some((c) => sameEndpoint(c, lost))) {
      // A controller we were redirected to is not in the list: still tell it we are back.
      out.push({ target: lost, method: 'disconnected', reason: '900 Service Restored' });
    }
    return out;
  }

  /** One registration attempt, following MgcIdToTry redirections. */
  async #register(first: Attempt, live: () => boolean): Promise<AttemptResult> {
    let attempt = first;
    for (let hop = 0; ; hop++) {
      const target = attempt.target;
      const text = endpointText(target);
      this.#o.allowAddress?.(target.address);
      this.#current = target;
      this.#publish({ type: 'registration', state: 'registering', controller: text });
      this.#log.info({ controller: text, method: attempt.method, reason: attempt.reason, version: this.#o.version }, 'registering');
      let reply: TransactionReply;
      try {
        reply = await this.#o.engine.request(target, [serviceChangeAction(attempt, this.#o.version, this.#o.profile)], {
          version: this.#o.version,
        });
      } catch (e) {
        if (!live() || isTrgwdError(e, 'ERR_CTRL_CANCELLED')) return { kind: 'cancelled' };
        this.#attemptResult('timeout');
        this.#log.warn({ controller: text, err: errorMessage(e) }, 'registration not answered');
        return { kind: 'failed', why: errorMessage(e) };
      }
      if (!live()) return { kind: 'cancelled' };
      const sc = serviceChangeReplyOf(reply);
      if (sc.error !== undefined) {
        this.#attemptResult('rejected');
        this.#log.warn({ controller: text, code: sc.error.code, text: sc.error.text }, 'registration refused');
        return { kind: 'failed', why: `refused with ${sc.error.code}${sc.error.text ? ` ${sc.error.text}` : ''}` };
      }
      const services = sc.services;
      if (services?.mgcIdToTry !== undefined) {
        // §11.2: not accepted here; register with the MGC it names (same method and reason).
        this.#attemptResult('redirected');
        if (hop >= this.#o.maxRedirects) {
          this.#log.warn({ controller: text, hops: hop + 1 }, 'too many MgcIdToTry redirections');
          return { kind: 'failed', why: 'too many redirections' };
        }
        let next: ControllerEndpoint;
        try {
          next = await this.#endpointOf(services.mgcIdToTry, target.transport);
        } catch (e) {
          this.#log.warn({ controller: text, err: errorMessage(e) }, 'unusable MgcIdToTry');
          return { kind: 'failed', why: errorMessage(e) };
        }
        if (!live()) return { kind: 'cancelled' };
        this.#log.info({ controller: text, mgcIdToTry: endpointText(next) }, 'redirected by MgcIdToTry');
        attempt = { ...attempt, target: next };
        continue;
      }
      // §11.3: the controller answers with our version or a lower one; anything else we cannot follow.
      const offered = this.#o.version;
      const version = services?.version ?? offered;
      if (!Number.isInteger(version) || version < 1 || version > offered) {
        this.#attemptResult('rejected');
        this.#log.warn({ controller: text, version, offered }, 'controller wants a protocol version we do not support');
        return { kind: 'failed', why: `version ${version} not supported (we offer ${offered})` };
      }
      this.#attemptResult('accepted');
      return { kind: 'accepted', target, version };
    }
  }

  #registeredWith(target: ControllerEndpoint, version: number): void {
    this.#state = 'registered';
    this.#current = target;
    this.#version = version;
    this.#o.engine.version = version;
    const text = endpointText(target);
    this.#o.metrics?.registered.set(1);
    this.#publish({ type: 'registration', state: 'registered', controller: text });
    this.#readiness(true, `registered with ${text}`);
    this.#log.info({ controller: text, version }, 'registered');
    this.#armIto();
  }

  /** Our controller is gone (T-MAX on a request of ours, or the inactivity timer): §11.5 failover. */
  #lost(target: ControllerEndpoint, why: string): void {
    if (this.#state !== 'registered' || this.#current === undefined || !sameEndpoint(this.#current, target)) return;
    const text = endpointText(target);
    this.#log.warn({ controller: text, why }, 'controller lost: failing over');
    this.#unregistered(`controller ${text} lost: ${why}`);
    this.#startRun({ kind: 'failover', lost: target }, false);
  }

  #unregistered(reason: string): void {
    this.#state = this.#state === 'closing' || this.#state === 'closed' ? this.#state : 'registering';
    this.#disarmIto();
    this.#o.metrics?.registered.set(0);
    this.#publish({
      type: 'registration',
      state: 'unregistered',
      reason,
      ...(this.#current !== undefined ? { controller: endpointText(this.#current) } : {}),
    });
    this.#readiness(false, reason);
  }

  /** A lifecycle event for /events; an observer that throws must not stop the association. */
  #publish(event: GatewayEvent): void {
    try {
      this.#o.events?.publish(event);
    } catch (e) {
      this.#log.error({ err: errorMessage(e) }, 'event observer failed');
    }
  }

  #attemptResult(result: 'accepted' | 'redirected' | 'rejected' | 'timeout'): void {
    this.#o.metrics?.registrationAttempts.inc({ result });
  }

  #readiness(ready: boolean, reason: string): void {
    try {
      this.#o.onReadiness?.({ ready, reason });
    } catch (e) {
      this.#log.error({ err: errorMessage(e) }, 'readiness callback failed');
    }
  }

  /** An MgcIdToTry as an endpoint on `transport` (a domain name is resolved; port default 2944). */
  async #endpointOf(mid: MId, transport: ControllerEndpoint['transport']): Promise<ControllerEndpoint> {
    switch (mid.kind) {
      case 'ip4':
      case 'ip6':
        return { address: normalizeAddress(mid.address), port: mid.port ?? DEFAULT_H248_PORT, transport };
      case 'domain': {
        const resolve = this.#o.resolveName ?? (async (name: string) => (await lookup(name)).address);
        let address: string;
        try {
          address = isIP(mid.name) !== 0 ? mid.name : await resolve(mid.name);
        } catch (e) {
          throw new TrgwdError('ERR_CTRL_MGCID', `MgcIdToTry <${mid.name}> does not resolve: ${errorMessage(e)}`, { cause: e });
        }
        return { address: normalizeAddress(address), port: mid.port ?? DEFAULT_H248_PORT, transport };
      }
      default:
        throw new TrgwdError('ERR_CTRL_MGCID', `MgcIdToTry of kind ${mid.kind} is not an IP address or domain name`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Received requests (the engine's executor)

  /**
   * Executes one request from a controller: 406 when its message version is above the
   * association's (§11.3), 505 before registration (§11.2), ServiceChange on ROOT here, anything
   * else through the TransactionHandler.
   */
  readonly execute = async (request: TransactionRequest, info: IncomingRequestInfo): Promise<ActionReply[]> => {
    if (this.#state === 'registering') {
      // A controller may send its first command right behind its reply to our ServiceChange, in the
      // same TCP read. That reply is handled through a chain of promise continuations; let it finish
      // (they all run before the next macrotask) so the command is not refused with 505 by a race.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (info.messageVersion > this.#version) {
      throw new TrgwdError('ERR_H248_VERSION', `Version Not Supported: this association uses version ${this.#version}`);
    }
    if (this.#state !== 'registered') {
      throw new TrgwdError('ERR_CTRL_NOT_REGISTERED', 'Transaction Request Received before a Service Change Reply has been received');
    }
    const rootSc = rootServiceChangeOf(request);
    if (rootSc !== undefined) return this.#onRootServiceChange(request, rootSc, info);
    const ctx: RequestContext = {
      version: this.#version,
      peer: { address: info.peer.address, port: info.peer.port, transport: info.peer.transport, key: info.peer.key },
    };
    return this.#o.handler.execute(request, ctx);
  };

  /**
   * ServiceChange on ROOT from the controller (H.248.1 §7.2.8, §11.5). Decisions:
   * - HandOff with MgcIdToTry: reply, then register with that MGC (HandOff / 903); without it, 472.
   * - Restart, Forced, Graceful: reply, then register again with this controller
   *   (Restart / 903 "MGC Directed Change"); until answered, requests get 505. Contexts stay.
   * - Failover, Disconnected, extensions: reply, nothing else.
   */
  async #onRootServiceChange(request: TransactionRequest, sc: ServiceChangeRequest, info: IncomingRequestInfo): Promise<ActionReply[]> {
    const method = sc.services.method;
    const action = request.actions[0]!;
    const reply: ActionReply[] = [{ contextId: action.contextId, commands: [{ kind: 'serviceChange', terminationId: sc.terminationId }] }];
    const cur = this.#current;
    const from = cur !== undefined && normalizeAddress(cur.address) === info.peer.address ? cur : this.#sender(info);
    this.#log.info({ controller: endpointText(from), method, reason: sc.services.reason }, 'ServiceChange on ROOT from the controller');
    if (method === 'handOff') {
      const mgcId = sc.services.mgcIdToTry;
      if (mgcId === undefined) throw new TrgwdError('ERR_MG_REQUIRED_INFO_MISSING', 'HandOff without MgcIdToTry');
      const target = await this.#endpointOf(mgcId, from.transport);
      this.#o.allowAddress?.(target.address);
      // After the reply has gone out (the engine sends it when this resolves).
      setImmediate(() => this.#switchTo({ kind: 'handoff', target, from }, `handed off to ${endpointText(target)}`));
    } else if (method === 'restart' || method === 'forced' || method === 'graceful') {
      setImmediate(() => this.#switchTo({ kind: 'reregister', target: from }, `controller sent ServiceChange ${method} on ROOT`));
    }
    return reply;
  }

  #switchTo(plan: Plan, reason: string): void {
    if (this.#state !== 'registered') return;
    this.#unregistered(reason);
    this.#startRun(plan, false);
  }

  #sender(info: IncomingRequestInfo): ControllerEndpoint {
    const p = info.peer;
    return (
      this.#o.controllers.find((c) => c.address === p.address && c.transport === p.transport) ?? {
        address: p.address,
        port: p.port,
        transport: p.transport,
      }
    );
  }

  // -------------------------------------------------------------------------------------------
  // ControllerLink

  notify(n: NotifyRequestOut): Promise<void> {
    const cmd: CommandRequest = {
      kind: 'notify',
      terminationId: n.terminationId,
      observedEvents: { requestId: n.requestId, events: n.events },
    };
    return this.#send([{ contextId: n.contextId, commands: [cmd] }], 'Notify');
  }

  serviceChange(sc: ServiceChangeOut): Promise<void> {
    const cmd: CommandRequest = { kind: 'serviceChange', terminationId: sc.terminationId, services: sc.services };
    return this.#send([{ contextId: sc.contextId, commands: [cmd] }], 'ServiceChange');
  }

  /**
   * Sends a request of ours to the current controller. Resolves when it is answered without error;
   * rejects with ERR_CTRL_NOT_REGISTERED, ERR_CTRL_REJECTED (the controller's error code in
   * details.h248), or the engine's error. No answer within T-MAX means the controller is lost.
   */
  async #send(actions: ActionRequest[], what: string): Promise<void> {
    const target = this.#current;
    if (this.#state !== 'registered' || target === undefined) {
      throw new TrgwdError('ERR_CTRL_NOT_REGISTERED', `${what} not sent: not registered with a controller`);
    }
    let reply: TransactionReply;
    try {
      reply = await this.#o.engine.request(target, actions, { version: this.#version });
    } catch (e) {
      if (isTrgwdError(e, 'ERR_CTRL_TIMEOUT') || isTrgwdError(e, 'ERR_CONTROL_CONNECT') || isTrgwdError(e, 'ERR_CONTROL_SEND')) {
        this.#lost(target, `${what} unanswered: ${errorMessage(e)}`);
      }
      throw e;
    }
    const err = reply.error ?? reply.actions.find((a) => a.error !== undefined)?.error ?? commandErrorOf(reply);
    if (err !== undefined) {
      throw new TrgwdError('ERR_CTRL_REJECTED', `${what} answered with error ${err.code}${err.text ? ` ${err.text}` : ''}`, {
        details: { h248: err.code },
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Inactivity timer (H.248.14 it/ito on ROOT)

  /**
   * RootEventsListener: ROOT's Events descriptor changed. `it/ito` with `mit` (ms, PROFILE §10)
   * arms the watch; an Events descriptor without it disarms it.
   */
  readonly onRootEvents: RootEventsListener = (requestId: number | undefined, events: readonly RequestedEvent[]): void => {
    this.#disarmIto();
    this.#ito = undefined;
    const ev = events.find((e) => e.name.toLowerCase() === IT_ITO);
    if (ev === undefined || requestId === undefined) return;
    const mitText = ev.params?.find((p) => p.name.toLowerCase() === 'mit')?.value;
    const mitMs = mitText !== undefined ? Number(mitText) : NaN;
    if (!Number.isFinite(mitMs) || mitMs <= 0) {
      this.#log.warn({ requestId, mit: mitText }, 'it/ito without a usable mit: inactivity timer not armed');
      return;
    }
    this.#ito = { requestId, mitMs, timer: undefined, notifying: false };
    this.#log.info({ requestId, mitMs }, 'inactivity timer armed');
    this.#armIto();
  };

  /** Something arrived from a controller: restart the inactivity timer. */
  activity(): void {
    const ito = this.#ito;
    if (ito?.timer !== undefined && !ito.notifying) ito.timer.refresh();
  }

  #armIto(): void {
    const ito = this.#ito;
    if (ito === undefined || this.#state !== 'registered') return;
    if (ito.timer !== undefined) {
      ito.timer.refresh();
      return;
    }
    ito.timer = setTimeout(() => this.#onInactivity(), ito.mitMs);
  }

  #disarmIto(): void {
    if (this.#ito === undefined) return;
    clearTimeout(this.#ito.timer);
    this.#ito.timer = undefined;
    this.#ito.notifying = false;
  }

  /** Nothing from the controller for `mit`: Notify it/ito on ROOT; unanswered → controller lost. */
  #onInactivity(): void {
    const ito = this.#ito;
    if (ito === undefined || this.#state !== 'registered') return;
    ito.notifying = true;
    this.#log.warn({ mitMs: ito.mitMs }, 'no message from the controller within mit: Notify it/ito');
    this.notify({ contextId: '-', terminationId: 'ROOT', requestId: ito.requestId, events: [{ name: IT_ITO }] }).then(
      () => {
        if (this.#ito !== ito) return;
        ito.notifying = false;
        this.#armIto();
      },
      (e: unknown) => {
        if (this.#ito !== ito) return;
        ito.notifying = false;
        // Unanswered: #send has declared the controller lost. Refused: keep watching.
        if (isTrgwdError(e, 'ERR_CTRL_REJECTED')) this.#armIto();
      },
    );
  }

  // -------------------------------------------------------------------------------------------
  // Shutdown

  /**
   * Stops the association. If registered: `ServiceChange = ROOT { Method = Graceful,
   * Reason = "905 Termination taken out of service" [, Delay = gracefulDelayS] }`, waiting at most
   * gracefulReplyWaitMs for the answer. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasRegistered = this.#state === 'registered';
    const target = this.#current;
    this.#state = 'closing';
    this.#generation++;
    for (const s of [...this.#sleeps]) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.#sleeps.clear();
    this.#disarmIto();
    this.#ito = undefined;
    if (wasRegistered && target !== undefined) {
      const t = this.#o.timers;
      const services: ServiceChangeParms = { method: 'graceful', reason: '905 Termination taken out of service' };
      if (t.gracefulDelayS > 0) services.delay = t.gracefulDelayS;
      const action: ActionRequest = { contextId: '-', commands: [{ kind: 'serviceChange', terminationId: 'ROOT', services }] };
      this.#log.info({ controller: endpointText(target), delayS: t.gracefulDelayS }, 'ServiceChange Graceful');
      let timer: NodeJS.Timeout | undefined;
      const sent = this.#o.engine.request(target, [action], { version: this.#version }).then(
        () => undefined,
        (e: unknown) => this.#log.warn({ err: errorMessage(e) }, 'ServiceChange Graceful not answered'),
      );
      const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, t.gracefulReplyWaitMs)));
      await Promise.race([sent, waited]);
      clearTimeout(timer);
    }
    this.#o.metrics?.registered.set(0);
    if (wasRegistered) {
      this.#publish({
        type: 'registration',
        state: 'unregistered',
        reason: 'shutting down',
        ...(target !== undefined ? { controller: endpointText(target) } : {}),
      });
    }
    this.#readiness(false, 'shutting down');
    this.#state = 'closed';
  }

  /** A wait that close() cuts short. */
  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.#sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.#sleeps.add(entry);
    });
  }
}

// ---------------------------------------------------------------------------------------------

function serviceChangeAction(a: Attempt, version: number, profile: { name: string; version: number }): ActionRequest {
  const services: ServiceChangeParms = {
    method: a.method,
    reason: a.reason,
    version,
    profile: { name: profile.name, version: profile.version },
  };
  return { contextId: '-', commands: [{ kind: 'serviceChange', terminationId: 'ROOT', services }] };
}

/** The ServiceChange reply (or the error standing for it) in the answer to our ServiceChange. */
function serviceChangeReplyOf(reply: TransactionReply): { error?: { code: number; text?: string }; services?: ServiceChangeParms } {
  if (reply.error !== undefined) return { error: reply.error };
  for (const a of reply.actions) {
    for (const c of a.commands) {
      if (c.kind !== 'serviceChange') continue;
      if (c.error !== undefined) return { error: c.error };
      return c.services !== undefined ? { services: c.services } : {};
    }
    if (a.error !== undefined) return { error: a.error };
  }
  // A reply without a ServiceChange reply in it does not answer our question.
  return { error: { code: 400, text: 'no ServiceChange reply in the answer' } };
}

function commandErrorOf(reply: TransactionReply): { code: number; text?: string } | undefined {
  for (const a of reply.actions) {
    for (const c of a.commands) {
      if ((c.kind === 'notify' || c.kind === 'serviceChange') && c.error !== undefined) return c.error;
    }
  }
  return undefined;
}

/** The request when it is exactly one ServiceChange on ROOT (the association's own business). */
function rootServiceChangeOf(request: TransactionRequest): ServiceChangeRequest | undefined {
  if (request.actions.length !== 1) return undefined;
  const cmds = request.actions[0]!.commands;
  if (cmds.length !== 1) return undefined;
  const c = cmds[0]!;
  return c.kind === 'serviceChange' && c.terminationId.toLowerCase() === 'root' && c.terminationIds === undefined ? c : undefined;
}

function sameEndpoint(a: ControllerEndpoint, b: ControllerEndpoint): boolean {
  return a.transport === b.transport && a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

export function endpointText(e: { address: string; port: number }): string {
  return formatEndpoint(e.address, e.port);
}
