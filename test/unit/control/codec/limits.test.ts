/**
 * Codec limits: documented defaults, validation of configured values, and each limit enforced as
 * ERR_H248_LIMIT naming it — quickly, without deep recursion, at any nesting the grammar allows.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import {
  decodeMessage,
  decodeMessageLenient,
  DEFAULT_CODEC_LIMITS,
  H248CodecError,
  resolveLimits,
  type CodecLimits,
} from '../../../../daemon/control/codec/index.js';

const H = 'MEGACO/3 [192.0.2.1]:2944\n';

/** Decoding `text` with `limits` fails with ERR_H248_LIMIT naming `name`, within 50 ms. */
function overLimit(text: string, name: keyof CodecLimits, limits?: Partial<CodecLimits>): H248CodecError {
  const t0 = performance.now();
  try {
    decodeMessage(text, limits);
  } catch (e) {
    const ms = performance.now() - t0;
    assert.ok(e instanceof H248CodecError, String(e));
    assert.equal(e.code, 'ERR_H248_LIMIT', e.message);
    assert.equal(e.limit, name, e.message);
    assert.match(e.reason, new RegExp(`^${name} exceeded: `));
    assert.equal(e.h248, 400);
    assert.ok(ms < 50, `${name}: ${ms.toFixed(1)} ms`);
    return e;
  }
  assert.fail(`${name}: accepted`);
}

describe('defaults and configuration', () => {
  test('documented defaults', () => {
    assert.deepStrictEqual(DEFAULT_CODEC_LIMITS, {
      maxMessageBytes: 65536,
      maxDepth: 24,
      maxTransactions: 256,
      maxActionsPerTransaction: 64,
      maxCommandsPerAction: 1024,
      maxDescriptorsPerCommand: 32,
      maxListItems: 1024,
      maxSdpLines: 512,
      maxStringLength: 4096,
    });
    assert.ok(Object.isFrozen(DEFAULT_CODEC_LIMITS));
  });

  test('resolveLimits merges over the defaults and rejects nonsense', () => {
    assert.equal(resolveLimits(), DEFAULT_CODEC_LIMITS);
    assert.deepStrictEqual(resolveLimits({ maxMessageBytes: 1 << 20 }), {
      ...DEFAULT_CODEC_LIMITS,
      maxMessageBytes: 1 << 20,
    });
    assert.equal(
      resolveLimits({ maxListItems: Number.POSITIVE_INFINITY }).maxListItems,
      Number.POSITIVE_INFINITY,
    );
    for (const bad of [
      { maxDepth: 0 },
      { maxSdpLines: -1 },
      { maxStringLength: 1.5 },
      { maxMessageBytes: Number.POSITIVE_INFINITY },
      { maxDepth: Number.NaN },
      { maxDepth: 1001 },
    ]) {
      assert.throws(
        () => resolveLimits(bad),
        (e: unknown) => e instanceof H248CodecError && e.code === 'ERR_H248_INVALID_MODEL',
        JSON.stringify(bad),
      );
    }
  });
});

describe('each limit', () => {
  test('maxMessageBytes: bytes and strings (measured as UTF-8)', () => {
    const big = `${H}T=1{C=-{N=x{OE=1{a/b{c="${'x'.repeat(70000)}"}}}}}`;
    overLimit(big, 'maxMessageBytes');
    overLimit(big, 'maxMessageBytes', { maxStringLength: 100000 });
    decodeMessage(big, { maxMessageBytes: 100000, maxStringLength: 100000 });
    const utf8 = `${H}T=1{C=-{N=x{OE=1{a/b{c="${'\u00e9'.repeat(1000)}"}}}}}`;
    overLimit(utf8, 'maxMessageBytes', { maxMessageBytes: 1500 });
    assert.throws(
      () => decodeMessage(new Uint8Array(70000)),
      (e: unknown) => e instanceof H248CodecError && e.code === 'ERR_H248_LIMIT',
    );
  });

  test('maxDepth: nesting, including the v3 grammar recursion through RegulatedNotify/Embed, never overflows the stack', () => {
    overLimit(`${H}T=1{C=1{A=\${M{ST=1{O{MO=SR}}}}}}`, 'maxDepth', { maxDepth: 5 });
    decodeMessage(`${H}T=1{C=1{A=\${M{ST=1{O{MO=SR}}}}}}`, { maxDepth: 6 });
    const level = (inner: string): string => `a/b{NBRN{EM{E=1{${inner}}}}}`;
    let ev = 'a/b';
    for (let i = 0; i < 3; i++) ev = level(ev);
    decodeMessage(`${H}T=1{C=1{MF=x{E=1{${ev}}}}}`);
    ev = 'a/b';
    for (let i = 0; i < 5000; i++) ev = level(ev);
    const e = overLimit(`${H}T=1{C=1{MF=x{E=1{${ev}}}}}`, 'maxDepth', { maxMessageBytes: 1 << 20 });
    overLimit(`${H}T=1{C=1{MF=x{E=1{${ev}}}}}`, 'maxDepth', { maxMessageBytes: 1 << 20, maxDepth: 1000 });
    assert.equal(e.line, 2);
    // the same nesting in lenient mode: the transaction is invalid, the next one still decodes
    const r = decodeMessageLenient(`${H}T=1{C=1{MF=x{E=1{${ev}}}}}T=2{C=-{AV=ROOT}}`, {
      maxMessageBytes: 1 << 20,
    });
    assert.equal(r.invalid[0]?.error.limit, 'maxDepth');
    assert.equal(r.message.transactions.length, 1);
  });

  test('maxTransactions, maxActionsPerTransaction, maxCommandsPerAction, maxDescriptorsPerCommand', () => {
    overLimit(H + 'K{1}'.repeat(257), 'maxTransactions');
    decodeMessage(H + 'K{1}'.repeat(300), { maxTransactions: 300 });
    overLimit(`${H}T=1{${Array(65).fill('C=-{AV=ROOT}').join(',')}}`, 'maxActionsPerTransaction');
    overLimit(`${H}P=1{${Array(65).fill('C=-').join(',')}}`, 'maxActionsPerTransaction');
    overLimit(`${H}T=1{C=1{${Array(11).fill('S=x').join(',')}}}`, 'maxCommandsPerAction', {
      maxCommandsPerAction: 10,
    });
    overLimit(`${H}P=1{C=1{${Array(11).fill('S=x').join(',')}}}`, 'maxCommandsPerAction', {
      maxCommandsPerAction: 10,
    });
    overLimit(`${H}T=1{C=1{MF=x{${Array(33).fill('M').join(',')}}}}`, 'maxDescriptorsPerCommand');
    decodeMessage(`${H}T=1{C=1{MF=x{${Array(32).fill('M').join(',')}}}}`);
  });

  test('maxListItems: properties, events, statistics, packages, acks, termination lists, values', () => {
    const n = 1025;
    const list = (f: (i: number) => string): string => Array.from({ length: n }, (_, i) => f(i)).join(',');
    overLimit(`${H}T=1{C=1{MF=x{M{O{${list((i) => `a/p${i}=1`)}}}}}}`, 'maxListItems');
    overLimit(`${H}T=1{C=1{MF=x{E=1{${list((i) => `a/e${i}`)}}}}}`, 'maxListItems');
    overLimit(`${H}P=1{C=1{S=x{SA{${list((i) => `a/s${i}=${i}`)}}}}}`, 'maxListItems');
    overLimit(`${H}P=1{C=1{AV=x{PG{${list((i) => `p${i}-1`)}}}}}`, 'maxListItems');
    overLimit(`${H}K{${list((i) => String(i))}}`, 'maxListItems');
    overLimit(`${H}T=1{C=1{S=[${list((i) => `t${i}`)}]}}`, 'maxListItems');
    overLimit(`${H}T=1{C=1{MF=x{M{O{a/b={${list((i) => String(i))}}}}}}}`, 'maxListItems');
  });

  test('maxSdpLines and maxStringLength (SDP lines, quoted strings, names, digit maps)', () => {
    const sdp = (lines: number, len = 10): string =>
      Array.from({ length: lines }, () => `a=${'x'.repeat(len)}`).join('\r\n');
    decodeMessage(`${H}T=1{C=1{MF=x{M{L{${sdp(512)}}}}}}`);
    overLimit(`${H}T=1{C=1{MF=x{M{L{${sdp(513)}}}}}}`, 'maxSdpLines');
    overLimit(`${H}T=1{C=1{MF=x{M{R{${sdp(3, 5000)}}}}}}`, 'maxStringLength');
    overLimit(`${H}P=1{C=1{ER=400{"${'y'.repeat(4097)}"}}}`, 'maxStringLength');
    overLimit(`${H}T=1{C=1{MF=t${'z'.repeat(4096)}}}`, 'maxStringLength');
    overLimit(`${H}T=1{C=1{MF=x{DM={(${'x'.repeat(5000)})}}}}`, 'maxStringLength');
    decodeMessage(`${H}P=1{C=1{ER=400{"${'y'.repeat(4096)}"}}}`);
  });

  test('legal but extreme messages decode in linear time when the limits allow them', () => {
    const unlimited = {
      maxMessageBytes: 16 << 20,
      maxTransactions: Infinity,
      maxSdpLines: Infinity,
      maxListItems: Infinity,
    };
    const one =
      'T=1{C=1{MF=ip/1{M{ST=1{O{MO=SR},R{\nv=0\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\n}}}}}}\n';
    const time = (k: number): number => {
      const text = H + one.repeat(k);
      decodeMessage(text, unlimited);
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) decodeMessage(text, unlimited);
      return (performance.now() - t0) / 3;
    };
    time(100);
    const small = Math.max(time(1000), 0.2);
    const large = time(10000);
    assert.ok(large < small * 40, `10x the transactions took ${(large / small).toFixed(1)}x the time`);
  });
});
