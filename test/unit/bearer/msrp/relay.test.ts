/**
 * The MSRP-aware hop without sockets: path rewriting both ways, responses mapped back, 481 for
 * unknown sessions (plain RFC 4975 comparison and RFC 6714 session-id matching), transaction ids kept
 * unique, answers never inside a relayed frame, framing errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFrame, headerValue, type MsrpFramingError } from '../../../../daemon/bearer/msrp/framing.js';
import { MsrpRelay, type MsrpLegConfig, type MsrpSide } from '../../../../daemon/bearer/msrp/relay.js';
import { Recorder, ok, report, send } from './frames.js';

const ALICE = 'msrps://198.51.100.7:9/kjhd37s2s20w2a;tcp';
const GW_A = 'msrps://203.0.113.10:31000/agw8c1f0a;tcp';
const GW_B = 'msrp://10.0.0.10:41000/agw77d2e9;tcp';
const BOB = 'msrp://192.0.2.55:7394/bobsess;tcp';
const RELAY = 'msrp://192.0.2.99:5060/s.1.2;tcp';

/** Each peer's byte stream as it would arrive on its socket: relayed bytes and our answers, in order. */
class Wire {
  readonly toA: Buffer[] = [];
  readonly toB: Buffer[] = [];
  readonly errors: [MsrpSide, MsrpFramingError][] = [];
  readonly relay: MsrpRelay;

  constructor(a: Partial<MsrpLegConfig> = {}, b: Partial<MsrpLegConfig> = {}, max?: number) {
    this.relay = new MsrpRelay({
      a: { localUri: GW_A, remotePath: [ALICE], cema: false, ...a },
      b: { localUri: GW_B, remotePath: [BOB], cema: false, ...b },
      ...(max !== undefined ? { maxPendingTransactions: max } : {}),
      onFramingError: (s, e) => this.errors.push([s, e]),
    });
    this.relay.attach('a', { write: (d) => this.toA.push(d) });
    this.relay.attach('b', { write: (d) => this.toB.push(d) });
  }

  fromA(d: Buffer | string): this {
    this.toB.push(...this.relay.receive('a', typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
    return this;
  }

  fromB(d: Buffer | string): this {
    this.toA.push(...this.relay.receive('b', typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
    return this;
  }

  /** What peer A / B has received, parsed. */
  seen(side: MsrpSide): Recorder {
    const r = new Recorder().push(Buffer.concat(side === 'a' ? this.toA : this.toB));
    assert.deepEqual(r.errors, [], `stream towards ${side} is valid MSRP`);
    return r;
  }
}

test('a SEND crosses with To-Path/From-Path rewritten, everything else kept; its 200 comes back mapped', () => {
  const w = new Wire();
  const body = 'Hello Bob\r\n-------other$\r\n';
  w.fromA(
    send('tx01', body, {
      to: GW_A,
      from: ALICE,
      msgId: 'M-17',
      range: '1-26/26',
      extra: [
        { name: 'Success-Report', value: 'yes' },
        { name: 'Failure-Report', value: 'yes' },
        { name: 'X-Custom', value: 'kept as is' },
      ],
    }),
  );
  const b = w.seen('b').frames;
  assert.equal(b.length, 1);
  assert.equal(b[0]!.head.transactionId, 'tx01');
  assert.deepEqual(
    b[0]!.head.headers.map((h) => `${h.name}: ${h.value}`),
    [
      `To-Path: ${BOB}`,
      `From-Path: ${GW_B}`,
      'Message-ID: M-17',
      'Byte-Range: 1-26/26',
      'Success-Report: yes',
      'Failure-Report: yes',
      'X-Custom: kept as is',
      'Content-Type: text/plain',
    ],
  );
  assert.equal(b[0]!.body.toString(), body);
  w.fromB(ok('tx01', GW_B, BOB));
  const a = w.seen('a').frames;
  assert.equal(a.length, 1);
  assert.equal(a[0]!.head.status, 200);
  assert.equal(a[0]!.head.transactionId, 'tx01');
  assert.equal(headerValue(a[0]!.head, 'To-Path'), ALICE);
  assert.equal(headerValue(a[0]!.head, 'From-Path'), GW_A);
  // a second 200 for the same transaction matches nothing we remember: it goes back as it is
  w.fromB(ok('tx01', GW_B, BOB));
  assert.equal(w.seen('a').frames.length, 2);
  assert.equal(headerValue(w.seen('a').frames[1]!.head, 'To-Path'), ALICE);
  assert.equal(w.relay.counters('b').unmatchedResponses, 1);
  assert.equal(w.relay.counters('a').requestsReceived, 1);
  assert.equal(w.relay.counters('b').requestsSent, 1);
});

test('a peer path through a relay: To-Path carries the whole path, the response goes to the previous hop only', () => {
  const w = new Wire({}, { remotePath: [RELAY, BOB] });
  w.fromA(send('t1t1', 'x', { to: GW_A, from: ALICE }));
  assert.equal(headerValue(w.seen('b').frames[0]!.head, 'To-Path'), `${RELAY} ${BOB}`);
  // B's SEND comes through the relay: From-Path lists the relay first
  w.fromB(send('t2t2', 'y', { to: GW_B, from: `${RELAY} ${BOB}` }));
  assert.equal(headerValue(w.seen('a').frames[0]!.head, 'To-Path'), ALICE);
  assert.equal(headerValue(w.seen('a').frames[0]!.head, 'From-Path'), GW_A);
  w.fromA(ok('t2t2', GW_A, ALICE));
  const resp = w.seen('b').frames[1]!;
  assert.equal(resp.head.status, 200);
  assert.equal(headerValue(resp.head, 'To-Path'), RELAY);
  assert.equal(headerValue(resp.head, 'From-Path'), GW_B);
});

test('REPORTs pass, rewritten the same way, and expect no response', () => {
  const w = new Wire();
  w.fromB(report('rp01', 'M-17', '1-26/26', GW_B, BOB));
  const f = w.seen('a').frames[0]!;
  assert.equal(f.head.method, 'REPORT');
  assert.deepEqual(
    f.head.headers.map((h) => `${h.name}: ${h.value}`),
    [`To-Path: ${ALICE}`, `From-Path: ${GW_A}`, 'Message-ID: M-17', 'Byte-Range: 1-26/26', 'Status: 000 200 OK'],
  );
  assert.equal(w.relay.a.pending.size, 0);
});

test('unknown session: 481 to the sender and nothing forwarded (no answer to REPORT or Failure-Report: no)', () => {
  const w = new Wire();
  const wrong = [
    'msrps://203.0.113.10:31000/notours;tcp',
    'msrps://203.0.113.10:31001/agw8c1f0a;tcp',
    'msrp://203.0.113.10:31000/agw8c1f0a;tcp',
    'msrps://203.0.113.11:31000/agw8c1f0a;tcp',
    'msrps://203.0.113.10:31000/AGW8C1F0A;tcp',
  ];
  for (const [i, to] of wrong.entries()) w.fromA(send(`u${i}xx`, 'secret data', { to, from: ALICE }));
  w.fromA(report('r481', 'M', '1-1/1', 'msrps://203.0.113.10:31000/nope;tcp', ALICE));
  w.fromA(send('nofr', 'z', { to: 'msrps://203.0.113.10:31000/nope;tcp', from: ALICE, extra: [{ name: 'Failure-Report', value: 'no' }] }));
  assert.equal(w.toB.length, 0, 'nothing crossed');
  const a = w.seen('a').frames;
  assert.deepEqual(
    a.map((f) => [f.head.transactionId, f.head.status]),
    wrong.map((_, i) => [`u${i}xx`, 481]),
  );
  assert.equal(headerValue(a[0]!.head, 'To-Path'), ALICE);
  assert.equal(headerValue(a[0]!.head, 'From-Path'), GW_A);
  assert.equal(w.relay.counters('a').unknownSession, wrong.length + 2);
  // host case and userinfo do not matter (RFC 4975 §6.1)
  w.fromA(send('case', 'ok', { to: 'MSRPS://user@203.0.113.10:31000/agw8c1f0a;TCP', from: ALICE }));
  assert.equal(w.seen('b').frames.length, 1);
});

test('CEMA peer (RFC 6714): sessions matched by session id only; still rewritten', () => {
  const w = new Wire({ cema: true, remotePath: ['msrp://10.1.2.3:2855/cemaA;tcp'] });
  // the CEMA UE addresses us by a path it got through a NAT-ing ALG: only the session id is ours
  w.fromA(send('c1c1', 'hi', { to: 'msrp://172.16.0.1:9999/agw8c1f0a;tcp', from: 'msrp://10.1.2.3:2855/cemaA;tcp' }));
  const b = w.seen('b').frames;
  assert.equal(b.length, 1);
  assert.equal(headerValue(b[0]!.head, 'To-Path'), BOB);
  assert.equal(headerValue(b[0]!.head, 'From-Path'), GW_B);
  w.fromA(send('c2c2', 'hi', { to: 'msrp://172.16.0.1:9999/other;tcp', from: 'msrp://10.1.2.3:2855/cemaA;tcp' }));
  assert.equal(w.seen('a').frames[0]!.head.status, 481);
  // towards the CEMA side: its own (private) path, our URI on that leg
  w.fromB(send('c3c3', 'back', { to: GW_B, from: BOB }));
  const a = w.seen('a').frames.filter((f) => f.head.kind === 'request');
  assert.equal(headerValue(a[0]!.head, 'To-Path'), 'msrp://10.1.2.3:2855/cemaA;tcp');
  assert.equal(headerValue(a[0]!.head, 'From-Path'), GW_A);
  // the plain side keeps the full comparison
  w.fromB(send('c4c4', 'back', { to: 'msrp://10.0.0.99:41000/agw77d2e9;tcp', from: BOB }));
  assert.equal(w.seen('b').frames.filter((f) => f.head.status === 481).length, 1);
});

test('a leg without a peer path yet (no Remote): requests towards it are answered 481', () => {
  const w = new Wire({}, { remotePath: [] });
  w.fromA(send('np01', 'x', { to: GW_A, from: ALICE }));
  assert.equal(w.toB.length, 0);
  assert.equal(w.seen('a').frames[0]!.head.status, 481);
  w.relay.update('b', { localUri: GW_B, remotePath: [BOB], cema: false });
  w.fromA(send('np02', 'x', { to: GW_A, from: ALICE }));
  assert.equal(w.seen('b').frames.length, 1);
});

test('transaction ids stay unique per connection: a colliding one is renumbered and its response mapped back', () => {
  const w = new Wire();
  w.fromA(send('dup1', 'first', { to: GW_A, from: ALICE, msgId: 'A' }));
  w.fromA(send('dup1', 'second', { to: GW_A, from: ALICE, msgId: 'B' }));
  const b = w.seen('b').frames;
  assert.equal(b[0]!.head.transactionId, 'dup1');
  const other = b[1]!.head.transactionId;
  assert.notEqual(other, 'dup1');
  assert.equal(w.relay.counters('b').remappedTransactions, 1);
  w.fromB(ok(other, GW_B, BOB)).fromB(ok('dup1', GW_B, BOB));
  assert.deepEqual(
    w.seen('a').frames.map((f) => [f.head.transactionId, f.head.status]),
    [
      ['dup1', 200],
      ['dup1', 200],
    ],
  );
  assert.equal(w.relay.b.pending.size, 0);
});

test('waiting transactions are bounded per connection (oldest forgotten first); a pipelining peer is not stalled', () => {
  const w = new Wire({}, {}, 4);
  for (let i = 0; i < 10; i++) w.fromA(send(`bd${i}x`, 'x', { to: GW_A, from: ALICE }));
  assert.equal(w.relay.b.pending.size, 4);
  // every 200 still reaches Alice with her transaction id (kept when relayed)
  for (let i = 0; i < 10; i++) w.fromB(ok(`bd${i}x`, GW_B, BOB));
  assert.deepEqual(
    w.seen('a').frames.map((f) => f.head.transactionId),
    Array.from({ length: 10 }, (_, i) => `bd${i}x`),
  );
  assert.equal(w.relay.counters('b').unmatchedResponses, 6);
  assert.equal(w.relay.b.pending.size, 0);
});

test('our 481 never lands inside a frame relayed to the same peer: it follows the end-line', () => {
  const w = new Wire();
  const big = send('big0', Buffer.alloc(5000, 0x62), { to: GW_B, from: BOB });
  // B's chunk to A is half through when A sends a request for an unknown session
  w.fromB(big.subarray(0, 2000));
  w.fromA(send('unk1', 'x', { to: 'msrps://203.0.113.10:31000/zzz;tcp', from: ALICE }));
  assert.equal(w.toA.reduce((n, b) => n + b.length, 0) < 2200, true, 'the 481 waits');
  w.fromB(big.subarray(2000));
  const a = w.seen('a').frames;
  assert.deepEqual(
    a.map((f) => [f.head.transactionId, f.head.method || f.head.status, f.body.length]),
    [
      ['big0', 'SEND', 5000],
      ['unk1', 481, 0],
    ],
  );
});

test('a framing error disconnects that peer only, and a chunk it left open is closed as abandoned (#)', () => {
  const w = new Wire();
  const chunk = send('open', Buffer.alloc(3000, 0x63), { to: GW_A, from: ALICE });
  w.fromA(chunk.subarray(0, 1500));
  w.fromA('\r\n-------open?\r\nMSRP garbage after a broken end-line');
  // still inside the chunk: that was data; now break the limit of the chunk size
  const tight = new MsrpRelay({
    a: { localUri: GW_A, remotePath: [ALICE], cema: false },
    b: { localUri: GW_B, remotePath: [BOB], cema: false },
    limits: { maxChunkBytes: 1000 },
    onFramingError: (s, e) => w.errors.push([s, e]),
  });
  const out = tight.receive('a', chunk.subarray(0, 1500));
  assert.deepEqual(
    w.errors.map(([s, e]) => [s, e.reason]),
    [['a', 'chunk-too-large']],
  );
  assert.ok(tight.failed('a'));
  const r = new Recorder().push(Buffer.concat(out));
  assert.deepEqual(r.errors, []);
  assert.equal(r.frames[0]!.flag, '#');
  assert.ok(r.frames[0]!.body.length <= 1000);
  // the other direction still works
  const back = tight.receive('b', send('bb01', 'fine', { to: GW_B, from: BOB }));
  assert.equal(new Recorder().push(Buffer.concat(back)).frames.length, 1);
  // the end of a connection mid-chunk abandons it the same way
  const r2 = new Recorder().push(Buffer.concat([...w.toB, ...w.relay.ended('a')]));
  assert.equal(r2.frames[0]!.flag, '#');
});

test('data streams through in slices: a 4 MiB chunk fed in 64 KiB reads is never gathered', () => {
  const w = new Wire();
  const chunk = send('strm', Buffer.alloc(4 << 20, 0x64), { to: GW_A, from: ALICE });
  let outputs = 0;
  let largest = 0;
  for (let i = 0; i < chunk.length; i += 65536) {
    const out = w.relay.receive('a', chunk.subarray(i, i + 65536));
    outputs += out.length;
    for (const b of out) largest = Math.max(largest, b.length);
    w.toB.push(...out);
  }
  assert.ok(largest <= 65536, `largest output ${largest}`);
  assert.ok(outputs >= 64);
  assert.equal(w.seen('b').frames[0]!.body.length, 4 << 20);
});

test('a request without To-Path is answered 400 (when it wants an answer)', () => {
  const w = new Wire();
  w.fromA(
    formatFrame(
      { kind: 'request', transactionId: 'nt01', method: 'SEND', status: 0, comment: '', headers: [{ name: 'From-Path', value: ALICE }], hasBody: false },
      undefined,
    ),
  );
  assert.equal(w.seen('a').frames[0]!.head.status, 400);
  assert.equal(w.toB.length, 0);
});
