/**
 * SRTP interop: our binding against libsrtp2 called from plain C (native/test/srtp_peer.c, built
 * here with `cc ... $(pkg-config --cflags --libs libsrtp2)` into a temp dir).
 *
 * For every suite, RTP and RTCP, with and without MKI (and the SDES session parameters for AES-CM):
 * our protect output is byte-identical to the C program's for the same packets, and each side
 * unprotects the other's. The sequence numbers cross the 16-bit wrap, so ROC handling is compared
 * too. The path through a real context (C libsrtp2 as the UE on the wire) is
 * test/interop/srtp-e2ae-libsrtp.test.ts.
 *
 * Needs cc, pkg-config, libsrtp2-dev and the built addon (`npm run build:native`): skips locally
 * without them, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { SRTP_RESULT, SrtpSession, srtpResultName } from '../../daemon/tls/srtp/session.js';
import type { SrtpSessionParams } from '../../daemon/tls/srtp/session.js';
import { SRTP_SUITES, SRTP_SUITE_INFO } from '../../daemon/tls/srtp/suites.js';
import type { SrtpSuite } from '../../daemon/tls/srtp/suites.js';
import { rtcpPacket, rtpPacket, withRoom } from '../unit/tls/srtp/helpers.js';
import { runPeer, useSrtpPeer } from './srtp-peer.js';
import type { PeerOptions, PeerPacket } from './srtp-peer.js';

/** The built C peer's path, or a local skip when a prerequisite is missing (CI fails instead). */
const needPeer = useSrtpPeer();

const SSRC = 0x11223344;

/** 40 RTP packets crossing the sequence wrap, in several shapes, and 10 RTCP packets, interleaved. */
function traffic(ssrc = SSRC, firstSeq = 65520): PeerPacket[] {
  const out: PeerPacket[] = [];
  for (let i = 0; i < 40; i++) {
    const seq = (firstSeq + i) & 0xffff;
    const shape = i % 4;
    const data = rtpPacket({
      seq,
      ssrc,
      payload: shape === 0 ? 160 : shape === 1 ? 0 : 1 + 37 * i,
      ...(shape === 2 ? { csrcs: [0x01010101, 0x02020202] } : {}),
      ...(shape === 3 ? { extension: Uint8Array.from([0x12, 0xaa, 0xbb, 0xcc]) } : {}),
      marker: i === 0,
      payloadType: 96,
    });
    out.push({ kind: 'rtp', data });
    if (i % 4 === 3) out.push({ kind: 'rtcp', data: rtcpPacket(ssrc, i % 7) });
  }
  return out;
}

function params(o: PeerOptions): SrtpSessionParams {
  const suite = o.suite as SrtpSuite;
  const { keyLength } = SRTP_SUITE_INFO[suite];
  return {
    suite,
    keys: [{ key: o.key.slice(0, keyLength), salt: o.key.slice(keyLength), mki: o.mki }],
    ssrc: o.ssrc,
    roc: o.roc,
    unencryptedSrtp: o.unencryptedSrtp,
    unencryptedSrtcp: o.unencryptedSrtcp,
    unauthenticatedSrtp: o.unauthenticatedSrtp,
  };
}

function oursProtect(o: PeerOptions, packets: readonly PeerPacket[]): Buffer[] {
  const tx = new SrtpSession('outbound', params(o));
  try {
    return packets.map((p) => {
      const b = withRoom(p.data);
      const n = p.kind === 'rtp' ? tx.protectRtp(b, p.data.length) : tx.protectRtcp(b, p.data.length);
      assert.ok(n > 0, `our protect (${p.kind}) failed: ${srtpResultName(n)}`);
      return b.subarray(0, n);
    });
  } finally {
    tx.destroy();
  }
}

function oursUnprotect(o: PeerOptions, packets: readonly PeerPacket[]): Array<Buffer | number> {
  const rx = new SrtpSession('inbound', params(o));
  try {
    return packets.map((p) => {
      const b = Buffer.from(p.data);
      const n = p.kind === 'rtp' ? rx.unprotectRtp(b, b.length) : rx.unprotectRtcp(b, b.length);
      return n >= 0 ? b.subarray(0, n) : n;
    });
  } finally {
    rx.destroy();
  }
}

function exchange(t: TestContext, o: PeerOptions, packets: readonly PeerPacket[] = traffic()): void {
  const path = needPeer(t);
  if (path === undefined) return;
  const ours = oursProtect(o, packets);
  const theirs = runPeer(path, 'protect', o, packets);
  theirs.forEach((c, i) => {
    assert.ok(Buffer.isBuffer(c), `C protect of packet ${i} failed with srtp_err_status ${String(c)}`);
    assert.equal(ours[i]?.toString('hex'), c.toString('hex'), `packet ${i} (${packets[i]?.kind}) differs`);
  });
  const kinds = (bufs: readonly Uint8Array[]): PeerPacket[] =>
    bufs.map((data, i) => ({ kind: packets[i]?.kind ?? 'rtp', data }));
  const cOfOurs = runPeer(path, 'unprotect', o, kinds(ours));
  const oursOfC = oursUnprotect(o, kinds(theirs as Buffer[]));
  packets.forEach((p, i) => {
    assert.deepEqual(cOfOurs[i], Buffer.from(p.data), `C could not unprotect our packet ${i}`);
    assert.deepEqual(oursOfC[i], Buffer.from(p.data), `we could not unprotect C's packet ${i}`);
  });
}

function key(suite: SrtpSuite): Buffer {
  const { keyLength, saltLength } = SRTP_SUITE_INFO[suite];
  return randomBytes(keyLength + saltLength);
}

describe('SRTP interop with libsrtp2 from C (byte-identical, both ways)', () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: RTP and RTCP`, (t) => exchange(t, { suite, key: key(suite) }));
    it(`${suite}: RTP and RTCP with a 4-octet MKI`, (t) =>
      exchange(t, { suite, key: key(suite), mki: Uint8Array.from([0xde, 0xad, 0xbe, 0xef]) }));
    it(`${suite}: RTP and RTCP with a 1-octet MKI, specific SSRC and known ROC 3`, (t) =>
      exchange(
        t,
        { suite, key: key(suite), mki: Uint8Array.from([7]), ssrc: SSRC, roc: 3 },
        traffic(SSRC, 100),
      ));
  }
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`${suite}: UNENCRYPTED_SRTP`, (t) => exchange(t, { suite, key: key(suite), unencryptedSrtp: true }));
    it(`${suite}: UNENCRYPTED_SRTCP with MKI`, (t) =>
      exchange(t, { suite, key: key(suite), unencryptedSrtcp: true, mki: Uint8Array.from([1, 2]) }));
    it(`${suite}: UNAUTHENTICATED_SRTP`, (t) =>
      exchange(t, { suite, key: key(suite), unauthenticatedSrtp: true }));
  }

  it('both refuse the same tampered packets (auth fail)', (t) => {
    const path = needPeer(t);
    if (path === undefined) return;
    for (const suite of SRTP_SUITES) {
      const o: PeerOptions = { suite, key: key(suite) };
      const packets = traffic().slice(0, 6);
      const protectedPkts = oursProtect(o, packets).map((b, i) => {
        const c = Buffer.from(b);
        c[c.length - 1 - (i % 3)] = (c[c.length - 1 - (i % 3)] as number) ^ 0x10;
        return { kind: packets[i]?.kind ?? 'rtp', data: c } as PeerPacket;
      });
      const c = runPeer(path, 'unprotect', o, protectedPkts);
      const ours = oursUnprotect(o, protectedPkts);
      c.forEach((r, i) => {
        assert.equal(r, 7, `${suite}: C gives srtp_err_status_auth_fail for packet ${i}`);
        assert.equal(ours[i], SRTP_RESULT.AUTH_FAIL, `${suite}: we give AUTH_FAIL for packet ${i}`);
      });
    }
  });
});
