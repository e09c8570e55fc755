import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_SDP_LIMITS,
  ERR_SDP,
  ERR_SDP_LIMIT,
  SDP_ATTR,
  SdpError,
  SdpGroup,
  parseSdp,
  serializeSdp,
} from '../../../../daemon/control/codec/sdp.js';
import type { SdpCrypto, SdpGroup as SdpGroupT } from '../../../../daemon/control/codec/sdp.js';
import { toH248Error } from '../../../../daemon/control/errors.js';
import { isTrgwdError } from '../../../../daemon/errors.js';
import { SDP_SAMPLES, sampleText } from '../../../fixtures/sdp/samples.js';
import type { SdpSampleName } from '../../../fixtures/sdp/samples.js';

const NAMES = Object.keys(SDP_SAMPLES) as SdpSampleName[];

function one(text: string): SdpGroupT {
  const groups = parseSdp(text);
  assert.equal(groups.length, 1);
  return groups[0] as SdpGroupT;
}

/** Asserts `fn` throws our SdpError with this code and (when given) line. */
function throwsSdp(fn: () => unknown, code: string, line?: number): SdpError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SdpError, `expected SdpError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (line !== undefined) {
    assert.equal(caught.line, line);
    assert.match(caught.message, new RegExp(`line ${line}:`));
    assert.equal(caught.details?.line, line);
  }
  assert.doesNotMatch(caught.message, /["{}]/, 'error text must be safe in an H.248 quoted string');
  return caught;
}

/** Line-by-line difference of two texts: indexes of lines that differ. */
function changedLines(a: string, b: string): number[] {
  const la = a.split('\r\n');
  const lb = b.split('\r\n');
  assert.equal(la.length, lb.length, 'line count changed');
  return la.flatMap((l, i) => (l === lb[i] ? [] : [i]));
}

describe('parseSdp / serializeSdp: lossless round trip', () => {
  for (const name of NAMES) {
    it(`${name}: byte-identical with CRLF and with LF`, () => {
      for (const eol of ['\r\n', '\n'] as const) {
        const text = sampleText(name, eol);
        const groups = parseSdp(text);
        assert.equal(serializeSdp(groups), text);
        assert.equal(
          serializeSdp(groups, { eol: eol === '\n' ? '\r\n' : '\n' }),
          sampleText(name, eol === '\n' ? '\r\n' : '\n'),
        );
      }
    });
  }

  it('keeps every line, in order, split into session and media sections', () => {
    const g = one(sampleText('ipv6RtcpMux'));
    assert.deepEqual(
      g.allLines().map((l) => `${l.type}=${l.value}`),
      SDP_SAMPLES.ipv6RtcpMux,
    );
    assert.equal(g.session.lines.length, 6);
    assert.equal(g.media.length, 2);
    assert.deepEqual(
      g.media.map((m) => m.lines[0]?.type),
      ['m', 'm'],
    );
    assert.equal(g.media[0]?.lines[3]?.lineNo, 10);
  });

  it('tolerates indentation, blank lines, leading/trailing whitespace, a missing final EOL and bare CR', () => {
    const messy =
      '\n   v=0\r\n\t\to=- 1 1 IN IP4 192.0.2.1\n\n  s=-\r  c=IN IP4 192.0.2.1\n t=0 0\n   m=audio 4000 RTP/AVP 0\n\t\t\t\t';
    const g = one(messy);
    assert.equal(
      serializeSdp([g], { eol: '\n' }),
      'v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n',
    );
    assert.equal(g.eol, '\n', 'end of line is the first one seen');
    assert.equal(g.media[0]?.lines[0]?.lineNo, 8);
    assert.equal(one('v=0').toString(), 'v=0\r\n');
  });

  it('keeps trailing spaces in a line (s= with one space is the RFC empty session name)', () => {
    const text = 'v=0\r\ns= \r\nm=audio 4000 RTP/AVP 0 \r\n';
    assert.equal(serializeSdp(parseSdp(text)), text);
    assert.deepEqual(parseSdp(text)[0]?.media[0]?.formats, ['0']);
  });

  it('gives no group for an empty or blank descriptor', () => {
    assert.deepEqual(parseSdp(''), []);
    assert.deepEqual(parseSdp('\n  \r\n\t\n'), []);
    assert.equal(serializeSdp([]), '');
  });
});

describe('groups (alternatives) and partial SDP', () => {
  it('splits RFC 3525 Appendix I alternatives at each v=', () => {
    const groups = parseSdp(sampleText('rfc3525Alternatives', '\n'));
    assert.equal(groups.length, 2);
    assert.deepEqual(
      groups.map((g) => g.media[0]?.formats),
      [['4'], ['0']],
    );
    assert.equal(groups[0]?.media[0]?.get(SDP_ATTR.ptime), 30);
    assert.equal(groups[1]?.media[0]?.get(SDP_ATTR.ptime), undefined);
    assert.equal(groups[1]?.session.lines[0]?.lineNo, 5);
    assert.ok(groups.every((g) => !g.partial));
  });

  it('takes a descriptor without v= as one partial group', () => {
    const g = one(sampleText('partial'));
    assert.ok(g.partial);
    assert.equal(g.session.lines.length, 1);
    assert.equal(g.media[0]?.port, '$');
    assert.equal(g.effectiveConnection(g.media[0]!)?.address, '$');
  });

  it('makes lines before the first v= a group of their own', () => {
    const groups = parseSdp('c=IN IP4 $\nv=0\nm=audio $ RTP/AVP 0\n');
    assert.equal(groups.length, 2);
    assert.ok(groups[0]?.partial);
    assert.ok(!groups[1]?.partial);
  });
});

describe('media sections', () => {
  it('reads m= fields, port count and placeholders', () => {
    const [g] = parseSdp(
      'm=video 49170/2 RTP/AVP 31 32\nm=audio $ RTP/AVP -\nm=image - udptl t38\nm=audio * RTP/AVP $\n',
    );
    const [a, b, c, d] = g!.media;
    assert.equal(a?.media, 'video');
    assert.equal(a?.port, 49170);
    assert.equal(a?.portCount, 2);
    assert.deepEqual(a?.formats, ['31', '32']);
    assert.equal(a?.anyFormat, false);
    assert.equal(b?.port, '$');
    assert.equal(b?.anyFormat, true);
    assert.equal(c?.port, '-');
    assert.equal(c?.transport, 'udptl');
    assert.equal(d?.port, '*');
    assert.deepEqual(d?.formats, ['$']);
  });

  it('classifies the transport per PROFILE §3, case-insensitively', () => {
    const cases: [string, string][] = [
      ['RTP/AVP', 'RTP/AVP'],
      ['rtp/avpf', 'RTP/AVPF'],
      ['RTP/SAVP', 'RTP/SAVP'],
      ['RTP/SAVPF', 'RTP/SAVPF'],
      ['udptl', 'udptl'],
      ['UDPTL', 'udptl'],
      ['UDP/TLS/UDPTL', 'UDP/TLS/UDPTL'],
      ['UDP/DTLS/UDPTL', 'UDP/TLS/UDPTL'],
      ['udp/dtls', 'UDP/TLS/UDPTL'],
      ['TCP', 'TCP'],
      ['TCP/MSRP', 'TCP/MSRP'],
      ['tcp/tls/msrp', 'TCP/TLS/MSRP'],
      ['TCP/TLS', 'TCP/TLS'],
      ['TCP/TLS/BFCP', 'TCP/TLS/BFCP'],
      ['TCP/BFCP', 'TCP/BFCP'],
      ['UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVP'],
      ['UDP/TLS/RTP/SAVPF', 'UDP/TLS/RTP/SAVPF'],
      ['TCP/RTP/AVP', 'unknown'],
      ['RTP/AVP/TCP', 'unknown'],
    ];
    for (const [proto, want] of cases) {
      const m = one(`m=audio 1 ${proto} 0`).media[0];
      assert.equal(m?.transport, want, proto);
      assert.equal(m?.proto, proto, 'proto stays as written');
    }
  });

  it('resolves the effective connection: media c= else session c=', () => {
    const g = one(sampleText('ipv6RtcpMux'));
    assert.deepEqual(g.effectiveConnection(g.media[0]!), {
      nettype: 'IN',
      addrtype: 'IP6',
      address: '2001:db8::2',
    });
    assert.equal(g.effectiveConnection(g.media[1]!)?.address, '2001:db8::1');
    const none = one('v=0\nm=audio 1 RTP/AVP 0\n');
    assert.equal(none.effectiveConnection(none.media[0]!), undefined);
  });

  it('resolves the direction: media else session else sendrecv', () => {
    const g = one(sampleText('ipv6RtcpMux'));
    assert.equal(g.effectiveDirection(g.media[0]!), 'sendonly');
    assert.equal(g.effectiveDirection(g.media[1]!), 'inactive');
    const r = one(sampleText('rfc3525Reply'));
    assert.equal(r.effectiveDirection(r.media[0]!), 'recvonly');
    const p = one(sampleText('partial'));
    assert.equal(p.effectiveDirection(p.media[0]!), 'sendrecv');
  });

  it('reads b= lines typed', () => {
    const g = one(sampleText('imsAmrWb'));
    const m = g.media[0]!;
    assert.deepEqual(m.bandwidths(), [
      { type: 'AS', value: 41 },
      { type: 'RS', value: 0 },
      { type: 'RR', value: 2000 },
    ]);
    assert.equal(m.bandwidth('as'), 41);
    assert.equal(m.bandwidth('TIAS'), undefined);
    assert.equal(g.session.bandwidth('AS'), 41);
    assert.equal(one(sampleText('srtpMultiCrypto')).media[0]?.bandwidth('TIAS'), 64000);
  });
});

describe('typed attributes on parsed samples', () => {
  it('IMS AMR-WB: rtpmap, fmtp, ptime, maxptime', () => {
    const m = one(sampleText('imsAmrWb')).media[0]!;
    assert.equal(m.rtpmaps().length, 4);
    assert.deepEqual(m.rtpmap(96), { pt: 96, encoding: 'AMR-WB', clockRate: 16000, channels: 1 });
    assert.deepEqual(m.rtpmap(101), { pt: 101, encoding: 'telephone-event', clockRate: 16000 });
    assert.equal(m.rtpmap(9), undefined);
    assert.deepEqual(m.fmtp(97), { format: '97', params: 'octet-align=1; mode-change-capability=2' });
    assert.deepEqual(m.fmtp('101'), { format: '101', params: '0-15' });
    assert.equal(m.fmtp(1), undefined, 'fmtp:101 is not the fmtp of format 1');
    assert.equal(m.get(SDP_ATTR.ptime), 20);
    assert.equal(m.get(SDP_ATTR.maxptime), 240);
    assert.equal(m.direction(), 'sendrecv');
  });

  it('SRTP: every crypto line, typed', () => {
    const m = one(sampleText('srtpMultiCrypto')).media[0]!;
    const c = m.getAll(SDP_ATTR.crypto);
    assert.deepEqual(
      c.map((x) => [x.tag, x.suite, x.keys.length]),
      [
        [1, 'AES_CM_128_HMAC_SHA1_80', 1],
        [2, 'AES_CM_128_HMAC_SHA1_32', 2],
        [3, 'AEAD_AES_128_GCM', 1],
        [4, 'AES_CM_128_HMAC_SHA1_80', 1],
      ],
    );
    assert.equal(c[0]?.keys[0]?.lifetime, 2 ** 20);
    assert.deepEqual(c[0]?.keys[0]?.mki, { value: 1n, length: 4 });
    assert.deepEqual(c[1]?.keys[1]?.mki, { value: 2n, length: 1 });
    assert.equal(c[1]?.unencryptedSrtcp, true);
    assert.equal(c[2]?.kdr, 0);
    assert.equal(c[2]?.wsh, 128);
    assert.equal(c[3]?.unencryptedSrtp, true);
    assert.equal(c[3]?.unauthenticatedSrtp, true);
    assert.equal(c[3]?.keys[0]?.lifetime, undefined);
  });

  it('MSRP over TLS: path, setup, connection, fingerprints, accept-types, cema, max-size', () => {
    const m = one(sampleText('msrpTls')).media[0]!;
    assert.equal(m.transport, 'TCP/TLS/MSRP');
    assert.deepEqual(m.formats, ['*']);
    assert.deepEqual(m.get(SDP_ATTR.path), [
      'msrps://203.0.113.5:12763/kjhd37s2s20w2a;tcp',
      'msrps://198.51.100.9:2855/iau39soe2843z;tcp',
    ]);
    assert.equal(m.get(SDP_ATTR.setup), 'actpass');
    assert.equal(m.get(SDP_ATTR.connection), 'new');
    assert.deepEqual(
      m.getAll(SDP_ATTR.fingerprint).map((f) => f.hash),
      ['SHA-256', 'sha-1'],
    );
    assert.deepEqual(m.get(SDP_ATTR.acceptTypes), ['message/cpim', 'text/plain', 'text/html']);
    assert.deepEqual(m.get(SDP_ATTR.acceptWrappedTypes), ['text/plain', 'image/*']);
    assert.equal(m.get(SDP_ATTR.maxSize), 131072);
    assert.equal(m.get(SDP_ATTR.msrpCema), true);
    assert.equal(m.hasAttribute(SDP_ATTR.msrpCema), true);
    assert.equal(m.get(SDP_ATTR.rtcpMux), undefined);
  });

  it('T.38 over UDPTL and over DTLS', () => {
    const u = one(sampleText('t38Udptl')).media[0]!;
    assert.deepEqual(u.t38(), {
      version: 0,
      maxBitRate: 14400,
      rateManagement: 'transferredTCF',
      maxBuffer: 262,
      maxDatagram: 176,
      udpEC: 't38UDPRedundancy',
      fillBitRemoval: true,
      transcodingMMR: false,
      transcodingJBIG: false,
    });
    const d = one(sampleText('t38Dtls')).media[0]!;
    assert.equal(d.transport, 'UDP/TLS/UDPTL');
    assert.equal(d.get(SDP_ATTR.tlsId), '7srz8TcTt4kdNc6Hvb6Q');
    assert.equal(d.get(SDP_ATTR.setup), 'actpass');
    assert.deepEqual(d.t38(), {
      version: 2,
      maxBitRate: 33600,
      rateManagement: 'transferredTCF',
      maxDatagram: 400,
      udpEC: 't38UDPFEC',
    });
  });

  it('IPv6 with rtcp-mux, a=rtcp with an address, mid, label, 3ge2ae', () => {
    const g = one(sampleText('ipv6RtcpMux'));
    const m = g.media[0]!;
    assert.deepEqual(g.session.connection(), { nettype: 'IN', addrtype: 'IP6', address: '2001:db8::1' });
    assert.deepEqual(m.get(SDP_ATTR.rtcp), {
      port: 40001,
      nettype: 'IN',
      addrtype: 'IP6',
      address: '2001:db8::2',
    });
    assert.equal(m.get(SDP_ATTR.rtcpMux), true);
    assert.equal(m.get(SDP_ATTR.mid), 'audio0');
    assert.equal(m.get(SDP_ATTR.label), '1');
    assert.equal(m.get(SDP_ATTR.e2ae), 'requested');
    assert.deepEqual(m.rtpmap(96), { pt: 96, encoding: 'opus', clockRate: 48000, channels: 2 });
    assert.equal(m.getAttribute('rtcp-fb'), '96 nack', 'unknown attributes stay readable, raw');
    assert.equal(g.media[1]?.port, 0);
  });

  it('placeholders: $ and - everywhere H.248 allows them', () => {
    const g = one(sampleText('placeholders'));
    const [relay, srtp, msrp, fax] = g.media;
    assert.equal(g.session.connection()?.address, '$');
    assert.equal(relay?.anyFormat, true);
    assert.equal(srtp?.get(SDP_ATTR.crypto)?.keys[0]?.keySalt, '$');
    assert.deepEqual(msrp?.get(SDP_ATTR.path), ['$']);
    assert.deepEqual(msrp?.get(SDP_ATTR.fingerprint), { hash: 'SHA-256', value: '$' });
    assert.equal(fax?.get(SDP_ATTR.tlsId), '$');
    assert.equal(fax?.get(SDP_ATTR.setup), 'active');
  });

  it('TCP bearers: setup roles, connection, unknown attributes and line types kept', () => {
    const g = one(sampleText('tcpBearers'));
    const [rtp, bfcp] = g.media;
    assert.equal(rtp?.get(SDP_ATTR.setup), 'active');
    assert.equal(rtp?.get(SDP_ATTR.connection), 'existing');
    assert.equal(bfcp?.get(SDP_ATTR.setup), 'holdconn');
    assert.equal(bfcp?.transport, 'TCP/TLS/BFCP');
    assert.equal(bfcp?.getAttribute('floorid'), '1 m-stream:10');
    assert.equal(bfcp?.getLine('y')?.value, 'unknown line type, kept verbatim');
  });

  it('lists attributes untyped, with name and raw value', () => {
    const m = one('m=audio 1 RTP/AVP 0\na=rtcp-mux\na=ptime:20\na=X-Thing: odd value \n').media[0]!;
    assert.deepEqual(
      m.attributes().map((a) => [a.name, a.value]),
      [
        ['rtcp-mux', undefined],
        ['ptime', '20'],
        ['X-Thing', ' odd value '],
      ],
    );
    assert.equal(m.getAttribute('x-thing'), ' odd value ');
    assert.equal(m.getAttribute('rtcp-mux'), '');
    assert.equal(m.getAttribute('nope'), undefined);
  });
});

describe('setters rewrite only the lines they touch', () => {
  const local = sampleText('placeholders');

  it('fills the $ port and address', () => {
    const g = one(local);
    g.media[0]!.setPort(30000);
    g.session.setConnection({ ...g.session.connection()!, address: '192.0.2.99' });
    const out = serializeSdp([g]);
    assert.deepEqual(changedLines(local, out), [1, 2]);
    assert.match(out, /^v=0\r\nc=IN IP4 192\.0\.2\.99\r\nm=audio 30000 RTP\/AVP -\r\n/);
    assert.equal(g.media[0]?.port, 30000);
    assert.equal(one(out).media[0]?.port, 30000);
  });

  it('keeps or drops the port count and normalizes only the m= line it rewrites', () => {
    const g = one('m=audio  $/2  RTP/AVP   0 8\na=x\n');
    const m = g.media[0]!;
    m.setPort(4000);
    assert.equal(m.lines[0]?.value, 'audio 4000/2 RTP/AVP 0 8');
    m.setPort(4002, null);
    assert.equal(m.lines[0]?.value, 'audio 4002 RTP/AVP 0 8');
    m.setFormats(['8']);
    m.setMediaLine({ proto: 'RTP/SAVP' });
    assert.equal(serializeSdp(g), 'm=audio 4002 RTP/SAVP 8\na=x\n');
    assert.equal(m.transport, 'RTP/SAVP');
  });

  it('replaces inline:$ by a key, and $ fingerprint, path and tls-id by values', () => {
    const g = one(local);
    const [, srtp, msrp, fax] = g.media;
    const crypto = srtp!.get(SDP_ATTR.crypto)!;
    const filled: SdpCrypto = {
      ...crypto,
      keys: [{ method: 'inline', keySalt: 'TTcB582lvKmTeggbwOoTP3XyUOntOH7v7wPqSmv3' }],
    };
    srtp!.set(SDP_ATTR.crypto, filled);
    msrp!.set(SDP_ATTR.path, ['msrps://192.0.2.99:30002/s3cr3t;tcp']);
    msrp!.set(SDP_ATTR.fingerprint, { hash: 'SHA-256', value: 'AB:CD' });
    fax!.set(SDP_ATTR.tlsId, 'abcdefghij0123456789');
    const out = serializeSdp([g]);
    assert.deepEqual(changedLines(local, out), [4, 7, 9, 13]);
    const lines = out.split('\r\n');
    assert.equal(
      lines[4],
      'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:TTcB582lvKmTeggbwOoTP3XyUOntOH7v7wPqSmv3',
    );
    assert.equal(lines[7], 'a=path:msrps://192.0.2.99:30002/s3cr3t;tcp');
    assert.equal(lines[9], 'a=fingerprint:SHA-256 AB:CD');
    assert.equal(lines[13], 'a=tls-id:abcdefghij0123456789');
  });

  it('adds attributes after the last one of the same name, else at the end of the section', () => {
    const g = one('v=0\nm=audio 1 RTP/SAVP 0\na=crypto:1 X inline:$\na=sendrecv\nm=audio 2 RTP/AVP 0\n');
    const m = g.media[0]!;
    m.add(SDP_ATTR.crypto, { ...m.get(SDP_ATTR.crypto)!, tag: 2 });
    m.add(SDP_ATTR.rtcpMux, true);
    g.media[1]!.set(SDP_ATTR.ptime, 20);
    g.session.setAttribute('tool', 'trgwd');
    assert.equal(
      serializeSdp(g, { eol: '\n' }),
      'v=0\na=tool:trgwd\nm=audio 1 RTP/SAVP 0\na=crypto:1 X inline:$\na=crypto:2 X inline:$\na=sendrecv\na=rtcp-mux\nm=audio 2 RTP/AVP 0\na=ptime:20\n',
    );
  });

  it('replaces every line of a name with setAll, in place of the first', () => {
    const m = one(sampleText('msrpTls')).media[0]!;
    m.setAll(SDP_ATTR.fingerprint, [{ hash: 'SHA-256', value: '$' }]);
    assert.deepEqual(m.getAttributes('fingerprint'), ['SHA-256 $']);
    assert.equal(m.lines[7]?.value, 'fingerprint:SHA-256 $');
    assert.equal(m.lines[8]?.value, 'msrp-cema');
    assert.equal(m.removeAttribute(SDP_ATTR.fingerprint), 1);
    assert.equal(m.removeAttribute('nothing'), 0);
  });

  it('sets direction, rtpmap, fmtp and T.38 in place', () => {
    const g = one(sampleText('imsAmrWb'));
    const m = g.media[0]!;
    const before = serializeSdp(g);
    m.setDirection('recvonly');
    m.setRtpmap({ pt: 97, encoding: 'AMR-WB', clockRate: 16000 });
    m.setFmtp({ format: '96', params: 'mode-set=0,1,2' });
    assert.deepEqual(changedLines(before, serializeSdp(g)), [11, 12, 19]);
    assert.equal(m.direction(), 'recvonly');
    m.setDirection(undefined);
    assert.equal(m.direction(), undefined);
    m.setRtpmap({ pt: 120, encoding: 'EVS', clockRate: 16000 });
    const values = m.lines.map((l) => l.value);
    assert.equal(values[values.indexOf('rtpmap:102 telephone-event/8000') + 1], 'rtpmap:120 EVS/16000');

    const fax = one(sampleText('t38Udptl')).media[0]!;
    fax.setT38({ version: 1, fillBitRemoval: false, udpEC: 't38UDPFEC' });
    assert.deepEqual(
      fax.lines.slice(1, 4).map((l) => l.value),
      ['T38FaxVersion:1', 'T38MaxBitRate:14400', 'T38FaxFillBitRemoval:0'],
    );
    assert.equal(fax.t38().udpEC, 't38UDPFEC');
  });

  it('inserts c= and b= where RFC 8866 puts them, and removes them', () => {
    const g = one('v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\ni=info\na=ptime:20\n');
    g.session.setConnection({ nettype: 'IN', addrtype: 'IP4', address: '192.0.2.1' });
    g.media[0]!.setConnection({ nettype: 'IN', addrtype: 'IP6', address: '2001:db8::1' });
    g.media[0]!.setBandwidth('AS', 64);
    g.media[0]!.setBandwidth('TIAS', 64000);
    g.media[0]!.setBandwidth('as', 80);
    assert.equal(
      serializeSdp(g, { eol: '\n' }),
      'v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 1 RTP/AVP 0\ni=info\nc=IN IP6 2001:db8::1\nb=as:80\nb=TIAS:64000\na=ptime:20\n',
    );
    g.media[0]!.setBandwidth('AS', undefined);
    g.media[0]!.setConnection(undefined);
    assert.equal(g.media[0]?.lines.map((l) => l.type).join(''), 'miba');
    assert.equal(g.effectiveConnection(g.media[0]!)?.address, '192.0.2.1');
  });

  it('builds a group from nothing', () => {
    const g = new SdpGroup('\n');
    g.session.setLine('v', '0');
    g.session.setLine('o', '- 1 1 IN IP4 192.0.2.1');
    g.session.setLine('s', '-');
    g.session.setLine('t', '0 0');
    g.session.setConnection({ nettype: 'IN', addrtype: 'IP4', address: '192.0.2.1' });
    const m = g.addMedia({ media: 'audio', port: 4000, proto: 'RTP/AVP', formats: ['0', '101'] });
    m.setRtpmap({ pt: 101, encoding: 'telephone-event', clockRate: 8000 });
    m.setFmtp({ format: '101', params: '0-15' });
    m.setDirection('sendrecv');
    const text = g.toString();
    assert.equal(
      text,
      'v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\na=sendrecv\n',
    );
    assert.equal(serializeSdp(parseSdp(text)), text);
    assert.ok(!g.partial);
    g.removeMedia(m);
    assert.equal(g.media.length, 0);
  });

  it('clones deeply: changing the clone leaves the original alone', () => {
    const g = one(local);
    const c = g.clone();
    c.media[0]!.setPort(1);
    c.session.setAttribute('x', 'y');
    assert.equal(serializeSdp(g), local);
    assert.equal(g.media[0]?.port, '$');
  });

  it('refuses values that would inject lines, and m=/v= through the generic setters', () => {
    const m = one(local).media[0]!;
    throwsSdp(() => m.setAttribute('label', 'x\r\nc=IN IP4 6.6.6.6'), ERR_SDP);
    throwsSdp(() => m.setAttribute('bad:name', 'x'), ERR_SDP);
    throwsSdp(() => m.setLine('i', 'a\nb'), ERR_SDP);
    throwsSdp(() => m.setLine('m', 'audio 1 RTP/AVP 0'), ERR_SDP);
    throwsSdp(() => m.setLine('v', '0'), ERR_SDP);
    throwsSdp(() => m.setLine('c', 'IN IP4'), ERR_SDP);
    throwsSdp(() => m.setLine('ab', 'x'), ERR_SDP);
    throwsSdp(() => m.setPort(70000), ERR_SDP);
    throwsSdp(() => m.setFormats(['0 8']), ERR_SDP);
    throwsSdp(() => m.set(SDP_ATTR.label, 'two words'), ERR_SDP);
    throwsSdp(() => m.set(SDP_ATTR.fingerprint, { hash: 'SHA-256', value: 'zz' }), ERR_SDP);
    throwsSdp(() => m.removeLines('m'), ERR_SDP);
    assert.equal(m.lines[0]?.type, 'm');
  });
});

describe('errors', () => {
  const cases: [string, string, number][] = [
    ['m= without transport', 'v=0\nc=IN IP4 $\nm=audio 1234\n', 3],
    ['m= with only media', '\n\nv=0\nm=audio\n', 4],
    ['m= port out of range', 'm=audio 65536 RTP/AVP 0\n', 1],
    ['m= port not a number', 'v=0\r\nm=audio 12a RTP/AVP 0\r\n', 2],
    ['m= bad port count', 'm=audio 1/0 RTP/AVP 0\n', 1],
    ['a line without x=', 'v=0\ns=-\nhello world\n', 3],
    ['a line starting with =', 'v=0\n=0\n', 2],
    ['a digit as type', 'v=0\n1=0\n', 2],
    ['type letter only', 'v=0\r\n  a\r\n', 2],
    ['c= without address', 'v=0\nc=IN IP4\n', 2],
    ['c= with extra fields', 'v=0\nc=IN IP4 1.2.3.4 5\n', 2],
    ['c= bad TTL', 'c=IN IP4 224.2.1.1/300\n', 1],
    ['NUL in a line', 'v=0\na=x\0y\n', 2],
  ];
  for (const [what, text, line] of cases) {
    it(`${what} → ERR_MG_BAD_SDP at line ${line}`, () => {
      const e = throwsSdp(() => parseSdp(text), ERR_SDP, line);
      assert.ok(isTrgwdError(e, 'ERR_MG_BAD_SDP'));
      assert.deepEqual(toH248Error(e), { code: 474, text: e.message });
    });
  }

  it('keeps malformed values of known attributes and fails only when they are read', () => {
    const text =
      'v=0\nm=audio 1 RTP/AVP 0 96\na=rtpmap:0 PCMU/8000\na=rtpmap:96 AMR-WB\na=ptime:abc\na=setup:sideways\na=crypto:1 X inline:not*base64\n';
    const g = one(text);
    assert.equal(serializeSdp(g, { eol: '\n' }), text, 'the odd lines are kept verbatim');
    const m = g.media[0]!;
    assert.deepEqual(m.rtpmap(0), { pt: 0, encoding: 'PCMU', clockRate: 8000 });
    throwsSdp(() => m.rtpmap(96), ERR_SDP, 4);
    throwsSdp(() => m.rtpmaps(), ERR_SDP, 4);
    throwsSdp(() => m.get(SDP_ATTR.ptime), ERR_SDP, 5);
    throwsSdp(() => m.get(SDP_ATTR.setup), ERR_SDP, 6);
    const e = throwsSdp(() => m.getAll(SDP_ATTR.crypto), ERR_SDP, 7);
    assert.match(e.message, /a=crypto inline key is not base64/);
    assert.equal(e.details?.excerpt, 'a=crypto:1 X inline:not*base64');
    assert.equal(m.get(SDP_ATTR.maxptime), undefined);
  });

  it('errors from lines the gateway wrote carry no line number', () => {
    const m = one('m=audio 1 RTP/AVP 0\n').media[0]!;
    m.setAttribute('ptime', 'x');
    const e = throwsSdp(() => m.get(SDP_ATTR.ptime), ERR_SDP);
    assert.equal(e.line, undefined);
  });
});

describe('limits', () => {
  it('has the documented defaults', () => {
    assert.deepEqual({ ...DEFAULT_SDP_LIMITS }, { maxLines: 512, maxLineLength: 4096, maxGroups: 16 });
    assert.ok(Object.isFrozen(DEFAULT_SDP_LIMITS));
  });

  it('rejects more lines than allowed (blank lines not counted)', () => {
    const ok = 'v=0\n' + 'a=x\n\n'.repeat(511);
    assert.equal(parseSdp(ok)[0]?.session.lines.length, 512);
    throwsSdp(() => parseSdp(ok + 'a=y\n'), ERR_SDP_LIMIT, 1024);
    throwsSdp(() => parseSdp('v=0\na=1\na=2\n', { maxLines: 2 }), ERR_SDP_LIMIT, 3);
  });

  it('rejects a line longer than allowed', () => {
    const long = 'a=' + 'x'.repeat(4094);
    assert.equal(parseSdp(`v=0\n${long}\n`)[0]?.session.lines[1]?.value.length, 4094);
    throwsSdp(() => parseSdp(`v=0\n${long}x\n`), ERR_SDP_LIMIT, 2);
    throwsSdp(() => parseSdp('v=0\n' + ' '.repeat(40) + 'a=x\n', { maxLineLength: 40 }), ERR_SDP_LIMIT, 2);
  });

  it('rejects more groups than allowed', () => {
    assert.equal(parseSdp('v=0\n'.repeat(16)).length, 16);
    throwsSdp(() => parseSdp('v=0\n'.repeat(17)), ERR_SDP_LIMIT, 17);
    throwsSdp(() => parseSdp('v=0\nv=0\n', { maxGroups: 1 }), ERR_SDP_LIMIT, 2);
  });

  it('maps limit errors to H.248 474 too', () => {
    const e = throwsSdp(() => parseSdp('v=0\n'.repeat(17)), ERR_SDP_LIMIT);
    assert.equal(toH248Error(e).code, 474);
  });

  it('refuses nonsense limits', () => {
    throwsSdp(() => parseSdp('v=0', { maxLines: 0 }), ERR_SDP_LIMIT);
    throwsSdp(() => parseSdp('v=0', { maxGroups: 1.5 }), ERR_SDP_LIMIT);
  });

  it('stays linear on huge input: one giant line, many lines, many blank lines', () => {
    const cases = [
      'a=' + 'x'.repeat(5_000_000),
      'v=0\n'.repeat(1_000_000),
      'a=x\n'.repeat(1_000_000),
      '\n'.repeat(2_000_000) + 'v=0',
      ' '.repeat(5_000_000),
    ];
    for (const text of cases) {
      const t0 = performance.now();
      try {
        parseSdp(text);
      } catch (e) {
        assert.ok(e instanceof SdpError);
      }
      const ms = performance.now() - t0;
      assert.ok(ms < 1000, `took ${ms} ms for ${text.length} characters`);
    }
  });
});
