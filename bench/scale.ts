/**
 * 10,000 concurrent RTP contexts: set up over H.248, carrying a trickle of packets, torn down; what
 * the daemon holds at each stage.
 *
 *   npx tsx bench/scale.ts [--contexts 10000] [--no-clamp] [--seconds 3] [--concurrency 64] [--cycles 2]
 *                          [--workers N] [--worker-mode thread|process]
 *
 * Each context has two terminations (access and core realms), each an RTP stream: two bound UDP
 * sockets (RTP, RTCP), so the daemon holds 4 descriptors per context. It is spawned with realm
 * ranges of 20,000 ports each. When the open-file limit (RLIMIT_NOFILE, inherited from this
 * process: raise it with `ulimit -n` first) cannot hold 4 per context plus a margin, the count is
 * clamped to what fits and the output says so (`--no-clamp`: try anyway, and see where it fails).
 *
 * Relay workers: `--workers N` sets `media.workers` (without it the daemon's default, 0: the main
 * thread relays), `--worker-mode` sets `media.workerMode`. Worker threads share the daemon's one
 * descriptor table. Worker processes (`--worker-mode process`) each hold the sockets of their own
 * contexts, ~1/N of them (a new context goes to the least loaded worker), under their own
 * RLIMIT_NOFILE, and the main process only the ports it is binding and handing over at that moment:
 * the clamp is then per process (ceil(contexts / N) × 4 plus a margin in each worker), so with a hard
 * limit of 20,000 four workers hold 10,000 contexts.
 *
 * Stages (a `{"kind":"stage"}` line each, after a full GC through the inspector): started,
 * after_setup (Add + Modify of every context), after_traffic (every flow sent one packet a second
 * for `--seconds`, warm-up first; each flow must have arrived), after_teardown (Subtract * of every
 * context, then the reply cache's LONG-TIMER, here 1 s, let run out). Figures: RSS, V8 heap used,
 * external memory, file descriptors (/proc/<pid>/fd), contexts and ports (from /metrics); RSS,
 * descriptors and CPU time of each worker process (the daemon's children, /proc/<pid>/task/<tid>/children)
 * and their sum with the daemon's (`total`); then a summary with setup and teardown rates and growth
 * from start (totals: daemon and workers). The whole cycle runs `--cycles` times,
 * so that memory the allocator keeps for reuse (the same after each cycle) can be told from a leak
 * (more after each cycle).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { RELAY_WORKER_ARG } from '../daemon/bearer/udp/relay-channel.js';
import { Generator } from './relay/gen.js';
import { collectGarbageAll } from './relay/inspect.js';
import { MiB, childPids, cpuSeconds, fdCount, nofile, rssBytes } from './relay/proc.js';
import { pool, startTrgwd, trgwdCall, trgwdHangup, type TrgwdCall } from './relay/trgwd.js';
import { eventually, metricValue, type Registered } from '../test/helpers/daemon.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const REQUESTED = Number(argValue('--contexts') ?? 10_000);
const CLAMP = !process.argv.includes('--no-clamp');
const SECONDS = Number(argValue('--seconds') ?? 3);
const CYCLES = Number(argValue('--cycles') ?? 2);
const CONCURRENCY = Number(argValue('--concurrency') ?? 64);
const WORKERS = argValue('--workers') !== undefined ? Number(argValue('--workers')) : undefined;
const WORKER_MODE = argValue('--worker-mode') ?? 'thread';
if (WORKER_MODE !== 'thread' && WORKER_MODE !== 'process') {
  process.stderr.write(`scale bench: --worker-mode is thread or process, not ${WORKER_MODE}\n`);
  process.exit(2);
}
if (WORKERS !== undefined && !(Number.isInteger(WORKERS) && WORKERS >= -1 && WORKERS <= 64)) {
  process.stderr.write(
    `scale bench: --workers is an integer -1..64 (media.workers), not ${argValue('--workers')}\n`,
  );
  process.exit(2);
}
/** Worker processes the daemon will run (0: everything in the daemon's own process). */
const PROCESSES =
  WORKER_MODE === 'process' && WORKERS !== undefined && WORKERS !== 0
    ? WORKERS < 0
      ? cpus().length
      : WORKERS
    : 0;
const SOCKETS = 64;
const FDS_PER_CONTEXT = 4;
/** Descriptors the daemon holds besides media sockets (stdio, epoll, control, ops, inspector...). */
const FD_MARGIN = 200;
/** Descriptors a worker process holds besides media sockets (stdio, IPC, epoll, libuv's...). */
const WORKER_FD_MARGIN = 100;
/**
 * 24,000 ports per realm: 10,000 contexts take 20,000 in each. Linux's ephemeral range (32768-60999)
 * cannot be avoided for both, and other sockets there (the generator's 64, whatever else runs) take
 * ports the core realm then skips: it needs the headroom (with 20,000 ports, ~50 of 10,000 contexts
 * were answered 510).
 */
const ACCESS: [number, number] = [8000, 31999];
const CORE: [number, number] = [40000, 63999];

const emit = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'scale', ...o })}\n`);
const progress = (s: string) => process.stderr.write(`scale bench: ${s}\n`);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface ProcessFigures {
  pid: number;
  rss_mib: number;
  /** V8 heap used after a full GC (worker processes: through their own inspector). */
  heap_used_mib?: number;
  fds: number;
  cpu_s: number;
}

interface Sample {
  rss_mib: number;
  heap_used_mib: number;
  external_mib: number;
  fds: number;
  contexts: number | undefined;
  ports_access: number | undefined;
  ports_core: number | undefined;
  cpu_s: number;
  /** Worker processes (the daemon's children): empty with worker threads or none. */
  workers: ProcessFigures[];
  /** Daemon and worker processes together. */
  total: { rss_mib: number; fds: number; cpu_s: number; max_fds_per_process: number };
}

function figuresOf(pid: number): ProcessFigures {
  return { pid, rss_mib: round(rssBytes(pid) / MiB), fds: fdCount(pid), cpu_s: round(cpuSeconds(pid), 2) };
}

/**
 * The daemon's relay worker processes: its children that say so on their command line (from source,
 * tsx also runs an esbuild service as a child of each node process; that is not counted).
 */
function workerPidsOf(pid: number): number[] {
  return childPids(pid).filter((c) => {
    try {
      return readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').includes(RELAY_WORKER_ARG);
    } catch {
      return false;
    }
  });
}

/**
 * Waits until the worker processes have started (each node process opens its event loops and
 * service threads' descriptors in its first second): their descriptor counts unchanged over 1.5 s.
 */
async function workersStarted(pid: number): Promise<void> {
  let last = '';
  let same = 0;
  for (let i = 0; i < 40 && same < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = workerPidsOf(pid).map(fdCount).join(',');
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

/** CPU seconds of the daemon's worker processes so far. */
function workersCpu(pid: number): number {
  return workerPidsOf(pid).reduce((sum, c) => sum + cpuSeconds(c), 0);
}

async function sample(r: Registered): Promise<Sample & { sample_error?: string }> {
  const pid = r.daemon.pid;
  let body = '';
  let error: string | undefined;
  let heaps = new Map<number, number>();
  try {
    heaps = await collectGarbageAll(r.daemon.stderr);
    body = (await r.daemon.get('/metrics')).body;
  } catch (e) {
    // Out of descriptors (--no-clamp), the daemon cannot accept our connections: /proc still answers.
    error = (e as Error).message;
  }
  const daemon = figuresOf(pid);
  const workers = workerPidsOf(pid).map((w) => {
    const heap = heaps.get(w);
    return { ...figuresOf(w), ...(heap !== undefined ? { heap_used_mib: round(heap / MiB) } : {}) };
  });
  const all = [daemon, ...workers];
  return {
    ...(error !== undefined ? { sample_error: error } : {}),
    rss_mib: daemon.rss_mib,
    heap_used_mib: round((metricValue(body, 'nodejs_heap_size_used_bytes') ?? NaN) / MiB),
    external_mib: round((metricValue(body, 'nodejs_external_memory_bytes') ?? NaN) / MiB),
    fds: daemon.fds,
    contexts: metricValue(body, 'trgwd_contexts'),
    ports_access: metricValue(body, 'trgwd_ports_in_use', { realm: 'access' }),
    ports_core: metricValue(body, 'trgwd_ports_in_use', { realm: 'core' }),
    cpu_s: daemon.cpu_s,
    workers,
    total: {
      rss_mib: round(all.reduce((x, p) => x + p.rss_mib, 0)),
      fds: all.reduce((x, p) => x + p.fds, 0),
      cpu_s: round(
        all.reduce((x, p) => x + p.cpu_s, 0),
        2,
      ),
      max_fds_per_process: Math.max(...all.map((p) => p.fds)),
    },
  };
}

const limit = nofile();
// The limit is per process: with worker processes each holds ~1/PROCESSES of the media sockets (and
// the daemon only those it is handing over: up to CONCURRENCY contexts' worth at once).
const fit =
  PROCESSES > 0
    ? limit.soft - FD_MARGIN >= CONCURRENCY * FDS_PER_CONTEXT
      ? Math.floor((limit.soft - WORKER_FD_MARGIN) / FDS_PER_CONTEXT) * PROCESSES
      : 0
    : Math.floor((limit.soft - FD_MARGIN) / FDS_PER_CONTEXT);
const contexts = CLAMP ? Math.min(REQUESTED, fit) : REQUESTED;
const need =
  PROCESSES > 0
    ? `${PROCESSES} worker processes, ${Math.ceil(REQUESTED / PROCESSES)} contexts each, need ulimit -n >= ${Math.ceil(REQUESTED / PROCESSES) * FDS_PER_CONTEXT + WORKER_FD_MARGIN} (each process has its own)`
    : `${REQUESTED} need ulimit -n >= ${REQUESTED * FDS_PER_CONTEXT + FD_MARGIN}`;
emit({
  kind: 'env',
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  nofile: limit,
  workers: WORKERS ?? 'default',
  worker_mode: WORKER_MODE,
  worker_processes: PROCESSES,
  requested_contexts: REQUESTED,
  contexts,
  ...(contexts < REQUESTED
    ? {
        clamped: true,
        reason:
          PROCESSES > 0
            ? `RLIMIT_NOFILE ${limit.soft} (hard ${limit.hard}) per process holds ${fit} contexts over ${PROCESSES} worker processes at ${FDS_PER_CONTEXT} descriptors each plus ${WORKER_FD_MARGIN} per worker; ${need}`
            : `RLIMIT_NOFILE ${limit.soft} (hard ${limit.hard}) holds ${fit} contexts at ${FDS_PER_CONTEXT} descriptors each plus ${FD_MARGIN}; ${need}`,
      }
    : {}),
  realms: { access: ACCESS, core: CORE },
  trickle: { packets_per_flow_per_s: 1, seconds: SECONDS },
});
if (contexts < REQUESTED)
  progress(`clamped to ${contexts} contexts: the open-file limit is ${limit.soft} (raise it with ulimit -n)`);

interface Cycle {
  contexts: number;
  setupS: number;
  teardownS: number;
  allArrived: boolean;
  loss: number;
  setup: Sample;
  teardown: Sample;
}

/** Sets up every context, sends the trickle, tears them down; a stage line after each step. */
async function runCycle(
  cycle: number,
  stage: (name: string, extra?: object) => Promise<Sample>,
): Promise<Cycle> {
  progress(`cycle ${cycle}: setting up ${contexts} contexts (${CONCURRENCY} at a time)`);
  let failed: string | undefined;
  let t0 = performance.now();
  const calls = await pool(contexts, CONCURRENCY, async (i): Promise<TrgwdCall | undefined> => {
    if (failed !== undefined) return undefined;
    const a = (2 * i) % SOCKETS;
    try {
      return await trgwdCall(r.mgc, gen.ports[a]!, gen.ports[a + 1]!);
    } catch (e) {
      failed ??= `context ${i}: ${(e as Error).message}`;
      return undefined;
    }
  });
  const setupS = (performance.now() - t0) / 1000;
  const up = calls.filter((c): c is TrgwdCall => c !== undefined);
  const setup = await stage('after_setup', {
    cycle,
    set_up: up.length,
    seconds: round(setupS, 2),
    contexts_per_s: Math.round(up.length / setupS),
    ...(failed !== undefined ? { first_failure: failed } : {}),
  });

  progress(`cycle ${cycle}: trickle, ${2 * up.length} flows, 1 packet/s each, ${SECONDS} s`);
  const first = await gen.addFlows(
    calls.flatMap((c, i) => {
      if (c === undefined) return [];
      const a = (2 * i) % SOCKETS;
      return [
        { sock: a, port: c.aSendsTo },
        { sock: a + 1, port: c.bSendsTo },
      ];
    }),
  );
  const workersCpu0 = workersCpu(r.daemon.pid);
  const wall0 = performance.now();
  const run = await gen.run({
    first,
    count: 2 * up.length,
    intervalUs: 1_000_000,
    warmupMs: 1000,
    durationMs: SECONDS * 1000,
    drainMs: 500,
    size: 172,
    pid: r.daemon.pid,
    windowMs: 1000,
    tickUs: 500,
  });
  const workersCpuS = workersCpu(r.daemon.pid) - workersCpu0;
  const runWallS = (performance.now() - wall0) / 1000;
  const allArrived = run.silent_flows === 0 && run.received > 0;
  await stage('after_traffic', {
    cycle,
    flows: 2 * up.length,
    sent: run.sent,
    received: run.received,
    loss: run.loss,
    silent_flows: run.silent_flows,
    p50_us: run.p50_us,
    p99_us: run.p99_us,
    // cores busy: the daemon over the measurement window (the generator's figure); its worker
    // processes over the whole run, warm-up and drain included (ours)
    relay_cpu: round(run.target_cpu_s / run.wall_s, 3),
    ...(PROCESSES > 0 ? { workers_cpu: round(workersCpuS / runWallS, 3) } : {}),
  });

  progress(`cycle ${cycle}: tearing down ${up.length} contexts`);
  t0 = performance.now();
  let teardownFailures = 0;
  await pool(up.length, CONCURRENCY, async (i) => {
    try {
      await trgwdHangup(r.mgc, up[i]!.ctx);
    } catch {
      teardownFailures++;
    }
  });
  const teardownS = (performance.now() - t0) / 1000;
  // Ports return when their sockets have closed; replies leave the cache after LONG-TIMER (1 s here).
  await eventually(
    async () => {
      const { body } = await r.daemon.get('/metrics');
      const busy =
        (metricValue(body, 'trgwd_contexts') ?? 0) +
        (metricValue(body, 'trgwd_ports_in_use', { realm: 'access' }) ?? 0) +
        (metricValue(body, 'trgwd_ports_in_use', { realm: 'core' }) ?? 0);
      return busy === 0 ? true : undefined;
    },
    30_000,
    'every context and port released',
    200,
  );
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const teardown = await stage('after_teardown', {
    cycle,
    torn_down: up.length - teardownFailures,
    seconds: round(teardownS, 2),
    contexts_per_s: Math.round(up.length / teardownS),
  });
  return {
    contexts: up.length,
    setupS: round(setupS, 2),
    teardownS: round(teardownS, 2),
    allArrived,
    loss: run.loss,
    setup,
    teardown,
  };
}

const gen = await Generator.start(SOCKETS);
progress('starting the daemon');
const r = await startTrgwd({
  access: ACCESS,
  core: CORE,
  sets: [
    'control.timers.longTimerMs=1000',
    `limits.maxContexts=${Math.max(contexts, 20000)}`,
    ...(WORKERS !== undefined ? [`media.workers=${WORKERS}`, `media.workerMode=${WORKER_MODE}`] : []),
  ],
  nodeArgs: ['--inspect=127.0.0.1:0'],
  // worker processes get an inspector too (NODE_OPTIONS reaches them; fork's execArgv does not)
  ...(PROCESSES > 0
    ? { env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() } }
    : {}),
});
try {
  const workerPids = workerPidsOf(r.daemon.pid);
  if (workerPids.length > 0) await workersStarted(r.daemon.pid);
  emit({
    kind: 'daemon',
    pid: r.daemon.pid,
    nofile: nofile(r.daemon.pid),
    worker_pids: workerPids,
    ...(workerPids.length > 0 ? { worker_nofile: nofile(workerPids[0]!) } : {}),
  });
  const stage = async (name: string, extra: object = {}): Promise<Sample> => {
    const x = await sample(r);
    emit({ kind: 'stage', stage: name, ...x, ...extra });
    return x;
  };
  const start = await stage('started');
  const cycles: Cycle[] = [];
  for (let cycle = 1; cycle <= CYCLES; cycle++) cycles.push(await runCycle(cycle, stage));

  const first = cycles[0]!;
  const last = cycles[cycles.length - 1]!;
  const n = Math.max(1, first.contexts);
  const shmChunks = PROCESSES > 0 ? Math.ceil((2 * Math.max(...cycles.map((c) => c.contexts))) / 1024) : 0;
  const workersHeap = (s: Sample) => s.workers.reduce((x, w) => x + (w.heap_used_mib ?? NaN), 0);
  const growth = (s: Sample) => ({
    rss_mib: round(s.rss_mib - start.rss_mib),
    heap_used_mib: round(s.heap_used_mib - start.heap_used_mib),
    fds: s.fds - start.fds,
    ...(s.workers.length > 0
      ? {
          workers_heap_used_mib: round(workersHeap(s) - workersHeap(start)),
          total_rss_mib: round(s.total.rss_mib - start.total.rss_mib),
          total_fds: s.total.fds - start.total.fds,
        }
      : {}),
  });
  emit({
    kind: 'summary',
    contexts: first.contexts,
    requested_contexts: REQUESTED,
    cycles: cycles.length,
    setup_s: first.setupS,
    teardown_s: first.teardownS,
    all_flows_arrived: cycles.every((c) => c.allArrived),
    loss: Math.max(...cycles.map((c) => c.loss)),
    worker_mode: WORKER_MODE,
    worker_processes: PROCESSES,
    // daemon and worker processes together (the daemon's heap only: workers get no forced GC)
    per_context: {
      rss_kib: round(((first.setup.total.rss_mib - start.total.rss_mib) * 1024) / n),
      heap_kib: round(((first.setup.heap_used_mib - start.heap_used_mib) * 1024) / n, 2),
      fds: round((first.setup.total.fds - start.total.fds) / n, 2),
    },
    after_setup: {
      daemon: { rss_mib: first.setup.rss_mib, fds: first.setup.fds },
      workers: first.setup.workers.map((w) => ({
        rss_mib: w.rss_mib,
        heap_used_mib: w.heap_used_mib,
        fds: w.fds,
      })),
      total: first.setup.total,
    },
    // After the first teardown, and after the last: the same growth twice is memory the allocator
    // keeps for reuse; growth that goes on with every cycle is a leak.
    growth_after_first_teardown: growth(first.teardown),
    growth_after_last_teardown: growth(last.teardown),
    // with worker processes the daemon keeps one memfd per 1,024 leg counter slots it ever needed at
    // once (reused, as SharedArrayBuffer chunks are with threads): not descriptors of a stream
    ...(PROCESSES > 0 ? { shm_chunk_fds: shmChunks } : {}),
    fds_back_to_start: last.teardown.total.fds <= start.total.fds + 8 + shmChunks,
  });
} finally {
  await gen.close();
  const pids = workerPidsOf(r.daemon.pid);
  const code = await r.close();
  if (code !== 0) progress(`the daemon exited with ${code}: ${r.daemon.stderr.slice(-2000)}`);
  // worker processes end with the daemon (their IPC channel closes): none may be left
  await new Promise((resolve) => setTimeout(resolve, 500));
  const left = pids.filter((p) => Number.isFinite(rssBytes(p)));
  if (pids.length > 0) emit({ kind: 'end', daemon_exit: code, worker_processes_left: left });
}
