#!/usr/bin/env node
// `npm run bench [-- name ...]`: runs bench/<name>.ts (default: every bench/*.ts) one after another,
// each printing JSON lines. Benchmarks are for figures, not pass/fail; see bench/README.md.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const flags = args.filter((a) => a.startsWith('--'));
// Modules that benches import, not benches themselves.
const LIBRARIES = new Set(['messages']);
const all = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''))
  .filter((n) => !LIBRARIES.has(n) && !n.startsWith('_'));
const chosen = names.length > 0 ? names : all;
let failed = 0;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`run-bench: no bench/${name}.ts (have: ${all.join(', ')})`);
    failed++;
    continue;
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`), ...flags], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
