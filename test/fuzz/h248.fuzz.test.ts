/**
 * H.248 text codec under random and mutated input (fast-check).
 *
 * 1. Mutations of corpus messages (bit flips, insertions of `{` `}` `;` `"` `\` and friends, deletions,
 *    duplications, truncations) and every prefix of every corpus message: the decoder returns a
 *    message or throws H248CodecError, nothing else, and within a time bound proportional to the
 *    input size. Whatever it accepts, the encoder writes (pretty and compact) and decodes back equal.
 * 2. Inputs grown 10x and 100x (transactions, commands, SDP lines, list items, long strings, and
 *    inputs that are rejected): decode time grows linearly, not faster.
 * 3. Random valid models of the common subset round-trip: decode(encode(m)) equals m, both styles.
 *
 * Bounded: fixed numRuns and a time limit per property, so the file runs in well under a minute on
 * two cores. FUZZ_SEED=<n> replays a run (fast-check prints the seed and path of a failure);
 * FUZZ_RUNS_FACTOR=<k> multiplies the run counts for a longer local session.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, H248CodecError } from '../../daemon/control/codec/index.js';
import type * as M from '../../daemon/control/codec/model.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
// Deterministic by default (CI must not fail on a seed drawn that day): FUZZ_SEED=<n> replays a run,
// FUZZ_SEED=random explores with a fresh seed (fast-check prints it with any failure).
const SEED = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 20261127);
const FACTOR = Math.max(1, Number(process.env.FUZZ_RUNS_FACTOR ?? 1));
const runs = (n: number): number => Math.round(n * FACTOR);
const fcParams = (numRuns: number, timeMs: number): fc.Parameters<unknown> => ({
  numRuns: runs(numRuns),
  interruptAfterTimeLimit: timeMs * FACTOR,
  markInterruptAsFailure: false,
  ...(SEED !== undefined ? { seed: SEED } : {}),
});

// ------------------------------------------------------------------------------------------ corpus

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : d.name.endsWith('.txt') ? [join(dir, d.name)] : [],
  );
}

const corpusFiles = [
  ...listFiles(join(FIXTURES, 'h248-corpus')),
  ...listFiles(join(FIXTURES, 'rfc3525-appendix-i')),
].sort();
const corpus: { name: string; bytes: Uint8Array }[] = corpusFiles.map((f) => ({
  name: f.slice(FIXTURES.length),
  bytes: new Uint8Array(readFileSync(f)),
}));
/** Corpus messages small enough for the per-mutation work (the 50 KB nesting bomb is used whole below). */
const seeds = corpus.filter((c) => c.bytes.length <= 8192);

// ------------------------------------------------------------------------------------------ helpers

/** Without the decoder's `style` note (a compact re-encoding decodes as compact). */
function withoutStyle(m: M.Message): M.Message {
  const { style: _style, ...rest } = m;
  return rest;
}

function show(input: Uint8Array | string): string {
  const s = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return JSON.stringify(s.length > 1500 ? `${s.slice(0, 1500)}...(${s.length} chars)` : s);
}

type Outcome = { ok: true; msg: M.Message } | { ok: false; err: H248CodecError };

/** Decodes; a throw that is not H248CodecError fails with the input in the message. */
function decodeChecked(input: Uint8Array | string, limits?: Parameters<typeof decodeMessage>[1]): Outcome {
  try {
    return { ok: true, msg: decodeMessage(input, limits) };
  } catch (e) {
    if (e instanceof H248CodecError) {
      assert.match(e.code, /^ERR_H248_/, `codec error code ${e.code}`);
      assert.ok(Number.isInteger(e.line) && e.line >= 0 && Number.isInteger(e.column) && e.column >= 0);
      return { ok: false, err: e };
    }
    const what = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    throw new Error(`decode threw something other than H248CodecError: ${what}\ninput: ${show(input)}`, {
      cause: e,
    });
  }
}

/** Time bound for one decode: 50 ms up to 10 KB, then 5 ms per further KB. */
function boundMs(bytes: number): number {
  return 50 + Math.max(0, bytes - 10_240) * (5 / 1024);
}

/**
 * Decodes within the time bound. A slow first run is measured twice more (a GC pause or JIT
 * compilation is not reproducible; a super-linear path is) and the fastest counts.
 */
function decodeTimed(input: Uint8Array | string): Outcome {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  let t0 = performance.now();
  const out = decodeChecked(input);
  let best = performance.now() - t0;
  for (let i = 0; i < 2 && best > boundMs(size); i++) {
    t0 = performance.now();
    decodeChecked(input);
    best = Math.min(best, performance.now() - t0);
  }
  assert.ok(
    best <= boundMs(size),
    `decode of ${size} bytes took ${best.toFixed(1)} ms (bound ${boundMs(size)} ms): ${show(input)}`,
  );
  return out;
}

/** Whatever decodes must encode in both styles and decode back to the same model. */
function assertReencodes(msg: M.Message, input: Uint8Array | string): void {
  for (const style of ['pretty', 'compact'] as const) {
    let text: string;
    try {
      text = encodeMessage(msg, { style });
    } catch (e) {
      throw new Error(
        `encode (${style}) failed on a decoded message: ${String(e)}\ninput: ${show(input)}\nmodel: ${JSON.stringify(msg)}`,
        { cause: e },
      );
    }
    let again: M.Message;
    try {
      again = decodeMessage(text);
    } catch (e) {
      throw new Error(
        `our own ${style} encoding does not decode: ${String(e)}\nencoded: ${show(text)}\ninput: ${show(input)}`,
        { cause: e },
      );
    }
    assert.deepStrictEqual(
      withoutStyle(again),
      withoutStyle(msg),
      `${style} re-encoding changed the model\nencoded: ${show(text)}\ninput: ${show(input)}`,
    );
  }
}

// ------------------------------------------------------------------------------------------ mutations

const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const INSERTS: Uint8Array[] = [
  ...[
    '{',
    '}',
    ';',
    '"',
    '\\',
    ',',
    '=',
    '\n',
    '\r\n',
    ' ',
    '\t',
    '$',
    '*',
    '-',
    '/',
    ':',
    '[',
    ']',
    '<',
    '>',
    '(',
    ')',
    '#',
    '!',
    '&',
    '.',
  ].map(enc),
  ...[
    '\\}',
    '{{{{',
    '}}}}',
    '""',
    '"\\"',
    '; comment\n',
    '0x',
    '4294967296',
    '99999999999999999999',
    '-1',
  ].map(enc),
  ...[
    'Context',
    'Transaction = 1',
    'MEGACO/3 ',
    '!/1 ',
    'Local {',
    'v=0\n',
    'Error = 400 {"x"}',
    'ROOT',
    'Reply = 2 {',
    'Media {',
  ].map(enc),
  ...['\u00e9', '\u{1F600}', '\u0000', '\u007f'].map(enc),
  new Uint8Array([0xff]),
  new Uint8Array([0xc3]),
  new Uint8Array([0xe2, 0x82]),
  new Uint8Array([0xed, 0xa0, 0x80]),
];

type Mutation =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; byte: number }
  | { k: 'insert'; pos: number; what: number }
  | { k: 'delete'; pos: number; len: number }
  | { k: 'duplicate'; pos: number; len: number; times: number }
  | { k: 'truncate'; pos: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('insert' as const), pos: fc.nat(), what: fc.nat({ max: INSERTS.length - 1 }) }),
  fc.record({ k: fc.constant('insert' as const), pos: fc.nat(), what: fc.nat({ max: INSERTS.length - 1 }) }),
  fc.record({ k: fc.constant('delete' as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
  fc.record({
    k: fc.constant('duplicate' as const),
    pos: fc.nat(),
    len: fc.integer({ min: 1, max: 96 }),
    times: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ k: fc.constant('truncate' as const), pos: fc.nat() }),
);

function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Buffer.from(src);
  for (const m of muts) {
    const pos = b.length === 0 ? 0 : m.pos % (b.length + (m.k === 'insert' ? 1 : 0));
    switch (m.k) {
      case 'flip':
        if (b.length > 0) b[pos] = (b[pos] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[pos] = m.byte;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, pos), INSERTS[m.what] as Uint8Array, b.subarray(pos)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + m.len)]);
        break;
      case 'duplicate': {
        const piece = b.subarray(pos, pos + m.len);
        b = Buffer.concat([
          b.subarray(0, pos + piece.length),
          ...Array.from({ length: m.times }, () => piece),
          b.subarray(pos + piece.length),
        ]);
        break;
      }
      case 'truncate':
        b = b.subarray(0, pos);
        break;
    }
  }
  return new Uint8Array(b);
}

describe('H.248 decoder under mutated input', () => {
  test('corpus has seeds', () => {
    assert.ok(seeds.length >= 250, `only ${seeds.length} seeds`);
  });

  test('mutated corpus messages: only H248CodecError, bounded time; accepted ones re-encode equal', (t) => {
    let runsDone = 0;
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
        (i, muts) => {
          const input = mutate((seeds[i] as (typeof seeds)[number]).bytes, muts);
          const asBytes = decodeTimed(input);
          const asString = decodeTimed(Buffer.from(input).toString('latin1'));
          runsDone++;
          if (asBytes.ok) {
            accepted++;
            assertReencodes(asBytes.msg, input);
          }
          if (asString.ok) assertReencodes(asString.msg, Buffer.from(input).toString('latin1'));
        },
      ),
      fcParams(30_000, 20_000),
    );
    t.diagnostic(`${runsDone} mutated inputs, ${accepted} still decoded (and round-tripped)`);
  });

  test('every prefix of every corpus message (truncation at each length)', (t) => {
    let accepted = 0;
    let total = 0;
    for (const c of corpus) {
      const step = c.bytes.length > 8192 ? 997 : 1; // the 50 KB nesting bomb: every 997th length
      for (let n = 0; n <= c.bytes.length; n += step) {
        const out = decodeTimed(c.bytes.subarray(0, n));
        total++;
        if (out.ok) {
          accepted++;
          assertReencodes(out.msg, c.bytes.subarray(0, n));
        }
      }
    }
    assert.ok(total > 30_000, `only ${total} prefixes`);
    t.diagnostic(`${total} prefixes, ${accepted} decoded (and round-tripped)`);
    // a prefix can be a whole message (transactions end at any '}'), but most are not
    assert.ok(accepted < total / 2, `${accepted} of ${total} prefixes decoded`);
  });

  test('random bytes and random token soup: only H248CodecError, bounded time', () => {
    const tokens = fc.constantFrom(
      ...[
        'MEGACO/1 [127.0.0.1]:2944 ',
        '!/3 <a.b>:1 ',
        'Transaction',
        'T',
        'Reply',
        'P',
        'Context',
        'C',
        '=',
        '{',
        '}',
        ',',
        '$',
        '-',
        '*',
        'Add',
        'A',
        'Modify',
        'Subtract',
        'Notify',
        'N',
        'ServiceChange',
        'Services',
        'Method',
        'Restart',
        'Reason',
        '"901"',
        'Media',
        'Stream',
        'ST',
        'Local',
        'Remote',
        'L',
        'R',
        'LocalControl',
        'O',
        'Mode',
        'SendReceive',
        'Events',
        'E',
        'Signals',
        'SG',
        'ObservedEvents',
        'OE',
        'Statistics',
        'SA',
        'Audit',
        'AT',
        'Error',
        'ER',
        '400',
        '1',
        '0',
        '4294967295',
        'ip/1',
        'ROOT',
        'nt/jit',
        'g/cause',
        ' ',
        '\n',
        '\r\n',
        ';c\n',
        'v=0\n',
        '\\}',
        '"',
        'ImmAckRequired',
        'Pending',
        'TransactionResponseAck',
        'K',
        '20240101T00000000:',
        'DigitMap',
        '(0|1x)',
        '[',
        ']',
        ':',
        '/',
      ],
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.array(tokens, { maxLength: 200 }).map((t) => enc(t.join(''))),
        ),
        (input) => {
          const out = decodeTimed(input);
          if (out.ok) assertReencodes(out.msg, input);
        },
      ),
      fcParams(20_000, 10_000),
    );
  });

  test('the bad corpus is rejected with H248CodecError (the independent decoder rejected each)', () => {
    const bad = JSON.parse(readFileSync(join(FIXTURES, 'h248-corpus', 'bad', 'index.json'), 'utf8')) as {
      file: string;
      independent_decoder: string;
    }[];
    for (const b of bad) {
      const bytes = readFileSync(join(FIXTURES, 'h248-corpus', b.file));
      const out = decodeTimed(new Uint8Array(bytes));
      if (b.independent_decoder === 'rejected') assert.equal(out.ok, false, `${b.file} was accepted`);
    }
  });
});

// ------------------------------------------------------------------------------------------ scaling

/** Fastest of several decodes of `input`, in ms per decode (repeats until ~40 ms were spent). */
function decodeMs(input: string, limits: Parameters<typeof decodeMessage>[1]): number {
  let best = Infinity;
  let spent = 0;
  for (let i = 0; i < 200 && (i < 3 || spent < 40); i++) {
    const t0 = performance.now();
    try {
      decodeMessage(input, limits);
    } catch (e) {
      if (!(e instanceof H248CodecError)) throw e;
    }
    const dt = performance.now() - t0;
    spent += dt;
    best = Math.min(best, dt);
  }
  return best;
}

const NO_LIMITS = {
  maxMessageBytes: 64 * 1024 * 1024,
  maxTransactions: Number.POSITIVE_INFINITY,
  maxActionsPerTransaction: Number.POSITIVE_INFINITY,
  maxCommandsPerAction: Number.POSITIVE_INFINITY,
  maxDescriptorsPerCommand: Number.POSITIVE_INFINITY,
  maxListItems: Number.POSITIVE_INFINITY,
  maxSdpLines: Number.POSITIVE_INFINITY,
  maxStringLength: Number.POSITIVE_INFINITY,
};

const HDR = 'MEGACO/3 [192.0.2.1]:2944\n';
const sdpLines = (n: number) =>
  Array.from({ length: n }, (_, i) => `a=rtpmap:${96 + (i % 30)} X${i}/8000\n`).join('');

/** Families of messages of size n (n = 1, 10, 100 times a base unit); `valid` says whether each must decode. */
const FAMILIES: { name: string; valid: boolean; make: (n: number) => string }[] = [
  {
    name: 'transactions',
    valid: true,
    make: (n) =>
      HDR +
      Array.from(
        { length: 10 * n },
        (_, i) =>
          `Transaction = ${i + 1} { Context = ${i + 1} { Modify = ip/${i}/a/1 { Media { Stream = 1 { LocalControl { Mode = SendReceive, nt/jit = 40 }, Remote {\nv=0\nc=IN IP4 10.0.0.${i % 250}\nm=audio ${20000 + i} RTP/AVP 0\n} } }, Events = ${i + 1} { g/cause } } } }\n`,
      ).join(''),
  },
  {
    name: 'commands in one action',
    valid: true,
    make: (n) =>
      `${HDR}Reply = 1 { Context = 7 { ${Array.from({ length: 20 * n }, (_, i) => `Subtract = ip/7/t${i} { Statistics { nt/os = ${i}, nt/or = ${2 * i} } }`).join(', ')} } }`,
  },
  {
    name: 'SDP lines',
    valid: true,
    make: (n) =>
      `${HDR}Transaction = 1 { Context = $ { Add = $ { Media { Stream = 1 { Local {\nv=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n${sdpLines(20 * n)}} } } } } }`,
  },
  {
    name: 'list items (statistics)',
    valid: true,
    make: (n) =>
      `${HDR}Reply = 1 { Context = 7 { Subtract = ip/1 { Statistics { ${Array.from({ length: 50 * n }, (_, i) => `x${i}/s${i} = ${i}`).join(', ')} } } } }`,
  },
  {
    name: 'long quoted string',
    valid: true,
    make: (n) => `${HDR}Reply = 1 { Context = - { Error = 400 { "${'abc def '.repeat(100 * n)}" } } }`,
  },
  {
    name: 'many comments',
    valid: true,
    make: (n) =>
      `${HDR}Transaction = 1 { Context = - {\n${'; a comment line\n'.repeat(50 * n)}Notify = ip/1 { ObservedEvents = 1 { g/cause } } } }`,
  },
  {
    name: 'unbalanced { (rejected)',
    valid: false,
    make: (n) =>
      `${HDR}Transaction = 1 { Context = 1 { Add = x { Media { Stream = 1 { Local {${'{'.repeat(500 * n)}`,
  },
  {
    name: 'nested structure (rejected early)',
    valid: false,
    make: (n) => `${HDR}Transaction = 1 ${'{ Context = 1 '.repeat(50 * n)}`,
  },
  {
    name: 'unterminated quote (rejected)',
    valid: false,
    make: (n) => `${HDR}Reply = 1 { Context = - { Error = 400 { "${'x'.repeat(500 * n)}`,
  },
  {
    name: 'commas (rejected at the first)',
    valid: false,
    make: (n) => `${HDR}Transaction = 1 { Context = 1 { Add = x ${','.repeat(500 * n)} } }`,
  },
  {
    name: 'long list with a slip at its end (rejected)',
    valid: false,
    make: (n) =>
      `${HDR}Reply = 1 { Context = 7 { Subtract = ip/1 { Statistics { ${Array.from({ length: 50 * n }, (_, i) => `x${i}/s${i} = ${i}`).join(', ')}, } } } }`,
  },
  {
    name: 'many transactions, unknown token at the end (rejected)',
    valid: false,
    make: (n) =>
      `${HDR}${Array.from({ length: 10 * n }, (_, i) => `Transaction = ${i + 1} { Context = ${i + 1} { Modify = ip/${i} { Signals { g/x } } } }\n`).join('')}Bogus = 1 { }`,
  },
  {
    name: 'truncated big message (rejected)',
    valid: false,
    make: (n) => {
      const t = `${HDR}${Array.from({ length: 10 * n }, (_, i) => `Transaction = ${i + 1} { Context = ${i + 1} { Notify = ip/${i} { ObservedEvents = 1 { g/cause { Generalcause = NR } } } } }\n`).join('')}`;
      return t.slice(0, t.length - 3);
    },
  },
];

describe('H.248 decoder time grows linearly with input size', () => {
  for (const fam of FAMILIES) {
    test(fam.name, (t) => {
      const sizes = [1, 10, 100];
      const inputs = sizes.map((n) => fam.make(n));
      for (const input of inputs) {
        const out = decodeChecked(input, NO_LIMITS);
        if (fam.valid)
          assert.ok(out.ok, `must decode: ${out.ok ? '' : out.err.message} ${show(input.slice(0, 300))}`);
        else assert.ok(!out.ok, 'must be rejected');
      }
      decodeMs(inputs[1] as string, NO_LIMITS); // warm-up (JIT)
      const ms = inputs.map((i) => decodeMs(i, NO_LIMITS));
      const bytes = inputs.map((i) => Buffer.byteLength(i));
      t.diagnostic(bytes.map((b, i) => `${b} B: ${(ms[i] as number).toFixed(3)} ms`).join(', '));
      ms.forEach((m, i) =>
        assert.ok(m <= boundMs(bytes[i] as number), `${bytes[i]} B took ${m.toFixed(1)} ms`),
      );
      // linear: 10x the input may cost at most 10x the time, with a slack of 4 for caches and noise
      // (quadratic would be 100x). The small size is floored at 0.05 ms, below which timer noise rules.
      const [a, b, c] = ms as [number, number, number];
      const ratio1 = b / Math.max(a, 0.05);
      const ratio2 = c / Math.max(b, 0.05);
      assert.ok(ratio1 <= 40, `x10 input: time x${ratio1.toFixed(1)} (${a.toFixed(3)} → ${b.toFixed(3)} ms)`);
      assert.ok(
        ratio2 <= 40,
        `x100 input: time x${ratio2.toFixed(1)} from x10 (${b.toFixed(3)} → ${c.toFixed(3)} ms)`,
      );
    });
  }

  test('default limits reject oversized inputs quickly', () => {
    const big = FAMILIES[0]!.make(1000); // ~2.5 MB, over maxMessageBytes
    const t0 = performance.now();
    const out = decodeChecked(big);
    const dt = performance.now() - t0;
    assert.ok(
      !out.ok && out.err.code === 'ERR_H248_LIMIT',
      `expected ERR_H248_LIMIT, got ${out.ok ? 'a message' : out.err.code}`,
    );
    assert.ok(dt < 50, `rejecting ${big.length} bytes took ${dt.toFixed(1)} ms`);
  });
});

// ------------------------------------------------------------------------------------------ models

const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
/** A NAME that no H.248 token can be (tokens never start with x). */
const xname = fc.string({ unit: nameChar, minLength: 1, maxLength: 7 }).map((s) => `x${s}`);
const pkgdName = fc.tuple(xname, xname).map(([p, i]) => `${p}/${i}`);
const segment = fc.string({ unit: nameChar, minLength: 1, maxLength: 5 }).map((s) => `t${s}`);
const pathName = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const uint32 = fc.integer({ min: 1, max: 4294967295 });
const safeWord = fc
  .string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-_.'.split('')),
    minLength: 1,
    maxLength: 10,
  })
  .filter((s) => /^[A-Za-z0-9]/.test(s));
const quotedText = fc.string({
  unit: fc.constantFrom(..."abc XYZ 019 :/.-_+=,;{}[]()<>!?@#$%&*'|~^".split('')),
  maxLength: 24,
});
const value = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }).map(String),
  safeWord,
  quotedText.map((s) => `"${s}"`),
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drops keys whose value is undefined (the model never has undefined-valued keys). */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
const nonEmpty = <T>(a: fc.Arbitrary<T>, max = 3) => fc.array(a, { minLength: 1, maxLength: max });

const propertyParm: fc.Arbitrary<M.PropertyParm> = fc.oneof(
  fc.record({ name: pkgdName, relation: fc.constantFrom<M.Relation>('=', '!=', '<', '>'), value }),
  fc.record({ name: pkgdName, relation: fc.constant<M.Relation>('='), list: nonEmpty(value) }),
  fc.record({ name: pkgdName, relation: fc.constant<M.Relation>('='), alternatives: nonEmpty(value) }),
  fc.record({ name: pkgdName, relation: fc.constant<M.Relation>('='), range: fc.tuple(value, value) }),
);
const eventParm: fc.Arbitrary<M.PropertyParm> = fc.record({
  name: xname,
  relation: fc.constant<M.Relation>('='),
  value,
});

const sdp: fc.Arbitrary<string> = fc
  .record({
    eol: fc.constantFrom('\n', '\r\n'),
    addr: fc.oneof(fc.constant('$'), fc.ipV4()),
    port: fc.oneof(fc.constant('$'), fc.integer({ min: 1024, max: 65535 }).map(String)),
    pts: nonEmpty(fc.integer({ min: 0, max: 127 }), 4),
    attrs: fc.array(
      fc.constantFrom(
        'a=ptime:20',
        'a=sendrecv',
        'a=rtcp-mux',
        'a=fmtp:101 0-15',
        'a=x-odd:{braces}',
        'a=path:msrp://h:1/s;tcp',
      ),
      { maxLength: 3 },
    ),
    groups: fc.integer({ min: 1, max: 2 }),
  })
  .map(({ eol, addr, port, pts, attrs, groups }) => {
    const one = ['v=0', `c=IN IP4 ${addr}`, `m=audio ${port} RTP/AVP ${pts.join(' ')}`, ...attrs]
      .map((l) => l + eol)
      .join('');
    return one.repeat(groups);
  });

const localControl: fc.Arbitrary<M.LocalControlDescriptor> = fc
  .record({
    mode: opt(fc.constantFrom<M.StreamMode>('sendOnly', 'recvOnly', 'sendRecv', 'inactive', 'loopback')),
    properties: opt(nonEmpty(propertyParm)),
  })
  .map(clean)
  .filter((l) => l.mode !== undefined || l.properties !== undefined);

const streamParms: fc.Arbitrary<M.StreamParms> = fc
  .record({ localControl: opt(localControl), local: opt(sdp), remote: opt(sdp) })
  .map(clean)
  .filter((s) => Object.keys(s).length > 0);

const media: fc.Arbitrary<M.MediaDescriptor> = fc.oneof(
  streamParms.map((stream) => ({ stream })),
  fc
    .uniqueArray(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 2 })
    .chain((ids) => fc.tuple(...ids.map((id) => streamParms.map((p) => ({ id, ...p })))))
    .map((streams) => ({ streams })),
);

const requestedEvent: fc.Arbitrary<M.RequestedEvent> = fc
  .record({ name: pkgdName, keepActive: opt(fc.constant(true as const)), params: opt(nonEmpty(eventParm)) })
  .map(clean);
const events: fc.Arbitrary<M.EventsDescriptor> = fc.record({
  requestId: uint32,
  events: nonEmpty(requestedEvent),
});

const signal: fc.Arbitrary<M.SignalRequest> = fc
  .record({
    kind: fc.constant('signal' as const),
    name: pkgdName,
    signalType: opt(fc.constantFrom<M.SignalType>('onOff', 'timeOut', 'brief')),
    duration: opt(fc.integer({ min: 0, max: 65535 })),
    params: opt(nonEmpty(eventParm)),
  })
  .map(clean);
const signals: fc.Arbitrary<M.SignalParm[]> = fc.array(signal, { maxLength: 3 });

const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: n, maxLength: n });
const timestamp = fc.tuple(digits(8), digits(8)).map(([d, t]) => `${d}T${t}`);
const observedEvent: fc.Arbitrary<M.ObservedEvent> = fc
  .record({ name: pkgdName, timestamp: opt(timestamp), params: opt(nonEmpty(eventParm)) })
  .map(clean);
const observedEvents: fc.Arbitrary<M.ObservedEventsDescriptor> = fc.record({
  requestId: uint32,
  events: nonEmpty(observedEvent),
});

const statistics: fc.Arbitrary<M.StatisticsParameter[]> = nonEmpty(
  fc.record({ name: pkgdName, value: fc.integer({ min: 0, max: 2 ** 31 }).map(String) }),
  5,
);
const errorDesc: fc.Arbitrary<M.ErrorDescriptor> = fc
  .record({
    code: fc.integer({ min: 1, max: 9999 }),
    text: opt(quotedText.map((s) => s.replace(/[\\]/g, ''))),
  })
  .map(clean);

const mId: fc.Arbitrary<M.MId> = fc.oneof(
  fc
    .record({
      kind: fc.constant('ip4' as const),
      address: fc.ipV4(),
      port: opt(fc.integer({ min: 1, max: 65535 })),
    })
    .map(clean),
  fc
    .record({
      kind: fc.constant('domain' as const),
      name: fc.domain().filter((d) => d.length <= 64),
      port: opt(fc.integer({ min: 1, max: 65535 })),
    })
    .map(clean),
);
const contextId: fc.Arbitrary<M.ContextId> = fc.oneof(
  fc.integer({ min: 1, max: 4294967293 }),
  fc.constantFrom<M.ContextId>('-', '$'),
);

const ammRequest: fc.Arbitrary<M.AmmRequest> = fc
  .record({
    kind: fc.constantFrom<M.AmmKind>('add', 'modify'),
    terminationId: fc.oneof(pathName, fc.constant('$')),
    descriptors: fc.record({ media: opt(media), events: opt(events), signals: opt(signals) }).map(clean),
  })
  .map((r) => r);
const subtractRequest: fc.Arbitrary<M.SubtractRequest> = fc
  .record({
    kind: fc.constant('subtract' as const),
    terminationId: fc.oneof(pathName, fc.constant('*')),
    audit: opt(fc.constant<M.AuditDescriptor>({ items: ['statistics'] })),
  })
  .map(clean);
const notifyRequest: fc.Arbitrary<M.NotifyRequest> = fc.record({
  kind: fc.constant('notify' as const),
  terminationId: pathName,
  observedEvents,
});
const serviceChangeRequest: fc.Arbitrary<M.ServiceChangeRequest> = fc.record({
  kind: fc.constant('serviceChange' as const),
  terminationId: fc.oneof(fc.constant('ROOT'), pathName),
  services: fc
    .record({
      method: fc.constantFrom<M.ServiceChangeMethod>(
        'restart',
        'forced',
        'graceful',
        'failover',
        'disconnected',
        'handOff',
      ),
      reason: fc.constantFrom(
        '901 Cold Boot',
        '905 Termination taken out of service',
        '900',
        '908 MG Impending Failure',
      ),
      delay: opt(fc.integer({ min: 0, max: 100000 })),
      profile: opt(
        fc.record({
          name: fc.constantFrom('ResGW', 'TBD_iq_profile', 'trgwd'),
          version: fc.integer({ min: 1, max: 99 }),
        }),
      ),
      version: opt(fc.integer({ min: 1, max: 3 })),
    })
    .map(clean),
});
const commandRequest: fc.Arbitrary<M.CommandRequest> = fc.oneof(
  ammRequest,
  subtractRequest,
  notifyRequest,
  serviceChangeRequest,
);

const actionRequest: fc.Arbitrary<M.ActionRequest> = fc.record({
  contextId,
  commands: nonEmpty(commandRequest, 3),
});

const termAudit: fc.Arbitrary<M.TerminationAudit> = fc
  .record({
    media: opt(fc.record({ stream: fc.record({ local: sdp }) })),
    statistics: opt(statistics),
    error: opt(errorDesc),
  })
  .map(clean);
const ammsReply: fc.Arbitrary<M.AmmsReply> = fc
  .record({
    kind: fc.constantFrom<M.AmmsReply['kind']>('add', 'modify', 'subtract'),
    terminationId: pathName,
    audit: opt(termAudit),
  })
  .map((r) =>
    clean({ ...r, audit: r.audit !== undefined && Object.keys(r.audit).length > 0 ? r.audit : undefined }),
  );
const notifyReply: fc.Arbitrary<M.NotifyReply> = fc
  .record({ kind: fc.constant('notify' as const), terminationId: pathName, error: opt(errorDesc) })
  .map(clean);
const serviceChangeReply: fc.Arbitrary<M.ServiceChangeReply> = fc.oneof(
  fc
    .record({
      kind: fc.constant('serviceChange' as const),
      terminationId: fc.constant('ROOT'),
      services: opt(
        fc
          .record({
            version: opt(fc.integer({ min: 1, max: 3 })),
            profile: opt(fc.record({ name: fc.constant('ResGW'), version: fc.integer({ min: 1, max: 9 }) })),
          })
          .map(clean)
          .filter((s) => Object.keys(s).length > 0),
      ),
    })
    .map(clean),
  fc.record({
    kind: fc.constant('serviceChange' as const),
    terminationId: fc.constant('ROOT'),
    error: errorDesc,
  }),
);
const commandReply: fc.Arbitrary<M.CommandReply> = fc.oneof(ammsReply, notifyReply, serviceChangeReply);
const actionReply: fc.Arbitrary<M.ActionReply> = fc.oneof(
  fc.record({ contextId, commands: nonEmpty(commandReply, 3) }),
  fc.record({ contextId, commands: fc.array(commandReply, { maxLength: 2 }), error: errorDesc }),
);

const transaction: fc.Arbitrary<M.Transaction> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), id: uint32, actions: nonEmpty(actionRequest, 2) }),
  fc
    .record({
      kind: fc.constant('reply' as const),
      id: uint32,
      immAckRequired: opt(fc.constant(true as const)),
      actions: nonEmpty(actionReply, 2),
    })
    .map(clean),
  fc.record({
    kind: fc.constant('reply' as const),
    id: uint32,
    error: errorDesc,
    actions: fc.constant([] as M.ActionReply[]),
  }),
  fc.record({ kind: fc.constant('pending' as const), id: uint32 }),
  fc.record({
    kind: fc.constant('responseAck' as const),
    acks: nonEmpty(
      fc.oneof(
        fc.record({ first: uint32 }),
        fc
          .tuple(uint32, uint32)
          .filter(([a, b]) => a !== b)
          .map(([a, b]) => ({ first: Math.min(a, b), last: Math.max(a, b) })),
      ),
    ),
  }),
);

const message: fc.Arbitrary<M.Message> = fc
  .oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        version: fc.integer({ min: 1, max: 3 }),
        mId,
        transactions: nonEmpty(transaction, 4),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        version: fc.integer({ min: 1, max: 3 }),
        mId,
        transactions: fc.constant([] as M.Transaction[]),
        error: errorDesc,
      }),
    },
  )
  // fast-check builds records without a prototype; the model is plain JSON data
  .map((m) => JSON.parse(JSON.stringify(m)) as M.Message);

describe('random valid models round-trip', () => {
  test('decode(encode(m)) equals m, pretty and compact; encoding is stable', () => {
    fc.assert(
      fc.property(message, (m) => {
        for (const style of ['pretty', 'compact'] as const) {
          const text = encodeMessage(m, { style });
          let back: M.Message;
          try {
            back = decodeMessage(text);
          } catch (e) {
            throw new Error(`our ${style} encoding does not decode: ${String(e)}\n${text}`, { cause: e });
          }
          assert.deepStrictEqual(withoutStyle(back), m, `${style}:\n${text}`);
          assert.equal(back.style, style, 'the decoder notes the style');
          assert.equal(encodeMessage(back, { style }), text, 'encoding is stable');
        }
      }),
      fcParams(4000, 20_000),
    );
  });
});
