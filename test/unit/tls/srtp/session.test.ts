import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  SRTP_RESULT,
  SrtpError,
  SrtpSession,
  libsrtpVersion,
  liveSrtpSessions,
  srtpResultName,
} from '../../../../daemon/tls/srtp/session.js';
import type { SrtpMasterKey, SrtpSessionParams, SrtpSuite } from '../../../../daemon/tls/srtp/session.js';
import { SRTP_SUITES, SRTP_SUITE_INFO, srtpOverhead } from '../../../../daemon/tls/srtp/suites.js';
import { hex, rtcpPacket, rtpPacket, skipWithoutNative, withRoom } from './helpers.js';
import { ReferenceSender } from './srtp-reference.js';

const skip = skipWithoutNative();

function freshKey(suite: SrtpSuite, mki?: Uint8Array): SrtpMasterKey {
  const info = SRTP_SUITE_INFO[suite];
  return { key: randomBytes(info.keyLength), salt: randomBytes(info.saltLength), mki };
}

function pair(params: SrtpSessionParams): { tx: SrtpSession; rx: SrtpSession } {
  return { tx: new SrtpSession('outbound', params), rx: new SrtpSession('inbound', params) };
}

/** Protects `pkt` into a buffer with tail room; returns the buffer cut to the SRTP length. */
function protectRtp(tx: SrtpSession, pkt: Uint8Array): Buffer {
  const b = withRoom(pkt);
  const n = tx.protectRtp(b, pkt.length);
  assert.ok(n > 0, `protectRtp failed: ${srtpResultName(n)}`);
  return b.subarray(0, n);
}

function protectRtcp(tx: SrtpSession, pkt: Uint8Array): Buffer {
  const b = withRoom(pkt);
  const n = tx.protectRtcp(b, pkt.length);
  assert.ok(n > 0, `protectRtcp failed: ${srtpResultName(n)}`);
  return b.subarray(0, n);
}

/** Unprotects a copy of `srtp`; returns the RTP bytes or the negative code. */
function unprotectRtp(rx: SrtpSession, srtp: Uint8Array): Buffer | number {
  const b = Buffer.from(srtp);
  const n = rx.unprotectRtp(b, b.length);
  return n >= 0 ? b.subarray(0, n) : n;
}

function unprotectRtcp(rx: SrtpSession, srtcp: Uint8Array): Buffer | number {
  const b = Buffer.from(srtcp);
  const n = rx.unprotectRtcp(b, b.length);
  return n >= 0 ? b.subarray(0, n) : n;
}

const MKI4 = Uint8Array.from([0x00, 0x00, 0x00, 0x01]);

describe('SrtpSession: known-answer vectors from libsrtp2 (test/srtp_driver.c)', { skip }, () => {
  // srtp_validate(): default policy (AES_CM_128_HMAC_SHA1_80), SSRC 0xcafebabe, seq 0x1234.
  const cmKey = hex('e1f97a0d3e018be0d64fa32c06de4139');
  const cmSalt = hex('0ec675ad498afeebb6960b3aabe6');
  const rtpPlain = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
  const rtcpPlain = hex('81c8000bcafebabe' + 'ab'.repeat(16));

  it('AES_CM_128_HMAC_SHA1_80: RTP and RTCP protect to the reference packets and back', () => {
    const p: SrtpSessionParams = { suite: 'AES_CM_128_HMAC_SHA1_80', keys: [{ key: cmKey, salt: cmSalt }] };
    const { tx, rx } = pair(p);
    const srtp = protectRtp(tx, rtpPlain);
    assert.equal(
      srtp.toString('hex'),
      '800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb',
    );
    const srtcp = protectRtcp(tx, rtcpPlain);
    assert.equal(
      srtcp.toString('hex'),
      '81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798',
    );
    assert.deepEqual(unprotectRtp(rx, srtp), rtpPlain);
    assert.deepEqual(unprotectRtcp(rx, srtcp), rtcpPlain);
    tx.destroy();
    rx.destroy();
  });

  it('AEAD_AES_128_GCM: RTP and RTCP protect to the reference packets and back (srtp_validate_gcm)', () => {
    const p: SrtpSessionParams = {
      suite: 'AEAD_AES_128_GCM',
      keys: [{ key: hex('000102030405060708090a0b0c0d0e0f'), salt: hex('a0a1a2a3a4a5a6a7a8a9aaab') }],
    };
    const { tx, rx } = pair(p);
    const srtp = protectRtp(tx, rtpPlain);
    assert.equal(
      srtp.toString('hex'),
      '800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392',
    );
    const srtcp = protectRtcp(tx, rtcpPlain);
    assert.equal(
      srtcp.toString('hex'),
      '81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001',
    );
    assert.deepEqual(unprotectRtp(rx, srtp), rtpPlain);
    assert.deepEqual(unprotectRtcp(rx, srtcp), rtcpPlain);
    tx.destroy();
    rx.destroy();
  });

  it('reports the libsrtp2 version it runs on', () => {
    assert.match(libsrtpVersion(), /^libsrtp2 2\.\d+\.\d+/);
  });
});

/** Where the SRTCP E+index word sits in a protected packet. */
function srtcpIndexOffset(suite: SrtpSuite, len: number, mkiLen: number): number {
  const info = SRTP_SUITE_INFO[suite];
  return info.aead ? len - mkiLen - 4 : len - info.srtcpTagLength - mkiLen - 4;
}

describe(
  'SrtpSession: byte-exact against an independent RFC 3711/7714 sender (node:crypto)',
  { skip },
  () => {
    const variants: Array<{ name: string; flags: Partial<SrtpSessionParams> }> = [
      { name: 'plain', flags: {} },
      { name: 'UNENCRYPTED_SRTP', flags: { unencryptedSrtp: true } },
      { name: 'UNENCRYPTED_SRTCP', flags: { unencryptedSrtcp: true } },
      { name: 'UNAUTHENTICATED_SRTP', flags: { unauthenticatedSrtp: true } },
      {
        name: 'all three',
        flags: { unencryptedSrtp: true, unencryptedSrtcp: true, unauthenticatedSrtp: true },
      },
    ];
    const shapes = [
      rtpPacket({ seq: 1000, ssrc: 0x0a0b0c0d, payload: 160 }),
      rtpPacket({ seq: 1001, ssrc: 0x0a0b0c0d, payload: 0 }),
      rtpPacket({ seq: 1002, ssrc: 0x0a0b0c0d, payload: 1, marker: true, payloadType: 96 }),
      rtpPacket({ seq: 1003, ssrc: 0x0a0b0c0d, payload: 1000, csrcs: [1, 2, 3] }),
      rtpPacket({
        seq: 1004,
        ssrc: 0x0a0b0c0d,
        payload: 33,
        extension: Uint8Array.from([0x10, 0x55, 0x22, 0x33, 0x44]),
      }),
    ];
    for (const suite of SRTP_SUITES) {
      for (const v of variants) {
        if (SRTP_SUITE_INFO[suite].aead && v.name !== 'plain') continue;
        for (const mki of [undefined, MKI4]) {
          it(`${suite} ${v.name}${mki ? ' with MKI' : ''}: RTP (ROC 7) and RTCP`, () => {
            const k = freshKey(suite, mki);
            const tx = new SrtpSession('outbound', {
              suite,
              keys: [k],
              ssrc: 0x0a0b0c0d,
              roc: 7,
              ...v.flags,
            });
            const ref = new ReferenceSender(suite, k.key, k.salt, { ...v.flags, ...(mki ? { mki } : {}) });
            for (const p of shapes) assert.deepEqual(protectRtp(tx, p), ref.protectRtp(p, 7));
            for (const extra of [0, 5, 40]) {
              const r = rtcpPacket(0x0a0b0c0d, extra);
              const out = protectRtcp(tx, r);
              const eIndex = out.readUInt32BE(srtcpIndexOffset(suite, out.length, mki?.length ?? 0));
              const encrypted = SRTP_SUITE_INFO[suite].aead || v.flags.unencryptedSrtcp !== true;
              assert.equal(eIndex >>> 31, encrypted ? 1 : 0, 'E flag');
              assert.deepEqual(out, ref.protectRtcp(r, eIndex & 0x7fffffff));
            }
            tx.destroy();
          });
        }
      }
    }
  },
);

describe('SrtpSession: round trips', { skip }, () => {
  for (const suite of SRTP_SUITES) {
    for (const mki of [undefined, MKI4]) {
      it(`${suite}${mki ? ' with MKI' : ''}: RTP and RTCP protect → unprotect give the original`, () => {
        const { tx, rx } = pair({ suite, keys: [freshKey(suite, mki)] });
        for (let seq = 65000; seq < 65100; seq++) {
          const p = rtpPacket({ seq, ssrc: 0xdeadbeef, payload: seq % 300 });
          const s = protectRtp(tx, p);
          assert.equal(s.length, p.length + srtpOverhead(suite, { mkiLength: mki?.length }).rtp);
          assert.deepEqual(unprotectRtp(rx, s), p);
        }
        for (let i = 0; i < 20; i++) {
          const r = rtcpPacket(0xdeadbeef, i);
          const s = protectRtcp(tx, r);
          assert.equal(s.length, r.length + srtpOverhead(suite, { mkiLength: mki?.length }).rtcp);
          assert.deepEqual(unprotectRtcp(rx, s), r);
        }
        assert.deepEqual(tx.packets(), { rtp: 100, rtcp: 20 });
        assert.deepEqual(rx.packets(), { rtp: 100, rtcp: 20 });
        tx.destroy();
        rx.destroy();
      });
    }
  }

  it('UNAUTHENTICATED_SRTP and UNENCRYPTED_* round-trip and leave the payload as asked', () => {
    const suite = 'AES_CM_128_HMAC_SHA1_80';
    const k = freshKey(suite);
    const { tx, rx } = pair({ suite, keys: [k], unencryptedSrtp: true, unencryptedSrtcp: true });
    const p = rtpPacket({ seq: 9, ssrc: 1, payload: 50 });
    const s = protectRtp(tx, p);
    assert.deepEqual(s.subarray(0, p.length), p, 'payload stays clear');
    assert.equal(s.length, p.length + 10, 'but is authenticated');
    assert.deepEqual(unprotectRtp(rx, s), p);
    const r = rtcpPacket(1);
    const sr = protectRtcp(tx, r);
    assert.deepEqual(sr.subarray(0, r.length), r);
    assert.deepEqual(unprotectRtcp(rx, sr), r);
    const u = pair({ suite, keys: [k], unauthenticatedSrtp: true });
    const su = protectRtp(u.tx, p);
    assert.equal(su.length, p.length, 'no tag');
    assert.notDeepEqual(su, p, 'but encrypted');
    assert.deepEqual(unprotectRtp(u.rx, su), p);
  });
});

describe('SrtpSession: buffers', { skip }, () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: trailer lengths match srtpOverhead, and protect writes nothing past them`, () => {
      const tx = new SrtpSession('outbound', { suite, keys: [freshKey(suite, MKI4)] });
      const o = srtpOverhead(suite, { mkiLength: 4 });
      assert.equal(tx.rtpTrailerLength, o.rtp);
      assert.equal(tx.rtcpTrailerLength, o.rtcp);
      const p = rtpPacket({ seq: 1, ssrc: 2 });
      const b = withRoom(p, o.rtp + 32, 0x5a);
      assert.equal(tx.protectRtp(b, p.length), p.length + o.rtp);
      assert.ok(
        b.subarray(p.length + o.rtp).every((x) => x === 0x5a),
        'guard bytes after the trailer untouched',
      );
      const r = rtcpPacket(2);
      const rb = withRoom(r, o.rtcp + 32, 0x5a);
      assert.equal(tx.protectRtcp(rb, r.length), r.length + o.rtcp);
      assert.ok(rb.subarray(r.length + o.rtcp).every((x) => x === 0x5a));
      // One octet short of room: refused before libsrtp2 touches the buffer.
      const short = withRoom(rtpPacket({ seq: 2, ssrc: 2 }), o.rtp - 1);
      assert.equal(tx.protectRtp(short, short.length - (o.rtp - 1)), SRTP_RESULT.NO_ROOM);
      const exact = withRoom(rtpPacket({ seq: 3, ssrc: 2 }), o.rtp);
      assert.equal(tx.protectRtp(exact, exact.length - o.rtp), exact.length);
      tx.destroy();
    });
  }

  it('works on an unaligned view (a subarray at an odd offset) with the same result', () => {
    const suite = 'AEAD_AES_256_GCM';
    const k = freshKey(suite);
    const a = new SrtpSession('outbound', { suite, keys: [k] });
    const b = new SrtpSession('outbound', { suite, keys: [k] });
    const rx = new SrtpSession('inbound', { suite, keys: [k] });
    const p = rtpPacket({ seq: 77, ssrc: 3 });
    const big = Buffer.alloc(p.length + 64 + 3);
    const view = big.subarray(3);
    view.set(p);
    const n = a.protectRtp(view, p.length);
    assert.deepEqual(view.subarray(0, n), protectRtp(b, p));
    const back = Buffer.alloc(n + 1).subarray(1);
    back.set(view.subarray(0, n));
    assert.equal(rx.unprotectRtp(back, n), p.length);
    assert.deepEqual(back.subarray(0, p.length), p);
  });

  it('returns codes, never throws, on bad arguments', () => {
    const suite = 'AES_CM_128_HMAC_SHA1_80';
    const { tx, rx } = pair({ suite, keys: [freshKey(suite)] });
    const b = withRoom(rtpPacket({ seq: 1, ssrc: 1 }));
    const call = (f: () => number) => f();
    assert.equal(
      call(() => tx.protectRtp('nope' as unknown as Uint8Array, 10)),
      SRTP_RESULT.BAD_PARAM,
    );
    assert.equal(
      call(() => tx.protectRtp(new Uint16Array(100) as unknown as Uint8Array, 10)),
      SRTP_RESULT.BAD_PARAM,
    );
    assert.equal(tx.protectRtp(b, 0), SRTP_RESULT.BAD_PARAM);
    assert.equal(tx.protectRtp(b, -5), SRTP_RESULT.BAD_PARAM);
    assert.equal(tx.protectRtp(b, b.length + 1), SRTP_RESULT.BAD_PARAM);
    assert.equal(tx.protectRtp(b, 5), SRTP_RESULT.BAD_PARAM, 'shorter than an RTP header');
    assert.equal(rx.unprotectRtp(b, 5), SRTP_RESULT.BAD_PARAM);
    assert.equal(rx.unprotectRtcp(b, 3), SRTP_RESULT.BAD_PARAM);
    assert.equal(rx.protectRtp(b, 172), SRTP_RESULT.DIRECTION, 'protect on an inbound session');
    assert.equal(tx.unprotectRtp(b, 172), SRTP_RESULT.DIRECTION, 'unprotect on an outbound session');
    assert.equal(tx.unprotectRtcp(b, 172), SRTP_RESULT.DIRECTION);
    assert.equal(rx.protectRtcp(b, 172), SRTP_RESULT.DIRECTION);
  });
});

describe('SrtpSession: ROC, replay and authentication', { skip }, () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: ROC follows the 16-bit wrap across a burst of 300 lost packets`, () => {
      const ssrc = 0x51525354;
      const { tx, rx } = pair({ suite, keys: [freshKey(suite)] });
      let received = 0;
      for (let i = 0; i < 1000; i++) {
        const seq = (65200 + i) & 0xffff; // wraps after 336 packets
        const s = protectRtp(tx, rtpPacket({ seq, ssrc, payload: 20 }));
        if (i >= 200 && i < 500) continue; // 300 lost: 65400..65535 and 0..163
        const out = unprotectRtp(rx, s);
        assert.ok(Buffer.isBuffer(out), `seq ${seq} after the loss: ${srtpResultName(out as number)}`);
        received++;
      }
      assert.equal(received, 700);
      assert.equal(tx.getRoc(ssrc), 1);
      assert.equal(rx.getRoc(ssrc), 1);
      assert.equal(rx.getRoc(0x99), undefined, 'no stream for an SSRC never seen');
    });

    it(`${suite}: a replayed packet fails, a packet older than the window is too old`, () => {
      const { tx, rx } = pair({ suite, keys: [freshKey(suite)] });
      const held = protectRtp(tx, rtpPacket({ seq: 100, ssrc: 7 }));
      let last: Buffer = held;
      for (let seq = 101; seq <= 400; seq++) {
        last = protectRtp(tx, rtpPacket({ seq, ssrc: 7 }));
        if (seq === 101 || seq > 380) assert.ok(Buffer.isBuffer(unprotectRtp(rx, last)));
      }
      assert.equal(unprotectRtp(rx, last), SRTP_RESULT.REPLAY_FAIL, 'same packet twice');
      assert.equal(unprotectRtp(rx, held), SRTP_RESULT.REPLAY_OLD, '300 behind a 128-packet window');
      // Out of order but inside the window: accepted once.
      const late = protectRtp(tx, rtpPacket({ seq: 402, ssrc: 7 }));
      const early = protectRtp(tx, rtpPacket({ seq: 403, ssrc: 7 }));
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, early)));
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, late)));
      assert.equal(unprotectRtp(rx, late), SRTP_RESULT.REPLAY_FAIL);
      // SRTCP has its own replay list.
      const r = protectRtcp(tx, rtcpPacket(7));
      assert.ok(Buffer.isBuffer(unprotectRtcp(rx, r)));
      assert.equal(unprotectRtcp(rx, r), SRTP_RESULT.REPLAY_FAIL);
    });

    it(`${suite}: any flipped bit, or the wrong key, fails authentication`, () => {
      const k = freshKey(suite);
      const { tx, rx } = pair({ suite, keys: [k] });
      const s = protectRtp(tx, rtpPacket({ seq: 5, ssrc: 9, payload: 40 }));
      for (const pos of [1, 3, 4, 8, 12, 30, s.length - 1]) {
        const bad = Buffer.from(s);
        bad[pos] = (bad[pos] as number) ^ 0x01;
        assert.equal(unprotectRtp(rx, bad), SRTP_RESULT.AUTH_FAIL, `bit flipped at ${pos}`);
      }
      const r = protectRtcp(tx, rtcpPacket(9));
      const badR = Buffer.from(r);
      badR[10] = (badR[10] as number) ^ 0x80;
      assert.equal(unprotectRtcp(rx, badR), SRTP_RESULT.AUTH_FAIL);
      // The intact packets still pass after the failures (a failure leaves no replay state).
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s)));
      assert.ok(Buffer.isBuffer(unprotectRtcp(rx, r)));
      const other = new SrtpSession('inbound', { suite, keys: [freshKey(suite)] });
      assert.equal(unprotectRtp(other, s), SRTP_RESULT.AUTH_FAIL, 'wrong key');
      assert.equal(unprotectRtcp(other, r), SRTP_RESULT.AUTH_FAIL, 'wrong key (SRTCP)');
      const wrongSalt = new SrtpSession('inbound', { suite, keys: [{ ...k, salt: freshKey(suite).salt }] });
      assert.equal(unprotectRtp(wrongSalt, s), SRTP_RESULT.AUTH_FAIL, 'wrong salt');
    });

    it(`${suite}: a known ROC (ssrc + roc) is used from the first packet`, () => {
      const k = freshKey(suite);
      const ssrc = 0x01020304;
      const tx = new SrtpSession('outbound', { suite, keys: [k], ssrc, roc: 42 });
      const s = protectRtp(tx, rtpPacket({ seq: 3, ssrc }));
      assert.deepEqual(
        s,
        new ReferenceSender(suite, k.key, k.salt).protectRtp(rtpPacket({ seq: 3, ssrc }), 42),
      );
      const rx = new SrtpSession('inbound', { suite, keys: [k], ssrc, roc: 42 });
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s)));
      assert.equal(rx.getRoc(ssrc), 42);
      const rx0 = new SrtpSession('inbound', { suite, keys: [k], ssrc });
      assert.equal(unprotectRtp(rx0, s), SRTP_RESULT.AUTH_FAIL, 'ROC 0 cannot authenticate a ROC-42 packet');
      const rxSet = new SrtpSession('inbound', { suite, keys: [k], ssrc });
      rxSet.setRoc(ssrc, 42);
      assert.ok(Buffer.isBuffer(unprotectRtp(rxSet, s)));
      // A specific-SSRC session has no stream for other SSRCs.
      const anyTx = new SrtpSession('outbound', { suite, keys: [k] });
      assert.equal(
        unprotectRtp(rx, protectRtp(anyTx, rtpPacket({ seq: 4, ssrc: 5 }))),
        SRTP_RESULT.NO_STREAM,
      );
      assert.equal(tx.protectRtp(withRoom(rtpPacket({ seq: 4, ssrc: 5 })), 172), SRTP_RESULT.NO_STREAM);
      assert.throws(() => rx.setRoc(5, 1), { code: 'ERR_SRTP_NO_STREAM' });
    });
  }
});

describe('SrtpSession: MKI and several master keys', { skip }, () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: the receiver picks the key by MKI; an unknown MKI is refused`, () => {
      const k1 = freshKey(suite, Uint8Array.from([0, 1]));
      const k2 = freshKey(suite, Uint8Array.from([0, 2]));
      const rx = new SrtpSession('inbound', { suite, keys: [k1, k2] });
      const tx1 = new SrtpSession('outbound', { suite, keys: [k1, k2] });
      const tx2 = new SrtpSession('outbound', { suite, keys: [k1, k2], sendKeyIndex: 1 });
      const s1 = protectRtp(tx1, rtpPacket({ seq: 10, ssrc: 1 }));
      const s2 = protectRtp(tx2, rtpPacket({ seq: 11, ssrc: 1 }));
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s1)));
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s2)));
      const r2 = protectRtcp(tx2, rtcpPacket(1));
      assert.ok(Buffer.isBuffer(unprotectRtcp(rx, r2)));
      const k3 = freshKey(suite, Uint8Array.from([0, 3]));
      const tx3 = new SrtpSession('outbound', { suite, keys: [k3] });
      assert.equal(unprotectRtp(rx, protectRtp(tx3, rtpPacket({ seq: 12, ssrc: 1 }))), SRTP_RESULT.BAD_MKI);
      // update() switches the send key (and so the MKI) without a new context.
      tx1.update({ suite, keys: [k1, k2], sendKeyIndex: 1 });
      const s3 = protectRtp(tx1, rtpPacket({ seq: 13, ssrc: 1 }));
      const mkiAt = SRTP_SUITE_INFO[suite].aead
        ? s3.length - 2
        : s3.length - SRTP_SUITE_INFO[suite].srtpTagLength - 2;
      assert.deepEqual(s3.subarray(mkiAt, mkiAt + 2), Buffer.from([0, 2]));
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s3)));
      // SRTCP after update(); for _32 this also covers the SRTCP-only context (cisco/libsrtp#733).
      assert.ok(Buffer.isBuffer(unprotectRtcp(rx, protectRtcp(tx1, rtcpPacket(2)))));
    });
  }
});

describe('SrtpSession: rekey and lifecycle', { skip }, () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: a new key for one direction (destroy + create, ROC 0) leaves the other untouched`, () => {
      const a2b = pair({ suite, keys: [freshKey(suite)] });
      const b2a = pair({ suite, keys: [freshKey(suite)] });
      let seqA = 65530;
      let seqB = 100;
      const sendA = () => {
        const s = protectRtp(a2b.tx, rtpPacket({ seq: seqA++ & 0xffff, ssrc: 0xa }));
        return unprotectRtp(a2b.rx, s);
      };
      const sendB = () => {
        const s = protectRtp(b2a.tx, rtpPacket({ seq: seqB++, ssrc: 0xb }));
        return unprotectRtp(b2a.rx, s);
      };
      for (let i = 0; i < 20; i++) {
        assert.ok(Buffer.isBuffer(sendA()));
        assert.ok(Buffer.isBuffer(sendB()));
      }
      assert.equal(a2b.rx.getRoc(0xa), 1);
      // Rekey A→B: a packet in flight under the old key is refused by the new receiver.
      const inFlight = protectRtp(a2b.tx, rtpPacket({ seq: seqA++ & 0xffff, ssrc: 0xa }));
      a2b.tx.destroy();
      a2b.rx.destroy();
      assert.equal(a2b.rx.unprotectRtp(Buffer.from(inFlight), inFlight.length), SRTP_RESULT.CLOSED);
      const k = freshKey(suite);
      const fresh = pair({ suite, keys: [k] });
      assert.equal(unprotectRtp(fresh.rx, inFlight), SRTP_RESULT.AUTH_FAIL);
      a2b.tx = fresh.tx;
      a2b.rx = fresh.rx;
      for (let i = 0; i < 20; i++) {
        assert.ok(Buffer.isBuffer(sendB()), 'B→A keeps going during and after the rekey');
        assert.ok(Buffer.isBuffer(sendA()));
      }
      assert.equal(a2b.rx.getRoc(0xa), 0, 'fresh context: ROC starts again at 0');
      assert.equal(b2a.rx.getRoc(0xb), 0);
      assert.deepEqual(b2a.rx.packets(), { rtp: 40, rtcp: 0 });
    });

    it(`${suite}: update() changes the key and keeps ROC and replay state`, () => {
      const k1 = freshKey(suite);
      const { tx, rx } = pair({ suite, keys: [k1] });
      for (let i = 0; i < 20; i++) {
        const s = protectRtp(tx, rtpPacket({ seq: (65530 + i) & 0xffff, ssrc: 0xc }));
        assert.ok(Buffer.isBuffer(unprotectRtp(rx, s)));
      }
      const k2 = freshKey(suite);
      tx.update({ suite, keys: [k2] });
      rx.update({ suite, keys: [k2] });
      const s2 = protectRtp(tx, rtpPacket({ seq: 14, ssrc: 0xc }));
      assert.deepEqual(
        s2,
        new ReferenceSender(suite, k2.key, k2.salt).protectRtp(rtpPacket({ seq: 14, ssrc: 0xc }), 1),
      );
      assert.ok(Buffer.isBuffer(unprotectRtp(rx, s2)));
      assert.equal(rx.getRoc(0xc), 1);
      assert.equal(unprotectRtp(rx, s2), SRTP_RESULT.REPLAY_FAIL);
      assert.throws(
        () =>
          tx.update({
            suite: suite === 'AEAD_AES_128_GCM' ? 'AEAD_AES_256_GCM' : 'AEAD_AES_128_GCM',
            keys: [],
          }),
        {
          code: 'ERR_SRTP_PARAM',
        },
      );
    });
  }

  it('destroy() is idempotent; calls after it return CLOSED or throw ERR_SRTP_CLOSED off the packet path', () => {
    const suite = 'AES_CM_128_HMAC_SHA1_32';
    const before = liveSrtpSessions();
    const { tx, rx } = pair({ suite, keys: [freshKey(suite)] });
    assert.equal(liveSrtpSessions(), before + 2);
    assert.equal(tx.closed, false);
    tx.destroy();
    tx.destroy();
    rx.destroy();
    assert.equal(liveSrtpSessions(), before);
    assert.equal(tx.closed, true);
    const b = withRoom(rtpPacket({ seq: 1, ssrc: 1 }));
    assert.equal(tx.protectRtp(b, 172), SRTP_RESULT.CLOSED);
    assert.equal(tx.protectRtcp(b, 44), SRTP_RESULT.CLOSED);
    assert.equal(rx.unprotectRtp(b, 172), SRTP_RESULT.CLOSED);
    assert.equal(tx.getRoc(1), undefined);
    assert.throws(() => tx.setRoc(1, 1), { code: 'ERR_SRTP_CLOSED' });
    assert.throws(() => tx.update({ suite, keys: [freshKey(suite)] }), { code: 'ERR_SRTP_CLOSED' });
  });

  it('the finalizer frees sessions that were never destroyed', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const suite = 'AEAD_AES_128_GCM';
    const before = liveSrtpSessions();
    (() => {
      for (let i = 0; i < 500; i++) new SrtpSession('outbound', { suite, keys: [freshKey(suite)] });
    })();
    assert.ok(liveSrtpSessions() >= before + 500);
    for (let i = 0; i < 20 && liveSrtpSessions() > before + 50; i++) {
      gc();
      await tick();
    }
    assert.ok(liveSrtpSessions() <= before + 50, `still alive: ${liveSrtpSessions() - before}`);
  });
});

describe('SrtpSession: parameter checks (off the packet path: SrtpError)', { skip }, () => {
  const suite = 'AES_CM_128_HMAC_SHA1_80';
  const bad: Array<[string, SrtpSessionParams]> = [
    ['unknown suite', { suite: 'AES_256_CM_HMAC_SHA1_80' as SrtpSuite, keys: [freshKey(suite)] }],
    ['no keys', { suite, keys: [] }],
    ['short key', { suite, keys: [{ key: randomBytes(15), salt: randomBytes(14) }] }],
    ['GCM salt with AES-CM', { suite, keys: [{ key: randomBytes(16), salt: randomBytes(12) }] }],
    ['window below 128', { suite, keys: [freshKey(suite)], windowSize: 64 }],
    ['window too large', { suite, keys: [freshKey(suite)], windowSize: 40000 }],
    ['roc without ssrc', { suite, keys: [freshKey(suite)], roc: 3 }],
    ['ssrc out of range', { suite, keys: [freshKey(suite)], ssrc: 2 ** 32 }],
    ['two keys, no MKI', { suite, keys: [freshKey(suite), freshKey(suite)] }],
    ['MKI on one key only', { suite, keys: [freshKey(suite, MKI4), freshKey(suite)] }],
    ['MKIs of two lengths', { suite, keys: [freshKey(suite, MKI4), freshKey(suite, Uint8Array.from([9]))] }],
    ['same MKI twice', { suite, keys: [freshKey(suite, MKI4), freshKey(suite, MKI4)] }],
    ['MKI too long', { suite, keys: [freshKey(suite, new Uint8Array(129))] }],
    ['sendKeyIndex out of range', { suite, keys: [freshKey(suite)], sendKeyIndex: 1 }],
    [
      'AEAD with UNENCRYPTED_SRTP',
      { suite: 'AEAD_AES_128_GCM', keys: [freshKey('AEAD_AES_128_GCM')], unencryptedSrtp: true },
    ],
    [
      'AEAD with UNAUTHENTICATED_SRTP',
      { suite: 'AEAD_AES_256_GCM', keys: [freshKey('AEAD_AES_256_GCM')], unauthenticatedSrtp: true },
    ],
  ];
  for (const [name, params] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => new SrtpSession('outbound', params),
        (e: unknown) => e instanceof SrtpError && e.code === 'ERR_SRTP_PARAM',
      );
    });
  }

  it('refuses an unknown direction', () => {
    assert.throws(() => new SrtpSession('sideways' as 'inbound', { suite, keys: [freshKey(suite)] }), {
      code: 'ERR_SRTP_PARAM',
    });
  });

  it('wipes its own copies of key || salt but leaves the caller`s keys alone', () => {
    const k = freshKey(suite);
    const copy = Buffer.from(k.key);
    new SrtpSession('outbound', { suite, keys: [k] }).destroy();
    assert.deepEqual(Buffer.from(k.key), copy);
  });
});
