/**
 * Requests we originate (ServiceChange, Notify) and wait for an answer to (H.248.1 Annex D.1.3,
 * D.1.5): over UDP they are retransmitted with exponential back-off capped at `maxRetransmitMs`, and
 * given up after T-MAX; over TCP they are sent once and given up after T-MAX. A Pending from the
 * controller stops the retransmissions and restarts the wait for the final reply.
 */
import { TrgwdError } from '../../errors.js';

export interface OutstandingOptions {
  readonly initialRetransmitMs: number;
  readonly maxRetransmitMs: number;
  readonly tMaxMs: number;
  /** Called for each retransmission (metrics). */
  readonly onRetransmit?: () => void;
}

interface Waiting<R> {
  readonly transmit: () => void;
  readonly retransmit: boolean;
  readonly resolve: (r: R) => void;
  readonly reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
  deadline: NodeJS.Timeout | undefined;
  interval: number;
}

export class OutstandingRequests<R> {
  readonly #opts: OutstandingOptions;
  readonly #waiting = new Map<string, Waiting<R>>();
  #nextTid = 1;

  constructor(opts: OutstandingOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#waiting.size;
  }

  /**
   * A fresh TransactionID for a request of ours: 1..2^32-1, wrapping, never one still outstanding.
   * One counter for the whole gateway keeps ids unique per peer as well.
   */
  nextTransactionId(peerKey: string): number {
    for (;;) {
      const tid = this.#nextTid;
      this.#nextTid = tid >= 0xffffffff ? 1 : tid + 1;
      if (!this.#waiting.has(key(peerKey, tid))) return tid;
    }
  }

  /**
   * Sends with `transmit` now, and again on the back-off schedule when `retransmit` (UDP). Resolves
   * with the reply given to `resolve()`, or rejects with ERR_CTRL_TIMEOUT after T-MAX.
   */
  send(peerKey: string, tid: number, transmit: () => void, retransmit: boolean): Promise<R> {
    const k = key(peerKey, tid);
    if (this.#waiting.has(k)) return Promise.reject(new TrgwdError('ERR_CTRL_DUPLICATE_TID', `transaction ${tid} already outstanding to ${peerKey}`));
    return new Promise<R>((resolve, reject) => {
      const w: Waiting<R> = { transmit, retransmit, resolve, reject, timer: undefined, deadline: undefined, interval: this.#opts.initialRetransmitMs };
      this.#waiting.set(k, w);
      this.#arm(k, w);
      transmit();
    });
  }

  #arm(k: string, w: Waiting<R>): void {
    w.deadline = setTimeout(() => {
      this.#finish(k, w);
      w.reject(new TrgwdError('ERR_CTRL_TIMEOUT', `no answer to transaction ${k.split('#')[1]} within T-MAX (${this.#opts.tMaxMs} ms)`));
    }, this.#opts.tMaxMs);
    if (w.retransmit) this.#schedule(k, w);
  }

  #schedule(k: string, w: Waiting<R>): void {
    w.timer = setTimeout(() => {
      if (this.#waiting.get(k) !== w) return;
      this.#opts.onRetransmit?.();
      w.transmit();
      w.interval = Math.min(w.interval * 2, this.#opts.maxRetransmitMs);
      this.#schedule(k, w);
    }, w.interval);
  }

  /** The final reply arrived. Returns false when nothing waited for it (late or unknown). */
  resolve(peerKey: string, tid: number, reply: R): boolean {
    const k = key(peerKey, tid);
    const w = this.#waiting.get(k);
    if (!w) return false;
    this.#finish(k, w);
    w.resolve(reply);
    return true;
  }

  /** The controller answered Pending: stop retransmitting and wait T-MAX again for the reply. */
  pending(peerKey: string, tid: number): boolean {
    const k = key(peerKey, tid);
    const w = this.#waiting.get(k);
    if (!w) return false;
    clearTimeout(w.timer);
    clearTimeout(w.deadline);
    w.timer = undefined;
    w.deadline = setTimeout(() => {
      this.#finish(k, w);
      w.reject(new TrgwdError('ERR_CTRL_TIMEOUT', `no final answer to transaction ${tid} within T-MAX after Pending`));
    }, this.#opts.tMaxMs);
    return true;
  }

  /**
   * Gives up on one request at once with `error` (e.g. its TCP connection could not be opened):
   * no point waiting for T-MAX. Returns false when nothing waited for it.
   */
  reject(peerKey: string, tid: number, error: Error): boolean {
    const k = key(peerKey, tid);
    const w = this.#waiting.get(k);
    if (!w) return false;
    this.#finish(k, w);
    w.reject(error);
    return true;
  }

  /** Whether a request of ours is still waiting for its answer. */
  has(peerKey: string, tid: number): boolean {
    return this.#waiting.has(key(peerKey, tid));
  }

  /** Rejects every outstanding request (shutdown, association reset). */
  cancelAll(reason: string): void {
    for (const [k, w] of [...this.#waiting]) {
      this.#finish(k, w);
      w.reject(new TrgwdError('ERR_CTRL_CANCELLED', reason));
    }
  }

  #finish(k: string, w: Waiting<R>): void {
    clearTimeout(w.timer);
    clearTimeout(w.deadline);
    this.#waiting.delete(k);
  }
}

function key(peerKey: string, tid: number): string {
  return `${peerKey}#${tid}`;
}
