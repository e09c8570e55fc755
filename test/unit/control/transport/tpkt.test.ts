import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TPKT_MAX_PAYLOAD,
  TpktDeframer,
  TpktError,
  encodeTpkt,
} from '../../../../daemon/control/transport/tpkt.js';
import { isTrgwdError } from '../../../../daemon/errors.js';

const msgs = ['MEGACO/1 [10.0.0.1]:2944 T=1{C=-{N=ROOT{}}}', 'x', 'MEGACO/3 [::1]:2944 P=7{C=1{A=ip/1}}'].map(
  (s) => Buffer.from(s),
);
const stream = Buffer.concat(msgs.map((m) => encodeTpkt(m)));

test('encodeTpkt writes 03 00 len16 with the header counted', () => {
  const f = encodeTpkt(Buffer.from('abc'));
  assert.deepEqual([...f], [3, 0, 0, 7, 0x61, 0x62, 0x63]);
  assert.equal(encodeTpkt(Buffer.alloc(0)).readUInt16BE(2), 4);
  assert.equal(encodeTpkt(Buffer.alloc(TPKT_MAX_PAYLOAD)).readUInt16BE(2), 0xffff);
  assert.throws(
    () => encodeTpkt(Buffer.alloc(TPKT_MAX_PAYLOAD + 1)),
    (e) => e instanceof TpktError && e.code === 'ERR_TPKT_TOO_LARGE',
  );
});

test('several messages in one chunk', () => {
  const d = new TpktDeframer();
  assert.deepEqual(
    d.push(stream).map((b) => b.toString()),
    msgs.map((m) => m.toString()),
  );
  assert.equal(d.buffered, 0);
});

test('one split point anywhere in the stream', () => {
  for (let i = 0; i <= stream.length; i++) {
    const d = new TpktDeframer();
    const got = [...d.push(stream.subarray(0, i)), ...d.push(stream.subarray(i))];
    assert.deepEqual(
      got.map((b) => b.toString()),
      msgs.map((m) => m.toString()),
      `split at ${i}`,
    );
    assert.equal(d.buffered, 0);
  }
});

test('every pair of split points (three chunks)', () => {
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const d = new TpktDeframer();
      const got = [
        ...d.push(stream.subarray(0, i)),
        ...d.push(stream.subarray(i, j)),
        ...d.push(stream.subarray(j)),
      ];
      assert.equal(got.length, msgs.length, `split at ${i},${j}`);
      for (let k = 0; k < msgs.length; k++)
        assert.ok(got[k]!.equals(msgs[k]!), `split at ${i},${j} msg ${k}`);
    }
  }
});

test('one byte at a time', () => {
  const d = new TpktDeframer();
  const got: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) {
    got.push(...d.push(stream.subarray(i, i + 1)));
    assert.ok(d.buffered <= 4 + 64);
  }
  assert.deepEqual(
    got.map((b) => b.toString()),
    msgs.map((m) => m.toString()),
  );
});

test('payloads survive later pushes (no reuse of internal buffers)', () => {
  const d = new TpktDeframer();
  const first = d.push(stream.subarray(0, 10));
  assert.equal(first.length, 0);
  const out = d.push(stream.subarray(10));
  const copy = out.map((b) => Buffer.from(b));
  d.push(encodeTpkt(Buffer.from('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz')));
  assert.deepEqual(out, copy);
});

test('empty TPKTs are skipped', () => {
  const d = new TpktDeframer();
  const got = d.push(Buffer.concat([encodeTpkt(Buffer.alloc(0)), encodeTpkt(Buffer.from('a'))]));
  assert.deepEqual(
    got.map((b) => b.toString()),
    ['a'],
  );
});

function expectFailure(chunk: Buffer, code: string, max?: number): void {
  const d = new TpktDeframer(max !== undefined ? { maxMessageBytes: max } : {});
  assert.throws(
    () => d.push(chunk),
    (e) => e instanceof TpktError && isTrgwdError(e, code),
  );
  assert.ok(d.failed);
  // the stream cannot be resynchronised: later pushes throw the same error
  assert.throws(
    () => d.push(encodeTpkt(Buffer.from('ok'))),
    (e) => isTrgwdError(e, code),
  );
}

test('bad headers are typed errors', () => {
  expectFailure(Buffer.from([2, 0, 0, 8, 1, 2, 3, 4]), 'ERR_TPKT_BAD_VERSION');
  expectFailure(Buffer.from('MEGACO/1 [1.2.3.4]'), 'ERR_TPKT_BAD_VERSION');
  expectFailure(Buffer.from([3, 0, 0, 3]), 'ERR_TPKT_BAD_LENGTH');
  expectFailure(Buffer.from([3, 0, 0, 0]), 'ERR_TPKT_BAD_LENGTH');
  expectFailure(Buffer.from([3, 0, 0x01, 0x05]), 'ERR_TPKT_TOO_LARGE', 256); // 261 - 4 = 257 > 256
});

test('the limit is checked from the header, before the body is buffered', () => {
  const d = new TpktDeframer({ maxMessageBytes: 100 });
  assert.deepEqual(d.push(encodeTpkt(Buffer.alloc(100, 0x41))).length, 1);
  assert.throws(() => d.push(Buffer.from([3, 0, 0xff, 0xff])), /exceeds the maximum of 100/);
  assert.equal(d.buffered, 0);
});

test('a bad header split across chunks is detected when its 4th byte arrives', () => {
  const d = new TpktDeframer();
  assert.deepEqual(d.push(Buffer.from([3, 0])), []);
  assert.deepEqual(d.push(Buffer.from([0])), []);
  assert.throws(
    () => d.push(Buffer.from([2])),
    (e) => isTrgwdError(e, 'ERR_TPKT_BAD_LENGTH'),
  );
});

test('feed delivers the messages before a bad header, then throws', () => {
  const d = new TpktDeframer();
  const got: string[] = [];
  assert.throws(
    () =>
      d.feed(Buffer.concat([encodeTpkt(Buffer.from('one')), Buffer.from([9, 9, 9, 9])]), (p) =>
        got.push(p.toString()),
      ),
    (e) => isTrgwdError(e, 'ERR_TPKT_BAD_VERSION'),
  );
  assert.deepEqual(got, ['one']);
});

test('maxMessageBytes must be positive and is capped at the TPKT maximum', () => {
  assert.throws(() => new TpktDeframer({ maxMessageBytes: 0 }), RangeError);
  assert.equal(new TpktDeframer({ maxMessageBytes: 1e6 }).maxMessageBytes, TPKT_MAX_PAYLOAD);
});
