/**
 * The UDP relay on worker processes (ShardedForwarder with mode 'process', `media.workerMode:
 * process`), through the gateway model: relay both ways with payload and sequence intact, statistics
 * from counters in shared memory (memfd, native addon), latching reported from a worker process, a
 * removed stream's port free again, close() leaving no process behind (nor a gateway that was killed),
 * and a worker process killed with SIGKILL: logged, the gateway goes on; then the real daemon with
 * `media.workerMode: process`. Port range 47000-47499 belongs to this file (BASE + 50·i per test;
 * overlaps are harmless, the PortManager skips ports still bound; the daemon's realms 47300-47499).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createLogger } from '../../daemon/observe/log.js';
import { RELAY_WORKER_ARG } from '../../daemon/bearer/udp/relay-channel.js';
import { ShardedForwarder } from '../../daemon/bearer/udp/worker-forwarder.js';
import type { NotifyRequestOut } from '../../daemon/control/handler.js';
import { shmAvailable } from '../../daemon/tls/shm/binding.js';
import { rtp } from '../unit/bearer/udp/packets.js';
import { LO, Peer } from '../unit/bearer/udp/peer.js';
import { eventually, startRegistered } from '../helpers/daemon.js';
import type { TransactionReply } from '../../daemon/control/codec/model.js';
import { amm, audit, localOf, portOf } from '../unit/control/commands/harness.js';
import { call, relayHarness, remoteSdp, statsOf, type RelayHarness } from './udp-call.js';

const BASE = 47000;
const seqOf = (b: Buffer): number => b.readUInt16BE(2);
const skip =
  shmAvailable() || process.env.CI === 'true' ? false : 'native addon not built: run `npm run build:native`';

function sharded(
  base: number,
  opts: Parameters<typeof relayHarness>[1] & { logLines?: string[] } = {},
): RelayHarness & { fwd: ShardedForwarder } {
  const { logLines, ...rest } = opts;
  const log =
    logLines !== undefined
      ? createLogger('info', { write: (s: string) => void logLines.push(s) })
      : undefined;
  const fwd = new ShardedForwarder({
    workers: 2,
    mode: 'process',
    realms: ['access', 'core'],
    ...(log !== undefined ? { log } : {}),
  });
  return Object.assign(relayHarness(base, { forwarder: fwd, ...rest }), { fwd });
}

/** True while `pid` names a process that has not been reaped (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

function parentOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
}

async function canBind(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  s.bind({ port, address: LO, exclusive: true });
  const [ev] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error')]);
  s.close();
  return ev === 'listening';
}

function eventName(n: NotifyRequestOut): string {
  return n.events[0]!.name;
}

test(
  'worker processes: RTP both ways intact, statistics from shared memory, the port of a removed stream free again',
  { skip },
  async () => {
    const h = sharded(BASE);
    const peers = await Promise.all(Array.from({ length: 4 }, () => Peer.open()));
    const [pa, pb, pc, pd] = peers as [Peer, Peer, Peer, Peer];
    try {
      await h.fwd.ready;
      assert.equal(h.fwd.where, '2 worker processes');
      const pids = h.fwd.workerPids;
      assert.equal(pids.length, 2);
      for (const pid of pids) {
        assert.notEqual(pid, process.pid);
        assert.equal(parentOf(pid), process.pid, 'a child of this process');
        assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(RELAY_WORKER_ARG));
      }
      const c1 = await call(h, pa, pb);
      const c2 = await call(h, pc, pd);
      const legOf = (id: string): number => h.plane.legOf(h.mg.termination(id)!.streams.get(1)!)!;
      const shards = [c1.a, c1.b, c2.a, c2.b].map((id) => h.fwd.shardOf(legOf(id)));
      assert.equal(shards[0], shards[1], 'a context stays in one process');
      assert.notEqual(shards[0], shards[2], 'the second context went to the other process');
      assert.ok(shards.every((s) => s !== undefined && s >= 0));

      // a → b: sequence numbers and payload bytes as sent
      const sent = Array.from({ length: 5 }, (_, i) =>
        rtp({ seq: 10 + i, payload: Buffer.alloc(100, 0x40 + i) }),
      );
      for (const p of sent) await pa.send(p, c1.gwA);
      const got = await pb.take(5);
      assert.deepEqual(
        got.map((r) => seqOf(r.data)),
        [10, 11, 12, 13, 14],
      );
      for (let i = 0; i < 5; i++) assert.ok(got[i]!.data.equals(sent[i]!), `packet ${i} intact`);
      assert.ok(
        got.every((r) => r.port === c1.gwB),
        'sent from the b side',
      );
      // b → a
      for (let i = 0; i < 3; i++) await pb.send(rtp({ seq: 500 + i, payload: 40 }), c1.gwB);
      const back = await pa.take(3);
      assert.deepEqual(
        back.map((r) => seqOf(r.data)),
        [500, 501, 502],
      );
      assert.ok(back.every((r) => r.port === c1.gwA));
      // the other process relays too
      await pc.send(rtp({ seq: 7 }), c2.gwA);
      assert.equal(seqOf((await pd.next()).data), 7);

      // statistics: read from the shm counters the worker process wrote
      const st = statsOf(await h.tx(`Context = ${c1.ctx} { Subtract = ${c1.a} }`));
      assert.equal(st['rtp/pr'], 5);
      assert.equal(st['nt/or'], 5 * 112);
      assert.equal(st['rtp/ps'], 3);
      assert.equal(st['nt/os'], 3 * 52);
      assert.equal(st['rtp/pl'], 0);
      // realm totals: one shm block per worker process
      assert.equal(
        await h.metric('trgwd_media_packets_total', { realm: 'core', protocol: 'rtp', direction: 'rx' }),
        9,
      );
      // the removed stream's port: its worker process closed the socket, anyone may bind it
      await eventually(async () => ((await canBind(c1.gwA)) ? true : undefined), 3000, 'port free', 20);
      assert.equal(await canBind(c1.gwB), false, 'the stream still in the context keeps its port');
    } finally {
      for (const p of peers) p.close();
      await h.close();
    }
  },
);

test('latching in a worker process: adr/ipcha reaches the controller', { skip }, async () => {
  const h = sharded(BASE + 50);
  const [pa, pb, silent] = await Promise.all([Peer.open(), Peer.open(), Peer.open()]);
  try {
    const c = await call(h, pa, pb, {
      remotePort: silent.port,
      props: 'ipnapt/latch = on',
      events: 'Events = 5 { adr/ipcha }',
    });
    assert.ok(h.fwd.shardOf(h.plane.legOf(h.mg.termination(c.a)!.streams.get(1)!)!)! >= 0);
    await pa.send(rtp({ seq: 1 }), c.gwA);
    await pb.next();
    await eventually(() => (h.link.notifies.length > 0 ? true : undefined), 3000, 'adr/ipcha', 5);
    assert.equal(eventName(h.link.notifies[0]!), 'adr/ipcha');
    await pb.send(rtp({ seq: 2 }), c.gwB);
    assert.equal(seqOf((await pa.next()).data), 2, 'sent to the latched source');
  } finally {
    for (const p of [pa, pb, silent]) p.close();
    await h.close();
  }
});

test('a Modify is in effect on the worker process when it is answered (mode SendOnly: the peer no longer enters)', { skip }, async () => {
  const h = sharded(BASE + 150);
  const [pa, pb] = await Promise.all([Peer.open(), Peer.open()]);
  try {
    const c = await call(h, pa, pb);
    await pa.send(rtp({ seq: 1 }), c.gwA);
    assert.equal(seqOf((await pb.next()).data), 1);
    const r = await h.tx(`Context = ${c.ctx} { Modify = ${c.a} { Media { Stream = 1 { LocalControl { Mode = SendOnly } } } } }`);
    assert.equal(r[0]?.error, undefined);
    // sent at once after the reply: the worker must already have the new mode
    for (let seq = 2; seq <= 21; seq++) await pa.send(rtp({ seq }), c.gwA);
    await pb.send(rtp({ seq: 100 }), c.gwB);
    assert.equal(seqOf((await pa.next()).data), 100, 'SendOnly still sends to the peer');
    assert.deepEqual(await pb.settle(), [], 'nothing from the peer entered the context after the reply');
  } finally {
    for (const p of [pa, pb]) p.close();
    await h.close();
  }
});

test('close() ends the worker processes and frees their ports', { skip }, async () => {
  const h = sharded(BASE + 100);
  const [pa, pb] = await Promise.all([Peer.open(), Peer.open()]);
  let closed = false;
  try {
    const c = await call(h, pa, pb);
    const pids = h.fwd.workerPids;
    assert.ok(pids.every(alive));
    assert.equal(await canBind(c.gwA), false, 'a worker process holds it');
    await h.close();
    closed = true;
    for (const pid of pids) assert.equal(alive(pid), false, `worker process ${pid} is gone`);
    assert.ok(await canBind(c.gwA));
    assert.ok(await canBind(c.gwB));
  } finally {
    pa.close();
    pb.close();
    if (!closed) await h.close();
  }
});

test('a worker process killed (SIGKILL): logged, the gateway goes on with the other', { skip }, async () => {
  const logLines: string[] = [];
  const h = sharded(BASE + 150, { logLines });
  const peers = await Promise.all(Array.from({ length: 6 }, () => Peer.open()));
  const [pa, pb, pc, pd, pe, pf] = peers as [Peer, Peer, Peer, Peer, Peer, Peer];
  try {
    const c1 = await call(h, pa, pb);
    const c2 = await call(h, pc, pd);
    const legOf = (id: string): number => h.plane.legOf(h.mg.termination(id)!.streams.get(1)!)!;
    const victim = h.fwd.shardOf(legOf(c1.a))!;
    const pid = h.fwd.workerPids[victim]!;
    process.kill(pid, 'SIGKILL');
    const line = await eventually(
      () => logLines.find((l) => l.includes('udp relay worker exited')),
      5000,
      'the exit logged',
      10,
    );
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.worker, victim);
    assert.equal(entry.pid, pid);
    assert.equal(entry.signal, 'SIGKILL');
    assert.equal(entry.level, 'error');
    assert.equal(alive(pid), false);
    // the other process still relays; a new context goes there and relays too
    await pc.send(rtp({ seq: 3 }), c2.gwA);
    assert.equal(seqOf((await pd.next()).data), 3);
    const c3 = await call(h, pe, pf);
    assert.notEqual(h.fwd.shardOf(legOf(c3.a)), victim, 'not placed on the dead worker');
    await pe.send(rtp({ seq: 4 }), c3.gwA);
    assert.equal(seqOf((await pf.next()).data), 4);
    // a Move into the dead worker's context is answered, and so is the command after it (nothing
    // waits for a bind the dead worker will never confirm)
    const answered = <T>(p: Promise<T>, what: string): Promise<T> =>
      Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer`)), 5000))]);
    const m = await answered(h.tx(`Context = ${c1.ctx} { Move = ${c3.b} }`), 'Move');
    assert.equal(m[0]?.error, undefined, JSON.stringify(m[0]?.error));
    await answered(call(h, pe, pf), 'the Add after it');
    // the dead worker's context can still be torn down (nothing waits for an answer from it)
    const r = await h.tx(`Context = ${c1.ctx} { Subtract = * }`);
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
  } finally {
    for (const p of peers) p.close();
    await h.close();
  }
});

test('a gateway killed with SIGKILL leaves no worker process behind', { skip }, async () => {
  // a separate gateway process (ShardedForwarder in process mode), killed without a chance to clean up
  const module = new URL('../../daemon/bearer/udp/worker-forwarder.ts', import.meta.url).href;
  // each worker gets a leg: its socket would keep a worker process alive on its own
  const code = `
    const { createSocket } = await import('node:dgram');
    const { ShardedForwarder } = await import(${JSON.stringify(module)});
    const f = new ShardedForwarder({ workers: 2, mode: 'process', realms: ['core'] });
    await f.ready;
    for (const id of [1, 2]) {
      const s = createSocket('udp4');
      await new Promise((resolve) => s.bind({ port: 0, address: '127.0.0.1', exclusive: true }, resolve));
      f.addLeg(id, { rtp: s, connectable: true }, {
        kind: 'rtp', group: id, realm: 'core', mode: 'sendRecv', remote: { address: '127.0.0.1', port: 9 },
        rtcpMuxRx: false, rtcpMuxTx: false, latch: false, rlatch: false, relatchPackets: 3,
      });
    }
    await f.settled();
    process.stdout.write(JSON.stringify(f.workerPids) + '\\n');
    setInterval(() => undefined, 1000);
  `;
  const gw = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    let out = '';
    gw.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const pids = await eventually(
      () => (out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as number[]) : undefined),
      20_000,
      'the worker pids',
      20,
    );
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    gw.kill('SIGKILL');
    await once(gw, 'exit');
    // orphans are reparented (to init or a subreaper) and reaped there: gone means no /proc entry,
    // or a zombie whose parent has not reaped it yet
    await eventually(() => (pids.every((p) => !alive(p)) ? true : undefined), 5000, 'workers gone', 20);
  } finally {
    if (gw.exitCode === null && gw.signalCode === null) gw.kill('SIGKILL');
  }
});

/** The daemon's relay worker processes: its children named so on their command line. */
function workerChildren(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
      if (c === '') continue;
      try {
        if (readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').includes(RELAY_WORKER_ARG))
          out.push(Number(c));
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

function ok(reply: TransactionReply | undefined): TransactionReply {
  assert.ok(reply !== undefined, 'a reply');
  for (const a of reply.actions ?? []) assert.equal(a.error, undefined, JSON.stringify(a.error));
  return reply;
}

test(
  'trgwd start with media.workerMode=process: a call relays both ways; the workers end with the daemon',
  { skip, timeout: 60_000 },
  async () => {
    const reg = await startRegistered({
      sets: [
        'media.realms={access: {address: "127.0.0.1", ports: [47300, 47399]}, core: {address: "127.0.0.1", ports: [47400, 47499]}}',
        'media.workers=2',
        'media.workerMode=process',
      ],
      logLevel: 'info',
    });
    let stopped = false;
    const pa = await Peer.open();
    const pb = await Peer.open();
    try {
      const ready = await reg.daemon.waitLog((l) => l.msg === 'udp relay ready');
      assert.equal(ready['where'], '2 worker processes');
      const workers = workerChildren(reg.daemon.pid);
      assert.equal(workers.length, 2);
      const local = 'v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n';
      const add = ok(
        (
          await reg.mgc.request(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${local} }, Remote { ${remoteSdp(pa.port)} } } } },
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, Local { ${local} }, Remote { ${remoteSdp(pb.port)} } } } } }`)
        ).reply,
      );
      const action = add.actions![0]!;
      const [ca, cb] = action.commands!;
      const gwA = portOf(localOf(audit(ca)));
      const gwB = portOf(localOf(audit(cb)));
      // the reply comes once the worker process has bound the ports
      await pa.send(rtp({ seq: 100 }), gwA);
      const got = await pb.next();
      assert.equal(seqOf(got.data), 100);
      assert.equal(got.port, gwB);
      await pb.send(rtp({ seq: 200 }), gwB);
      assert.equal(seqOf((await pa.next()).data), 200);
      const sub = ok(
        (await reg.mgc.request(`Context = ${action.contextId} { Subtract = ${amm(ca).terminationId} }`))
          .reply,
      );
      const stats = Object.fromEntries(
        (audit(sub.actions![0]!.commands![0])?.statistics ?? []).map((st) => [st.name, Number(st.value)]),
      );
      assert.equal(stats['rtp/pr'], 1);
      assert.equal(stats['rtp/ps'], 1);
      stopped = true;
      assert.equal(await reg.close(), 0);
      await eventually(() => (workers.every((p) => !alive(p)) ? true : undefined), 5000, 'workers gone', 20);
    } finally {
      pa.close();
      pb.close();
      if (!stopped) await reg.close();
    }
  },
);
