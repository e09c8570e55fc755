/**
 * UDP/TLS/UDPTL terminations end to end in the gateway model (H.248 text through the command layer,
 * the UDP plane and the DTLS plane on real sockets): Local `$` values, roles from a=setup, pins from
 * Remote, tlsbsc events as Notify, UDPTL relayed one for one with the plain udptl termination,
 * statistics, tls-id changes, subtract.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { UdpMediaPlane } from '../../../../daemon/bearer/udp/udp-plane.js';
import { parseSdp, SDP_ATTR } from '../../../../daemon/control/codec/sdp.js';
import { DtlsEngine } from '../../../../daemon/tls/dtls/engine.js';
import { DtlsUdptlPlane, dtlsRole } from '../../../../daemon/tls/dtls/plane.js';
import {
  amm,
  audit,
  commands,
  harness,
  localOf,
  portOf as sdpPort,
  type Harness,
} from '../../control/commands/harness.js';
import { DtlsSide, Watch, closeQuietly, identity, portOf, udp, udptlDatagram } from './helpers.js';
import { skipWithoutDtls } from './helpers.js';

const skip = skipWithoutDtls();
const BASE = 41200;
const LO = '127.0.0.1';

interface Rig {
  readonly h: Harness;
  readonly dtls: DtlsUdptlPlane;
  readonly engine: DtlsEngine;
  readonly watch: Watch;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rig(config: ConstructorParameters<typeof DtlsEngine>[0]['config'] = {}): Rig {
  const watch = new Watch();
  const h = harness(BASE);
  const udpPlane = new UdpMediaPlane({ metrics: h.metrics });
  const engine = new DtlsEngine({
    identity: identity(),
    config: { retransmitInitialMs: 100, ...config },
    metrics: h.metrics,
  });
  const dtls = new DtlsUdptlPlane({ engine, udp: udpPlane });
  h.mg.addMediaPlane(udpPlane);
  h.mg.addMediaPlane(dtls);
  // every Notify wakes waiters
  const push = h.link.notifies.push.bind(h.link.notifies);
  h.link.notifies.push = (...n) => {
    const r = push(...n);
    watch.notify();
    return r;
  };
  cleanups.push(() => h.close());
  return { h, dtls, engine, watch };
}

const EVENTS = 'Events = 7 { tlsbsc/est, tlsbsc/fail, tlsbsc/rel }';

function accessLocal(setup = 'actpass', extra = ''): string {
  return `v=0\nc=IN IP4 $\nm=image $ UDP/TLS/UDPTL t38\na=T38FaxVersion:0\na=setup:${setup}\na=fingerprint:SHA-256 $\na=tls-id:$\n${extra}`;
}

function faxRemote(
  port: number,
  setup: string,
  fp: string,
  tlsId = 'faxTlsId0123456789abcdef',
  hash = 'SHA-256',
): string {
  return `v=0\nc=IN IP4 ${LO}\nm=image ${port} UDP/TLS/UDPTL t38\na=T38FaxVersion:0\na=setup:${setup}\na=fingerprint:${hash} ${fp}\na=tls-id:${tlsId}\n`;
}

function coreAdd(peerPort: number): string {
  return `Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, Local { v=0\nc=IN IP4 $\nm=image $ udptl t38\n }, Remote { v=0\nc=IN IP4 ${LO}\nm=image ${peerPort} udptl t38\n } } } }`;
}

interface Call {
  readonly ctx: number;
  readonly access: string;
  readonly core: string;
  readonly accessPort: number;
  readonly corePort: number;
  readonly localSdp: string;
}

async function newCall(r: Rig, corePeerPort: number, local = accessLocal(), remote = ''): Promise<Call> {
  const rem = remote !== '' ? `, Remote { ${remote} }` : '';
  const replies = await r.h.tx(
    `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${local} }${rem} } }, ${EVENTS} }, ${coreAdd(corePeerPort)} }`,
  );
  assert.equal(replies[0]?.error, undefined, JSON.stringify(replies[0]?.error));
  const [a, c] = commands(replies);
  const localSdp = localOf(audit(a))!;
  return {
    ctx: replies[0]!.contextId as number,
    access: amm(a).terminationId,
    core: amm(c).terminationId,
    accessPort: sdpPort(localSdp),
    corePort: sdpPort(localOf(audit(c))),
    localSdp,
  };
}

function notified(
  r: Rig,
  term: string,
  name: string,
): { name: string; params?: { name: string; value?: string }[] }[] {
  return r.h.link.notifies
    .filter((n) => n.terminationId === term)
    .flatMap((n) => n.events)
    .filter((e) => e.name === name) as { name: string; params?: { name: string; value?: string }[] }[];
}

async function corePeer(watch: Watch): Promise<{ sock: Awaited<ReturnType<typeof udp>>; got: Buffer[] }> {
  const sock = await udp();
  const got: Buffer[] = [];
  sock.on('message', (m) => {
    got.push(m);
    watch.notify();
  });
  cleanups.push(() => closeQuietly(sock));
  return { sock, got };
}

describe('dtlsRole (PROFILE §8)', () => {
  const g = (setup?: string) =>
    parseSdp(
      `v=0\nc=IN IP4 1.2.3.4\nm=image 1 UDP/TLS/UDPTL t38\n${setup !== undefined ? `a=setup:${setup}\n` : ''}`,
    )[0];
  it('Local active → client, passive → server, holdconn → hold', () => {
    assert.equal(dtlsRole(g('active'), g('passive')), 'client');
    assert.equal(dtlsRole(g('passive'), g('active')), 'server');
    assert.equal(dtlsRole(g('holdconn'), g('active')), 'hold');
  });
  it('actpass: the Remote decides (active → server, passive → client); no Remote yet → auto', () => {
    assert.equal(dtlsRole(g('actpass'), g('active')), 'server');
    assert.equal(dtlsRole(g('actpass'), g('passive')), 'client');
    assert.equal(dtlsRole(g('actpass'), g('actpass')), 'client');
    assert.equal(dtlsRole(g('actpass'), undefined), 'auto');
    assert.equal(dtlsRole(g(), g()), 'auto');
  });
});

describe('UDP/TLS/UDPTL terminations', { skip }, () => {
  it('answers our fingerprint and a fresh tls-id, accepts the fax as server, relays UDPTL both ways', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const call = await newCall(r, portOf(core.sock));
    const g = parseSdp(call.localSdp)[0]!;
    const m = g.media[0]!;
    assert.deepEqual(m.getAll(SDP_ATTR.fingerprint), [
      { hash: 'SHA-256', value: r.engine.identity.fingerprint('sha-256') },
    ]);
    const tlsId = m.get(SDP_ATTR.tlsId)!;
    assert.ok(tlsId.length >= 20, tlsId); // RFC 8842 §4
    assert.notEqual(tlsId, '$');

    // the fax answers a=setup:active: it connects, we serve (the ClientHello may come before the Remote)
    const fax = await DtlsSide.create({
      watch: r.watch,
      endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: r.engine.identity.fingerprint() }] },
    });
    cleanups.push(() => fax.close());
    fax.ep.connect(LO, call.accessPort);
    await r.watch.until(() => fax.established.length === 1, 5000, 'fax side up');
    assert.equal(notified(r, call.access, 'tlsbsc/est').length, 0, 'no est before the Remote pin');

    const mod = await r.h.tx(
      `Context = ${call.ctx} { Modify = ${call.access} { Media { Stream = 1 { Remote { ${faxRemote(fax.port, 'active', fax.identity.fingerprint())} } } } } }`,
    );
    assert.equal(mod[0]?.error, undefined, JSON.stringify(mod[0]?.error));
    await r.watch.until(() => notified(r, call.access, 'tlsbsc/est').length === 1, 5000, 'tlsbsc/est');
    assert.deepEqual(notified(r, call.access, 'tlsbsc/est')[0]!.params, [
      { name: 'resumed', relation: '=', value: 'off' },
    ]);

    // fax → gateway → core, one datagram each, byte-identical
    const up = [udptlDatagram(1), udptlDatagram(2, 40), udptlDatagram(3, 900)];
    for (const d of up) fax.ep.send(d, d.length);
    await r.watch.until(() => core.got.length === up.length, 5000, 'core got UDPTL');
    assert.deepEqual(core.got, up);
    // core → gateway → fax
    const down = [udptlDatagram(20), udptlDatagram(21, 7)];
    for (const d of down) core.sock.send(d, call.corePort, LO);
    await r.watch.until(() => fax.data.length === down.length, 5000, 'fax got UDPTL');
    assert.deepEqual(fax.data, down);

    // statistics of the DTLS termination count UDPTL datagrams and octets
    const sub = await r.h.tx(`Context = ${call.ctx} { Subtract = ${call.access} { Audit { Statistics } } }`);
    const stats = Object.fromEntries(
      (audit(commands(sub)[0])?.statistics ?? []).map((s) => [s.name, Number(s.value)]),
    );
    assert.equal(
      stats['nt/or'],
      up.reduce((n, d) => n + d.length, 0),
    );
    assert.equal(
      stats['nt/os'],
      down.reduce((n, d) => n + d.length, 0),
    );
    assert.equal(stats['tlstv/br'], stats['nt/or']);
    assert.equal(stats['tlstv/bs'], stats['nt/os']);
    // subtract: close_notify to the fax
    await r.watch.until(() => fax.released.length === 1, 5000, 'fax released');
    assert.equal(fax.released[0]!.cause, 'peer');
    assert.equal(r.dtls.legCount, 0);
  });

  it('Local a=setup:active: the gateway connects to the Remote as DTLS client', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const fax = await DtlsSide.create({
      watch: r.watch,
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: r.engine.identity.fingerprint() }] },
    });
    cleanups.push(() => fax.close());
    const call = await newCall(
      r,
      portOf(core.sock),
      accessLocal('active'),
      faxRemote(fax.port, 'passive', fax.identity.fingerprint()),
    );
    await r.watch.until(
      () => notified(r, call.access, 'tlsbsc/est').length === 1 && fax.established.length === 1,
      5000,
      'est',
    );
    assert.equal(fax.established[0]!.role, 'server');
    const d = udptlDatagram(9, 200);
    fax.ep.send(d, d.length);
    await r.watch.until(() => core.got.length === 1, 5000, 'core got');
    assert.deepEqual(core.got[0], d);
  });

  it('actpass against a passive fax (answer), with tlsbsc/estab: the gateway is client', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const fax = await DtlsSide.create({
      watch: r.watch,
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: r.engine.identity.fingerprint() }] },
    });
    cleanups.push(() => fax.close());
    const call = await newCall(r, portOf(core.sock));
    const tlsId = parseSdp(call.localSdp)[0]!.media[0]!.get(SDP_ATTR.tlsId)!;
    // STANDARDS §7.5 step 2: Local echoed with a=setup:active, the Remote, and the estab signal
    const local = call.localSdp.replace('a=setup:actpass', 'a=setup:active');
    assert.ok(local.includes(`a=tls-id:${tlsId}`));
    const mod = await r.h.tx(
      `Context = ${call.ctx} { Modify = ${call.access} { Media { Stream = 1 { Local { ${local} }, Remote { ${faxRemote(fax.port, 'passive', fax.identity.fingerprint())} } } }, Signals { tlsbsc/estab } } }`,
    );
    assert.equal(mod[0]?.error, undefined, JSON.stringify(mod[0]?.error));
    await r.watch.until(() => notified(r, call.access, 'tlsbsc/est').length === 1, 5000, 'est');
    assert.equal(fax.established.length, 1);
  });

  it('a Remote fingerprint the fax certificate does not match: tlsbsc/fail reason=fingerprint', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const fax = await DtlsSide.create({
      watch: r.watch,
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: r.engine.identity.fingerprint() }] },
    });
    cleanups.push(() => fax.close());
    const call = await newCall(
      r,
      portOf(core.sock),
      accessLocal('active'),
      faxRemote(fax.port, 'passive', identity().fingerprint()),
    );
    await r.watch.until(() => notified(r, call.access, 'tlsbsc/fail').length === 1, 5000, 'fail');
    assert.deepEqual(notified(r, call.access, 'tlsbsc/fail')[0]!.params, [
      { name: 'reason', relation: '=', value: 'fingerprint' },
    ]);
    assert.equal(notified(r, call.access, 'tlsbsc/est').length, 0);
  });

  it('a new Remote tls-id is a new association: tlsbsc/rel, then tlsbsc/est again', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const fax = await DtlsSide.create({
      watch: r.watch,
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: r.engine.identity.fingerprint() }] },
    });
    cleanups.push(() => fax.close());
    const call = await newCall(
      r,
      portOf(core.sock),
      accessLocal('active'),
      faxRemote(fax.port, 'passive', fax.identity.fingerprint(), 'firstTlsId_0123456789'),
    );
    await r.watch.until(() => notified(r, call.access, 'tlsbsc/est').length === 1, 5000, 'est');
    await r.h.tx(
      `Context = ${call.ctx} { Modify = ${call.access} { Media { Stream = 1 { Remote { ${faxRemote(fax.port, 'passive', fax.identity.fingerprint(), 'secondTlsId_0123456789')} } } } } }`,
    );
    await r.watch.until(() => notified(r, call.access, 'tlsbsc/est').length === 2, 5000, 'second est');
    assert.equal(notified(r, call.access, 'tlsbsc/rel').length, 1);
    assert.equal(fax.established.length, 2);
    // the same Remote again (same tls-id) changes nothing
    await r.h.tx(
      `Context = ${call.ctx} { Modify = ${call.access} { Media { Stream = 1 { Remote { ${faxRemote(fax.port, 'passive', fax.identity.fingerprint(), 'secondTlsId_0123456789')} } } } } }`,
    );
    const d = udptlDatagram(3);
    fax.ep.send(d, d.length);
    await r.watch.until(() => core.got.length === 1, 5000, 'data');
    assert.equal(notified(r, call.access, 'tlsbsc/rel').length, 1);
  });

  it('Remote without a=fingerprint is 472; an unknown hash function is 449 naming it', async () => {
    const r = rig();
    const core = await corePeer(r.watch);
    const noFp = `v=0\nc=IN IP4 ${LO}\nm=image 5000 UDP/TLS/UDPTL t38\na=setup:active\n`;
    let rep = await r.h.tx(
      `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${accessLocal()} }, Remote { ${noFp} } } } }, ${coreAdd(portOf(core.sock))} }`,
    );
    assert.equal(rep[0]?.error?.code, 472);
    rep = await r.h.tx(
      `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${accessLocal()} }, Remote { ${faxRemote(5000, 'active', 'AB:CD', 'x'.repeat(20), 'md5')} } } } } }`,
    );
    assert.equal(rep[0]?.error?.code, 449);
    assert.match(rep[0]?.error?.text ?? '', /md5/);
    // UDP/DTLS/UDPTL and UDP/DTLS are accepted as the same transport (PROFILE §3)
    for (const proto of ['UDP/DTLS/UDPTL', 'UDP/DTLS']) {
      rep = await r.h.tx(
        `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${accessLocal().replace('UDP/TLS/UDPTL', proto)} } } } } }`,
      );
      assert.equal(rep[0]?.error, undefined, JSON.stringify(rep[0]?.error));
      assert.match(localOf(audit(commands(rep)[0]))!, /a=fingerprint:SHA-256 [0-9A-F:]{95}/);
    }
  });
});
