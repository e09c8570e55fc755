/**
 * External peers for interop tests (tshark, erl, openssl, ...).
 *
 * House rule: a suite that needs a peer skips with a clear message naming the missing tool when it is
 * absent locally, but FAILS under CI (`CI=true`), where `.ci/run` installs every peer.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** True when running under CI (`CI=true`, as `.ci/run` sets it). */
export function inCI(): boolean {
  return (process.env.CI ?? '').toLowerCase() === 'true';
}

/** Absolute path of an executable found on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The path of `name`, or (tool missing) skip this test locally / throw under CI. Use as
 * `const tshark = requireTool(t, 'tshark'); if (tshark === undefined) return;`.
 */
export function requireTool(t: TestContext, name: string, why = ''): string | undefined {
  const path = findTool(name);
  if (path !== undefined) return path;
  const what = `${name} not found on PATH${why ? ` (needed ${why})` : ''}`;
  if (inCI()) throw new Error(`${what}: CI must install it (.ci/run)`);
  t.skip(`${what}: skipped locally; install it to run this interop test`);
  return undefined;
}
