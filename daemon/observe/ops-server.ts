/**
 * The ops endpoint (node:http): GET /metrics (Prometheus text), /healthz (the process is alive),
 * /readyz (200 only when registered with a controller; 503 with the reason otherwise) and /events, a
 * WebSocket stream of lifecycle events (one JSON object per message).
 *
 * A slow /events client is cut off once more than `maxEventBufferBytes` are queued for it, so a
 * stuck browser tab cannot grow the daemon's memory.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { EventBus } from './events.js';
import { bindError } from '../lifecycle.js';

export interface Readiness {
  ready: boolean;
  reason: string;
}

export interface OpsServerOptions {
  address: string;
  port: number;
  metrics: Metrics;
  events: EventBus;
  readiness: () => Readiness;
  log: Logger;
  maxEventClients: number;
  maxEventBufferBytes: number;
}

export class OpsServer {
  readonly #opts: OpsServerOptions;
  #server: Server | undefined;
  #wss: WebSocketServer | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(opts: OpsServerOptions) {
    this.#opts = opts;
  }

  /** The bound address (after start). */
  get address(): AddressInfo {
    const a = this.#server?.address();
    if (!a || typeof a === 'string') throw new Error('ops server not started');
    return a;
  }

  async start(): Promise<void> {
    const { address, port, log } = this.#opts;
    const server = createServer((req, res) => void this.#handle(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    server.on('upgrade', (req, socket, head) => {
      if (pathOf(req) !== '/events') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (wss.clients.size >= this.#opts.maxEventClients) {
        this.#opts.metrics.eventClientsDropped.inc({ reason: 'limit' });
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.#onClient(ws));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(bindError(e, 'ops (http)', address, port)));
      server.listen(port, address, () => resolve());
    });
    this.#server = server;
    this.#wss = wss;
    this.#unsubscribe = this.#opts.events.subscribe((e) => {
      const text = JSON.stringify(e);
      for (const ws of wss.clients) this.#sendTo(ws, text);
    });
    log.info({ address: this.address.address, port: this.address.port }, 'ops endpoint listening');
  }

  #onClient(ws: WebSocket): void {
    this.#opts.metrics.eventClients.inc();
    ws.on('close', () => this.#opts.metrics.eventClients.dec());
    ws.on('error', () => ws.terminate());
    // Clients only listen; anything they send is ignored.
    this.#sendTo(ws, JSON.stringify({ type: 'hello', ts: new Date().toISOString(), readiness: this.#opts.readiness() }));
  }

  #sendTo(ws: WebSocket, text: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount + text.length > this.#opts.maxEventBufferBytes) {
      this.#opts.metrics.eventClientsDropped.inc({ reason: 'slow' });
      ws.terminate();
      return;
    }
    ws.send(text);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    try {
      switch (path) {
        case '/metrics': {
          const body = await this.#opts.metrics.registry.metrics();
          res.writeHead(200, { 'content-type': this.#opts.metrics.registry.contentType }).end(body);
          return;
        }
        case '/healthz':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
          return;
        case '/readyz': {
          const r = this.#opts.readiness();
          res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
          return;
        }
        case '/events':
          res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('use a WebSocket client\n');
          return;
        default:
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found (try /metrics, /healthz, /readyz, /events)\n');
      }
    } catch (e) {
      this.#opts.log.error({ err: e, path }, 'ops request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  /** Idempotent: closes the WebSocket clients and the listener. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    for (const ws of this.#wss?.clients ?? []) ws.close(1001, 'trgwd stopping');
    this.#wss?.close();
    const server = this.#server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
