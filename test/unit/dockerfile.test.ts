// There is no Docker engine on our machines, so check what can be checked statically: every path the
// Dockerfile copies from the build context exists, the runtime stage runs as non-root with a
// HEALTHCHECK on /healthz, and the command it runs is the one the README documents.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../config/loader.js';

const root = packageRoot();
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const lines = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

test('every path COPY takes from the build context exists', () => {
  const copies = lines.filter((l) => /^COPY\s/i.test(l) && !/--from=/i.test(l));
  assert.ok(copies.length >= 4);
  for (const c of copies) {
    const parts = c.split(/\s+/).slice(1).filter((p) => !p.startsWith('--'));
    for (const src of parts.slice(0, -1)) assert.ok(existsSync(join(root, src)), `Dockerfile copies missing ${src}`);
  }
});

test('COPY --from=build takes only what the build stage produces', () => {
  const copies = lines.filter((l) => /^COPY\s+--from=build/i.test(l));
  for (const c of copies) {
    const src = c.split(/\s+/)[2]!;
    assert.match(src, /^\/app\/(package\.json|node_modules|dist|native\/build\/Release\/trgwd_native\.node)$/, src);
  }
  // the build stage produces dist/ through npm ci (prepare → build)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.match(pkg.scripts.prepare ?? '', /build/);
});

test('the runtime stage is slim, non-root, with a HEALTHCHECK on /healthz', () => {
  const stages = dockerfile.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2, 'two stages');
  const runtime = stages[1]!;
  assert.match(runtime, /-slim/);
  assert.match(runtime, /^USER node$/m);
  assert.match(runtime, /HEALTHCHECK[\s\S]*\/healthz/);
});

test('the command the image runs is the one the README documents', () => {
  const entry = lines.find((l) => l.startsWith('ENTRYPOINT'))!;
  const cmd = lines.find((l) => l.startsWith('CMD'))!;
  const argv = [...(JSON.parse(entry.slice('ENTRYPOINT'.length)) as string[]), ...(JSON.parse(cmd.slice('CMD'.length)) as string[])];
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.ok(readme.includes(argv.join(' ')), `README must document: ${argv.join(' ')}`);
  assert.ok(existsSync(join(root, 'daemon', 'main.ts')), 'entry point source exists');
  assert.match(readme, /\/etc\/trgwd\/trgwd\.yaml/);
});

test('the README Quick start has exactly the two commands', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const qs = readme.split(/^## Quick start$/m)[1]!.split(/^## /m)[0]!;
  const blocks = [...qs.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  assert.deepEqual(blocks, ['npm ci && npm start', 'npm test']);
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
  assert.match(ci, /^npm test$/m, '.ci/run runs the README test command');
});
