/**
 * Spawns the trgwd daemon from source (node --import tsx daemon/main.ts start) on ephemeral ports and
 * learns where it listens from its JSON log lines on stdout:
 *   {"msg":"control listening","transport":"udp"|"tcp","address":...,"port":...}  (one per transport)
 *   {"msg":"ops endpoint listening","address":...,"port":...}
 *   {"msg":"trgwd started"} and, later, {"msg":"registered",...}
 * Used by the golden, system and interop tests and by bench/control.ts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Mgc, type MgcOptions } from '../../daemon/cli/mgc.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ControllerEntry {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

export interface DaemonOptions {
  /** Controllers to register with (`control.controllers`). */
  readonly controllers?: readonly ControllerEntry[];
  /** More `--set key=value` overrides (applied after ours, so they win). */
  readonly sets?: readonly string[];
  /** Extra environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Log level (default debug, so tests can wait for the lines they need). */
  readonly logLevel?: string;
  /** How long to wait for `trgwd started` (default 20 s: tsx compiles on first use). */
  readonly startTimeoutMs?: number;
  /** Copy the daemon's stdout/stderr to ours (debugging: TRGWD_TEST_DAEMON_LOG=1 does the same). */
  readonly echo?: boolean;
  /** Extra node flags (e.g. `--inspect=127.0.0.1:0`). */
  readonly nodeArgs?: readonly string[];
  /**
   * Do not wait for `trgwd started` (log level warn and no ops endpoint, so the ports are not
   * learnt): for benchmarks, where info logs would cost the daemon and the test process CPU. The
   * controller learns the gateway's address from its registration.
   */
  readonly quiet?: boolean;
  /**
   * Spawn it in its own session, hence (Linux sched_autogroup) its own scheduling group, apart from
   * a load generator's and whatever else runs on the machine (benchmarks).
   */
  readonly detached?: boolean;
}

export type LogLine = Record<string, unknown> & { msg?: string };

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export class Daemon {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every JSON log line so far, in order. */
  readonly logs: LogLine[] = [];
  /** stderr text so far. */
  stderr = '';
  readonly control: { udp?: Endpoint; tcp?: Endpoint } = {};
  opsPort: number | undefined;
  #waiters: { from: number; match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  #exited: Promise<number | null>;
  #exitCode: number | null | undefined;

  constructor(child: ChildProcessWithoutNullStreams, echo: boolean) {
    this.child = child;
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (text) => {
      if (echo) process.stderr.write(`[trgwd] ${text}\n`);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.logs.push(line);
      if (line.msg === 'control listening' && (line['transport'] === 'udp' || line['transport'] === 'tcp')) {
        this.control[line['transport']] = { address: String(line['address']), port: Number(line['port']) };
      }
      if (line.msg === 'ops endpoint listening') this.opsPort = Number(line['port']);
      const idx = this.logs.length - 1;
      for (const w of [...this.#waiters]) {
        if (idx >= w.from && w.match(line)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (echo) process.stderr.write(`[trgwd:err] ${d.toString()}`);
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal !== null ? -1 : null);
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exited(): boolean {
    return this.#exitCode !== undefined;
  }

  /**
   * Resolves with the first log line (at index `from` or later, default: any so far) that matches;
   * rejects after `timeoutMs` or when the daemon exits first.
   */
  waitLog(match: (l: LogLine) => boolean, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    for (let i = from; i < this.logs.length; i++)
      if (match(this.logs[i]!)) return Promise.resolve(this.logs[i]!);
    return new Promise<LogLine>((resolve, reject) => {
      const w = {
        from,
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(
          new Error(`no matching trgwd log line within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`),
        );
      }, timeoutMs);
      this.#waiters.push(w);
      void this.#exited.then((code) => {
        if (!this.#waiters.includes(w)) return;
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        clearTimeout(timer);
        reject(
          new Error(
            `trgwd exited (${code}) before the expected log line; stderr: ${this.stderr.slice(-2000)}`,
          ),
        );
      });
    });
  }

  /** The next `registered` log line after the current end of the log. */
  waitRegistered(timeoutMs = 10_000, from = 0): Promise<LogLine> {
    return this.waitLog((l) => l.msg === 'registered', timeoutMs, from);
  }

  /** GET on the ops endpoint. */
  get(path: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    const port = this.opsPort;
    if (port === undefined) return Promise.reject(new Error('the ops endpoint is not listening'));
    return httpGet(port, path, timeoutMs);
  }

  /** One sample of a metric from /metrics (`name{labels} value`), or undefined when absent. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const { body } = await this.get('/metrics');
    return metricValue(body, name, labels);
  }

  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 8000): Promise<number | null> {
    if (this.#exitCode !== undefined) return this.#exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

const live = new Set<Daemon>();
process.once('exit', () => {
  for (const d of live) if (!d.exited) d.child.kill('SIGKILL');
});

/** `control.controllers=[...]` as a --set value. */
export function controllersSet(controllers: readonly ControllerEntry[]): string {
  return `control.controllers=[${controllers.map((c) => `{address: "${c.address}", port: ${c.port}, transport: ${c.transport}}`).join(', ')}]`;
}

/**
 * Starts the daemon and resolves once it logged `trgwd started` (its control transports and ops
 * endpoint are then known). Registration is the caller's business (a controller must answer it).
 */
export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  const sets = [
    'control.listen.port=0',
    'ops.listen.port=0',
    'control.timers.restartDelayMaxMs=0',
    `log.level=${opts.quiet === true ? 'warn' : (opts.logLevel ?? 'debug')}`,
    ...(opts.quiet === true ? ['ops.enabled=false'] : []),
    ...(opts.controllers !== undefined ? [controllersSet(opts.controllers)] : []),
    ...(opts.sets ?? []),
  ];
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      '--import',
      'tsx',
      'daemon/main.ts',
      'start',
      ...sets.flatMap((s) => ['--set', s]),
    ],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: opts.detached === true,
    },
  );
  const d = new Daemon(child, opts.echo ?? process.env['TRGWD_TEST_DAEMON_LOG'] === '1');
  live.add(d);
  void child.once('exit', () => live.delete(d));
  if (opts.quiet === true) return d;
  try {
    await d.waitLog((l) => l.msg === 'trgwd started', opts.startTimeoutMs ?? 20_000);
  } catch (e) {
    if (!d.exited) await d.stop('SIGKILL');
    throw e;
  }
  return d;
}

export function httpGet(
  port: number,
  path: string,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Reads `name{labels} value` from Prometheus text (labels: all given ones must match). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([A-Za-z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[kv[1]!] = kv[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `${what}: not within ${timeoutMs} ms${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A daemon registered with an `Mgc` (daemon/cli/mgc.ts) that listens on an ephemeral port. */
export interface Registered {
  readonly daemon: Daemon;
  readonly mgc: Mgc;
  /** Stops the daemon (SIGTERM, answering its Graceful ServiceChange) then the controller. */
  close(): Promise<number | null>;
}

export async function startRegistered(
  opts: DaemonOptions & { transport?: 'udp' | 'tcp'; mgc?: Partial<MgcOptions> } = {},
): Promise<Registered> {
  const transport = opts.transport ?? 'udp';
  const mgc = new Mgc({ listen: { address: '127.0.0.1', port: 0 }, transport, ...opts.mgc });
  const ep = await mgc.start();
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      ...opts,
      controllers: [{ address: '127.0.0.1', port: ep.port, transport }],
    });
  } catch (e) {
    await mgc.close();
    throw e;
  }
  try {
    await mgc.waitRegistered(opts.startTimeoutMs ?? 20_000);
    if (opts.quiet !== true) await daemon.waitRegistered(10_000);
  } catch (e) {
    await daemon.stop('SIGKILL');
    await mgc.close();
    throw e;
  }
  return {
    daemon,
    mgc,
    close: async () => {
      const code = await daemon.stop();
      await mgc.close();
      return code;
    },
  };
}
