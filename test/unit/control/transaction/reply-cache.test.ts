import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ReplyCache } from '../../../../daemon/control/transaction/reply-cache.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function cache(longTimerMs = 30000, maxEntries = 1000) {
  let now = 1_000_000;
  const c = new ReplyCache({ longTimerMs, maxEntries, now: () => now });
  return { c, advance: (ms: number) => (now += ms) };
}

test('a new transaction, then a duplicate while running, then the same reply bytes after it finished', () => {
  const { c } = cache();
  assert.deepEqual(c.check('udp:1', 7), { kind: 'new' });
  c.begin('udp:1', 7);
  assert.deepEqual(c.check('udp:1', 7), { kind: 'running' });
  const reply = bytes('MEGACO/3 [127.0.0.1]:2944 Reply=7{C=-{}}');
  c.complete('udp:1', 7, [reply], false);
  const d = c.check('udp:1', 7);
  assert.equal(d.kind, 'replay');
  assert.ok(d.kind === 'replay' && d.replies[0] === reply, 'the very same bytes');
});

test('duplicates are per peer', () => {
  const { c } = cache();
  c.begin('udp:1', 7);
  assert.deepEqual(c.check('udp:2', 7), { kind: 'new' });
});

test('replies are kept for LONG-TIMER and then forgotten', () => {
  const { c, advance } = cache(30000);
  c.begin('p', 1);
  c.complete('p', 1, [bytes('r1')], false);
  advance(29999);
  assert.equal(c.check('p', 1).kind, 'replay');
  advance(1);
  assert.equal(c.check('p', 1).kind, 'new');
  assert.equal(c.size, 0);
});

test('TransactionResponseAck releases the bytes but remembers the id until LONG-TIMER', () => {
  const { c, advance } = cache(30000);
  for (let t = 10; t <= 20; t++) {
    c.begin('p', t);
    c.complete('p', t, [bytes(`r${t}`)], true);
  }
  assert.equal(c.awaitingAck('p', 12), true);
  assert.equal(c.acknowledge('p', 12, 15), 4);
  assert.equal(c.awaitingAck('p', 12), false);
  assert.deepEqual(c.check('p', 12), { kind: 'acked' });
  assert.equal(c.check('p', 16).kind, 'replay');
  // a huge range (as controllers send) walks the entries, not the range
  assert.equal(c.acknowledge('p', 1, 0xffffffff), 7);
  advance(30000);
  assert.deepEqual(c.check('p', 12), { kind: 'new' });
});

test('a running transaction is never expired', () => {
  const { c, advance } = cache(1000);
  c.begin('p', 1);
  advance(10_000);
  assert.deepEqual(c.check('p', 1), { kind: 'running' });
});

test('beyond maxEntries the oldest finished entries are forgotten first (bounded memory)', () => {
  const { c } = cache(30000, 100);
  for (let t = 1; t <= 150; t++) {
    c.begin('p', t);
    c.complete('p', t, [bytes('x')], false);
  }
  assert.equal(c.size, 100);
  assert.equal(c.evicted, 50);
  assert.equal(c.check('p', 50).kind, 'new');
  assert.equal(c.check('p', 51).kind, 'replay');
});

test('many transactions over time keep the cache bounded by LONG-TIMER', () => {
  const { c, advance } = cache(1000, 1_000_000);
  for (let t = 1; t <= 20000; t++) {
    c.begin('p', t);
    c.complete('p', t, [bytes('x')], false);
    advance(1);
  }
  c.sweep();
  assert.ok(c.size <= 1001, `size ${c.size}`);
});
