/**
 * At-most-once execution of received transactions (H.248.1 Annex D.1.1, D.1.2, D.1.4).
 *
 * Keyed by (peer, TransactionID). A request seen for the first time is executed; a duplicate of one
 * still executing is answered with Pending; a duplicate of a finished one gets the very same reply
 * bytes again, for LONG-TIMER after the reply was sent. A TransactionResponseAck releases the cached
 * bytes early, but the id is remembered until LONG-TIMER passes so a late duplicate is not executed
 * twice.
 *
 * Expiry uses one time-ordered queue (LONG-TIMER is the same for every entry), swept lazily: no timer
 * per transaction.
 */

export type DuplicateCheck =
  | { readonly kind: 'new' }
  | { readonly kind: 'running' }
  | { readonly kind: 'replay'; readonly replies: readonly Uint8Array[] }
  | { readonly kind: 'acked' };

interface Entry {
  state: 'running' | 'done' | 'acked';
  replies: readonly Uint8Array[] | undefined;
  /** Reply carried ImmAckRequired: we expect a TransactionResponseAck. */
  awaitingAck: boolean;
  expiresAt: number;
}

interface Expiry {
  readonly peerKey: string;
  readonly tid: number;
  readonly at: number;
}

export interface ReplyCacheOptions {
  /** How long finished transactions are remembered (LONG-TIMER), ms. */
  readonly longTimerMs: number;
  /** Finished transactions remembered at most; the oldest are forgotten first. */
  readonly maxEntries: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export class ReplyCache {
  readonly #opts: ReplyCacheOptions;
  readonly #now: () => number;
  readonly #peers = new Map<string, Map<number, Entry>>();
  #queue: Expiry[] = [];
  #head = 0;
  #finished = 0;
  /** Entries forgotten before LONG-TIMER because of maxEntries. */
  evicted = 0;

  constructor(opts: ReplyCacheOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Transactions known (running or remembered). */
  get size(): number {
    let n = 0;
    for (const m of this.#peers.values()) n += m.size;
    return n;
  }

  check(peerKey: string, tid: number): DuplicateCheck {
    this.sweep();
    const e = this.#peers.get(peerKey)?.get(tid);
    if (!e) return { kind: 'new' };
    if (e.state === 'running') return { kind: 'running' };
    if (e.state === 'acked' || !e.replies) return { kind: 'acked' };
    return { kind: 'replay', replies: e.replies };
  }

  /** Marks a transaction as executing. */
  begin(peerKey: string, tid: number): void {
    let m = this.#peers.get(peerKey);
    if (!m) this.#peers.set(peerKey, (m = new Map()));
    m.set(tid, { state: 'running', replies: undefined, awaitingAck: false, expiresAt: Infinity });
  }

  /** Stores the reply bytes (one buffer, or one per segment) sent for a finished transaction. */
  complete(peerKey: string, tid: number, replies: readonly Uint8Array[], awaitingAck: boolean): void {
    const e = this.#peers.get(peerKey)?.get(tid);
    if (!e) return;
    e.state = 'done';
    e.replies = replies;
    e.awaitingAck = awaitingAck;
    e.expiresAt = this.#now() + this.#opts.longTimerMs;
    this.#queue.push({ peerKey, tid, at: e.expiresAt });
    this.#finished += 1;
    while (this.#finished > this.#opts.maxEntries && this.#head < this.#queue.length) {
      this.#expire(this.#queue[this.#head++]!);
      this.evicted += 1;
    }
  }

  /** Whether a finished transaction still waits for the controller's TransactionResponseAck. */
  awaitingAck(peerKey: string, tid: number): boolean {
    return this.#peers.get(peerKey)?.get(tid)?.awaitingAck ?? false;
  }

  /** TransactionResponseAck for `first`..`last` (inclusive): drop the cached bytes, keep the ids. */
  acknowledge(peerKey: string, first: number, last = first): number {
    const m = this.#peers.get(peerKey);
    if (!m || last < first) return 0;
    let n = 0;
    const ack = (e: Entry) => {
      if (e.state !== 'done') return;
      e.state = 'acked';
      e.replies = undefined;
      e.awaitingAck = false;
      n += 1;
    };
    // A range may be huge (1-4294967295): walk whichever is smaller, the range or the peer's entries.
    if (last - first + 1 <= m.size) {
      for (let t = first; t <= last; t++) {
        const e = m.get(t);
        if (e) ack(e);
      }
    } else {
      for (const [t, e] of m) if (t >= first && t <= last) ack(e);
    }
    return n;
  }

  /** Forgets entries whose LONG-TIMER has passed. Cheap; called on every check. */
  sweep(): void {
    const now = this.#now();
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.at <= now) {
      this.#expire(this.#queue[this.#head++]!);
    }
    // Compact the queue now and then so it does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #expire(x: Expiry): void {
    const m = this.#peers.get(x.peerKey);
    const e = m?.get(x.tid);
    // The id may have been reused by the peer after wrap-around: only remove the entry this expiry is for.
    if (!m || !e || e.state === 'running' || e.expiresAt !== x.at) return;
    m.delete(x.tid);
    this.#finished -= 1;
    if (m.size === 0) this.#peers.delete(x.peerKey);
  }

  /** Forgets everything (the association restarted). */
  clear(): void {
    this.#peers.clear();
    this.#queue = [];
    this.#head = 0;
    this.#finished = 0;
  }
}
