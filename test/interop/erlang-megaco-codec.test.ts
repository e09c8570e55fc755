/**
 * Erlang/OTP megaco as an independent judge of our encoder: for every message Erlang's own text
 * decoder accepts (the corpus, which Erlang produced, and the RFC 3525 Appendix I flows it accepts),
 * our pretty and compact re-encodings must decode in Erlang to the very same term as the original.
 * That is "means the same thing", checked by a decoder that is not ours.
 *
 * Uses bench/erlang/megaco_codec_bench.escript --same. Needs escript (skips locally without it,
 * fails under CI=true).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from './tools.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../bench/erlang/megaco_codec_bench.escript', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'trgwd-erl-'));
after(() => rmSync(work, { recursive: true, force: true }));

interface Source {
  name: string;
  path: string;
}

function sources(): Source[] {
  const corpusIndex = JSON.parse(readFileSync(join(FIXTURES, 'h248-corpus', 'index.json'), 'utf8')) as {
    file: string;
  }[];
  const rfcDir = join(FIXTURES, 'rfc3525-appendix-i');
  return [
    ...corpusIndex.map((e) => ({ name: e.file, path: join(FIXTURES, 'h248-corpus', e.file) })),
    ...readdirSync(rfcDir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => ({ name: `rfc3525/${f}`, path: join(rfcDir, f) })),
  ];
}

test('Erlang megaco decodes our pretty and compact encodings to the same term as the originals', async (t) => {
  const escript = requireTool(t, 'escript', 'for the Erlang/OTP megaco interop check');
  if (escript === undefined) return;
  const { decodeMessage, encodeMessage } = await import('../../daemon/control/codec/index.js');

  const pairs: { name: string; orig: string; ours: string; text: string }[] = [];
  let n = 0;
  for (const s of sources()) {
    let msg;
    try {
      msg = decodeMessage(readFileSync(s.path, 'utf8'));
    } catch {
      continue; // ours rejects it (an RFC syntax slip); the RFC flow test says whether that is right
    }
    for (const style of ['pretty', 'compact'] as const) {
      const text = encodeMessage(msg, { style });
      const ours = join(work, `${n++}.txt`);
      writeFileSync(ours, text);
      pairs.push({ name: `${s.name} (ours, ${style})`, orig: s.path, ours, text });
    }
  }
  const res = spawnSync(escript, [SCRIPT, '--same', ...pairs.flatMap((p) => [p.orig, p.ours])], {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  assert.equal(res.status, 0, `escript failed: ${res.stderr}`);
  const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, pairs.length, 'one verdict per pair');

  const failures: string[] = [];
  let same = 0;
  let skipped = 0;
  lines.forEach((line, i) => {
    const p = pairs[i]!;
    if (line.startsWith('same ')) {
      same++;
    } else if (line.startsWith(`error ${p.orig} `)) {
      skipped++; // Erlang rejects the original too (e.g. RFC step 1 without Reason): nothing to compare
    } else if (line.startsWith('differ ')) {
      failures.push(
        `${p.name}: Erlang decodes it differently: ${line.slice(line.indexOf(' at ') + 1)}\n--- ours:\n${p.text}`,
      );
    } else {
      failures.push(
        `${p.name}: Erlang rejects our encoding: ${line.split(' ').slice(2).join(' ').slice(0, 300)}\n--- ours:\n${p.text}`,
      );
    }
  });
  t.diagnostic(`${same} same, ${skipped} skipped (original rejected by Erlang), ${failures.length} failures`);
  assert.deepEqual(failures, [], failures.slice(0, 5).join('\n\n'));
});
