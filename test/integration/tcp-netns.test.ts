/**
 * TCP simultaneous open for real (PROFILE §5, RFC 793 §3.4, H.248.84 tcphp): the gateway and a peer
 * in two network namespaces joined by a veth pair (192.0.2.1 ↔ 192.0.2.2, TEST-NET-1, only inside
 * the namespaces), the link delayed with netem (50 ms each way) where the qdisc exists, and each
 * namespace dropping unsolicited inbound SYNs as a NAT does. Neither side listens: the connection
 * exists only if the crossing SYNs meet. The peer is a plain independent loop (net.connect from its
 * fixed port, retried), not our connector. Root only (test/helpers/netns.ts); skipped otherwise
 * with the reason, failed under CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, netnsSkip, type NodeChild } from '../helpers/netns.js';

const GW = '192.0.2.1';
const PEER = '192.0.2.2';
const GW_PORT = 45000;
const PEER_PORT = 46000;

/** The gateway side: an access leg doing simultaneous open towards the peer, a core leg a local client dials. */
function gatewayCode(lc: string, setup: { local: string; remote: string }): string {
  return `
    import { tcpHarness, addContext, tcpLocal, tcpRemote, dialRetry, readBytes, paramOf } from './test/integration/tcp-harness.ts';
    const h = tcpHarness(0, { soRetryMinMs: 50, soRetryMaxMs: 400 }, {}, {
      realms: { access: { address: '${GW}', ports: [${GW_PORT}, ${GW_PORT}] }, core: { address: '127.0.0.1', ports: [45100, 45199] } },
    });
    const a = await addContext(h,
      { realm: 'access', local: tcpLocal('${setup.local}'), remote: tcpRemote(${PEER_PORT}, '${setup.remote}', '${PEER}')${lc !== '' ? `, lc: '${lc}'` : ''} },
      { realm: 'core', local: tcpLocal('passive') });
    console.log(JSON.stringify({ added: a.ports }));
    // delayed establishment: the access leg starts its simultaneous open once this core leg is up
    const core = await dialRetry(a.ports[1]);
    const t0 = Date.now();
    const est = await h.notes.wait(a.ids[0], 'tcpbcc/est', {}, 20000);
    console.log(JSON.stringify({ est: { dir: paramOf(est, 'dir'), addr: paramOf(est, 'addr'), port: paramOf(est, 'port') }, ms: Date.now() - t0 }));
    core.write('ping');
    const pong = await readBytes(core, 4);
    console.log(JSON.stringify({ pong: pong.toString() }));
    core.destroy();
    await h.close();
    process.exit(0);
  `;
}

/** The peer: connects from its fixed port to the gateway's, again and again, until it is connected. */
function peerCode(startDelayMs: number): string {
  return `
    import net from 'node:net';
    await new Promise((r) => setTimeout(r, ${startDelayMs}));
    const end = Date.now() + 20000;
    let attempts = 0;
    for (;;) {
      attempts++;
      const r = await new Promise((res) => {
        const s = net.connect({ host: '${GW}', port: ${GW_PORT}, localAddress: '${PEER}', localPort: ${PEER_PORT} });
        s.once('connect', () => res(s));
        s.once('error', (e) => res(e.code));
      });
      if (typeof r !== 'string') {
        const data = await new Promise((res) => r.once('data', (d) => res(d.toString())));
        r.write('pong');
        console.log(JSON.stringify({ connected: true, attempts, data, local: r.localPort, remote: r.remotePort }));
        r.end();
        break;
      }
      if (Date.now() > end) { console.log(JSON.stringify({ connected: false, attempts, last: r })); process.exit(1); }
      await new Promise((res) => setTimeout(res, 100));
    }
  `;
}

async function lab(fn: (l: NetnsLab, netem: boolean, gwNs: string, peerNs: string) => Promise<void>): Promise<void> {
  const l = new NetnsLab();
  try {
    const gwNs = l.addNamespace('gw');
    const peerNs = l.addNamespace('peer');
    const { devA, devB } = l.link(gwNs, GW, peerNs, PEER);
    const netem = l.delay(gwNs, devA, 50) && l.delay(peerNs, devB, 50);
    assert.ok(l.dropUnsolicitedSyns(gwNs, devA) && l.dropUnsolicitedSyns(peerNs, devB), 'nftables is needed to play the NATs');
    await fn(l, netem, gwNs, peerNs);
  } finally {
    await l.cleanup();
  }
}

async function expectCrossing(gw: NodeChild, peer: NodeChild): Promise<void> {
  const est = await gw.line((x) => 'est' in x);
  assert.deepEqual(est.est, { dir: 'out', addr: PEER, port: String(PEER_PORT) });
  const pong = await gw.line((x) => 'pong' in x);
  assert.equal(pong.pong, 'pong');
  const p = await peer.line((x) => 'connected' in x);
  assert.equal(p.connected, true);
  assert.equal(p.data, 'ping');
  assert.equal(p.local, PEER_PORT);
  assert.equal(p.remote, GW_PORT);
  assert.equal(await gw.exited, 0, gw.stderr());
}

test('both a=setup:active: the gateway and a peer behind a NAT meet by simultaneous open (peer first)', async (t) => {
  if (netnsSkip(t)) return;
  await lab(async (l, netem, gwNs, peerNs) => {
    t.diagnostic(netem ? 'link delayed 50 ms each way (netem)' : 'netem not available: NAT-like SYN dropping only');
    const peer = l.node(peerNs, peerCode(0));
    const gw = l.node(gwNs, gatewayCode('', { local: 'active', remote: 'active' }));
    await expectCrossing(gw, peer);
  });
});

test('tcphp/so = ON with a passive-looking Remote: simultaneous open, the gateway first and the peer a second later', async (t) => {
  if (netnsSkip(t)) return;
  await lab(async (l, _netem, gwNs, peerNs) => {
    const gw = l.node(gwNs, gatewayCode('tcphp/so = ON, tcphp/to = 15000', { local: 'active', remote: 'passive' }));
    await gw.line((x) => 'added' in x);
    const peer = l.node(peerNs, peerCode(1000));
    await expectCrossing(gw, peer);
  });
});
