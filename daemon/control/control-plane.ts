/**
 * The control plane part: the control transports (UDP, TCP/TPKT on control.listen), the
 * transaction engine and the association, wired together and built from the configuration.
 *
 *   transport ──bytes──▶ engine ──requests──▶ association ──▶ TransactionHandler (commands/)
 *   gateway model ──ControllerLink (notify, serviceChange)──▶ association ──▶ engine ──▶ transport
 *   commands/ ──onRootEvents (ROOT Events: it/ito)──▶ association
 *
 * Only configured controllers (and those a controller redirected us to) may send: others are
 * dropped by the transports' admission check and counted, never answered.
 */
import type { TrgwdConfig } from '../../config/schema.js';
import { TrgwdError, errorMessage } from '../errors.js';
import type { Part } from '../lifecycle.js';
import type { EventBus } from '../observe/events.js';
import type { Logger } from '../observe/log.js';
import type { Metrics } from '../observe/metrics.js';
import { Association, type Readiness } from './association.js';
import type { CodecLimits } from './codec/limits.js';
import type { ControllerLink, RootEventsListener, TransactionHandler } from './handler.js';
import { TransactionEngine, parseMid, type ControllerEndpoint } from './transaction/engine.js';
import { openControlTransports } from './transport/index.js';
import { TcpControlTransport } from './transport/tcp.js';
import { TPKT_MAX_PAYLOAD } from './transport/tpkt.js';
import {
  normalizeAddress,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransport,
  type ControlTransportEvent,
  type ControlTransportKind,
  type TcpControlTransportOptions,
} from './transport/types.js';
import { UdpControlTransport } from './transport/udp.js';

export interface ControlPlaneOptions {
  /** Reads `control.*`, `mg.*` and `h248.limits`. */
  readonly config: Pick<TrgwdConfig, 'control' | 'mg' | 'h248'>;
  readonly handler: TransactionHandler;
  readonly events?: EventBus;
  readonly metrics?: Metrics;
  readonly log: Logger;
  /** Registered or not: the gateway's /readyz follows. */
  readonly onReadiness?: (r: Readiness) => void;
  /** [0, 1) random source for the restart waits (tests). */
  readonly random?: () => number;
  /** Resolution of domain-name MgcIdToTry values (tests). */
  readonly resolveName?: (name: string) => Promise<string>;
}

export class ControlPlane implements Part {
  readonly name = 'control';
  readonly engine: TransactionEngine;
  readonly association: Association;
  /** How the gateway model reaches the controller (Notify, ServiceChange). */
  readonly link: ControllerLink;
  /** Give this to the commands layer: it calls it when ROOT's Events descriptor changes. */
  readonly onRootEvents: RootEventsListener;
  readonly #opts: ControlPlaneOptions;
  readonly #log: Logger;
  readonly #allowed = new Set<string>();
  #transports: ControlTransport[] = [];
  #endpoint: ControlEndpoint | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(opts: ControlPlaneOptions) {
    this.#opts = opts;
    const { control, mg, h248 } = opts.config;
    this.#log = opts.log.child({ part: 'control' });
    const controllers: ControllerEndpoint[] = control.controllers.map((c) => ({
      address: normalizeAddress(c.address),
      port: c.port,
      transport: transportKind(c.transport),
    }));
    for (const c of controllers) this.#allowed.add(c.address);
    const t = control.timers;
    const limits: Partial<CodecLimits> = {
      maxMessageBytes: control.maxMessageBytes,
      maxDepth: h248.limits.maxDepth,
      maxTransactions: h248.limits.maxTransactions,
      maxActionsPerTransaction: h248.limits.maxActionsPerTransaction,
      maxCommandsPerAction: h248.limits.maxCommandsPerAction,
      maxListItems: h248.limits.maxDescriptorItems,
      maxSdpLines: h248.limits.maxSdpLines,
      maxStringLength: h248.limits.maxStringLength,
    };
    this.engine = new TransactionEngine({
      mid: parseMid(mg.mid),
      version: mg.version,
      requestStyle: control.encoding,
      limits,
      maxMessageBytes: control.maxMessageBytes,
      maxUdpPayload: control.maxUdpPayload,
      pendingLimit: control.pendingLimit,
      replyCacheMaxEntries: control.replyCacheMaxEntries,
      timers: {
        longTimerMs: t.longTimerMs,
        provisionalResponseMs: t.provisionalResponseMs,
        initialRetransmitMs: t.initialRetransmitMs,
        maxRetransmitMs: t.maxRetransmitMs,
        tMaxMs: t.tMaxMs,
      },
      execute: (request, info) => this.association.execute(request, info),
      onActivity: () => this.association.activity(),
      ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}),
      log: this.#log,
    });
    this.association = new Association({
      controllers,
      version: mg.version,
      profile: mg.profile,
      timers: {
        restartDelayMaxMs: t.restartDelayMaxMs,
        initialRetransmitMs: t.initialRetransmitMs,
        registrationRetryMaxMs: t.registrationRetryMaxMs,
        gracefulDelayS: t.gracefulDelayS,
        gracefulReplyWaitMs: t.gracefulReplyWaitMs,
      },
      maxRedirects: control.maxRedirects,
      engine: this.engine,
      handler: opts.handler,
      ...(opts.events !== undefined ? { events: opts.events } : {}),
      ...(opts.metrics !== undefined ? { metrics: opts.metrics } : {}),
      log: this.#log,
      ...(opts.onReadiness !== undefined ? { onReadiness: opts.onReadiness } : {}),
      allowAddress: (address) => this.#allowed.add(normalizeAddress(address)),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
      ...(opts.resolveName !== undefined ? { resolveName: opts.resolveName } : {}),
    });
    this.link = this.association;
    this.onRootEvents = this.association.onRootEvents;
  }

  /** The bound control endpoint (UDP and TCP share it). Throws before start() resolved. */
  get endpoint(): ControlEndpoint {
    if (this.#endpoint === undefined) throw new TrgwdError('ERR_CONTROL_NOT_BOUND', 'control plane not started');
    return this.#endpoint;
  }

  /** Binds the transports (ERR_BIND is fatal), then starts registering in the background. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { control } = this.#opts.config;
    const kinds = [...new Set(control.transports.map(transportKind))];
    for (const c of control.controllers) {
      if (!kinds.includes(transportKind(c.transport))) {
        throw new TrgwdError(
          'ERR_CONFIG',
          `controller ${c.address}:${c.port} is reached over ${c.transport}, which control.transports does not list`,
        );
      }
    }
    const options: TcpControlTransportOptions = {
      address: control.listen.address,
      port: control.listen.port,
      onMessage: (bytes, peer) => this.engine.receive(bytes, peer),
      accept: (peer) => this.#accept(peer),
      onEvent: (e) => this.#onTransportEvent(e),
      // The engine checks control.maxMessageBytes itself so that it can answer 400.
      maxMessageBytes: TPKT_MAX_PAYLOAD,
      maxConnections: control.maxTcpConnections,
    };
    if (kinds.length === 2) {
      const both = await openControlTransports(options);
      this.#transports = [both.udp, both.tcp];
    } else {
      const tr: ControlTransport = kinds[0] === 'tcp' ? new TcpControlTransport(options) : new UdpControlTransport(options);
      try {
        await tr.listen();
      } catch (e) {
        await tr.close();
        throw e;
      }
      this.#transports = [tr];
    }
    for (const tr of this.#transports) {
      const { address, port } = tr.address();
      this.#endpoint ??= { address, port };
      this.#log.info({ transport: tr.kind, address, port }, 'control listening');
      this.engine.attach(tr);
    }
    if (this.#closing !== undefined) return;
    this.association.start();
  }

  /** Graceful ServiceChange (if registered), then closes the engine and the transports. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined);
    try {
      await this.association.close();
    } catch (e) {
      this.#log.warn({ err: errorMessage(e) }, 'association close failed');
    }
    this.engine.close();
    await Promise.all(this.#transports.map((t) => t.close()));
  }

  #accept(peer: ControlPeer): boolean {
    if (this.#allowed.has(peer.address)) return true;
    // Counted here, once per datagram (UDP) or connection (TCP); never logged per packet.
    this.#opts.metrics?.controlDropped.inc({ reason: 'unauthorized' });
    return false;
  }

  #onTransportEvent(e: ControlTransportEvent): void {
    switch (e.type) {
      case 'dropped':
        if (e.reason === 'oversize') this.#opts.metrics?.controlDropped.inc({ reason: 'too_large' });
        return;
      case 'framing-error':
        this.#opts.metrics?.controlDropped.inc({ reason: 'framing' });
        this.#log.warn({ peer: e.peer.key, err: e.error.message }, 'TPKT framing error: connection closed');
        return;
      case 'connection-open':
        this.#log.info({ peer: e.peer.key, direction: e.direction }, 'control connection open');
        return;
      case 'connection-close':
        this.#log.info({ peer: e.peer.key, direction: e.direction, reason: e.reason }, 'control connection closed');
        return;
      case 'connection-rejected':
        if (e.reason === 'limit') this.#log.warn({ peer: e.peer.key }, 'control connection refused: connection limit reached');
        return;
      case 'handler-error':
        this.#log.error({ peer: e.peer.key, err: errorMessage(e.error) }, 'control message handler failed');
        return;
      case 'socket-error':
        this.#log.warn({ err: e.error.message }, 'control socket error');
        return;
      case 'send-error':
        this.#log.debug({ peer: `${e.peer.address}:${e.peer.port}`, err: e.error.message }, 'control send failed');
        return;
    }
  }
}

/** The schema only lets `udp` and `tcp` through; anything else is a configuration error. */
function transportKind(s: string): ControlTransportKind {
  if (s === 'udp' || s === 'tcp') return s;
  throw new TrgwdError('ERR_CONFIG', `unknown control transport ${JSON.stringify(s)} (udp or tcp)`);
}
