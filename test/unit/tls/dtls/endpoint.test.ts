/**
 * DtlsEndpoint between two engines in this process over real UDP sockets on 127.0.0.1: roles,
 * pins (every hash function, late pins, mismatches), data both ways, close_notify, reset for a new
 * tls-id, replacement by a restarted peer, deadline, caps, MTU, key export.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DtlsEngine } from '../../../../daemon/tls/dtls/engine.js';
import { DtlsSide, Watch, identity, udp, closeQuietly, udptlDatagram, portOf } from './helpers.js';
import { skipWithoutDtls } from './helpers.js';

const skip = skipWithoutDtls();
const sides: DtlsSide[] = [];

async function pair(
  server: Parameters<typeof DtlsSide.create>[0] = {},
  client: Parameters<typeof DtlsSide.create>[0] = {},
): Promise<{ s: DtlsSide; c: DtlsSide; watch: Watch }> {
  const watch = new Watch();
  const sid = server.identity ?? identity();
  const cid = client.identity ?? identity();
  const s = await DtlsSide.create({
    watch,
    identity: sid,
    ...server,
    endpoint: {
      role: 'server',
      pins: [{ hash: 'sha-256', value: cid.fingerprint('sha-256') }],
      ...server.endpoint,
    },
  });
  const c = await DtlsSide.create({
    watch,
    identity: cid,
    ...client,
    endpoint: {
      role: 'client',
      pins: [{ hash: 'sha-256', value: sid.fingerprint('sha-256') }],
      ...client.endpoint,
    },
  });
  sides.push(s, c);
  return { s, c, watch };
}

afterEach(async () => {
  for (const x of sides.splice(0)) await x.close();
});

describe('DtlsEndpoint: handshake and data', { skip }, () => {
  it('client and server establish, relay datagrams both ways one for one, byte-identical', async () => {
    const { s, c, watch } = await pair({ core: true });
    assert.equal(c.ep.connect('127.0.0.1', s.port), true);
    await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
    assert.equal(s.established[0]!.role, 'server');
    assert.equal(c.established[0]!.role, 'client');
    assert.equal(s.established[0]!.protocol, 'DTLSv1.2');
    assert.match(s.established[0]!.cipher, /^ECDHE-ECDSA-/);
    assert.equal(s.established[0]!.peerFingerprint, c.identity.fingerprint('sha-256'));
    assert.equal(c.established[0]!.peerFingerprint, s.identity.fingerprint('sha-256'));
    assert.equal(s.engine.associations, 1);
    assert.equal(s.engine.handshakesInProgress, 0);

    // fax → gateway → core, one datagram each, in order
    const up = [udptlDatagram(1), udptlDatagram(2, 1), udptlDatagram(3, 1400), udptlDatagram(4, 300)];
    for (const d of up) assert.equal(c.ep.send(d, d.length), true);
    await watch.until(() => s.coreReceived.length === up.length, 5000, 'core datagrams');
    assert.deepEqual(s.coreReceived, up);
    // core → gateway → fax
    const down = [udptlDatagram(10), udptlDatagram(11, 17), udptlDatagram(12, 1000)];
    for (const d of down) s.fromCore(d);
    await watch.until(() => c.data.length === down.length, 5000, 'fax datagrams');
    assert.deepEqual(c.data, down);

    // close_notify: the peer sees `peer`, we see `local`
    c.ep.close();
    await watch.until(() => s.released.length === 1, 5000, 'server released');
    assert.deepEqual(
      c.released.map((r) => r.cause),
      ['local'],
    );
    assert.equal(s.released[0]!.cause, 'peer');
    assert.equal(s.ep.association, undefined);
    assert.equal(s.engine.associations, 0);
    assert.equal(s.ep.send(down[0]!, down[0]!.length), false);
  });

  for (const hash of ['sha-1', 'sha-384', 'sha-512'] as const) {
    it(`pins with ${hash} (RFC 8122 §5: hash functions on input)`, async () => {
      const sid = identity();
      const cid = identity();
      const { s, c, watch } = await pair(
        // several lines: any may match (here the second)
        {
          identity: sid,
          endpoint: {
            role: 'server',
            pins: [
              { hash: 'sha-256', value: identity().fingerprint() },
              { hash, value: cid.fingerprint(hash) },
            ],
          },
        },
        { identity: cid, endpoint: { role: 'client', pins: [{ hash, value: sid.fingerprint(hash) }] } },
      );
      c.ep.connect('127.0.0.1', s.port);
      await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
    });
  }

  it('server without pins: handshake completes, nothing passes until setPins() matches', async () => {
    const { s, c, watch } = await pair({ endpoint: { role: 'server', pins: undefined } });
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => c.established.length === 1, 5000, 'client established');
    const d = udptlDatagram(1);
    c.ep.send(d, d.length);
    // the server answered the record layer (its part of the handshake is over) but holds data back
    await watch.until(() => s.ep.handshakeCount === 1 && s.sent.length > 0, 5000, 'server handshake done');
    await new Promise((r) => setImmediate(r));
    assert.equal(s.established.length, 0);
    assert.equal(s.data.length, 0);
    s.ep.setPins([c.pin()]);
    assert.equal(s.established.length, 1);
    c.ep.send(d, d.length);
    await watch.until(() => s.data.length === 1, 5000, 'data after the pin');
    assert.deepEqual(s.data[0], d);
  });

  it('server without pins, then a wrong pin: failed fingerprint, the client sees the close', async () => {
    const { s, c, watch } = await pair({ endpoint: { role: 'server', pins: undefined } });
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => c.established.length === 1, 5000, 'client established');
    await watch.until(() => s.ep.handshakeCount === 1, 5000, 'server session');
    s.ep.setPins([s.pin()]); // not the client's certificate
    assert.deepEqual(
      s.failed.map((f) => f.reason),
      ['fingerprint'],
    );
    await watch.until(() => c.released.length === 1, 5000, 'client released');
    assert.equal(c.released[0]!.cause, 'peer');
  });

  it('server with a wrong pin aborts in the handshake: failed fingerprint; the client fails too', async () => {
    const { s, c, watch } = await pair({
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: identity().fingerprint() }] },
    });
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.failed.length === 1 && c.failed.length === 1, 5000, 'both failed');
    assert.equal(s.failed[0]!.reason, 'fingerprint');
    assert.match(s.failed[0]!.message, /fingerprint/);
    assert.equal(c.failed[0]!.reason, 'handshake');
    assert.match(c.failed[0]!.message, /bad certificate/i);
    assert.equal(s.established.length + c.established.length, 0);
    assert.equal(s.engine.handshakesInProgress + c.engine.handshakesInProgress, 0);
  });

  it('client with a wrong pin: failed fingerprint', async () => {
    const { s, c, watch } = await pair(
      {},
      { endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: identity().fingerprint() }] } },
    );
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => c.failed.length === 1, 5000, 'client failed');
    assert.equal(c.failed[0]!.reason, 'fingerprint');
    await watch.until(() => s.failed.length === 1, 5000, 'server failed');
  });

  it('a client handshake to a silent port fails with timeout at dtls.handshakeTimeoutMs', async () => {
    const silent = await udp();
    try {
      const { c, watch } = await pair({}, { config: { handshakeTimeoutMs: 300, retransmitInitialMs: 50 } });
      const t0 = Date.now();
      c.ep.connect('127.0.0.1', portOf(silent));
      await watch.until(() => c.failed.length === 1, 5000, 'timeout');
      assert.equal(c.failed[0]!.reason, 'timeout');
      assert.ok(Date.now() - t0 >= 250);
      // it retransmitted the ClientHello meanwhile (50, 100 ms ...)
      assert.ok(c.sent.length >= 3, `sent ${c.sent.length}`);
      assert.equal(c.engine.handshakesInProgress, 0);
    } finally {
      closeQuietly(silent);
    }
  });

  it('reset() ends the association (a new tls-id) and a new one can follow', async () => {
    const { s, c, watch } = await pair();
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
    c.ep.reset();
    assert.deepEqual(
      c.released.map((r) => r.cause),
      ['local'],
    );
    await watch.until(() => s.released.length === 1, 5000, 'server released');
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.established.length === 2 && c.established.length === 2, 5000, 're-established');
    const d = udptlDatagram(5);
    c.ep.send(d, d.length);
    await watch.until(() => s.data.length === 1, 5000, 'data');
  });

  it('a peer that restarts from the same port replaces the association only once its new handshake completes', async () => {
    const { s, c, watch } = await pair({ core: true });
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.established.length === 1, 5000, 'established');
    // the "restarted" client: a fresh endpoint on the same socket (the old one forgets nothing, says nothing)
    const cid = c.identity;
    const engine2 = new DtlsEngine({
      identity: { certPem: cid.certPem, keyPem: cid.keyPem, fingerprint: (h) => cid.fingerprint(h) },
      config: { retransmitInitialMs: 100 },
    });
    const est2: string[] = [];
    const got2: Buffer[] = [];
    const ep2 = engine2.endpoint(
      {
        send: (b, a, p) => c.socket.send(b, p, a),
        established: () => {
          est2.push('up');
          watch.notify();
        },
        data: (b, l) => {
          got2.push(Buffer.from(b.subarray(0, l)));
          watch.notify();
        },
      },
      { role: 'client', pins: [s.pin()] },
    );
    const old = c.ep;
    c.socket.removeAllListeners('message');
    c.socket.on('message', (m, ri) => {
      ep2.receive(m, m.length, ri.address, ri.port);
      watch.notify();
    });
    try {
      ep2.connect('127.0.0.1', s.port);
      await watch.until(() => est2.length === 1 && s.established.length === 2, 5000, 'replaced');
      assert.deepEqual(
        s.released.map((r) => r.cause),
        ['replaced'],
      );
      const d = udptlDatagram(7);
      s.fromCore(d);
      await watch.until(() => got2.length === 1, 5000, 'data on the new association');
      assert.deepEqual(got2[0], d);
      // the old endpoint's close_notify uses dead keys: the new association ignores it
      old.close();
      const d2 = udptlDatagram(8);
      ep2.send(d2, d2.length);
      await watch.until(() => s.coreReceived.length === 1, 5000, 'data up');
      assert.equal(s.released.length, 1);
    } finally {
      ep2.close();
      engine2.close();
    }
  });

  it('dtls.maxHandshakes refuses a client handshake beyond it (failed handshake, counted)', async () => {
    const silent = await udp();
    try {
      const { c } = await pair({}, { config: { maxHandshakes: 1 } });
      assert.equal(c.ep.connect('127.0.0.1', portOf(silent)), true);
      const other = c.engine.endpoint(
        { send: () => undefined, failed: (f) => c.failed.push(f) },
        { role: 'client' },
      );
      assert.equal(other.connect('127.0.0.1', portOf(silent) + 1), false);
      assert.equal(c.failed.length, 1);
      assert.match(c.failed[0]!.message, /maxHandshakes/);
      assert.equal(c.engine.handshakesInProgress, 1);
      other.close();
    } finally {
      closeQuietly(silent);
    }
  });

  it('fragments its flights to dtls.mtu and reads the peer fragments', async () => {
    const { s, c, watch } = await pair({ config: { mtu: 256 } }, { config: { mtu: 300 } });
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
    assert.ok(
      s.sent.every((b) => b.length <= 256),
      `server sizes ${s.sent.map((b) => b.length).join(',')}`,
    );
    assert.ok(
      c.sent.every((b) => b.length <= 300),
      `client sizes ${c.sent.map((b) => b.length).join(',')}`,
    );
    assert.ok(s.sent.length > 3);
  });

  it('exports the same keying material on both sides (RFC 5705, as DTLS-SRTP will use it)', async () => {
    const { s, c, watch } = await pair();
    c.ep.connect('127.0.0.1', s.port);
    await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
    const n = s.engine.native;
    const a = n.exportKeyingMaterial(s.ep.association!.handle!, 'EXTRACTOR-dtls_srtp', 60);
    const b = n.exportKeyingMaterial(c.ep.association!.handle!, 'EXTRACTOR-dtls_srtp', 60);
    assert.ok(a !== undefined && a.length === 60);
    assert.deepEqual(a, b);
  });

  it('a client endpoint answers no ClientHello; closing frees every native session', async () => {
    const before = (await import('../../../../daemon/tls/dtls/binding.js'))
      .loadDtlsNative()
      .stats().liveSessions;
    const { s, c, watch } = await pair();
    // a "server" sending a ClientHello to a client endpoint: dropped, counted
    s.ep.setRole('client');
    s.ep.connect('127.0.0.1', c.port);
    await watch.until(() => c.engine.totals.unexpected > 0, 5000, 'counted as unexpected');
    assert.equal(c.sent.length, 0);
    s.ep.close();
    c.ep.close();
    assert.equal(s.engine.native.stats().liveSessions, before);
  });
});
