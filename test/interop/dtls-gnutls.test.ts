/**
 * DTLS interop with GnuTLS (an implementation independent of the OpenSSL we run on) as the fax side:
 * `gnutls-cli --udp` against the gateway as server, `gnutls-serv --udp --echo` against the gateway as
 * client; data both ways; a pin mismatch aborted and reported.
 *
 * Needs gnutls-cli / gnutls-serv (Debian: gnutls-bin), openssl (to make the peer's certificate) and
 * the built addon: skips locally without them, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { CertDir, DtlsSide, Watch, freePort } from '../unit/tls/dtls/helpers.js';
import { skipWithoutDtls } from '../unit/tls/dtls/helpers.js';
import { InteropScope, type PeerProcess } from '../unit/tls/dtls/peers.js';
import { findTool, requireTool } from './tools.js';

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

function tools(t: TestContext, name: 'gnutls-cli' | 'gnutls-serv'): string | undefined {
  if (requireTool(t, 'openssl', 'to make the peer certificate') === undefined) return undefined;
  return requireTool(t, name, 'as the DTLS peer (apt-get install gnutls-bin)');
}

const peer = (cmd: string, args: string[], watch: Watch): PeerProcess => scope.peer(cmd, args, watch);
const side = (watch: Watch, opts: Parameters<typeof DtlsSide.create>[0]): Promise<DtlsSide> => scope.side(watch, opts);

/** Text lines (gnutls-cli sends what it reads from its terminal line by line). */
const LINES = [
  'T.38 UDPTL 0001 ' + 'a'.repeat(60) + '\n',
  'x\n',
  'T.38 UDPTL 0003 ' + '0123456789'.repeat(50) + '\n',
];

describe('DTLS interop: GnuTLS as the fax side', { skip }, () => {
  it('gateway as server, gnutls-cli --udp as client: handshake and data both ways', async (t) => {
    const bin = tools(t, 'gnutls-cli');
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const p = peer(
      bin,
      [
        '--udp',
        '--insecure',
        '--x509certfile',
        fax.certFile,
        '--x509keyfile',
        fax.keyFile,
        '--port',
        String(gw.port),
        LO,
      ],
      watch,
    );
    await watch.until(() => gw.established.length === 1 || p.exited, 10000, 'handshake');
    assert.equal(gw.established.length, 1, p.describe());
    assert.equal(gw.established[0]!.peerFingerprint, fax.fingerprint());
    for (let i = 0; i < LINES.length; i++) {
      p.write(LINES[i]!);
      await watch.until(
        () => gw.coreReceived.length === i + 1 || p.exited,
        5000,
        `line ${i} on the core side`,
      );
    }
    assert.deepEqual(
      gw.coreReceived.map((b) => b.toString('latin1')),
      LINES,
      p.describe(),
    );
    const down = Buffer.from('from the core side\n');
    gw.fromCore(down);
    await watch.until(() => p.stdout.includes(down) || p.exited, 5000, 'data at gnutls-cli');
    assert.ok(p.stdout.includes(down), p.describe());
    gw.ep.close();
    await watch.until(
      () => p.stdout.toString('latin1').includes('Peer has closed') || p.exited,
      5000,
      'close_notify seen',
    );
  });

  it('gateway as client, gnutls-serv --udp --echo as server: every datagram comes back identical', async (t) => {
    const bin = tools(t, 'gnutls-serv');
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const port = await freePort();
    const p = peer(
      bin,
      [
        '--udp',
        '--echo',
        '--port',
        String(port),
        '--x509certfile',
        fax.certFile,
        '--x509keyfile',
        fax.keyFile,
        '--require-client-cert',
      ],
      watch,
    );
    await watch.until(
      () => /listening on IPv4/.test(p.stderr + p.stdout.toString('latin1')) || p.exited,
      10000,
      'gnutls-serv listening',
    );
    const gw = await side(watch, {
      endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    gw.ep.connect(LO, port);
    await watch.until(() => gw.established.length === 1 || p.exited, 10000, 'handshake');
    assert.equal(gw.established.length, 1, p.describe());
    // gnutls-serv echoes what one read of its buffer returns (a little over 100 octets): short lines
    const sent = [
      'T.38 UDPTL 0001 ' + 'a'.repeat(40) + '\n',
      'x\n',
      'T.38 UDPTL 0003 ' + '0123456789'.repeat(6) + '\n',
    ].map((l) => Buffer.from(l));
    for (let i = 0; i < sent.length; i++) {
      gw.fromCore(sent[i]!);
      // the echo comes back through the association and out of the core side
      await watch.until(() => gw.coreReceived.length === i + 1 || p.exited, 5000, `echo ${i}`);
    }
    assert.deepEqual(gw.coreReceived, sent, p.describe());
  });

  it('a gnutls-cli certificate that does not match the pin: failed fingerprint', async (t) => {
    const bin = tools(t, 'gnutls-cli');
    if (bin === undefined) return;
    const watch = new Watch();
    const fax = certs!.make('ec');
    const other = certs!.make('ec', 'impostor');
    const gw = await side(watch, {
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: fax.fingerprint() }] },
    });
    const p = peer(
      bin,
      [
        '--udp',
        '--insecure',
        '--x509certfile',
        other.certFile,
        '--x509keyfile',
        other.keyFile,
        '--port',
        String(gw.port),
        LO,
      ],
      watch,
    );
    await watch.until(() => gw.failed.length === 1, 10000, 'refused');
    assert.equal(gw.failed[0]!.reason, 'fingerprint');
    assert.equal(gw.established.length, 0);
    await watch.until(() => p.exited, 10000, 'gnutls-cli gives up');
  });
});
