/**
 * A live association under attack: floods of garbage datagrams and of ClientHellos from many source
 * ports, replayed ClientHellos (with and without a valid cookie, from strangers and from the peer's
 * own address). The association keeps relaying, no state grows beyond dtls.maxHandshakes /
 * dtls.maxHandshakesPerSource, and every native session is freed afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { loadDtlsNative } from '../../../../daemon/tls/dtls/binding.js';
import { DtlsEngine } from '../../../../daemon/tls/dtls/engine.js';
import { isClientHello } from '../../../../daemon/tls/dtls/records.js';
import { DtlsSide, Watch, closeQuietly, identity, udp, udptlDatagram } from './helpers.js';
import { skipWithoutDtls } from './helpers.js';

const skip = skipWithoutDtls();
const LO = '127.0.0.1';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server side (the gateway) with a live association to a client side (the fax), with a core relay. */
async function live(
  config: ConstructorParameters<typeof DtlsEngine>[0]['config'] = {},
): Promise<{ gw: DtlsSide; fax: DtlsSide; watch: Watch }> {
  const watch = new Watch();
  const gid = identity();
  const fid = identity();
  const gw = await DtlsSide.create({
    watch,
    identity: gid,
    core: true,
    config,
    endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fid.fingerprint() }] },
  });
  const fax = await DtlsSide.create({
    watch,
    identity: fid,
    endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: gid.fingerprint() }] },
  });
  cleanups.push(
    () => fax.close(),
    () => gw.close(),
  );
  fax.ep.connect(LO, gw.port);
  await watch.until(() => gw.established.length === 1 && fax.established.length === 1, 5000, 'established');
  return { gw, fax, watch };
}

/** The association still relays both ways, one for one. */
async function stillRelays(gw: DtlsSide, fax: DtlsSide, watch: Watch, seq: number): Promise<void> {
  const up = udptlDatagram(seq, 160);
  const down = udptlDatagram(seq + 1, 90);
  const nUp = gw.coreReceived.length;
  const nDown = fax.data.length;
  fax.ep.send(up, up.length);
  gw.fromCore(down);
  await watch.until(
    () => gw.coreReceived.length === nUp + 1 && fax.data.length === nDown + 1,
    5000,
    'relay after the flood',
  );
  assert.deepEqual(gw.coreReceived.at(-1), up);
  assert.deepEqual(fax.data.at(-1), down);
}

async function sockets(n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i++) out.push(await udp());
  cleanups.push(() => out.forEach(closeQuietly));
  return out;
}

/**
 * Sends `perSocket` datagrams from each socket, in rounds that let the gateway read between them,
 * and resolves once it has read (nearly) all of them: loopback may drop a few under the burst.
 */
async function flood(
  gw: DtlsSide,
  from: Socket[],
  make: (i: number) => Buffer,
  perSocket: number,
  watch: Watch,
): Promise<number> {
  let seen = 0;
  const count = (): void => {
    seen++;
    watch.notify();
  };
  gw.socket.on('message', count);
  let total = 0;
  try {
    for (let k = 0; k < perSocket; k++) {
      for (let j = 0; j < from.length; j++) from[j]!.send(make(total++), gw.port, LO);
      const sent = total;
      await watch.until(() => seen >= sent * 0.9, 10000, `round ${k} read`);
    }
  } finally {
    gw.socket.off('message', count);
  }
  return total;
}

describe('DTLS robustness: a live association under floods', { skip }, () => {
  it('garbage of every shape from 100 source ports: dropped statelessly, the association relays on', async () => {
    const { gw, fax, watch } = await live();
    const native = loadDtlsNative();
    const sessionsBefore = native.stats().liveSessions;
    const from = await sockets(100);
    const shapes = (i: number): Buffer => {
      switch (i % 8) {
        case 0:
          return Buffer.from([i & 0xff]); // one byte
        case 1:
          return randomBytes(1 + (i % 1400)); // noise
        case 2: {
          const b = randomBytes(60); // a DTLS-looking header, random body
          b[0] = 22;
          b[1] = 0xfe;
          b[2] = 0xfd;
          return b;
        }
        case 3: {
          const b = randomBytes(40); // "application data" in epoch 1 with a forged header
          b[0] = 23;
          b[1] = 0xfe;
          b[2] = 0xfd;
          b[3] = 0;
          b[4] = 1;
          return b;
        }
        case 4: {
          const b = Buffer.alloc(25); // a truncated ClientHello header
          b[0] = 22;
          b[1] = 0xfe;
          b[2] = 0xff;
          b[13] = 1;
          return b;
        }
        case 5: {
          const b = randomBytes(200); // a ClientHello header with a lying length
          b[0] = 22;
          b[1] = 0xfe;
          b[2] = 0xfd;
          b[3] = 0;
          b[4] = 0;
          b[11] = 0xff;
          b[12] = 0xff;
          b[13] = 1;
          return b;
        }
        case 6:
          return Buffer.alloc(13, 0xfe);
        default:
          return Buffer.alloc(1400, 21); // big "alerts"
      }
    };
    await flood(gw, from, shapes, 20, watch);
    // the peer's own address may spray garbage too: it never reaches the session as data
    const faxGarbage = randomBytes(64);
    faxGarbage[0] = 23;
    faxGarbage[1] = 0xfe;
    faxGarbage[2] = 0xfd;
    faxGarbage[3] = 0;
    faxGarbage[4] = 1;
    fax.socket.send(faxGarbage, gw.port, LO);
    await stillRelays(gw, fax, watch, 100);
    assert.equal(gw.engine.handshakesInProgress, 0);
    assert.equal(gw.ep.handshakeCount, 0);
    assert.equal(native.stats().liveSessions, sessionsBefore);
    assert.equal(gw.released.length, 0);
    assert.ok(
      gw.engine.totals.malformed + gw.engine.totals.unexpected > 1000,
      JSON.stringify(gw.engine.totals),
    );
  });

  it('a captured ClientHello replayed from 200 source ports: HelloVerifyRequests only, no state', async () => {
    const { gw, fax, watch } = await live();
    const native = loadDtlsNative();
    const sessionsBefore = native.stats().liveSessions;
    // capture a ClientHello (without cookie) from a fresh client
    const probe = await DtlsSide.create({ watch, endpoint: { role: 'client', pins: [gw.pin()] } });
    cleanups.push(() => probe.close());
    const sink = await udp();
    cleanups.push(() => closeQuietly(sink));
    probe.ep.connect(LO, sink.address().port);
    await watch.until(() => probe.sent.length > 0, 5000, 'ClientHello');
    const hello = probe.sent[0]!;
    assert.ok(isClientHello(hello, hello.length));
    probe.ep.close();

    const hvrBefore = gw.engine.totals.helloVerify;
    const from = await sockets(200);
    await flood(gw, from, () => hello, 3, watch);
    assert.ok(
      gw.engine.totals.helloVerify - hvrBefore >= 500,
      `HVRs ${gw.engine.totals.helloVerify - hvrBefore}`,
    );
    assert.equal(gw.ep.handshakeCount, 0);
    assert.equal(native.stats().liveSessions, sessionsBefore);
    await stillRelays(gw, fax, watch, 200);
  });

  it('real handshakes from 40 source ports of one address: at most dtls.maxHandshakesPerSource at once; the association relays on', async () => {
    const { gw, fax, watch } = await live({
      maxHandshakesPerSource: 3,
      maxHandshakes: 8,
      handshakeTimeoutMs: 1500,
    });
    const native = loadDtlsNative();
    const sessionsBefore = native.stats().liveSessions;
    // clients that complete the cookie exchange but whose certificate the gateway does not pin
    const clients = await Promise.all(
      Array.from({ length: 40 }, () =>
        DtlsSide.create({
          watch,
          config: { handshakeTimeoutMs: 3000 },
          endpoint: { role: 'client', pins: [gw.pin()] },
        }),
      ),
    );
    cleanups.push(async () => {
      for (const c of clients) await c.close();
    });
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, gw.ep.handshakeCount, gw.engine.handshakesInProgress);
    };
    gw.socket.on('message', sample);
    for (const c of clients) c.ep.connect(LO, gw.port);
    // every client ends: fails on the gateway's bad_certificate, or times out having been refused
    await watch.until(() => clients.every((c) => c.failed.length === 1), 10000, 'all attackers done');
    gw.socket.off('message', sample);
    assert.ok(peak <= 3, `peak ${peak} handshakes at once from one address`);
    assert.ok(gw.engine.totals.limit > 0, 'the cap refused some');
    assert.equal(gw.released.length, 0, 'the live association stayed');
    await stillRelays(gw, fax, watch, 300);
    await watch.until(() => gw.engine.handshakesInProgress === 0, 5000, 'handshakes drained');
    for (const c of clients) await c.close();
    assert.equal(native.stats().liveSessions, sessionsBefore);
  });

  it('the peer ClientHello with its valid cookie, replayed from the peer address: the association survives', async () => {
    const { gw, fax, watch } = await live({ handshakeTimeoutMs: 400 });
    // the fax's second ClientHello (the one carrying the cookie) as an attacker would have captured it
    const withCookie = fax.sent.filter((b) => isClientHello(b, b.length))[1];
    assert.ok(withCookie !== undefined, 'the client sent a ClientHello with a cookie');
    for (let i = 0; i < 5; i++) fax.socket.send(withCookie, gw.port, LO);
    // ... and from other ports of the same address (the cookie is bound to address and port: HVR)
    const from = await sockets(10);
    for (const s of from) s.send(withCookie, gw.port, LO);
    await watch.until(() => gw.engine.totals.helloVerify >= 11, 5000, 'HVRs to strangers');
    await stillRelays(gw, fax, watch, 400);
    // the side handshake from the replay never completes: it times out silently next to the association
    await watch.until(() => gw.ep.handshakeCount === 0, 5000, 'side handshake gone');
    assert.equal(gw.released.length, 0);
    assert.equal(gw.failed.length, 0, 'not reported while the association lives');
    await stillRelays(gw, fax, watch, 500);
  });

  it('dtls.maxHandshakes bounds server handshakes from many addresses', async () => {
    const { gw, watch } = await live({
      maxHandshakes: 2,
      maxHandshakesPerSource: 10,
      handshakeTimeoutMs: 1000,
    });
    const clients = await Promise.all(
      Array.from({ length: 6 }, () =>
        DtlsSide.create({
          watch,
          config: { handshakeTimeoutMs: 3000 },
          endpoint: { role: 'client', pins: [gw.pin()] },
        }),
      ),
    );
    cleanups.push(async () => {
      for (const c of clients) await c.close();
    });
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, gw.engine.handshakesInProgress);
    };
    gw.socket.on('message', sample);
    for (const c of clients) c.ep.connect(LO, gw.port);
    await watch.until(() => clients.every((c) => c.failed.length === 1), 10000, 'all done');
    gw.socket.off('message', sample);
    assert.ok(peak <= 2, `peak ${peak}`);
  });
});
