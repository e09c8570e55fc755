/**
 * H.248 text codec throughput, ours against Erlang/OTP megaco's text codec on the same message texts.
 *
 *   npx tsx bench/codec.ts [--time-ms 1000] [--warmup-ms 300] [--no-erlang] [--case a_registration]
 *
 * Prints JSON lines on stdout (progress on stderr):
 *   {"bench":"codec","impl":"trgwd","case":"b_add_two_terms_sdp/pretty","op":"decode",...}
 *   {"bench":"codec","impl":"trgwd","case":"b_add_two_terms_sdp/pretty","op":"encode","style":"compact",...}
 *   {"bench":"codec","impl":"erlang-megaco",...}            (from bench/erlang/megaco_codec_bench.escript)
 *   {"bench":"codec","kind":"ratio","case":...,"op":...,"ours_ops_per_s":...,"erlang_ops_per_s":...,"ratio":...}
 * Each measurement has ops, seconds, ops_per_s, bytes (input bytes for decode, output bytes for
 * encode) and mb_per_s (10^6 bytes/s). See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, accessSync, constants } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeMessage } from '../daemon/control/codec/index.js';
import { CASES } from './messages.js';

// ---------------------------------------------------------------- options

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const TIME_MS = Number(argValue('--time-ms') ?? 1000);
const WARMUP_MS = Number(argValue('--warmup-ms') ?? 300);
const ONLY = argValue('--case');
const NO_ERLANG = process.argv.includes('--no-erlang');

// ---------------------------------------------------------------- measuring

let sink = 0; // keeps results alive so the work is not optimised away

function runFor(fn: () => number, ms: number): { ops: number; seconds: number } {
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(ms * 1e6));
  let ops = 0;
  let now = start;
  // check the clock every `batch` calls, so the clock is not what we measure
  let batch = 1;
  while (now < until) {
    const b0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += fn();
    ops += batch;
    now = process.hrtime.bigint();
    if (now - b0 < 1_000_000n && batch < 1 << 16) batch *= 2;
  }
  return { ops, seconds: Number(now - start) / 1e9 };
}

interface Row {
  bench: 'codec';
  impl: string;
  case: string;
  op: 'decode' | 'encode';
  style?: string;
  codec?: string;
  scanner?: string;
  bytes: number;
  ops: number;
  seconds: number;
  ops_per_s: number;
  mb_per_s: number;
  [k: string]: unknown;
}

function emit(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function measure(
  impl: string,
  caseName: string,
  op: Row['op'],
  extra: Partial<Row>,
  bytes: number,
  fn: () => number,
): Row {
  runFor(fn, WARMUP_MS);
  const { ops, seconds } = runFor(fn, TIME_MS);
  const opsPerS = ops / seconds;
  const row: Row = {
    bench: 'codec',
    impl,
    case: caseName,
    op,
    ...extra,
    bytes,
    ops,
    seconds: round(seconds),
    ops_per_s: round(opsPerS),
    mb_per_s: round((opsPerS * bytes) / 1e6),
  };
  emit(row);
  return row;
}

function round(x: number): number {
  return Number(x.toPrecision(6));
}

// ---------------------------------------------------------------- ours

const ours: Row[] = [];
const texts: { name: string; text: string }[] = [];

emit({
  bench: 'codec',
  kind: 'env',
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpus: cpus().length,
  time_ms: TIME_MS,
  warmup_ms: WARMUP_MS,
});

for (const c of CASES) {
  if (ONLY !== undefined && !c.name.startsWith(ONLY)) continue;
  let compact: string;
  try {
    compact = encodeMessage(decodeMessage(c.text), { style: 'compact' });
  } catch (e) {
    emit({ bench: 'codec', impl: 'trgwd', case: c.name, error: String(e) });
    continue;
  }
  for (const [variant, text] of [
    ['pretty', c.text],
    ['compact', compact],
  ] as const) {
    const name = `${c.name}/${variant}`;
    texts.push({ name, text });
    process.stderr.write(`trgwd ${name}\n`);
    const bytes = Buffer.byteLength(text);
    const input = Buffer.from(text, 'utf8');
    ours.push(
      measure('trgwd', name, 'decode', { input: 'string' }, bytes, () => (decodeMessage(text) ? 1 : 0)),
    );
    ours.push(
      measure('trgwd', name, 'decode', { input: 'Uint8Array' }, bytes, () => (decodeMessage(input) ? 1 : 0)),
    );
    const msg = decodeMessage(text);
    for (const style of ['pretty', 'compact'] as const) {
      const out = encodeMessage(msg, { style });
      ours.push(
        measure(
          'trgwd',
          name,
          'encode',
          { style },
          Buffer.byteLength(out),
          () => encodeMessage(msg, { style }).length,
        ),
      );
    }
  }
}

// ---------------------------------------------------------------- Erlang/OTP megaco

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const escript = findOnPath('escript');
const erlRows: Row[] = [];
if (NO_ERLANG) {
  emit({ bench: 'codec', impl: 'erlang-megaco', skipped: true, reason: '--no-erlang' });
} else if (escript === undefined || findOnPath('erl') === undefined) {
  emit({ bench: 'codec', impl: 'erlang-megaco', skipped: true, reason: 'erl/escript not found on PATH' });
} else if (texts.length > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-bench-'));
  try {
    const caseArgs = texts.map((t, i) => {
      const f = join(dir, `${i}.txt`);
      writeFileSync(f, t.text);
      return `${t.name}=${f}`;
    });
    const script = fileURLToPath(new URL('./erlang/megaco_codec_bench.escript', import.meta.url));
    process.stderr.write(`erlang megaco: ${texts.length} texts\n`);
    const res = spawnSync(
      escript,
      [script, '--time-ms', String(TIME_MS), '--warmup-ms', String(WARMUP_MS), ...caseArgs],
      { encoding: 'utf8', timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024 },
    );
    if (res.status !== 0) {
      emit({
        bench: 'codec',
        impl: 'erlang-megaco',
        skipped: true,
        reason: `escript failed: ${res.error ?? res.stderr}`,
      });
    }
    for (const line of res.stdout.split('\n')) {
      if (!line.trim().startsWith('{')) continue;
      const o = JSON.parse(line) as Row;
      const row: Row = { ...o, bench: 'codec' };
      emit(row);
      if (typeof row.ops_per_s === 'number') erlRows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- ratios ours / erlang

for (const e of erlRows) {
  let mine: Row | undefined;
  if (e.op === 'decode') {
    mine = ours.find((o) => o.case === e.case && o.op === 'decode' && o['input'] === 'string');
  } else {
    const style = e.codec === 'pretty_text' ? 'pretty' : 'compact';
    mine = ours.find((o) => o.case === e.case && o.op === 'encode' && o.style === style);
  }
  if (mine === undefined) continue;
  emit({
    bench: 'codec',
    kind: 'ratio',
    case: e.case,
    op: e.op,
    ours: e.op === 'decode' ? 'decode(string)' : `encode ${mine.style}`,
    erlang: e.op === 'decode' ? `decode ${e.codec} scanner=${e.scanner}` : `encode ${e.codec}`,
    ours_ops_per_s: mine.ops_per_s,
    erlang_ops_per_s: e.ops_per_s,
    ratio: round(mine.ops_per_s / e.ops_per_s),
  });
}

if (sink === -1) process.stderr.write('unreachable\n');
