/**
 * The transaction engine (the megaco "messenger"): between the control transports and the
 * association. It knows nothing of media.
 *
 * In: bytes from a transport → size check → lenient decode → per transaction:
 *   - requests: at-most-once (ReplyCache, H.248.1 D.1.1), executed in message order through the
 *     executor (the association), Pending after MGProvisionalResponseTimerValue (D.1.4) and then
 *     ImmAckRequired in the final reply, 506 past the pending limit, v3 segmentation of replies
 *     too large for a UDP datagram (else 533);
 *   - replies / Pending / segments to our own requests: resolve them (OutstandingRequests),
 *     reassemble segments, answer ImmAckRequired with TransactionResponseAck;
 *   - TransactionResponseAck and Segment replies from the controller: release cached replies,
 *     stop segment retransmission.
 * Out: `request()` sends our requests (ServiceChange, Notify) with UDP back-off and T-MAX.
 *
 * Never throws on input: bad messages are answered (400, 403/422/442...) or dropped, and counted.
 */
import { performance } from 'node:perf_hooks';
import { TrgwdError, errorMessage, isTrgwdError } from '../../errors.js';
import type { Logger } from '../../observe/log.js';
import type { Metrics } from '../../observe/metrics.js';
import { isH248CodecError } from '../codec/errors.js';
import { decodeMessageLenient, encodeMessage } from '../codec/index.js';
import type { CodecLimits } from '../codec/limits.js';
import {
  sanitizeQuoted,
  type ActionReply,
  type ActionRequest,
  type EncodingStyle,
  type ErrorDescriptor,
  type Message,
  type MId,
  type Transaction,
  type TransactionReply,
  type TransactionRequest,
} from '../codec/model.js';
import { H248_ERRORS, toH248Error } from '../errors.js';
import { TPKT_MAX_PAYLOAD } from '../transport/tpkt.js';
import type { ControlPeer, ControlTransport, ControlTransportKind } from '../transport/types.js';
import { OutstandingRequests } from './outstanding.js';
import { ReplyCache } from './reply-cache.js';
import { OutgoingSegments, ReplyReassembly, segmentReply } from './segmentation.js';

/** A controller we send requests to. */
export interface ControllerEndpoint {
  readonly address: string;
  readonly port: number;
  readonly transport: ControlTransportKind;
}

export interface EngineTimers {
  /** LONG-TIMER: replies kept for duplicates (D.1.1). */
  readonly longTimerMs: number;
  /** MGProvisionalResponseTimerValue: Pending after this, and every this while still running. */
  readonly provisionalResponseMs: number;
  readonly initialRetransmitMs: number;
  readonly maxRetransmitMs: number;
  /** T-MAX (D.1.5). */
  readonly tMaxMs: number;
}

/** What the executor learns about a received request besides the request itself. */
export interface IncomingRequestInfo {
  /** Version in the header of the message that carried it. */
  readonly messageVersion: number;
  /** The sender's mId. */
  readonly mId: MId;
  readonly peer: ControlPeer;
}

/**
 * Executes one received transaction request (the association: 505/406 checks, ROOT ServiceChange,
 * then the TransactionHandler). Resolves with the action replies; a rejection with a TrgwdError
 * becomes a transaction-level error reply (daemon/control/errors.ts).
 */
export type RequestExecutor = (request: TransactionRequest, info: IncomingRequestInfo) => Promise<ActionReply[]>;

export interface TransactionEngineOptions {
  /** Our mId (mg.mid). */
  readonly mid: MId;
  /** Protocol version of replies and requests until the association negotiates another one. */
  readonly version: number;
  /** Text style of the requests we originate (replies follow the request). */
  readonly requestStyle: EncodingStyle;
  readonly limits?: Partial<CodecLimits>;
  /** Largest message accepted (control.maxMessageBytes); larger ones are answered 400. */
  readonly maxMessageBytes: number;
  /** Largest UDP datagram we send (control.maxUdpPayload); larger v3 replies are segmented. */
  readonly maxUdpPayload: number;
  /** Pending messages sent for one transaction before it is answered 506 (MGOriginatedPendingLimit). */
  readonly pendingLimit: number;
  /** Finished transactions remembered at most (ReplyCache). */
  readonly replyCacheMaxEntries: number;
  readonly timers: EngineTimers;
  readonly execute: RequestExecutor;
  /** Any decodable message arrived from `peer` (inactivity supervision). */
  readonly onActivity?: (peer: ControlPeer) => void;
  readonly metrics?: Metrics;
  readonly log: Logger;
  /** Clock for the reply cache (tests). */
  readonly now?: () => number;
}

/** One received request while it executes. */
interface Running {
  readonly cacheKey: string;
  readonly request: TransactionRequest;
  readonly info: IncomingRequestInfo;
  readonly style: EncodingStyle;
  pendings: number;
  timer: NodeJS.Timeout | undefined;
  /** Answered 506 (pending limit) before the executor finished: its result is dropped. */
  abandoned: boolean;
}

/** All our requests share one id space (OutstandingRequests keeps ids unique), hence one key. */
const OUT = 'mgc';

const MAX_ERROR_TEXT = 200;

export class TransactionEngine {
  readonly #opts: TransactionEngineOptions;
  readonly #log: Logger;
  readonly #cache: ReplyCache;
  readonly #outstanding: OutstandingRequests<TransactionReply>;
  readonly #running = new Map<string, Running>();
  readonly #segmentsOut = new Map<string, OutgoingSegments>();
  readonly #reassembly = new Map<number, ReplyReassembly>();
  readonly #transports: Partial<Record<ControlTransportKind, ControlTransport>> = {};
  #version: number;
  #closed = false;

  constructor(opts: TransactionEngineOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#version = opts.version;
    this.#cache = new ReplyCache({
      longTimerMs: opts.timers.longTimerMs,
      maxEntries: opts.replyCacheMaxEntries,
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    });
    this.#outstanding = new OutstandingRequests<TransactionReply>({
      initialRetransmitMs: opts.timers.initialRetransmitMs,
      maxRetransmitMs: opts.timers.maxRetransmitMs,
      tMaxMs: opts.timers.tMaxMs,
      onRetransmit: () => opts.metrics?.retransmissions.inc(),
    });
  }

  /** Protocol version of what we send (the association's, once negotiated). */
  get version(): number {
    return this.#version;
  }

  set version(v: number) {
    this.#version = v;
  }

  /** Our requests still waiting for an answer. */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  /** Received transactions running or remembered (reply cache). */
  get cachedTransactions(): number {
    return this.#cache.size;
  }

  /** Segmented replies whose segments are not all confirmed yet. */
  get segmentedRepliesInFlight(): number {
    return this.#segmentsOut.size;
  }

  /** The transport used to originate requests of that kind (set by the control plane). */
  attach(transport: ControlTransport): void {
    this.#transports[transport.kind] = transport;
  }

  // -------------------------------------------------------------------------------------------
  // Input

  /** One whole message from a transport. Never throws. */
  receive(bytes: Uint8Array, peer: ControlPeer): void {
    if (this.#closed) return;
    const m = this.#opts.metrics;
    m?.controlMessages.inc({ transport: peer.transport, direction: 'rx' });
    if (bytes.length > this.#opts.maxMessageBytes) {
      m?.controlDropped.inc({ reason: 'too_large' });
      this.#sendMessageError(peer, 400, `message of ${bytes.length} bytes is larger than ${this.#opts.maxMessageBytes}`, 'pretty');
      return;
    }
    let decoded: ReturnType<typeof decodeMessageLenient>;
    try {
      decoded = decodeMessageLenient(bytes, this.#opts.limits);
    } catch (e) {
      // The header could not be read (or binary, or over a limit): H.248.1 §8.2.2 message-level 400.
      const reason = isH248CodecError(e)
        ? e.code === 'ERR_H248_BINARY'
          ? 'binary'
          : e.code === 'ERR_H248_LIMIT' && e.limit === 'maxMessageBytes'
            ? 'too_large'
            : 'syntax'
        : 'syntax';
      m?.controlDropped.inc({ reason });
      const text = isH248CodecError(e) ? e.message : 'Syntax error in message';
      this.#sendMessageError(peer, isH248CodecError(e) ? e.h248 : 400, text, 'pretty');
      return;
    }
    try {
      this.#opts.onActivity?.(peer);
    } catch {
      // supervision hooks must not break message handling
    }
    const msg = decoded.message;
    const style: EncodingStyle = msg.style ?? 'pretty';
    if (msg.error !== undefined) {
      this.#log.warn({ peer: peer.key, code: msg.error.code, text: msg.error.text }, 'controller reported a message-level error');
      return;
    }
    const cacheKey = peerMidKey(peer, msg.mId);
    const invalid = decoded.invalid;
    const total = msg.transactions.length + invalid.length;
    let vi = 0;
    let ii = 0;
    // Transactions of a message are independent (H.248.1 §8.3) but executed in order: one chain.
    let chain: Promise<void> | undefined;
    const enqueue = (job: () => Promise<void>): void => {
      chain = chain === undefined ? job() : chain.then(job);
    };
    for (let idx = 0; idx < total; idx++) {
      const bad = invalid[ii];
      if (bad !== undefined && bad.index === idx) {
        ii++;
        if (bad.kind === undefined || bad.kind === 'request') {
          // H.248.1 §8.2.2: the transaction gets the error of where it broke (403/422/442...);
          // a transaction whose id could not be read is answered with TransactionID 0.
          const id = bad.id ?? 0;
          const error: ErrorDescriptor = { code: bad.error.h248, text: clip(bad.error.message) };
          m?.controlDropped.inc({ reason: 'syntax' });
          enqueue(async () => {
            this.#sendReply(peer, { kind: 'reply', id, error, actions: [] }, style, undefined);
          });
        } else {
          m?.controlDropped.inc({ reason: 'syntax' });
          this.#log.debug({ peer: peer.key, kind: bad.kind, tid: bad.id, err: bad.error.message }, 'undecodable transaction dropped');
        }
        continue;
      }
      const t = msg.transactions[vi++];
      if (t !== undefined) this.#dispatch(t, msg, peer, cacheKey, style, enqueue);
    }
  }

  #dispatch(
    t: Transaction,
    msg: Message,
    peer: ControlPeer,
    cacheKey: string,
    style: EncodingStyle,
    enqueue: (job: () => Promise<void>) => void,
  ): void {
    switch (t.kind) {
      case 'request':
        this.#onRequest(t, msg, peer, cacheKey, style, enqueue);
        return;
      case 'reply':
        this.#onReply(t, peer, style);
        return;
      case 'pending':
        // The controller is working on it: stop retransmitting, wait T-MAX again (D.1.4).
        this.#outstanding.pending(OUT, t.id);
        return;
      case 'responseAck':
        for (const a of t.acks) {
          this.#cache.acknowledge(cacheKey, a.first, a.last ?? a.first);
          this.#stopSegments(cacheKey, a.first, a.last ?? a.first);
        }
        return;
      case 'segmentReply': {
        const out = this.#segmentsOut.get(`${cacheKey}#${t.id}`);
        out?.confirm(t.segmentNumber);
        return;
      }
    }
  }

  #onRequest(
    request: TransactionRequest,
    msg: Message,
    peer: ControlPeer,
    cacheKey: string,
    style: EncodingStyle,
    enqueue: (job: () => Promise<void>) => void,
  ): void {
    const m = this.#opts.metrics;
    const dup = this.#cache.check(cacheKey, request.id);
    switch (dup.kind) {
      case 'running':
        // D.1.4: a repetition of a transaction still executing is answered with Pending.
        m?.duplicatesAnswered.inc();
        this.#sendPending(peer, request.id, style);
        return;
      case 'replay':
        // D.1.1: the very bytes sent before, every segment of them.
        m?.duplicatesAnswered.inc();
        for (const b of dup.replies) this.#sendToPeer(peer, b);
        return;
      case 'acked':
        // D.1.2.2: commands whose id was acknowledged are silently discarded.
        m?.duplicatesAnswered.inc();
        return;
      case 'new':
        break;
    }
    this.#cache.begin(cacheKey, request.id);
    const run: Running = {
      cacheKey,
      request,
      info: { messageVersion: msg.version, mId: msg.mId, peer },
      style,
      pendings: 0,
      timer: undefined,
      abandoned: false,
    };
    const runKey = `${cacheKey}#${request.id}`;
    this.#running.set(runKey, run);
    // MGProvisionalResponseTimerValue counts from receipt (H.248.1 E.2), not from the start of execution.
    run.timer = setTimeout(() => this.#onProvisionalTimer(run), this.#opts.timers.provisionalResponseMs);
    enqueue(() => this.#execute(run, runKey));
  }

  #onProvisionalTimer(run: Running): void {
    if (this.#closed || run.abandoned) return;
    const peer = run.info.peer;
    if (run.pendings >= this.#opts.pendingLimit) {
      // MGOriginatedPendingLimit reached: answer 506 now; what the executor returns later is dropped.
      run.abandoned = true;
      const row = H248_ERRORS.ERR_CTRL_PENDING_LIMIT;
      this.#log.warn({ tid: run.request.id, peer: peer.key, pendings: run.pendings }, 'transaction still running at the pending limit: answered 506');
      this.#finishTransaction(run, { kind: 'reply', id: run.request.id, immAckRequired: true, error: { code: row.h248, text: row.text }, actions: [] });
      return;
    }
    run.pendings++;
    this.#opts.metrics?.pendingSent.inc();
    this.#sendPending(peer, run.request.id, run.style);
    run.timer?.refresh();
  }

  async #execute(run: Running, runKey: string): Promise<void> {
    if (this.#closed || run.abandoned) return;
    const started = performance.now();
    let reply: TransactionReply;
    try {
      const actions = await this.#opts.execute(run.request, run.info);
      reply = { kind: 'reply', id: run.request.id, actions };
    } catch (e) {
      const { code, text } = toH248Error(e);
      if (!isTrgwdError(e)) {
        this.#log.error({ tid: run.request.id, peer: run.info.peer.key, err: errorMessage(e) }, 'transaction failed unexpectedly');
      }
      reply = { kind: 'reply', id: run.request.id, error: { code, text: clip(text) }, actions: [] };
    }
    this.#opts.metrics?.transactionSeconds.observe((performance.now() - started) / 1000);
    if (this.#running.get(runKey) === run) this.#running.delete(runKey);
    clearTimeout(run.timer);
    if (this.#closed || run.abandoned) return;
    countCommands(this.#opts.metrics, run.request, reply);
    // D.1.4: after a Pending the final reply asks for an immediate TransactionResponseAck.
    if (run.pendings > 0) reply.immAckRequired = true;
    this.#finishTransaction(run, reply);
  }

  /** Sends the final reply of a received transaction and keeps its bytes for duplicates. */
  #finishTransaction(run: Running, reply: TransactionReply): void {
    clearTimeout(run.timer);
    const datagrams = this.#sendReply(run.info.peer, reply, run.style, run.cacheKey);
    this.#cache.complete(run.cacheKey, run.request.id, datagrams, reply.immAckRequired === true);
    this.#log.debug({ tid: run.request.id, peer: run.info.peer.key, error: reply.error?.code, segments: datagrams.length }, 'transaction answered');
  }

  /**
   * Encodes and sends one transaction reply: whole, segmented (v3 over UDP, H.248.1 v3 §8.1.1) or,
   * when it cannot be carried, 533. Returns the bytes sent (one per segment).
   */
  #sendReply(peer: ControlPeer, reply: TransactionReply, style: EncodingStyle, cacheKey: string | undefined): Uint8Array[] {
    const datagrams = this.#encodeReply(peer, reply, style);
    for (const d of datagrams) this.#sendToPeer(peer, d);
    if (datagrams.length > 1 && cacheKey !== undefined) this.#trackSegments(peer, cacheKey, reply.id, datagrams);
    return datagrams;
  }

  #encodeReply(peer: ControlPeer, reply: TransactionReply, style: EncodingStyle): Uint8Array[] {
    const version = this.#version;
    let whole: Buffer;
    try {
      whole = this.#encode([reply], style);
    } catch (e) {
      // A reply the encoder refuses is our bug, not the controller's: 500, never a stack trace.
      this.#log.error({ tid: reply.id, err: errorMessage(e) }, 'cannot encode reply');
      return [this.#encode([errorReply(reply, 500, H248_ERRORS.ERR_INTERNAL.text)], style)];
    }
    const limit = peer.transport === 'udp' ? this.#opts.maxUdpPayload : TPKT_MAX_PAYLOAD;
    if (whole.length <= limit) return [whole];
    const tooLarge = (): Uint8Array[] => {
      const row = H248_ERRORS.ERR_CTRL_RESPONSE_TOO_LARGE;
      this.#log.warn({ tid: reply.id, bytes: whole.length, limit, version, transport: peer.transport }, 'reply too large for the transport: answered 533');
      return [this.#encode([errorReply(reply, row.h248, row.text)], style)];
    };
    // Segmentation exists from v3, and only for UDP (TCP has no datagram limit, only TPKT's 64 KiB).
    if (peer.transport !== 'udp' || version < 3) return tooLarge();
    const sizeOf = (r: TransactionReply): number => this.#encode([r], style).length;
    let segments: TransactionReply[] | null;
    try {
      segments = segmentReply(reply, limit, sizeOf);
    } catch {
      segments = null;
    }
    if (segments === null) return tooLarge();
    return segments.map((s) => this.#encode([s], style));
  }

  #trackSegments(peer: ControlPeer, cacheKey: string, tid: number, datagrams: Uint8Array[]): void {
    const key = `${cacheKey}#${tid}`;
    this.#segmentsOut.get(key)?.stop();
    const t = this.#opts.timers;
    const out = new OutgoingSegments(datagrams, {
      initialRetransmitMs: t.initialRetransmitMs,
      maxRetransmitMs: t.maxRetransmitMs,
      tMaxMs: t.tMaxMs,
      send: (b) => this.#sendToPeer(peer, b),
      onRetransmit: () => this.#opts.metrics?.retransmissions.inc(),
      onDone: (confirmed) => {
        if (this.#segmentsOut.get(key) === out) this.#segmentsOut.delete(key);
        if (!confirmed && !this.#closed) {
          this.#log.warn({ tid, peer: peer.key, segments: datagrams.length }, 'segments of a reply not all confirmed within T-MAX');
        }
      },
    });
    this.#segmentsOut.set(key, out);
  }

  #stopSegments(cacheKey: string, first: number, last: number): void {
    if (this.#segmentsOut.size === 0) return;
    const prefix = `${cacheKey}#`;
    for (const [key, out] of [...this.#segmentsOut]) {
      if (!key.startsWith(prefix)) continue;
      const tid = Number(key.slice(prefix.length));
      if (tid >= first && tid <= last) out.stop();
    }
  }

  #onReply(reply: TransactionReply, peer: ControlPeer, style: EncodingStyle): void {
    let final: TransactionReply | undefined = reply;
    if (reply.segmentNumber !== undefined) {
      // H.248.1 v3: every segment received is confirmed with `Segment = tid/n[/END]`.
      const confirm: Transaction = { kind: 'segmentReply', id: reply.id, segmentNumber: reply.segmentNumber };
      if (reply.segmentationComplete) confirm.segmentationComplete = true;
      this.#sendTransactions(peer, [confirm], style);
      if (this.#outstanding.has(OUT, reply.id)) {
        // Segments are arriving: the request got through, stop repeating it and wait for the rest.
        this.#outstanding.pending(OUT, reply.id);
        let r = this.#reassembly.get(reply.id);
        if (r === undefined) this.#reassembly.set(reply.id, (r = new ReplyReassembly()));
        final = r.add(reply);
        if (final !== undefined) this.#reassembly.delete(reply.id);
      } else {
        final = undefined;
        if (reply.immAckRequired) this.#sendAck(peer, reply.id, style);
      }
    }
    if (final === undefined) return;
    // D.1.4: a final reply after Pending asks for an immediate confirmation; a repeated one
    // (our ack was lost) is confirmed again.
    if (final.immAckRequired) this.#sendAck(peer, final.id, style);
    if (!this.#outstanding.resolve(OUT, final.id, final)) {
      this.#log.debug({ tid: final.id, peer: peer.key }, 'reply to no outstanding request (late or repeated)');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Our requests

  /**
   * Sends one transaction request of ours to a controller and resolves with its (reassembled)
   * reply. UDP: repeated with back-off until answered (H.248.1 D.1.3); TCP: sent once. Rejects with
   * ERR_CTRL_TIMEOUT after T-MAX (D.1.5: the controller is to be considered failed), with the
   * transport's error when a TCP connection cannot be opened, or ERR_CTRL_CANCELLED on close.
   */
  request(dest: ControllerEndpoint, actions: ActionRequest[], opts: { version?: number } = {}): Promise<TransactionReply> {
    if (this.#closed) return Promise.reject(new TrgwdError('ERR_CTRL_CANCELLED', 'control plane closed'));
    const transport = this.#transports[dest.transport];
    if (transport === undefined) {
      return Promise.reject(new TrgwdError('ERR_CTRL_NO_TRANSPORT', `no ${dest.transport} control transport to reach ${dest.address}:${dest.port}`));
    }
    const tid = this.#outstanding.nextTransactionId(OUT);
    let bytes: Buffer;
    try {
      const msg: Message = {
        version: opts.version ?? this.#version,
        mId: this.#opts.mid,
        transactions: [{ kind: 'request', id: tid, actions }],
      };
      bytes = Buffer.from(encodeMessage(msg, { style: this.#opts.requestStyle }), 'utf8');
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const tx = this.#opts.metrics?.controlMessages;
    const transmit = (): void => {
      transport.sendTo(dest, bytes).then(
        () => tx?.inc({ transport: dest.transport, direction: 'tx' }),
        (e: unknown) => {
          // TCP: the connection could not be opened or written: no reply can come, give up now.
          // UDP: a failed sendto is like a lost datagram; the next retransmission tries again.
          if (dest.transport === 'tcp') this.#outstanding.reject(OUT, tid, e instanceof Error ? e : new Error(String(e)));
        },
      );
    };
    const p = this.#outstanding.send(OUT, tid, transmit, dest.transport === 'udp');
    const cleanup = (e?: unknown): void => {
      this.#reassembly.delete(tid);
      if (isTrgwdError(e, 'ERR_CTRL_TIMEOUT')) this.#opts.metrics?.requestsTimedOut.inc();
    };
    p.then(() => cleanup(), cleanup);
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // Output helpers

  #encode(transactions: Transaction[], style: EncodingStyle): Buffer {
    const msg: Message = { version: this.#version, mId: this.#opts.mid, transactions };
    return Buffer.from(encodeMessage(msg, { style }), 'utf8');
  }

  #sendToPeer(peer: ControlPeer, bytes: Uint8Array): void {
    if (peer.send(bytes)) this.#opts.metrics?.controlMessages.inc({ transport: peer.transport, direction: 'tx' });
  }

  #sendTransactions(peer: ControlPeer, transactions: Transaction[], style: EncodingStyle): void {
    try {
      this.#sendToPeer(peer, this.#encode(transactions, style));
    } catch (e) {
      this.#log.error({ peer: peer.key, err: errorMessage(e) }, 'cannot encode message');
    }
  }

  #sendPending(peer: ControlPeer, tid: number, style: EncodingStyle): void {
    this.#sendTransactions(peer, [{ kind: 'pending', id: tid }], style);
  }

  #sendAck(peer: ControlPeer, tid: number, style: EncodingStyle): void {
    this.#sendTransactions(peer, [{ kind: 'responseAck', acks: [{ first: tid }] }], style);
  }

  #sendMessageError(peer: ControlPeer, code: number, text: string, style: EncodingStyle): void {
    const msg: Message = { version: this.#version, mId: this.#opts.mid, transactions: [], error: { code, text: clip(text) } };
    try {
      this.#sendToPeer(peer, Buffer.from(encodeMessage(msg, { style }), 'utf8'));
    } catch (e) {
      this.#log.error({ peer: peer.key, err: errorMessage(e) }, 'cannot encode message error');
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Gives up every outstanding request (ERR_CTRL_CANCELLED), stops timers, forgets replies. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#outstanding.cancelAll('control plane closed');
    for (const run of this.#running.values()) clearTimeout(run.timer);
    this.#running.clear();
    for (const out of [...this.#segmentsOut.values()]) out.stop();
    this.#segmentsOut.clear();
    this.#reassembly.clear();
    this.#cache.clear();
  }
}

// ---------------------------------------------------------------------------------------------

function errorReply(reply: TransactionReply, code: number, text: string): TransactionReply {
  const r: TransactionReply = { kind: 'reply', id: reply.id, error: { code, text }, actions: [] };
  if (reply.immAckRequired) r.immAckRequired = true;
  return r;
}

function clip(text: string): string {
  const t = sanitizeQuoted(text);
  return t.length > MAX_ERROR_TEXT ? `${t.slice(0, MAX_ERROR_TEXT - 3)}...` : t;
}

/**
 * Key of the sending entity for duplicate detection: H.248.1 D.1.1 keys on the sender's mId; the
 * source address is added so that one controller cannot touch another's transactions. The port is
 * left out so a TCP reconnection or a new UDP source port still finds the transaction.
 */
function peerMidKey(peer: ControlPeer, mId: MId): string {
  return `${peer.address}|${midText(mId)}`;
}

/** The text form of an mId (`[192.0.2.1]:2944`, `<mgc.example.net>`, `MTP{0A1B}`, `name`). */
export function midText(mid: MId): string {
  switch (mid.kind) {
    case 'ip4':
    case 'ip6':
      return `[${mid.address}]${mid.port !== undefined ? `:${mid.port}` : ''}`;
    case 'domain':
      return `<${mid.name}>${mid.port !== undefined ? `:${mid.port}` : ''}`;
    case 'mtp':
      return `MTP{${mid.hex}}`;
    case 'device':
      return mid.name;
  }
}

/**
 * Parses an mId as written in the config (`[192.0.2.10]:2944`, `[2001:db8::1]`, `<mg.example.net>:2944`,
 * `MTP{0A1B2C}`, or a device name). Throws ERR_CONFIG on anything else.
 */
export function parseMid(text: string): MId {
  const s = text.trim();
  const bad = (): never => {
    throw new TrgwdError('ERR_CONFIG', `mg.mid ${JSON.stringify(text)} is not an H.248 mId ([address]:port, <domain>:port, MTP{hex} or a name)`);
  };
  const portOf = (rest: string): number | undefined => {
    if (rest === '') return undefined;
    if (!/^:\d{1,5}$/.test(rest)) return bad();
    const p = Number(rest.slice(1));
    return p <= 65535 ? p : bad();
  };
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return bad();
    const address = s.slice(1, end);
    const port = portOf(s.slice(end + 1));
    const kind = address.includes(':') ? 'ip6' : /^\d{1,3}(\.\d{1,3}){3}$/.test(address) ? 'ip4' : bad();
    return port === undefined ? { kind, address } : { kind, address, port };
  }
  if (s.startsWith('<')) {
    const end = s.indexOf('>');
    if (end < 2) return bad();
    const name = s.slice(1, end);
    const port = portOf(s.slice(end + 1));
    return port === undefined ? { kind: 'domain', name } : { kind: 'domain', name, port };
  }
  const mtp = /^mtp\{([0-9a-f]{4,8})\}$/i.exec(s);
  if (mtp) return { kind: 'mtp', hex: mtp[1]! };
  if (/^[A-Za-z][A-Za-z0-9_/.*$-]{0,63}$/.test(s)) return { kind: 'device', name: s };
  return bad();
}

/**
 * trgwd_transactions_total{command,result}: one count per command the reply accounts for
 * (H.248.1 §8.2.2: replies of the commands that ran, then the error of the one that failed).
 * A transaction-level error counts each command of the request with that code.
 */
function countCommands(metrics: Metrics | undefined, request: TransactionRequest, reply: TransactionReply): void {
  if (metrics === undefined) return;
  const c = metrics.transactions;
  if (reply.error !== undefined) {
    const result = String(reply.error.code);
    for (const a of request.actions) for (const cmd of a.commands) c.inc({ command: cmd.kind, result });
    return;
  }
  for (let i = 0; i < reply.actions.length; i++) {
    const ar = reply.actions[i]!;
    for (const cr of ar.commands) {
      const err = cr.kind === 'notify' || cr.kind === 'serviceChange' ? cr.error : cr.kind === 'auditValue' || cr.kind === 'auditCapabilities' ? (cr.contextError ?? cr.audit?.error) : cr.audit?.error;
      c.inc({ command: cr.kind, result: err !== undefined ? String(err.code) : 'ok' });
    }
    if (ar.error !== undefined) {
      const failed = request.actions[i]?.commands[ar.commands.length];
      c.inc({ command: failed?.kind ?? 'action', result: String(ar.error.code) });
    }
  }
}
