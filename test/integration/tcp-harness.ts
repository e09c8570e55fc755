/**
 * Helpers for the TCP bearer tests: a command-layer harness (test/unit/control/commands/harness.ts)
 * with the TcpPlane, SDP for TCP terminations, a Notify watcher on the FakeLink, and plain TCP
 * peers on loopback. Each test file takes its own port range (see the file's BASE).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { ObservedEvent } from '../../daemon/control/codec/model.js';
import type { NotifyRequestOut } from '../../daemon/control/handler.js';
import { TcpPlane, type TcpPlaneOptions, type TcpSettings } from '../../daemon/bearer/tcp/index.js';
import type { MediaGatewayOptions } from '../../daemon/mg/index.js';
import { amm, audit, commands, harness, localOf, portOf, type Harness } from '../unit/control/commands/harness.js';

export const LO = '127.0.0.1';
export const EVENTS = 'tcpbcc/est, tcpbcc/fail, tcpbcc/rel, g/cause';

export interface TcpHarness extends Harness {
  readonly plane: TcpPlane;
  readonly notes: NotifyWatcher;
}

/**
 * Realms `access` [base, base+99] and `core` [base+100, base+199] on 127.0.0.1 (unless `mg`
 * overrides them), with a TcpPlane.
 */
export function tcpHarness(
  base: number,
  settings: Partial<TcpSettings> = {},
  options: Omit<TcpPlaneOptions, 'settings'> = {},
  mg: Partial<MediaGatewayOptions> = {},
): TcpHarness {
  const h = harness(base, mg);
  const plane = new TcpPlane({ ...options, settings, metrics: h.metrics });
  h.mg.addMediaPlane(plane);
  return Object.assign(h, { plane, notes: new NotifyWatcher(h) });
}

/** Local SDP of a TCP termination: address and port chosen by the gateway. */
export function tcpLocal(setup?: string, proto = 'TCP', extra = ''): string {
  return `v=0\nc=IN IP4 $\nm=application $ ${proto} *\n${setup !== undefined ? `a=setup:${setup}\n` : ''}${extra}`;
}

/** Remote SDP: the peer at addr:port. */
export function tcpRemote(port: number, setup?: string, addr = LO, proto = 'TCP', extra = ''): string {
  return `v=0\nc=IN IP4 ${addr}\nm=application ${port} ${proto} *\n${setup !== undefined ? `a=setup:${setup}\n` : ''}${extra}`;
}

export interface LegSpec {
  readonly realm?: string;
  readonly local: string;
  readonly remote?: string;
  /** Extra LocalControl properties, e.g. `tcpbcc/dly = OFF`. */
  readonly lc?: string;
  readonly events?: boolean;
  readonly signals?: string;
}

function addText(spec: LegSpec, rid: number): string {
  const lc = [`Mode = SendReceive`, `ipdc/realm = ${spec.realm ?? 'core'}`, ...(spec.lc !== undefined ? [spec.lc] : [])].join(', ');
  const remote = spec.remote !== undefined ? `, Remote { ${spec.remote} }` : '';
  const ev = spec.events === false ? '' : `, Events = ${rid} { ${EVENTS} }`;
  const sig = spec.signals !== undefined ? `, Signals { ${spec.signals} }` : '';
  return `Add = $ { Media { Stream = 1 { LocalControl { ${lc} }, Local { ${spec.local} }${remote} } }${ev}${sig} }`;
}

export interface Added {
  readonly ctx: number;
  readonly ids: string[];
  /** The Local port the gateway chose for each termination. */
  readonly ports: number[];
}

/** `Context = $ { Add ..., Add ... }`: terminations in a new context. */
export async function addContext(h: Harness, ...legs: LegSpec[]): Promise<Added> {
  const r = await h.tx(`Context = $ { ${legs.map((l, i) => addText(l, 100 + i)).join(', ')} }`);
  assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
  const cs = commands(r);
  return {
    ctx: r[0]!.contextId as number,
    ids: cs.map((c) => amm(c).terminationId),
    ports: cs.map((c) => portOf(localOf(audit(c)))),
  };
}

/** `Modify` of one termination's stream 1 (Remote, Local, LocalControl, Signals as given). */
export async function modify(h: Harness, ctx: number, id: string, body: string): Promise<void> {
  const r = await h.tx(`Context = ${ctx} { Modify = ${id} { ${body} } }`);
  assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
}

/** Observed events of the FakeLink's Notifies, with a way to wait for one. */
export class NotifyWatcher {
  readonly seen: { term: string; event: ObservedEvent; at: number }[] = [];
  #waiters: { pred: (term: string, e: ObservedEvent) => boolean; resolve: (e: ObservedEvent) => void }[] = [];

  constructor(h: Harness) {
    const orig = h.link.notify.bind(h.link);
    h.link.notify = (n: NotifyRequestOut): Promise<void> => {
      for (const e of n.events) {
        this.seen.push({ term: n.terminationId, event: e, at: performance.now() });
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pred(n.terminationId, e)) return true;
          w.resolve(e);
          return false;
        });
      }
      return orig(n);
    };
  }

  /** Resolves with the first (past or future) event `name` on `term` whose params match. */
  wait(term: string, name: string, params: Record<string, string> = {}, timeoutMs = 10000): Promise<ObservedEvent> {
    const pred = (t: string, e: ObservedEvent): boolean =>
      t === term && e.name === name && Object.entries(params).every(([k, v]) => paramOf(e, k) === v);
    const past = this.seen.find((s) => pred(s.term, s.event));
    if (past !== undefined) return Promise.resolve(past.event);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} ${JSON.stringify(params)} on ${term}; seen ${JSON.stringify(this.names())}`)), timeoutMs);
      this.#waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  names(term?: string): string[] {
    return this.seen.filter((s) => term === undefined || s.term === term).map((s) => `${s.term}:${s.event.name}${JSON.stringify(Object.fromEntries((s.event.params ?? []).map((p) => [p.name, p.value])))}`);
  }

  count(term: string, name: string): number {
    return this.seen.filter((s) => s.term === term && s.event.name === name).length;
  }
}

/** An observed parameter's value, unquoted. */
export function paramOf(e: ObservedEvent, name: string): string | undefined {
  const v = e.params?.find((p) => p.name === name)?.value;
  return v !== undefined && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** A TCP server on loopback (port 0 unless given) whose first accepted socket is awaited. */
export async function peerServer(port = 0, host = LO): Promise<{ server: Server; port: number; accepted: Promise<Socket>; acceptedAt: Promise<number> }> {
  const server = createServer({ allowHalfOpen: true });
  let resolveAt!: (n: number) => void;
  const acceptedAt = new Promise<number>((r) => (resolveAt = r));
  const accepted = new Promise<Socket>((resolve) =>
    server.once('connection', (s) => {
      resolveAt(performance.now());
      s.on('error', () => undefined);
      resolve(s);
    }),
  );
  server.listen(port, host);
  await once(server, 'listening');
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { server, port: addr.port, accepted, acceptedAt };
}

export interface DialOptions {
  host?: string;
  localAddress?: string;
  localPort?: number;
}

/** Connects to host:port (half-open allowed); resolves once connected. */
export async function dial(port: number, options: DialOptions = {}): Promise<Socket> {
  const s = connect({
    host: options.host ?? LO,
    port,
    allowHalfOpen: true,
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    ...(options.localPort !== undefined ? { localPort: options.localPort, localAddress: options.localAddress ?? LO } : {}),
  });
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

/** Reads until `n` bytes arrived. */
export function readBytes(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer): void => {
      parts.push(d);
      got += d.length;
      if (got >= n) {
        s.off('data', onData);
        s.off('close', onClose);
        s.pause();
        resolve(Buffer.concat(parts));
      }
    };
    const onClose = (): void => reject(new Error(`closed after ${got} of ${n} bytes`));
    s.on('data', onData);
    s.once('close', onClose);
    s.resume();
  });
}

/** Reads everything until the peer's FIN. */
export function readToEnd(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
    s.resume();
  });
}

/**
 * Resolves when the socket closes; `reset` tells whether an RST ended it (ECONNRESET, or EPIPE
 * for a write after the peer's FIN and RST), `errno` what the socket reported.
 */
export function closed(s: Socket): Promise<{ reset: boolean; errno?: string }> {
  return new Promise((resolve) => {
    let errno: string | undefined;
    s.on('error', (e: NodeJS.ErrnoException) => (errno ??= e.code));
    const done = (): void => resolve({ reset: errno === 'ECONNRESET' || errno === 'EPIPE', ...(errno !== undefined ? { errno } : {}) });
    if (s.destroyed) done();
    else s.once('close', done);
  });
}

/**
 * Connects to a port that may not listen yet (the gateway binds it just after the reply): retries
 * while refused. Other errors (a reset by the gateway) are thrown.
 */
export async function dialRetry(port: number, options: DialOptions = {}, deadlineMs = 5000): Promise<Socket> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await dial(port, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > end) throw e;
      await new Promise((r) => setImmediate(r));
    }
  }
}

/** A connection the gateway is expected to refuse: true when it was reset (at or after connect). */
export async function refused(port: number, options: DialOptions = {}): Promise<boolean> {
  let s: Socket;
  try {
    s = await dialRetry(port, options);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ECONNRESET';
  }
  s.resume();
  return (await closed(s)).reset;
}
