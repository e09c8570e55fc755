/**
 * Identifiers: context ids the gateway chooses (`Context = $`), ephemeral termination names
 * (`ip/<n>`), and TerminationID wildcards.
 */

/** Largest context id we hand out: 0 is the null context, 0xFFFFFFFE CHOOSE and 0xFFFFFFFF ALL (H.248.1 Annex A). */
export const MAX_CONTEXT_ID = 0xfffffffd;

/** The ROOT termination's id, matched case-insensitively. */
export const ROOT_ID = 'ROOT';

export function isRoot(id: string): boolean {
  return id.length === 4 && id.toUpperCase() === ROOT_ID;
}

/** True when a TerminationID holds the ALL wildcard (`*`, `ip/*`, `ip/1*`). */
export function isWildcard(id: string): boolean {
  return id.includes('*');
}

/**
 * Does `id` match the wildcard `pattern`? `*` matches any run of characters (also `/`, so `*` alone is
 * every termination); names compare case-insensitively (H.248.1 Annex B). ROOT is never matched by a
 * wildcard: it is addressed by name only.
 */
export function matchesWildcard(pattern: string, id: string): boolean {
  if (isRoot(id)) return false;
  const p = pattern.toLowerCase();
  const s = id.toLowerCase();
  // iterative glob with backtracking to the last `*`
  let pi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] !== '*' && p[pi] === s[si]) {
      pi++;
      si++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** Context ids: increasing, wrapping at MAX_CONTEXT_ID, never one still in use. */
export class ContextIdAllocator {
  #next: number;

  constructor(first = 1) {
    this.#next = first;
  }

  /** The next free id, or undefined when every id is in use (H.248 412). */
  allocate(inUse: (id: number) => boolean, liveCount: number): number | undefined {
    if (liveCount >= MAX_CONTEXT_ID) return undefined;
    for (;;) {
      const id = this.#next;
      this.#next = id >= MAX_CONTEXT_ID ? 1 : id + 1;
      if (!inUse(id)) return id;
    }
  }
}

/** Ephemeral termination names `ip/<n>`: n is never reused while the process lives (PROFILE §2). */
export class TerminationNamer {
  #next = 1;
  readonly prefix: string;

  constructor(prefix = 'ip/') {
    this.prefix = prefix;
  }

  next(): string {
    return `${this.prefix}${this.#next++}`;
  }

  /** How many names were handed out (tests, diagnostics). */
  get issued(): number {
    return this.#next - 1;
  }
}
