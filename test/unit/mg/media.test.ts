/** Local/Remote handling against a real PortManager. Ports 26000-26199 belong to this file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PortManager } from '../../../daemon/bearer/ports.js';
import { parseSdp, serializeSdp } from '../../../daemon/control/codec/sdp.js';
import { applyLocal, applyRemote, chooseGroups, type RealmPorts } from '../../../daemon/mg/media.js';
import { isTrgwdError } from '../../../daemon/errors.js';

function realm(low: number, high: number, sdpAddress = '127.0.0.1'): RealmPorts & { exhausted: number } {
  const r = { name: 'access', sdpAddress, ports: new PortManager({ name: 'access', address: '127.0.0.1', ports: [low, high] }), exhausted: 0, onExhausted: () => r.exhausted++ };
  return r;
}

test('fills c=, m= port and a=rtcp:$ (port and address); leaves other $ for later parts', async () => {
  const r = realm(26000, 26019, '192.0.2.10');
  try {
    const groups = parseSdp('v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/SAVP 0\r\na=rtcp:$ IN IP4 $\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$\r\n');
    const res = await applyLocal(groups, { realm: r, current: [], reserveGroup: false });
    const text = serializeSdp(res.groups);
    const port = res.ports[0]!.port;
    assert.equal(port % 2, 0);
    assert.equal(
      text,
      `v=0\r\nc=IN IP4 192.0.2.10\r\nm=audio ${port} RTP/SAVP 0\r\na=rtcp:${port + 1} IN IP4 192.0.2.10\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$\r\n`,
    );
    assert.equal(res.fresh.length, 1);
  } finally {
    await r.ports.close();
  }
});

test('an IPv6 advertise address gives IN IP6; a Local without c= gets one', async () => {
  const r = realm(26020, 26039, '2001:db8::5');
  try {
    const res = await applyLocal(parseSdp('m=image $ udptl t38\n'), { realm: r, current: [], reserveGroup: false });
    assert.equal(serializeSdp(res.groups), `c=IN IP6 2001:db8::5\nm=image ${res.ports[0]!.port} udptl t38\n`);
    assert.equal(res.ports[0]!.kind, 'udp');
  } finally {
    await r.ports.close();
  }
});

test('TCP transports reserve a TCP port; a held port is re-used for the same kind', async () => {
  const r = realm(26040, 26059);
  try {
    const first = await applyLocal(parseSdp('v=0\nc=IN IP4 $\nm=message $ TCP/TLS/MSRP *\na=fingerprint:SHA-256 $\n'), {
      realm: r,
      current: [],
      reserveGroup: false,
    });
    assert.equal(first.ports[0]!.kind, 'tcp');
    assert.equal(r.ports.counters.tcpPortsInUse, 1);
    const again = await applyLocal(parseSdp('v=0\nc=IN IP4 $\nm=message $ TCP/MSRP *\n'), {
      realm: r,
      current: first.ports,
      reserveGroup: false,
    });
    assert.equal(again.fresh.length, 0);
    assert.equal(again.ports[0], first.ports[0]);
  } finally {
    await r.ports.close();
  }
});

test('ReserveGroup keeps every supported alternative; a failure releases what this call allocated', async () => {
  const r = realm(26060, 26079);
  try {
    const both = await applyLocal(parseSdp('v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\nv=0\nc=IN IP4 $\nm=image $ udptl t38\n'), {
      realm: r,
      current: [],
      reserveGroup: true,
    });
    assert.equal(both.groups.length, 2);
    assert.equal(both.ports.length, 2);
    await Promise.all(both.ports.map((p) => p.lease.release()));
    await assert.rejects(
      applyLocal(parseSdp('v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\nv=0\nc=IN IP4 $\nm=image 9 udptl t38\n'), {
        realm: r,
        current: [],
        reserveGroup: true,
      }),
      (e) => isTrgwdError(e, 'ERR_PKG_BAD_VALUE'),
    );
    assert.equal(r.ports.counters.udpPortsInUse, 0);
  } finally {
    await r.ports.close();
  }
});

test('exhaustion is counted and thrown as ERR_PORTS_EXHAUSTED', async () => {
  const r = realm(26080, 26081);
  try {
    const one = await applyLocal(parseSdp('m=audio $ RTP/AVP 0\n'), { realm: r, current: [], reserveGroup: false });
    await assert.rejects(applyLocal(parseSdp('m=audio $ RTP/AVP 0\n'), { realm: r, current: [], reserveGroup: false }), (e) =>
      isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'),
    );
    assert.equal(r.exhausted, 1);
    await one.ports[0]!.lease.release();
  } finally {
    await r.ports.close();
  }
});

test('choosing: first supported; none supported is 449 naming it (or empty with ReserveGroup); two m= in one group is 474', () => {
  const g = parseSdp('v=0\nm=audio 0 FOO/BAR 0\nv=0\nm=audio 0 RTP/AVPF 0\n');
  assert.equal(chooseGroups(g, false, 'Local')[0], g[1]);
  assert.throws(() => chooseGroups(parseSdp('m=audio 0 FOO/BAR 0\n'), false, 'Remote'), (e) => isTrgwdError(e, 'ERR_BEARER_UNSUPPORTED_TRANSPORT') && /FOO\/BAR/.test(e.message));
  assert.deepEqual(chooseGroups(parseSdp('m=audio 0 FOO/BAR 0\n'), true, 'Local'), []);
  assert.throws(() => chooseGroups(parseSdp('v=0\nm=audio 0 RTP/AVP 0\nm=video 0 RTP/AVP 96\n'), false, 'Local'), (e) => isTrgwdError(e, 'ERR_MG_BAD_SDP'));
  assert.throws(() => applyRemote(parseSdp('v=0\nc=IN IP4 1.2.3.4\nm=audio 5 RTP/AVP 0\na=rtcp:notaport\n'), false), (e) => isTrgwdError(e, 'ERR_MG_BAD_SDP'));
  assert.equal(applyRemote(parseSdp('v=0\nc=IN IP4 1.2.3.4\nm=audio 5 RTP/AVP 0\n'), false).length, 1);
});
