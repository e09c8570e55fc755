/**
 * 10,000 Add/Subtract cycles against a daemon spawned from source, and nothing leaks: after the run
 * the daemon holds no context, termination or media port (its gauges), as many file descriptors
 * (/proc/<pid>/fd) and active handles and timers (nodejs_active_resources) as before, and its memory
 * (RSS, V8 heap used) grew by a bounded amount. A cycle is one transaction with two Adds (access and
 * core, Local `$`: two RTP pairs bound) in Context $, then Subtract * of that context.
 *
 * The heap is measured after a full garbage collection, triggered through the inspector (the daemon
 * runs with --inspect on an ephemeral loopback port), so it counts live objects only. Bounds: 10,000
 * cycles leaking 1 KiB each would add ~10 MiB, above the 8 MiB heap bound (measured: +3 MiB of
 * caches and compiled code after 10,000 cycles, the same after 40,000); the RSS bound is loose
 * because V8 and the allocator keep pages they once used. Cycles run 16 at a time; the whole test
 * takes 10-20 s on two cores. SOAK_CYCLES overrides the count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { Mgc } from '../../daemon/cli/mgc.js';
import { eventually, metricValue, startRegistered, type Daemon } from '../helpers/daemon.js';

const CYCLES = Number(process.env['SOAK_CYCLES'] ?? 10_000);
const WARMUP = 1_000;
const CONCURRENCY = 16;
const MiB = 1024 * 1024;

const ADD_TWO = `Context = $ {
Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
} } } },
Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
} } } }
}`;

interface Sample {
  fds: number;
  rss: number;
  heapUsed: number;
  external: number;
  resources: number;
  timers: number;
  contexts: number | undefined;
  terminations: number | undefined;
  portsAccess: number | undefined;
  portsCore: number | undefined;
}

/**
 * A full garbage collection in the daemon, through the inspector (it runs with --inspect on an
 * ephemeral port): heap figures after it are live objects only, not garbage waiting for a GC.
 */
async function collectGarbage(d: Daemon): Promise<void> {
  const url = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(d.stderr)?.[0];
  assert.ok(url !== undefined, `no inspector URL on the daemon's stderr: ${d.stderr}`);
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<void>((resolve, reject) => {
      const my = ++id;
      const onMessage = (data: WebSocket.RawData) => {
        const msg = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (msg.id !== my) return;
        ws.off('message', onMessage);
        if (msg.error !== undefined) reject(new Error(msg.error.message));
        else resolve();
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id: my, method }));
    });
  await call('HeapProfiler.enable');
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  ws.close();
}

async function sample(d: Daemon): Promise<Sample> {
  const { body } = await d.get('/metrics');
  const status = readFileSync(`/proc/${d.pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return {
    fds: readdirSync(`/proc/${d.pid}/fd`).length,
    rss: rssKb * 1024,
    heapUsed: metricValue(body, 'nodejs_heap_size_used_bytes') ?? NaN,
    external: metricValue(body, 'nodejs_external_memory_bytes') ?? NaN,
    resources:
      metricValue(body, 'nodejs_active_resources_total') ??
      metricValue(body, 'nodejs_active_handles_total') ??
      NaN,
    timers: metricValue(body, 'nodejs_active_resources', { type: 'Timeout' }) ?? 0,
    contexts: metricValue(body, 'trgwd_contexts'),
    terminations: metricValue(body, 'trgwd_terminations'),
    portsAccess: metricValue(body, 'trgwd_ports_in_use', { realm: 'access' }),
    portsCore: metricValue(body, 'trgwd_ports_in_use', { realm: 'core' }),
  };
}

async function cycles(mgc: Mgc, n: number): Promise<void> {
  let next = 0;
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    while (next < n && failures.length === 0) {
      next++;
      const add = await mgc.request(ADD_TWO, { timeoutMs: 10_000 });
      const ctx = add.reply?.actions[0]?.contextId;
      if (add.errors.length > 0 || typeof ctx !== 'number') {
        failures.push(`Add: ${JSON.stringify(add.errors)} ${JSON.stringify(add.reply)}`);
        return;
      }
      const sub = await mgc.request(`Context = ${ctx} { Subtract = * }`, { timeoutMs: 10_000 });
      if (sub.errors.length > 0) failures.push(`Subtract: ${JSON.stringify(sub.errors)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  assert.deepEqual(failures, []);
}

/** Waits until the gauges say everything is released and the reply cache's timers ran out. */
async function quiet(d: Daemon, base: Sample | undefined): Promise<Sample> {
  return eventually(
    async () => {
      await collectGarbage(d);
      const s = await sample(d);
      const empty =
        (s.contexts ?? 0) === 0 &&
        (s.terminations ?? 0) === 0 &&
        (s.portsAccess ?? 0) === 0 &&
        (s.portsCore ?? 0) === 0;
      const settled = base === undefined || (s.fds <= base.fds + 4 && s.resources <= base.resources + 8);
      return empty && settled ? s : undefined;
    },
    8000,
    'the daemon to release every context, port, descriptor and timer',
    200,
  ).catch(async (e: unknown) => {
    throw new Error(
      `${(e as Error).message}\nbefore: ${JSON.stringify(base)}\nnow:    ${JSON.stringify(await sample(d))}`,
    );
  });
}

test(
  `${CYCLES} Add/Subtract cycles leak no port, descriptor, timer or memory`,
  { timeout: 120_000 },
  async () => {
    // LONG-TIMER at its minimum, so that the reply cache (legitimately holding every reply for it)
    // has emptied when we measure; info logs only (debug would log every command).
    const { daemon, mgc, close } = await startRegistered({
      logLevel: 'info',
      sets: ['control.timers.longTimerMs=1000'],
      nodeArgs: ['--inspect=127.0.0.1:0'],
    });
    try {
      await cycles(mgc, WARMUP);
      const before = await quiet(daemon, undefined);
      const t0 = performance.now();
      await cycles(mgc, CYCLES);
      const seconds = (performance.now() - t0) / 1000;
      const after = await quiet(daemon, before);
      const report = `cycles/s ${(CYCLES / seconds).toFixed(0)}\nbefore: ${JSON.stringify(before)}\nafter:  ${JSON.stringify(after)}`;
      process.stderr.write(`# soak: ${report}\n`);
      assert.ok(after.fds <= before.fds + 4, `file descriptors: ${report}`);
      assert.ok(after.resources <= before.resources + 8, `active handles/resources: ${report}`);
      assert.ok(after.timers <= before.timers + 4, `timers: ${report}`);
      assert.ok(
        after.heapUsed - before.heapUsed < 8 * MiB,
        `V8 heap used grew by ${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB: ${report}`,
      );
      assert.ok(
        after.rss - before.rss < 128 * MiB,
        `RSS grew by ${((after.rss - before.rss) / MiB).toFixed(1)} MiB: ${report}`,
      );
      assert.equal(after.contexts ?? 0, 0);
      assert.equal(after.portsAccess ?? 0, 0);
      assert.equal(after.portsCore ?? 0, 0);
    } finally {
      assert.equal(await close(), 0, daemon.stderr);
    }
  },
);
