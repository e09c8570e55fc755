/**
 * MSRP URIs (RFC 4975 §9, comparison §6.1) and what aware streams take from Local and Remote:
 * `a=path:$` filled with our URI per leg (msrp/msrps, realm address, port, random session id, ;tcp),
 * kept across a Modify, Remote paths checked (474 / 472).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp, type SdpGroup } from '../../../../daemon/control/codec/sdp.js';
import { isTrgwdError } from '../../../../daemon/errors.js';
import { fillMsrpPath, isMsrpAware, msrpLegOf } from '../../../../daemon/bearer/msrp/sdp.js';
import { firstPathUri, formatMsrpUri, gatewayUri, newSessionId, parseMsrpUri, parsePath, sameMsrpUri } from '../../../../daemon/bearer/msrp/uri.js';

test('MSRP URIs parse, format back and compare per RFC 4975 §6.1', () => {
  const u = parseMsrpUri('MSRPS://bob@Example.COM:2855/Se5s-ion_1=+;TCP;foo=bar')!;
  assert.deepEqual(u, {
    scheme: 'msrps',
    userinfo: 'bob',
    host: 'example.com',
    port: 2855,
    sessionId: 'Se5s-ion_1=+',
    transport: 'tcp',
    params: ['foo=bar'],
  });
  assert.equal(formatMsrpUri(u), 'msrps://bob@example.com:2855/Se5s-ion_1=+;tcp;foo=bar');
  const v6 = parseMsrpUri('msrp://[2001:db8::1]:7777/abc;tcp')!;
  assert.equal(v6.host, '2001:db8::1');
  assert.equal(formatMsrpUri(v6), 'msrp://[2001:db8::1]:7777/abc;tcp');
  assert.equal(parseMsrpUri('msrp://relay.example.net:2855;tcp')!.sessionId, undefined);
  for (const bad of ['http://x:1/a;tcp', 'msrp://x:1/a', 'msrp://:1/a;tcp', 'msrp://x:99999/a;tcp', 'msrp://x:1/a b;tcp', 'msrp://[::1/a;tcp']) {
    assert.equal(parseMsrpUri(bad), undefined, bad);
  }
  const a = parseMsrpUri('msrp://h.example:1/s1;tcp')!;
  assert.ok(sameMsrpUri(a, parseMsrpUri('MSRP://user@H.EXAMPLE:1/s1;TCP;x=y')!));
  assert.ok(!sameMsrpUri(a, parseMsrpUri('msrp://h.example:1/S1;tcp')!), 'session id is case-sensitive');
  assert.ok(!sameMsrpUri(a, parseMsrpUri('msrp://h.example/s1;tcp')!), 'a port in one only');
  assert.ok(!sameMsrpUri(a, parseMsrpUri('msrps://h.example:1/s1;tcp')!));
  assert.equal(parsePath('msrp://a:1/x;tcp  msrp://b:2/y;tcp')!.length, 2);
  assert.equal(parsePath('msrp://a:1/x;tcp junk'), undefined);
  assert.equal(firstPathUri('  msrp://a:1/x;tcp msrp://b:2/y;tcp'), 'msrp://a:1/x;tcp');
  const id = newSessionId();
  assert.match(id, /^[A-Za-z0-9_-]{16}$/);
  assert.notEqual(id, newSessionId());
  assert.equal(gatewayUri({ tls: true, address: '::1', port: 5, sessionId: 'z' }), 'msrps://[::1]:5/z;tcp');
});

function sdp(text: string): SdpGroup[] {
  return parseSdp(text.replace(/\n/g, '\r\n'));
}

const LOCAL = (proto: string, path = 'a=path:$\n') => `v=0\nc=IN IP4 203.0.113.10\nm=message 31000 ${proto} *\n${path}a=setup:passive\n`;

test('fillMsrpPath: our URI per leg, msrps on TLS, a path added when the Local has none', () => {
  const tls = sdp(LOCAL('TCP/TLS/MSRP'));
  fillMsrpPath({ transport: 'TCP/TLS/MSRP', local: tls, remote: undefined, current: undefined });
  const p = tls[0]!.media[0]!.getAttribute('path')!;
  assert.match(p, /^msrps:\/\/203\.0\.113\.10:31000\/[A-Za-z0-9_-]{16};tcp$/);
  const tcp = sdp(LOCAL('TCP/MSRP', ''));
  fillMsrpPath({ transport: 'TCP/MSRP', local: tcp, remote: undefined, current: undefined });
  assert.match(tcp[0]!.media[0]!.getAttribute('path')!, /^msrp:\/\/203\.0\.113\.10:31000\/[A-Za-z0-9_-]{16};tcp$/);
  // other transports: untouched
  const plain = sdp(LOCAL('TCP'));
  fillMsrpPath({ transport: 'TCP', local: plain, remote: undefined, current: undefined });
  assert.equal(plain[0]!.media[0]!.getAttribute('path'), '$');
  assert.ok(isMsrpAware('TCP/MSRP') && isMsrpAware('TCP/TLS/MSRP') && !isMsrpAware('TCP') && !isMsrpAware(undefined));
});

test('fillMsrpPath keeps the session id the stream answered when address, port and scheme stay', () => {
  const first = sdp(LOCAL('TCP/MSRP'));
  fillMsrpPath({ transport: 'TCP/MSRP', local: first, remote: undefined, current: undefined });
  const uri = first[0]!.media[0]!.getAttribute('path')!;
  const current = { local: first } as never;
  const again = sdp(LOCAL('TCP/MSRP'));
  fillMsrpPath({ transport: 'TCP/MSRP', local: again, remote: undefined, current });
  assert.equal(again[0]!.media[0]!.getAttribute('path'), uri);
  // another port (a new Local in another realm): a new URI
  const moved = sdp(LOCAL('TCP/MSRP').replace('31000', '31002'));
  fillMsrpPath({ transport: 'TCP/MSRP', local: moved, remote: undefined, current });
  const movedUri = parseMsrpUri(moved[0]!.media[0]!.getAttribute('path')!)!;
  assert.equal(movedUri.port, 31002);
  assert.notEqual(movedUri.sessionId, parseMsrpUri(uri)!.sessionId);
  // the controller echoing our URI: kept; a bad one: 474
  const echoed = sdp(LOCAL('TCP/MSRP', `a=path:${uri}\n`));
  fillMsrpPath({ transport: 'TCP/MSRP', local: echoed, remote: undefined, current });
  assert.equal(echoed[0]!.media[0]!.getAttribute('path'), uri);
});

test('Remote a=path: MSRP URIs required (474), and present on an aware stream (472)', () => {
  const ok = sdp('v=0\nc=IN IP4 198.51.100.7\nm=message 9 TCP/MSRP *\na=path:msrp://198.51.100.7:9/abc;tcp msrp://x:1/y;tcp\na=msrp-cema\n');
  fillMsrpPath({ transport: 'TCP/MSRP', local: undefined, remote: ok, current: undefined });
  const leg = msrpLegOf({ local: sdp(LOCAL('TCP/MSRP', 'a=path:msrp://203.0.113.10:31000/me;tcp\n')), remote: ok });
  assert.deepEqual(leg, {
    localUri: 'msrp://203.0.113.10:31000/me;tcp',
    remotePath: ['msrp://198.51.100.7:9/abc;tcp', 'msrp://x:1/y;tcp'],
    cema: true,
    tls: false,
  });
  const none = sdp('v=0\nc=IN IP4 198.51.100.7\nm=message 9 TCP/MSRP *\n');
  assert.throws(
    () => fillMsrpPath({ transport: 'TCP/MSRP', local: undefined, remote: none, current: undefined }),
    (e) => isTrgwdError(e, 'ERR_MG_REQUIRED_INFO_MISSING'),
  );
  const bad = sdp('v=0\nc=IN IP4 198.51.100.7\nm=message 9 TCP/MSRP *\na=path:msrp://198.51.100.7:9/abc\n');
  assert.throws(
    () => fillMsrpPath({ transport: 'TCP/MSRP', local: undefined, remote: bad, current: undefined }),
    (e) => isTrgwdError(e, 'ERR_MG_BAD_SDP'),
  );
});
