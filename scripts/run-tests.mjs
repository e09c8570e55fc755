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
// No --test-force-exit: with it, Node 20's runner sometimes ends a file before all its suites have
// reported (sdp.test.ts: 46 of 63 tests, exit 0), so tests went missing from the count unseen. A test
// that hangs fails after --test-timeout; a file that cannot exit (a handle left open) holds the run
// until TRGWD_TEST_RUN_TIMEOUT_MS, which then fails it loudly.
const runTimeoutMs = Number(process.env.TRGWD_TEST_RUN_TIMEOUT_MS ?? 60 * 60 * 1000);
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${process.env.TRGWD_TEST_TIMEOUT_MS ?? '300000'}`,
    ...passThrough,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', timeout: runTimeoutMs, killSignal: 'SIGKILL' },
);
if (res.error !== undefined || res.signal !== null) {
  console.error(
    `run-tests: the test run did not end by itself (${res.error?.message ?? res.signal}); ` +
      `after ${runTimeoutMs} ms a file still had work or an open handle`,
  );
  process.exit(1);
}
process.exit(res.status ?? 1);
