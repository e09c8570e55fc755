import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  SDP_ATTR,
  classifyTransport,
  formatBandwidth,
  formatConnection,
  formatCrypto,
  formatFingerprint,
  formatMediaLine,
  formatRtcp,
  formatRtpmap,
  isWildcard,
  parseBandwidth,
  parseConnection,
  parseCrypto,
  parseFingerprint,
  parseFmtp,
  parseFmtpParameters,
  parseMediaLine,
  parseRtcp,
  parseRtpmap,
  splitWs,
} from '../../../../daemon/control/codec/sdp-values.js';
import type { SdpAttributeCodec, SdpCrypto } from '../../../../daemon/control/codec/sdp-values.js';
import { ERR_SDP, SdpError } from '../../../../daemon/control/codec/sdp-error.js';

function bad(fn: () => unknown, reason?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SdpError, `not an SdpError: ${String(e)}`);
    assert.equal(e.code, ERR_SDP);
    assert.equal(e.line, undefined, 'value parsers know no line numbers');
    if (reason !== undefined) assert.match(e.reason, reason);
    return true;
  });
}

/** parse(format(v)) deep-equals v. */
function roundTrips<T>(c: SdpAttributeCodec<T>, v: T): void {
  const text = c.format(v);
  assert.deepEqual(c.parse(text ?? ''), v, `${c.name}: ${String(text)}`);
}

const KEY = 'TTcB582lvKmTeggbwOoTP3XyUOntOH7v7wPqSmv3';

describe('helpers', () => {
  it('splits on runs of spaces and tabs', () => {
    assert.deepEqual(splitWs('  a \t b  c '), ['a', 'b', 'c']);
    assert.deepEqual(splitWs(''), []);
  });
  it('knows the wildcards', () => {
    assert.ok(isWildcard('$') && isWildcard('-') && isWildcard('*'));
    assert.ok(!isWildcard('0') && !isWildcard(0));
  });
});

describe('m=', () => {
  it('parses and formats', () => {
    assert.deepEqual(parseMediaLine('audio 49170 RTP/AVP 0 8'), {
      media: 'audio',
      port: 49170,
      proto: 'RTP/AVP',
      formats: ['0', '8'],
    });
    assert.deepEqual(parseMediaLine('video 49170/2 RTP/AVP 31'), {
      media: 'video',
      port: 49170,
      portCount: 2,
      proto: 'RTP/AVP',
      formats: ['31'],
    });
    assert.deepEqual(parseMediaLine('audio $ RTP/AVP -').port, '$');
    assert.deepEqual(parseMediaLine('application 9 TCP').formats, []);
    assert.equal(
      formatMediaLine({ media: 'audio', port: '$', portCount: 2, proto: 'RTP/AVP', formats: ['-'] }),
      'audio $/2 RTP/AVP -',
    );
    assert.equal(
      formatMediaLine({ media: 'application', port: 9, proto: 'TCP', formats: [] }),
      'application 9 TCP',
    );
  });
  it('rejects broken m= values', () => {
    bad(() => parseMediaLine('audio 1'), /needs media, port and transport/);
    bad(() => parseMediaLine('audio -1 RTP/AVP 0'));
    bad(() => parseMediaLine('audio 1/x RTP/AVP 0'));
    bad(() => parseMediaLine('audio 00000000000000000001 RTP/AVP 0'));
    bad(() => formatMediaLine({ media: 'audio', port: 1.5, proto: 'RTP/AVP', formats: [] }));
    bad(() => formatMediaLine({ media: '', port: 1, proto: 'RTP/AVP', formats: [] }));
  });
  it('classifies transports and leaves others unknown', () => {
    assert.equal(classifyTransport('Rtp/Savpf'), 'RTP/SAVPF');
    assert.equal(classifyTransport('UDP/DTLS'), 'UDP/TLS/UDPTL');
    assert.equal(classifyTransport('DCCP/RTP/AVP'), 'unknown');
  });
});

describe('c=', () => {
  it('parses unicast, CHOOSE, IP6 and multicast forms', () => {
    assert.deepEqual(parseConnection('IN IP4 192.0.2.1'), {
      nettype: 'IN',
      addrtype: 'IP4',
      address: '192.0.2.1',
    });
    assert.deepEqual(parseConnection('IN IP4 $'), { nettype: 'IN', addrtype: 'IP4', address: '$' });
    assert.deepEqual(parseConnection(' IN  IP6 2001:db8::1 '), {
      nettype: 'IN',
      addrtype: 'IP6',
      address: '2001:db8::1',
    });
    assert.deepEqual(parseConnection('IN IP4 224.2.1.1/127/3'), {
      nettype: 'IN',
      addrtype: 'IP4',
      address: '224.2.1.1',
      ttl: 127,
      count: 3,
    });
    assert.deepEqual(parseConnection('IN IP6 FF15::101/3'), {
      nettype: 'IN',
      addrtype: 'IP6',
      address: 'FF15::101',
      count: 3,
    });
    assert.deepEqual(parseConnection('IN X25 a/b'), { nettype: 'IN', addrtype: 'X25', address: 'a/b' });
    for (const v of [
      'IN IP4 192.0.2.1',
      'IN IP4 224.2.1.1/127/3',
      'IN IP4 224.2.1.1/127',
      'IN IP6 FF15::101/3',
      'IN IP4 $',
    ]) {
      assert.equal(formatConnection(parseConnection(v)), v);
    }
  });
  it('rejects broken c= values', () => {
    bad(() => parseConnection('IN IP4'));
    bad(() => parseConnection('IN IP4 1.2.3.4 x'));
    bad(() => parseConnection('IN IP4 224.2.1.1/256'));
    bad(() => parseConnection('IN IP4 224.2.1.1/1/2/3'));
    bad(() => parseConnection('IN IP6 ::/1/2'));
    bad(() => parseConnection('IN IP4 /1'));
    bad(() => formatConnection({ nettype: 'IN', addrtype: 'IP4', address: '1.2.3.4\r\nx' }));
  });
});

describe('b=', () => {
  it('parses and formats AS, TIAS, CT, RS, RR', () => {
    for (const v of ['AS:64', 'TIAS:64000', 'CT:1000', 'RS:800', 'RR:2000']) {
      assert.equal(formatBandwidth(parseBandwidth(v)), v);
    }
    assert.deepEqual(parseBandwidth('TIAS: 64000 '), { type: 'TIAS', value: 64000 });
  });
  it('rejects broken b= values', () => {
    bad(() => parseBandwidth('AS'));
    bad(() => parseBandwidth(':64'));
    bad(() => parseBandwidth('AS:-1'));
    bad(() => parseBandwidth('AS:1.5'));
    bad(() => formatBandwidth({ type: 'A:S', value: 1 }));
  });
});

describe('a=rtpmap, a=fmtp, ptime, maxptime', () => {
  it('parses rtpmap with and without channels', () => {
    assert.deepEqual(parseRtpmap('96 AMR-WB/16000/1'), {
      pt: 96,
      encoding: 'AMR-WB',
      clockRate: 16000,
      channels: 1,
    });
    assert.deepEqual(parseRtpmap('101 telephone-event/8000'), {
      pt: 101,
      encoding: 'telephone-event',
      clockRate: 8000,
    });
    assert.deepEqual(parseRtpmap(' 0   PCMU/8000 '), { pt: 0, encoding: 'PCMU', clockRate: 8000 });
    assert.equal(
      formatRtpmap({ pt: 111, encoding: 'opus', clockRate: 48000, channels: 2 }),
      '111 opus/48000/2',
    );
  });
  it('rejects broken rtpmap values', () => {
    bad(() => parseRtpmap('128 PCMU/8000'), /payload type/);
    bad(() => parseRtpmap('96 AMR-WB'));
    bad(() => parseRtpmap('96'));
    bad(() => parseRtpmap('96 AMR/0'));
    bad(() => parseRtpmap('96 AMR/8000/x'));
    bad(() => parseRtpmap('96 AMR/8000/1/2'));
    bad(() => parseRtpmap(''), /needs a value/);
  });
  it('parses fmtp and its parameters', () => {
    assert.deepEqual(parseFmtp('96 mode-set=0,2,4,7; octet-align=1'), {
      format: '96',
      params: 'mode-set=0,2,4,7; octet-align=1',
    });
    assert.deepEqual(parseFmtp('101'), { format: '101', params: '' });
    assert.deepEqual(
      [...parseFmtpParameters('Mode-Set=0,2,4,7; octet-align=1;;max-red = 0')],
      [
        ['mode-set', '0,2,4,7'],
        ['octet-align', '1'],
        ['max-red', '0'],
      ],
    );
    assert.deepEqual([...parseFmtpParameters('0-15')], [['0-15', '']]);
  });
  it('parses ptime and maxptime, fractions allowed', () => {
    assert.equal(SDP_ATTR.ptime.parse('20'), 20);
    assert.equal(SDP_ATTR.ptime.parse('22.5'), 22.5);
    assert.equal(SDP_ATTR.maxptime.parse(' 240 '), 240);
    bad(() => SDP_ATTR.ptime.parse('0'));
    bad(() => SDP_ATTR.ptime.parse('-20'));
    bad(() => SDP_ATTR.ptime.parse('20ms'));
    bad(() => SDP_ATTR.ptime.parse('1e3'));
    roundTrips(SDP_ATTR.ptime, 30);
  });
});

describe('a=rtcp, a=rtcp-mux', () => {
  it('parses port only, port with address, and CHOOSE', () => {
    assert.deepEqual(parseRtcp('53020'), { port: 53020 });
    assert.deepEqual(parseRtcp('53020 IN IP4 126.16.64.4'), {
      port: 53020,
      nettype: 'IN',
      addrtype: 'IP4',
      address: '126.16.64.4',
    });
    assert.deepEqual(parseRtcp('40001 IN IP6 2001:db8::2'), {
      port: 40001,
      nettype: 'IN',
      addrtype: 'IP6',
      address: '2001:db8::2',
    });
    assert.deepEqual(parseRtcp('$'), { port: '$' });
    assert.equal(formatRtcp({ port: 9, address: '192.0.2.1' }), '9 IN IP4 192.0.2.1');
    roundTrips(SDP_ATTR.rtcp, { port: 5, nettype: 'IN', addrtype: 'IP6', address: '::1' });
  });
  it('rejects broken rtcp values', () => {
    bad(() => parseRtcp('70000'));
    bad(() => parseRtcp('5 IN IP4'));
    bad(() => parseRtcp('x'));
  });
  it('rtcp-mux is a property attribute', () => {
    assert.equal(SDP_ATTR.rtcpMux.parse(''), true);
    assert.equal(SDP_ATTR.rtcpMux.format(true), undefined);
  });
});

describe('a=crypto (RFC 4568)', () => {
  it('parses lifetime 2^20 and MKI 1:4', () => {
    const c = parseCrypto(`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`);
    assert.deepEqual(c, {
      tag: 1,
      suite: 'AES_CM_128_HMAC_SHA1_80',
      keys: [{ method: 'inline', keySalt: KEY, lifetime: 1048576, mki: { value: 1n, length: 4 } }],
      unencryptedSrtp: false,
      unencryptedSrtcp: false,
      unauthenticatedSrtp: false,
      extraParams: [],
    });
    assert.equal(formatCrypto(c), `1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`);
  });
  it('parses a decimal lifetime, MKI without lifetime, lifetime without MKI', () => {
    assert.equal(parseCrypto(`1 S inline:${KEY}|1000`).keys[0]?.lifetime, 1000);
    assert.deepEqual(parseCrypto(`1 S inline:${KEY}|255:1`).keys[0], {
      method: 'inline',
      keySalt: KEY,
      mki: { value: 255n, length: 1 },
    });
    assert.equal(parseCrypto(`1 S inline:${KEY}|2^48`).keys[0]?.lifetime, 2 ** 48);
    const big = parseCrypto(`1 S inline:${KEY}|340282366920938463463374607431768211455:16`).keys[0]?.mki;
    assert.deepEqual(big, { value: 2n ** 128n - 1n, length: 16 });
  });
  it('parses several key params and every session parameter', () => {
    const c = parseCrypto(
      `7 AES_CM_128_HMAC_SHA1_32 inline:${KEY}|2^20|1:4;inline:${KEY}|2^20|2:4 KDR=24 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP FEC_ORDER=FEC_SRTP WSH=256 -EXT`,
    );
    assert.equal(c.keys.length, 2);
    assert.deepEqual(c.keys[1]?.mki, { value: 2n, length: 4 });
    assert.equal(c.kdr, 24);
    assert.equal(c.wsh, 256);
    assert.ok(c.unencryptedSrtp && c.unencryptedSrtcp && c.unauthenticatedSrtp);
    assert.deepEqual(c.extraParams, ['FEC_ORDER=FEC_SRTP', '-EXT']);
    roundTrips(SDP_ATTR.crypto, c);
  });
  it('parses inline:$ (the gateway makes the key)', () => {
    const c = parseCrypto('1 AES_CM_128_HMAC_SHA1_80 inline:$');
    assert.equal(c.keys[0]?.keySalt, '$');
    assert.equal(formatCrypto(c), '1 AES_CM_128_HMAC_SHA1_80 inline:$');
  });
  it('keeps other key methods raw', () => {
    assert.deepEqual(parseCrypto('1 S foo:a|b|c').keys[0], { method: 'foo', keySalt: 'a|b|c' });
  });
  it('formats lifetimes as 2^n for large powers of two', () => {
    const base: SdpCrypto = {
      tag: 2,
      suite: 'AEAD_AES_256_GCM',
      keys: [
        { method: 'inline', keySalt: KEY, lifetime: 2 ** 31 },
        { method: 'inline', keySalt: KEY, lifetime: 1000 },
      ],
      unencryptedSrtp: false,
      unencryptedSrtcp: true,
      unauthenticatedSrtp: false,
      kdr: 1,
      extraParams: [],
    };
    assert.equal(
      formatCrypto(base),
      `2 AEAD_AES_256_GCM inline:${KEY}|2^31;inline:${KEY}|1000 KDR=1 UNENCRYPTED_SRTCP`,
    );
    roundTrips(SDP_ATTR.crypto, base);
  });
  it('rejects broken crypto values', () => {
    bad(() => parseCrypto('1 AES_CM_128_HMAC_SHA1_80'), /needs <tag> <suite> <key params>/);
    bad(() => parseCrypto(`x AES inline:${KEY}`), /tag/);
    bad(() => parseCrypto('1 AES inline:abc*def'), /base64/);
    bad(() => parseCrypto('1 AES inline:'), /base64/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|1:4|2^20`), /MKI must be the last/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|2^20|2^10`), /two lifetimes/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|2^20|1:4|x`), /too many/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|256:1`), /does not fit/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|1:0`), /MKI length/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|1:129`), /MKI length/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|2^65`), /exponent/);
    bad(() => parseCrypto(`1 AES inline:${KEY}|0`), /lifetime/);
    bad(() => parseCrypto(`1 AES inline:${KEY} KDR=25`), /KDR/);
    bad(() => parseCrypto(`1 AES inline:${KEY} WSH=32`), /WSH/);
    bad(() => parseCrypto(`1 AES :${KEY}`));
    bad(() => parseCrypto(`1 AES inline:${KEY}|${'9'.repeat(400)}:128`), /MKI value/);
    bad(() => formatCrypto({ ...parseCrypto(`1 S inline:${KEY}`), keys: [] }));
    bad(() =>
      formatCrypto({
        ...parseCrypto(`1 S inline:${KEY}`),
        keys: [{ method: 'inline', keySalt: KEY, mki: { value: 300n, length: 1 } }],
      }),
    );
  });
});

describe('a=fingerprint (RFC 8122)', () => {
  it('parses hex fingerprints in either case, and $', () => {
    assert.deepEqual(parseFingerprint('SHA-256 AB:cd:01'), { hash: 'SHA-256', value: 'AB:cd:01' });
    assert.deepEqual(parseFingerprint('sha-1  $ '), { hash: 'sha-1', value: '$' });
    assert.equal(formatFingerprint({ hash: 'SHA-512', value: '00' }), 'SHA-512 00');
  });
  it('rejects broken fingerprints', () => {
    bad(() => parseFingerprint('SHA-256'));
    bad(() => parseFingerprint('SHA-256 AB:C'));
    bad(() => parseFingerprint('SHA-256 AB:CD:'));
    bad(() => parseFingerprint('SHA-256 ABCD'));
    bad(() => parseFingerprint('SHA-256 GG'));
    bad(() => parseFingerprint('SHA-256 AB CD'));
  });
});

describe('comedia and TLS: setup, connection, tls-id', () => {
  it('parses setup and connection case-insensitively into canonical values', () => {
    for (const v of ['active', 'passive', 'actpass', 'holdconn'] as const) {
      assert.equal(SDP_ATTR.setup.parse(v.toUpperCase()), v);
      roundTrips(SDP_ATTR.setup, v);
    }
    assert.equal(SDP_ATTR.connection.parse('existing'), 'existing');
    assert.equal(SDP_ATTR.connection.parse('NEW'), 'new');
    bad(() => SDP_ATTR.setup.parse('both'), /one of active, passive, actpass, holdconn/);
    bad(() => SDP_ATTR.setup.parse(''));
    bad(() => SDP_ATTR.connection.parse('old'));
  });
  it('parses tls-id (RFC 8842) and $', () => {
    assert.equal(SDP_ATTR.tlsId.parse('abc3de65cddef001be82'), 'abc3de65cddef001be82');
    assert.equal(SDP_ATTR.tlsId.parse('a+b/c-d_e'), 'a+b/c-d_e');
    assert.equal(SDP_ATTR.tlsId.parse('$'), '$');
    bad(() => SDP_ATTR.tlsId.parse('abc def'));
    bad(() => SDP_ATTR.tlsId.parse('abc=def'));
    bad(() => SDP_ATTR.tlsId.parse('x'.repeat(256)));
  });
});

describe('MSRP: path, msrp-cema, accept-types, accept-wrapped-types, max-size', () => {
  it('parses path lists and $', () => {
    assert.deepEqual(SDP_ATTR.path.parse('msrp://a.example.com:7654/jshA7we;tcp'), [
      'msrp://a.example.com:7654/jshA7we;tcp',
    ]);
    assert.deepEqual(SDP_ATTR.path.parse('MSRPS://a:1/x;tcp  msrp://b:2/y;tcp'), [
      'MSRPS://a:1/x;tcp',
      'msrp://b:2/y;tcp',
    ]);
    assert.deepEqual(SDP_ATTR.path.parse('$'), ['$']);
    assert.equal(
      SDP_ATTR.path.format(['msrp://a:1/x;tcp', 'msrp://b:2/y;tcp']),
      'msrp://a:1/x;tcp msrp://b:2/y;tcp',
    );
    bad(() => SDP_ATTR.path.parse('sip:alice@example.com'), /msrp/);
    bad(() => SDP_ATTR.path.parse(''));
    bad(() => SDP_ATTR.path.format([]));
  });
  it('parses the rest', () => {
    assert.equal(SDP_ATTR.msrpCema.parse(''), true);
    assert.deepEqual(SDP_ATTR.acceptTypes.parse('message/cpim text/plain'), ['message/cpim', 'text/plain']);
    assert.deepEqual(SDP_ATTR.acceptTypes.parse('*'), ['*']);
    assert.deepEqual(SDP_ATTR.acceptWrappedTypes.parse('text/plain image/*'), ['text/plain', 'image/*']);
    assert.equal(SDP_ATTR.maxSize.parse('131072'), 131072);
    roundTrips(SDP_ATTR.acceptTypes, ['a/b', '*']);
    bad(() => SDP_ATTR.acceptTypes.parse(' '));
    bad(() => SDP_ATTR.maxSize.parse('big'));
  });
});

describe('direction, 3ge2ae, label, mid', () => {
  it('direction attributes are property attributes', () => {
    for (const c of [SDP_ATTR.sendrecv, SDP_ATTR.sendonly, SDP_ATTR.recvonly, SDP_ATTR.inactive]) {
      assert.equal(c.parse(''), true);
      assert.equal(c.format(true), undefined);
    }
  });
  it('3ge2ae, label and mid are tokens', () => {
    assert.equal(SDP_ATTR.e2ae.parse('requested'), 'requested');
    assert.equal(SDP_ATTR.e2ae.name, '3ge2ae');
    assert.equal(SDP_ATTR.label.parse(' 11 '), '11');
    assert.equal(SDP_ATTR.mid.parse('audio'), 'audio');
    bad(() => SDP_ATTR.mid.parse(''));
    bad(() => SDP_ATTR.label.parse('a b'));
  });
});

describe('T.38 (ITU-T T.38 Annex D/E)', () => {
  it('parses numbers, rate management, error correction and booleans in both forms', () => {
    assert.equal(SDP_ATTR.t38FaxVersion.parse('3'), 3);
    assert.equal(SDP_ATTR.t38MaxBitRate.parse('14400'), 14400);
    assert.equal(SDP_ATTR.t38FaxMaxBuffer.parse('1800'), 1800);
    assert.equal(SDP_ATTR.t38FaxMaxDatagram.parse('400'), 400);
    assert.equal(SDP_ATTR.t38FaxRateManagement.parse('localtcf'), 'localTCF');
    assert.equal(SDP_ATTR.t38FaxRateManagement.parse('transferredTCF'), 'transferredTCF');
    assert.equal(SDP_ATTR.t38FaxRateManagement.parse('futureTCF'), 'futureTCF');
    assert.equal(SDP_ATTR.t38FaxUdpEC.parse('T38UDPREDUNDANCY'), 't38UDPRedundancy');
    assert.equal(SDP_ATTR.t38FaxUdpEC.parse('t38UDPFEC'), 't38UDPFEC');
    for (const c of [
      SDP_ATTR.t38FaxFillBitRemoval,
      SDP_ATTR.t38FaxTranscodingMMR,
      SDP_ATTR.t38FaxTranscodingJBIG,
    ]) {
      assert.equal(c.parse(''), true);
      assert.equal(c.parse('1'), true);
      assert.equal(c.parse('0'), false);
      assert.equal(c.format(true), undefined);
      assert.equal(c.format(false), '0');
      bad(() => c.parse('yes'));
    }
    bad(() => SDP_ATTR.t38FaxVersion.parse('256'));
    bad(() => SDP_ATTR.t38MaxBitRate.parse(''));
    bad(() => SDP_ATTR.t38FaxUdpEC.parse('a b'));
  });
});
