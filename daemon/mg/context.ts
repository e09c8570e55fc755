/**
 * A context (H.248.1 §6.1): its terminations, priority, emergency, IEPS and topology. The gateway
 * creates it for `Context = $` and deletes it when its last termination leaves.
 */
import type { TopologyDirection, TopologyTriple } from '../control/codec/model.js';
import type { Termination } from './termination.js';
import type { StoredProperty } from './types.js';

export class Context {
  readonly id: number;
  readonly createdAt: number;
  /** Lower-cased termination id → termination, in order of arrival. */
  readonly terminations = new Map<string, Termination>();
  priority: number | undefined;
  emergency: boolean | undefined;
  ieps: boolean | undefined;
  /** Topology triples set by the controller; pairs not listed are bothway (H.248.1 §7.1.18). */
  topology: TopologyTriple[] = [];
  /** v3 ContextAttr properties. */
  attributes: readonly StoredProperty[] = [];
  #deleted = false;

  constructor(id: number, now: number) {
    this.id = id;
    this.createdAt = now;
  }

  get size(): number {
    return this.terminations.size;
  }

  get deleted(): boolean {
    return this.#deleted;
  }

  /** @internal the gateway marks it when it forgets it. */
  markDeleted(): void {
    this.#deleted = true;
  }

  get(id: string): Termination | undefined {
    return this.terminations.get(id.toLowerCase());
  }

  has(id: string): boolean {
    return this.terminations.has(id.toLowerCase());
  }

  /**
   * Sets topology triples: each replaces an earlier triple of the same pair (either order) and the
   * same stream. Ids must be in the context (the command layer checks).
   */
  setTopology(triples: readonly TopologyTriple[]): void {
    for (const t of triples) {
      const a = t.from.toLowerCase();
      const b = t.to.toLowerCase();
      this.topology = this.topology.filter((x) => {
        const xa = x.from.toLowerCase();
        const xb = x.to.toLowerCase();
        const samePair = (xa === a && xb === b) || (xa === b && xb === a);
        return !(samePair && x.stream === t.stream);
      });
      this.topology.push({ ...t });
    }
  }

  /** Drops the triples that name a termination leaving the context. */
  forget(id: string): void {
    const l = id.toLowerCase();
    this.topology = this.topology.filter((x) => x.from.toLowerCase() !== l && x.to.toLowerCase() !== l);
  }

  /**
   * Does media flow from `from` to `to` (on `stream`)? For the media plane: a stream-specific triple
   * wins over one for all streams; default bothway.
   */
  flows(from: string, to: string, stream?: number): boolean {
    const a = from.toLowerCase();
    const b = to.toLowerCase();
    const pick = (s: number | undefined): TopologyTriple | undefined =>
      this.topology.find((x) => {
        const xa = x.from.toLowerCase();
        const xb = x.to.toLowerCase();
        return ((xa === a && xb === b) || (xa === b && xb === a)) && x.stream === s;
      });
    const t = (stream !== undefined ? pick(stream) : undefined) ?? pick(undefined);
    if (t === undefined) return true;
    const dir: TopologyDirection = t.direction;
    if (dir === 'isolate') return false;
    if (dir === 'bothway') return true;
    // oneway: from the triple's first termination to its second
    return t.from.toLowerCase() === a;
  }
}
