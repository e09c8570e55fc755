#!/usr/bin/env node
// Runs every test file (*.test.ts) under the given folders (default: test/) with node:test through tsx.
// Node 20's --test does not expand globs or find .ts files itself, so we collect them here.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const passThrough = args.filter((a) => a.startsWith('--'));
const roots = args.filter((a) => !a.startsWith('--'));
const dirs = roots.length > 0 ? roots : ['test'];

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    collect(join(path, name), out);
  }
  return out;
}

const files = dirs.flatMap((d) => collect(join(root, d), [])).map((f) => relative(root, f));
if (files.length === 0) {
  console.error(`run-tests: no *.test.ts under ${dirs.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.TRGWD_TEST_CONCURRENCY ?? '2';
const res = spawnSync(
  process.execPath,
  // A test that hangs fails after --test-timeout instead of holding CI; --test-force-exit ends a file
  // whose tests are done even if a failed one left a socket open (leaks have their own soak tests).
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${process.env.TRGWD_TEST_TIMEOUT_MS ?? '300000'}`,
    '--test-force-exit',
    ...passThrough,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
