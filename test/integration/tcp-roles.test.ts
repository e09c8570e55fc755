/**
 * TCP bearer roles (PROFILE §5, RFC 4145) through the command layer on loopback: every combination
 * of the gateway's Local a=setup with the peer's Remote a=setup, bytes relayed both ways, the
 * events with their parameters, delayed establishment, holdconn and tcpbcc/estab,
 * a=connection:new|existing, latching and source filtering. Port range 20100-20399.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import {
  addContext,
  closed,
  dialRetry,
  modify,
  paramOf,
  peerServer,
  readBytes,
  readToEnd,
  refused,
  tcpHarness,
  tcpLocal,
  tcpRemote,
  LO,
  type TcpHarness,
} from './tcp-harness.js';

const BASE = 20100;

/** Sends a few bytes each way between two sockets joined through the gateway. */
async function roundTrip(a: Socket, b: Socket, tag: string): Promise<void> {
  const ab = Buffer.from(`${tag} a->b`);
  const ba = Buffer.from(`${tag} b->a`);
  a.write(ab);
  assert.deepEqual(await readBytes(b, ab.length), ab);
  b.write(ba);
  assert.deepEqual(await readBytes(a, ba.length), ba);
}

async function withHarness(base: number, fn: (h: TcpHarness) => Promise<void>): Promise<void> {
  const h = tcpHarness(base, { closeGraceMs: 200 });
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

test('access passive (latching) ← UE connects; core active → peer: delayed establishment connects out only after the incoming leg is up', async () => {
  await withHarness(BASE, async (h) => {
    const peer = await peerServer();
    const { ids, ports } = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive'), remote: tcpRemote(9, 'active', '192.0.2.99') },
      { realm: 'core', local: tcpLocal('active'), remote: tcpRemote(peer.port, 'passive') },
    );
    let earlyAccept = false;
    peer.server.once('connection', () => (earlyAccept = true));
    // nothing goes out before the access leg is up (tcpbcc/dly defaults to on)
    await new Promise((r) => setImmediate(r));
    assert.equal(earlyAccept, false);
    const ue = await dialRetry(ports[0]!);
    const inAt = performance.now();
    const core = await peer.accepted;
    const outAt = await peer.acceptedAt;
    assert.ok(outAt >= inAt, 'outgoing connect after the incoming one');
    await roundTrip(ue, core, 'passive/active');
    // est events: in on access with the UE's address (latched: the Remote said 192.0.2.99), out on core
    const estIn = await h.notes.wait(ids[0]!, 'tcpbcc/est', { dir: 'in' });
    assert.equal(paramOf(estIn, 'addr'), LO);
    assert.equal(paramOf(estIn, 'port'), String(ue.localPort));
    const estOut = await h.notes.wait(ids[1]!, 'tcpbcc/est', { dir: 'out' });
    assert.equal(paramOf(estOut, 'addr'), LO);
    assert.equal(paramOf(estOut, 'port'), String(peer.port));
    ue.destroy();
    core.destroy();
    peer.server.close();
  });
});

test('core passive ← peer connects; access active → UE (roles swapped), delayed establishment off connects at once', async () => {
  await withHarness(BASE + 10, async (h) => {
    const ueServer = await peerServer();
    const { ids, ports } = await addContext(
      h,
      { realm: 'access', local: tcpLocal('active'), remote: tcpRemote(ueServer.port, 'passive'), lc: 'tcpbcc/dly = OFF' },
      { realm: 'core', local: tcpLocal('passive'), remote: tcpRemote(9, 'active') },
    );
    // dly off: the access leg connects although nothing came in on the core leg
    const ue = await ueServer.accepted;
    await h.notes.wait(ids[0]!, 'tcpbcc/est', { dir: 'out' });
    const corePeer = await dialRetry(ports[1]!);
    await h.notes.wait(ids[1]!, 'tcpbcc/est', { dir: 'in' });
    await roundTrip(ue, corePeer, 'active/passive');
    ue.destroy();
    corePeer.destroy();
    ueServer.server.close();
  });
});

test('actpass Local settles by the Remote: peer active → we listen, peer passive → we connect, peer actpass → we connect', async () => {
  await withHarness(BASE + 20, async (h) => {
    const coreServer = await peerServer();
    const actpassServer = await peerServer();
    // access: Local actpass, Remote active → passive; core: Local actpass, Remote passive → active
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('actpass'), remote: tcpRemote(9, 'active') },
      { realm: 'core', local: tcpLocal('actpass'), remote: tcpRemote(coreServer.port, 'passive') },
    );
    const ue = await dialRetry(a.ports[0]!);
    const core = await coreServer.accepted;
    await roundTrip(ue, core, 'actpass');
    // a third context: actpass against actpass → we connect (RFC 4145 answerer picks; active crosses NATs)
    const b = await addContext(
      h,
      { realm: 'access', local: tcpLocal('actpass'), remote: tcpRemote(9, 'active') },
      { realm: 'core', local: tcpLocal('actpass'), remote: tcpRemote(actpassServer.port, 'actpass') },
    );
    const ue2 = await dialRetry(b.ports[0]!);
    const core2 = await actpassServer.accepted;
    await roundTrip(ue2, core2, 'actpass/actpass');
    await h.notes.wait(b.ids[1]!, 'tcpbcc/est', { dir: 'out' });
    for (const s of [ue, core, ue2, core2]) s.destroy();
    coreServer.server.close();
    actpassServer.server.close();
  });
});

test('actpass Local with no Remote yet listens; without a=setup in Remote a port of 9 means an active peer', async () => {
  await withHarness(BASE + 30, async (h) => {
    const coreServer = await peerServer();
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('actpass') },
      // no a=setup and a real port: RFC 4145 default of an answer (passive) → we connect
      { realm: 'core', local: tcpLocal(), remote: tcpRemote(coreServer.port) },
    );
    const ue = await dialRetry(a.ports[0]!);
    const core = await coreServer.accepted;
    await roundTrip(ue, core, 'no-remote');
    for (const s of [ue, core]) s.destroy();
    coreServer.server.close();
  });
});

test('holdconn: nothing until tcpbcc/estab; then the held leg takes the role the Remote leaves it', async () => {
  await withHarness(BASE + 40, async (h) => {
    const coreServer = await peerServer();
    let accepted = false;
    coreServer.server.on('connection', () => (accepted = true));
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive'), remote: tcpRemote(9, 'active') },
      { realm: 'core', local: tcpLocal('holdconn'), remote: tcpRemote(coreServer.port, 'passive') },
    );
    const ue = await dialRetry(a.ports[0]!);
    await h.notes.wait(a.ids[0]!, 'tcpbcc/est', { dir: 'in' });
    // the access leg is up but the core leg holds: bytes wait in the gateway
    ue.write('held bytes');
    await new Promise((r) => setImmediate(r));
    assert.equal(accepted, false);
    assert.equal(h.notes.count(a.ids[1]!, 'tcpbcc/est'), 0);
    await modify(h, a.ctx, a.ids[1]!, 'Signals { tcpbcc/estab }');
    const core = await coreServer.accepted;
    assert.equal((await readBytes(core, 10)).toString(), 'held bytes');
    await h.notes.wait(a.ids[1]!, 'tcpbcc/est', { dir: 'out' });
    for (const s of [ue, core]) s.destroy();
    coreServer.server.close();
  });
});

test('holdconn lifted by a Modify of Local to active', async () => {
  await withHarness(BASE + 50, async (h) => {
    const coreServer = await peerServer();
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive'), remote: tcpRemote(9, 'active') },
      { realm: 'core', local: tcpLocal('holdconn'), remote: tcpRemote(coreServer.port, 'passive') },
    );
    const ue = await dialRetry(a.ports[0]!);
    await h.notes.wait(a.ids[0]!, 'tcpbcc/est');
    await modify(h, a.ctx, a.ids[1]!, `Media { Stream = 1 { Local { v=0\nc=IN IP4 ${LO}\nm=application ${a.ports[1]} TCP *\na=setup:active\n } } }`);
    const core = await coreServer.accepted;
    await roundTrip(ue, core, 'modify');
    for (const s of [ue, core]) s.destroy();
    coreServer.server.close();
  });
});

test('passive both sides: the gateway is a TCP "merge" point (both peers connect in)', async () => {
  await withHarness(BASE + 60, async (h) => {
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive') },
      { realm: 'core', local: tcpLocal('passive'), remote: tcpRemote(9, 'active') },
    );
    const ue = await dialRetry(a.ports[0]!);
    const core = await dialRetry(a.ports[1]!);
    await roundTrip(ue, core, 'merge');
    for (const s of [ue, core]) s.destroy();
  });
});

test('without latching only the Remote address may connect; a second connection is refused; latching reports the source', async () => {
  await withHarness(BASE + 70, async (h) => {
    // core realm: no latching by default; the Remote says 127.0.0.2, we dial from 127.0.0.1
    const a = await addContext(
      h,
      { realm: 'core', local: tcpLocal('passive'), remote: tcpRemote(9, 'active', '127.0.0.2') },
      { realm: 'core', local: tcpLocal('passive'), remote: tcpRemote(9, 'active') },
    );
    assert.equal(await refused(a.ports[0]!), true, 'a connection from another address is reset');
    assert.equal(h.plane.stats.filtered, 1);
    // 127.0.0.2 is the allowed source
    const good = await dialRetry(a.ports[0]!, { localAddress: '127.0.0.2' });
    await h.notes.wait(a.ids[0]!, 'tcpbcc/est', { dir: 'in', addr: '127.0.0.2' });
    // a second connection while one is up: refused
    assert.equal(await refused(a.ports[0]!, { localAddress: '127.0.0.2' }), true);
    assert.equal(h.plane.stats.refused, 1);
    // latching explicitly on: anyone may connect, the source is reported
    await modify(h, a.ctx, a.ids[1]!, 'Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core, ipnapt/latch = ON } } }');
    const any = await dialRetry(a.ports[1]!);
    const est = await h.notes.wait(a.ids[1]!, 'tcpbcc/est', { dir: 'in' });
    assert.equal(paramOf(est, 'port'), String(any.localPort));
    for (const s of [good, any]) s.destroy();
  });
});

test('a=connection:existing keeps the connection across a Modify; a=connection:new replaces it (tcpbcc/rel local, a new est)', async () => {
  await withHarness(BASE + 80, async (h) => {
    const s1 = await peerServer();
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive') },
      { realm: 'core', local: tcpLocal('active'), remote: tcpRemote(s1.port, 'passive') },
    );
    const ue = await dialRetry(a.ports[0]!);
    const core1 = await s1.accepted;
    await roundTrip(ue, core1, 'first');
    // same Remote again with existing: nothing happens
    await modify(h, a.ctx, a.ids[1]!, `Media { Stream = 1 { Remote { ${tcpRemote(s1.port, 'passive', LO, 'TCP', 'a=connection:existing\n')} } } }`);
    await roundTrip(ue, core1, 'kept');
    assert.equal(h.notes.count(a.ids[1]!, 'tcpbcc/rel'), 0);
    // connection:new: the old one is closed by the gateway, a new one opened
    const again = new Promise<Socket>((resolve) => s1.server.once('connection', resolve));
    const gone = closed(core1);
    await modify(h, a.ctx, a.ids[1]!, `Media { Stream = 1 { Remote { ${tcpRemote(s1.port, 'passive', LO, 'TCP', 'a=connection:new\n')} } } }`);
    // the gateway's FIN on the old connection; answering it is not passed on to the UE
    await readToEnd(core1);
    core1.end();
    await gone;
    const rel = await h.notes.wait(a.ids[1]!, 'tcpbcc/rel');
    assert.equal(paramOf(rel, 'cause'), 'local');
    const core2 = await again;
    core2.on('error', () => undefined);
    await roundTrip(ue, core2, 'new');
    assert.equal(h.notes.count(a.ids[1]!, 'tcpbcc/est'), 2);
    for (const s of [ue, core2]) s.destroy();
    s1.server.close();
  });
});

test('active connect that never succeeds: tcpbcc/fail with the cause after the deadline', async () => {
  const h = tcpHarness(BASE + 90, { connectTimeoutMs: 300, connectRetryMinMs: 20, connectRetryMaxMs: 50 });
  try {
    // a port nobody listens on: refused until the deadline
    const dead = await peerServer();
    const deadPort = dead.port;
    dead.server.close();
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('active'), remote: tcpRemote(deadPort, 'passive'), lc: 'tcpbcc/dly = OFF' },
      { realm: 'core', local: tcpLocal('passive') },
    );
    const fail = await h.notes.wait(a.ids[0]!, 'tcpbcc/fail');
    assert.equal(paramOf(fail, 'cause'), 'refused');
    assert.equal(h.plane.stats.failed, 1);
  } finally {
    await h.close();
  }
});
