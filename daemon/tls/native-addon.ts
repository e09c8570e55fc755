/**
 * Loading trgwd's one native addon (trgwd_native.node: SRTP, DTLS, shared memory), shared by the
 * parts' wrappers (srtp/, dtls/, shm/ binding.ts): each part throws its own error class, with the
 * same stable codes: ERR_NATIVE_MISSING (not built, or fails to load), ERR_NATIVE_MISMATCH (a build
 * whose tables or functions differ from this code: stale).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

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
