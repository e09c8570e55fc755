/**
 * TLS on TCP bearers: e2ae (`TCP/TLS` access leg terminated by the gateway with the TLS part of
 * daemon/tls/, plain `TCP` core leg; TLS role = TCP role) and e2e (two plain `TCP` legs pass a TLS
 * session between the peers through untouched). Port range 20700-20999.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as tls from 'node:tls';
import { TlsMedia, TLS_DEFAULTS, LocalIdentity } from '../../daemon/tls/index.js';
import { tlsEngineOf } from '../../daemon/bearer/tcp/index.js';
import { amm, audit, commands, localOf } from '../unit/control/commands/harness.js';
import {
  addContext,
  dialRetry,
  paramOf,
  peerServer,
  readBytes,
  refused,
  tcpHarness,
  tcpLocal,
  tcpRemote,
  LO,
} from './tcp-harness.js';

const BASE = 20700;

function tlsHarness(base: number): ReturnType<typeof tcpHarness> {
  const media = new TlsMedia({ ...TLS_DEFAULTS, handshakeTimeoutMs: 3000 });
  return tcpHarness(base, { closeGraceMs: 200 }, { tls: tlsEngineOf(media) });
}

test('e2ae: a TLS client on the access leg (gateway = TLS server, pinned both ways) ↔ plain TCP on the core leg', async () => {
  const h = tlsHarness(BASE);
  try {
    const ue = LocalIdentity.generate({ days: 1 });
    const core = await peerServer();
    const r = await h.tx(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access },
        Local { ${tcpLocal('passive', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} },
        Remote { ${tcpRemote(9, 'active', LO, 'TCP/TLS', `a=fingerprint:SHA-256 ${ue.fingerprint('sha-256')}\n`)} } } },
        Events = 1 { tcpbcc/est, tlsbsc/est, tcpbcc/rel } },
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core },
        Local { ${tcpLocal('active')} }, Remote { ${tcpRemote(core.port, 'passive')} } } } } }`);
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    const access = amm(commands(r)[0]);
    const local = localOf(audit(commands(r)[0]))!;
    const fp = /a=fingerprint:SHA-256 ([0-9A-F:]+)/.exec(local)?.[1];
    assert.ok(fp !== undefined && fp.length === 95, `the gateway's fingerprint is in the Local: ${local}`);
    const port = Number(/m=application (\d+)/.exec(local)![1]);
    // the UE connects (TCP active = TLS client) and checks the gateway's certificate by its fingerprint
    const raw = await dialRetry(port);
    const client = tls.connect({ socket: raw, cert: ue.certPem, key: ue.keyPem, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    await once(client, 'secureConnect');
    const peerFp = client.getPeerX509Certificate()?.fingerprint256;
    assert.equal(peerFp, fp);
    client.write('secret over TLS');
    const coreSock = await core.accepted;
    assert.equal((await readBytes(coreSock, 15)).toString(), 'secret over TLS', 'plain on the core side');
    coreSock.write('plain answer');
    const got = await new Promise<string>((resolve) => client.once('data', (d: Buffer) => resolve(d.toString())));
    assert.equal(got, 'plain answer');
    const est = await h.notes.wait(access.terminationId, 'tlsbsc/est');
    assert.equal(paramOf(est, 'resumed')?.toLowerCase(), 'off');
    await h.notes.wait(access.terminationId, 'tcpbcc/est', { dir: 'in' });
    const s = await h.tx(`Context = ${r[0]!.contextId} { Subtract = ${access.terminationId} }`);
    const stats = Object.fromEntries((amm(commands(s)[0]).audit?.statistics ?? []).map((x) => [x.name, Number(x.value)]));
    assert.equal(stats['tlstv/br'], 15);
    assert.equal(stats['tlstv/bs'], 12);
    assert.ok(stats['tcptv/br']! > 15, 'TCP carried the TLS records (more than the application bytes)');
    client.destroy();
    coreSock.destroy();
    core.server.close();
  } finally {
    await h.close();
  }
});

test('TLS role follows the TCP role: the gateway connects out (active) as the TLS client and pins the server', async () => {
  const h = tlsHarness(BASE + 10);
  try {
    const far = LocalIdentity.generate({ days: 1 });
    let gatewayCert: string | undefined;
    const tlsServer = tls.createServer({ cert: far.certPem, key: far.keyPem, requestCert: true, rejectUnauthorized: false }, (s) => {
      gatewayCert = s.getPeerX509Certificate()?.fingerprint256;
      s.on('data', (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
    });
    tlsServer.listen(0, LO);
    await once(tlsServer, 'listening');
    const farPort = (tlsServer.address() as { port: number }).port;
    const r = await h.tx(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${tcpLocal('passive')} } } } },
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core },
        Local { ${tcpLocal('active', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} },
        Remote { ${tcpRemote(farPort, 'passive', LO, 'TCP/TLS', `a=fingerprint:SHA-256 ${far.fingerprint('sha-256')}\n`)} } } },
        Events = 2 { tlsbsc/est } } }`);
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    const accessPort = Number(/m=application (\d+)/.exec(localOf(audit(commands(r)[0]))!)![1]);
    const coreLocal = localOf(audit(commands(r)[1]))!;
    const ue = await dialRetry(accessPort);
    ue.write('shout');
    assert.equal((await readBytes(ue, 5)).toString(), 'SHOUT');
    await h.notes.wait(amm(commands(r)[1]).terminationId, 'tlsbsc/est');
    assert.equal(gatewayCert, /a=fingerprint:SHA-256 ([0-9A-F:]+)/.exec(coreLocal)?.[1], 'the gateway presented the certificate it announced');
    ue.destroy();
    tlsServer.close();
  } finally {
    await h.close();
  }
});

test('e2e: plain TCP legs relay a TLS session between the peers untouched', async () => {
  const h = tcpHarness(BASE + 20);
  try {
    const server = LocalIdentity.generate({ days: 1 });
    const tlsServer = tls.createServer({ cert: server.certPem, key: server.keyPem }, (s) => s.end('hello from the far end'));
    tlsServer.listen(0, LO);
    await once(tlsServer, 'listening');
    const farPort = (tlsServer.address() as { port: number }).port;
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive') },
      { realm: 'core', local: tcpLocal('active'), remote: tcpRemote(farPort, 'passive') },
    );
    const raw = await dialRetry(a.ports[0]!);
    const client = tls.connect({ socket: raw, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    await once(client, 'secureConnect');
    assert.equal(client.getPeerX509Certificate()?.fingerprint256, server.fingerprint('sha-256'), 'the far end certificate, not the gateway');
    const text = await new Promise<string>((resolve) => {
      let acc = '';
      client.on('data', (d: Buffer) => (acc += d.toString()));
      client.once('end', () => resolve(acc));
    });
    assert.equal(text, 'hello from the far end');
    client.destroy();
    tlsServer.close();
  } finally {
    await h.close();
  }
});

test('media.tcp.maxPendingConnections: a connection beyond it (TLS handshakes in progress) is refused and counted', async () => {
  const media = new TlsMedia({ ...TLS_DEFAULTS, handshakeTimeoutMs: 3000 });
  const h = tcpHarness(BASE + 60, { closeGraceMs: 200, maxPendingConnections: 1 }, { tls: tlsEngineOf(media) });
  try {
    const ue = LocalIdentity.generate({ days: 1 });
    const add = (): string => `Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access },
        Local { ${tcpLocal('passive', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} },
        Remote { ${tcpRemote(9, 'active', LO, 'TCP/TLS', `a=fingerprint:SHA-256 ${ue.fingerprint('sha-256')}\n`)} } } } }`;
    const r1 = await h.tx(`Context = $ { ${add()} }`);
    const r2 = await h.tx(`Context = $ { ${add()} }`);
    const p1 = Number(/m=application (\d+)/.exec(localOf(audit(commands(r1)[0]))!)![1]);
    const p2 = Number(/m=application (\d+)/.exec(localOf(audit(commands(r2)[0]))!)![1]);
    // a TCP connection that never says ClientHello keeps its TLS handshake pending
    const silent = await dialRetry(p1);
    while (h.plane.stats.pending === 0) await new Promise((res) => setImmediate(res));
    assert.equal(await refused(p2), true);
    assert.equal(h.plane.stats.limited, 1);
    assert.match(await h.metrics.registry.metrics(), /trgwd_tcp_connection_attempts_total\{realm="access",direction="in",result="limit"\} 1/);
    silent.destroy();
  } finally {
    await h.close();
  }
});

test('TCP/TLS without a TLS engine is answered 449', async () => {
  const h = tcpHarness(BASE + 40);
  try {
    const r = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive },
      Local { ${tcpLocal('passive', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} } } } } }`);
    assert.equal(r[0]?.error?.code, 449);
  } finally {
    await h.close();
  }
});
