/**
 * `trgwd mgc`: a minimal H.248 controller (MGC) for people, tests and benchmarks.
 *
 *   trgwd mgc --listen ADDR:PORT [--transport udp|tcp] [--script FILE] [--encoding pretty|compact]
 *             [--timeout MS] [--register-timeout MS]
 *
 * It listens where the gateway's `control.controllers` points, answers the gateway's registration
 * (ServiceChange on ROOT, H.248.1 §11.2) and, with a script, plays it: one transaction per step, the
 * final reply awaited (Pending extends the wait, §8.2.3; ImmAckRequired is acknowledged with a
 * TransactionResponseAck, Annex D.1.4), values captured from replies for later steps. Every message
 * is printed as one JSON line on stdout (`{"dir":"in"|"out", ...}`); Notify requests are answered.
 * Script format: docs/MGC.md. Exit code 0 when every step got what it expected, 1 otherwise.
 *
 * The `Mgc` class is the engine; golden tests, system tests and bench/control.ts drive it directly.
 */
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { decodeMessage, encodeMessage, messageToJSON } from '../control/codec/index.js';
import type {
  ActionReply,
  CommandReply,
  EncodingStyle,
  ErrorDescriptor,
  Message,
  MId,
  NotifyRequest,
  ServiceChangeParms,
  ServiceChangeRequest,
  Transaction,
  TransactionReply,
  TransactionRequest,
} from '../control/codec/model.js';
import {
  TcpControlTransport,
  UdpControlTransport,
  formatEndpoint,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransport,
  type ControlTransportKind,
} from '../control/transport/index.js';
import { errorMessage } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// The engine

/** One line of the trace: what was received or sent, as the codec's JSON. */
export type MgcTrace =
  | { dir: 'in'; from: string; transport: ControlTransportKind; message: unknown }
  | { dir: 'in'; from: string; transport: ControlTransportKind; error: string; text: string }
  | { dir: 'out'; to: string; transport: ControlTransportKind; message: unknown }
  | { dir: 'out'; to: string; transport: ControlTransportKind; text: string };

/** The gateway's registration as received. */
export interface Registration {
  readonly peer: ControlPeer;
  /** Version the gateway offered (`Version =` in its Services), if any. */
  readonly offered: number | undefined;
  /** Version agreed: what we answered (the offer, capped by our maximum). */
  readonly version: number;
  readonly method: string | undefined;
  readonly reason: string | undefined;
  readonly request: ServiceChangeRequest;
  readonly message: Message;
}

/** What the MGC answers to a ServiceChange on ROOT: reply Services, an error, or nothing at all. */
export type ServiceChangeAnswer = { services?: ServiceChangeParms } | { error: ErrorDescriptor } | 'ignore';

export interface MgcOptions {
  /** Where to listen (the gateway's `control.controllers` entry). Port 0: any free port. */
  readonly listen: ControlEndpoint;
  readonly transport?: ControlTransportKind;
  /** Our mId; default `[listen address]:port`. */
  readonly mid?: MId;
  /** Style of the messages we build (requests written in scripts are re-encoded in it). Default pretty. */
  readonly encoding?: EncodingStyle;
  /** Highest version we accept (the reply to a registration offers min(offer, this)). Default 3. */
  readonly maxVersion?: number;
  /** Answer Notify requests (default true). */
  readonly answerNotify?: boolean;
  /** Decides the reply to each ServiceChange on ROOT (default: accept, with the agreed Version). */
  readonly onServiceChange?: (sc: ServiceChangeRequest, message: Message) => ServiceChangeAnswer | undefined;
  /** Trace of every message (JSON-able). Absent: nothing is converted (fast path for benchmarks). */
  readonly onTrace?: (t: MgcTrace) => void;
  /** UDP: first retransmission of our requests, ms (doubles each time; 0: never). Default 1000. */
  readonly retransmitMs?: number;
}

export interface RequestOptions {
  /** Give up on a final reply after this long (each Pending restarts the wait). Default 5000. */
  readonly timeoutMs?: number;
  /**
   * Send the text exactly as written (after `{{tid}}` is filled): no decoding and re-encoding, for
   * deliberately broken requests. The reply is matched by the `Transaction = N` read from the text;
   * a message-level `Error` reply settles it too.
   */
  readonly raw?: boolean;
}

export interface RequestOutcome {
  readonly tid: number;
  /** The final reply (absent when the gateway answered the whole message with an Error). */
  readonly reply: TransactionReply | undefined;
  /** The message that carried it. */
  readonly message: Message;
  /** Pending messages received before it. */
  readonly pendings: number;
  /** Round trip in ms (high resolution). */
  readonly ms: number;
  /** Every error descriptor in the reply (transaction, action, command and message level). */
  readonly errors: ErrorDescriptor[];
}

interface Outstanding {
  readonly tid: number;
  readonly bytes: Buffer;
  readonly raw: boolean;
  readonly t0: number;
  readonly timeoutMs: number;
  pendings: number;
  timer: NodeJS.Timeout | undefined;
  retransmit: NodeJS.Timeout | undefined;
  retransmitMs: number;
  resolve(o: RequestOutcome): void;
  reject(e: Error): void;
}

/** A Notify received from the gateway. */
export interface ReceivedNotify {
  readonly tid: number;
  readonly contextId: number | string;
  readonly command: NotifyRequest;
  readonly message: Message;
}

const REPLY_CACHE_SIZE = 1024;

/**
 * A controller on one transport. Keeps the gateway's address from its registration and talks to it
 * there: UDP replies and requests go to the registration's source address (H.248.1 §9: responses to
 * the source; we do not honour ServiceChangeAddress here), TCP ones over the connection the gateway
 * opened.
 */
export class Mgc {
  readonly transportKind: ControlTransportKind;
  readonly encoding: EncodingStyle;
  readonly maxVersion: number;
  #mid: MId;
  readonly #opts: MgcOptions;
  readonly #transport: UdpControlTransport | TcpControlTransport;
  #gateway: ControlPeer | undefined;
  #registration: Registration | undefined;
  #version: number;
  #nextTid = 1;
  readonly #outstanding = new Map<number, Outstanding>();
  /** Raw requests whose id could not be read: they settle on a message-level error. */
  readonly #rawNoId: Outstanding[] = [];
  /** Our replies to the gateway's requests, for its retransmissions (at-most-once, D.1.1). */
  readonly #replies = new Map<string, Buffer>();
  readonly #registrationWaiters: ((r: Registration) => void)[] = [];
  readonly #notifies: ReceivedNotify[] = [];
  readonly #notifyWaiters: ((n: ReceivedNotify) => void)[] = [];
  #muted = false;
  #closed = false;

  constructor(opts: MgcOptions) {
    this.#opts = opts;
    this.transportKind = opts.transport ?? 'udp';
    this.encoding = opts.encoding ?? 'pretty';
    this.maxVersion = opts.maxVersion ?? 3;
    this.#version = this.maxVersion;
    this.#mid = opts.mid ?? midOf(opts.listen);
    const common = {
      address: opts.listen.address,
      port: opts.listen.port,
      onMessage: (bytes: Buffer, peer: ControlPeer) => this.#onMessage(bytes, peer),
    };
    this.#transport =
      this.transportKind === 'udp' ? new UdpControlTransport(common) : new TcpControlTransport(common);
  }

  /** Binds the listening socket; returns the real endpoint (port 0 → the one the OS chose). */
  async start(): Promise<ControlEndpoint> {
    const ep = await this.#transport.listen();
    if (this.#opts.mid === undefined) this.#mid = midOf(ep);
    return ep;
  }

  get endpoint(): ControlEndpoint {
    return this.#transport.address();
  }

  get transport(): ControlTransport {
    return this.#transport;
  }

  get registration(): Registration | undefined {
    return this.#registration;
  }

  /** The protocol version used in our messages (agreed at registration). */
  get version(): number {
    return this.#version;
  }

  get mid(): MId {
    return this.#mid;
  }

  /** Requests sent and not yet finally answered. */
  get outstanding(): number {
    return this.#outstanding.size + this.#rawNoId.length;
  }

  /** A muted controller receives but neither answers nor settles anything: a controller that is gone. */
  mute(muted = true): void {
    this.#muted = muted;
  }

  /** Resolves with the next registration (or the current one when `fresh` is false and one exists). */
  waitRegistered(timeoutMs: number, fresh = false): Promise<Registration> {
    if (!fresh && this.#registration !== undefined) return Promise.resolve(this.#registration);
    return withDeadline<Registration>(
      (resolve) => {
        this.#registrationWaiters.push(resolve);
        return () => remove(this.#registrationWaiters, resolve);
      },
      timeoutMs,
      () => `no registration (ServiceChange) from the gateway within ${timeoutMs} ms`,
    );
  }

  /** Resolves with the next Notify from the gateway (queued ones first). */
  waitNotify(timeoutMs: number): Promise<ReceivedNotify> {
    const queued = this.#notifies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return withDeadline<ReceivedNotify>(
      (resolve) => {
        this.#notifyWaiters.push(resolve);
        return () => remove(this.#notifyWaiters, resolve);
      },
      timeoutMs,
      () => `no Notify from the gateway within ${timeoutMs} ms`,
    );
  }

  /** A fresh transaction id (for callers building whole messages themselves). */
  nextTid(): number {
    const tid = this.#nextTid;
    this.#nextTid = tid >= 0xfffffffe ? 1 : tid + 1;
    return tid;
  }

  /** `MEGACO/<v> <mid>` as our messages begin. */
  header(style: EncodingStyle = this.encoding): string {
    return `${style === 'compact' ? '!' : 'MEGACO'}/${this.#version} ${formatMid(this.#mid)}`;
  }

  /**
   * Sends one transaction and resolves with its final reply. `text` is the actions of the
   * transaction (`Context = $ { Add = ... }`), a whole `Transaction = ... { ... }`, or a whole
   * message (`MEGACO/3 ...`); `{{tid}}` in it is replaced by the transaction id. Unless `raw`, the
   * text is decoded (so a typo fails here with the codec's message) and re-encoded in our style.
   */
  async request(text: string, opts: RequestOptions = {}): Promise<RequestOutcome> {
    const gw = this.#gateway;
    if (gw === undefined) throw new Error('the gateway has not registered yet');
    let tid = this.nextTid();
    const filled = text.replaceAll('{{tid}}', String(tid));
    const shape = shapeOf(filled);
    const full =
      shape === 'message'
        ? filled
        : shape === 'transaction'
          ? `${this.header('pretty')}\n${filled.trim()}\n`
          : `${this.header('pretty')}\nTransaction = ${tid} {\n${filled.trim()}\n}\n`;
    let bytes: Buffer;
    let explicitId: number | undefined;
    if (opts.raw === true) {
      bytes = Buffer.from(full, 'utf8');
      explicitId = shape === 'actions' ? tid : rawTransactionId(full);
    } else {
      const msg = decodeMessage(full);
      const requests = msg.transactions.filter((t): t is TransactionRequest => t.kind === 'request');
      if (requests.length !== 1 || msg.transactions.length !== 1) {
        throw new Error(
          `a step sends exactly one transaction request, this text has ${msg.transactions.length} transactions`,
        );
      }
      explicitId = requests[0]!.id;
      bytes = Buffer.from(encodeMessage(msg, { style: this.encoding }), 'utf8');
    }
    if (explicitId !== undefined) tid = explicitId;
    if (explicitId !== undefined && this.#outstanding.has(tid)) {
      throw new Error(`transaction ${tid} is already outstanding`);
    }
    return this.#send(
      tid,
      bytes,
      opts.raw === true && explicitId === undefined,
      opts.timeoutMs ?? 5000,
      opts.raw === true,
    );
  }

  /**
   * Sends an already built message (bench fast path: no decode, no encode) whose one transaction
   * has id `tid` (from `nextTid()`), and resolves with its final reply.
   */
  requestBytes(tid: number, bytes: Buffer, timeoutMs = 5000): Promise<RequestOutcome> {
    if (this.#gateway === undefined) return Promise.reject(new Error('the gateway has not registered yet'));
    return this.#send(tid, bytes, false, timeoutMs, true);
  }

  /** Sends bytes to the gateway as they are (no transaction bookkeeping). */
  sendRaw(bytes: Uint8Array): boolean {
    const gw = this.#gateway;
    if (gw === undefined) return false;
    this.#traceOut(gw, bytes);
    return gw.send(bytes);
  }

  #send(tid: number, bytes: Buffer, noId: boolean, timeoutMs: number, raw: boolean): Promise<RequestOutcome> {
    const gw = this.#gateway!;
    return new Promise<RequestOutcome>((resolve, reject) => {
      const o: Outstanding = {
        tid,
        bytes,
        raw,
        t0: performance.now(),
        timeoutMs,
        pendings: 0,
        timer: undefined,
        retransmit: undefined,
        retransmitMs: this.#opts.retransmitMs ?? 1000,
        resolve,
        reject,
      };
      this.#arm(o);
      if (noId) this.#rawNoId.push(o);
      else this.#outstanding.set(tid, o);
      this.#traceOut(gw, bytes);
      if (!gw.send(bytes)) {
        this.#settle(o);
        reject(new Error(`cannot send transaction ${tid} to the gateway (${gw.key})`));
      }
    });
  }

  #arm(o: Outstanding): void {
    clearTimeout(o.timer);
    o.timer = setTimeout(() => {
      this.#settle(o);
      o.reject(
        new Error(
          `no final reply to transaction ${o.tid} within ${o.timeoutMs} ms${o.pendings > 0 ? ` (after ${o.pendings} Pending)` : ''}`,
        ),
      );
    }, o.timeoutMs);
    // UDP is unreliable: retransmit with back-off until Pending or the final reply (H.248.1 D.1.3).
    if (this.transportKind === 'udp' && o.retransmitMs > 0 && o.pendings === 0) {
      clearTimeout(o.retransmit);
      o.retransmit = setTimeout(() => this.#retransmit(o), o.retransmitMs);
    }
  }

  #retransmit(o: Outstanding): void {
    const gw = this.#gateway;
    if (gw === undefined || o.pendings > 0) return;
    this.#traceOut(gw, o.bytes);
    gw.send(o.bytes);
    o.retransmitMs = Math.min(o.retransmitMs * 2, 4000);
    o.retransmit = setTimeout(() => this.#retransmit(o), o.retransmitMs);
  }

  #settle(o: Outstanding): void {
    clearTimeout(o.timer);
    clearTimeout(o.retransmit);
    if (this.#outstanding.get(o.tid) === o) this.#outstanding.delete(o.tid);
    remove(this.#rawNoId, o);
  }

  /** Closes the socket; outstanding requests fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const o of [...this.#outstanding.values(), ...this.#rawNoId]) {
      this.#settle(o);
      o.reject(new Error('controller closed'));
    }
    await this.#transport.close();
  }

  // -- receiving

  #onMessage(bytes: Buffer, peer: ControlPeer): void {
    if (this.#closed) return;
    let msg: Message;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      this.#opts.onTrace?.({
        dir: 'in',
        from: formatEndpoint(peer.address, peer.port),
        transport: peer.transport,
        error: errorMessage(e),
        text: bytes.toString('utf8'),
      });
      return;
    }
    if (this.#opts.onTrace !== undefined) {
      this.#opts.onTrace({
        dir: 'in',
        from: formatEndpoint(peer.address, peer.port),
        transport: peer.transport,
        message: messageToJSON(msg),
      });
    }
    if (this.#muted) return;
    if (msg.error !== undefined) {
      // Message-level error (H.248.1 §8.2.2: the whole message was unreadable): it answers the
      // raw request(s) whose id we could not know, or else the oldest outstanding one.
      const o = this.#rawNoId[0] ?? [...this.#outstanding.values()].find((x) => x.raw);
      if (o !== undefined) {
        this.#settle(o);
        o.resolve({
          tid: o.tid,
          reply: undefined,
          message: msg,
          pendings: o.pendings,
          ms: performance.now() - o.t0,
          errors: [msg.error],
        });
      }
      return;
    }
    for (const t of msg.transactions) this.#onTransaction(t, msg, peer);
  }

  #onTransaction(t: Transaction, msg: Message, peer: ControlPeer): void {
    switch (t.kind) {
      case 'reply': {
        const o = this.#outstanding.get(t.id);
        if (o === undefined) return; // a late duplicate
        if (t.immAckRequired === true) this.#sendResponseAck(peer, t.id);
        if (t.segmentNumber !== undefined && t.segmentationComplete !== true) return; // v3 segments: wait for END
        this.#settle(o);
        o.resolve({
          tid: t.id,
          reply: t,
          message: msg,
          pendings: o.pendings,
          ms: performance.now() - o.t0,
          errors: replyErrors(t),
        });
        return;
      }
      case 'pending': {
        const o = this.#outstanding.get(t.id);
        if (o === undefined) return;
        o.pendings++;
        clearTimeout(o.retransmit);
        this.#arm(o);
        return;
      }
      case 'request':
        this.#onRequest(t, msg, peer);
        return;
      default:
        return; // TransactionResponseAck, Segment: nothing to do for a controller this simple
    }
  }

  #onRequest(t: TransactionRequest, msg: Message, peer: ControlPeer): void {
    const key = `${peer.key}/${t.id}`;
    const cached = this.#replies.get(key);
    if (cached !== undefined) {
      // A retransmission of a request we already answered: the same reply again (D.1.1).
      this.#traceOut(peer, cached);
      peer.send(cached);
      return;
    }
    const actions: ActionReply[] = [];
    let registration: Registration | undefined;
    let ignore = false;
    for (const a of t.actions) {
      const replies: CommandReply[] = [];
      let error: ErrorDescriptor | undefined;
      for (const c of a.commands) {
        if (error !== undefined) break;
        if (c.kind === 'serviceChange') {
          const answer = this.#answerServiceChange(c, msg, peer);
          if (answer.ignore) {
            ignore = true;
            continue;
          }
          replies.push(answer.reply);
          registration ??= answer.registration;
        } else if (c.kind === 'notify') {
          if (this.#opts.answerNotify === false) {
            ignore = true;
            continue;
          }
          replies.push({ kind: 'notify', terminationId: c.terminationId });
          const n: ReceivedNotify = { tid: t.id, contextId: a.contextId, command: c, message: msg };
          const w = this.#notifyWaiters.shift();
          if (w !== undefined) w(n);
          else this.#notifies.push(n);
        } else {
          // A gateway has no business sending us other commands (H.248.1 §7.2): not implemented here.
          error = { code: 501, text: 'Not Implemented' };
        }
      }
      actions.push(
        error !== undefined
          ? { contextId: a.contextId, commands: replies, error }
          : { contextId: a.contextId, commands: replies },
      );
    }
    if (ignore) return;
    // Our reply uses the version of the request (the agreed one once registered) and its style.
    const version = registration !== undefined ? registration.version : msg.version;
    const reply: Message = { version, mId: this.#mid, transactions: [{ kind: 'reply', id: t.id, actions }] };
    const bytes = Buffer.from(encodeMessage(reply, { style: msg.style ?? this.encoding }), 'utf8');
    this.#replies.set(key, bytes);
    if (this.#replies.size > REPLY_CACHE_SIZE) this.#replies.delete(this.#replies.keys().next().value!);
    this.#traceOut(peer, bytes);
    peer.send(bytes);
    if (registration !== undefined) {
      this.#registration = registration;
      this.#gateway = peer;
      this.#version = registration.version;
      for (const w of this.#registrationWaiters.splice(0)) w(registration);
    }
  }

  #answerServiceChange(
    c: ServiceChangeRequest,
    msg: Message,
    peer: ControlPeer,
  ): { ignore: true } | { ignore: false; reply: CommandReply; registration: Registration | undefined } {
    const custom = this.#opts.onServiceChange?.(c, msg);
    if (custom === 'ignore') return { ignore: true };
    const offered = c.services.version;
    const version = Math.min(offered ?? msg.version, this.maxVersion);
    const method = c.services.method;
    const registering =
      c.terminationId.toUpperCase() === 'ROOT' &&
      (method === 'restart' || method === 'failover' || method === 'disconnected' || method === 'handOff');
    if (custom !== undefined && 'error' in custom) {
      return {
        ignore: false,
        reply: { kind: 'serviceChange', terminationId: c.terminationId, error: custom.error },
        registration: undefined,
      };
    }
    // H.248.1 §11.3: the reply to the first ServiceChange carries the version the MGC will use.
    const services: ServiceChangeParms | undefined =
      custom?.services ?? (registering && offered !== undefined ? { version } : undefined);
    const reply: CommandReply =
      services !== undefined
        ? { kind: 'serviceChange', terminationId: c.terminationId, services }
        : { kind: 'serviceChange', terminationId: c.terminationId };
    const redirected = services?.mgcIdToTry !== undefined;
    const registration: Registration | undefined =
      registering && !redirected
        ? {
            peer,
            offered,
            version: services?.version ?? version,
            method,
            reason: c.services.reason,
            request: c,
            message: msg,
          }
        : undefined;
    return { ignore: false, reply, registration };
  }

  #sendResponseAck(peer: ControlPeer, tid: number): void {
    const ack: Message = {
      version: this.#version,
      mId: this.#mid,
      transactions: [{ kind: 'responseAck', acks: [{ first: tid }] }],
    };
    const bytes = Buffer.from(encodeMessage(ack, { style: this.encoding }), 'utf8');
    this.#traceOut(peer, bytes);
    peer.send(bytes);
  }

  #traceOut(peer: ControlEndpoint & { transport?: ControlTransportKind }, bytes: Uint8Array): void {
    const trace = this.#opts.onTrace;
    if (trace === undefined) return;
    const to = formatEndpoint(peer.address, peer.port);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    try {
      trace({ dir: 'out', to, transport: this.transportKind, message: messageToJSON(decodeMessage(text)) });
    } catch {
      trace({ dir: 'out', to, transport: this.transportKind, text });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (exported for the harnesses)

/** Every error descriptor of a reply: transaction, action, command and audit levels. */
export function replyErrors(t: TransactionReply): ErrorDescriptor[] {
  const out: ErrorDescriptor[] = [];
  if (t.error !== undefined) out.push(t.error);
  for (const a of t.actions) {
    for (const c of a.commands) {
      if ('error' in c && c.error !== undefined) out.push(c.error);
      if ('audit' in c && c.audit?.error !== undefined) out.push(c.audit.error);
      if (c.kind === 'auditValue' || c.kind === 'auditCapabilities') {
        if (c.contextError !== undefined) out.push(c.contextError);
      }
    }
    if (a.error !== undefined) out.push(a.error);
  }
  return out;
}

/** `[127.0.0.1]:2945` as a model MId. */
export function midOf(ep: ControlEndpoint): MId {
  return isIPv6(ep.address)
    ? { kind: 'ip6', address: ep.address, port: ep.port }
    : { kind: 'ip4', address: ep.address, port: ep.port };
}

export function formatMid(m: MId): string {
  switch (m.kind) {
    case 'ip4':
    case 'ip6':
      return `[${m.address}]${m.port !== undefined ? `:${m.port}` : ''}`;
    case 'domain':
      return `<${m.name}>${m.port !== undefined ? `:${m.port}` : ''}`;
    case 'mtp':
      return `MTP{${m.hex}}`;
    case 'device':
      return m.name;
  }
}

/** `127.0.0.1:2945`, `[::1]:2945` or `2945` (loopback). */
export function parseListen(s: string): ControlEndpoint {
  const text = s.trim();
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  const bare = /^(\d+)$/.exec(text);
  const [address, port] = v6
    ? [v6[1]!, v6[2]!]
    : v4
      ? [v4[1]!, v4[2]!]
      : bare
        ? ['127.0.0.1', bare[1]!]
        : [undefined, undefined];
  const n = Number(port);
  if (address === undefined || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new Error(`--listen: expected ADDR:PORT (e.g. 127.0.0.1:2945 or [::1]:2945), got '${s}'`);
  }
  return { address, port: n };
}

function shapeOf(text: string): 'message' | 'transaction' | 'actions' {
  const t = text.trimStart();
  if (/^(MEGACO|!)\s*\//i.test(t)) return 'message';
  if (/^(Transaction|T)\s*=/i.test(t)) return 'transaction';
  return 'actions';
}

function rawTransactionId(text: string): number | undefined {
  const m = /(?:^|[\s{,])(?:Transaction|T)\s*=\s*(\d+)/i.exec(text);
  return m ? Number(m[1]) : undefined;
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

function withDeadline<T>(
  register: (resolve: (v: T) => void) => () => void,
  ms: number,
  why: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const unregister = register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
    const timer = setTimeout(() => {
      unregister();
      reject(new Error(why()));
    }, ms);
  });
}

// ---------------------------------------------------------------------------------------------
// Capture paths

/**
 * Reads a value out of a reply (the TransactionReply as JSON) by a simple path:
 * `actions[0].contextId`, `actions.0.commands.1.terminationId`, `..local` (the first key `local`
 * anywhere below), then optional filters after `|`: `port` (the first m= line's port), `address`
 * (the first c= line's address), `attr:NAME` (the value of the first `a=NAME:`), `re:REGEX` (its
 * first group, or the whole match).
 */
export function capturePath(root: unknown, path: string): string | undefined {
  const [expr, ...filters] = splitFilters(path);
  let v = walk(root, expr ?? '');
  for (const f of filters) {
    if (v === undefined) return undefined;
    const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
    v = applyFilter(text, f);
  }
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? String(v)
      : JSON.stringify(v);
}

/**
 * `expr | filter | ...`: a `re:` filter is the last one and takes the rest of the path, so its
 * regular expression may hold `|` (`re:inline:([^|]+)`).
 */
function splitFilters(path: string): string[] {
  const out: string[] = [];
  let rest = path;
  for (;;) {
    const bar = rest.indexOf('|');
    const head = (bar < 0 ? rest : rest.slice(0, bar)).trim();
    if (out.length > 0 && head.startsWith('re:')) {
      out.push(rest.trim());
      return out;
    }
    out.push(head);
    if (bar < 0) return out;
    rest = rest.slice(bar + 1);
  }
}

function walk(root: unknown, expr: string): unknown {
  let cur: unknown = root;
  const re = /\.\.([A-Za-z_$][\w$]*)|\.?([A-Za-z_$][\w$]*)|\.?\[(\d+)\]|\.(\d+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    m = re.exec(expr);
    if (m === null) throw new Error(`bad capture path '${expr}' at '${expr.slice(pos)}'`);
    pos = re.lastIndex;
    if (m[1] !== undefined) cur = deepFind(cur, m[1]);
    else if (m[2] !== undefined) cur = isObject(cur) ? cur[m[2]] : undefined;
    else {
      const i = Number(m[3] ?? m[4]);
      cur = Array.isArray(cur) ? cur[i] : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function deepFind(v: unknown, key: string): unknown {
  if (!isObject(v)) return undefined;
  if (!Array.isArray(v) && key in v) return v[key];
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    const found = deepFind(child, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function applyFilter(text: string, filter: string): string | undefined {
  if (filter === 'port') return /^m=\S+\s+(\d+)/m.exec(text)?.[1];
  if (filter === 'address') return /^c=IN\s+IP[46]\s+([^\s/]+)/m.exec(text)?.[1];
  if (filter.startsWith('attr:')) {
    const name = filter.slice(5).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`^a=${name}(?::([^\\r\\n]*))?\\r?$`, 'm').exec(text);
    return m === null ? undefined : (m[1] ?? '');
  }
  if (filter.startsWith('re:')) {
    const m = new RegExp(filter.slice(3), 'm').exec(text);
    return m === null ? undefined : (m[1] ?? m[0]);
  }
  throw new Error(`unknown capture filter '${filter}' (port, address, attr:NAME, re:REGEX)`);
}

// ---------------------------------------------------------------------------------------------
// Scripts

export type StepExpectation = 'ok' | 'any' | { error: number; text?: string };

export interface MgcStep {
  readonly name: string;
  /** H.248 text: the actions, a Transaction, or a whole message. */
  readonly request?: string;
  readonly raw: boolean;
  readonly capture: Readonly<Record<string, string>>;
  readonly expect: StepExpectation;
  readonly timeoutMs: number | undefined;
  /** Pause this long (ms) instead of sending. */
  readonly sleepMs?: number;
  /** Wait for a Notify from the gateway instead of sending; captures read the Notify request. */
  readonly waitNotify?: boolean;
}

export interface MgcScript {
  readonly steps: MgcStep[];
  /** Initial placeholder values. */
  readonly vars: Readonly<Record<string, string>>;
  readonly timeoutMs: number | undefined;
}

/** Parses and checks a script (YAML text). Throws an Error naming the step and the problem. */
export function parseScript(text: string): MgcScript {
  const doc = parseYaml(text) as unknown;
  if (!isObject(doc) || Array.isArray(doc)) throw new Error('script: expected a mapping with `steps:`');
  const allowed = new Set(['steps', 'vars', 'timeout']);
  for (const k of Object.keys(doc))
    if (!allowed.has(k)) throw new Error(`script: unknown key '${k}' (steps, vars, timeout)`);
  const rawSteps = doc['steps'];
  if (!Array.isArray(rawSteps) || rawSteps.length === 0)
    throw new Error('script: `steps:` must be a non-empty list');
  const vars: Record<string, string> = {};
  if (doc['vars'] !== undefined) {
    if (!isObject(doc['vars']) || Array.isArray(doc['vars']))
      throw new Error('script: `vars:` must be a mapping');
    for (const [k, v] of Object.entries(doc['vars'])) vars[k] = String(v);
  }
  const timeout = doc['timeout'];
  if (timeout !== undefined && (typeof timeout !== 'number' || timeout <= 0))
    throw new Error('script: `timeout:` must be a positive number of ms');
  const steps = rawSteps.map((s, i) => parseStep(s, i));
  return { steps, vars, timeoutMs: timeout };
}

function parseStep(s: unknown, i: number): MgcStep {
  const where = `script: step ${i + 1}`;
  if (!isObject(s) || Array.isArray(s)) throw new Error(`${where}: expected a mapping`);
  const allowed = new Set(['name', 'request', 'raw', 'capture', 'expect', 'timeout', 'sleep', 'wait']);
  for (const k of Object.keys(s))
    if (!allowed.has(k)) throw new Error(`${where}: unknown key '${k}' (${[...allowed].join(', ')})`);
  const name = s['name'] === undefined ? `step ${i + 1}` : String(s['name']);
  const kinds = ['request', 'sleep', 'wait'].filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) throw new Error(`${where} (${name}): exactly one of request, sleep, wait`);
  const capture: Record<string, string> = {};
  if (s['capture'] !== undefined) {
    if (!isObject(s['capture']) || Array.isArray(s['capture']))
      throw new Error(`${where} (${name}): capture must map names to paths`);
    for (const [k, v] of Object.entries(s['capture'])) {
      if (!/^[A-Za-z_][\w:.-]*$/.test(k)) throw new Error(`${where} (${name}): bad capture name '${k}'`);
      if (typeof v !== 'string')
        throw new Error(`${where} (${name}): capture ${k}: the path must be a string`);
      capture[k] = v;
    }
  }
  let expect: StepExpectation = 'ok';
  const e = s['expect'];
  if (e === 'ok' || e === 'any') expect = e;
  else if (isObject(e) && !Array.isArray(e) && typeof e['error'] === 'number') {
    expect = e['text'] !== undefined ? { error: e['error'], text: String(e['text']) } : { error: e['error'] };
  } else if (e !== undefined)
    throw new Error(`${where} (${name}): expect is ok, any or { error: CODE [, text: SUBSTRING] }`);
  const timeout = s['timeout'];
  if (timeout !== undefined && (typeof timeout !== 'number' || timeout <= 0))
    throw new Error(`${where} (${name}): timeout must be a positive number of ms`);
  const base = { name, raw: s['raw'] === true, capture, expect, timeoutMs: timeout };
  if (s['request'] !== undefined) {
    if (typeof s['request'] !== 'string') throw new Error(`${where} (${name}): request must be H.248 text`);
    return { ...base, request: s['request'] };
  }
  if (s['sleep'] !== undefined) {
    if (typeof s['sleep'] !== 'number' || s['sleep'] < 0)
      throw new Error(`${where} (${name}): sleep is a number of ms`);
    return { ...base, sleepMs: s['sleep'] };
  }
  if (s['wait'] !== 'notify') throw new Error(`${where} (${name}): wait: notify is the only wait`);
  return { ...base, waitNotify: true };
}

/** Replaces `{{name}}` by its value; an unknown name is an error naming it. */
export function fillPlaceholders(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([A-Za-z_][\w:.-]*)\s*\}\}/g, (all, name: string) => {
    if (name === 'tid') return all; // filled by the engine with the transaction id
    const v = vars[name];
    if (v === undefined)
      throw new Error(
        `placeholder {{${name}}} has no value (captured so far: ${Object.keys(vars).join(', ') || 'none'})`,
      );
    return v;
  });
}

/** Does the outcome match what the step expects? Returns the reason when not. */
export function checkExpectation(
  expect: StepExpectation,
  errors: readonly ErrorDescriptor[],
): string | undefined {
  if (expect === 'any') return undefined;
  if (expect === 'ok') {
    return errors.length === 0
      ? undefined
      : `error ${errors.map((e) => `${e.code}${e.text !== undefined ? ` "${e.text}"` : ''}`).join(', ')}`;
  }
  const hit = errors.find((e) => e.code === expect.error);
  if (hit === undefined) {
    return errors.length === 0
      ? `expected error ${expect.error}, got a successful reply`
      : `expected error ${expect.error}, got ${errors.map((e) => e.code).join(', ')}`;
  }
  if (expect.text !== undefined && !(hit.text ?? '').includes(expect.text)) {
    return `error ${hit.code} text "${hit.text ?? ''}" does not contain "${expect.text}"`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The CLI command

export interface RunMgcOptions {
  /** `ADDR:PORT` or an endpoint. */
  readonly listen: string | ControlEndpoint;
  readonly transport?: ControlTransportKind;
  /** Script file (YAML); without it the controller serves (answers registration and Notify) until stopped. */
  readonly script?: string | undefined;
  readonly encoding?: EncodingStyle;
  /** Wait for each final reply, ms (default 5000). */
  readonly timeoutMs?: number;
  /** Wait for the gateway's registration, ms (default 60000). */
  readonly registerTimeoutMs?: number;
  /** Where JSON lines go (default stdout) and diagnostics (default stderr). */
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
  /** Stops a script-less run (default: SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Called once listening (tests learn the port). */
  readonly onListening?: (ep: ControlEndpoint) => void;
}

/** Runs `trgwd mgc`; resolves with the exit code (0: every step as expected). */
export async function runMgc(options: RunMgcOptions): Promise<number> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const line = (o: unknown): void => {
    out.write(`${JSON.stringify(o)}\n`);
  };
  let script: MgcScript | undefined;
  let listen: ControlEndpoint;
  try {
    listen = typeof options.listen === 'string' ? parseListen(options.listen) : options.listen;
    if (options.script !== undefined) script = parseScript(readFileSync(options.script, 'utf8'));
  } catch (e) {
    err.write(`trgwd mgc: ${errorMessage(e)}\n`);
    return 1;
  }
  const mgc = new Mgc({
    listen,
    transport: options.transport ?? 'udp',
    encoding: options.encoding ?? 'pretty',
    onTrace: line,
  });
  let ep: ControlEndpoint;
  try {
    ep = await mgc.start();
  } catch (e) {
    err.write(`trgwd mgc: ${errorMessage(e)}\n`);
    return 1;
  }
  options.onListening?.(ep);
  err.write(
    `trgwd mgc: listening on ${options.transport ?? 'udp'} ${formatEndpoint(ep.address, ep.port)}, waiting for the gateway\n`,
  );
  try {
    if (script === undefined) return await serve(mgc, options, err);
    const reg = await mgc.waitRegistered(options.registerTimeoutMs ?? 60_000);
    err.write(
      `trgwd mgc: gateway ${reg.peer.key} registered (${reg.method ?? '?'}, version ${reg.version})\n`,
    );
    return await play(mgc, script, options.timeoutMs ?? script.timeoutMs ?? 5000, line, err);
  } catch (e) {
    err.write(`trgwd mgc: ${errorMessage(e)}\n`);
    line({ done: true, ok: false, error: errorMessage(e) });
    return 1;
  } finally {
    await mgc.close();
  }
}

async function serve(mgc: Mgc, options: RunMgcOptions, err: NodeJS.WritableStream): Promise<number> {
  await new Promise<void>((resolve) => {
    if (options.signal !== undefined) {
      if (options.signal.aborted) resolve();
      options.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  err.write(`trgwd mgc: stopping${mgc.registration ? '' : ' (the gateway never registered)'}\n`);
  return 0;
}

async function play(
  mgc: Mgc,
  script: MgcScript,
  timeoutMs: number,
  line: (o: unknown) => void,
  err: NodeJS.WritableStream,
): Promise<number> {
  const vars: Record<string, string> = { ...script.vars };
  let failed = 0;
  for (const [i, step] of script.steps.entries()) {
    const n = i + 1;
    const t0 = performance.now();
    const report = (result: 'ok' | 'fail', extra: Record<string, unknown> = {}): void => {
      line({
        step: n,
        name: step.name,
        result,
        ms: Math.round((performance.now() - t0) * 10) / 10,
        ...extra,
      });
      if (result === 'fail')
        err.write(`trgwd mgc: step ${n} (${step.name}) failed: ${String(extra['reason'])}\n`);
    };
    try {
      if (step.sleepMs !== undefined) {
        await new Promise((r) => setTimeout(r, step.sleepMs));
        report('ok');
        continue;
      }
      let root: unknown;
      let errors: ErrorDescriptor[];
      const extra: Record<string, unknown> = {};
      if (step.waitNotify === true) {
        const notify = await mgc.waitNotify(step.timeoutMs ?? timeoutMs);
        root = { contextId: notify.contextId, ...notify.command };
        errors = [];
      } else {
        const outcome = await mgc.request(fillPlaceholders(step.request!, vars), {
          raw: step.raw,
          timeoutMs: step.timeoutMs ?? timeoutMs,
        });
        root = outcome.reply !== undefined ? outcome.reply : { error: outcome.message.error };
        errors = outcome.errors;
        extra['tid'] = outcome.tid;
        if (outcome.pendings > 0) extra['pendings'] = outcome.pendings;
        if (errors.length > 0) extra['errors'] = errors;
      }
      const why = checkExpectation(step.expect, errors);
      if (why !== undefined) {
        failed++;
        report('fail', { ...extra, reason: why });
        continue;
      }
      const captured: Record<string, string> = {};
      const missing: string[] = [];
      for (const [name, path] of Object.entries(step.capture)) {
        const v = capturePath(root, path);
        if (v === undefined) missing.push(`${name} (${path})`);
        else captured[name] = vars[name] = v;
      }
      if (missing.length > 0) {
        failed++;
        report('fail', { ...extra, captured, reason: `nothing at ${missing.join(', ')}` });
        continue;
      }
      report('ok', Object.keys(captured).length > 0 ? { ...extra, captured } : extra);
    } catch (e) {
      failed++;
      report('fail', { reason: errorMessage(e) });
    }
  }
  line({ done: true, ok: failed === 0, steps: script.steps.length, failed });
  return failed === 0 ? 0 : 1;
}
