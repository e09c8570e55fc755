/**
 * A fake H.248 controller (MGC) for tests of the control plane: a real UDP socket or TCP/TPKT
 * listener on 127.0.0.1 that decodes what the gateway sends with our codec, lets a test await
 * messages by predicate, and answers with messages built from the typed model. Plus a small
 * TransactionHandler, a config builder and a log capture.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { loadConfigOrThrow } from '../../config/loader.js';
import type { TrgwdConfig } from '../../config/schema.js';
import { decodeMessage, encodeMessage } from '../../daemon/control/codec/index.js';
import type {
  ActionReply,
  ActionRequest,
  CommandReply,
  EncodingStyle,
  Message,
  MId,
  ServiceChangeParms,
  ServiceChangeRequest,
  Transaction,
  TransactionReply,
  TransactionRequest,
} from '../../daemon/control/codec/model.js';
import type { Readiness } from '../../daemon/control/association.js';
import { ControlPlane } from '../../daemon/control/control-plane.js';
import type { RequestContext, TransactionHandler } from '../../daemon/control/handler.js';
import { EventBus, type StampedEvent } from '../../daemon/observe/events.js';
import { createMetrics, type Metrics } from '../../daemon/observe/metrics.js';
import { TpktDeframer, encodeTpkt } from '../../daemon/control/transport/tpkt.js';
import { createLogger, type Logger } from '../../daemon/observe/log.js';

export interface Received {
  readonly text: string;
  /** Undefined when the bytes did not decode. */
  readonly msg: Message | undefined;
  readonly from: { readonly address: string; readonly port: number };
  readonly at: number;
}

export type Pred = (r: Received) => boolean;

/** First transaction of the message (most tests send one per message). */
export function firstTx(r: Received): Transaction | undefined {
  return r.msg?.transactions[0];
}

export function isRequest(r: Received): boolean {
  return firstTx(r)?.kind === 'request';
}

/** The ServiceChange command of a request message, if it is one. */
export function serviceChangeOf(r: Received): ServiceChangeRequest | undefined {
  const t = firstTx(r);
  if (t?.kind !== 'request') return undefined;
  const c = t.actions[0]?.commands[0];
  return c?.kind === 'serviceChange' ? c : undefined;
}

export const isServiceChange: Pred = (r) => serviceChangeOf(r) !== undefined;
export const isNotify: Pred = (r) => {
  const t = firstTx(r);
  return t?.kind === 'request' && t.actions[0]?.commands[0]?.kind === 'notify';
};
export const kindIs =
  (kind: Transaction['kind'], id?: number): Pred =>
  (r) =>
    r.msg?.transactions.some((t) => t.kind === kind && (id === undefined || ('id' in t && t.id === id))) ?? false;

/** The reply transaction with id `id` in a message, if any. */
export function replyOf(r: Received, id?: number): TransactionReply | undefined {
  return r.msg?.transactions.find((t): t is TransactionReply => t.kind === 'reply' && (id === undefined || t.id === id));
}

export interface FakeMgcOptions {
  /** mId in the header of what the fake controller sends. Default `[127.0.0.1]:<port>`. */
  readonly mid?: MId;
  readonly version?: number;
  readonly style?: EncodingStyle;
  /** Local address to bind (default 127.0.0.1; 127.0.0.2 makes an unauthorized source on Linux). */
  readonly bindAddress?: string;
  /** TCP: port to listen on (default: any free one). */
  readonly port?: number;
}

export class FakeMgc {
  readonly address: string;
  readonly transport: 'udp' | 'tcp';
  port = 0;
  mid: MId;
  version: number;
  style: EncodingStyle;
  readonly #queue: Received[] = [];
  readonly #waiters: { pred: Pred; resolve: (r: Received) => void }[] = [];
  #udp: UdpSocket | undefined;
  #server: Server | undefined;
  readonly #conns = new Set<Socket>();
  /** The connection the gateway opened (TCP), or the last UDP source. */
  #lastConn: Socket | undefined;
  #lastFrom: { address: string; port: number } | undefined;
  #nextTid = 1000;
  /** Messages to drop silently (simulates loss), checked before queueing. */
  drop: Pred | undefined;

  private constructor(transport: 'udp' | 'tcp', opts: FakeMgcOptions) {
    this.transport = transport;
    this.address = opts.bindAddress ?? '127.0.0.1';
    this.mid = opts.mid ?? { kind: 'ip4', address: '127.0.0.1' };
    this.version = opts.version ?? 3;
    this.style = opts.style ?? 'pretty';
  }

  static async udp(opts: FakeMgcOptions = {}): Promise<FakeMgc> {
    const m = new FakeMgc('udp', opts);
    const sock = createSocket('udp4');
    sock.on('message', (b, rinfo) => {
      m.#lastFrom = { address: rinfo.address, port: rinfo.port };
      m.#push(b, m.#lastFrom);
    });
    sock.bind(0, m.address);
    await once(sock, 'listening');
    m.#udp = sock;
    m.port = sock.address().port;
    if (opts.mid === undefined) m.mid = { kind: 'ip4', address: m.address, port: m.port };
    return m;
  }

  static async tcp(opts: FakeMgcOptions = {}): Promise<FakeMgc> {
    const m = new FakeMgc('tcp', opts);
    const server = createServer((socket) => m.#adopt(socket));
    server.listen(opts.port ?? 0, m.address);
    await once(server, 'listening');
    m.#server = server;
    const a = server.address();
    m.port = typeof a === 'object' && a !== null ? a.port : 0;
    if (opts.mid === undefined) m.mid = { kind: 'ip4', address: m.address, port: m.port };
    return m;
  }

  /** As a controller entry of the config. */
  get endpoint(): { address: string; port: number; transport: 'udp' | 'tcp' } {
    return { address: this.address, port: this.port, transport: this.transport };
  }

  /** Messages received and not yet taken by next(). */
  get queued(): readonly Received[] {
    return this.#queue;
  }

  /** Connects to the gateway over TCP (as a controller that opens the connection itself). */
  async connectTo(port: number): Promise<void> {
    const { connect } = await import('node:net');
    const socket = connect({ port, host: '127.0.0.1', localAddress: this.address });
    await once(socket, 'connect');
    this.#adopt(socket);
  }

  #adopt(socket: Socket): void {
    this.#conns.add(socket);
    this.#lastConn = socket;
    const deframer = new TpktDeframer();
    socket.on('data', (chunk: Buffer) => {
      for (const m of deframer.push(chunk)) this.#push(m, { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 });
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#conns.delete(socket);
      if (this.#lastConn === socket) this.#lastConn = undefined;
    });
  }

  #push(bytes: Buffer, from: { address: string; port: number }): void {
    const text = bytes.toString('utf8');
    let msg: Message | undefined;
    try {
      msg = decodeMessage(bytes);
    } catch {
      msg = undefined;
    }
    const r: Received = { text, msg, from, at: Date.now() };
    if (this.drop?.(r)) return;
    const i = this.#waiters.findIndex((w) => w.pred(r));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(r);
      return;
    }
    this.#queue.push(r);
  }

  /** The next message matching `pred` (already queued or to come); rejects after `timeoutMs`. */
  next(pred: Pred = () => true, timeoutMs = 3000, what = 'a message'): Promise<Received> {
    const i = this.#queue.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.#queue.splice(i, 1)[0]!);
    return new Promise<Received>((resolve, reject) => {
      const w = {
        pred,
        resolve: (r: Received) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        const k = this.#waiters.indexOf(w);
        if (k >= 0) this.#waiters.splice(k, 1);
        reject(new Error(`fake MGC: no ${what} within ${timeoutMs} ms; queued: ${this.#queue.map((q) => JSON.stringify(q.text)).join(' | ') || 'nothing'}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  /** Resolves true if a message matching `pred` arrives within `ms`, false otherwise. */
  async arrives(pred: Pred, ms: number): Promise<boolean> {
    try {
      await this.next(pred, ms);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops everything queued. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Encodes a message from the fake controller. */
  encode(transactions: Transaction[], opts: { version?: number; style?: EncodingStyle } = {}): string {
    return encodeMessage({ version: opts.version ?? this.version, mId: this.mid, transactions }, { style: opts.style ?? this.style });
  }

  /**
   * Sends raw text (or bytes): over TCP on the open connection, over UDP to `to` (default: the
   * source of the last message received).
   */
  sendRaw(data: string | Buffer, to?: { address?: string; port: number }): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.transport === 'tcp') {
      if (this.#lastConn === undefined) throw new Error('fake MGC: no TCP connection');
      this.#lastConn.write(encodeTpkt(bytes));
      return;
    }
    const dest = to ?? this.#lastFrom;
    if (dest === undefined) throw new Error('fake MGC: nowhere to send');
    this.#udp!.send(bytes, dest.port, dest.address ?? '127.0.0.1');
  }

  send(transactions: Transaction[], opts: { version?: number; style?: EncodingStyle; to?: { address?: string; port: number } } = {}): string {
    const text = this.encode(transactions, opts);
    this.sendRaw(text, opts.to);
    return text;
  }

  /** Sends a request and returns its transaction id. */
  request(actions: ActionRequest[], opts: { id?: number; version?: number; style?: EncodingStyle; to?: { address?: string; port: number } } = {}): number {
    const id = opts.id ?? this.#nextTid++;
    this.send([{ kind: 'request', id, actions }], opts);
    return id;
  }

  /** Replies to the request in `r` (its first transaction). */
  reply(r: Received, body: { actions?: ActionReply[]; error?: { code: number; text?: string }; immAckRequired?: boolean }): void {
    const t = firstTx(r);
    if (t?.kind !== 'request') throw new Error(`fake MGC: not a request: ${r.text}`);
    const reply: TransactionReply = { kind: 'reply', id: t.id, actions: body.actions ?? [] };
    if (body.error !== undefined) {
      reply.error = body.error;
      reply.actions = [];
    } else if (body.actions === undefined) {
      reply.actions = t.actions.map((a) => ({ contextId: a.contextId, commands: a.commands.map(echoCommand) }));
    }
    if (body.immAckRequired) reply.immAckRequired = true;
    this.send([reply], { to: r.from });
  }

  /** Answers a ServiceChange request with a ServiceChange reply carrying `services` (or an error). */
  replyServiceChange(r: Received, services?: ServiceChangeParms, error?: { code: number; text?: string }): void {
    const t = firstTx(r) as TransactionRequest;
    const reply: CommandReply = { kind: 'serviceChange', terminationId: 'ROOT' };
    if (services !== undefined) reply.services = services;
    if (error !== undefined) reply.error = error;
    this.reply(r, { actions: [{ contextId: t.actions[0]!.contextId, commands: [reply] }] });
  }

  /** Waits for the registration ServiceChange and accepts it (optionally with a Version). */
  async acceptRegistration(services: ServiceChangeParms = {}, timeoutMs = 3000): Promise<Received> {
    const r = await this.next(isServiceChange, timeoutMs, 'ServiceChange');
    this.replyServiceChange(r, services);
    return r;
  }

  async close(): Promise<void> {
    for (const w of this.#waiters.splice(0)) void w;
    if (this.#udp !== undefined) {
      const s = this.#udp;
      this.#udp = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    if (this.#server !== undefined) {
      for (const c of this.#conns) c.destroy();
      const s = this.#server;
      this.#server = undefined;
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }
}

/** The reply a controller gives to a command of ours: the same command kind and termination. */
export function echoCommand(c: ActionRequest['commands'][number]): CommandReply {
  switch (c.kind) {
    case 'add':
    case 'modify':
    case 'move':
    case 'subtract':
      return { kind: c.kind, terminationId: c.terminationId };
    case 'auditValue':
    case 'auditCapabilities':
      return { kind: c.kind, terminationId: c.terminationId };
    case 'notify':
      return { kind: 'notify', terminationId: c.terminationId };
    case 'serviceChange':
      return { kind: 'serviceChange', terminationId: c.terminationId };
  }
}

/**
 * A TransactionHandler for tests: answers each command with its echo; `delayMs` per transaction;
 * `calls` records what it executed.
 */
export class FakeHandler implements TransactionHandler {
  readonly calls: { request: TransactionRequest; ctx: RequestContext }[] = [];
  delayMs = 0;
  /** Replaces the answer (e.g. a large reply, an error). */
  answer: ((request: TransactionRequest) => ActionReply[] | Promise<ActionReply[]>) | undefined;
  /** Resolves the gate to let slow transactions finish (when set, execute waits for it). */
  gate: Promise<void> | undefined;

  async execute(request: TransactionRequest, ctx: RequestContext): Promise<ActionReply[]> {
    this.calls.push({ request, ctx });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.gate !== undefined) await this.gate;
    if (this.answer !== undefined) return this.answer(request);
    return request.actions.map((a) => ({ contextId: a.contextId === '$' ? 1 : a.contextId, commands: a.commands.map(echoCommand) }));
  }
}

/** A promise with its resolve function (a gate for slow handlers). */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

let base: TrgwdConfig | undefined;

/**
 * The embedded default config with `overrides` merged in (arrays replace), port 0 and small timers
 * suited to tests. Not validated: tests may go below the schema's minimums.
 */
export function testConfig(overrides: DeepPartial<TrgwdConfig> = {}): TrgwdConfig {
  base ??= loadConfigOrThrow({ env: {} });
  const cfg = structuredClone(base);
  cfg.control.listen = { address: '127.0.0.1', port: 0 };
  cfg.control.timers = {
    ...cfg.control.timers,
    restartDelayMaxMs: 0,
    initialRetransmitMs: 40,
    maxRetransmitMs: 200,
    tMaxMs: 600,
    registrationRetryMaxMs: 100,
    provisionalResponseMs: 100,
    longTimerMs: 5000,
    gracefulReplyWaitMs: 500,
  };
  merge(cfg as unknown as Record<string, unknown>, overrides as Record<string, unknown>);
  return cfg;
}

function merge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined) continue;
    const cur = target[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else {
      target[k] = v;
    }
  }
}

/** A pino logger whose JSON lines land in `lines`. */
export function captureLog(level: 'debug' | 'info' = 'debug'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger(level, dest as unknown as Parameters<typeof createLogger>[1]), lines };
}

/** Resolves when `cond()` is true, polling each event-loop turn; rejects after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

export interface PlaneSetup {
  plane: ControlPlane;
  handler: FakeHandler;
  config: TrgwdConfig;
  metrics: Metrics;
  events: StampedEvent[];
  readiness: Readiness[];
  lines: Record<string, unknown>[];
  /** The gateway's control port (UDP and TCP). */
  port: number;
  /** Sum of a metric's values whose labels match. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/**
 * A started ControlPlane whose controllers are `mgcs` (in that order), closed after the test.
 * `overrides` are merged into testConfig().
 */
export async function startPlane(
  t: { after: (fn: () => unknown) => void },
  mgcs: readonly FakeMgc[],
  overrides: DeepPartial<TrgwdConfig> = {},
  extra: { resolveName?: (name: string) => Promise<string>; handler?: FakeHandler } = {},
): Promise<PlaneSetup> {
  const config = testConfig({ ...overrides, control: { ...overrides.control, controllers: mgcs.map((m) => m.endpoint) } });
  const metrics = createMetrics({ defaultMetrics: false });
  const bus = new EventBus();
  const events: StampedEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const readiness: Readiness[] = [];
  const { log, lines } = captureLog();
  const handler = extra.handler ?? new FakeHandler();
  const plane = new ControlPlane({
    config,
    handler,
    events: bus,
    metrics,
    log,
    onReadiness: (r) => readiness.push(r),
    random: () => 0.5,
    ...(extra.resolveName !== undefined ? { resolveName: extra.resolveName } : {}),
  });
  t.after(() => plane.close());
  await plane.start();
  return {
    plane,
    handler,
    config,
    metrics,
    events,
    readiness,
    lines,
    port: plane.endpoint.port,
    metric: async (name, labels = {}) => {
      const vals = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
      return vals.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((sum, v) => sum + v.value, 0);
    },
  };
}
