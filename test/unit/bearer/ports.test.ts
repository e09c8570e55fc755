import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { once } from 'node:events';
import { PortManager, type RtpPairLease } from '../../../daemon/bearer/ports.js';
import { toH248Error } from '../../../daemon/control/errors.js';
import { isTrgwdError } from '../../../daemon/errors.js';

// Port ranges below the Linux ephemeral range (32768+), disjoint per test.
const LO = '127.0.0.1';

async function hold(port: number, address = LO): Promise<Socket> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  s.bind(port, address);
  await once(s, 'listening');
  return s;
}

function isClosed(s: Socket): boolean {
  try {
    s.address();
    return false;
  } catch {
    return true;
  }
}

test('RTP pairs: even RTP port, RTCP = RTP + 1, both really bound in the realm', async () => {
  const pm = new PortManager({ name: 'access', address: LO, ports: [21001, 21010] });
  assert.equal(pm.udpSlots, 4); // 21002/3, 21004/5, 21006/7, 21008/9 (21010 has no 21011)
  const lease = await pm.allocateRtpPair();
  assert.equal(lease.kind, 'rtp-pair');
  assert.equal(lease.realm, 'access');
  assert.equal(lease.address, LO);
  assert.equal(lease.rtpPort, 21002);
  assert.equal(lease.rtcpPort, 21003);
  assert.deepEqual(lease.rtp.address(), { address: LO, family: 'IPv4', port: 21002 });
  assert.deepEqual(lease.rtcp.address(), { address: LO, family: 'IPv4', port: 21003 });
  const got = once(lease.rtcp, 'message');
  const tx = createSocket('udp4');
  tx.send(Buffer.from('rtcp'), 21003, LO);
  assert.equal(String((await got)[0]), 'rtcp');
  tx.close();
  const all: RtpPairLease[] = [lease];
  for (let i = 0; i < 3; i++) all.push(await pm.allocateRtpPair());
  for (const l of all) {
    assert.equal(l.rtpPort % 2, 0);
    assert.equal(l.rtcpPort, l.rtpPort + 1);
    assert.ok(l.rtpPort >= 21001 && l.rtcpPort <= 21010);
  }
  assert.equal(pm.counters.rtpPairsInUse, 4);
  assert.equal(pm.counters.udpPortsInUse, 8);
  await pm.close();
});

test('exhaustion is ERR_PORTS_EXHAUSTED (H.248 510) and recovers when ports are released', async () => {
  const pm = new PortManager({ name: 'core', address: LO, ports: [21100, 21399] });
  assert.equal(pm.udpSlots, 150);
  const leases = await Promise.all(Array.from({ length: 150 }, () => pm.allocateRtpPair()));
  assert.equal(new Set(leases.map((l) => l.rtpPort)).size, 150);
  assert.equal(pm.counters.udpPortsInUse, 300);
  await assert.rejects(pm.allocateRtpPair(), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'));
    assert.match(e.message, /realm "core"/);
    assert.equal(toH248Error(e).code, 510);
    return true;
  });
  await assert.rejects(pm.allocateUdp(), (e) => isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'));
  assert.equal(pm.counters.allocationFailures, 2);
  const freed = leases[77]!;
  await freed.release();
  const again = await pm.allocateRtpPair();
  assert.equal(again.rtpPort, freed.rtpPort);
  assert.equal(pm.counters.udpPortsInUse, 300);
  await Promise.all([...leases, again].map((l) => l.release()));
  assert.equal(pm.counters.udpPortsInUse, 0);
  assert.equal(pm.counters.rtpPairsInUse, 0);
  assert.equal(pm.udpSlotsFree, 150);
  await pm.close();
});

test('release is idempotent, closes the sockets, and tolerates sockets closed by someone else', async () => {
  const pm = new PortManager({ name: 'r', address: LO, ports: [21400, 21409] });
  const a = await pm.allocateRtpPair();
  const p = a.release();
  assert.equal(a.release(), p);
  assert.ok(a.released);
  await p;
  await a.release();
  assert.ok(isClosed(a.rtp) && isClosed(a.rtcp));
  assert.equal(pm.counters.rtpPairsInUse, 0);
  assert.equal(pm.counters.udpPortsInUse, 0);
  assert.equal(pm.counters.releases, 1);
  assert.equal(pm.udpSlotsFree, 5);
  const b = await pm.allocateUdp();
  b.socket.close();
  await b.release();
  // close(): the Closable shape for owners; same release underneath
  const c = await pm.allocateRtpPair();
  c.close();
  c.close();
  assert.ok(c.released);
  await c.release();
  assert.ok(isClosed(c.rtp) && isClosed(c.rtcp));
  assert.equal(pm.counters.releases, 3);
  assert.equal(pm.counters.udpSinglesInUse, 0);
  assert.equal(pm.udpSlotsFree, 5);
  await pm.close();
});

test('ports held by another socket are skipped (EADDRINUSE) and counted', async (t) => {
  const pm = new PortManager({ name: 'r', address: LO, ports: [21500, 21509] });
  const foreignRtp = await hold(21502);
  const foreignRtcp = await hold(21505);
  t.after(() => foreignRtcp.close());
  const a = await pm.allocateRtpPair();
  const b = await pm.allocateRtpPair();
  assert.equal(a.rtpPort, 21500);
  assert.equal(b.rtpPort, 21506); // 21502 (RTP taken) and 21504 (RTCP 21505 taken) skipped
  assert.equal(pm.counters.bindConflicts, 2);
  // the skipped slots went to the tail of the queue: tried again last
  assert.deepEqual(pm.udpFreeOrder(), [21508, 21502, 21504]);
  const c = await pm.allocateRtpPair();
  assert.equal(c.rtpPort, 21508);
  await assert.rejects(pm.allocateRtpPair(), (e) => isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'));
  // the other process lets go of one: it is usable again
  foreignRtp.close();
  await once(foreignRtp, 'close');
  const d = await pm.allocateRtpPair();
  assert.equal(d.rtpPort, 21502);
  assert.ok(
    !isClosed(a.rtp) && !isClosed(a.rtcp),
    'the partial bind of a skipped slot did not touch other leases',
  );
  await pm.close();
});

test('quarantine: released ports are reused last (FIFO)', async () => {
  const pm = new PortManager({ name: 'r', address: LO, ports: [21600, 21607] });
  const a = await pm.allocateRtpPair(); // 21600
  const b = await pm.allocateRtpPair(); // 21602
  assert.deepEqual([a.rtpPort, b.rtpPort], [21600, 21602]);
  await a.release();
  await b.release();
  assert.deepEqual(pm.udpFreeOrder(), [21604, 21606, 21600, 21602]);
  const next = [];
  for (let i = 0; i < 4; i++) next.push(await pm.allocateRtpPair());
  assert.deepEqual(
    next.map((l) => l.rtpPort),
    [21604, 21606, 21600, 21602],
  );
  await pm.close();
});

test('allocateUdp: one bound socket on an even port, the odd one reserved but left unbound', async () => {
  const pm = new PortManager({ name: 'fax', address: LO, ports: [21700, 21703] });
  const u = await pm.allocateUdp();
  assert.equal(u.kind, 'udp');
  assert.equal(u.port, 21700);
  assert.equal(u.socket.address().port, 21700);
  const odd = await hold(21701); // nobody bound it
  odd.close();
  const r = await pm.allocateRtpPair();
  assert.equal(r.rtpPort, 21702);
  assert.equal(pm.counters.udpSinglesInUse, 1);
  assert.equal(pm.counters.udpPortsInUse, 4);
  await assert.rejects(pm.allocateUdp(), (e) => isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'));
  await pm.close();
  assert.ok(isClosed(u.socket));
});

test('TCP ports: a separate pool in the same range; listen() binds a real listener; release closes it', async (t) => {
  const pm = new PortManager({ name: 'msrp', address: LO, ports: [21800, 21802] });
  const rtp = await pm.allocateRtpPair(); // UDP 21800/21801: TCP numbers are independent
  const a = await pm.allocateTcpPort();
  assert.equal(a.kind, 'tcp');
  assert.equal(a.port, 21800);
  assert.equal(a.server, null);
  const server = await a.listen();
  assert.equal(await a.listen(), server, 'listen is idempotent');
  assert.equal(a.server, server);
  const accepted = once(server, 'connection');
  const c = connect(21800, LO);
  const [sock] = (await accepted) as [import('node:net').Socket];
  assert.equal(sock.localPort, 21800);
  c.destroy();
  sock.destroy();
  // a port held by another process is skipped when binding at allocation time
  const foreign = createServer();
  foreign.listen(21801, LO);
  await once(foreign, 'listening');
  t.after(() => foreign.close());
  const b = await pm.allocateTcpPort({ listen: true });
  assert.equal(b.port, 21802);
  assert.ok(b.server?.listening);
  assert.equal(pm.counters.bindConflicts, 1);
  assert.equal(pm.counters.tcpPortsInUse, 2);
  await assert.rejects(pm.allocateTcpPort({ listen: true }), (e) => isTrgwdError(e, 'ERR_PORTS_EXHAUSTED'));
  await a.release();
  assert.equal(server.listening, false);
  await assert.rejects(a.listen(), (e) => isTrgwdError(e, 'ERR_PORTS_RELEASED'));
  // a reserved-only port whose number another process took: listen() is a 510-coded bind error
  const c2 = await pm.allocateTcpPort(); // free queue is now [21801 (skipped, re-queued), 21800 (released)]
  assert.equal(c2.port, 21801);
  await assert.rejects(c2.listen(), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_BEARER_BIND'));
    assert.match(e.message, /127\.0\.0\.1:21801/);
    assert.equal(toH248Error(e).code, 510);
    return true;
  });
  await c2.release();
  await rtp.release();
  await pm.close();
  assert.equal(pm.counters.tcpPortsInUse, 0);
});

test('2,000 concurrent RTP pairs', async () => {
  // A range no other test file uses, below the kernel's ephemeral range: every slot must bind.
  const pm = new PortManager({ name: 'big', address: LO, ports: [10000, 13999] });
  try {
    assert.equal(pm.udpSlots, 2000);
    const leases = await Promise.all(Array.from({ length: 2000 }, () => pm.allocateRtpPair()));
    const ports = new Set(leases.map((l) => l.rtpPort));
    assert.equal(ports.size, 2000);
    assert.ok(leases.every((l) => l.rtpPort % 2 === 0 && l.rtcpPort === l.rtpPort + 1));
    assert.equal(pm.counters.rtpPairsInUse, 2000);
    await pm.close();
    assert.equal(pm.counters.rtpPairsInUse, 0);
    assert.equal(pm.udpSlotsFree, 2000);
    assert.ok(leases.every((l) => l.released && isClosed(l.rtp)));
  } finally {
    // a failed assertion must not leave 4,000 sockets keeping the test process alive
    await pm.close();
  }
});

test('IPv6 realm', async () => {
  const pm = new PortManager({ name: 'v6', address: '::1', ports: [21900, 21903] });
  const l = await pm.allocateRtpPair();
  assert.deepEqual(l.rtp.address(), { address: '::1', family: 'IPv6', port: 21900 });
  const got = once(l.rtp, 'message');
  const tx = createSocket('udp6');
  tx.send(Buffer.from('v6 rtp'), 21900, '::1');
  assert.equal(String((await got)[0]), 'v6 rtp');
  tx.close();
  await pm.close();
});

test('a realm address that is not local is ERR_BEARER_BIND (510), and the slot is kept', async () => {
  const pm = new PortManager({ name: 'wrong', address: '192.0.2.254', ports: [22000, 22009] });
  await assert.rejects(pm.allocateRtpPair(), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_BEARER_BIND'));
    assert.match(e.message, /192\.0\.2\.254:22000 in realm "wrong"/);
    assert.equal(toH248Error(e).code, 510);
    return true;
  });
  assert.equal(pm.udpSlotsFree, 5);
  assert.equal(pm.counters.udpPortsInUse, 0);
  await pm.close();
});

test('bad realm configurations are rejected', () => {
  const bad = (ports: [number, number], address = LO, name = 'x'): void =>
    assert.throws(
      () => new PortManager({ name, address, ports }),
      (e) => isTrgwdError(e, 'ERR_PORTS_BAD_REALM'),
    );
  bad([0, 10]);
  bad([10, 65536]);
  bad([200, 100]);
  bad([1.5, 10]);
  bad([100, 200], 'not-an-ip');
  bad([100, 200], LO, '');
  assert.equal(new PortManager({ name: 'one', address: LO, ports: [30001, 30001] }).udpSlots, 0);
});

test('close releases every lease; later allocations fail with ERR_PORTS_CLOSED', async () => {
  const pm = new PortManager({ name: 'r', address: LO, ports: [22100, 22109] });
  const a = await pm.allocateRtpPair();
  const b = await pm.allocateUdp();
  const c = await pm.allocateTcpPort({ listen: true });
  const p = pm.close();
  assert.equal(pm.close(), p);
  await p;
  assert.ok(a.released && b.released && c.released);
  assert.ok(isClosed(a.rtp) && isClosed(b.socket));
  assert.equal(c.server?.listening, false);
  await assert.rejects(
    pm.allocateRtpPair(),
    (e) => isTrgwdError(e, 'ERR_PORTS_CLOSED') && toH248Error(e).code === 510,
  );
  await assert.rejects(pm.allocateTcpPort(), (e) => isTrgwdError(e, 'ERR_PORTS_CLOSED'));
  assert.deepEqual(
    { ...pm.counters, allocations: 0, releases: 0 },
    {
      udpPortsInUse: 0,
      tcpPortsInUse: 0,
      rtpPairsInUse: 0,
      udpSinglesInUse: 0,
      allocationFailures: 0,
      bindConflicts: 0,
      socketErrors: 0,
      allocations: 0,
      releases: 0,
    },
  );
});
