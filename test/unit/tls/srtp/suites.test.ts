import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SRTP_MAX_TRAILER_LENGTH,
  SRTP_SUITES,
  SRTP_SUITE_INFO,
  isSrtpSuite,
  srtpOverhead,
  suiteKeyLengths,
} from '../../../../daemon/tls/srtp/suites.js';

describe('suites', () => {
  it('key and salt lengths: AES_CM_128 16+14, GCM-128 16+12, GCM-256 32+12', () => {
    assert.deepEqual(suiteKeyLengths('AES_CM_128_HMAC_SHA1_80'), { key: 16, salt: 14 });
    assert.deepEqual(suiteKeyLengths('AES_CM_128_HMAC_SHA1_32'), { key: 16, salt: 14 });
    assert.deepEqual(suiteKeyLengths('AEAD_AES_128_GCM'), { key: 16, salt: 12 });
    assert.deepEqual(suiteKeyLengths('AEAD_AES_256_GCM'), { key: 32, salt: 12 });
  });

  it('overhead: SRTP tag 10/4/16/16 + MKI; SRTCP 4 + tag 10/10/16/16 + MKI', () => {
    const rtp = SRTP_SUITES.map((s) => srtpOverhead(s).rtp);
    const rtcp = SRTP_SUITES.map((s) => srtpOverhead(s).rtcp);
    assert.deepEqual(rtp, [10, 4, 16, 16]);
    assert.deepEqual(rtcp, [14, 14, 20, 20]);
    assert.deepEqual(srtpOverhead('AES_CM_128_HMAC_SHA1_32', { mkiLength: 4 }), { rtp: 8, rtcp: 18 });
    assert.deepEqual(srtpOverhead('AES_CM_128_HMAC_SHA1_80', { unauthenticatedSrtp: true }), {
      rtp: 0,
      rtcp: 14,
    });
    assert.deepEqual(srtpOverhead('AEAD_AES_128_GCM', { unauthenticatedSrtp: true }), { rtp: 16, rtcp: 20 });
    for (const s of SRTP_SUITES) {
      assert.ok(srtpOverhead(s, { mkiLength: 128 }).rtcp <= SRTP_MAX_TRAILER_LENGTH);
    }
  });

  it('knows its suites and nothing else', () => {
    assert.ok(isSrtpSuite('AEAD_AES_256_GCM'));
    assert.ok(!isSrtpSuite('AES_256_CM_HMAC_SHA1_80'));
    assert.ok(!isSrtpSuite('toString'));
    for (const s of SRTP_SUITES) assert.equal(SRTP_SUITE_INFO[s].maxLifetimeSrtp, 2 ** 48);
  });
});
