/**
 * DTLS interop with OpenSSL's own tools as the fax side: `openssl s_client -dtls1_2` against the
 * gateway as server, `openssl s_server -dtls1_2 -listen` (cookie exchange) against the gateway as
 * client. UDPTL datagrams written into the peer's DTLS arrive byte-identical, one for one, on the
 * gateway's plain core side, and the reverse; pin mismatches abort the handshake and are reported;
 * a lossy proxy drops handshake datagrams; an RSA-4096 certificate makes both sides fragment; the
 * exported keying material (RFC 5705, what DTLS-SRTP uses) equals OpenSSL's.
 *
 * Needs `openssl` and the built addon: skips locally without them, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { CertDir, DtlsSide, Watch, freePort, udptlDatagram } from '../unit/tls/dtls/helpers.js';
import { skipWithoutDtls } from '../unit/tls/dtls/helpers.js';
import { InteropScope, LossyProxy, type PeerProcess } from '../unit/tls/dtls/peers.js';
import { findTool, requireTool } from './tools.js';
import { UdpMediaPlane } from '../../daemon/bearer/udp/udp-plane.js';
import { DtlsEngine } from '../../daemon/tls/dtls/engine.js';
import { DtlsUdptlPlane } from '../../daemon/tls/dtls/plane.js';
import {
  amm,
  audit,
  commands,
  harness,
  localOf,
  portOf as sdpPort,
} from '../unit/control/commands/harness.js';
import { closeQuietly, identity, udp } from '../unit/tls/dtls/helpers.js';

const skip = skipWithoutDtls();
const LO = '127.0.0.1';
let certs: CertDir | undefined;
const scope = new InteropScope();

before(() => {
  if (findTool('openssl') !== undefined) certs = new CertDir();
});
after(() => certs?.cleanup());
afterEach(async () => {
  await scope.closeAll();
});

function openssl(t: TestContext): string | undefined {
  return requireTool(t, 'openssl', 'as the DTLS peer (s_client, s_server)');
}

const peer = (cmd: string, args: string[], watch: Watch): PeerProcess => scope.peer(cmd, args, watch);
const side = (watch: Watch, opts: Parameters<typeof DtlsSide.create>[0]): Promise<DtlsSide> =>
  scope.side(watch, opts);

/** UDPTL datagrams of several sizes, every octet value present. */
const UP = [
  udptlDatagram(1, 120),
  udptlDatagram(2, 1),
  udptlDatagram(3, 1200),
  udptlDatagram(4, 300),
  udptlDatagram(5, 57),
];
const DOWN = [udptlDatagram(11, 200), udptlDatagram(12, 3), udptlDatagram(13, 1000)];

/** The fax writes each datagram into its DTLS; each arrives alone and intact on the core side. */
async function faxToCore(p: PeerProcess, gw: DtlsSide, watch: Watch): Promise<void> {
  for (let i = 0; i < UP.length; i++) {
    p.write(UP[i]!);
    await watch.until(
      () => gw.coreReceived.length === i + 1 || p.exited,
      5000,
      `datagram ${i} on the core side`,
    );
  }
  assert.deepEqual(gw.coreReceived, UP, p.describe());
}

/** The core side sends datagrams; the fax's DTLS delivers exactly those bytes. */
async function coreToFax(p: PeerProcess, gw: DtlsSide, watch: Watch, before = 0): Promise<void> {
  let want = before;
  for (const d of DOWN) {
    gw.fromCore(d);
    want += d.length;
    await watch.until(() => p.stdout.length >= want || p.exited, 5000, 'datagram at the fax');
  }
  assert.deepEqual(p.stdout.subarray(before), Buffer.concat(DOWN), p.describe());
}

/** `openssl s_client` over DTLS 1.2 to the gateway's port, presenting `cert`; more options follow. */
function sClient(port: number, cert: { certFile: string; keyFile: string }): string[] {
  return ['s_client', '-dtls1_2', '-connect', `${LO}:${port}`, '-cert', cert.certFile, '-key', cert.keyFile];
}

/** `openssl s_server` over DTLS 1.2 on `port`, presenting `cert`; more options follow. */
function sServer(port: number, cert: { certFile: string; keyFile: string }): string[] {
  return ['s_server', '-dtls1_2', '-accept', `${LO}:${port}`, '-cert', cert.certFile, '-key', cert.keyFile];
}

describe('DTLS interop: openssl s_client / s_server as the fax side', { skip }, () => {
  it('gateway as server, openssl s_client as client: handshake, UDPTL both ways, close_notify', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const p = peer(bin, [...sClient(gw.port, fax), '-quiet', '-nocommands'], watch);
    await watch.until(() => gw.established.length === 1 || p.exited, 10000, 'handshake');
    assert.equal(gw.established.length, 1, p.describe());
    assert.equal(gw.established[0]!.peerFingerprint, fax.fingerprint());
    assert.equal(gw.engine.totals.helloVerify + gw.engine.allTotals.helloVerify, 1, 'one cookie exchange');
    await faxToCore(p, gw, watch);
    await coreToFax(p, gw, watch);
    gw.ep.close();
    await watch.until(() => p.exited, 5000, 's_client ends on our close_notify');
  });

  it('gateway as client, openssl s_server -listen (stateless cookies) as server', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const port = await freePort();
    const p = peer(bin, [...sServer(port, fax), '-Verify', '1', '-listen', '-quiet', '-naccept', '1'], watch);
    const gw = await side(watch, {
      endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    // s_server may not be bound yet: the ClientHello is retransmitted until it is
    gw.ep.connect(LO, port);
    await watch.until(() => gw.established.length === 1 || p.exited, 10000, 'handshake');
    assert.equal(gw.established.length, 1, p.describe());
    assert.equal(gw.established[0]!.role, 'client');
    await faxToCore(p, gw, watch);
    await coreToFax(p, gw, watch);
  });

  it('gateway as server: a client certificate that does not match the pin is refused (bad_certificate) and reported', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const other = certs!.make('ec', 'impostor');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const p = peer(bin, [...sClient(gw.port, other), '-quiet', '-nocommands'], watch);
    await watch.until(() => gw.failed.length === 1 && p.exited, 10000, 'refused');
    assert.equal(gw.failed[0]!.reason, 'fingerprint');
    assert.equal(gw.established.length, 0);
    assert.match(p.stderr, /bad certificate/i);
    assert.notEqual(p.exitCode, 0);
  });

  it('gateway as client: a server certificate that does not match the pin fails with reason fingerprint', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const other = certs!.make('ec', 'impostor');
    const port = await freePort();
    peer(bin, [...sServer(port, other), '-Verify', '1', '-quiet', '-naccept', '1'], watch);
    const gw = await side(watch, {
      endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    gw.ep.connect(LO, port);
    await watch.until(() => gw.failed.length === 1, 10000, 'failed');
    assert.equal(gw.failed[0]!.reason, 'fingerprint');
    assert.equal(gw.established.length, 0);
  });

  it('completes through a loopback proxy that drops handshake datagrams both ways', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const lost: string[] = [];
    const proxy = await LossyProxy.create(gw.port, (dir, n) => {
      if (gw.established.length > 0) return false;
      // the first ClientHello (s_client retransmits after 1 s), our ServerHello flight (we retransmit
      // after dtls.retransmitInitialMs) and the client's final flight (s_client resends it when it sees
      // our flight again); later retransmissions pass
      const drop = (dir === 'toServer' && (n === 0 || n === 3)) || (dir === 'toClient' && n === 1);
      if (drop) lost.push(`${dir}#${n}`);
      return drop;
    });
    scope.defer(() => proxy.close());
    const p = peer(bin, [...sClient(proxy.port, fax), '-quiet', '-nocommands'], watch);
    await watch.until(() => gw.established.length === 1 || p.exited, 20000, 'handshake through losses');
    assert.equal(gw.established.length, 1, `${p.describe()} lost=${lost.join(',')}`);
    assert.ok(lost.length >= 3, `lost ${lost.join(',')}`);
    // data through the proxy: the core side sees the fax's datagrams
    p.write(UP[0]!);
    await watch.until(() => gw.coreReceived.length === 1, 5000, 'data through the proxy');
    assert.deepEqual(gw.coreReceived[0], UP[0]);
  });

  it('an RSA-4096 peer certificate, both sides fragmenting their flights to a 500-octet MTU', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('rsa4096');
    const gw = await side(watch, {
      config: { mtu: 500 },
      endpoint: { role: 'server', pins: [{ hash: 'sha-512', value: fax.fingerprint('sha-512') }] },
    });
    const fromFax: number[] = [];
    gw.socket.on('message', (m) => {
      if (gw.established.length === 0) fromFax.push(m.length);
    });
    const p = peer(
      bin,
      [
        's_client',
        '-dtls1_2',
        '-mtu',
        '500',
        '-connect',
        `${LO}:${gw.port}`,
        '-cert',
        fax.certFile,
        '-key',
        fax.keyFile,
        '-quiet',
        '-nocommands',
      ],
      watch,
    );
    await watch.until(() => gw.established.length === 1 || p.exited, 10000, 'handshake');
    assert.equal(gw.established.length, 1, p.describe());
    assert.equal(gw.established[0]!.peerFingerprint, fax.fingerprint('sha-256'));
    assert.ok(
      gw.sent.every((b) => b.length <= 500),
      `our datagrams: ${gw.sent.map((b) => b.length).join(',')}`,
    );
    // the 4096-bit certificate (and its signature) cannot fit one 500-octet datagram: it came in fragments
    assert.ok(fromFax.filter((n) => n > 400).length >= 3, `peer datagrams: ${fromFax.join(',')}`);
    await faxToCore(p, gw, watch);
  });

  it('exports the same keying material as OpenSSL (RFC 5705 label EXTRACTOR-dtls_srtp)', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const p = peer(
      bin,
      [
        ...sClient(gw.port, fax),
        '-keymatexport',
        'EXTRACTOR-dtls_srtp',
        '-keymatexportlen',
        '60',
        '-ign_eof',
      ],
      watch,
    );
    const keying = (): string | undefined =>
      /Keying material: ([0-9A-F]+)/i.exec(p.stdout.toString('latin1'))?.[1];
    await watch.until(() => keying() !== undefined || p.exited, 10000, 'keying material printed');
    const theirs = keying();
    assert.ok(theirs !== undefined, p.describe());
    const ours = gw.engine.native.exportKeyingMaterial(gw.ep.association!.handle!, 'EXTRACTOR-dtls_srtp', 60);
    assert.equal(ours?.toString('hex').toUpperCase(), theirs.toUpperCase());
  });

  it('a UDP/TLS/UDPTL termination with s_client as the fax: tlsbsc/est, UDPTL to and from the udptl termination', async (t) => {
    const bin = openssl(t);
    if (bin === undefined) return;
    const watch = new Watch();
    const h = harness(41400);
    const udpPlane = new UdpMediaPlane({ metrics: h.metrics });
    const engine = new DtlsEngine({ identity: identity(), config: { retransmitInitialMs: 100 } });
    h.mg.addMediaPlane(udpPlane);
    h.mg.addMediaPlane(new DtlsUdptlPlane({ engine, udp: udpPlane }));
    scope.defer(() => h.close());
    const push = h.link.notifies.push.bind(h.link.notifies);
    h.link.notifies.push = (...n) => {
      const r = push(...n);
      watch.notify();
      return r;
    };
    const core = await udp();
    scope.defer(() => closeQuietly(core));
    const coreGot: Buffer[] = [];
    core.on('message', (m) => {
      coreGot.push(m);
      watch.notify();
    });
    const fax = certs!.make('ec');
    // the fax answered a=setup:active with its fingerprint: the gateway serves; Remote port unknown (0)
    const remote = `v=0\nc=IN IP4 ${LO}\nm=image 9 UDP/TLS/UDPTL t38\na=setup:active\na=fingerprint:SHA-256 ${fax.fingerprint()}\na=tls-id:faxSideTlsId_0123456789\n`;
    const r = await h.tx(
      `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { v=0\nc=IN IP4 $\nm=image $ UDP/TLS/UDPTL t38\na=setup:actpass\na=fingerprint:SHA-256 $\na=tls-id:$\n }, Remote { ${remote} } } }, Events = 9 { tlsbsc/est, tlsbsc/fail, tlsbsc/rel } }, ` +
        `Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, Local { v=0\nc=IN IP4 $\nm=image $ udptl t38\n }, Remote { v=0\nc=IN IP4 ${LO}\nm=image ${core.address().port} udptl t38\n } } } } }`,
    );
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    const [a, c] = commands(r);
    const accessPort = sdpPort(localOf(audit(a)));
    const corePort = sdpPort(localOf(audit(c)));
    const access = amm(a).terminationId;
    const p = peer(
      bin,
      [
        's_client',
        '-dtls1_2',
        '-connect',
        `${LO}:${accessPort}`,
        '-cert',
        fax.certFile,
        '-key',
        fax.keyFile,
        '-quiet',
        '-nocommands',
      ],
      watch,
    );
    const est = (): number =>
      h.link.notifies.filter(
        (n) => n.terminationId === access && n.events.some((e) => e.name === 'tlsbsc/est'),
      ).length;
    await watch.until(() => est() === 1 || p.exited, 10000, 'tlsbsc/est');
    assert.equal(est(), 1, p.describe());
    for (let i = 0; i < UP.length; i++) {
      p.write(UP[i]!);
      await watch.until(() => coreGot.length === i + 1 || p.exited, 5000, `datagram ${i} at the core peer`);
    }
    assert.deepEqual(coreGot, UP);
    let want = 0;
    for (const d of DOWN) {
      core.send(d, corePort, LO);
      want += d.length;
      await watch.until(() => p.stdout.length >= want || p.exited, 5000, 'datagram at s_client');
    }
    assert.deepEqual(p.stdout, Buffer.concat(DOWN));
    // Subtract: the gateway's close_notify ends s_client
    await h.tx(`Context = ${r[0]!.contextId as number} { Subtract = * }`);
    await watch.until(() => p.exited, 5000, 's_client ends on close_notify');
  });
});
