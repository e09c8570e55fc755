/**
 * The outgoing connector (daemon/bearer/tcp/connector.ts): retries from one fixed local port until
 * the peer is there (the port is reusable after a refused attempt), gives up at the deadline with
 * the cause, can be cancelled, and — two sockets on loopback connecting to each other from fixed
 * ports — completes a TCP simultaneous open (RFC 793 §3.4). Crossing SYNs need the first SYN of
 * each side not to be refused at once, as on a NAT: that runs in a private network namespace
 * whose loopback drops unsolicited SYNs (test/helpers/netns.ts; root only, skipped otherwise).
 * Port range 20000-20099.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { ConnectFailure, startConnect } from '../../../../daemon/bearer/tcp/connector.js';
import { NetnsLab, netnsSkip } from '../../../helpers/netns.js';

const LO = '127.0.0.1';
const BASE = 20000;

test('retries from the same local port until the peer listens, then connects from that port', async () => {
  const local = BASE;
  const remote = BASE + 1;
  const a = startConnect({ localAddress: LO, localPort: local, remote: { address: LO, port: remote }, deadlineMs: 5000, retryMinMs: 5, retryMaxMs: 20 });
  // the peer comes up after a few refused attempts
  while (a.attempts < 3) await new Promise((r) => setTimeout(r, 5));
  const server = createServer();
  server.listen(remote, LO);
  await once(server, 'listening');
  const [[accepted], s] = (await Promise.all([once(server, 'connection'), a.done])) as [[Socket], Socket];
  assert.equal(s.localPort, local, 'every attempt binds the Local port (SO_REUSEADDR: a refused attempt leaves it free)');
  assert.equal(accepted.remotePort, local);
  assert.ok(a.attempts >= 3);
  s.destroy();
  accepted.destroy();
  server.close();
});

test('gives up at the deadline with the cause of the last attempt (refused), and cancel() stops at once', async () => {
  const a = startConnect({ localAddress: LO, localPort: BASE + 2, remote: { address: LO, port: BASE + 3 }, deadlineMs: 150, retryMinMs: 10, retryMaxMs: 40 });
  const e = await a.done.then(
    () => assert.fail('connected to nobody'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof ConnectFailure);
  assert.equal(e.reason, 'refused');
  assert.equal(e.errno, 'ECONNREFUSED');
  assert.ok(e.attempts > 1);
  const b = startConnect({ localAddress: LO, localPort: BASE + 4, remote: { address: LO, port: BASE + 5 }, deadlineMs: 5000, retryMinMs: 10, retryMaxMs: 40 });
  b.cancel();
  const f = await b.done.catch((err: unknown) => err);
  assert.ok(f instanceof ConnectFailure);
  assert.equal(f.reason, 'cancelled');
});

test('simultaneous open on loopback: two sockets connect to each other from fixed ports, no listener anywhere', async (t) => {
  if (netnsSkip(t)) return;
  const lab = new NetnsLab();
  try {
    const ns = lab.addNamespace('so');
    assert.ok(lab.dropUnsolicitedSyns(ns), 'nftables is needed to keep the first SYNs from being refused');
    const child = lab.node(
      ns,
      `
      import { startConnect } from './daemon/bearer/tcp/connector.ts';
      const o = { localAddress: '127.0.0.1', deadlineMs: 5000, retryMinMs: 20, retryMaxMs: 100 };
      const a = startConnect({ ...o, localPort: 40001, remote: { address: '127.0.0.1', port: 40002 } });
      // the other side starts a little later: its SYN meets ours, still in SYN-SENT
      await new Promise((r) => setTimeout(r, 100));
      const b = startConnect({ ...o, localPort: 40002, remote: { address: '127.0.0.1', port: 40001 } });
      const [sa, sb] = await Promise.all([a.done, b.done]);
      sb.resume();
      const got = new Promise((r) => sb.once('data', (d) => r(d.toString())));
      sa.write('crossed');
      console.log(JSON.stringify({ a: [sa.localPort, sa.remotePort], b: [sb.localPort, sb.remotePort], data: await got, attempts: [a.attempts, b.attempts] }));
      sa.destroy(); sb.destroy();
      `,
    );
    const r = await child.line((l) => 'data' in l);
    assert.deepEqual(r.a, [40001, 40002]);
    assert.deepEqual(r.b, [40002, 40001]);
    assert.equal(r.data, 'crossed');
    assert.equal(await child.exited, 0, child.stderr());
  } finally {
    await lab.cleanup();
  }
});
