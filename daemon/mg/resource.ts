/**
 * Ownership (the mediasoup shape): every resource has exactly one owner, and `close()` is idempotent
 * and cascades to what it owns, in reverse order of acquisition. Context → Termination → Stream →
 * flows, sockets, port leases, crypto contexts, policers.
 */
export interface Closable {
  /** Idempotent. Must not throw; failures are the owner's to count and log. */
  close(): void;
}

/** A bag of owned resources closed together, last acquired first. */
export class Owned implements Closable {
  #items: Closable[] = [];
  #closed = false;

  get closed(): boolean {
    return this.#closed;
  }

  /** Takes ownership of `r`; if already closed, closes `r` at once (it has no owner left). */
  own<T extends Closable>(r: T): T {
    if (this.#closed) r.close();
    else this.#items.push(r);
    return r;
  }

  /** Closes and forgets one owned resource early (e.g. a replaced connection). */
  release(r: Closable): void {
    const i = this.#items.indexOf(r);
    if (i !== -1) this.#items.splice(i, 1);
    r.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const items = this.#items;
    this.#items = [];
    for (let i = items.length - 1; i >= 0; i--) {
      try {
        items[i]!.close();
      } catch {
        // close() must not throw; a broken one must not stop the others from closing.
      }
    }
  }
}
