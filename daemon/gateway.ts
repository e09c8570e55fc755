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
import { ControlPlane } from './control/control-plane.js';
import { CommandExecutor } from './control/commands/index.js';
import { MediaGateway } from './mg/index.js';
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
    this.control = new ControlPlane({
      config,
      handler: new CommandExecutor({ mg: this.mg, log: this.log.child({ part: 'commands' }) }),
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
