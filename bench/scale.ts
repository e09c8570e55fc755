/**
 * 10,000 concurrent RTP contexts: set up over H.248, carrying a trickle of packets, torn down; what
 * the daemon holds at each stage.
 *
 *   npx tsx bench/scale.ts [--contexts 10000] [--no-clamp] [--seconds 3] [--concurrency 64] [--cycles 2]
 *
 * Each context has two terminations (access and core realms), each an RTP stream: two bound UDP
 * sockets (RTP, RTCP), so the daemon holds 4 descriptors per context. It is spawned with realm
 * ranges of 20,000 ports each. When the open-file limit (RLIMIT_NOFILE, inherited from this
 * process: raise it with `ulimit -n` first) cannot hold 4 per context plus a margin, the count is
 * clamped to what fits and the output says so (`--no-clamp`: try anyway, and see where it fails).
 *
 * Stages (a `{"kind":"stage"}` line each, after a full GC through the inspector): started,
 * after_setup (Add + Modify of every context), after_traffic (every flow sent one packet a second
 * for `--seconds`, warm-up first; each flow must have arrived), after_teardown (Subtract * of every
 * context, then the reply cache's LONG-TIMER, here 1 s, let run out). Figures: RSS, V8 heap used,
 * external memory, file descriptors (/proc/<pid>/fd), contexts and ports (from /metrics); then a
 * summary with setup and teardown rates and growth from start. The whole cycle runs `--cycles` times,
 * so that memory the allocator keeps for reuse (the same after each cycle) can be told from a leak
 * (more after each cycle).
 */
import { cpus } from 'node:os';
import { Generator } from './relay/gen.js';
import { collectGarbage } from './relay/inspect.js';
import { MiB, cpuSeconds, fdCount, nofile, rssBytes } from './relay/proc.js';
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
const SOCKETS = 64;
const FDS_PER_CONTEXT = 4;
/** Descriptors the daemon holds besides media sockets (stdio, epoll, control, ops, inspector...). */
const FD_MARGIN = 200;
const ACCESS: [number, number] = [10000, 29999];
const CORE: [number, number] = [40000, 59999];

const emit = (o: object) => process.stdout.write(`${JSON.stringify({ bench: 'scale', ...o })}\n`);
const progress = (s: string) => process.stderr.write(`scale bench: ${s}\n`);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

interface Sample {
  rss_mib: number;
  heap_used_mib: number;
  external_mib: number;
  fds: number;
  contexts: number | undefined;
  ports_access: number | undefined;
  ports_core: number | undefined;
  cpu_s: number;
}

async function sample(r: Registered): Promise<Sample & { sample_error?: string }> {
  const pid = r.daemon.pid;
  let body = '';
  let error: string | undefined;
  try {
    await collectGarbage(r.daemon.stderr);
    body = (await r.daemon.get('/metrics')).body;
  } catch (e) {
    // Out of descriptors (--no-clamp), the daemon cannot accept our connections: /proc still answers.
    error = (e as Error).message;
  }
  return {
    ...(error !== undefined ? { sample_error: error } : {}),
    rss_mib: round(rssBytes(pid) / MiB),
    heap_used_mib: round((metricValue(body, 'nodejs_heap_size_used_bytes') ?? NaN) / MiB),
    external_mib: round((metricValue(body, 'nodejs_external_memory_bytes') ?? NaN) / MiB),
    fds: fdCount(pid),
    contexts: metricValue(body, 'trgwd_contexts'),
    ports_access: metricValue(body, 'trgwd_ports_in_use', { realm: 'access' }),
    ports_core: metricValue(body, 'trgwd_ports_in_use', { realm: 'core' }),
    cpu_s: round(cpuSeconds(pid), 2),
  };
}

const limit = nofile();
const fit = Math.floor((limit.soft - FD_MARGIN) / FDS_PER_CONTEXT);
const contexts = CLAMP ? Math.min(REQUESTED, fit) : REQUESTED;
emit({
  kind: 'env',
  node: process.version,
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  nofile: limit,
  requested_contexts: REQUESTED,
  contexts,
  ...(contexts < REQUESTED
    ? {
        clamped: true,
        reason: `RLIMIT_NOFILE ${limit.soft} (hard ${limit.hard}) holds ${fit} contexts at ${FDS_PER_CONTEXT} descriptors each plus ${FD_MARGIN}; ${REQUESTED} need ulimit -n >= ${REQUESTED * FDS_PER_CONTEXT + FD_MARGIN}`,
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
    relay_cpu: round(run.target_cpu_s / run.wall_s, 3),
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
  sets: ['control.timers.longTimerMs=1000', `limits.maxContexts=${Math.max(contexts, 20000)}`],
  nodeArgs: ['--inspect=127.0.0.1:0'],
});
try {
  emit({ kind: 'daemon', pid: r.daemon.pid, nofile: nofile(r.daemon.pid) });
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
  const growth = (s: Sample) => ({
    rss_mib: round(s.rss_mib - start.rss_mib),
    heap_used_mib: round(s.heap_used_mib - start.heap_used_mib),
    fds: s.fds - start.fds,
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
    per_context: {
      rss_kib: round(((first.setup.rss_mib - start.rss_mib) * 1024) / n),
      heap_kib: round(((first.setup.heap_used_mib - start.heap_used_mib) * 1024) / n, 2),
      fds: round((first.setup.fds - start.fds) / n, 2),
    },
    // After the first teardown, and after the last: the same growth twice is memory the allocator
    // keeps for reuse; growth that goes on with every cycle is a leak.
    growth_after_first_teardown: growth(first.teardown),
    growth_after_last_teardown: growth(last.teardown),
    fds_back_to_start: last.teardown.fds <= start.fds + 8,
  });
} finally {
  await gen.close();
  const code = await r.close();
  if (code !== 0) progress(`the daemon exited with ${code}: ${r.daemon.stderr.slice(-2000)}`);
}
