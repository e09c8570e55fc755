/**
 * NAT traversal, filtering, policing and inactivity of the UDP media plane through the gateway model
 * (PROFILE §9, §10): latching to a NATed source with adr/ipcha, re-latching, gm/* source filters,
 * tman policing with tmanr statistics, adid/ipstop and nt/qualert. Port range 29000-29999
 * (BASE + 160·i per test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NotifyRequestOut } from '../../daemon/control/handler.js';
import { rtp } from '../unit/bearer/udp/packets.js';
import { LO, Peer, until } from '../unit/bearer/udp/peer.js';
import { eventually } from '../helpers/daemon.js';
import { call, relayHarness, statsOf } from './udp-call.js';

const BASE = 29000;
const seqOf = (b: Buffer): number => b.readUInt16BE(2);

function observed(n: NotifyRequestOut): { name: string; stream?: number; params: Record<string, string> } {
  const e = n.events[0]!;
  const params: Record<string, string> = {};
  for (const p of e.params ?? []) params[p.name] = 'value' in p ? String(p.value) : '';
  return { name: e.name, ...(e.stream !== undefined ? { stream: e.stream } : {}), params };
}

test('latching to a NATed source: the Remote port is wrong, media goes to where the packets come from; adr/ipcha', async () => {
  const h = relayHarness(BASE);
  const pa = await Peer.open();
  const pb = await Peer.open();
  const silent = await Peer.open(); // the address the SDP names: nobody there answers
  try {
    const c = await call(
      h,
      pa,
      pb,
      { remotePort: silent.port, props: 'ipnapt/latch = on', events: 'Events = 7 { adr/ipcha }' },
      {},
    );
    // before any packet from a, b's media goes to the SDP address
    await pb.send(rtp({ seq: 1 }), c.gwB);
    assert.equal(seqOf((await silent.next()).data), 1);
    // a's first packet (from its real port) latches
    await pa.send(rtp({ seq: 100 }), c.gwA);
    assert.equal(seqOf((await pb.next()).data), 100);
    await pb.send(rtp({ seq: 2 }), c.gwB);
    const r = await pa.next();
    assert.equal(seqOf(r.data), 2);
    assert.equal(r.port, c.gwA);
    assert.equal(h.link.notifies.length, 1);
    const n = h.link.notifies[0]!;
    assert.equal(n.terminationId, c.a);
    assert.equal(n.requestId, 7);
    const o = observed(n);
    assert.equal(o.name, 'adr/ipcha');
    assert.equal(o.stream, 1);
    assert.equal(o.params['addr']?.replace(/"/g, ''), LO, 'the new address (a quoted string)');
    assert.equal(o.params['port'], String(pa.port));
    // a stranger is dropped now (no rlatch; the socket is connected to the latched source and the
    // kernel drops it): the next packet b gets is a's
    const other = await Peer.open();
    try {
      await other.send(rtp({ seq: 5 }), c.gwA);
      await pa.send(rtp({ seq: 6 }), c.gwA);
      assert.equal(seqOf((await pb.next()).data), 6);
      assert.deepEqual(await pb.settle(), []);
    } finally {
      other.close();
    }
    assert.equal(await h.metric('trgwd_media_latches_total', { realm: 'core', result: 'latched' }), 1);
  } finally {
    for (const p of [pa, pb, silent]) p.close();
    await h.close();
  }
});

test('re-latching (ipnapt/rlatch): a new source takes over after media.relatchPackets packets; reported again', async () => {
  const h = relayHarness(BASE + 160, { relatchPackets: 3 });
  const pa = await Peer.open();
  const pb = await Peer.open();
  const moved = await Peer.open(); // a's NAT binding changed: same phone, new port
  try {
    const c = await call(h, pa, pb, {
      props: 'ipnapt/latch = on, ipnapt/rlatch = on',
      events: 'Events = 8 { adr/ipcha }',
    });
    await pa.send(rtp({ seq: 1, ssrc: 42 }), c.gwA);
    await pb.next();
    assert.equal(h.link.notifies.length, 0, 'latched where Remote said: no change to report');
    for (let i = 0; i < 3; i++) await moved.send(rtp({ seq: 2 + i, ssrc: 42 }), c.gwA);
    const got = await pb.next();
    assert.equal(seqOf(got.data), 4, 'the first two were held back, the third re-latched and passed');
    assert.deepEqual(await pb.settle(), []);
    await pb.send(rtp({ seq: 9 }), c.gwB);
    assert.equal(seqOf((await moved.next()).data), 9);
    assert.equal(h.link.notifies.length, 1);
    assert.equal(observed(h.link.notifies[0]!).params['port'], String(moved.port));
    assert.equal(await h.metric('trgwd_media_latches_total', { realm: 'core', result: 'relatched' }), 1);
  } finally {
    for (const p of [pa, pb, moved]) p.close();
    await h.close();
  }
});

test('source filtering: gm/saf with a gm/sam prefix, gm/spf with and without gm/spr', async () => {
  const h = relayHarness(BASE + 320);
  const pa = await Peer.open();
  const pb = await Peer.open();
  try {
    const c = await call(h, pa, pb, { props: 'gm/saf = on, gm/sam = "10.0.0.0/8"' });
    const pass = async (seq: number): Promise<boolean> => {
      const before = await h.metric('trgwd_media_dropped_total', { realm: 'core', reason: 'source' });
      await pa.send(rtp({ seq }), c.gwA);
      // either relayed (b has it) or dropped (counted): whichever, then b's queue says which
      await eventually(
        async () =>
          pb.queue.length > 0 ||
          (await h.metric('trgwd_media_dropped_total', { realm: 'core', reason: 'source' })) > before
            ? true
            : undefined,
        3000,
        'relayed or dropped',
        2,
      );
      const got = await pb.settle();
      return got.length === 1 && seqOf(got[0]!.data) === seq;
    };
    const lc = async (props: string): Promise<void> => {
      const r = await h.tx(
        `Context = ${c.ctx} { Modify = ${c.a} { Media { Stream = 1 { LocalControl { Mode = SendReceive, ${props} } } } } }`,
      );
      assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    };
    assert.equal(await pass(1), false, '127.0.0.1 is not in 10.0.0.0/8');
    await lc('gm/saf = on, gm/sam = "127.0.0.0/8"');
    assert.equal(await pass(2), true);
    await lc('gm/saf = on, gm/sam = "255.255.255.0"');
    assert.equal(await pass(3), true, 'netmask applied to the Remote address 127.0.0.1');
    await lc('gm/spf = on, gm/spr = "1-1023"');
    assert.equal(await pass(4), false, 'the peer’s port is outside the range');
    await lc(`gm/spf = on, gm/spr = "${pa.port}"`);
    assert.equal(await pass(5), true);
    await lc('gm/spf = on');
    assert.equal(await pass(6), true, 'without gm/spr: the Remote port, which is the peer’s');
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});

test('policing (tman): exactly what exceeds the bucket is dropped, nothing below it; tmanr statistics', async () => {
  const h = relayHarness(BASE + 480);
  const pa = await Peer.open();
  const pb = await Peer.open();
  try {
    // 1 byte/s: the bucket does not refill during the test; it holds 10 packets of 100 octets
    const c = await call(h, pa, pb, { props: 'tman/pol = on, tman/sdr = 1, tman/mbs = 1000' });
    for (let i = 0; i < 10; i++) await pa.send(rtp({ seq: i, payload: 88 }), c.gwA);
    assert.deepEqual(
      (await pb.take(10)).map((r) => seqOf(r.data)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      'the whole burst fits',
    );
    for (let i = 10; i < 14; i++) await pa.send(rtp({ seq: i, payload: 88 }), c.gwA);
    const stream = h.mg.termination(c.a)!.streams.get(1)!;
    await until(() => stream.counters.policedPackets === 4, 'four dropped');
    assert.deepEqual(await pb.settle(), []);
    // policing is per stream and on received packets: b's direction is not policed
    for (let i = 0; i < 12; i++) await pb.send(rtp({ seq: i, payload: 88 }), c.gwB);
    assert.equal((await pa.take(12)).length, 12);
    const st = statsOf(await h.tx(`Context = ${c.ctx} { Subtract = ${c.a} }`));
    assert.equal(st['tmanr/dp'], 4);
    assert.equal(st['tmanr/do'], 400);
    assert.equal(st['rtp/pr'], 14);
    assert.equal(await h.metric('trgwd_media_dropped_total', { realm: 'core', reason: 'policed' }), 4);
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});

test('inactivity: adid/ipstop after dt without media, once, and again after media resumed', async () => {
  const h = relayHarness(BASE + 640);
  const pa = await Peer.open();
  const pb = await Peer.open();
  try {
    const c = await call(h, pa, pb, { events: 'Events = 9 { adid/ipstop { dt = 80 } }' });
    await eventually(() => (h.link.notifies.length > 0 ? true : undefined), 3000, 'ipstop', 5);
    const first = h.link.notifies[0]!;
    assert.equal(first.terminationId, c.a);
    assert.equal(observed(first).name, 'adid/ipstop');
    assert.equal(observed(first).stream, 1);
    // media resumes, then stops again: a second report
    await pa.send(rtp({ seq: 1 }), c.gwA);
    await pb.next();
    await eventually(() => (h.link.notifies.length > 1 ? true : undefined), 3000, 'second ipstop', 5);
    assert.equal(h.link.notifies.filter((n) => n.terminationId === c.a).length, 2);
    assert.equal(await h.metric('trgwd_media_inactivity_total', { realm: 'core' }), 2);
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});

test('inactivity with media.inactivityTimeoutMs: nt/qualert where requested; nothing while media flows', async () => {
  const h = relayHarness(BASE + 800, { inactivityTimeoutMs: 150 });
  const pa = await Peer.open();
  const pb = await Peer.open();
  try {
    const c = await call(h, pa, pb, {}, { events: 'Events = 3 { nt/qualert { th = 50 } }' });
    // keep media flowing into b for a while: no report
    const end = Date.now() + 300;
    let seq = 0;
    while (Date.now() < end) {
      await pb.send(rtp({ seq: seq++ }), c.gwB);
      await pa.next();
      await new Promise((r) => setTimeout(r, 20)); // 20 ms packetisation, like real media
    }
    assert.equal(h.link.notifies.length, 0);
    await eventually(() => (h.link.notifies.length > 0 ? true : undefined), 3000, 'qualert', 5);
    const n = h.link.notifies[0]!;
    assert.equal(n.terminationId, c.b);
    assert.deepEqual(observed(n), { name: 'nt/qualert', stream: 1, params: { th: '50' } });
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});
