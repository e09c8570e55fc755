/**
 * e2ae SRTP through a context (PROFILE §4, §9): the access side speaks SRTP keyed by SDES, the core
 * side plain RTP; the gateway model, the UDP relay and the SRTP termination on loopback, the peers'
 * SRTP done with our libsrtp2 binding (checked byte for byte against C libsrtp2 in
 * test/interop/srtp-libsrtp.test.ts). The suite runs twice: with the relay on the main thread
 * (srtp-e2ae.test.ts, ports 23000-23999), on a relay worker thread, where the transforms are built
 * from the legs' specs (srtp-e2ae-workers.test.ts, ports 48000-48999), and on a relay worker process
 * (srtp-e2ae-processes.test.ts, ports 49000-49999). Ports: BASE + 200·i, access
 * realm the first 100 ports, core the next 100. There is room for five blocks and there are more
 * tests: the tests of a file run one after the other and each closes its gateway (ports released)
 * before the next starts, so blocks are reused (`block(i)`, i < 5).
 *
 * Every check waits for an event (a datagram, a counter) rather than for time: what the gateway drops
 * is proven dropped by a good packet sent after it on the same socket arriving first (the gateway reads
 * one socket in order), or by its drop counter reaching the expected value (dropped()); Peer.settle()
 * then shows that nothing else is on its way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NotifyRequestOut } from '../../daemon/control/handler.js';
import { UdpMediaPlane } from '../../daemon/bearer/udp/udp-plane.js';
import { ShardedForwarder } from '../../daemon/bearer/udp/worker-forwarder.js';
import { SrtpE2ae } from '../../daemon/tls/srtp/e2ae.js';
import { parseCryptoAttr, generateInline, cryptoToSessionParams } from '../../daemon/tls/srtp/crypto-attr.js';
import { SrtpSession, liveSrtpSessions, type SrtpSuite } from '../../daemon/tls/srtp/session.js';
import { SRTP_SUITES, SRTP_SUITE_INFO } from '../../daemon/tls/srtp/suites.js';
import { nativeAvailable } from '../../daemon/tls/srtp/binding.js';
import { parseSdp } from '../../daemon/control/codec/sdp.js';
import { rtp, rtcpRr } from '../unit/bearer/udp/packets.js';
import { LO, Peer, until } from '../unit/bearer/udp/peer.js';
import { eventually, metricValue } from '../helpers/daemon.js';
import {
  amm,
  audit,
  commands,
  harness as commandHarness,
  localOf,
  portOf,
  type Harness,
} from '../unit/control/commands/harness.js';
import { statsOf } from './udp-call.js';

export interface SrtpE2aeSuiteOptions {
  /** First port of the file's range (5 blocks of 200). */
  readonly base: number;
  /** Relay workers (0: the main thread's LocalForwarder). */
  readonly workers: number;
  /** What the workers are (default threads). */
  readonly mode?: 'thread' | 'process';
}

/** Defines the suite's tests (srtp-e2ae.test.ts: main thread; srtp-e2ae-workers.test.ts: a worker). */
export function srtpE2aeSuite(suite: SrtpE2aeSuiteOptions): void {
  const BASE = suite.base;
  /** libsrtp sessions are counted per process: with a worker process, ours are in the child. */
  const sameProcess = suite.mode !== 'process';
  const where = suite.workers > 0 ? ` [${suite.workers} relay worker ${suite.mode ?? 'thread'}]` : '';
  const skip = nativeAvailable() ? false : 'native addon not built (npm run build:native)';
  const AES80: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';

  /** Port block of test i: BASE + 200·i (access BASE..+99, core +100..+199), within 23000-23999 for i < 5. */
  function block(i: number): number {
    assert.ok(i >= 0 && i < 5, `five blocks of 200 ports from ${BASE}`);
    return BASE + 200 * i;
  }

  interface SrtpHarness extends Harness {
    readonly plane: UdpMediaPlane;
    readonly srtp: SrtpE2ae;
    /** A metric's value after flushing the relay's and the SRTP termination's counters. */
    metric(name: string, labels?: Record<string, string>): Promise<number>;
  }

  /** The command harness with the UDP plane and an SrtpE2ae that reports to the harness's metrics. */
  function harness(
    base: number,
    opts: { relatchPackets?: number; rekeyNoticePercent?: number } = {},
  ): SrtpHarness {
    const h = commandHarness(base);
    const srtp = new SrtpE2ae({
      replayWindow: 128,
      metrics: h.metrics,
      ...(opts.rekeyNoticePercent !== undefined ? { rekeyNoticePercent: opts.rekeyNoticePercent } : {}),
    });
    const plane = new UdpMediaPlane({
      metrics: h.metrics,
      log: h.mg.log,
      security: srtp,
      ...(suite.workers > 0
        ? { forwarder: new ShardedForwarder({
              workers: suite.workers,
              mode: suite.mode ?? 'thread',
              realms: ['access', 'core'],
              log: h.mg.log,
            }), }
        : {}),
      ...(opts.relatchPackets !== undefined ? { relatchPackets: opts.relatchPackets } : {}),
    });
    h.mg.addMediaPlane(plane);
    return Object.assign(h, {
      plane,
      srtp,
      async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
        plane.flushMetrics(); // the relay's totals, with the SRTP block (SrtpE2ae.addTotals)
        return metricValue(await h.metrics.registry.metrics(), name, labels) ?? 0;
      },
    });
  }

  /**
   * `n` Notifies were sent, once the relay thread's events (latch, key lifetime) have arrived: they
   * come from packets, so a worker's may land after the packet that caused them. (What a command
   * changes, e.g. the crypto contexts it opens, is reported before its reply: settled().)
   */
  async function notifiesAre(h: SrtpHarness, n: number, what = 'notifies'): Promise<void> {
    if (h.link.notifies.length < n) await eventually(() => (h.link.notifies.length >= n ? true : undefined), 3000, what, 5).catch(() => undefined);
    assert.equal(h.link.notifies.length, n, what);
  }

  /** Waits until a metric (flushed from the relay's totals) reaches `n`. */
  async function metricReaches(h: SrtpHarness, name: string, labels: Record<string, string>, n: number): Promise<void> {
    const deadline = Date.now() + 3000;
    while ((await h.metric(name, labels)) < n) {
      if (Date.now() > deadline) assert.fail(`${name} ${JSON.stringify(labels)} did not reach ${n}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  // ---- keys and the UE's SRTP ---------------------------------------------------------------------

  let keySeed = 1;

  /** A UE's a=crypto line: a fresh (deterministic) key, `suffix` after it (`|20`, `|1:4`). */
  function ueLine(suite: SrtpSuite = AES80, tag = 1, suffix = ''): string {
    const seed = keySeed++;
    const random = (n: number): Uint8Array =>
      Uint8Array.from({ length: n }, (_, i) => (seed * 37 + i * 11 + 5) & 0xff);
    return `${tag} ${suite} ${generateInline(suite, { random })}${suffix}`;
  }

  /** SRTP sessions of the test's peers: destroyed at the end of each test (liveSrtpSessions stays exact). */
  const sessions: SrtpSession[] = [];

  function session(dir: 'inbound' | 'outbound', line: string): SrtpSession {
    const s = new SrtpSession(dir, cryptoToSessionParams(parseCryptoAttr(line)));
    sessions.push(s);
    return s;
  }

  function destroySessions(): void {
    for (const s of sessions.splice(0)) s.destroy();
  }

  function protect(s: SrtpSession, pkt: Buffer): Buffer {
    const b = Buffer.alloc(pkt.length + 64);
    pkt.copy(b);
    const n = s.protectRtp(b, pkt.length);
    assert.ok(n > 0, `protect ${n}`);
    return b.subarray(0, n);
  }

  function protectRtcp(s: SrtpSession, pkt: Buffer): Buffer {
    const b = Buffer.alloc(pkt.length + 64);
    pkt.copy(b);
    const n = s.protectRtcp(b, pkt.length);
    assert.ok(n > 0, `protectRtcp ${n}`);
    return b.subarray(0, n);
  }

  function unprotect(s: SrtpSession, pkt: Buffer): Buffer | number {
    const b = Buffer.from(pkt);
    const n = s.unprotectRtp(b, b.length);
    return n < 0 ? n : b.subarray(0, n);
  }

  function unprotectRtcp(s: SrtpSession, pkt: Buffer): Buffer | number {
    const b = Buffer.from(pkt);
    const n = s.unprotectRtcp(b, b.length);
    return n < 0 ? n : b.subarray(0, n);
  }

  const seqOf = (b: Buffer): number => b.readUInt16BE(2);

  // ---- H.248 text ---------------------------------------------------------------------------------

  interface End {
    /** m= transport and formats (default `RTP/SAVP 0` on access, `RTP/AVP 0` on core). */
    readonly proto?: string;
    /** Extra Local / Remote SDP lines. */
    readonly local?: readonly string[];
    readonly remote?: readonly string[];
    /** Remote port (default: the peer's). */
    readonly remotePort?: number;
    /** More LocalControl properties (`ipnapt/latch = on, ...`). */
    readonly props?: string;
    /** An Events descriptor (`Events = 1 { adr/ipcha }`). */
    readonly events?: string;
  }

  function sdpText(lines: readonly string[]): string {
    return lines.map((l) => `${l}\n`).join('');
  }

  function remoteText(peerPort: number, proto: string, e: End): string {
    return sdpText([
      `v=0`,
      `c=IN IP4 ${LO}`,
      `m=audio ${e.remotePort ?? peerPort} ${proto}`,
      ...(e.remote ?? []),
    ]);
  }

  function localText(proto: string, e: End): string {
    return sdpText([`v=0`, `c=IN IP4 $`, `m=audio $ ${proto}`, ...(e.local ?? [])]);
  }

  function addText(realm: string, peerPort: number, proto: string, e: End): string {
    const lc = [
      `Mode = SendReceive`,
      `ipdc/realm = ${realm}`,
      ...(e.props !== undefined ? [e.props] : []),
    ].join(', ');
    const ev = e.events !== undefined ? `, ${e.events}` : '';
    return (
      `Add = $ { Media { Stream = 1 { LocalControl { ${lc} }, Local { ${localText(proto, e)} }, ` +
      `Remote { ${remoteText(peerPort, proto, e)} } } }${ev} }`
    );
  }

  type Reply = Awaited<ReturnType<Harness['tx']>>;

  /** The a=crypto lines of a reply's Local (command i). */
  function answeredLines(r: Reply, i = 0): string[] {
    const text = localOf(audit(commands(r)[i]));
    assert.ok(text !== undefined, 'the reply has a Local');
    return parseSdp(text)[0]!.media[0]!.getAttributes('crypto');
  }

  /** The one a=crypto line of a reply's Local. */
  function answered(r: Reply, i = 0): string {
    const v = answeredLines(r, i);
    assert.equal(v.length, 1, `one a=crypto line in ${JSON.stringify(v)}`);
    return v[0]!;
  }

  function noError(r: Reply): void {
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
  }

  interface SrtpCall {
    readonly ctx: number;
    readonly a: string;
    readonly b: string;
    readonly gwA: number;
    readonly gwB: number;
    readonly reply: Reply;
  }

  /** Context $ with access termination a (facing UE `pa`, SRTP) and core termination b (facing `pb`). */
  async function srtpCall(h: SrtpHarness, pa: Peer, pb: Peer, access: End, core: End = {}): Promise<SrtpCall> {
    const r = await h.tx(
      `Context = $ { ${addText('access', pa.port, access.proto ?? 'RTP/SAVP 0', access)}, ` +
        `${addText('core', pb.port, core.proto ?? 'RTP/AVP 0', core)} }`,
    );
    noError(r);
    const [ca, cb] = commands(r);
    if (suite.workers > 0) {
      // the point of the worker runs: the SRTP leg relays there, not on the main thread
      assert.ok(shardOf(h, amm(ca).terminationId)! >= 0, 'the SRTP leg runs on a relay worker');
    }
    return {
      ctx: r[0]!.contextId as number,
      a: amm(ca).terminationId,
      b: amm(cb).terminationId,
      gwA: portOf(localOf(audit(ca))),
      gwB: portOf(localOf(audit(cb))),
      reply: r,
    };
  }

  /** Which thread relays a termination's stream 1 (-1: main; with suite.workers > 0 only). */
  function shardOf(h: SrtpHarness, term: string): number | undefined {
    const stream = h.mg.termination(term)?.streams.get(1);
    const leg = stream !== undefined ? h.plane.legOf(stream) : undefined;
    return leg !== undefined ? (h.plane.forwarder as ShardedForwarder).shardOf(leg) : undefined;
  }

  /** Access side with Local `inline:$` and the UE's key in Remote. */
  function keyed(ue: string, more: End = {}): End {
    return {
      ...more,
      local: [...(more.local ?? []), `a=crypto:1 ${AES80} inline:$`],
      remote: [...(more.remote ?? []), `a=crypto:${ue}`],
    };
  }

  function modifyMedia(c: SrtpCall, term: string, body: string): string {
    return `Context = ${c.ctx} { Modify = ${term} { Media { Stream = 1 { ${body} } } } }`;
  }

  async function auditStats(h: SrtpHarness, c: SrtpCall, term: string): Promise<Record<string, number>> {
    return statsOf(await h.tx(`Context = ${c.ctx} { AuditValue = ${term} { Audit { Statistics } } }`));
  }

  function observed(n: NotifyRequestOut): { name: string; stream?: number; params: Record<string, string> } {
    const e = n.events[0]!;
    const params: Record<string, string> = {};
    for (const p of e.params ?? []) params[p.name] = 'value' in p ? String(p.value).replace(/"/g, '') : '';
    return { name: e.name, ...(e.stream !== undefined ? { stream: e.stream } : {}), params };
  }

  /** Waits until `n` packets in all were dropped for security on the access side (the drops are proven). */
  async function dropped(h: SrtpHarness, n: number): Promise<void> {
    let last = -1;
    await eventually(
      async () =>
        (last = await h.metric('trgwd_media_dropped_total', { realm: 'access', reason: 'security' })) >= n
          ? true
          : undefined,
      3000,
      `${n} security drops`,
      2,
    );
    assert.equal(last, n, 'no more security drops than expected');
  }

  async function withPeers<T>(n: number, fn: (peers: Peer[]) => Promise<T>): Promise<T> {
    const peers = await Promise.all(Array.from({ length: n }, () => Peer.open()));
    try {
      return await fn(peers);
    } finally {
      for (const p of peers) p.close();
      destroySessions();
    }
  }

  // ---- tests --------------------------------------------------------------------------------------

  test(
    `SRTP access ↔ RTP core: Local inline:$ is generated; media both ways byte-identical${where}`,
    { skip },
    async () => {
      const h = harness(block(0));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          const ours = answered(c.reply);
          assert.match(ours, /^1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', ours);
          for (let seq = 1; seq <= 5; seq++) {
            const plain = rtp({ seq, payload: 160 });
            await pa!.send(protect(ueTx, plain), c.gwA);
            const got = await pb!.next();
            assert.deepEqual(got.data, plain, 'plain RTP out of the core side, byte-identical');
            const back = rtp({ seq: 100 + seq, payload: 160, ssrc: 0x5555 });
            await pb!.send(back, c.gwB);
            const srtp = (await pa!.next()).data;
            assert.equal(srtp.length, back.length + 10, 'an 80-bit tag added');
            assert.deepEqual(unprotect(ueRx, srtp), back);
          }
          assert.equal(h.srtp.contexts, 2);
          const s = await h.tx(`Context = ${c.ctx} { Subtract = * }`);
          assert.equal(statsOf(s)['srtp/af'], 0);
          assert.equal(h.srtp.contexts, 0, 'contexts freed with the stream');
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `tampered, replayed, old and wrong-key packets never reach the core; each is counted (srtp/af, srtp/rf, trgwd_srtp_failures_total, dropped security)${where}`,
    { skip },
    async () => {
      const h = harness(block(0));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          const ueTx = session('outbound', ue);
          const forger = session('outbound', ue); // the same key, its own sequence (libsrtp2 protects an index once)
          const stranger = session('outbound', ueLine()); // same suite and tag, another key
          const good = async (seq: number): Promise<Buffer> => {
            const plain = rtp({ seq });
            const p = protect(ueTx, plain);
            await pa!.send(p, c.gwA);
            assert.deepEqual((await pb!.next()).data, plain, `seq ${seq} is the next packet relayed`);
            return p;
          };
          const flipped = (seq: number, at: (p: Buffer) => number): Buffer => {
            const p = protect(forger, rtp({ seq }));
            p[at(p)]! ^= 0x01;
            return p;
          };
          await good(1);
          // auth failures: payload, tag, header (timestamp), and a packet made with another key
          await pa!.send(
            flipped(2, () => 40),
            c.gwA,
          );
          await pa!.send(
            flipped(3, (p) => p.length - 1),
            c.gwA,
          );
          await pa!.send(
            flipped(4, () => 5),
            c.gwA,
          );
          await pa!.send(protect(stranger, rtp({ seq: 5 })), c.gwA);
          // the next good packet is the next thing the core side gets (one socket each way keeps the order)
          const p6 = await good(6);
          // replay: the same packet again
          await pa!.send(p6, c.gwA);
          await good(7);
          // what failed authentication took no place in the replay window: seq 2 made right passes
          await good(2);
          // too old for the window (128): made now, sent after the index moved 300 ahead
          const old = protect(ueTx, rtp({ seq: 8 }));
          await good(308);
          await pa!.send(old, c.gwA);
          await good(309);
          assert.deepEqual(await pb!.settle(), [], 'nothing else reached the core side');
          // the core→access direction is not affected
          await pb!.send(rtp({ seq: 1, ssrc: 0x5555 }), c.gwB);
          assert.equal((await pa!.next()).data.length, rtp({ seq: 1 }).length + 10);

          const st = await auditStats(h, c, c.a);
          assert.equal(st['srtp/af'], 4, 'payload, tag, header, wrong key');
          assert.equal(st['srtp/rf'], 2, 'replayed + too old');
          assert.equal(st['rtp/pr'], 6, 'only authenticated packets are counted as received');
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'auth_fail' }), 4);
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'replay_fail' }), 1);
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'replay_old' }), 1);
          assert.equal(await h.metric('trgwd_media_dropped_total', { realm: 'access', reason: 'security' }), 6);
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtp' }),
            6,
          );
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'protect', protocol: 'rtp' }),
            1,
          );
          const core = await auditStats(h, c, c.b);
          assert.equal(core['srtp/af'], undefined, 'the core side has no SRTP statistics');
          const sub = statsOf(await h.tx(`Context = ${c.ctx} { Subtract = ${c.a} }`));
          assert.equal(sub['srtp/af'], 4);
          assert.equal(sub['srtp/rf'], 2);
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `RTCP both ways: SRTCP from the UE arrives as plain RTCP on the core RTCP port; plain RTCP becomes SRTCP; also with a=rtcp-mux${where}`,
    { skip },
    async () => {
      const h = harness(block(1));
      try {
        await withPeers(4, async ([pa, pb, paRtcp, pbRtcp]) => {
          // separate RTCP ports (a=rtcp names the peers' RTCP sockets)
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue, { remote: [`a=rtcp:${paRtcp!.port}`] }), {
            remote: [`a=rtcp:${pbRtcp!.port}`],
          });
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', answered(c.reply));
          for (let i = 0; i < 3; i++) {
            const rr = rtcpRr(0x11223344, 1);
            rr.writeUInt32BE(i, 12); // distinct packets
            await paRtcp!.send(protectRtcp(ueTx, rr), c.gwA + 1);
            const got = await pbRtcp!.next();
            assert.deepEqual(got.data, rr, 'plain RTCP on the core side, byte-identical');
            assert.equal(got.port, c.gwB + 1, 'from the core RTCP port');
            const sr = rtcpRr(0x5555, 2);
            sr.writeUInt32BE(100 + i, 12);
            await pbRtcp!.send(sr, c.gwB + 1);
            const srtcp = await paRtcp!.next();
            assert.equal(srtcp.port, c.gwA + 1, 'from the access RTCP port');
            assert.equal(srtcp.data.length, sr.length + 4 + 10, 'SRTCP index and an 80-bit tag');
            assert.deepEqual(unprotectRtcp(ueRx, srtcp.data), sr);
          }
          // a tampered or replayed SRTCP packet is dropped and counted
          const rr = rtcpRr(0x11223344, 1);
          rr.writeUInt32BE(77, 12);
          const good = protectRtcp(ueTx, rr);
          const bad = Buffer.from(good);
          bad[20]! ^= 0x80;
          const rr2 = rtcpRr(0x11223344, 1);
          rr2.writeUInt32BE(78, 12);
          await paRtcp!.send(bad, c.gwA + 1);
          await paRtcp!.send(good, c.gwA + 1);
          await paRtcp!.send(good, c.gwA + 1);
          await paRtcp!.send(protectRtcp(ueTx, rr2), c.gwA + 1);
          assert.deepEqual((await pbRtcp!.next()).data, rr);
          assert.deepEqual((await pbRtcp!.next()).data, rr2, 'the tampered and the replayed one were dropped');
          assert.deepEqual(await pbRtcp!.settle(), []);
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtcp' }),
            5,
          );
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'protect', protocol: 'rtcp' }),
            3,
          );
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'auth_fail' }), 1);
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'replay_fail' }), 1);
          const st = await auditStats(h, c, c.a);
          assert.equal(st['srtp/af'], 1);
          assert.equal(st['srtp/rf'], 1);
          await h.tx(`Context = ${c.ctx} { Subtract = * }`);
        });
        await withPeers(2, async ([pa, pb]) => {
          // a=rtcp-mux on both sides: RTCP shares the RTP ports
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue, { local: ['a=rtcp-mux'], remote: ['a=rtcp-mux'] }), {
            local: ['a=rtcp-mux'],
            remote: ['a=rtcp-mux'],
          });
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', answered(c.reply));
          const rr = rtcpRr(0x11223344, 1);
          await pa!.send(protectRtcp(ueTx, rr), c.gwA);
          const got = await pb!.next();
          assert.deepEqual(got.data, rr);
          assert.equal(got.port, c.gwB);
          const sr = rtcpRr(0x5555, 2);
          await pb!.send(sr, c.gwB);
          const srtcp = await pa!.next();
          assert.equal(srtcp.port, c.gwA);
          assert.deepEqual(unprotectRtcp(ueRx, srtcp.data), sr);
          // RTP on the same port still works
          const plain = rtp({ seq: 1 });
          await pa!.send(protect(ueTx, plain), c.gwA);
          assert.deepEqual((await pb!.next()).data, plain);
          await pb!.send(rtp({ seq: 9, ssrc: 0x5555 }), c.gwB);
          assert.deepEqual(unprotect(ueRx, (await pa!.next()).data), rtp({ seq: 9, ssrc: 0x5555 }));
          await h.tx(`Context = ${c.ctx} { Subtract = * }`);
          assert.equal(h.srtp.contexts, 0);
        });
      } finally {
        await h.close();
      }
    },
  );

  /**
   * Packets from `from` to `port` across a command: `lead` packets each awaited at `to` (the gateway's
   * context has taken them: ROC, replay window), then `inflight` handed to the kernel and not awaited (the
   * gateway still has them to read when the command swaps its transforms), then `during()`, then `tail`
   * more. Returns everything that arrived at `to`, in order.
   */
  async function acrossCommand(
    from: Peer,
    to: Peer,
    port: number,
    make: (i: number) => Buffer,
    during: () => Promise<void>,
    counts = { lead: 20, inflight: 10, tail: 10 },
  ): Promise<Buffer[]> {
    let i = 0;
    const got: Buffer[] = [];
    for (let k = 0; k < counts.lead; k++) {
      await from.send(make(i++), port);
      got.push((await to.next()).data);
    }
    for (let k = 0; k < counts.inflight; k++) await from.send(make(i++), port);
    await during();
    for (let k = 0; k < counts.tail; k++) await from.send(make(i++), port);
    for (const r of await to.take(counts.inflight + counts.tail)) got.push(r.data);
    return got;
  }

  test(
    `Local first, Remote later: Add with Local inline:$ keys our direction; the Modify with the UE’s key adds the other${where}`,
    { skip },
    async () => {
      const h = harness(block(3));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const r = await h.tx(
            `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, ` +
              `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 ${AES80} inline:$`, 'b=AS:38'] })} } } } }, ` +
              `${addText('core', pb!.port, 'RTP/AVP 0', {})} }`,
          );
          noError(r);
          const ours = answered(r);
          assert.match(ours, /^1 AES_CM_128_HMAC_SHA1_80 inline:/);
          const c: SrtpCall = {
            ctx: r[0]!.contextId as number,
            a: amm(commands(r)[0]).terminationId,
            b: amm(commands(r)[1]).terminationId,
            gwA: portOf(localOf(audit(commands(r)[0]))),
            gwB: portOf(localOf(audit(commands(r)[1]))),
            reply: r,
          };
          assert.equal(
            parseSdp(localOf(audit(commands(r)[0]))!)[0]!.media[0]!.bandwidth('AS'),
            42,
            'our own line’s overhead',
          );
          assert.equal(h.srtp.contexts, 1, 'only the outbound direction has a key');
          const ue = ueLine();
          const m = await h.tx(
            modifyMedia(
              c,
              c.a,
              `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ue}`] })} }`,
            ),
          );
          noError(m);
          assert.equal(h.srtp.contexts, 2);
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', ours);
          for (let seq = 1; seq <= 3; seq++) {
            assert.deepEqual(await bothWays(c, pa!, pb!, ueTx, ueRx, seq), { toCore: 10, toUe: 10 });
          }
          noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
          assert.equal(h.srtp.contexts, 0);
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `rekey by Modify (a): a new Remote key starts a fresh inbound context; the outbound direction goes on without a gap${where}`,
    { skip },
    async () => {
      const h = harness(block(1));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue1 = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue1));
          const ours = answered(c.reply);
          const ueTx1 = session('outbound', ue1);
          const ueRx = session('inbound', ours);
          for (let seq = 1000; seq < 1005; seq++) {
            await pa!.send(protect(ueTx1, rtp({ seq })), c.gwA);
            assert.equal(seqOf((await pb!.next()).data), seq);
          }
          const live = liveSrtpSessions();
          const ue2 = ueLine();
          let modify: Reply | undefined;
          const got = await acrossCommand(
            pb!,
            pa!,
            c.gwB,
            (i) => rtp({ seq: (65530 + i) & 0xffff, ts: i * 160, ssrc: 0x5555 }),
            async () => {
              modify = await h.tx(
                modifyMedia(
                  c,
                  c.a,
                  `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ue2}`] })} }`,
                ),
              );
            },
          );
          noError(modify!);
          assert.equal(got.length, 40);
          // the sequence wraps within the first burst: after the Modify the context must still know ROC 1
          got.forEach((srtp, i) => {
            const plain = unprotect(ueRx, srtp);
            assert.ok(
              Buffer.isBuffer(plain),
              `packet ${i} decrypts with the unchanged Local key (${String(plain)})`,
            );
            assert.equal(seqOf(plain), (65530 + i) & 0xffff, 'no loss, no gap');
          });
          assert.equal(h.srtp.contexts, 2);
          if (sameProcess) assert.equal(liveSrtpSessions(), live, 'one context replaced by one');
          // the UE's new key: a new session, sequence numbers and ROC from the start again
          const ueTx2 = session('outbound', ue2);
          for (let seq = 1; seq <= 3; seq++) {
            await pa!.send(protect(ueTx2, rtp({ seq })), c.gwA);
            assert.equal(
              seqOf((await pb!.next()).data),
              seq,
              'new key, fresh context: low sequence numbers pass',
            );
          }
          // the old key no longer works
          await pa!.send(protect(ueTx1, rtp({ seq: 1005 })), c.gwA);
          await pa!.send(protect(ueTx2, rtp({ seq: 4 })), c.gwA);
          assert.equal(seqOf((await pb!.next()).data), 4);
          assert.deepEqual(await pb!.settle(), []);
          const st = await auditStats(h, c, c.a);
          assert.equal(st['srtp/af'], 1, 'the old-key packet; counts survive the rekey');
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `rekey by Modify (b): Local inline:$ again gives a new key in the reply; the inbound direction goes on without a gap${where}`,
    { skip },
    async () => {
      const h = harness(block(2));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          const ours1 = answered(c.reply);
          const ueTx = session('outbound', ue);
          const ueRx1 = session('inbound', ours1);
          await pb!.send(rtp({ seq: 1, ssrc: 0x5555 }), c.gwB);
          assert.ok(Buffer.isBuffer(unprotect(ueRx1, (await pa!.next()).data)));
          const live = liveSrtpSessions();
          let modify: Reply | undefined;
          const got = await acrossCommand(
            pa!,
            pb!,
            c.gwA,
            (i) => protect(ueTx, rtp({ seq: (65530 + i) & 0xffff, ts: i * 160 })),
            async () => {
              modify = await h.tx(
                modifyMedia(
                  c,
                  c.a,
                  `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 ${AES80} inline:$`] })} }`,
                ),
              );
            },
          );
          noError(modify!);
          assert.deepEqual(
            got.map(seqOf),
            Array.from({ length: 40 }, (_, i) => (65530 + i) & 0xffff),
            'UE→core: every packet, in order, across the Modify and the sequence wrap (ROC 1 kept)',
          );
          const ours2 = answered(modify!);
          assert.match(ours2, /^1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
          assert.notEqual(ours2, ours1, 'a new key');
          assert.equal(portOf(localOf(audit(commands(modify!)[0]))), c.gwA, 'the port stays');
          assert.equal(h.srtp.contexts, 2);
          if (sameProcess) assert.equal(liveSrtpSessions(), live);
          // core→access now with the new key (fresh context), not the old one
          const ueRx2 = session('inbound', ours2);
          const back = rtp({ seq: 2, ssrc: 0x5555 });
          await pb!.send(back, c.gwB);
          const srtp = (await pa!.next()).data;
          assert.ok(typeof unprotect(ueRx1, srtp) === 'number', 'the old key no longer decrypts it');
          assert.deepEqual(unprotect(ueRx2, srtp), back);
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `rekey by Modify (c): a Modify that changes no key keeps both contexts (the replay window survives)${where}`,
    { skip },
    async () => {
      const h = harness(block(2));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          const ours = answered(c.reply);
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', ours);
          const p1 = protect(ueTx, rtp({ seq: 1 }));
          await pa!.send(p1, c.gwA);
          await pb!.next();
          const live = liveSrtpSessions();
          const remote = remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ue}`] });
          const local = localText('RTP/SAVP 0', { local: [`a=crypto:${ours}`] }).replace(
            'm=audio $',
            `m=audio ${c.gwA}`,
          );
          for (const body of [
            'LocalControl { Mode = SendReceive, ipdc/realm = access }',
            `Remote { ${remote} }`,
            `Local { ${local} }, Remote { ${remote} }`,
          ]) {
            const r = await h.tx(modifyMedia(c, c.a, body));
            noError(r);
            assert.equal(h.srtp.contexts, 2, body);
            if (sameProcess) assert.equal(liveSrtpSessions(), live, `no context made or freed: ${body}`);
          }
          // not rekeyed: the packet seen before the Modify is still a replay; ours is unchanged
          await pa!.send(p1, c.gwA);
          await pa!.send(protect(ueTx, rtp({ seq: 2 })), c.gwA);
          assert.equal(seqOf((await pb!.next()).data), 2);
          assert.deepEqual(await pb!.settle(), []);
          assert.equal((await auditStats(h, c, c.a))['srtp/rf'], 1);
          await pb!.send(rtp({ seq: 1, ssrc: 0x5555 }), c.gwB);
          assert.ok(Buffer.isBuffer(unprotect(ueRx, (await pa!.next()).data)));
        });
      } finally {
        await h.close();
      }
    },
  );

  test(`latching: the first latch is only taken by a packet that authenticates${where}`, { skip }, async () => {
    const h = harness(block(3));
    try {
      await withPeers(3, async ([pa, pb, silent]) => {
        const ue = ueLine();
        const c = await srtpCall(
          h,
          pa!,
          pb!,
          keyed(ue, {
            remotePort: silent!.port,
            props: 'ipnapt/latch = on',
            events: 'Events = 7 { adr/ipcha }',
          }),
        );
        const ueTx = session('outbound', ue);
        const ueRx = session('inbound', answered(c.reply));
        const wrong = session('outbound', ueLine());
        // before any packet: to the Remote address
        await pb!.send(rtp({ seq: 1, ssrc: 0x5555 }), c.gwB);
        assert.equal(seqOf(unprotect(ueRx, (await silent!.next()).data) as Buffer), 1);
        // a packet that does not authenticate latches nothing and reaches nobody
        await pa!.send(protect(wrong, rtp({ seq: 1 })), c.gwA);
        const tampered = protect(ueTx, rtp({ seq: 2 }));
        tampered[tampered.length - 2]! ^= 0x10;
        await pa!.send(tampered, c.gwA);
        await dropped(h, 2);
        await pb!.send(rtp({ seq: 2, ssrc: 0x5555 }), c.gwB);
        assert.equal(
          seqOf(unprotect(ueRx, (await silent!.next()).data) as Buffer),
          2,
          'still to the Remote address',
        );
        assert.deepEqual(await pb!.settle(), []);
        assert.equal(h.link.notifies.length, 0);
        // the first good one latches
        await pa!.send(protect(ueTx, rtp({ seq: 3 })), c.gwA);
        assert.equal(seqOf((await pb!.next()).data), 3);
        await notifiesAre(h, 1);
        const o = observed(h.link.notifies[0]!);
        assert.equal(o.name, 'adr/ipcha');
        assert.equal(o.params['port'], String(pa!.port));
        await pb!.send(rtp({ seq: 3, ssrc: 0x5555 }), c.gwB);
        assert.equal(seqOf(unprotect(ueRx, (await pa!.next()).data) as Buffer), 3, 'now to the latched source');
        assert.deepEqual(await silent!.settle(), []);
      });
    } finally {
      await h.close();
    }
  });

  test(
    `re-latching (ipnapt/rlatch): a new source moves the latch only with packets that authenticate${where}`,
    { skip },
    async () => {
      const h = harness(block(3), { relatchPackets: 2 });
      try {
        await withPeers(3, async ([pa, pb, moved]) => {
          const ue = ueLine();
          const c = await srtpCall(
            h,
            pa!,
            pb!,
            keyed(ue, { props: 'ipnapt/latch = on, ipnapt/rlatch = on', events: 'Events = 8 { adr/ipcha }' }),
          );
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', answered(c.reply));
          const wrong = session('outbound', ueLine());
          const first = protect(ueTx, rtp({ seq: 1 }));
          await pa!.send(first, c.gwA);
          assert.equal(seqOf((await pb!.next()).data), 1);
          assert.equal(h.link.notifies.length, 0, 'latched where Remote said: nothing to report');
          // an attacker at a new port: wrong key, tampered, and a captured packet replayed
          for (let seq = 2; seq <= 4; seq++) await moved!.send(protect(wrong, rtp({ seq })), c.gwA);
          const tampered = protect(ueTx, rtp({ seq: 5 }));
          tampered[30]! ^= 0x01;
          await moved!.send(tampered, c.gwA);
          await moved!.send(first, c.gwA);
          await moved!.send(first, c.gwA);
          await dropped(h, 6);
          // the latch did not move: the UE still gets the media, the core got nothing of the attacker's
          await pb!.send(rtp({ seq: 1, ssrc: 0x5555 }), c.gwB);
          assert.equal(seqOf(unprotect(ueRx, (await pa!.next()).data) as Buffer), 1);
          assert.deepEqual(await pb!.settle(), []);
          assert.deepEqual(await moved!.settle(), []);
          assert.equal(h.link.notifies.length, 0);
          const stream = h.mg.termination(c.a)!.streams.get(1)!;
          assert.equal(stream.counters.packetsReceived, 1);
          // the UE really moved: its packets authenticate; the second one from the new port re-latches
          await moved!.send(protect(ueTx, rtp({ seq: 6 })), c.gwA);
          await moved!.send(protect(ueTx, rtp({ seq: 7 })), c.gwA);
          assert.equal(seqOf((await pb!.next()).data), 7);
          assert.deepEqual(await pb!.settle(), [], 'the first was held back as a candidate');
          await notifiesAre(h, 1);
          assert.equal(observed(h.link.notifies[0]!).params['port'], String(moved!.port));
          await pb!.send(rtp({ seq: 2, ssrc: 0x5555 }), c.gwB);
          assert.equal(
            seqOf(unprotect(ueRx, (await moved!.next()).data) as Buffer),
            2,
            'media now to the new port',
          );
          assert.deepEqual(await pa!.settle(), []);
          assert.equal(
            await h.metric('trgwd_media_latches_total', { realm: 'access', result: 'relatched' }),
            1,
          );
          const st = await auditStats(h, c, c.a);
          assert.equal(st['srtp/af'], 4);
          assert.equal(st['srtp/rf'], 2);
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `bandwidth: b=AS / b=TIAS in an SRTP Local are answered raised by the overhead at the packet rate; the RTP side untouched${where}`,
    { skip },
    async () => {
      const h = harness(block(4));
      try {
        const cases: Array<{
          name: string;
          suite: SrtpSuite;
          ue?: string;
          local: string[];
          want: { as?: number; tias?: number };
        }> = [
          {
            name: '_80 at 20 ms',
            suite: AES80,
            local: ['b=AS:38', 'b=TIAS:30000', 'a=ptime:20'],
            want: { as: 42, tias: 34000 },
          },
          { name: '_80 default ptime', suite: AES80, local: ['b=AS:38'], want: { as: 42 } },
          {
            name: '_32',
            suite: 'AES_CM_128_HMAC_SHA1_32',
            local: ['b=AS:38', 'b=TIAS:30000', 'a=ptime:20'],
            want: { as: 40, tias: 31600 },
          },
          {
            name: 'ptime 40',
            suite: AES80,
            local: ['b=AS:38', 'b=TIAS:30000', 'a=ptime:40'],
            want: { as: 40, tias: 32000 },
          },
          {
            name: 'MKI 4',
            suite: AES80,
            ue: '|1:4',
            local: ['b=AS:38', 'b=TIAS:30000', 'a=ptime:20'],
            want: { as: 44, tias: 35600 },
          },
          {
            name: 'GCM',
            suite: 'AEAD_AES_128_GCM',
            local: ['b=AS:38', 'b=TIAS:30000'],
            want: { as: 45, tias: 36400 },
          },
          { name: 'no b=', suite: AES80, local: ['a=ptime:20'], want: {} },
        ];
        await withPeers(2, async ([pa, pb]) => {
          for (const k of cases) {
            const ue = ueLine(k.suite, 1, k.ue ?? '');
            const c = await srtpCall(
              h,
              pa!,
              pb!,
              {
                local: [...k.local, `a=crypto:1 ${k.suite} inline:$${k.ue !== undefined ? '|2^20|1:4' : ''}`],
                remote: [`a=crypto:${ue}`],
              },
              { local: ['b=AS:38', 'b=TIAS:30000', 'a=ptime:20'] },
            );
            const sdpA = parseSdp(localOf(audit(commands(c.reply)[0]))!)[0]!.media[0]!;
            const sdpB = parseSdp(localOf(audit(commands(c.reply)[1]))!)[0]!.media[0]!;
            assert.equal(sdpA.bandwidth('AS'), k.want.as, `${k.name}: b=AS`);
            assert.equal(sdpA.bandwidth('TIAS'), k.want.tias, `${k.name}: b=TIAS`);
            assert.equal(sdpB.bandwidth('AS'), 38, `${k.name}: RTP side b=AS untouched`);
            assert.equal(sdpB.bandwidth('TIAS'), 30000, `${k.name}: RTP side b=TIAS untouched`);
            // the value kept for the stream (AuditValue) is the one answered
            const au = await h.tx(`Context = ${c.ctx} { AuditValue = ${c.a} { Audit { Media } } }`);
            assert.equal(parseSdp(localOf(audit(commands(au)[0]))!)[0]!.media[0]!.bandwidth('AS'), k.want.as);
            noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
          }
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `policing counts SRTP without its overhead: N packets of plain+10 octets fit an mbs of N plain packets; the next is policed${where}`,
    { skip },
    async () => {
      const h = harness(block(4));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const N = 8;
          const plainLen = rtp({ seq: 0, payload: 88 }).length; // 100
          const ue = ueLine();
          const c = await srtpCall(
            h,
            pa!,
            pb!,
            keyed(ue, { props: `tman/pol = on, tman/sdr = 1, tman/mbs = ${N * plainLen}` }),
          );
          const ueTx = session('outbound', ue);
          for (let seq = 0; seq < N; seq++) {
            const p = protect(ueTx, rtp({ seq, payload: 88 }));
            assert.equal(p.length, plainLen + 10);
            await pa!.send(p, c.gwA);
          }
          assert.deepEqual(
            (await pb!.take(N)).map((r) => seqOf(r.data)),
            Array.from({ length: N }, (_, i) => i),
            'all N pass',
          );
          await pa!.send(protect(ueTx, rtp({ seq: N, payload: 88 })), c.gwA);
          const stream = h.mg.termination(c.a)!.streams.get(1)!;
          await until(() => stream.counters.policedPackets === 1, 'packet N+1 policed');
          assert.deepEqual(await pb!.settle(), []);
          const st = statsOf(await h.tx(`Context = ${c.ctx} { Subtract = ${c.a} }`));
          assert.equal(st['tmanr/dp'], 1);
          assert.equal(st['srtp/af'], 0);
          assert.equal(await h.metric('trgwd_media_dropped_total', { realm: 'access', reason: 'policed' }), 1);
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `Move of the SRTP termination into another context keeps its crypto state: the replay window and the rollover counter go on${where}`,
    { skip },
    async () => {
      const h = harness(block(2));
      try {
        await withPeers(3, async ([pa, pb, pc]) => {
          const ue = ueLine();
          const c1 = await srtpCall(h, pa!, pb!, keyed(ue));
          // a second context (with relay workers: on another one, the one with the fewest legs)
          const r2 = await h.tx(`Context = $ { ${addText('core', pc!.port, 'RTP/AVP 0', {})} }`);
          noError(r2);
          const ctx2 = r2[0]!.contextId as number;
          const c = amm(commands(r2)[0]).terminationId;
          if (suite.workers > 1) assert.notEqual(shardOf(h, c), shardOf(h, c1.a), 'the contexts start on two workers');
          const ueTx = session('outbound', ue);
          // across the sequence wrap: the inbound context's ROC is 1 from here on
          let replay: Buffer | undefined;
          for (const seq of [65534, 65535, 0, 1]) {
            const p = protect(ueTx, rtp({ seq }));
            await pa!.send(p, c1.gwA);
            assert.equal(seqOf((await pb!.next()).data), seq);
            replay = p;
          }
          noError(await h.tx(`Context = ${ctx2} { Move = ${c1.a} }`));
          // the UE's packets now go to C; a packet already seen is still a replay
          await pa!.send(replay!, c1.gwA);
          const after = rtp({ seq: 2, payload: 160 });
          await pa!.send(protect(ueTx, after), c1.gwA);
          assert.deepEqual((await pc!.next()).data, after, 'ROC 1 still known after the Move: seq 2 authenticates');
          assert.deepEqual(await pc!.settle(), [], 'the replayed packet was not relayed');
          assert.deepEqual(await pb!.settle(), [], 'nothing for the context A left');
          if (suite.workers > 1) assert.equal(shardOf(h, c), shardOf(h, c1.a), 'C came to the SRTP leg`s worker');
          const stats = statsOf(await h.tx(`Context = ${ctx2} { AuditValue = ${c1.a} { Audit { Statistics } } }`));
          assert.equal(stats['srtp/rf'], 1, 'the replay counted');
          assert.equal(stats['srtp/af'], 0);
        });
      } finally {
        await h.close();
      }
    },
  );

  /** Both directions of an SRTP call work with these lines; returns the protected lengths seen. */
  async function bothWays(
    c: SrtpCall,
    pa: Peer,
    pb: Peer,
    ueTx: SrtpSession,
    ueRx: SrtpSession,
    seq: number,
  ): Promise<{ toCore: number; toUe: number }> {
    const plain = rtp({ seq });
    const sent = protect(ueTx, plain);
    await pa.send(sent, c.gwA);
    assert.deepEqual((await pb.next()).data, plain, 'UE → core');
    const back = rtp({ seq, ssrc: 0x5555 });
    await pb.send(back, c.gwB);
    const srtp = (await pa.next()).data;
    assert.deepEqual(unprotect(ueRx, srtp), back, 'core → UE');
    return { toCore: sent.length - plain.length, toUe: srtp.length - back.length };
  }

  test(
    `several Remote a=crypto lines: the tag in Local picks the key; a Local without a=crypto answers the first usable line; a $ suite takes the tag’s${where}`,
    { skip },
    async () => {
      const h = harness(block(0));
      try {
        await withPeers(2, async ([pa, pb]) => {
          // Local tag 2 → Remote tag 2's key; tag 1's key fails
          const gcm = ueLine('AEAD_AES_128_GCM', 1);
          const cm = ueLine(AES80, 2);
          const c = await srtpCall(h, pa!, pb!, {
            local: [`a=crypto:2 ${AES80} inline:$`],
            remote: [`a=crypto:${gcm}`, `a=crypto:${cm}`],
          });
          const ours = answered(c.reply);
          assert.match(ours, /^2 AES_CM_128_HMAC_SHA1_80 inline:/);
          const ueRx = session('inbound', ours);
          const viaTag1 = session('outbound', gcm);
          const viaTag2 = session('outbound', cm);
          await pa!.send(protect(viaTag1, rtp({ seq: 1 })), c.gwA);
          assert.deepEqual(await bothWays(c, pa!, pb!, viaTag2, ueRx, 2), { toCore: 10, toUe: 10 });
          assert.deepEqual(await pb!.settle(), []);
          assert.equal((await auditStats(h, c, c.a))['srtp/af'], 1, 'the tag-1 packet failed');
          noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
        });
        // a Local without a=crypto: the gateway answers the first usable Remote line (tag 3, AEAD_AES_256_GCM)
        await answersFirstUsable(h, 'no a=crypto in Local', []);
        // a $ suite with a tag: the suite of the Remote line with that tag
        await withPeers(2, async ([pa, pb]) => {
          const cm = ueLine('AES_CM_128_HMAC_SHA1_32', 4);
          const c = await srtpCall(h, pa!, pb!, {
            local: ['a=crypto:4 $ inline:$'],
            remote: [`a=crypto:${ueLine(AES80, 3)}`, `a=crypto:${cm}`],
          });
          const ours = answered(c.reply);
          assert.match(ours, /^4 AES_CM_128_HMAC_SHA1_32 inline:/);
          assert.deepEqual(await bothWays(c, pa!, pb!, session('outbound', cm), session('inbound', ours), 1), {
            toCore: 4,
            toUe: 4,
          });
          noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
        });
      } finally {
        await h.close();
      }
    },
  );

  /** Remote lines [malformed tag 1, tag 3 AEAD_AES_256_GCM, tag 4 _80]: the reply answers tag 3, media both ways. */
  async function answersFirstUsable(h: SrtpHarness, name: string, local: readonly string[]): Promise<void> {
    await withPeers(2, async ([pa, pb]) => {
      const broken = `1 ${AES80} inline:${Buffer.alloc(20, 1).toString('base64')}`; // too short: skipped
      const gcm = ueLine('AEAD_AES_256_GCM', 3);
      const cm = ueLine(AES80, 4);
      const c = await srtpCall(h, pa!, pb!, {
        local,
        remote: [`a=crypto:${broken}`, `a=crypto:${gcm}`, `a=crypto:${cm}`],
      });
      const ours = answered(c.reply);
      assert.match(ours, /^3 AEAD_AES_256_GCM inline:[A-Za-z0-9+/=]{59,60}$/, name);
      const got = await bothWays(c, pa!, pb!, session('outbound', gcm), session('inbound', ours), 1);
      assert.deepEqual(got, { toCore: 16, toUe: 16 }, name);
      noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
    });
  }

  // PROFILE §4 / sdes.ts: a Local `a=crypto:$ $ inline:$` takes the Remote line's tag and suite (the SDP
  // layer's check, daemon/mg/media.ts validateGroup, lets a `$` tag through).
  test(
    `a Local a=crypto:$ $ inline:$ takes the first usable Remote line’s tag and suite${where}`,
    { skip },
    async () => {
      const h = harness(block(1));
      try {
        await answersFirstUsable(h, 'a=crypto:$ $ inline:$', ['a=crypto:$ $ inline:$']);
      } finally {
        await h.close();
      }
    },
  );

  test(`all four suites end to end, with and without MKI${where}`, { skip }, async () => {
    const h = harness(block(2));
    try {
      await withPeers(2, async ([pa, pb]) => {
        for (const suite of SRTP_SUITES) {
          for (const mki of [false, true]) {
            const name = `${suite}${mki ? ' MKI' : ''}`;
            const ue = ueLine(suite, 1, mki ? '|1:4' : '');
            const c = await srtpCall(h, pa!, pb!, {
              local: [`a=crypto:1 ${suite} inline:$${mki ? '|2^20|1:4' : ''}`],
              remote: [`a=crypto:${ue}`],
            });
            const ours = answered(c.reply);
            assert.equal(parseCryptoAttr(ours).suite, suite, name);
            if (mki) assert.match(ours, /\|2\^20\|1:4$/, name);
            const ueTx = session('outbound', ue);
            const ueRx = session('inbound', ours);
            const tag = SRTP_SUITE_INFO[suite].srtpTagLength + (mki ? 4 : 0);
            for (let seq = 1; seq <= 3; seq++) {
              assert.deepEqual(await bothWays(c, pa!, pb!, ueTx, ueRx, seq), { toCore: tag, toUe: tag }, name);
            }
            assert.equal(h.srtp.contexts, 2, name);
            const st = statsOf(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
            assert.equal(st['srtp/af'], 0, name);
            assert.equal(h.srtp.contexts, 0, name);
          }
        }
      });
    } finally {
      await h.close();
    }
  });

  test(
    `errors: a malformed or unsupported Remote key, Local tags matching no Remote line → 449 and nothing held; SAVP without a=crypto is relayed end to end${where}`,
    { skip },
    async () => {
      const h = harness(block(3));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ports = h.mg.ports('access')!;
          const core = h.mg.ports('core')!;
          const free = [ports.udpSlotsFree, core.udpSlotsFree];
          const short = `1 ${AES80} inline:${Buffer.alloc(29, 7).toString('base64')}`;
          const cases: Array<[string, End]> = [
            ['malformed key', { local: [`a=crypto:1 ${AES80} inline:$`], remote: [`a=crypto:${short}`] }],
            [
              'unsupported suite',
              {
                local: [`a=crypto:1 ${AES80} inline:$`],
                remote: [`a=crypto:1 F8_128_HMAC_SHA1_80 inline:${Buffer.alloc(30, 7).toString('base64')}`],
              },
            ],
            [
              'Local tags match no Remote line',
              {
                local: [`a=crypto:5 ${AES80} inline:$`, `a=crypto:6 ${AES80} inline:$`],
                remote: [`a=crypto:${ueLine(AES80, 1)}`],
              },
            ],
            [
              'unsupported Local suite',
              { local: ['a=crypto:1 F8_128_HMAC_SHA1_80 inline:$'], remote: [`a=crypto:${ueLine()}`] },
            ],
          ];
          for (const [name, access] of cases) {
            const r = await h.tx(
              `Context = $ { ${addText('access', pa!.port, 'RTP/SAVP 0', access)}, ${addText('core', pb!.port, 'RTP/AVP 0', {})} }`,
            );
            assert.equal(r[0]?.error?.code, 449, `${name}: ${JSON.stringify(r[0]?.error)}`);
            await h.mg.mediaSettled();
            assert.equal(h.mg.contextCount, 0, `${name}: no context`);
            assert.equal(h.srtp.contexts, 0, name);
            await until(
              () => ports.udpSlotsFree === free[0] && core.udpSlotsFree === free[1],
              `${name}: no ports held`,
            );
          }
          // the same on a Modify of a live stream: refused, the call goes on with its keys
          const ue = ueLine();
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          const live = liveSrtpSessions();
          const r = await h.tx(
            modifyMedia(
              c,
              c.a,
              `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${short}`] })} }`,
            ),
          );
          assert.equal(r[0]?.error?.code, 449);
          if (sameProcess) assert.equal(liveSrtpSessions(), live);
          await bothWays(c, pa!, pb!, session('outbound', ue), session('inbound', answered(c.reply)), 1);
          noError(await h.tx(`Context = ${c.ctx} { Subtract = * }`));
          // RTP/SAVP without a=crypto on both: e2e, the SRTP bytes pass untouched, no contexts
          const e2eKey = ueLine();
          const e = await srtpCall(h, pa!, pb!, { proto: 'RTP/SAVP 0' }, { proto: 'RTP/SAVP 0' });
          assert.deepEqual(answeredLines(e.reply), []);
          const srtp = protect(session('outbound', e2eKey), rtp({ seq: 1 }));
          await pa!.send(srtp, e.gwA);
          assert.deepEqual((await pb!.next()).data, srtp, 'SRTP relayed untouched');
          await pb!.send(srtp, e.gwB);
          assert.deepEqual((await pa!.next()).data, srtp);
          assert.equal(h.srtp.contexts, 0);
          noError(await h.tx(`Context = ${e.ctx} { Subtract = * }`));
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `key lifetime: srtp/rekey at rekeyNoticePercent of it, per direction; past it the key is not used (key_expired)${where}`,
    { skip },
    async () => {
      const h = harness(block(4), { rekeyNoticePercent: 50 });
      try {
        await withPeers(2, async ([pa, pb]) => {
          const ue = ueLine(AES80, 1, '|20');
          const c = await srtpCall(h, pa!, pb!, {
            local: [`a=crypto:1 ${AES80} inline:$|20`],
            remote: [`a=crypto:${ue}`],
            events: 'Events = 11 { srtp/rekey }',
          });
          const ours = answered(c.reply);
          assert.match(ours, /\|20$/);
          const ueTx = session('outbound', ue);
          const ueRx = session('inbound', ours);
          // inbound: 9 packets, no notice; the 10th (50 % of 20) raises srtp/rekey dir=in
          for (let seq = 1; seq <= 9; seq++) {
            await pa!.send(protect(ueTx, rtp({ seq })), c.gwA);
            await pb!.next();
          }
          assert.equal(h.link.notifies.length, 0);
          await pa!.send(protect(ueTx, rtp({ seq: 10 })), c.gwA);
          await pb!.next();
          await notifiesAre(h, 1);
          assert.deepEqual(observed(h.link.notifies[0]!), {
            name: 'srtp/rekey',
            stream: 1,
            params: { dir: 'in' },
          });
          assert.equal(h.link.notifies[0]!.terminationId, c.a);
          assert.equal(h.link.notifies[0]!.requestId, 11);
          // up to the 20th passes, then nothing
          for (let seq = 11; seq <= 22; seq++) await pa!.send(protect(ueTx, rtp({ seq })), c.gwA);
          assert.deepEqual(
            (await pb!.take(10)).map((r) => seqOf(r.data)),
            [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
          );
          await dropped(h, 2);
          assert.deepEqual(await pb!.settle(), [], 'the 21st and 22nd are dropped');
          await notifiesAre(h, 1, 'one notice per key');
          // outbound: the same with our Local lifetime
          for (let seq = 1; seq <= 10; seq++) {
            await pb!.send(rtp({ seq, ssrc: 0x5555 }), c.gwB);
            assert.ok(Buffer.isBuffer(unprotect(ueRx, (await pa!.next()).data)));
          }
          await notifiesAre(h, 2);
          assert.deepEqual(observed(h.link.notifies[1]!).params, { dir: 'out' });
          for (let seq = 11; seq <= 21; seq++) await pb!.send(rtp({ seq, ssrc: 0x5555 }), c.gwB);
          assert.equal((await pa!.take(10)).length, 10);
          await dropped(h, 3);
          assert.deepEqual(await pa!.settle(), [], 'the 21st is not sent');
          assert.equal(await h.metric('trgwd_srtp_failures_total', { reason: 'key_expired' }), 3);
          assert.equal(await h.metric('trgwd_srtp_rekey_notices_total', { direction: 'in' }), 1);
          assert.equal(await h.metric('trgwd_srtp_rekey_notices_total', { direction: 'out' }), 1);
          // the controller rekeys both directions: media flows again
          const ue2 = ueLine(AES80, 1, '|20');
          const r = await h.tx(
            modifyMedia(
              c,
              c.a,
              `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 ${AES80} inline:$|20`] })} }, ` +
                `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ue2}`] })} }`,
            ),
          );
          noError(r);
          const ueTx2 = session('outbound', ue2);
          await bothWays(c, pa!, pb!, ueTx2, session('inbound', answered(r)), 1);
          // the new keys count from 0: their own notice at their 10th packet
          for (let seq = 2; seq <= 10; seq++) {
            await pa!.send(protect(ueTx2, rtp({ seq })), c.gwA);
            await pb!.next();
          }
          await notifiesAre(h, 3);
          assert.deepEqual(observed(h.link.notifies[2]!).params, { dir: 'in' });
        });
      } finally {
        await h.close();
      }
    },
  );

  test(
    `metrics and clean-up: trgwd_srtp_packets_total, the trgwd_srtp_contexts gauge, no libsrtp2 context left after rekeys and Subtract${where}`,
    { skip },
    async () => {
      const h = harness(block(1));
      try {
        await withPeers(2, async ([pa, pb]) => {
          const gauge = async (): Promise<number> => h.metric('trgwd_srtp_contexts');
          const ue = ueLine();
          const ueTx = session('outbound', ue);
          const start = liveSrtpSessions();
          assert.equal(await gauge(), 0);
          const c = await srtpCall(h, pa!, pb!, keyed(ue));
          assert.equal(await gauge(), 2);
          if (sameProcess) assert.equal(liveSrtpSessions(), start + 2);
          const ueRx = session('inbound', answered(c.reply));
          for (let seq = 1; seq <= 4; seq++) await bothWays(c, pa!, pb!, ueTx, ueRx, seq);
          await pa!.send(protectRtcp(ueTx, rtcpRr(0x11223344)), c.gwA + 1);
          await metricReaches(h, 'trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtcp' }, 1);
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'protect', protocol: 'rtp' }),
            4,
          );
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtp' }),
            4,
          );
          assert.equal(
            await h.metric('trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtcp' }),
            1,
          );
          // rekeys: in, out, both, and a realm change (new ports, new leg); the count of contexts holds
          const sessionsNow = (): number => liveSrtpSessions() - sessions.filter((s) => !s.closed).length;
          const base = sessionsNow() - 2;
          for (const body of [
            `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ueLine()}`] })} }`,
            `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 ${AES80} inline:$`] })} }`,
            `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 AEAD_AES_128_GCM inline:$`] })} }, ` +
              `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ueLine('AEAD_AES_128_GCM')}`] })} }`,
            'LocalControl { Mode = SendReceive, ipdc/realm = core }',
            'LocalControl { Mode = SendReceive, ipdc/realm = access }',
          ]) {
            noError(await h.tx(modifyMedia(c, c.a, body)));
            assert.equal(h.srtp.contexts, 2, body);
            assert.equal(await gauge(), 2, body);
            if (sameProcess) assert.equal(sessionsNow(), base + 2, `libsrtp2 sessions: ${body}`);
          }
          // SRTP off (RTP/AVP on both Local and Remote): the contexts go; on again: two new ones
          noError(
            await h.tx(
              modifyMedia(
                c,
                c.a,
                `Local { ${localText('RTP/AVP 0', {})} }, Remote { ${remoteText(pa!.port, 'RTP/AVP 0', {})} }`,
              ),
            ),
          );
          assert.equal(h.srtp.contexts, 0);
          if (sameProcess) assert.equal(sessionsNow(), base);
          noError(
            await h.tx(
              modifyMedia(
                c,
                c.a,
                `Local { ${localText('RTP/SAVP 0', { local: [`a=crypto:1 ${AES80} inline:$`] })} }, ` +
                  `Remote { ${remoteText(pa!.port, 'RTP/SAVP 0', { remote: [`a=crypto:${ueLine()}`] })} }`,
              ),
            ),
          );
          assert.equal(h.srtp.contexts, 2);
          if (sameProcess) assert.equal(sessionsNow(), base + 2);
          // Subtract: gone
          await h.tx(`Context = ${c.ctx} { Subtract = * }`);
          assert.equal(h.srtp.contexts, 0);
          assert.equal(await gauge(), 0);
          if (sameProcess) assert.equal(sessionsNow(), base);
        });
      } finally {
        await h.close();
      }
    },
  );
}
