import { strict as assert } from 'node:assert';
import { mock, test } from 'node:test';
import { OutstandingRequests } from '../../../../daemon/control/transaction/outstanding.js';
import { isTrgwdError } from '../../../../daemon/errors.js';

test('UDP requests are retransmitted with exponential back-off capped at maxRetransmitMs, then time out at T-MAX', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let retransmits = 0;
    const o = new OutstandingRequests<string>({ initialRetransmitMs: 250, maxRetransmitMs: 4000, tMaxMs: 30000, onRetransmit: () => retransmits++ });
    const sentAt: number[] = [];
    let t = 0;
    const p = o.send('udp:c', 1, () => sentAt.push(t), true);
    const outcome = p.then(() => 'resolved', (e: unknown) => e);
    // walk the clock in 50 ms steps to T-MAX
    while (t < 30000) {
      t += 50;
      mock.timers.tick(50);
    }
    const e = await outcome;
    assert.ok(isTrgwdError(e, 'ERR_CTRL_TIMEOUT'), String(e));
    // 0, 250, 750, 1750, 3750, 7750, 11750, ... (250, 500, 1000, 2000, 4000, 4000, ...)
    assert.deepEqual(sentAt.slice(0, 7), [0, 250, 750, 1750, 3750, 7750, 11750]);
    assert.equal(retransmits, sentAt.length - 1);
    assert.ok(sentAt.every((x) => x < 30000));
    assert.equal(o.size, 0);
  } finally {
    mock.timers.reset();
  }
});

test('a reply resolves the request and stops retransmissions', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const o = new OutstandingRequests<string>({ initialRetransmitMs: 100, maxRetransmitMs: 1000, tMaxMs: 5000 });
    let sends = 0;
    const p = o.send('udp:c', 9, () => sends++, true);
    mock.timers.tick(100);
    assert.equal(sends, 2);
    assert.equal(o.resolve('udp:c', 9, 'the reply'), true);
    assert.equal(await p, 'the reply');
    mock.timers.tick(10000);
    assert.equal(sends, 2);
    assert.equal(o.resolve('udp:c', 9, 'late'), false);
  } finally {
    mock.timers.reset();
  }
});

test('over TCP a request is sent once; Pending stops retransmission and restarts the T-MAX wait', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const o = new OutstandingRequests<string>({ initialRetransmitMs: 100, maxRetransmitMs: 1000, tMaxMs: 3000 });
    let tcpSends = 0;
    const tcp = o.send('tcp:c', 1, () => tcpSends++, false);
    let udpSends = 0;
    const udp = o.send('udp:c', 2, () => udpSends++, true);
    mock.timers.tick(150);
    assert.equal(tcpSends, 1);
    assert.equal(udpSends, 2);
    assert.equal(o.pending('udp:c', 2), true);
    mock.timers.tick(2900);
    assert.equal(udpSends, 2, 'no retransmission after Pending');
    const tcpErr = await tcp.catch((e: unknown) => e);
    assert.ok(isTrgwdError(tcpErr, 'ERR_CTRL_TIMEOUT'));
    o.resolve('udp:c', 2, 'final');
    assert.equal(await udp, 'final');
  } finally {
    mock.timers.reset();
  }
});

test('transaction ids wrap within 1..2^32-1 and skip ids still outstanding', () => {
  const o = new OutstandingRequests<string>({ initialRetransmitMs: 100, maxRetransmitMs: 1000, tMaxMs: 1000 });
  assert.equal(o.nextTransactionId('p'), 1);
  assert.equal(o.nextTransactionId('p'), 2);
  void o.send('p', 3, () => undefined, false).catch(() => undefined);
  assert.equal(o.nextTransactionId('p'), 4);
  o.cancelAll('test');
});

test('cancelAll rejects everything outstanding', async () => {
  const o = new OutstandingRequests<string>({ initialRetransmitMs: 100, maxRetransmitMs: 1000, tMaxMs: 60000 });
  const p = o.send('p', 1, () => undefined, true);
  o.cancelAll('shutting down');
  const e = await p.catch((x: unknown) => x);
  assert.ok(isTrgwdError(e, 'ERR_CTRL_CANCELLED'));
  assert.equal(o.size, 0);
});
