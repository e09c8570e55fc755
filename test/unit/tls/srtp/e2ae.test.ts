/**
 * SrtpE2ae and SrtpLeg (daemon/tls/srtp/e2ae.ts) without sockets: the legs' transforms called the way
 * the forwarder calls them, on a stand-in stream and termination. What the integration test
 * (test/integration/srtp-e2ae.test.ts) shows through a context, here per call: failure reasons, key
 * lifetime of a one-key line (several keys: e2ae-keys.test.ts), the hand-over of a direction on rekey,
 * and that every libsrtp2 context is freed.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { parseSdp, type SdpGroup } from '../../../../daemon/control/codec/sdp.js';
import type { Stream } from '../../../../daemon/mg/stream.js';
import type { Termination } from '../../../../daemon/mg/termination.js';
import { createMetrics } from '../../../../daemon/observe/metrics.js';
import { silentLogger } from '../../../../daemon/observe/log.js';
import {
  cryptoToSessionParams,
  generateInline,
  parseCryptoAttr,
} from '../../../../daemon/tls/srtp/crypto-attr.js';
import { REKEY_EVENT, SrtpE2ae, SrtpLeg, SRTP_FAILURES } from '../../../../daemon/tls/srtp/e2ae.js';
import { SRTP_TOTALS } from '../../../../daemon/tls/srtp/transform.js';
import {
  SRTP_RESULT,
  SrtpSession,
  liveSrtpSessions,
  type SrtpSuite,
} from '../../../../daemon/tls/srtp/session.js';
import { metricValue } from '../../../helpers/daemon.js';
import { FakeLeg, rtcpPacket, rtpPacket, skipWithoutNative } from './helpers.js';

const skip = skipWithoutNative();
const AES80: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';

let seed = 1;
function keyLine(suite: SrtpSuite = AES80, tag = 1, suffix = ''): string {
  const s = seed++;
  const random = (n: number): Uint8Array =>
    Uint8Array.from({ length: n }, (_, i) => (s * 53 + i * 13 + 1) & 0xff);
  return `${tag} ${suite} ${generateInline(suite, { random })}${suffix}`;
}

function groups(lines: readonly string[]): SdpGroup[] {
  return parseSdp(
    ['c=IN IP4 127.0.0.1', 'm=audio 4000 RTP/SAVP 0', ...lines.map((l) => `a=crypto:${l}`), ''].join('\r\n'),
  );
}

interface Raised {
  name: string;
  observed: Record<string, unknown>;
  stream: number | undefined;
}

/** A stand-in Stream (id, Local, Remote, extraStatistics) and Termination (log, raise). */
function fakes(
  local: readonly string[],
  remote: readonly string[],
): {
  stream: Stream & { local: SdpGroup[]; remote: SdpGroup[] };
  term: Termination;
  raised: Raised[];
} {
  const raised: Raised[] = [];
  const stream = {
    id: 1,
    local: groups(local),
    remote: groups(remote),
    extraStatistics: new Map<string, () => number>(),
  };
  const term = {
    log: silentLogger(),
    raise(name: string, observed: Record<string, unknown> = {}, s?: number): boolean {
      raised.push({ name, observed, stream: s });
      return true;
    },
  };
  return {
    stream: stream as unknown as Stream & { local: SdpGroup[]; remote: SdpGroup[] },
    term: term as unknown as Termination,
    raised,
  };
}

const opened: SrtpSession[] = [];
function session(dir: 'inbound' | 'outbound', line: string): SrtpSession {
  const s = new SrtpSession(dir, cryptoToSessionParams(parseCryptoAttr(line)));
  opened.push(s);
  return s;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

function protect(s: SrtpSession, pkt: Buffer, rtcp = false): Buffer {
  const b = Buffer.alloc(pkt.length + 64);
  pkt.copy(b);
  const n = rtcp ? s.protectRtcp(b, pkt.length) : s.protectRtp(b, pkt.length);
  assert.ok(n > 0, `protect ${n}`);
  return b.subarray(0, n);
}

/** What the forwarder does with a received packet: unprotect in place; the plain bytes or the code. */
function receive(leg: FakeLeg, pkt: Buffer, rtcp = false): Buffer | number {
  const b = Buffer.from(pkt);
  const n = leg.inbound(b, b.length, rtcp);
  return n < 0 ? n : b.subarray(0, n);
}

function failures(leg: FakeLeg): Record<string, number> {
  const out: Record<string, number> = {};
  const t = leg.srtpTotals;
  SRTP_FAILURES.forEach((r, i) => {
    if (t[SRTP_TOTALS.failures + i]! > 0) out[r] = t[SRTP_TOTALS.failures + i]!;
  });
  return out;
}

/** A leg keyed by e2ae for `stream` (what the media plane does). */
function keyed(e: SrtpE2ae, stream: Stream, term: Termination): FakeLeg {
  const leg = new FakeLeg();
  const sec = e.legSecurity(stream, term, undefined, leg.cnt);
  assert.ok(sec instanceof SrtpLeg);
  return leg.secure(sec);
}

describe('SrtpE2ae / SrtpLeg', { skip }, () => {
  it('unprotects with the Remote key and protects with the Local one, RTP and RTCP', () => {
    const e = new SrtpE2ae();
    const ue = keyLine();
    const ours = keyLine();
    const { stream, term } = fakes([ours], [ue]);
    const leg = keyed(e, stream, term);
    assert.equal(e.contexts, 2);
    const plain = rtpPacket({ seq: 1, ssrc: 7 });
    assert.deepEqual(receive(leg, protect(session('outbound', ue), plain)), plain);
    const out = leg.outbound(plain, plain.length, false)!;
    assert.equal(out.length, plain.length + 10);
    const b = Buffer.from(out);
    assert.equal(session('inbound', ours).unprotectRtp(b, b.length), plain.length);
    assert.deepEqual(b.subarray(0, plain.length), plain);
    // RTCP: a new buffer, plain one untouched
    const rtcp = rtcpPacket(7);
    const copy = Buffer.from(rtcp);
    const srtcp = leg.outbound(rtcp, rtcp.length, true)!;
    assert.deepEqual(rtcp, copy, 'outbound never writes into the packet it was given');
    assert.equal(srtcp.length, rtcp.length + 14);
    assert.deepEqual(receive(leg, protect(session('outbound', ue), rtcp, true), true), rtcp);
    assert.equal(leg.srtpTotals[0], 1, 'protect rtp');
    assert.equal(leg.srtpTotals[1], 1, 'protect rtcp');
    assert.equal(leg.srtpTotals[2], 1, 'unprotect rtp');
    assert.equal(leg.srtpTotals[3], 1, 'unprotect rtcp');
    leg.close();
    leg.close();
    assert.equal(e.contexts, 0, 'close frees both, once');
  });

  it('failure reasons: auth, replay, old, MKI, no key; srtp/af and srtp/rf read them', () => {
    const e = new SrtpE2ae();
    const ue = keyLine(AES80, 1, '|1:2');
    const { stream, term } = fakes([keyLine()], [ue]);
    const leg = keyed(e, stream, term);
    const tx = session('outbound', ue);
    const p1 = protect(tx, rtpPacket({ seq: 1, ssrc: 7 }));
    assert.ok(Buffer.isBuffer(receive(leg, p1)));
    assert.equal(receive(leg, p1), SRTP_RESULT.REPLAY_FAIL);
    const bad = protect(tx, rtpPacket({ seq: 2, ssrc: 7 }));
    bad[bad.length - 1]! ^= 1;
    assert.equal(receive(leg, bad), SRTP_RESULT.AUTH_FAIL);
    const old = protect(tx, rtpPacket({ seq: 3, ssrc: 7 }));
    assert.ok(Buffer.isBuffer(receive(leg, protect(tx, rtpPacket({ seq: 400, ssrc: 7 })))));
    assert.equal(receive(leg, old), SRTP_RESULT.REPLAY_OLD);
    // the same key announced with another MKI value: libsrtp2 finds no key for it
    const otherMki = session('outbound', ue.replace('|1:2', '|2:2'));
    assert.equal(receive(leg, protect(otherMki, rtpPacket({ seq: 401, ssrc: 7 }))), SRTP_RESULT.BAD_MKI);
    assert.deepEqual(failures(leg), { auth_fail: 1, replay_fail: 1, replay_old: 1, bad_mki: 1 });
    assert.equal(stream.extraStatistics.get('srtp/af')!(), 1);
    assert.equal(stream.extraStatistics.get('srtp/rf')!(), 2);
    leg.close();
    // a stream keyed one way only: the other direction has no key
    const half = fakes([keyLine()], []);
    const l2 = keyed(e, half.stream, half.term);
    assert.equal(e.contexts, 1);
    assert.ok(l2.inbound(Buffer.from(p1), p1.length, false) < 0);
    assert.deepEqual(failures(l2), { no_key: 1 });
    l2.close();
    assert.equal(e.contexts, 0);
  });

  it('an unchanged stream keeps its leg; a changed line makes a new leg that takes the other direction over', () => {
    const e = new SrtpE2ae();
    const live = liveSrtpSessions();
    const ue1 = keyLine();
    const ours = keyLine();
    const f = fakes([ours], [ue1]);
    const leg = new FakeLeg();
    const sec1 = e.legSecurity(f.stream, f.term, undefined, leg.cnt);
    leg.secure(sec1);
    assert.equal(e.legSecurity(f.stream, f.term, sec1, leg.cnt), sec1, 'same lines: same leg');
    const rx = session('inbound', ours);
    const send = (leg: FakeLeg, seq: number): number => {
      const p = rtpPacket({ seq: seq & 0xffff, ssrc: 9 });
      const out = leg.outbound(p, p.length, false);
      assert.ok(out !== undefined);
      const b = Buffer.from(out);
      return rx.unprotectRtp(b, b.length);
    };
    // wrap the sequence so that the kept context has ROC 1
    for (let seq = 65534; seq <= 65538; seq++) assert.ok(send(leg, seq) > 0);
    const p = rtpPacket({ seq: 1, ssrc: 7 });
    const tx1 = session('outbound', ue1);
    assert.ok(Buffer.isBuffer(receive(leg, protect(tx1, p))));
    const tx1before = leg.tx;
    // new Remote key
    const ue2 = keyLine();
    f.stream.remote = groups([ue2]);
    const sec2 = e.legSecurity(f.stream, f.term, sec1, leg.cnt);
    assert.ok(sec2 instanceof SrtpLeg);
    assert.notEqual(sec2, sec1);
    leg.secure(sec2); // the forwarder builds the new transforms, then closes the old ones
    assert.notEqual(leg.tx, tx1before);
    assert.equal(e.contexts, 2, 'the old inbound context freed, the outbound one handed over');
    assert.equal(liveSrtpSessions(), live + 2 + 2, 'two of ours, two of the test');
    assert.ok(send(leg, 65539) > 0, 'the outbound context goes on (ROC 1)');
    assert.equal(
      receive(leg, protect(session('outbound', ue1), rtpPacket({ seq: 2, ssrc: 7 }))),
      SRTP_RESULT.AUTH_FAIL,
    );
    assert.ok(Buffer.isBuffer(receive(leg, protect(session('outbound', ue2), p))), 'fresh inbound context');
    assert.equal(f.stream.extraStatistics.get('srtp/af')!(), 1, 'counts carry over to the new transforms');
    leg.close();
    assert.equal(e.contexts, 0);
    for (const s of opened.splice(0)) s.destroy();
    assert.equal(liveSrtpSessions(), live);
  });

  it('key lifetime: one srtp/rekey per key at rekeyNoticePercent, then key_expired', () => {
    const e = new SrtpE2ae({ rekeyNoticePercent: 50 });
    const ue = keyLine(AES80, 1, '|8');
    const ours = keyLine(AES80, 1, '|6');
    const f = fakes([ours], [ue]);
    const leg = keyed(e, f.stream, f.term);
    const tx = session('outbound', ue);
    const results: boolean[] = [];
    for (let seq = 1; seq <= 10; seq++) {
      results.push(Buffer.isBuffer(receive(leg, protect(tx, rtpPacket({ seq, ssrc: 7 })))));
      if (seq === 3) assert.equal(f.raised.length, 0);
      if (seq === 4) assert.deepEqual(f.raised, [{ name: REKEY_EVENT, observed: { dir: 'in' }, stream: 1 }]);
    }
    assert.deepEqual(results, [true, true, true, true, true, true, true, true, false, false]);
    // RTCP does not count against the SRTP lifetime and still passes
    assert.ok(Buffer.isBuffer(receive(leg, protect(tx, rtcpPacket(7), true), true)));
    const sent: boolean[] = [];
    for (let seq = 1; seq <= 8; seq++) {
      const p = rtpPacket({ seq, ssrc: 9 });
      sent.push(leg.outbound(p, p.length, false) !== undefined);
    }
    assert.deepEqual(sent, [true, true, true, true, true, true, false, false]);
    assert.deepEqual(
      f.raised.map((r) => r.observed),
      [{ dir: 'in' }, { dir: 'out' }],
    );
    assert.deepEqual(failures(leg), { key_expired: 4 });
    leg.close();
  });

  it('addTotals: packet and failure totals to Prometheus; the contexts gauge follows', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const e = new SrtpE2ae({ metrics });
    const value = async (name: string, labels: Record<string, string> = {}): Promise<number | undefined> =>
      metricValue(await metrics.registry.metrics(), name, labels);
    const ue = keyLine();
    const f = fakes([keyLine()], [ue]);
    const leg = keyed(e, f.stream, f.term);
    assert.equal(await value('trgwd_srtp_contexts'), 2);
    const tx = session('outbound', ue);
    const p = protect(tx, rtpPacket({ seq: 1, ssrc: 7 }));
    receive(leg, p);
    receive(leg, p);
    e.addTotals(leg.srtpTotals);
    assert.equal(await value('trgwd_srtp_packets_total', { operation: 'unprotect', protocol: 'rtp' }), 1);
    assert.equal(await value('trgwd_srtp_failures_total', { reason: 'replay_fail' }), 1);
    leg.close();
    assert.equal(await value('trgwd_srtp_contexts'), 0);
    e.close();
  });
});
