/**
 * The RTP load generator (bench/relay/gen.c) from TypeScript: built with the system C compiler into
 * a temporary directory (cached by the source's hash), spawned as a separate process, driven by
 * lines on its stdin (see the protocol at the top of gen.c).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./gen.c', import.meta.url));

/** Builds gen.c (once per source version) and returns the binary's path; throws with cc's output. */
export function buildGenerator(): string {
  const src = readFileSync(SOURCE);
  const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'trgwd-bench');
  const bin = join(dir, `relay-gen-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('cc', ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-pthread', '-o', bin, SOURCE], {
    encoding: 'utf8',
  });
  if (r.error !== undefined)
    throw new Error(`cannot run cc (a C compiler is needed to build the load generator): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cc failed to build ${SOURCE}:\n${r.stderr}`);
  return bin;
}

/** One flow: from generator socket `sock` to the relay at 127.0.0.1:`port`. */
export interface Flow {
  readonly sock: number;
  readonly port: number;
}

export interface RunParams {
  readonly first: number;
  readonly count: number;
  /** Interval between packets of one flow (20 ms packetization: 20000). */
  readonly intervalUs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly drainMs: number;
  /** Datagram size in bytes (RTP header + payload; 172 = G.711 at 20 ms). */
  readonly size: number;
  /** Process whose CPU time is sampled over the measurement window (0: none). */
  readonly pid: number;
  /** Width of the latency trend windows. */
  readonly windowMs: number;
  /** Shortest sleep of the pacing loop (packets due meanwhile go out together). */
  readonly tickUs: number;
}

export interface Window {
  n: number;
  p50_us: number;
  p99_us: number;
}

/** One run as gen.c reports it (latencies in µs, CPU in seconds over the measurement window). */
export interface RunResult {
  sent: number;
  received: number;
  seconds: number;
  sent_pps: number;
  received_pps: number;
  loss: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  /** CPU seconds of the process under test over the measurement window (-1: no pid), user and system. */
  target_cpu_s: number;
  target_user_s: number;
  target_sys_s: number;
  /** Busy fraction of the whole host over the window (all cores: 1 = every core busy). */
  host_busy: number;
  /** Fraction of the host in softirq (loopback delivery; not in any process's CPU time here). */
  host_softirq: number;
  /** CPU seconds of the generator itself (sender and receiver threads). */
  gen_cpu_s: number;
  wall_s: number;
  send_errors: number;
  max_send_lag_us: number;
  udp_in_errors: number;
  udp_rcvbuf_errors: number;
  gen_rcvbuf_drops: number;
  stale: number;
  bad: number;
  outside: number;
  no_timestamp: number;
  /** Flows that sent in the window and got nothing through; the first few of them (0 = `first`). */
  silent_flows: number;
  silent_first: number[];
  windows: Window[];
}

export class Generator {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ports: number[] = [];
  #lines: Interface;
  #queue: string[] = [];
  #waiters: ((line: string) => void)[] = [];
  #stderr = '';
  #flows = 0;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.#lines = createInterface({ input: child.stdout });
    this.#lines.on('line', (l) => {
      const w = this.#waiters.shift();
      if (w !== undefined) w(l);
      else this.#queue.push(l);
    });
    child.stderr.on('data', (d: Buffer) => (this.#stderr += d.toString()));
  }

  /**
   * Spawns the generator with `sockets` endpoint sockets (receive/send buffers of `bufBytes`); its
   * receiver polls every `rxPollUs` µs (0: blocks in epoll_wait, so every packet wakes it).
   */
  static async start(
    sockets: number,
    opts: { bufBytes?: number; rxPollUs?: number; headerOnly?: boolean } = {},
  ): Promise<Generator> {
    const bin = buildGenerator();
    const args = [
      String(sockets),
      String(opts.bufBytes ?? 4 << 20),
      String(opts.rxPollUs ?? 500),
      opts.headerOnly === true ? '1' : '0',
    ];
    // Detached: its own session and scheduling group, apart from the relays (bench/relay/trgwd.ts).
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    process.once('exit', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const g = new Generator(child);
    const first = JSON.parse(await g.#next(10_000)) as { ports: number[] };
    g.ports.push(...first.ports);
    return g;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get flowCount(): number {
    return this.#flows;
  }

  #next(timeoutMs: number): Promise<string> {
    const q = this.#queue.shift();
    if (q !== undefined) return Promise.resolve(q);
    return new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`the load generator exited (${code}): ${this.#stderr}`));
      };
      const timer = setTimeout(() => {
        this.child.off('exit', onExit);
        this.#waiters.splice(this.#waiters.indexOf(done), 1);
        reject(new Error(`the load generator did not answer within ${timeoutMs} ms: ${this.#stderr}`));
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(line);
      };
      this.child.once('exit', onExit);
      this.#waiters.push(done);
    });
  }

  /** Appends flows; returns the id of the first one (ids are consecutive). */
  async addFlows(flows: readonly Flow[]): Promise<number> {
    const first = this.#flows;
    this.child.stdin.write(`flows ${flows.length}\n${flows.map((f) => `${f.sock} ${f.port}\n`).join('')}`);
    const r = JSON.parse(await this.#next(10_000)) as { flows: number };
    this.#flows = r.flows;
    return first;
  }

  async run(p: RunParams): Promise<RunResult> {
    this.child.stdin.write(
      `run ${p.first} ${p.count} ${p.intervalUs} ${p.warmupMs} ${p.durationMs} ${p.drainMs} ${p.size} ${p.pid} ${p.windowMs} ${p.tickUs}\n`,
    );
    const line = await this.#next(p.warmupMs + p.durationMs + p.drainMs + 30_000);
    const r = JSON.parse(line) as RunResult | { error: string };
    if ('error' in r) throw new Error(`load generator: ${r.error}`);
    return r;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
