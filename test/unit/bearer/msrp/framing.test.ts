/**
 * MSRP framing (RFC 4975 §5.1, §9): requests, responses, bodies ending at their own end-line, streaming
 * across any split of the input, several frames per read, limits and garbage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFrame, headerValue, isTransactionId } from '../../../../daemon/bearer/msrp/framing.js';
import { ALICE, GW, Recorder, exchange, ok, send, summary } from './frames.js';

test('a SEND with data: start line, headers in order, data and flag', () => {
  const r = new Recorder().push(send('a786hjs2', 'Hi Bob!', { msgId: '87652', flag: '$' }));
  assert.deepEqual(r.errors, []);
  assert.equal(r.frames.length, 1);
  const f = r.frames[0]!;
  assert.equal(f.head.kind, 'request');
  assert.equal(f.head.method, 'SEND');
  assert.equal(f.head.transactionId, 'a786hjs2');
  assert.deepEqual(
    f.head.headers.map((h) => h.name),
    ['To-Path', 'From-Path', 'Message-ID', 'Byte-Range', 'Content-Type'],
  );
  assert.equal(headerValue(f.head, 'to-path'), GW);
  assert.equal(headerValue(f.head, 'FROM-PATH'), ALICE);
  assert.equal(f.body.toString(), 'Hi Bob!');
  assert.equal(f.flag, '$');
  assert.ok(r.parser.idle);
  assert.equal(r.parser.frames, 1);
});

test('responses with and without a comment; bodiless requests; any other method', () => {
  const r = new Recorder()
    .push(ok('x1y2'))
    .push(`MSRP abcd 481\r\nTo-Path: ${ALICE}\r\nFrom-Path: ${GW}\r\n-------abcd$\r\n`)
    .push(`MSRP q123 AUTH\r\nTo-Path: msrps://relay.example.net:2855;tcp\r\nFrom-Path: ${ALICE}\r\nExpires: 900\r\n-------q123$\r\n`);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.frames.map((f) => [f.head.kind, f.head.status, f.head.comment, f.head.method, f.head.hasBody, f.flag]),
    [
      ['response', 200, 'OK', '', false, '$'],
      ['response', 481, '', '', false, '$'],
      ['request', 0, '', 'AUTH', false, '$'],
    ],
  );
});

test('an empty body after Content-Type, and data that is nothing but CRLFs and dashes', () => {
  const r = new Recorder()
    .push(send('e1e1', ''))
    .push(send('e2e2', '\r\n\r\n-------\r\n------e2e2$\r\n-------e2e\r\n'));
  assert.deepEqual(r.errors, []);
  assert.equal(r.frames[0]!.body.length, 0);
  assert.equal(r.frames[1]!.body.toString(), '\r\n\r\n-------\r\n------e2e2$\r\n-------e2e\r\n');
});

test('data holding the end-line of ANOTHER transaction, or ours with a wrong flag, does not end the chunk', () => {
  const fake = 'before\r\n-------other99$\r\nmiddle\r\n-------abcd1$\r\n-------abcdX\r\n-------abcd%\r\nafter';
  for (const bytes of [send('abcd', fake), send('abcd', fake, { flag: '+' })]) {
    const r = new Recorder().push(bytes);
    assert.deepEqual(r.errors, []);
    assert.equal(r.frames.length, 1);
    assert.equal(r.frames[0]!.body.toString(), fake);
  }
  // the same, fed one byte at a time
  const r = new Recorder();
  for (const b of send('abcd', fake)) r.push(Buffer.from([b]));
  assert.equal(r.frames[0]!.body.toString(), fake);
});

test('a multi-chunk exchange split at every byte boundary parses the same', () => {
  const bytes = exchange();
  const whole = new Recorder().push(bytes);
  assert.deepEqual(whole.errors, []);
  assert.equal(whole.frames.length, 6);
  const ref = summary(whole.frames);
  assert.deepEqual(
    whole.frames.map((f) => [f.head.method || f.head.status, f.flag]),
    [
      ['SEND', '+'],
      [200, '$'],
      ['SEND', '$'],
      [200, '$'],
      ['REPORT', '$'],
      ['SEND', '$'],
    ],
  );
  for (let i = 1; i < bytes.length; i++) {
    const r = new Recorder().push(bytes.subarray(0, i)).push(bytes.subarray(i));
    assert.deepEqual(r.errors, [], `split at ${i}`);
    assert.deepEqual(summary(r.frames), ref, `split at ${i}`);
  }
  // and at every pair of split points over a shorter stretch (three reads)
  const short = bytes.subarray(0, 260);
  const refShort = summary(new Recorder().push(short).frames);
  for (let i = 1; i < short.length; i++) {
    for (let j = i + 1; j < short.length; j += 7) {
      const r = new Recorder().push(short.subarray(0, i)).push(short.subarray(i, j)).push(short.subarray(j));
      assert.deepEqual(summary(r.frames), refShort, `splits at ${i},${j}`);
    }
  }
  // one byte per read
  const r = new Recorder();
  for (const b of bytes) r.push(Buffer.from([b]));
  assert.deepEqual(summary(r.frames), ref);
});

test('interleaved chunks of two messages on one connection', () => {
  const bytes = Buffer.concat([
    send('aaa1', 'A'.repeat(100), { msgId: 'MA', range: '1-100/300', flag: '+' }),
    send('bbb1', 'B'.repeat(50), { msgId: 'MB', range: '1-50/100', flag: '+' }),
    send('aaa2', 'A'.repeat(200), { msgId: 'MA', range: '101-300/300' }),
    send('bbb2', 'B'.repeat(50), { msgId: 'MB', range: '51-100/100' }),
  ]);
  const r = new Recorder().push(bytes);
  assert.deepEqual(
    r.frames.map((f) => [headerValue(f.head, 'Message-ID'), headerValue(f.head, 'Byte-Range'), f.body.length, f.flag]),
    [
      ['MA', '1-100/300', 100, '+'],
      ['MB', '1-50/100', 50, '+'],
      ['MA', '101-300/300', 200, '$'],
      ['MB', '51-100/100', 50, '$'],
    ],
  );
});

test('data streams through: a large chunk arrives as several slices, never whole', () => {
  const body = Buffer.alloc(1 << 20, 0x61);
  const bytes = send('big1', body);
  const r = new Recorder();
  for (let i = 0; i < bytes.length; i += 16384) r.push(bytes.subarray(i, i + 16384));
  assert.equal(r.frames[0]!.body.length, body.length);
  assert.ok(r.slices >= 60, `slices ${r.slices}`);
});

test('UTF-8 and other bytes in headers are kept byte for byte', () => {
  const raw = Buffer.concat([
    Buffer.from(`MSRP u8u8 SEND\r\nTo-Path: ${GW}\r\nFrom-Path: ${ALICE}\r\nContent-Disposition: attachment; filename="`),
    Buffer.from('ré🙂.txt', 'utf8'),
    Buffer.from('"\r\nContent-Type: text/plain\r\n\r\nx\r\n-------u8u8$\r\n'),
  ]);
  const r = new Recorder().push(raw);
  const h = r.frames[0]!.head;
  const again = formatFrame(h, r.frames[0]!.body, '$');
  assert.deepEqual(again, raw);
});

test('header block limit: at the limit accepted, one byte over disconnects', () => {
  const frame = send('lim1', 'x');
  const headerBytes = frame.indexOf('\r\n\r\n') + 4;
  assert.deepEqual(new Recorder({ maxHeaderBytes: headerBytes }).push(frame).errors, []);
  const r = new Recorder({ maxHeaderBytes: headerBytes - 1 }).push(frame);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.reason, 'header-too-large');
  assert.ok(r.parser.failed);
  // a header line that never ends is caught too, whatever the split
  const endless = new Recorder({ maxHeaderBytes: 1000 });
  endless.push(`MSRP abcd SEND\r\nTo-Path: `);
  for (let i = 0; i < 100; i++) endless.push('x'.repeat(50));
  assert.deepEqual(
    endless.errors.map((e) => e.reason),
    ['header-too-large'],
  );
});

test('chunk size limit: data beyond msrp.maxChunkBytes disconnects', () => {
  assert.deepEqual(new Recorder({ maxChunkBytes: 10 }).push(send('c1c1', '0123456789')).errors, []);
  const r = new Recorder({ maxChunkBytes: 10 }).push(send('c1c1', '0123456789A'));
  assert.deepEqual(
    r.errors.map((e) => e.reason),
    ['chunk-too-large'],
  );
  assert.equal(r.frames[0]!.flag, undefined);
});

test('garbage and malformed frames stop the parser once, and it stays stopped', () => {
  const cases: string[] = [
    'GET / HTTP/1.1\r\n\r\n',
    'MSRP\r\n',
    'MSRP  SEND\r\n',
    'MSRP a b c SEND\r\n',
    'MSRP abcd send\r\n',
    'MSRP abcd SEND\n',
    `MSRP abcd SEND\r\nTo-Path ${GW}\r\n`,
    `MSRP abcd SEND\r\nTo Path: x\r\n`,
    `MSRP abcd SEND\r\nTo-Path: x\r\n-------abce$\r\n`,
    `MSRP abcd SEND\r\nTo-Path: x\r\n-------abcd!\r\n`,
    `MSRP abcd 200 OK\r\nTo-Path: x\r\n\r\n`,
    '\u0000\u0001\u0002garbage',
    'MSRP ' + 'x'.repeat(70) + ' SEND\r\n',
  ];
  for (const c of cases) {
    const r = new Recorder().push(c);
    assert.equal(r.errors.length, 1, JSON.stringify(c));
    assert.equal(r.errors[0]!.reason, 'syntax', JSON.stringify(c));
    r.push(send('good', 'x'));
    assert.equal(r.errors.length, 1);
    assert.equal(r.frames.filter((f) => f.flag !== undefined).length, 0);
  }
});

test('transaction ids: RFC 4975 ident characters', () => {
  for (const ok of ['abcd', 'a786hjs2', 'A.b-c+d%e=f', '9']) assert.ok(isTransactionId(ok), ok);
  for (const bad of ['', '.abc', 'ab cd', 'ab/cd', 'x'.repeat(65), 'ab$c']) assert.ok(!isTransactionId(bad), bad);
});
