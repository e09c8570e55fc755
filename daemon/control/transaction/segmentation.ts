/**
 * H.248.1 v3 segmentation of transaction replies (clause 8.1.1 / Annex D.1 of H.248.1 v3):
 *
 * - sending: a reply too large for one UDP datagram is cut between action replies into segments
 *   `Reply = tid/n { ... }`, n from 1, the last one `Reply = tid/n/END`; each segment is a complete
 *   message under the size limit. The controller confirms each with `Segment = tid/n[/END]`;
 *   unconfirmed segments are sent again on the back-off schedule until T-MAX.
 * - receiving: segments of a reply to one of our requests are collected until every number from 1
 *   to the END one is there, then merged into one reply.
 *
 * Pure logic and timers; the engine does the encoding and the sending.
 */
import type { ActionReply, TransactionReply } from '../codec/model.js';

/**
 * Cuts `reply` into segments whose encoded size (`sizeOf`, bytes of the whole message) is at most
 * `maxBytes`, keeping action replies whole and in order. Returns null when one action reply alone
 * does not fit (the caller answers 533 instead). A reply that fits whole is returned as one
 * unsegmented reply.
 */
export function segmentReply(
  reply: TransactionReply,
  maxBytes: number,
  sizeOf: (r: TransactionReply) => number,
): TransactionReply[] | null {
  if (sizeOf(reply) <= maxBytes) return [reply];
  const actions = reply.actions;
  if (actions.length === 0) return null;
  const groups: ActionReply[][] = [];
  let current: ActionReply[] = [];
  for (const action of actions) {
    const candidate = [...current, action];
    // Measured as if it were the last segment: `/END` makes it the largest form of itself.
    if (sizeOf(segmentOf(reply, candidate, groups.length + 1, true)) <= maxBytes) {
      current = candidate;
      continue;
    }
    if (current.length === 0) return null;
    groups.push(current);
    current = [action];
    if (sizeOf(segmentOf(reply, current, groups.length + 1, true)) > maxBytes) return null;
  }
  groups.push(current);
  return groups.map((g, i) => segmentOf(reply, g, i + 1, i === groups.length - 1));
}

function segmentOf(reply: TransactionReply, actions: ActionReply[], n: number, last: boolean): TransactionReply {
  const seg: TransactionReply = { kind: 'reply', id: reply.id, segmentNumber: n, actions };
  if (last) seg.segmentationComplete = true;
  // Every segment is a TransactionReply of the same transaction: each carries ImmAckRequired.
  if (reply.immAckRequired) seg.immAckRequired = true;
  return seg;
}

export interface SegmentRetransmitOptions {
  readonly initialRetransmitMs: number;
  readonly maxRetransmitMs: number;
  readonly tMaxMs: number;
  /** Sends one segment again. */
  readonly send: (bytes: Uint8Array) => void;
  /** Called for each retransmitted segment (metrics). */
  readonly onRetransmit?: () => void;
  /** Called once when the segments stop being tracked: all confirmed, or T-MAX passed. */
  readonly onDone?: (confirmed: boolean) => void;
}

/**
 * The segments of one reply we sent, until the controller has confirmed each with a
 * SegmentReply: unconfirmed ones are sent again with exponential back-off, bounded by T-MAX.
 */
export class OutgoingSegments {
  readonly #segments: readonly Uint8Array[];
  readonly #confirmed: boolean[];
  readonly #opts: SegmentRetransmitOptions;
  #left: number;
  #interval: number;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #done = false;

  constructor(segments: readonly Uint8Array[], opts: SegmentRetransmitOptions) {
    this.#segments = segments;
    this.#confirmed = segments.map(() => false);
    this.#left = segments.length;
    this.#opts = opts;
    this.#interval = opts.initialRetransmitMs;
    this.#schedule();
    this.#deadline = setTimeout(() => this.#finish(false), opts.tMaxMs);
  }

  get done(): boolean {
    return this.#done;
  }

  /** Segments not yet confirmed. */
  get unconfirmed(): number {
    return this.#left;
  }

  /** `Segment = tid/n` arrived. Returns true when this completed the set. */
  confirm(segmentNumber: number): boolean {
    const i = segmentNumber - 1;
    if (this.#done || i < 0 || i >= this.#confirmed.length || this.#confirmed[i]) return false;
    this.#confirmed[i] = true;
    this.#left -= 1;
    if (this.#left === 0) {
      this.#finish(true);
      return true;
    }
    return false;
  }

  /** Stops tracking (the transaction was acknowledged, or shutdown). */
  stop(): void {
    this.#finish(this.#left === 0);
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      if (this.#done) return;
      for (let i = 0; i < this.#segments.length; i++) {
        if (this.#confirmed[i]) continue;
        this.#opts.onRetransmit?.();
        this.#opts.send(this.#segments[i]!);
      }
      this.#interval = Math.min(this.#interval * 2, this.#opts.maxRetransmitMs);
      this.#schedule();
    }, this.#interval);
  }

  #finish(confirmed: boolean): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
    this.#opts.onDone?.(confirmed);
  }
}

/**
 * Collects the segments of one reply to a request of ours. `add` returns the merged reply once
 * segments 1..END are all present, else undefined.
 */
export class ReplyReassembly {
  readonly #parts = new Map<number, TransactionReply>();
  #last = 0;

  /** Segments received so far. */
  get size(): number {
    return this.#parts.size;
  }

  add(segment: TransactionReply): TransactionReply | undefined {
    const n = segment.segmentNumber ?? 1;
    if (!this.#parts.has(n)) this.#parts.set(n, segment);
    if (segment.segmentationComplete) this.#last = n;
    if (this.#last === 0 || this.#parts.size < this.#last) return undefined;
    for (let i = 1; i <= this.#last; i++) if (!this.#parts.has(i)) return undefined;
    const merged: TransactionReply = { kind: 'reply', id: segment.id, actions: [] };
    for (let i = 1; i <= this.#last; i++) {
      const part = this.#parts.get(i)!;
      if (part.immAckRequired) merged.immAckRequired = true;
      if (part.error !== undefined && merged.error === undefined) merged.error = part.error;
      for (const a of part.actions) merged.actions.push(a);
    }
    return merged;
  }
}
