/**
 * ShardedForwarder (daemon/bearer/udp/worker-forwarder.ts) on its own: placement of groups on
 * workers, totals handed over as differences, a leg removed while it moves between workers,
 * settled() covering a Modify, and close() ending the threads. Port range 28750-28799 belongs to this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import { CNT, type LegConfig } from '../../../../daemon/bearer/udp/forwarder.js';
import { ShardedForwarder } from '../../../../daemon/bearer/udp/worker-forwarder.js';
import { rtp } from './packets.js';
import { LO, Peer, until } from './peer.js';

let nextPort = 28750;
async function bound(): Promise<Socket> {
  for (;;) {
    if (nextPort > 28799) nextPort = 28750;
    const s = createSocket('udp4');
    s.bind({ port: nextPort++, address: LO, exclusive: true });
    const [ev] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error')]);
    if (ev === 'listening') return s;
    s.close();
  }
}

function cfg(group: number, remote: number): LegConfig {
  return {
    kind: 'rtp',
    group,
    realm: 'core',
    mode: 'sendRecv',
    remote: { address: LO, port: remote },
    rtcpMuxRx: false,
    rtcpMuxTx: false,
    latch: false,
    rlatch: false,
    relatchPackets: 3,
    sourceAddress: { kind: 'exact', address: LO },
  };
}

async function isFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  s.bind({ port, address: LO, exclusive: true });
  const [ev] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error')]);
  s.close();
  return ev === 'listening';
}

test('groups go to the least loaded worker; relay; totals handed over as differences', async () => {
  const f = new ShardedForwarder({ workers: 2, realms: ['access', 'core'] });
  const a = await Peer.open();
  const b = await Peer.open();
  try {
    await f.ready;
    const g1 = await bound();
    const g2 = await bound();
    const g3 = await bound();
    const port1 = g1.address().port;
    const v1 = f.addLeg(1, { rtp: g1, connectable: true }, cfg(10, a.port));
    f.addLeg(2, { rtp: g2, connectable: true }, cfg(10, b.port));
    f.addLeg(3, { rtp: g3, connectable: true }, cfg(20, b.port));
    assert.equal(f.shardOf(1), f.shardOf(2));
    assert.notEqual(f.shardOf(3), f.shardOf(1));
    f.setTargets(1, [2], []);
    f.setTargets(2, [1], []);
    await f.settled();
    for (let i = 0; i < 4; i++) await a.send(rtp({ seq: i, payload: 20 }), port1);
    assert.equal((await b.take(4)).length, 4);
    assert.equal(v1[CNT.packetsReceived], 4, 'counted in shared memory');
    assert.equal(v1[CNT.octetsReceived], 4 * 32);
    assert.ok(v1[CNT.lastRx]! > Date.now() - 60_000, 'epoch ms, comparable across threads');
    const seen: Record<string, number> = {};
    f.drainTotals((realm, t) => (seen[`${realm}:rx`] = (seen[`${realm}:rx`] ?? 0) + t[0]!));
    assert.deepEqual(seen, { 'core:rx': 4 });
    let again = 0;
    f.drainTotals(() => again++);
    assert.equal(again, 0, 'nothing new since the last drain');
  } finally {
    a.close();
    b.close();
    await f.close();
  }
});

test('a leg removed while it moves to another worker: its ports end up free, nobody waits forever', async () => {
  const f = new ShardedForwarder({ workers: 2, realms: ['core'] });
  try {
    await f.ready;
    const g1 = await bound();
    const g2 = await bound();
    const port1 = g1.address().port;
    f.addLeg(1, { rtp: g1, connectable: true }, cfg(1, 9));
    f.addLeg(2, { rtp: g2, connectable: true }, cfg(2, 9));
    const from = f.shardOf(1);
    // Move: leg 1 joins group 2 (on the other worker), and is removed before it got there
    f.configure(1, cfg(2, 9));
    assert.equal(f.shardOf(1), f.shardOf(2));
    assert.notEqual(f.shardOf(1), from);
    f.removeLeg(1);
    await f.settled();
    assert.equal(f.legCount, 1);
    assert.equal(f.shardOf(1), undefined);
    assert.ok(await isFree(port1), 'no thread holds the port of the removed leg');
  } finally {
    await f.close();
  }
});

test('settled() after a change no add or remove answers (a Modify: new Remote) waits until the worker applied it', async () => {
  const f = new ShardedForwarder({ workers: 1, realms: ['core'] });
  const a = await Peer.open();
  const b = await Peer.open();
  const b2 = await Peer.open();
  try {
    await f.ready;
    const g1 = await bound();
    const g2 = await bound();
    const port1 = g1.address().port; // the worker binds it again: this socket is closed
    f.addLeg(1, { rtp: g1, connectable: true }, cfg(1, a.port));
    f.addLeg(2, { rtp: g2, connectable: true }, cfg(1, b.port));
    f.setTargets(1, [2], []);
    await f.settled();
    f.configure(2, cfg(1, b2.port));
    let applied = false;
    const settled = f.settled().then(() => (applied = true));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.equal(applied, false, 'not answered before the worker confirmed');
    await settled;
    await a.send(rtp({ seq: 7 }), port1);
    assert.equal((await b2.next()).data.readUInt16BE(2), 7, 'relayed to the new Remote');
    assert.deepEqual(await b.settle(), []);
  } finally {
    for (const p of [a, b, b2]) p.close();
    await f.close();
  }
});

test('close() ends the worker threads and frees every port', async () => {
  const f = new ShardedForwarder({ workers: 1, realms: ['core'] });
  const g = await bound();
  const port = g.address().port;
  f.addLeg(1, { rtp: g, connectable: true }, cfg(1, 9));
  await f.settled();
  assert.equal(await isFree(port), false, 'the worker holds it');
  await f.close();
  assert.ok(await isFree(port));
});

test('pinned sockets (a DTLS shim) keep their group on the main thread', async () => {
  const f = new ShardedForwarder({ workers: 1, realms: ['core'] });
  const b = await Peer.open();
  try {
    await f.ready;
    const real = await bound();
    const realPort = real.address().port; // the forwarder takes (closes and rebinds) the socket
    f.addLeg(2, { rtp: real, connectable: true }, { ...cfg(7, b.port), kind: 'udptl' });
    assert.ok(f.shardOf(2)! >= 0, 'alone, the real leg went to a worker');
    // the shim: what a DTLS plane feeds in (decrypted datagrams) is 'message' on it
    const sent: Buffer[] = [];
    const shim = Object.assign(new EventEmitter(), { send: (buf: Buffer) => void sent.push(buf) });
    f.addLeg(
      1,
      { rtp: shim as unknown as Socket, pinned: true },
      { ...cfg(7, 9), kind: 'udptl', sourceAddress: undefined },
    );
    assert.equal(f.shardOf(1), -1);
    await f.settled();
    assert.equal(f.shardOf(2), -1, 'its group followed it to the main thread');
    f.setTargets(1, [2], []);
    f.setTargets(2, [1], []);
    shim.emit('message', Buffer.from('t38 datagram'), { address: LO, port: 1234, family: 'IPv4', size: 12 });
    assert.equal((await b.next()).data.toString(), 't38 datagram');
    await b.send(Buffer.from('back'), realPort);
    await until(() => sent.length > 0, 'relayed into the shim');
    assert.equal(sent[0]!.toString(), 'back');
  } finally {
    b.close();
    await f.close();
  }
});
