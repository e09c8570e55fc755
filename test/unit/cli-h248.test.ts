import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeMessage } from '../../daemon/control/codec/index.js';
import { ROOT, runTrgwd } from '../helpers/cli.js';

const corpus = (p: string) => join(ROOT, 'test/fixtures/h248-corpus', p);

test('h248 decode re-encodes a message in compact form with the same meaning', async () => {
  const r = await runTrgwd(['h248', 'decode', '--to', 'compact', corpus('pretty/v3/add_msrp_tls.txt')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^!\/3 \[127\.0\.0\.1\]:2944 T=15\{C=\$\{A=\$\{/);
  const a = decodeMessage(r.stdout);
  const b = decodeMessage((await import('node:fs')).readFileSync(corpus('pretty/v3/add_msrp_tls.txt')));
  delete a.style;
  delete b.style;
  assert.deepEqual(a, b);
});

test('h248 decode --to json, then h248 encode, gives the message back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-h248-'));
  const j = await runTrgwd(['h248', 'decode', '--to', 'json', corpus('compact/v1/sc_restart_root.txt')]);
  assert.equal(j.code, 0, j.stderr);
  const json = JSON.parse(j.stdout) as { transactions: unknown[] };
  assert.equal(json.transactions.length, 1);
  writeFileSync(join(dir, 'm.json'), j.stdout);
  const e = await runTrgwd(['h248', 'encode', '--to', 'pretty', join(dir, 'm.json')]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /ServiceChange = ROOT/i);
  assert.match(e.stdout, /Method = Restart/i);
});

test('h248 decode reads stdin with -', async () => {
  const { spawnTrgwd } = await import('../helpers/cli.js');
  const child = spawnTrgwd(['h248', 'decode', '-', '--to', 'compact']);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end('MEGACO/1 [10.0.0.1]:2944 Transaction = 5 { Context = - { AuditValue = ROOT { Audit { Packages } } } }');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0);
  assert.match(out, /^!\/1 \[10\.0\.0\.1\]:2944 T=5\{C=-\{AV=ROOT\{AT\{PG\}\}\}\}/);
});

test('bad input: "error: line L col C: <reason> (H.248 <code>)" on stderr, exit 1', async () => {
  const r = await runTrgwd(['h248', 'decode', corpus('bad/swapped_braces.txt')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: line \d+ col \d+: .+ \(H\.248 4\d\d\)\n$/);
  const g = await runTrgwd(['h248', 'decode', corpus('bad/binary_garbage.txt')]);
  assert.equal(g.code, 1);
  assert.match(g.stderr, /^error: .*\(H\.248 400\)\n$/);
  const e = await runTrgwd(['h248', 'encode', corpus('pretty/v1/sc_restart_root.txt')]);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /^error: input is not JSON/);
});
