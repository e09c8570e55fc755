import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CryptoAttrError,
  cryptoOverhead,
  cryptoToSessionParams,
  formatCryptoAttr,
  formatKeyParam,
  generateInline,
  generateKeyParam,
  mkiBytes,
  parseCryptoAttr,
  parseKeyParam,
  toMasterKey,
} from '../../../../daemon/tls/srtp/crypto-attr.js';
import { SRTP_SUITES, suiteKeyLengths } from '../../../../daemon/tls/srtp/suites.js';
import { SrtpSession } from '../../../../daemon/tls/srtp/session.js';
import { rtpPacket, skipWithoutNative, withRoom } from './helpers.js';

// RFC 4568 §4 example key (30 octets of key||salt for AES_CM_128_HMAC_SHA1_80).
const RFC4568_KEY = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

describe('parseCryptoAttr', () => {
  it('parses the RFC 4568 example line, with lifetime and MKI', () => {
    const c = parseCryptoAttr(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|2^20|1:4`);
    assert.equal(c.tag, 1);
    assert.equal(c.suite, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(c.keys.length, 1);
    const k = c.keys[0]!;
    assert.equal(k.keySalt.length, 30);
    assert.deepEqual(Buffer.from(k.keySalt), Buffer.from(RFC4568_KEY, 'base64'));
    assert.equal(k.lifetime, 2 ** 20);
    assert.deepEqual(k.mki, { value: 1n, length: 4 });
    assert.equal(c.unencryptedSrtp || c.unencryptedSrtcp || c.unauthenticatedSrtp, false);
  });

  it('takes the value with or without "a=crypto:" and with only a lifetime or only an MKI', () => {
    assert.equal(parseCryptoAttr(`crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${RFC4568_KEY}`).tag, 7);
    assert.equal(
      parseCryptoAttr(`2 AES_CM_128_HMAC_SHA1_32 inline:${RFC4568_KEY}|1048576`).keys[0]!.lifetime,
      1048576,
    );
    assert.deepEqual(parseCryptoAttr(`2 AES_CM_128_HMAC_SHA1_32 inline:${RFC4568_KEY}|5:2`).keys[0]!.mki, {
      value: 5n,
      length: 2,
    });
  });

  it('parses several keys (with MKIs) and session parameters', () => {
    const k2 = Buffer.alloc(30, 7).toString('base64');
    const c = parseCryptoAttr(
      `3 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|2^31|1:1;inline:${k2}|2^31|2:1 ` +
        'UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP KDR=0 WSH=256 FEC_ORDER=FEC_SRTP -FUTURE_THING',
    );
    assert.equal(c.keys.length, 2);
    assert.deepEqual(
      c.keys.map((k) => k.mki?.value),
      [1n, 2n],
    );
    assert.equal(c.unencryptedSrtp, false);
    assert.equal(c.unencryptedSrtcp, true);
    assert.equal(c.unauthenticatedSrtp, true);
    assert.equal(c.windowSizeHint, 256);
    assert.deepEqual(c.ignoredParams, ['-FUTURE_THING']);
  });

  it('accepts AEAD keys with and without base64 padding', () => {
    for (const suite of ['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const) {
      const { key, salt } = suiteKeyLengths(suite);
      const b64 = Buffer.alloc(key + salt, 0x42).toString('base64');
      assert.ok(b64.endsWith('='));
      for (const v of [b64, b64.replace(/=+$/, '')]) {
        assert.equal(parseCryptoAttr(`1 ${suite} inline:${v}`).keys[0]!.keySalt.length, key + salt);
      }
    }
  });

  const invalid: Array<[string, string]> = [
    ['no key params', '1 AES_CM_128_HMAC_SHA1_80'],
    ['bad tag', `x AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}`],
    ['ten-digit tag', `1234567890 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}`],
    ['other key method', `1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key`],
    ['bad base64', '1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!'],
    ['key too short', `1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.alloc(29).toString('base64')}`],
    ['GCM-128 key for GCM-256', `1 AEAD_AES_256_GCM inline:${Buffer.alloc(28).toString('base64')}`],
    ['lifetime too large', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|2^49`],
    ['lifetime zero', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|0`],
    ['MKI length 0', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|1:0`],
    ['MKI length 129', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|1:129`],
    ['MKI value too big', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|256:1`],
    ['four fields', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|2^20|1:4|x`],
    ['two keys, no MKI', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY};inline:${RFC4568_KEY}`],
    ['MKIs of two lengths', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|1:1;inline:${RFC4568_KEY}|2:2`],
    ['same MKI twice', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|1:1;inline:${RFC4568_KEY}|1:1`],
    ['KDR not 0', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY} KDR=10`],
    ['WSH below 64', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY} WSH=32`],
    ['FEC_KEY', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY} FEC_KEY=inline:${RFC4568_KEY}`],
    ['unknown mandatory param', `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY} FUTURE_THING`],
    [
      'AEAD with UNENCRYPTED_SRTP',
      `1 AEAD_AES_128_GCM inline:${Buffer.alloc(28).toString('base64')} UNENCRYPTED_SRTP`,
    ],
  ];
  for (const [name, line] of invalid) {
    it(`refuses ${name} (ERR_SRTP_CRYPTO_ATTR)`, () => {
      assert.throws(
        () => parseCryptoAttr(line),
        (e: unknown) => e instanceof CryptoAttrError && e.code === 'ERR_SRTP_CRYPTO_ATTR',
      );
    });
  }

  it('tells an unsupported suite apart (ERR_SRTP_SUITE_UNSUPPORTED) so callers can try the next line', () => {
    for (const suite of ['AES_256_CM_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_80', 'AES_192_CM_HMAC_SHA1_32']) {
      assert.throws(() => parseCryptoAttr(`1 ${suite} inline:${RFC4568_KEY}`), {
        code: 'ERR_SRTP_SUITE_UNSUPPORTED',
      });
    }
  });
});

describe('formatCryptoAttr / formatKeyParam', () => {
  it('round-trips through parse', () => {
    const line = `5 AES_CM_128_HMAC_SHA1_32 inline:${RFC4568_KEY}|2^20|1:4 UNENCRYPTED_SRTP WSH=512`;
    assert.equal(formatCryptoAttr(parseCryptoAttr(line)), line);
    const k = parseKeyParam(`inline:${RFC4568_KEY}|1000|300:2`, 'AES_CM_128_HMAC_SHA1_80');
    assert.equal(formatKeyParam(k), `inline:${RFC4568_KEY}|1000|300:2`);
  });
});

describe('key generation', () => {
  for (const suite of SRTP_SUITES) {
    it(`${suite}: a fresh inline: value of the right length, different each time`, () => {
      const { key, salt } = suiteKeyLengths(suite);
      const a = generateInline(suite);
      const b = generateInline(suite);
      assert.notEqual(a, b);
      const parsed = parseKeyParam(a, suite);
      assert.equal(parsed.keySalt.length, key + salt);
      const withExtras = generateInline(suite, { lifetime: 2 ** 31, mki: { value: 1n, length: 4 } });
      assert.match(withExtras, /^inline:[A-Za-z0-9+/]+={0,2}\|2\^31\|1:4$/);
    });
  }

  it('uses the given random source', () => {
    const k = generateKeyParam('AEAD_AES_128_GCM', { random: (n) => new Uint8Array(n).fill(3) });
    assert.deepEqual(Buffer.from(k.keySalt), Buffer.alloc(28, 3));
    assert.throws(() => generateKeyParam('AEAD_AES_128_GCM', { random: () => new Uint8Array(3) }), {
      code: 'ERR_SRTP_CRYPTO_ATTR',
    });
    assert.throws(() => generateKeyParam('AEAD_AES_128_GCM', { lifetime: 2 ** 49 }), {
      code: 'ERR_SRTP_CRYPTO_ATTR',
    });
  });
});

describe('session parameters and overhead', () => {
  it('splits key||salt, encodes the MKI big-endian, applies WSH only upwards', () => {
    const c = parseCryptoAttr(
      `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC4568_KEY}|2^20|258:4 UNENCRYPTED_SRTCP WSH=64`,
    );
    const p = cryptoToSessionParams(c, { ssrc: 5, roc: 2 });
    const raw = Buffer.from(RFC4568_KEY, 'base64');
    assert.deepEqual(Buffer.from(p.keys[0]!.key), raw.subarray(0, 16));
    assert.deepEqual(Buffer.from(p.keys[0]!.salt), raw.subarray(16));
    assert.deepEqual(Buffer.from(p.keys[0]!.mki!), Buffer.from([0, 0, 1, 2]));
    assert.equal(p.windowSize, 128, 'WSH=64 does not shrink the window below 128');
    assert.equal(p.unencryptedSrtcp, true);
    assert.equal(p.ssrc, 5);
    assert.equal(p.roc, 2);
    assert.equal(cryptoToSessionParams({ ...c, windowSizeHint: 1024 }).windowSize, 1024);
    assert.equal(cryptoToSessionParams({ ...c, windowSizeHint: 10 ** 9 }).windowSize, 32767);
  });

  it('mkiBytes handles long MKIs', () => {
    assert.deepEqual(
      Buffer.from(mkiBytes({ value: (1n << 64n) + 5n, length: 9 })),
      Buffer.from('010000000000000005', 'hex'),
    );
    assert.deepEqual(toMasterKey('AEAD_AES_128_GCM', { keySalt: new Uint8Array(28) }).mki, undefined);
  });

  it('overhead per suite: tag + MKI; SRTCP adds the index', () => {
    const line = (suite: string, key: number, extra = '') =>
      parseCryptoAttr(`1 ${suite} inline:${Buffer.alloc(key).toString('base64')}${extra}`);
    assert.deepEqual(cryptoOverhead(line('AES_CM_128_HMAC_SHA1_80', 30)), { rtp: 10, rtcp: 14 });
    assert.deepEqual(cryptoOverhead(line('AES_CM_128_HMAC_SHA1_32', 30)), { rtp: 4, rtcp: 14 });
    assert.deepEqual(cryptoOverhead(line('AEAD_AES_128_GCM', 28)), { rtp: 16, rtcp: 20 });
    assert.deepEqual(cryptoOverhead(line('AEAD_AES_256_GCM', 44, '|1:4')), { rtp: 20, rtcp: 24 });
    assert.deepEqual(cryptoOverhead(line('AES_CM_128_HMAC_SHA1_80', 30, '|1:2 UNAUTHENTICATED_SRTP')), {
      rtp: 2,
      rtcp: 16,
    });
  });
});

describe('a=crypto → SrtpSession', { skip: skipWithoutNative() }, () => {
  it('a generated local line and its parse drive a working outbound/inbound pair', () => {
    for (const suite of SRTP_SUITES) {
      const local = `1 ${suite} ${generateInline(suite, { mki: { value: 9n, length: 2 } })}`;
      const c = parseCryptoAttr(local);
      const tx = new SrtpSession('outbound', cryptoToSessionParams(c));
      const rx = new SrtpSession('inbound', cryptoToSessionParams(parseCryptoAttr(formatCryptoAttr(c))));
      assert.deepEqual({ rtp: tx.rtpTrailerLength, rtcp: tx.rtcpTrailerLength }, cryptoOverhead(c));
      const p = rtpPacket({ seq: 1, ssrc: 1 });
      const b = withRoom(p);
      const n = tx.protectRtp(b, p.length);
      assert.equal(rx.unprotectRtp(b, n), p.length);
      assert.deepEqual(b.subarray(0, p.length), p);
      tx.destroy();
      rx.destroy();
    }
  });
});
