/**
 * The MSRP-aware hop (PROFILE §6; STANDARDS §4.6): the gateway as a back-to-back MSRP endpoint
 * between two legs, each with its own URI (our Local `a=path`) and peer path (Remote `a=path`).
 *
 * For a frame read on leg X and sent on leg Y (RFC 4975 semantics, the gateway being the next hop):
 * - Request: its first To-Path URI must be our URI on X (RFC 4975 §6.1 comparison), or, when X's
 *   Remote carries `a=msrp-cema`, have our session id (RFC 6714: CEMA peers match by session id
 *   only, their addresses being NAT-ed). Otherwise X is answered 481 (400 without To-Path) and nothing
 *   is forwarded; REPORTs and requests with `Failure-Report: no` get no response (RFC 4975 §7.1.2, §7.2).
 *   Forwarded: To-Path = Y's peer path, From-Path = our URI on Y; every other header (Message-ID,
 *   Byte-Range, Success-Report, Failure-Report, Status, Content-*, extensions) and the data are kept.
 * - Response: matched to the request we forwarded on X (by transaction id); sent on Y with the
 *   transaction id Y's peer used, To-Path = the previous hop of that request (first From-Path URI),
 *   From-Path = our URI on Y. A response the table no longer holds (a peer pipelining beyond
 *   `maxPendingTransactions`) goes back with its id as it is (ids are kept unless renumbered) and
 *   To-Path = the first URI of Y's peer path; counted. Nothing waits on the table, so a peer
 *   pipelining thousands of chunks is never stalled by it.
 * - Transaction ids are kept, except when one would collide with a transaction still waiting for a
 *   response on Y's connection; then a fresh one is used and the response mapped back. The table of
 *   waiting transactions per connection is bounded (oldest forgotten first).
 * So each side sees only our URI and its own peer's path; chunks stream through (header block
 * rewritten, data passed as it arrives), never buffered whole.
 *
 * A source that breaks mid-chunk (framing error or connection end) leaves the other side's stream
 * consistent: the chunk is closed with the `#` flag (message abandoned, RFC 4975 §7.1.1).
 *
 * Transport-free, in the shape of the TCP plane's per-direction stage: `receive(X, bytes)` returns
 * the bytes to write towards the other leg's peer, in order. Our own answers to X's peer (481, 400)
 * go through X's `reply` output, which must deliver them in order with what is relayed to X; they
 * are held while a frame relayed to X is still open (a frame cannot be interrupted, RFC 4975 §5.1)
 * and sent once it ends. Framing errors are reported (`onFramingError`): the caller disconnects
 * that peer.
 */
import { randomBytes } from 'node:crypto';
import {
  MsrpParser,
  formatEnd,
  formatFrame,
  formatHead,
  headerValue,
  type MsrpFlag,
  type MsrpFrameSink,
  type MsrpFramingError,
  type MsrpFramingLimits,
  type MsrpHead,
  type MsrpHeader,
} from './framing.js';
import { firstPathUri, parseMsrpUri, sameMsrpUri, type MsrpUri } from './uri.js';

export type MsrpSide = 'a' | 'b';

/** Our own answers to a leg's peer; must stay in order with what is relayed to that peer. */
export interface MsrpOutput {
  write(data: Buffer): void;
}

/** Answers held for a leg while a relayed frame is open on it; beyond this they are dropped. */
const MAX_DEFERRED_REPLIES = 64;

export interface MsrpLegConfig {
  /** Our URI on this leg (Local `a=path`). */
  readonly localUri: string;
  /** The peer's path (Remote `a=path`): To-Path of what we send on this leg. */
  readonly remotePath: readonly string[];
  /** Remote `a=msrp-cema` (RFC 6714): sessions matched by session id only. */
  readonly cema: boolean;
}

/** Counters of one leg (msrpstat statistics and metrics read them). Plain numbers, updated in place. */
export interface MsrpLegCounters {
  /** Requests received on / sent on this leg. */
  requestsReceived: number;
  requestsSent: number;
  responsesReceived: number;
  responsesSent: number;
  /** MSRP bytes read from / written to this leg's connection. */
  bytesReceived: number;
  bytesSent: number;
  /** Requests refused for an unknown session (481, or dropped REPORTs). */
  unknownSession: number;
  /** Requests refused as malformed (400). */
  malformed: number;
  /** Responses to no transaction we remember: relayed with their id as it is. */
  unmatchedResponses: number;
  /** Transaction ids renumbered to stay unique on this connection. */
  remappedTransactions: number;
  framingErrors: number;
}

export function newMsrpLegCounters(): MsrpLegCounters {
  return {
    requestsReceived: 0,
    requestsSent: 0,
    responsesReceived: 0,
    responsesSent: 0,
    bytesReceived: 0,
    bytesSent: 0,
    unknownSession: 0,
    malformed: 0,
    unmatchedResponses: 0,
    remappedTransactions: 0,
    framingErrors: 0,
  };
}

/** Optional per-frame observer (Prometheus): method '' is a response; direction from the leg's view. */
export interface MsrpObserver {
  frame(side: MsrpSide, direction: 'rx' | 'tx', method: string): void;
  bytes(side: MsrpSide, direction: 'rx' | 'tx', n: number): void;
  unknownSession(side: MsrpSide): void;
  framingError(side: MsrpSide, e: MsrpFramingError): void;
}

export interface MsrpRelayOptions {
  readonly a: MsrpLegConfig;
  readonly b: MsrpLegConfig;
  readonly limits?: Partial<MsrpFramingLimits>;
  /** Transactions remembered per connection while waiting for their response (`msrp.maxPendingTransactions`). */
  readonly maxPendingTransactions?: number;
  /** Counters to update (the stream's), else fresh ones. */
  readonly counters?: { readonly a: MsrpLegCounters; readonly b: MsrpLegCounters };
  readonly observer?: MsrpObserver;
  /** A peer broke the framing or a limit: disconnect it (its parser has stopped). */
  readonly onFramingError?: (side: MsrpSide, e: MsrpFramingError) => void;
}

interface Pending {
  /** Transaction id the request had on the other leg. */
  readonly tid: string;
  /** First From-Path URI of the request there: To-Path of the response (RFC 4975 §7.2). */
  readonly prevHop: string;
}

class Leg {
  readonly side: MsrpSide;
  config: MsrpLegConfig;
  counters: MsrpLegCounters;
  /** Parsed localUri (undefined if it does not parse: every request is then refused). */
  uri: MsrpUri | undefined;
  remotePath: string;
  /** Where our own answers to this leg's peer go. */
  out: MsrpOutput | undefined;
  /** While the other leg's bytes are being processed: what goes to this leg's peer, in order. */
  collector: Buffer[] | undefined;
  /** A frame relayed to this leg's peer has begun and not ended: our answers must wait. */
  midFrame = false;
  /** Our answers waiting for the frame to end. */
  deferred: Buffer[] = [];
  /** Requests we sent on this leg's connection that wait for a response, by the id used here. */
  readonly pending = new Map<string, Pending>();

  constructor(side: MsrpSide, config: MsrpLegConfig, counters: MsrpLegCounters) {
    this.side = side;
    this.counters = counters;
    this.config = config;
    this.uri = parseMsrpUri(config.localUri);
    this.remotePath = config.remotePath.join(' ');
  }

  set(config: MsrpLegConfig): void {
    this.config = config;
    this.uri = parseMsrpUri(config.localUri);
    this.remotePath = config.remotePath.join(' ');
  }

  /** Can requests be relayed to this leg (our URI and the peer's path known)? */
  get usable(): boolean {
    return this.uri !== undefined && this.remotePath !== '';
  }

  /** Is this To-Path URI ours on this leg? */
  matches(u: MsrpUri | undefined): boolean {
    const ours = this.uri;
    if (u === undefined || ours === undefined) return false;
    if (this.config.cema) return u.sessionId !== undefined && u.sessionId === ours.sessionId;
    return sameMsrpUri(u, ours);
  }
}

const TO_PATH = 'to-path';
const FROM_PATH = 'from-path';

/** A fresh transaction id (RFC 4975 ident): 24 hex digits. */
function newTransactionId(): string {
  return randomBytes(12).toString('hex');
}

function rewrite(headers: readonly MsrpHeader[], toPath: string, fromPath: string): MsrpHeader[] {
  const out: MsrpHeader[] = [];
  for (const h of headers) {
    const l = h.name.length === 7 || h.name.length === 9 ? h.name.toLowerCase() : '';
    if (l === TO_PATH) out.push({ name: 'To-Path', value: toPath });
    else if (l === FROM_PATH) out.push({ name: 'From-Path', value: fromPath });
    else out.push(h);
  }
  return out;
}

/** One direction: frames read on `src`, forwarded on `dst`. */
class Direction implements MsrpFrameSink {
  readonly parser: MsrpParser;
  readonly #relay: MsrpRelay;
  readonly #src: Leg;
  readonly #dst: Leg;
  /** The current frame goes to dst (else it is being discarded). */
  #forward = false;
  #outTid = '';
  #hasBody = false;
  /** Inside a frame whose head was forwarded (an end-line is owed to dst). */
  #open = false;

  constructor(relay: MsrpRelay, src: Leg, dst: Leg, limits: Partial<MsrpFramingLimits> | undefined) {
    this.#relay = relay;
    this.#src = src;
    this.#dst = dst;
    this.parser = new MsrpParser(this, limits);
  }

  head(h: MsrpHead): void {
    const obs = this.#relay.observer;
    obs?.frame(this.#src.side, 'rx', h.kind === 'request' ? h.method : '');
    this.#hasBody = h.hasBody;
    this.#forward = false;
    if (h.kind === 'request') {
      this.#src.counters.requestsReceived++;
      this.#request(h);
    } else {
      this.#src.counters.responsesReceived++;
      this.#response(h);
    }
  }

  #request(h: MsrpHead): void {
    const src = this.#src;
    const dst = this.#dst;
    const toPath = headerValue(h, 'To-Path');
    const fromPath = headerValue(h, 'From-Path');
    const failureReport = headerValue(h, 'Failure-Report')?.trim().toLowerCase();
    // RFC 4975 §7.1.2, §7.2: no response to REPORT, nor when the sender asked for none
    const wantsResponse = h.method !== 'REPORT' && failureReport !== 'no';
    if (toPath === undefined || fromPath === undefined) {
      src.counters.malformed++;
      if (wantsResponse && fromPath !== undefined) this.#reply(h, fromPath, 400, 'Unintelligible');
      return;
    }
    if (!src.matches(parseMsrpUri(firstPathUri(toPath)))) {
      src.counters.unknownSession++;
      this.#relay.observer?.unknownSession(src.side);
      if (wantsResponse) this.#reply(h, fromPath, 481, 'Session does not exist');
      return;
    }
    if (!dst.usable) {
      // the other leg has no path yet (no Remote): as if the session were not there yet
      src.counters.unknownSession++;
      this.#relay.observer?.unknownSession(src.side);
      if (wantsResponse) this.#reply(h, fromPath, 481, 'Session does not exist');
      return;
    }
    let tid = h.transactionId;
    if (dst.pending.has(tid)) {
      tid = newTransactionId();
      dst.counters.remappedTransactions++;
    }
    if (wantsResponse) this.#relay.remember(dst, tid, { tid: h.transactionId, prevHop: firstPathUri(fromPath) });
    const head = formatHead({ ...h, transactionId: tid, headers: rewrite(h.headers, dst.remotePath, dst.config.localUri) });
    this.#begin(tid);
    dst.counters.requestsSent++;
    this.#relay.observer?.frame(dst.side, 'tx', h.method);
    this.#relay.send(dst, Buffer.from(head, 'latin1'));
  }

  #response(h: MsrpHead): void {
    const src = this.#src;
    const dst = this.#dst;
    const p = src.pending.get(h.transactionId);
    let tid = h.transactionId;
    let prevHop: string;
    if (p !== undefined) {
      src.pending.delete(h.transactionId);
      tid = p.tid;
      prevHop = p.prevHop;
    } else {
      // forgotten (a peer pipelining more than the table holds) or never ours: the id was kept when
      // relayed, so it goes back as it is, to the previous hop the signalling gave; a peer that does
      // not know it ignores it
      src.counters.unmatchedResponses++;
      prevHop = dst.config.remotePath[0] ?? '';
      if (prevHop === '') return;
    }
    const head = formatHead({ ...h, transactionId: tid, headers: rewrite(h.headers, prevHop, dst.config.localUri) });
    this.#begin(tid);
    dst.counters.responsesSent++;
    this.#relay.observer?.frame(dst.side, 'tx', '');
    this.#relay.send(dst, Buffer.from(head, 'latin1'));
  }

  #begin(tid: string): void {
    this.#forward = true;
    this.#open = true;
    this.#outTid = tid;
    this.#dst.midFrame = true;
  }

  /** The relayed frame ended (or was abandoned): answers held for dst may go now. */
  #close(): void {
    this.#forward = false;
    this.#open = false;
    const dst = this.#dst;
    dst.midFrame = false;
    if (dst.deferred.length > 0) {
      const held = dst.deferred;
      dst.deferred = [];
      for (const b of held) this.#relay.send(dst, b);
    }
  }

  /** Answers a request on its own leg (RFC 4975 §7.2: To-Path the previous hop, From-Path us). */
  #reply(h: MsrpHead, fromPath: string, status: number, comment: string): void {
    const src = this.#src;
    if (src.out === undefined && src.collector === undefined) return;
    const frame = formatFrame(
      {
        kind: 'response',
        transactionId: h.transactionId,
        method: '',
        status,
        comment,
        headers: [
          { name: 'To-Path', value: firstPathUri(fromPath) },
          { name: 'From-Path', value: src.config.localUri },
        ],
        hasBody: false,
      },
      undefined,
    );
    if (src.midFrame) {
      // a frame relayed to this peer is open: the answer follows its end-line
      if (src.deferred.length >= MAX_DEFERRED_REPLIES) return;
      src.deferred.push(frame);
    } else {
      this.#relay.send(src, frame);
    }
    src.counters.responsesSent++;
    this.#relay.observer?.frame(src.side, 'tx', '');
  }

  body(data: Buffer): void {
    if (this.#forward) this.#relay.send(this.#dst, data);
  }

  end(flag: MsrpFlag): void {
    if (this.#forward) {
      this.#relay.send(this.#dst, Buffer.from(formatEnd(this.#outTid, flag, this.#hasBody), 'latin1'));
      this.#close();
    }
  }

  error(e: MsrpFramingError): void {
    this.#src.counters.framingErrors++;
    this.abandon();
    this.#relay.framingError(this.#src.side, e);
  }

  /** The source stopped mid-frame: close the forwarded chunk as abandoned so dst stays in sync. */
  abandon(): void {
    if (this.#open && this.#forward) {
      this.#relay.send(this.#dst, Buffer.from(formatEnd(this.#outTid, '#', this.#hasBody), 'latin1'));
      this.#close();
    }
  }
}

export class MsrpRelay {
  readonly a: Leg;
  readonly b: Leg;
  readonly observer: MsrpObserver | undefined;
  readonly #fromA: Direction;
  readonly #fromB: Direction;
  readonly #maxPending: number;
  readonly #outA: Buffer[] = [];
  readonly #outB: Buffer[] = [];
  readonly #onFramingError: ((side: MsrpSide, e: MsrpFramingError) => void) | undefined;
  #closed = false;

  constructor(options: MsrpRelayOptions) {
    this.a = new Leg('a', options.a, options.counters?.a ?? newMsrpLegCounters());
    this.b = new Leg('b', options.b, options.counters?.b ?? newMsrpLegCounters());
    this.observer = options.observer;
    this.#maxPending = Math.max(1, options.maxPendingTransactions ?? 1024);
    this.#onFramingError = options.onFramingError;
    this.#fromA = new Direction(this, this.a, this.b, options.limits);
    this.#fromB = new Direction(this, this.b, this.a, options.limits);
  }

  /** Counters of a leg. */
  counters(side: MsrpSide): MsrpLegCounters {
    return this.#leg(side).counters;
  }

  /**
   * A leg has a new connection (or none): `reply` is where our answers to its peer go. Transactions
   * waiting on the leg are kept: requests relayed before its connection came up (delayed
   * establishment holds them) are answered on it; stale ones age out of the bounded table.
   */
  attach(side: MsrpSide, reply: MsrpOutput | undefined): void {
    this.#leg(side).out = reply;
  }

  /** A Modify changed a leg's URI, peer path or CEMA flag. */
  update(side: MsrpSide, config: MsrpLegConfig): void {
    this.#leg(side).set(config);
  }

  /** Counts a leg into these counters from now on (a stream's, when it joins the session later). */
  useCounters(side: MsrpSide, counters: MsrpLegCounters): void {
    this.#leg(side).counters = counters;
  }

  /**
   * Bytes read on a leg → the bytes to write to the other leg's peer, in order (often several). The
   * array is reused by the next call for this leg: consume it at once.
   */
  receive(side: MsrpSide, data: Buffer): Buffer[] {
    if (this.#closed) return [];
    const src = this.#leg(side);
    src.counters.bytesReceived += data.length;
    this.observer?.bytes(side, 'rx', data.length);
    return this.#collect(side, () => (side === 'a' ? this.#fromA : this.#fromB).parser.push(data));
  }

  /**
   * The connection of a leg ended (or was replaced) → bytes for the other leg's peer: a chunk it
   * left open is closed there as abandoned (`#`).
   */
  ended(side: MsrpSide): Buffer[] {
    if (this.#closed) return [];
    return this.#collect(side, () => (side === 'a' ? this.#fromA : this.#fromB).abandon());
  }

  #collect(side: MsrpSide, work: () => void): Buffer[] {
    const dst = side === 'a' ? this.b : this.a;
    // one array per direction, reused: the caller consumes it before the next read
    const out = side === 'a' ? this.#outA : this.#outB;
    out.length = 0;
    dst.collector = out;
    try {
      work();
    } finally {
      dst.collector = undefined;
    }
    return out;
  }

  /** True when the leg's parser stopped on a framing error. */
  failed(side: MsrpSide): boolean {
    return (side === 'a' ? this.#fromA : this.#fromB).parser.failed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const leg of [this.a, this.b]) {
      leg.out = undefined;
      leg.pending.clear();
      leg.deferred = [];
    }
  }

  /** @internal bytes for a leg's peer: into the collector while the other leg is processed, else our reply path. */
  send(leg: Leg, data: Buffer): void {
    if (this.#closed) return;
    const c = leg.collector;
    if (c !== undefined) c.push(data);
    else if (leg.out !== undefined) leg.out.write(data);
    else return;
    leg.counters.bytesSent += data.length;
    this.observer?.bytes(leg.side, 'tx', data.length);
  }

  /** @internal a request forwarded on `leg` waits for its response; bounded, oldest forgotten first. */
  remember(leg: Leg, tid: string, p: Pending): void {
    leg.pending.set(tid, p);
    if (leg.pending.size > this.#maxPending) {
      const oldest = leg.pending.keys().next().value;
      if (oldest !== undefined) leg.pending.delete(oldest);
    }
  }

  /** @internal */
  framingError(side: MsrpSide, e: MsrpFramingError): void {
    this.observer?.framingError(side, e);
    this.#onFramingError?.(side, e);
  }

  #leg(side: MsrpSide): Leg {
    return side === 'a' ? this.a : this.b;
  }
}
