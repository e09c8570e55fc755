/**
 * The TCP relay between two legs (PROFILE §5): half-close and reset passed on, backpressure with a
 * bounded buffer, idle timeout, Subtract (FIN, then RST after the grace), statistics, limits, and
 * the release events with g/cause. Port range 20400-20699.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { amm, commands } from '../unit/control/commands/harness.js';
import {
  addContext,
  closed,
  dialRetry,
  modify,
  paramOf,
  peerServer,
  readBytes,
  readToEnd,
  tcpHarness,
  tcpLocal,
  tcpRemote,
  type TcpHarness,
} from './tcp-harness.js';

const BASE = 20400;

interface Pair {
  readonly ue: Socket;
  readonly core: Socket;
  readonly ids: string[];
  readonly ctx: number;
}

/** access passive ← UE, core active → peer server. */
async function pair(h: TcpHarness, extra: { lc?: string } = {}): Promise<Pair> {
  const peer = await peerServer();
  const a = await addContext(
    h,
    { realm: 'access', local: tcpLocal('passive'), ...(extra.lc !== undefined ? { lc: extra.lc } : {}) },
    { realm: 'core', local: tcpLocal('active'), remote: tcpRemote(peer.port, 'passive'), ...(extra.lc !== undefined ? { lc: extra.lc } : {}) },
  );
  const ue = await dialRetry(a.ports[0]!);
  const core = await peer.accepted;
  peer.server.close();
  await h.notes.wait(a.ids[1]!, 'tcpbcc/est');
  return { ue, core, ids: a.ids, ctx: a.ctx };
}

test('half-close is passed on: the UE FINs, the core peer still answers, then FINs; both legs report rel fin and g/cause NR', async () => {
  const h = tcpHarness(BASE);
  try {
    const { ue, core, ids } = await pair(h);
    ue.end('request then FIN');
    assert.equal((await readToEnd(core)).toString(), 'request then FIN');
    // the other direction still works after the half-close
    core.end('answer after half-close');
    assert.equal((await readToEnd(ue)).toString(), 'answer after half-close');
    for (const id of ids) {
      const rel = await h.notes.wait(id, 'tcpbcc/rel');
      assert.equal(paramOf(rel, 'cause'), 'fin');
      const g = await h.notes.wait(id, 'g/cause');
      assert.equal(paramOf(g, 'Generalcause'), 'NR');
    }
    // Prometheus: attempts, releases, the gauge back to 0, bytes (flushed on release)
    const text = await h.metrics.registry.metrics();
    assert.match(text, /trgwd_tcp_connection_attempts_total\{realm="access",direction="in",result="established"\} 1/);
    assert.match(text, /trgwd_tcp_connection_attempts_total\{realm="core",direction="out",result="established"\} 1/);
    assert.match(text, /trgwd_tcp_releases_total\{realm="access",reason="fin"\} 1/);
    assert.match(text, /trgwd_tcp_connections\{realm="core",direction="out"\} 0/);
    assert.match(text, /trgwd_tcp_bytes_total\{realm="access",direction="rx"\} 16/);
    assert.match(text, /trgwd_tcp_bytes_total\{realm="core",direction="tx"\} 16/);
  } finally {
    await h.close();
  }
});

test('a reset is passed on as a reset: rel rst and g/cause FT on both legs', async () => {
  const h = tcpHarness(BASE + 10);
  try {
    const { ue, core, ids } = await pair(h);
    ue.write('x');
    await readBytes(core, 1);
    const coreClosed = closed(core);
    core.resume();
    ue.resetAndDestroy();
    assert.equal((await coreClosed).reset, true, 'the core peer sees a reset');
    for (const id of ids) {
      assert.equal(paramOf(await h.notes.wait(id, 'tcpbcc/rel'), 'cause'), 'rst');
      assert.equal(paramOf(await h.notes.wait(id, 'g/cause'), 'Generalcause'), 'FT');
    }
  } finally {
    await h.close();
  }
});

test('backpressure: a reader that stops does not grow what the gateway holds beyond its bound; every byte arrives in order', async () => {
  const bufferBytes = 65536;
  const highWaterMark = 65536;
  const h = tcpHarness(BASE + 20, { bufferBytes, highWaterMark });
  try {
    const { ue, core } = await pair(h);
    const total = 48 * 1024 * 1024;
    const data = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4) data.writeUInt32LE(i, i);
    let maxHeld = 0;
    const sample = setInterval(() => (maxHeld = Math.max(maxHeld, h.plane.bufferedBytes())), 2);
    try {
      // the reader is paused: everything the kernel cannot take waits in the UE's own socket
      core.pause();
      let written!: Promise<void>;
      for (let i = 0; i < total; i += 65536) {
        const last = i + 65536 >= total;
        const p = new Promise<void>((resolve) => ue.write(data.subarray(i, i + 65536), () => resolve()));
        if (last) written = p;
      }
      // the pipe fills up (kernel buffers, the gateway's bound), then the UE's writes stop being taken
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(ue.writableLength > total / 2, `the writer is held back while the reader does not read (${ue.writableLength} queued)`);
      // now read it all
      const hash = createHash('sha256');
      let got = 0;
      const done = new Promise<void>((resolve) => {
        core.on('data', (d: Buffer) => {
          hash.update(d);
          got += d.length;
          if (got >= total) resolve();
        });
      });
      core.resume();
      await Promise.all([done, written]);
      assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
    } finally {
      clearInterval(sample);
    }
    // held for the partner + queued on the socket, per direction, plus one read chunk of slack
    const bound = bufferBytes + highWaterMark + 2 * 65536;
    assert.ok(maxHeld > 0, 'the gateway did hold something');
    assert.ok(maxHeld <= bound, `the gateway held at most ${maxHeld} bytes (bound ${bound})`);
    ue.destroy();
    core.destroy();
  } finally {
    await h.close();
  }
});

test('idle timeout closes both legs (rel timeout), the peers get a FIN', async () => {
  const h = tcpHarness(BASE + 30, { idleTimeoutMs: 150, closeGraceMs: 5000 });
  try {
    const { ue, core, ids } = await pair(h);
    ue.write('one');
    await readBytes(core, 3);
    const [ueEnd, coreEnd] = [readToEnd(ue), readToEnd(core)];
    await Promise.all([ueEnd, coreEnd]);
    ue.end();
    core.end();
    const causes = await Promise.all(ids.map(async (id) => paramOf(await h.notes.wait(id, 'tcpbcc/rel'), 'cause')));
    assert.ok(causes.includes('timeout'), JSON.stringify(causes));
  } finally {
    await h.close();
  }
});

test('Subtract: statistics (nt/os, nt/or, tcptv/bs, tcptv/br) in the reply; FIN to both peers, RST after the grace when a peer does not close', async () => {
  const h = tcpHarness(BASE + 40, { closeGraceMs: 100 });
  try {
    const { ue, core, ids, ctx } = await pair(h);
    ue.write('12345');
    await readBytes(core, 5);
    core.write('abc');
    await readBytes(ue, 3);
    const ueEnded = readToEnd(ue);
    const coreEnded = readToEnd(core);
    const r = await h.tx(`Context = ${ctx} { Subtract = ${ids[0]} }`);
    const stats = Object.fromEntries((amm(commands(r)[0]).audit?.statistics ?? []).map((s) => [s.name, s.value]));
    assert.equal(stats['nt/or'], '5');
    assert.equal(stats['nt/os'], '3');
    assert.equal(stats['tcptv/br'], '5');
    assert.equal(stats['tcptv/bs'], '3');
    // the UE sees our FIN, the core peer the FIN passed on
    await Promise.all([ueEnded, coreEnded]);
    // the UE does not answer the FIN: reset after closeGraceMs (seen by its next write)
    const ueClosed = closed(ue);
    await new Promise((r) => setTimeout(r, 300));
    ue.write('late');
    assert.equal((await ueClosed).reset, true);
    // no events after Subtract on the subtracted termination
    assert.equal(h.notes.count(ids[0]!, 'tcpbcc/rel'), 0);
    core.destroy();
  } finally {
    await h.close();
  }
});

test('limits: a TCP termination beyond media.tcp.maxConnections is answered 510', async () => {
  const h = tcpHarness(BASE + 50, { maxConnections: 2 });
  try {
    await addContext(h, { realm: 'access', local: tcpLocal('passive') }, { realm: 'core', local: tcpLocal('passive') });
    const r = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Local { ${tcpLocal('passive')} } } } } }`);
    assert.equal(r[0]?.error?.code, 510);
    assert.equal(h.plane.stats.legs, 2);
    assert.ok(h.plane.stats.limited >= 1);
  } finally {
    await h.close();
  }
});

test('topology isolate stops the relay (bytes wait), bothway lets them through', async () => {
  const h = tcpHarness(BASE + 60);
  try {
    const { ue, core, ids, ctx } = await pair(h);
    await h.tx(`Context = ${ctx} { Topology { ${ids[0]}, ${ids[1]}, isolate } }`);
    ue.write('waiting');
    let early = false;
    core.once('data', () => (early = true));
    core.resume();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(early, false);
    core.removeAllListeners('data');
    core.pause();
    await h.tx(`Context = ${ctx} { Topology { ${ids[0]}, ${ids[1]}, bothway } }`);
    assert.equal((await readBytes(core, 7)).toString(), 'waiting');
    ue.destroy();
    core.destroy();
  } finally {
    await h.close();
  }
});

test('delayed establishment: what the incoming leg reads before the outgoing one is up is bounded (bufferBytes), then delivered in full', async () => {
  const bufferBytes = 32768;
  const h = tcpHarness(BASE + 70, { bufferBytes });
  try {
    const peer = await peerServer();
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive') },
      { realm: 'core', local: tcpLocal('holdconn'), remote: tcpRemote(peer.port, 'passive') },
    );
    const ue = await dialRetry(a.ports[0]!);
    await h.notes.wait(a.ids[0]!, 'tcpbcc/est');
    const total = 4 * 1024 * 1024;
    const data = Buffer.alloc(total, 7);
    ue.write(data);
    // the UE's bytes fill the kernel buffers and the leg's bounded buffer, no more
    await new Promise((r) => setTimeout(r, 200));
    const held = h.plane.bufferedBytes();
    assert.ok(held > 0 && held <= bufferBytes + 65536, `held ${held}`);
    await modify(h, a.ctx, a.ids[1]!, 'Signals { tcpbcc/estab }');
    const core = await peer.accepted;
    assert.equal((await readBytes(core, total)).length, total);
    ue.destroy();
    core.destroy();
    peer.server.close();
  } finally {
    await h.close();
  }
});
