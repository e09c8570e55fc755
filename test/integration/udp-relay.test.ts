/**
 * The UDP media plane through the gateway model: contexts built with H.248 text (the command
 * harness), media between loopback peers. RTP both ways, RTCP (own ports and muxed), modes,
 * topology, UDPTL, e2e SRTP, statistics and metrics. Port range 22200-23999 belongs to this file
 * (each test's harness takes 200 ports from BASE + 160·i; an overlap with the test before is harmless:
 * the PortManager skips a port still bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commands } from '../unit/control/commands/harness.js';
import { rtcpRr, rtp } from '../unit/bearer/udp/packets.js';
import { Peer, until } from '../unit/bearer/udp/peer.js';
import { eventually } from '../helpers/daemon.js';
import { call, relayHarness, remoteSdp, statsOf } from './udp-call.js';

const BASE = 22200;
const seqOf = (b: Buffer): number => b.readUInt16BE(2);

async function peers(n = 2): Promise<Peer[]> {
  return Promise.all(Array.from({ length: n }, () => Peer.open()));
}

test('two-party RTP both ways: payload and sequence intact, sent from the other termination’s port', async () => {
  const h = relayHarness(BASE);
  const [pa, pb] = await peers();
  try {
    const c = await call(h, pa!, pb!);
    assert.equal(h.plane.legCount, 2);
    const sent = Array.from({ length: 20 }, (_, i) =>
      rtp({ seq: 1000 + i, payload: Buffer.from(`frame-${i}`) }),
    );
    for (const p of sent) await pa!.send(p, c.gwA);
    const got = await pb!.take(20);
    assert.deepEqual(
      got.map((g) => g.data),
      sent,
    );
    assert.ok(got.every((g) => g.port === c.gwB));
    const back = Array.from({ length: 5 }, (_, i) => rtp({ seq: 7 + i, ssrc: 0xabc }));
    for (const p of back) await pb!.send(p, c.gwB);
    const gotBack = await pa!.take(5);
    assert.deepEqual(
      gotBack.map((g) => seqOf(g.data)),
      [7, 8, 9, 10, 11],
    );
    assert.ok(gotBack.every((g) => g.port === c.gwA));
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtp', direction: 'rx' }),
      25,
    );
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtp', direction: 'tx' }),
      25,
    );
    assert.equal(await h.metric('trgwd_media_streams', { protocol: 'rtp' }), 2);
    // Subtract closes the legs with the streams
    await h.tx(`Context = ${c.ctx} { Subtract = * }`);
    assert.equal(h.plane.legCount, 0);
    assert.equal(await h.metric('trgwd_media_streams', { protocol: 'rtp' }), 0);
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('RTCP on its own ports (a=rtcp and port + 1) and muxed (a=rtcp-mux) on one side', async () => {
  const h = relayHarness(BASE + 160);
  const [pa, pb, pbRtcp] = await peers(3);
  try {
    // a: muxed both ways; b: RTCP on a port of its own, announced with a=rtcp
    const c = await call(
      h,
      pa!,
      pb!,
      { localExtra: 'a=rtcp-mux\n', remoteExtra: 'a=rtcp-mux\n' },
      { remoteExtra: `a=rtcp:${pbRtcp!.port}\n` },
    );
    const rr = rtcpRr(0x1111, 1);
    await pa!.send(rr, c.gwA); // muxed: RTCP on the RTP port
    const got = await pbRtcp!.next();
    assert.deepEqual(got.data, rr);
    assert.equal(got.port, c.gwB + 1, 'out of the RTCP port of b');
    const rr2 = rtcpRr(0x2222);
    await pbRtcp!.send(rr2, c.gwB + 1);
    const back = await pa!.next();
    assert.deepEqual(back.data, rr2);
    assert.equal(back.port, c.gwA, 'muxed: out of the RTP port of a');
    // RTP still flows on the muxed port
    await pa!.send(rtp({ seq: 3 }), c.gwA);
    assert.equal(seqOf((await pb!.next()).data), 3);
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtcp', direction: 'rx' }),
      2,
    );
  } finally {
    for (const p of [pa, pb, pbRtcp]) p!.close();
    await h.close();
  }
});

test('RTCP to Remote port + 1 without a=rtcp', async () => {
  const h = relayHarness(BASE + 320);
  const [pa, pbRtcp] = await peers(2);
  try {
    // b's Remote port is one below the RTCP peer: RTCP goes to port + 1 (RFC 3550 §11)
    const pbPort = pbRtcp!.port - 1;
    const c = await call(h, pa!, { port: pbPort } as Peer);
    await pa!.send(rtcpRr(), c.gwA + 1);
    const got = await pbRtcp!.next();
    assert.equal(got.port, c.gwB + 1);
  } finally {
    pa!.close();
    pbRtcp!.close();
    await h.close();
  }
});

test('mode changes take effect at once: SendOnly, ReceiveOnly, Inactive, back to SendReceive', async () => {
  const h = relayHarness(BASE + 480);
  const [pa, pb] = await peers();
  try {
    const c = await call(h, pa!, pb!);
    // read through stream.counters each time: the relay's counters are brought in on read
    const sa = h.mg.termination(c.a)!.streams.get(1)!;
    const sb = h.mg.termination(c.b)!.streams.get(1)!;
    const both = async (seq: number): Promise<{ ab: number[]; ba: number[] }> => {
      const ra = sa.counters.packetsReceived;
      const rb = sb.counters.packetsReceived;
      await pa!.send(rtp({ seq }), c.gwA);
      await pb!.send(rtp({ seq: seq + 1 }), c.gwB);
      // received (and so relayed or dropped, in the same turn) before we look
      await until(
        () => sa.counters.packetsReceived > ra && sb.counters.packetsReceived > rb,
        'both received',
      );
      return {
        ab: (await pb!.settle()).map((r) => seqOf(r.data)),
        ba: (await pa!.settle()).map((r) => seqOf(r.data)),
      };
    };
    const modify = async (mode: string): Promise<void> => {
      const r = await h.tx(
        `Context = ${c.ctx} { Modify = ${c.a} { Media { Stream = 1 { LocalControl { Mode = ${mode} } } } } }`,
      );
      assert.equal(r[0]?.error, undefined);
    };
    assert.deepEqual(await both(10), { ab: [10], ba: [11] });
    // a sendOnly: what a's peer sends does not enter the context; a still sends to its peer
    await modify('SendOnly');
    assert.deepEqual(await both(20), { ab: [], ba: [21] });
    // a recvOnly: a's peer is heard, nothing is sent to it
    await modify('ReceiveOnly');
    assert.deepEqual(await both(30), { ab: [30], ba: [] });
    await modify('Inactive');
    assert.deepEqual(await both(40), { ab: [], ba: [] });
    await modify('SendReceive');
    assert.deepEqual(await both(50), { ab: [50], ba: [51] });
    // loopback: a's peer hears itself, b hears nothing from a
    await modify('Loopback');
    await pa!.send(rtp({ seq: 60 }), c.gwA);
    const echo = await pa!.next();
    assert.equal(seqOf(echo.data), 60);
    assert.equal(echo.port, c.gwA);
    assert.deepEqual(await pb!.settle(), []);
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('topology: isolate stops media and RTCP both ways, oneway lets it flow one way only', async () => {
  const h = relayHarness(BASE + 640);
  const [pa, pb] = await peers();
  try {
    // a's RTCP goes to a's peer itself (a=rtcp), so the probe sees it
    const c = await call(h, pa!, pb!, { remoteExtra: `a=rtcp:${pa!.port}\n` });
    const probe = async (): Promise<{ ab: number; ba: number; rtcpBa: number }> => {
      const sa = h.mg.termination(c.a)!.streams.get(1)!;
      const sb = h.mg.termination(c.b)!.streams.get(1)!;
      const ra = sa.counters.packetsReceived;
      const rb = sb.counters.packetsReceived;
      await pa!.send(rtp({ seq: 1 }), c.gwA);
      await pb!.send(rtp({ seq: 2 }), c.gwB);
      await until(() => sa.counters.packetsReceived > ra && sb.counters.packetsReceived > rb, 'received');
      const rtcpIn = await h.metric('trgwd_media_packets_total', {
        realm: 'core',
        protocol: 'rtcp',
        direction: 'rx',
      });
      await pb!.send(rtcpRr(), c.gwB + 1);
      await eventually(
        async () =>
          (await h.metric('trgwd_media_packets_total', {
            realm: 'core',
            protocol: 'rtcp',
            direction: 'rx',
          })) > rtcpIn
            ? true
            : undefined,
        3000,
        'RTCP received',
        2,
      );
      const ab = (await pb!.settle()).length;
      const atA = await pa!.settle();
      return {
        ab,
        ba: atA.filter((r) => r.port === c.gwA).length,
        rtcpBa: atA.filter((r) => r.port === c.gwA + 1).length,
      };
    };
    await h.tx(`Context = ${c.ctx} { Topology { ${c.a}, ${c.b}, isolate } }`);
    assert.deepEqual(await probe(), { ab: 0, ba: 0, rtcpBa: 0 });
    await h.tx(`Context = ${c.ctx} { Topology { ${c.a}, ${c.b}, oneway } }`);
    // media a → b only; RTCP (reports about that media) still goes back b → a
    assert.deepEqual(await probe(), { ab: 1, ba: 0, rtcpBa: 1 });
    await h.tx(`Context = ${c.ctx} { Topology { ${c.a}, ${c.b}, bothway } }`);
    assert.deepEqual(await probe(), { ab: 1, ba: 1, rtcpBa: 1 });
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('UDPTL: datagrams relayed one for one, whatever their content', async () => {
  const h = relayHarness(BASE + 800);
  const [pa, pb] = await peers();
  try {
    const t38 = { media: 'image', proto: 'udptl t38' };
    const c = await call(h, pa!, pb!, t38, t38);
    const sent = [Buffer.from([0x00, 0x01, 0x02]), Buffer.alloc(300, 0x7e), Buffer.from('not rtp at all')];
    for (const d of sent) await pa!.send(d, c.gwA);
    assert.deepEqual(
      (await pb!.take(3)).map((r) => r.data),
      sent,
    );
    await pb!.send(Buffer.from([0xff]), c.gwB);
    assert.deepEqual((await pa!.next()).data, Buffer.from([0xff]));
    const r = await h.tx(`Context = ${c.ctx} { Subtract = ${c.a} }`);
    const st = statsOf(r);
    assert.equal(st['nt/or'], 3 + 300 + 14);
    assert.equal(st['nt/os'], 1);
    assert.equal(st['rtp/pr'], undefined, 'no RTP statistics on a UDPTL stream');
    assert.equal(
      await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'udptl', direction: 'rx' }),
      4,
    );
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('statistics: ps, pr, os, or, pl and jit against what was sent', async () => {
  const h = relayHarness(BASE + 960);
  const [pa, pb] = await peers();
  try {
    const c = await call(h, pa!, pb!);
    // 20 packets from a with sequence numbers 100..121, 105 and 117 missing (2 lost of 22),
    // sent back to back while their timestamps say 20 ms apart: each transit difference D is the
    // timestamp step, and J follows RFC 3550 A.8 from there
    const seqs = Array.from({ length: 22 }, (_, i) => 100 + i).filter((s) => s !== 105 && s !== 117);
    let octets = 0;
    for (const s of seqs) {
      const p = rtp({ seq: s, ts: s * 160, payload: 160 });
      octets += p.length;
      await pa!.send(p, c.gwA);
    }
    await pb!.take(seqs.length);
    for (let i = 0; i < 3; i++) await pb!.send(rtp({ seq: i, payload: 40 }), c.gwB);
    await pa!.take(3);
    const r = await h.tx(`Context = ${c.ctx} { Subtract = ${c.a} }`);
    const st = statsOf(r);
    assert.equal(st['rtp/pr'], 20);
    assert.equal(st['nt/or'], octets);
    assert.equal(st['rtp/ps'], 3);
    assert.equal(st['nt/os'], 3 * 52);
    assert.equal(st['rtp/pl'], Math.round((2 / 22) * 10000) / 100);
    // arrivals ~0 ms apart: D is the timestamp step (320 across a missing packet)
    let j = 0;
    for (let k = 1; k < seqs.length; k++) j += ((seqs[k]! - seqs[k - 1]!) * 160 - j) / 16;
    const expectedJ = (j * 1000) / 8000;
    assert.ok(
      Math.abs(st['rtp/jit']! - expectedJ) < 1.5,
      `rtp/jit ${st['rtp/jit']} ms, expected about ${expectedJ.toFixed(2)}`,
    );
    assert.ok(st['nt/dur']! >= 0);
    // the other side counted what it sent and received
    const rb = statsOf(await h.tx(`Context = ${c.ctx} { AuditValue = ${c.b} { Audit { Statistics } } }`));
    assert.equal(rb['rtp/ps'], 20);
    assert.equal(rb['rtp/pr'], 3);
    assert.equal(rb['rtp/pl'], 0);
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('malformed packets and packets from strangers are dropped and counted in the metrics', async () => {
  const h = relayHarness(BASE + 1120);
  const [pa, pb] = await peers();
  try {
    // a's Remote is 127.0.0.2: a's peer on 127.0.0.1 is a stranger (no latching)
    const c = await call(h, pa!, pb!, { remoteAddress: '127.0.0.2' });
    await pa!.send(Buffer.alloc(4), c.gwA);
    const v0 = rtp({ seq: 1 });
    v0[0] = 0x00;
    await pb!.send(v0, c.gwB);
    await pa!.send(rtp({ seq: 2 }), c.gwA);
    await eventually(
      async () =>
        (await h.metric('trgwd_media_dropped_total', { realm: 'core', reason: 'malformed' })) === 2
          ? true
          : undefined,
      3000,
      'two malformed',
    );
    assert.equal(await h.metric('trgwd_media_dropped_total', { realm: 'core', reason: 'source' }), 1);
    assert.deepEqual(await pb!.settle(), []);
    assert.equal(h.mg.termination(c.a)!.streams.get(1)!.counters.packetsReceived, 0);
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('RTP/SAVP without a=crypto is relayed end to end; with a=crypto it is refused (449) without SRTP termination', async () => {
  const h = relayHarness(BASE + 1280);
  const [pa, pb] = await peers();
  try {
    const savp = { proto: 'RTP/SAVP 0' };
    const c = await call(h, pa!, pb!, savp, savp);
    // an SRTP packet: clear header, ciphertext and a 10-octet tag, all passed untouched
    const srtp = Buffer.concat([rtp({ seq: 9, payload: Buffer.from('ciphertext') }), Buffer.alloc(10, 0xaa)]);
    await pa!.send(srtp, c.gwA);
    assert.deepEqual((await pb!.next()).data, srtp);
    const r = await h.tx(
      `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Local { v=0\nc=IN IP4 $\nm=audio $ RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$\n } } } } }`,
    );
    assert.equal(r[0]?.error?.code, 449);
    assert.match(r[0]?.error?.text ?? '', /a=crypto/);
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('ds/dscp is accepted, not applied: one warning per stream and a metric', async () => {
  const h = relayHarness(BASE + 1440);
  const [pa, pb] = await peers();
  try {
    const c = await call(h, pa!, pb!, { props: 'ds/dscp = 46' });
    await h.tx(
      `Context = ${c.ctx} { Modify = ${c.a} { Media { Stream = 1 { LocalControl { Mode = SendReceive, ds/dscp = 46 } } } } }`,
    );
    assert.equal(await h.metric('trgwd_dscp_unsupported_total'), 1, 'counted once for the stream');
    await pa!.send(rtp({ seq: 1 }), c.gwA);
    assert.equal(seqOf((await pb!.next()).data), 1, 'media still flows');
  } finally {
    pa!.close();
    pb!.close();
    await h.close();
  }
});

test('a tman/pol without tman/sdr, or a bad gm/sam or gm/spr, fails the command (472, 449) and holds nothing', async () => {
  const h = relayHarness(BASE + 1600);
  try {
    const add = (lc: string): ReturnType<typeof h.tx> =>
      h.tx(
        `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ${lc} }, Local { v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n }, Remote { ${remoteSdp(4000)} } } } } }`,
      );
    assert.equal((await add('tman/pol = on'))[0]?.error?.code, 472);
    const sam = await add('gm/saf = on, gm/sam = "not-an-address"');
    assert.equal(sam[0]?.error?.code, 449);
    assert.match(sam[0]?.error?.text ?? '', /not-an-address/);
    assert.equal((await add('gm/spf = on, gm/spr = "9-1"'))[0]?.error?.code, 449);
    assert.equal(h.mg.contextCount, 0);
    assert.equal(h.plane.legCount, 0);
    assert.equal(commands(await add('tman/pol = on, tman/sdr = 8000')).length, 1);
  } finally {
    await h.close();
  }
});
