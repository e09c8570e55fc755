/**
 * Context setup rate over loopback: the daemon is a separate process (spawned from source), this
 * process is the controller (daemon/cli/mgc.ts's engine, with messages prebuilt as text).
 *
 *   npx tsx bench/control.ts [--transport udp|tcp|both] [--seconds 10] [--concurrency 32] [--rate 1000]
 *                            [--daemon-set key=value ...]      (BENCH_DAEMON_NODE_ARGS: node flags of the daemon)
 *
 * One cycle = three transactions, each awaited before the next:
 *   1. Context $ { Add $ (access, Local $), Add $ (core, Local $) }   two RTP pairs bound
 *   2. Context c { Modify t1 { Remote }, Modify t2 { Remote } }
 *   3. Context c { Subtract * }
 * Modes: `max` keeps `--concurrency` cycles in flight (closed loop) for `--seconds`; `fixed` starts
 * `--rate` cycles per second on schedule (open loop, so a slow daemon shows as latency, not as a
 * lower rate) for `--seconds`. JSON lines on stdout (progress on stderr):
 *   {"bench":"control","kind":"env",...}
 *   {"bench":"control","mode":"max"|"fixed","transport":...,"cycles":...,"cycles_per_s":...,
 *    "p50_ms":...,"p99_ms":...,"p999_ms":...,"max_ms":...,"tx_p50_ms":...,"tx_p99_ms":...,
 *    "errors":...,"daemon_cpu":...}
 * `daemon_cpu` is the daemon's CPU time over wall time (1.0 = one core busy), `bench_cpu` the same for
 * this process (the controller). See bench/README.md.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Mgc } from '../daemon/cli/mgc.js';
import { startRegistered, type Registered } from '../test/helpers/daemon.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const TRANSPORTS = ((): ('udp' | 'tcp')[] => {
  const t = argValue('--transport') ?? 'both';
  return t === 'both' ? ['udp', 'tcp'] : t === 'tcp' ? ['tcp'] : ['udp'];
})();
const SECONDS = Number(argValue('--seconds') ?? 10);
const CONCURRENCY = Number(argValue('--concurrency') ?? 32);
const RATE = Number(argValue('--rate') ?? 1000);
const WARMUP_CYCLES = 2000;
/** `--daemon-set key=value` (repeatable): config overrides for the daemon under test. */
const DAEMON_SETS = process.argv.flatMap((a, i) =>
  a === '--daemon-set' && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : [],
);

function emit(o: object): void {
  process.stdout.write(`${JSON.stringify({ bench: 'control', ...o })}\n`);
}

// ---------------------------------------------------------------- messages (prebuilt text)

const addTwo = (h: string, tid: number) => `${h}
Transaction = ${tid} {
  Context = $ {
    Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = access }, Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
} } } },
    Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = core }, Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
} } } }
  }
}
`;

const modifyTwo = (h: string, tid: number, ctx: number, t1: string, t2: string, port: number) => `${h}
Transaction = ${tid} {
  Context = ${ctx} {
    Modify = ${t1} { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Remote {
v=0
c=IN IP4 127.0.0.1
m=audio ${port} RTP/AVP 0
} } } },
    Modify = ${t2} { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Remote {
v=0
c=IN IP4 127.0.0.1
m=audio ${port + 2} RTP/AVP 0
} } } }
  }
}
`;

const subtractAll = (h: string, tid: number, ctx: number) => `${h}
Transaction = ${tid} { Context = ${ctx} { Subtract = * } }
`;

// ---------------------------------------------------------------- one cycle

interface Stats {
  cycles: number;
  errors: number;
  cycleMs: number[];
  txMs: number[];
  firstError: string | undefined;
}

function newStats(): Stats {
  return { cycles: 0, errors: 0, cycleMs: [], txMs: [], firstError: undefined };
}

async function tx(mgc: Mgc, build: (tid: number) => string, stats: Stats) {
  const tid = mgc.nextTid();
  const o = await mgc.requestBytes(tid, Buffer.from(build(tid)), 10_000);
  stats.txMs.push(o.ms);
  if (o.errors.length > 0)
    throw new Error(`error ${o.errors.map((e) => `${e.code} ${e.text ?? ''}`).join(', ')}`);
  return o;
}

async function cycle(mgc: Mgc, stats: Stats): Promise<void> {
  const h = mgc.header();
  const t0 = performance.now();
  try {
    const add = await tx(mgc, (tid) => addTwo(h, tid), stats);
    const a = add.reply!.actions[0]!;
    const ctx = a.contextId as number;
    const [t1, t2] = a.commands.map((c) => c.terminationId!);
    await tx(mgc, (tid) => modifyTwo(h, tid, ctx, t1!, t2!, 40000), stats);
    await tx(mgc, (tid) => subtractAll(h, tid, ctx), stats);
    stats.cycles++;
    stats.cycleMs.push(performance.now() - t0);
  } catch (e) {
    stats.errors++;
    stats.firstError ??= (e as Error).message;
  }
}

// ---------------------------------------------------------------- modes

async function maxRate(
  mgc: Mgc,
  seconds: number,
  concurrency: number,
): Promise<{ stats: Stats; wall: number }> {
  const stats = newStats();
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < end) await cycle(mgc, stats);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { stats, wall: (performance.now() - t0) / 1000 };
}

async function fixedRate(
  mgc: Mgc,
  seconds: number,
  rate: number,
): Promise<{ stats: Stats; wall: number; late: number }> {
  const stats = newStats();
  const total = Math.round(seconds * rate);
  const t0 = performance.now();
  const running: Promise<void>[] = [];
  let started = 0;
  let late = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      if (due - started > rate / 100) late++; // more than 10 ms behind schedule
      while (started < due) {
        started++;
        running.push(cycle(mgc, stats));
      }
      if (started >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(running);
  return { stats, wall: (performance.now() - t0) / 1000, late };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function summary(stats: Stats, wall: number) {
  const c = [...stats.cycleMs].sort((a, b) => a - b);
  const t = [...stats.txMs].sort((a, b) => a - b);
  return {
    cycles: stats.cycles,
    seconds: round(wall),
    cycles_per_s: Math.round(stats.cycles / wall),
    p50_ms: round(quantile(c, 0.5)),
    p99_ms: round(quantile(c, 0.99)),
    p999_ms: round(quantile(c, 0.999)),
    max_ms: round(c[c.length - 1] ?? NaN),
    tx_p50_ms: round(quantile(t, 0.5)),
    tx_p99_ms: round(quantile(t, 0.99)),
    errors: stats.errors,
    ...(stats.firstError !== undefined ? { first_error: stats.firstError } : {}),
  };
}

/** CPU seconds (user + system) the process used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function measured<T extends { wall: number }>(
  r: Registered,
  run: () => Promise<T>,
): Promise<T & { cpu: number; benchCpu: number }> {
  const c0 = cpuSeconds(r.daemon.pid);
  const b0 = process.cpuUsage();
  const out = await run();
  const b = process.cpuUsage(b0);
  return {
    ...out,
    cpu: round((cpuSeconds(r.daemon.pid) - c0) / out.wall),
    benchCpu: round((b.user + b.system) / 1e6 / out.wall),
  };
}

// ---------------------------------------------------------------- main

emit({
  kind: 'env',
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  seconds: SECONDS,
  concurrency: CONCURRENCY,
  rate: RATE,
});
for (const transport of TRANSPORTS) {
  process.stderr.write(`control bench: starting the daemon (${transport})\n`);
  // Warnings only (info logs a line per context and termination), default timers (LONG-TIMER 30 s).
  const r = await startRegistered({
    transport,
    quiet: true,
    sets: DAEMON_SETS,
    // UDP requests are not retransmitted: a lost one shows as an error, not as a slow cycle.
    mgc: { retransmitMs: 0 },
    nodeArgs: (process.env['BENCH_DAEMON_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
  });
  try {
    process.stderr.write(`control bench: warm-up (${WARMUP_CYCLES} cycles)\n`);
    {
      const warm = newStats();
      const workers = Array.from({ length: 8 }, async () => {
        while (warm.cycles + warm.errors < WARMUP_CYCLES) await cycle(r.mgc, warm);
      });
      await Promise.all(workers);
      if (warm.errors > 0) throw new Error(`warm-up failed: ${warm.firstError}`);
    }
    process.stderr.write(`control bench: max rate, ${CONCURRENCY} cycles in flight, ${SECONDS} s\n`);
    const max = await measured(r, () => maxRate(r.mgc, SECONDS, CONCURRENCY));
    emit({
      mode: 'max',
      transport,
      concurrency: CONCURRENCY,
      ...summary(max.stats, max.wall),
      daemon_cpu: max.cpu,
      bench_cpu: max.benchCpu,
    });
    process.stderr.write(`control bench: fixed ${RATE} cycles/s, ${SECONDS} s\n`);
    const fixed = await measured(r, () => fixedRate(r.mgc, SECONDS, RATE));
    emit({
      mode: 'fixed',
      transport,
      rate: RATE,
      ...summary(fixed.stats, fixed.wall),
      late_ticks: fixed.late,
      daemon_cpu: fixed.cpu,
      bench_cpu: fixed.benchCpu,
    });
  } finally {
    const code = await r.close();
    if (code !== 0)
      process.stderr.write(`control bench: the daemon exited with ${code}\n${r.daemon.stderr}\n`);
  }
}
