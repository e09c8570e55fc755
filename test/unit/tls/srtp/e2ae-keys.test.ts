/**
 * SrtpLeg key lifetimes with several master keys on one a=crypto line (RFC 4568 §6.1: the lifetime is
 * per key): the sender moves to the line's next key (by MKI) when one is used up, and stops only when
 * every key is; the receiver counts against all keys' lifetimes together. No sockets: the leg's
 * transforms are built and called as the forwarder does (FakeLeg), the peer is our binding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../../../daemon/control/codec/sdp.js';
import { Stream } from '../../../../daemon/mg/stream.js';
import type { Termination } from '../../../../daemon/mg/termination.js';
import { silentLogger } from '../../../../daemon/observe/log.js';
import { nativeAvailable } from '../../../../daemon/tls/srtp/binding.js';
import { cryptoToSessionParams, parseCryptoAttr } from '../../../../daemon/tls/srtp/crypto-attr.js';
import { SrtpE2ae } from '../../../../daemon/tls/srtp/e2ae.js';
import { FakeLeg } from './helpers.js';
import { SrtpSession } from '../../../../daemon/tls/srtp/session.js';

const skip = nativeAvailable() ? false : 'native addon not built (npm run build:native)';
const K1 = Buffer.alloc(30, 1).toString('base64');
const K2 = Buffer.alloc(30, 2).toString('base64');
const TWO_KEYS = `1 AES_CM_128_HMAC_SHA1_80 inline:${K1}|4|1:1;inline:${K2}|2^20|2:1`;

function fakeTermination(raised: string[]): Termination {
  return {
    log: silentLogger(),
    raise: (name: string, observed: Record<string, unknown>) => {
      raised.push(`${name} ${String(observed['dir'])}`);
      return true;
    },
  } as unknown as Termination;
}

function sdp(crypto: string | undefined): ReturnType<typeof parseSdp> {
  return parseSdp(`v=0\nc=IN IP4 127.0.0.1\nm=audio 4000 RTP/SAVP 0\n${crypto !== undefined ? `a=crypto:${crypto}\n` : ''}`);
}

function rtp(seq: number): Buffer {
  const b = Buffer.alloc(12 + 20);
  b[0] = 0x80;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(0xabcdef01, 8);
  return b;
}

test('outbound: the line`s next key (next MKI) takes over when one key`s lifetime is used up', { skip }, () => {
  const e2ae = new SrtpE2ae({ rekeyNoticePercent: 50 });
  const s = new Stream(1);
  s.local = sdp(TWO_KEYS);
  const raised: string[] = [];
  const leg = new FakeLeg();
  leg.secure(e2ae.legSecurity(s, fakeTermination(raised), undefined, leg.cnt));
  const rx = new SrtpSession('inbound', cryptoToSessionParams(parseCryptoAttr(TWO_KEYS)));
  try {
    const mkis: number[] = [];
    for (let seq = 1; seq <= 10; seq++) {
      const out = leg.outbound(rtp(seq), 32, false);
      assert.ok(out !== undefined, `packet ${seq} protected`);
      mkis.push(out[out.length - 11]!); // MKI (1 octet) before the 10-octet tag
      const b = Buffer.from(out);
      assert.equal(rx.unprotectRtp(b, b.length), 32, `packet ${seq} decrypts with the line's keys`);
    }
    assert.deepEqual(mkis, [1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    assert.deepEqual(raised, [], 'the notice is on the whole line (2^20 + 4 packets)');
  } finally {
    rx.destroy();
    leg.close();
  }
  assert.equal(e2ae.contexts, 0);
});

test('outbound: one key with a lifetime: notice at the share, then nothing is protected', { skip }, () => {
  const e2ae = new SrtpE2ae({ rekeyNoticePercent: 50 });
  const s = new Stream(1);
  s.local = sdp(`1 AES_CM_128_HMAC_SHA1_80 inline:${K1}|6`);
  const raised: string[] = [];
  const leg = new FakeLeg();
  leg.secure(e2ae.legSecurity(s, fakeTermination(raised), undefined, leg.cnt));
  try {
    const ok = [];
    for (let seq = 1; seq <= 8; seq++) ok.push(leg.outbound(rtp(seq), 32, false) !== undefined);
    assert.deepEqual(ok, [true, true, true, true, true, true, false, false]);
    assert.deepEqual(raised, ['srtp/rekey out']);
    assert.equal(leg.srtpTotals[4 + 4], 2, 'two drops counted key_expired');
  } finally {
    leg.close();
  }
});

test('inbound: packets on any key of the line count against all keys` lifetimes together', { skip }, () => {
  const e2ae = new SrtpE2ae({ rekeyNoticePercent: 50 });
  const line = `1 AES_CM_128_HMAC_SHA1_80 inline:${K1}|4|1:1;inline:${K2}|3|2:1`;
  const s = new Stream(1);
  s.local = sdp(`1 AES_CM_128_HMAC_SHA1_80 inline:${K1}`);
  s.remote = sdp(line);
  const raised: string[] = [];
  const leg = new FakeLeg();
  leg.secure(e2ae.legSecurity(s, fakeTermination(raised), undefined, leg.cnt));
  // the peer sends with its second key (MKI 2) from the start
  const tx = new SrtpSession('outbound', { ...cryptoToSessionParams(parseCryptoAttr(line)), sendKeyIndex: 1 });
  try {
    const ok = [];
    for (let seq = 1; seq <= 9; seq++) {
      const b = Buffer.alloc(64);
      rtp(seq).copy(b);
      const n = tx.protectRtp(b, 32);
      ok.push(leg.inbound(b, n, false) === 32);
    }
    assert.deepEqual(ok, [true, true, true, true, true, true, true, false, false], '4 + 3 packets, then expired');
    assert.deepEqual(raised, ['srtp/rekey in']);
  } finally {
    tx.destroy();
    leg.close();
  }
});
