/**
 * Loading trgwd's one native addon (trgwd_native.node: SRTP, DTLS, shared memory), shared by the
 * parts' wrappers (srtp/, dtls/, shm/ binding.ts): each part throws its own error class, with the
 * same stable codes: ERR_NATIVE_MISSING (not built, or fails to load), ERR_NATIVE_MISMATCH (a build
 * whose tables or functions differ from this code: stale).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where node-gyp puts the addon, relative to the repository (package) root. */
export const NATIVE_ADDON_RELATIVE_PATH = 'native/build/Release/trgwd_native.node';

/** Environment variable that points at the addon explicitly (packaging, tests). */
export const NATIVE_ADDON_ENV = 'TRGWD_NATIVE_ADDON';

/** Candidate addon paths: $TRGWD_NATIVE_ADDON, then native/build/... in this file's ancestors. */
export function nativeAddonCandidates(from: string = dirname(fileURLToPath(import.meta.url))): string[] {
  const out: string[] = [];
  const env = process.env[NATIVE_ADDON_ENV];
  if (env !== undefined && env !== '') out.push(resolve(env));
  // daemon/tls/ in the sources, dist/daemon/tls/ once compiled: walk up to the root.
  let dir = from;
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, NATIVE_ADDON_RELATIVE_PATH));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

/** Makes the part's error (a TrgwdError subclass) for a code. */
export type AddonErrorFactory = (
  code: 'ERR_NATIVE_MISSING' | 'ERR_NATIVE_MISMATCH',
  message: string,
  options: { cause?: unknown; details: Record<string, unknown> },
) => Error;

/** The addon's exports from the first candidate path that exists, and that path. */
export function requireAddon(
  candidates: readonly string[],
  fail: AddonErrorFactory,
): { readonly path: string; readonly mod: Record<string, unknown> } {
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw fail(
      'ERR_NATIVE_MISSING',
      `native addon trgwd_native.node is not built (looked in ${candidates.join(', ')}); ` +
        'build it with `npm run build:native` (needs a C compiler, make and python3)',
      { details: { candidates: [...candidates] } },
    );
  }
  try {
    return { path, mod: createRequire(import.meta.url)(path) as Record<string, unknown> };
  } catch (e) {
    throw fail('ERR_NATIVE_MISSING', `native addon at ${path} failed to load; rebuild it with \`npm run build:native\``, {
      cause: e,
      details: { path },
    });
  }
}

/** Checks that a table the addon exports has our values (the C enums mirrored in TypeScript). */
export function checkMirror(
  table: string,
  native: Readonly<Record<string, number>> | undefined,
  ours: Readonly<Record<string, number>>,
  path: string,
  fail: AddonErrorFactory,
): void {
  for (const [k, v] of Object.entries(ours)) {
    if (native?.[k] !== v) {
      throw fail(
        'ERR_NATIVE_MISMATCH',
        `native addon at ${path} does not match this build (${table}.${k}); rebuild it with \`npm run build:native\``,
        { details: { path, table, key: k } },
      );
    }
  }
}

/**
 * One part of the addon (`srtp`, `dtls`, `shm`) from the first candidate that exists, after checking
 * that it has every function this code calls (a stale build would otherwise throw a TypeError on
 * the packet path, which never throws). `what` names the part in messages.
 */
export function loadAddonPart<T>(
  candidates: readonly string[],
  part: string,
  what: string,
  functions: readonly string[],
  fail: AddonErrorFactory,
): { readonly path: string; readonly part: T } {
  const { path, mod } = requireAddon(candidates, fail);
  const p = mod[part] as Record<string, unknown> | undefined;
  if (p === undefined) {
    throw fail('ERR_NATIVE_MISMATCH', `native addon at ${path} has no ${what} part; rebuild it with \`npm run build:native\``, {
      details: { path },
    });
  }
  const missing = functions.find((f) => typeof p[f] !== 'function');
  if (missing !== undefined) {
    throw fail(
      'ERR_NATIVE_MISMATCH',
      `native addon at ${path} lacks ${part}.${missing}(); rebuild it with \`npm run build:native\``,
      { details: { path, missing } },
    );
  }
  return { path, part: p as T };
}
