/**
 * The composition root: builds each part from the configuration, starts them in order and stops
 * them in reverse order. Nothing else wires parts together.
 */
import type { TrgwdConfig } from '../config/schema.js';
import { errorMessage } from './errors.js';
import { withTimeout, type Part } from './lifecycle.js';
import { EventBus } from './observe/events.js';
import { createLogger, type Logger } from './observe/log.js';
import { createMetrics, type Metrics } from './observe/metrics.js';
import { OpsServer, type Readiness } from './observe/ops-server.js';
import { setTimeout as delay } from 'node:timers/promises';
import { ControlPlane } from './control/control-plane.js';
import type { TransactionHandler } from './control/handler.js';
import { CommandExecutor } from './control/commands/index.js';
import { MediaGateway } from './mg/index.js';
import { TcpPlane, tlsEngineOf } from './bearer/tcp/index.js';
import { TlsMedia } from './tls/index.js';
import { MsrpAware } from './bearer/msrp/index.js';
import { UdpMediaPlane, udpForwarder } from './bearer/udp/udp-plane.js';
import { DtlsUdptlPlane, DtlsEngine } from './tls/dtls/index.js';
import { SrtpE2ae } from './tls/srtp/e2ae.js';
import { VERSION } from './version.js';

export interface GatewayOptions {
  /** Logger to use (default: JSON on stdout at config.log.level). */
  log?: Logger;
  /** Export Node.js process metrics (default true; tests running many gateways turn it off). */
  defaultMetrics?: boolean;
}

export class Gateway {
  readonly config: TrgwdConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly events = new EventBus();
  readonly ops: OpsServer | undefined;
  /** The gateway model: contexts, terminations, streams and their media resources. */
  readonly mg: MediaGateway;
  /** The H.248 association with the controller. */
  readonly control: ControlPlane;
  readonly #parts: Part[] = [];
  readonly #started: Part[] = [];
  #readiness: Readiness = { ready: false, reason: 'not registered with a controller' };
  #stopping: Promise<void> | undefined;

  constructor(config: TrgwdConfig, opts: GatewayOptions = {}) {
    this.config = config;
    this.log = opts.log ?? createLogger(config.log.level);
    this.metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? true, version: VERSION });
    if (config.ops.enabled) {
      const ops = new OpsServer({
        address: config.ops.listen.address,
        port: config.ops.listen.port,
        metrics: this.metrics,
        events: this.events,
        readiness: () => this.#readiness,
        log: this.log.child({ part: 'ops' }),
        maxEventClients: config.ops.maxEventClients,
        maxEventBufferBytes: config.ops.maxEventBufferBytes,
      });
      this.ops = ops;
      this.#parts.push({ name: 'ops', start: () => ops.start(), close: () => ops.close() });
    }
    // Started after ops (so /metrics and /readyz see the start), closed before it. The model is
    // closed after the control plane, so the Graceful ServiceChange goes out while contexts exist.
    this.mg = MediaGateway.fromConfig(config, { log: this.log, metrics: this.metrics, events: this.events });
    // MSRP-aware legs (TCP/MSRP, TCP/TLS/MSRP) are a byte stage of the TCP plane (PROFILE §6)
    const msrp = new MsrpAware({ ...config.msrp, metrics: this.metrics, events: this.events, log: this.log.child({ part: 'bearer' }) });
    // TCP bearers (PROFILE §5); TCP/TLS* legs are secured by the TLS part (PROFILE §7), closed with the plane
    const tlsMedia = new TlsMedia(config.tls, { metrics: this.metrics, log: this.log.child({ part: 'tls' }) });
    this.mg.addMediaPlane(
      new TcpPlane({ settings: config.media.tcp, tls: tlsEngineOf(tlsMedia), stages: msrp.stages, metrics: this.metrics, log: this.log.child({ part: 'bearer' }) }),
    );
    const udpPlane = new UdpMediaPlane({
      forwarder: udpForwarder(config, this.mg.realmNames(), this.log.child({ part: 'udp' })),
      inactivityTimeoutMs: config.media.inactivityTimeoutMs,
      relatchPackets: config.media.relatchPackets,
      statsFlushMs: config.media.statsFlushMs,
      // e2ae SRTP (PROFILE §4): RTP/SAVP(F) streams with a=crypto
      security: new SrtpE2ae({ ...config.srtp, metrics: this.metrics, log: this.log.child({ part: 'srtp' }) }),
      metrics: this.metrics,
      log: this.log.child({ part: 'udp' }),
    });
    this.mg.addMediaPlane(udpPlane);
    // UDP/TLS/UDPTL (PROFILE §8): after the UDP plane, whose udptl legs it relays with. The engine (and
    // the native addon) is made on first use, with the same certificate as TLS (one fingerprint).
    const dtlsLog = this.log.child({ part: 'dtls' });
    this.mg.addMediaPlane(
      new DtlsUdptlPlane({
        engine: () => new DtlsEngine({ identity: tlsMedia.identity, config: config.dtls, metrics: this.metrics, log: dtlsLog }),
        udp: udpPlane,
      }),
    );
    const executor = new CommandExecutor({ mg: this.mg, log: this.log.child({ part: 'commands' }) });
    const delayMs = config.lab.transactionDelayMs;
    // lab.transactionDelayMs: every transaction takes at least this long (testing a controller's Pending handling)
    const delayed: TransactionHandler = {
      execute: async (request, ctx) => {
        await delay(delayMs);
        return executor.execute(request, ctx);
      },
    };
    const handler = delayMs > 0 ? delayed : executor;
    this.control = new ControlPlane({
      config,
      handler,
      events: this.events,
      metrics: this.metrics,
      log: this.log,
      onReadiness: (r) => this.setReadiness(r),
    });
    this.mg.setLink(this.control.link);
    this.mg.onRootEvents(this.control.onRootEvents);
    const mg = this.mg;
    const control = this.control;
    this.#parts.push({ name: 'mg', start: () => mg.start(), close: () => mg.close() });
    this.#parts.push({ name: 'control', start: () => control.start(), close: () => control.close() });
  }

  get readiness(): Readiness {
    return this.#readiness;
  }

  /** Parts (association) report whether we may take traffic; /readyz follows. */
  setReadiness(r: Readiness): void {
    this.#readiness = r;
  }

  /** Starts every part in order; if one fails, the ones started are closed and the error thrown. */
  async start(): Promise<void> {
    for (const part of this.#parts) {
      try {
        await part.start();
        this.#started.push(part);
      } catch (e) {
        this.log.error({ part: part.name, err: errorMessage(e) }, 'start failed');
        await this.stop('start failed');
        throw e;
      }
    }
    this.events.publish({ type: 'gateway.started' });
    this.log.info({ version: VERSION, mid: this.config.mg.mid }, 'trgwd started');
  }

  /** Stops every started part in reverse order, each bounded in time. Idempotent. */
  stop(reason = 'stop requested'): Promise<void> {
    this.#stopping ??= (async () => {
      this.events.publish({ type: 'gateway.stopping', reason });
      this.log.info({ reason }, 'trgwd stopping');
      const budget = this.config.shutdownTimeoutMs;
      for (const part of [...this.#started].reverse()) {
        try {
          await withTimeout(part.close(), budget, `closing ${part.name}`);
        } catch (e) {
          this.log.warn({ part: part.name, err: errorMessage(e) }, 'close failed');
        }
      }
      this.#started.length = 0;
      this.log.info('trgwd stopped');
    })();
    return this.#stopping;
  }
}
