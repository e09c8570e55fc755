/**
 * The UDP relay on worker threads (ShardedForwarder, `media.workers`), through the gateway model:
 * relay and statistics (counters in shared memory), latching reported from a worker, inactivity,
 * Move between contexts (a leg follows its context to that context's thread), and a context that
 * gets a security transform moving to the main thread. Port range 28000-28399 belongs to this file
 * (BASE + 50·i per test; overlaps are harmless, the PortManager skips ports still bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LegSecurity } from '../../daemon/bearer/udp/forwarder.js';
import { ShardedForwarder } from '../../daemon/bearer/udp/worker-forwarder.js';
import type { NotifyRequestOut } from '../../daemon/control/handler.js';
import { rtp } from '../unit/bearer/udp/packets.js';
import { Peer } from '../unit/bearer/udp/peer.js';
import { eventually } from '../helpers/daemon.js';
import { call, relayHarness, statsOf, type RelayHarness } from './udp-call.js';

const BASE = 28000;
const seqOf = (b: Buffer): number => b.readUInt16BE(2);

function sharded(
  base: number,
  opts: Parameters<typeof relayHarness>[1] = {},
): RelayHarness & { fwd: ShardedForwarder } {
  const fwd = new ShardedForwarder({ workers: 2, realms: ['access', 'core'] });
  return Object.assign(relayHarness(base, { forwarder: fwd, ...opts }), { fwd });
}

function eventName(n: NotifyRequestOut): string {
  return n.events[0]!.name;
}

test('two calls on two workers: RTP both ways, statistics from shared memory, metrics from the workers', async () => {
  const h = sharded(BASE);
  const peers = await Promise.all(Array.from({ length: 4 }, () => Peer.open()));
  const [pa, pb, pc, pd] = peers as [Peer, Peer, Peer, Peer];
  try {
    const c1 = await call(h, pa, pb);
    const c2 = await call(h, pc, pd);
    const legs = [c1.a, c1.b, c2.a, c2.b].map((id) => h.plane.legOf(h.mg.termination(id)!.streams.get(1)!)!);
    const shards = legs.map((l) => h.fwd.shardOf(l));
    assert.equal(shards[0], shards[1], 'a context stays on one thread');
    assert.equal(shards[2], shards[3]);
    assert.notEqual(shards[0], shards[2], 'the second context went to the other worker');
    assert.ok(
      shards.every((s) => s !== undefined && s >= 0),
      'on workers, not the main thread',
    );
    for (const [from, to, gw] of [
      [pa, pb, c1.gwA],
      [pc, pd, c2.gwA],
    ] as const) {
      for (let i = 0; i < 5; i++) await from.send(rtp({ seq: 10 + i, payload: 100 }), gw);
      assert.deepEqual(
        (await to.take(5)).map((r) => seqOf(r.data)),
        [10, 11, 12, 13, 14],
      );
    }
    await pd.send(rtp({ seq: 1 }), c2.gwB);
    assert.equal((await pc.next()).port, c2.gwA);
    const st = statsOf(await h.tx(`Context = ${c1.ctx} { Subtract = ${c1.a} }`));
    assert.equal(st['rtp/pr'], 5);
    assert.equal(st['nt/or'], 5 * 112);
    assert.equal(st['rtp/pl'], 0);
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtp', direction: 'rx' }),
      11,
    );
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtp', direction: 'tx' }),
      11,
    );
  } finally {
    for (const p of peers) p.close();
    await h.close();
  }
});

test('latching on a worker: adr/ipcha reaches the controller', async () => {
  const h = sharded(BASE + 50);
  const [pa, pb, silent] = await Promise.all([Peer.open(), Peer.open(), Peer.open()]);
  try {
    const c = await call(h, pa, pb, {
      remotePort: silent.port,
      props: 'ipnapt/latch = on',
      events: 'Events = 5 { adr/ipcha }',
    });
    await pa.send(rtp({ seq: 1 }), c.gwA);
    await pb.next();
    await eventually(() => (h.link.notifies.length > 0 ? true : undefined), 3000, 'adr/ipcha', 5);
    assert.equal(eventName(h.link.notifies[0]!), 'adr/ipcha');
    await pb.send(rtp({ seq: 2 }), c.gwB);
    assert.equal(seqOf((await pa.next()).data), 2, 'sent to the latched source');
  } finally {
    for (const p of [pa, pb, silent]) p.close();
    await h.close();
  }
});

test('inactivity on a worker: adid/ipstop from the shared last-packet time', async () => {
  const h = sharded(BASE + 100);
  const [pa, pb] = await Promise.all([Peer.open(), Peer.open()]);
  try {
    const c = await call(h, pa, pb, { events: 'Events = 6 { adid/ipstop { dt = 120 } }' });
    for (let i = 0; i < 3; i++) {
      await pa.send(rtp({ seq: i }), c.gwA);
      await pb.next();
    }
    assert.ok(
      h.plane.lastReceived(h.mg.termination(c.a)!.streams.get(1)!)! > 0,
      'the worker wrote the time of the last packet',
    );
    await eventually(() => (h.link.notifies.length > 0 ? true : undefined), 3000, 'ipstop', 5);
    assert.equal(eventName(h.link.notifies[0]!), 'adid/ipstop');
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});

test('Move: a termination joins another context on another worker and relays there', async () => {
  const h = sharded(BASE + 150);
  const peers = await Promise.all(Array.from({ length: 4 }, () => Peer.open()));
  const [pa, pb, pc, pd] = peers as [Peer, Peer, Peer, Peer];
  try {
    const c1 = await call(h, pa, pb);
    const c2 = await call(h, pc, pd);
    const legOf = (id: string): number => h.plane.legOf(h.mg.termination(id)!.streams.get(1)!)!;
    assert.notEqual(h.fwd.shardOf(legOf(c1.a)), h.fwd.shardOf(legOf(c2.a)));
    // c2.b leaves its context for c1 (c2 keeps c2.a alone); then c1.b leaves so c1 is a, c2.b
    let r = await h.tx(`Context = ${c1.ctx} { Move = ${c2.b} }`);
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    r = await h.tx(`Context = ${c1.ctx} { Subtract = ${c1.b} }`);
    assert.equal(r[0]?.error, undefined);
    await h.fwd.settled();
    assert.equal(
      h.fwd.shardOf(legOf(c2.b)),
      h.fwd.shardOf(legOf(c1.a)),
      'the moved leg runs with its new context',
    );
    // media a → (moved) c2.b → its peer d, and back
    await pa.send(rtp({ seq: 70 }), c1.gwA);
    const got = await pd.next();
    assert.equal(seqOf(got.data), 70);
    assert.equal(got.port, c2.gwB);
    await pd.send(rtp({ seq: 71 }), c2.gwB);
    assert.equal(seqOf((await pa.next()).data), 71);
  } finally {
    for (const p of peers) p.close();
    await h.close();
  }
});

test('a context with a security transform runs on the main thread (transforms cannot cross threads)', async () => {
  const security = {
    prepareStream: () => undefined,
    legSecurity: (): LegSecurity => ({
      inbound: (_buf: Buffer, len: number) => len,
      outbound: (buf: Buffer, len: number) => Buffer.concat([buf.subarray(0, len), Buffer.from('SEC!')]),
    }),
  };
  const h = sharded(BASE + 200, { security });
  const [pa, pb] = await Promise.all([Peer.open(), Peer.open()]);
  try {
    const savp = { proto: 'RTP/SAVP 0', localExtra: 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$\n' };
    const c = await call(h, pa, pb, {}, savp);
    await h.fwd.settled();
    const legB = h.plane.legOf(h.mg.termination(c.b)!.streams.get(1)!)!;
    const legA = h.plane.legOf(h.mg.termination(c.a)!.streams.get(1)!)!;
    assert.equal(h.fwd.shardOf(legA), -1, 'moved to the main thread with its context');
    assert.equal(h.fwd.shardOf(legB), -1);
    await pa.send(rtp({ seq: 90, payload: 10 }), c.gwA);
    const got = (await pb.next()).data;
    assert.equal(seqOf(got), 90);
    assert.equal(got.subarray(-4).toString(), 'SEC!', 'the main thread applied b’s outbound transform');
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});
