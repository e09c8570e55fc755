/**
 * The fast path (daemon/bearer/udp/forwarder.ts) on real loopback sockets, without the gateway model:
 * legs, targets, latching, filtering, policing, demux, malformed packets, the security hook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import {
  CNT,
  DROP_BASE,
  DROP_REASONS,
  LocalForwarder,
  type DropReason,
  type LegConfig,
  type LegSecurity,
  type PortableSecurity,
  type TransformEnv,
} from '../../../../daemon/bearer/udp/forwarder.js';
import { rtcpRr, rtp } from './packets.js';
import { LO, Peer, until } from './peer.js';

/**
 * Gateway-side sockets on explicit ports (as the PortManager binds them: only those may be connected
 * and disconnected again). Port range 28700-28749 belongs to this file.
 */
let nextPort = 28700;
async function bound(): Promise<Socket> {
  for (;;) {
    if (nextPort > 28749) nextPort = 28700;
    const s = createSocket('udp4');
    s.bind({ port: nextPort++, address: LO, exclusive: true });
    const [ev] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error')]);
    if (ev === 'listening') return s;
    s.close();
  }
}

function cfg(over: Partial<LegConfig> = {}): LegConfig {
  return {
    kind: 'rtp',
    group: 1,
    realm: 'r',
    mode: 'sendRecv',
    rtcpMuxRx: false,
    rtcpMuxTx: false,
    latch: false,
    rlatch: false,
    relatchPackets: 3,
    ...over,
  };
}

interface Setup {
  readonly f: LocalForwarder;
  readonly a: Peer;
  readonly b: Peer;
  /** Gateway sockets of leg 1 (faces a) and leg 2 (faces b). */
  readonly s1: { rtp: Socket; rtcp: Socket };
  readonly s2: { rtp: Socket; rtcp: Socket };
  /** The legs' counters (CNT). */
  readonly c1: Float64Array;
  readonly c2: Float64Array;
  dropped(reason: DropReason): number;
  close(): void;
}

/** Two legs relaying to each other; leg 1's Remote is peer a, leg 2's peer b (configurable). */
async function setup(over1: Partial<LegConfig> = {}, over2: Partial<LegConfig> = {}): Promise<Setup> {
  const f = new LocalForwarder();
  const a = await Peer.open();
  const b = await Peer.open();
  const s1 = { rtp: await bound(), rtcp: await bound() };
  const s2 = { rtp: await bound(), rtcp: await bound() };
  const ep = (p: Peer) => ({ address: LO, port: p.port });
  const c1 = f.addLeg(
    1,
    { ...s1, connectable: true },
    cfg({ remote: ep(a), remoteRtcp: ep(a), sourceAddress: { kind: 'exact', address: LO }, ...over1 }),
  );
  const c2 = f.addLeg(
    2,
    { ...s2, connectable: true },
    cfg({ remote: ep(b), remoteRtcp: ep(b), sourceAddress: { kind: 'exact', address: LO }, ...over2 }),
  );
  f.setTargets(1, [2], [2]);
  f.setTargets(2, [1], [1]);
  let totals = new Float64Array(DROP_BASE + DROP_REASONS.length);
  return {
    f,
    a,
    b,
    s1,
    s2,
    c1,
    c2,
    dropped(reason) {
      f.drainTotals((_realm, t) => {
        const acc = new Float64Array(t.length);
        for (let i = 0; i < t.length; i++) acc[i] = totals[i]! + t[i]!;
        totals = acc;
      });
      return totals[DROP_BASE + DROP_REASONS.indexOf(reason)]!;
    },
    close() {
      f.close();
      for (const s of [s1.rtp, s1.rtcp, s2.rtp, s2.rtcp]) s.close();
      a.close();
      b.close();
    },
  };
}

test('RTP both ways: same bytes, from the other leg’s port; counters on both streams', async () => {
  const x = await setup();
  try {
    const gw1 = x.s1.rtp.address().port;
    const gw2 = x.s2.rtp.address().port;
    const sent = [1, 2, 3].map((seq) => rtp({ seq, payload: 20 + seq }));
    for (const p of sent) await x.a.send(p, gw1);
    const got = await x.b.take(3);
    assert.deepEqual(
      got.map((g) => g.data),
      sent,
    );
    assert.ok(
      got.every((g) => g.port === gw2),
      'sent from the B leg’s own port (symmetric RTP)',
    );
    const back = rtp({ seq: 77, ssrc: 5 });
    await x.b.send(back, gw2);
    const r = await x.a.next();
    assert.deepEqual(r.data, back);
    assert.equal(r.port, gw1);
    assert.equal(x.c1[CNT.packetsReceived], 3);
    assert.equal(
      x.c1[CNT.octetsReceived],
      sent.reduce((n, p) => n + p.length, 0),
    );
    assert.equal(x.c2[CNT.packetsSent], 3);
    assert.equal(x.c2[CNT.octetsSent], x.c1[CNT.octetsReceived]);
    assert.equal(x.c1[CNT.packetsSent], 1);
    assert.equal(x.c2[CNT.packetsReceived], 1);
  } finally {
    x.close();
  }
});

test('RTCP on its own ports, and RFC 5761 mux on one side only', async () => {
  const x = await setup({}, { rtcpMuxRx: true, rtcpMuxTx: true });
  try {
    // a → leg 1 RTCP socket → leg 2 muxed: out of leg 2's RTP socket to b's RTP endpoint
    const rr = rtcpRr(1, 1);
    await x.a.send(rr, x.s1.rtcp.address().port);
    const got = await x.b.next();
    assert.deepEqual(got.data, rr);
    assert.equal(got.port, x.s2.rtp.address().port);
    // b → leg 2 RTP socket (RTCP demuxed by packet type) → leg 1's RTCP socket to a's RTCP endpoint
    const rr2 = rtcpRr(2);
    await x.b.send(rr2, x.s2.rtp.address().port);
    const back = await x.a.next();
    assert.deepEqual(back.data, rr2);
    assert.equal(back.port, x.s1.rtcp.address().port);
    // RTCP is not media: the stream counters do not move
    assert.equal(x.c1[CNT.packetsReceived]! + x.c2[CNT.packetsReceived]!, 0);
    // and RTP on the muxed port still goes as RTP
    await x.b.send(rtp({ seq: 9 }), x.s2.rtp.address().port);
    assert.equal((await x.a.next()).port, x.s1.rtp.address().port);
  } finally {
    x.close();
  }
});

test('malformed packets are counted and dropped; nothing throws', async () => {
  const x = await setup();
  try {
    const gw1 = x.s1.rtp.address().port;
    await x.a.send(Buffer.alloc(5), gw1);
    const v1 = rtp({ seq: 1 });
    v1[0] = 0x40;
    await x.a.send(v1, gw1);
    await x.a.send(Buffer.from([0x80, 201, 0, 50, 1, 2, 3, 4]), x.s1.rtcp.address().port); // RTCP length beyond the datagram
    await until(() => x.dropped('malformed') === 3, 'three malformed drops');
    assert.deepEqual(await x.b.settle(), []);
    assert.equal(x.c1[CNT.packetsReceived], 0);
  } finally {
    x.close();
  }
});

test('without latching, a source other than the Remote address is dropped (port is free)', async () => {
  const x = await setup({ sourceAddress: { kind: 'exact', address: '192.0.2.1' } });
  try {
    await x.a.send(rtp({ seq: 1 }), x.s1.rtp.address().port);
    await until(() => x.dropped('source') === 1, 'source drop');
    assert.deepEqual(await x.b.settle(), []);
    // the exact Remote address from any port passes
    x.f.configure(
      1,
      cfg({ remote: { address: LO, port: 9 }, sourceAddress: { kind: 'exact', address: LO } }),
    );
    await x.a.send(rtp({ seq: 2 }), x.s1.rtp.address().port);
    assert.equal(rtpSeqOf((await x.b.next()).data), 2);
  } finally {
    x.close();
  }
});

function rtpSeqOf(b: Buffer): number {
  return b.readUInt16BE(2);
}

test('latching: the first packet fixes the destination (NAT: its port differs from Remote); the listener hears it', async () => {
  const seen: unknown[] = [];
  const x = await setup({
    latch: true,
    sourceAddress: undefined,
    remote: { address: LO, port: 9 },
    remoteRtcp: { address: LO, port: 10 },
  });
  x.f.setListener({ latched: (...args) => seen.push(args) });
  try {
    // before latching, media for leg 1 goes to Remote (port 9): nobody there
    await x.a.send(rtp({ seq: 1 }), x.s1.rtp.address().port);
    await x.b.next();
    assert.deepEqual(seen, [[1, 'rtp', LO, x.a.port, false]]);
    await x.b.send(rtp({ seq: 50 }), x.s2.rtp.address().port);
    const r = await x.a.next();
    assert.equal(rtpSeqOf(r.data), 50, 'sent to the latched source, not to Remote');
    // another source is dropped after latching (no rlatch): the socket is connected to the latched
    // source, so the kernel drops it; the next packet of the latched source is the next relayed
    await until(() => x.f.isConnected(1), 'socket connected to the latched source');
    const other = await Peer.open();
    try {
      await other.send(rtp({ seq: 2 }), x.s1.rtp.address().port);
      await x.a.send(rtp({ seq: 4 }), x.s1.rtp.address().port);
      assert.equal(rtpSeqOf((await x.b.next()).data), 4);
      assert.deepEqual(await x.b.settle(), []);
    } finally {
      other.close();
    }
    // RTCP latches on its own socket
    await x.a.send(rtcpRr(), x.s1.rtcp.address().port);
    await x.b.next();
    await x.b.send(rtcpRr(3), x.s2.rtcp.address().port);
    assert.equal((await x.a.next()).port, x.s1.rtcp.address().port);
    assert.deepEqual(seen[1], [1, 'rtcp', LO, x.a.port, false]);
    // a new Remote forgets the latch (and disconnects the socket: a new source may latch)
    x.f.configure(
      1,
      cfg({ latch: true, remote: { address: LO, port: 11 }, remoteRtcp: { address: LO, port: 12 } }),
    );
    assert.equal(x.f.isConnected(1), false);
    const nat = await Peer.open();
    try {
      await nat.send(rtp({ seq: 3 }), x.s1.rtp.address().port);
      await x.b.next();
      assert.deepEqual(seen[2], [1, 'rtp', LO, nat.port, false], 'latched anew after the Remote changed');
      await x.b.send(rtp({ seq: 51 }), x.s2.rtp.address().port);
      assert.equal(rtpSeqOf((await nat.next()).data), 51);
    } finally {
      nat.close();
    }
  } finally {
    x.close();
  }
});

test('re-latching: a new source takes over after relatchPackets consecutive packets of one SSRC', async () => {
  const seen: unknown[][] = [];
  const x = await setup({ latch: true, rlatch: true, relatchPackets: 3, sourceAddress: undefined });
  x.f.setListener({ latched: (...args) => seen.push(args) });
  const nat = await Peer.open();
  try {
    const gw1 = x.s1.rtp.address().port;
    await x.a.send(rtp({ seq: 1 }), gw1);
    await x.b.next();
    // the new source: two packets are dropped, a packet of the latched source resets the count
    await nat.send(rtp({ seq: 100, ssrc: 7 }), gw1);
    await nat.send(rtp({ seq: 101, ssrc: 7 }), gw1);
    await until(() => x.dropped('source') === 2, 'candidate packets dropped');
    await x.a.send(rtp({ seq: 2 }), gw1);
    assert.equal(rtpSeqOf((await x.b.next()).data), 2);
    // a change of SSRC restarts the count too
    await nat.send(rtp({ seq: 102, ssrc: 7 }), gw1);
    await nat.send(rtp({ seq: 103, ssrc: 8 }), gw1);
    await nat.send(rtp({ seq: 104, ssrc: 8 }), gw1);
    await until(() => x.dropped('source') === 5, 'still candidates');
    await nat.send(rtp({ seq: 105, ssrc: 8 }), gw1);
    assert.equal(
      rtpSeqOf((await x.b.next()).data),
      105,
      'the third consecutive packet passes and re-latches',
    );
    assert.deepEqual(seen.at(-1), [1, 'rtp', LO, nat.port, true]);
    await x.b.send(rtp({ seq: 60 }), x.s2.rtp.address().port);
    assert.equal(rtpSeqOf((await nat.next()).data), 60, 'media now goes to the new source');
    // the old source is now the stranger
    await x.a.send(rtp({ seq: 3 }), gw1);
    await until(() => x.dropped('source') === 6, 'old source dropped');
  } finally {
    nat.close();
    x.close();
  }
});

test('port filter (gm/spf): only the admitted range passes, RTP and RTCP separately', async () => {
  const x = await setup();
  try {
    x.f.configure(
      1,
      cfg({
        remote: { address: LO, port: x.a.port },
        sourceAddress: { kind: 'exact', address: LO },
        sourcePorts: [1, 2],
        sourceRtcpPorts: [x.a.port, x.a.port],
      }),
    );
    await x.a.send(rtp({ seq: 1 }), x.s1.rtp.address().port);
    await until(() => x.dropped('source') === 1, 'port filter drop');
    await x.a.send(rtcpRr(), x.s1.rtcp.address().port);
    assert.deepEqual((await x.b.next()).data, rtcpRr(), 'RTCP port admitted');
  } finally {
    x.close();
  }
});

test('policing: exactly what exceeds the bucket is dropped, counted on the stream; overhead not policed', async () => {
  // 1 B/s: no refill to speak of during the test; the bucket holds 5 packets of 100 octets
  const x = await setup({ policer: { sdr: 1, mbs: 500 } });
  try {
    const gw1 = x.s1.rtp.address().port;
    for (let i = 0; i < 8; i++) await x.a.send(rtp({ seq: i, payload: 88 }), gw1); // 100 octets each
    const got = await x.b.take(5);
    assert.deepEqual(
      got.map((g) => rtpSeqOf(g.data)),
      [0, 1, 2, 3, 4],
    );
    await until(() => x.c1[CNT.policedPackets] === 3, 'three policed');
    assert.deepEqual(await x.b.settle(), []);
    assert.equal(x.c1[CNT.policedOctets], 300);
    assert.equal(x.c1[CNT.packetsReceived], 8, 'received counts before policing');
    assert.equal(x.dropped('policed'), 3);
    // on a secured leg the policer counts the unprotected packet: 110 octets in, 100 after a 10-octet tag
    x.f.configure(
      1,
      cfg({
        remote: { address: LO, port: x.a.port },
        sourceAddress: { kind: 'exact', address: LO },
        policer: { sdr: 1, mbs: 300 },
      }),
    );
    x.f.setSecurity(1, { inbound: (_buf, len) => len - 10, outbound: (buf, len) => buf.subarray(0, len) });
    for (let i = 0; i < 4; i++) await x.a.send(rtp({ seq: 20 + i, payload: 98 }), gw1);
    assert.equal((await x.b.take(3)).length, 3);
    await until(() => x.c1[CNT.policedPackets] === 4, 'the fourth policed');
  } finally {
    x.close();
  }
});

test('security hook: inbound transform in place (drop on < 0), outbound transform on the sending leg', async () => {
  const x = await setup();
  try {
    const gw1 = x.s1.rtp.address().port;
    x.f.setSecurity(1, {
      inbound: (buf, len) => (buf[len - 1] === 0xff ? -1 : len - 4), // strip a 4-octet "tag"
      outbound: () => undefined,
    });
    x.f.setSecurity(2, {
      inbound: () => -1,
      outbound: (buf, len) => Buffer.concat([buf.subarray(0, len), Buffer.from('TAG!')]),
    });
    const p = rtp({ seq: 1, payload: Buffer.from('hello-1234') });
    await x.a.send(p, gw1);
    const got = await x.b.next();
    assert.deepEqual(got.data, Buffer.concat([p.subarray(0, p.length - 4), Buffer.from('TAG!')]));
    await x.a.send(rtp({ seq: 2, payload: Buffer.from([1, 2, 0xff]) }), gw1);
    await until(() => x.dropped('security') === 1, 'auth failure dropped');
    assert.equal(x.c2[CNT.octetsSent], got.data.length);
  } finally {
    x.close();
  }
});

test('portable security: the forwarder builds the transforms on the leg, hands the previous ones over, closes what it built; events go to the security they were built from', async () => {
  const x = await setup();
  try {
    const gw1 = x.s1.rtp.address().port;
    const log: string[] = [];
    /** Security whose transforms strip `n` octets, count in the leg's counters and report opening/closing. */
    const portable = (name: string, n: number): PortableSecurity => ({
      spec: { kind: 'test' },
      build(prev: LegSecurity | undefined, env: TransformEnv): LegSecurity {
        log.push(`${name} built${prev !== undefined ? ` from ${(prev as { name?: string }).name}` : ''}`);
        env.event({ kind: 'open' });
        return {
          name,
          inbound: (_buf: Buffer, len: number) => {
            env.cnt[CNT.securityAuthFail]!++;
            return len - n;
          },
          outbound: (buf: Buffer, len: number) => buf.subarray(0, len),
          close: () => env.event({ kind: 'close' }),
        } as LegSecurity;
      },
      onEvent: (e) => log.push(`${name} ${e.kind}`),
    });
    x.f.setSecurity(1, portable('A', 4));
    const p = rtp({ seq: 1, payload: Buffer.from('hello-1234') });
    await x.a.send(p, gw1);
    assert.equal((await x.b.next()).data.length, p.length - 4);
    assert.equal(x.c1[CNT.securityAuthFail], 1, 'the transforms count in the leg counters');
    x.f.setSecurity(1, portable('B', 2));
    await x.a.send(p, gw1);
    assert.equal((await x.b.next()).data.length, p.length - 2, 'the new transforms run');
    x.f.removeLeg(1);
    assert.deepEqual(log, ['A built', 'A open', 'B built from A', 'B open', 'A close', 'B close']);
  } finally {
    x.close();
  }
});

test('loopback on a secured leg: the echo goes to the source (not the Remote), through the outbound transform', async () => {
  // leg 1's Remote is peer b's port: a secured echo must still go back to peer a, the source
  const x = await setup({ mode: 'loopback', sourceAddress: undefined }, {});
  try {
    x.f.configure(1, cfg({ mode: 'loopback', remote: { address: LO, port: x.b.port } }));
    x.f.setSecurity(1, {
      inbound: (_buf, len) => len - 4,
      outbound: (buf, len) => Buffer.concat([buf.subarray(0, len), Buffer.from('TAG!')]),
    });
    const p = rtp({ seq: 9, payload: Buffer.from('hello-1234') });
    await x.a.send(p, x.s1.rtp.address().port);
    const echo = await x.a.next();
    assert.deepEqual(echo.data, Buffer.concat([p.subarray(0, p.length - 4), Buffer.from('TAG!')]));
    assert.deepEqual(await x.b.settle(), [], 'nothing to the Remote, nothing into the context');
  } finally {
    x.close();
  }
});

test('loopback echoes to the source and nothing enters the context; removed legs stop relaying', async () => {
  const x = await setup({ mode: 'loopback' });
  try {
    x.f.setTargets(1, [], []);
    const p = rtp({ seq: 5 });
    await x.a.send(p, x.s1.rtp.address().port);
    const echo = await x.a.next();
    assert.deepEqual(echo.data, p);
    assert.equal(echo.port, x.s1.rtp.address().port);
    assert.deepEqual(await x.b.settle(), []);
    assert.equal(x.c1[CNT.packetsSent], 1);
    x.f.removeLeg(2);
    x.f.configure(
      1,
      cfg({ remote: { address: LO, port: x.a.port }, sourceAddress: { kind: 'exact', address: LO } }),
    );
    x.f.setTargets(1, [2], []);
    await x.a.send(p, x.s1.rtp.address().port);
    await until(() => x.dropped('no_route') === 1, 'no route once the other leg is gone');
    assert.equal(x.f.legCount, 1);
  } finally {
    x.close();
  }
});
