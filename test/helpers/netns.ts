/**
 * Network namespaces for tests that need a real network between two stacks (TCP simultaneous open:
 * crossing SYNs hardly ever happen on plain loopback, where a SYN is answered within the connect
 * call). A lab creates its own namespaces (unique names), joins them with veth pairs carrying
 * TEST-NET-1 addresses (192.0.2.0/24, RFC 5737) that exist only inside them, can delay a link
 * (`tc netem`) and make a namespace behave like a NAT towards unsolicited SYNs (nftables: a new
 * inbound SYN is dropped, not refused; a SYN answering one we sent passes, as conntrack sees it as
 * a reply), and runs node code inside a namespace (`ip netns exec`).
 *
 * Everything is removed by `cleanup()` (call it in `finally`), and by an exit hook should a test
 * die first. Needs root and `ip` (iproute2); `nft` and the netem qdisc are optional (see the
 * `can*` fields). `netnsSupport()` says why a lab cannot be made, for a clear skip message.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function run(cmd: string, args: readonly string[]): { ok: boolean; out: string } {
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    return { ok: true, out };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, out: err.stderr ?? err.message };
  }
}

function must(cmd: string, args: readonly string[]): string {
  const r = run(cmd, args);
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')}: ${r.out.trim()}`);
  return r.out;
}

/** Undefined when labs can be made here, else why not (for the skip message). */
export function netnsSupport(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'network namespaces need root (CI runs as root)';
  if (!run('ip', ['-V']).ok) return '`ip` (iproute2) is not installed';
  const probe = `trgwd-probe-${process.pid}`;
  const r = run('ip', ['netns', 'add', probe]);
  if (!r.ok) return `cannot create a network namespace: ${r.out.trim()}`;
  run('ip', ['netns', 'del', probe]);
  return undefined;
}

/** Skip locally with the reason; under CI=true a missing capability is a failure. */
export function netnsSkip(t: { skip(message?: string): void }): boolean {
  const why = netnsSupport();
  if (why === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`netns test cannot run under CI: ${why}`);
  t.skip(`skipped: ${why}`);
  return true;
}

const live = new Set<NetnsLab>();
process.once('exit', () => {
  for (const lab of live) lab.cleanupSync();
});

/** A line of JSON a child printed. */
export type ChildLine = Record<string, unknown>;

export interface NodeChild {
  readonly process: ChildProcess;
  /** Every JSON line so far. */
  readonly lines: ChildLine[];
  /** Resolves with the first (past or future) line the predicate accepts; rejects if the child exits first. */
  line(pred: (l: ChildLine) => boolean, timeoutMs?: number): Promise<ChildLine>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stderr(): string;
}

export class NetnsLab {
  readonly tag: string;
  readonly namespaces: string[] = [];
  readonly #children: ChildProcess[] = [];
  #vethCount = 0;
  /** nftables is usable (NAT-like SYN dropping). */
  readonly canFilter: boolean;

  constructor() {
    this.tag = `t${process.pid.toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    this.canFilter = run('nft', ['--version']).ok;
    live.add(this);
  }

  /** A new namespace with its loopback up; returns its full name. */
  addNamespace(name: string): string {
    const ns = `${this.tag}-${name}`;
    must('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces with `addrA/24` and `addrB/24`; returns the device names. */
  link(nsA: string, addrA: string, nsB: string, addrB: string): { devA: string; devB: string } {
    const n = this.#vethCount++;
    const devA = `${this.tag}a${n}`.slice(0, 15);
    const devB = `${this.tag}b${n}`.slice(0, 15);
    must('ip', ['link', 'add', devA, 'type', 'veth', 'peer', 'name', devB]);
    must('ip', ['link', 'set', devA, 'netns', nsA]);
    must('ip', ['link', 'set', devB, 'netns', nsB]);
    must('ip', ['-n', nsA, 'addr', 'add', `${addrA}/24`, 'dev', devA]);
    must('ip', ['-n', nsB, 'addr', 'add', `${addrB}/24`, 'dev', devB]);
    must('ip', ['-n', nsA, 'link', 'set', devA, 'up']);
    must('ip', ['-n', nsB, 'link', 'set', devB, 'up']);
    return { devA, devB };
  }

  /** `tc qdisc add dev <dev> root netem delay <ms>ms` in `ns`; false when netem is not available. */
  delay(ns: string, dev: string, ms: number): boolean {
    return run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'delay', `${ms}ms`]).ok;
  }

  /**
   * The namespace drops inbound TCP SYNs that open a new connection (as a NAT or stateful firewall
   * does); a SYN whose 4-tuple we already sent a SYN on passes (conntrack: reply direction), which
   * is what lets a simultaneous open through. Only on `dev` when given (else every interface,
   * loopback included). False when nftables is not available.
   */
  dropUnsolicitedSyns(ns: string, dev?: string): boolean {
    if (!this.canFilter) return false;
    const nft = (...args: string[]): boolean => run('ip', ['netns', 'exec', ns, 'nft', ...args]).ok;
    const on = dev !== undefined ? `iifname "${dev}" ` : '';
    return (
      nft('add', 'table', 'inet', 'trgwdlab') &&
      nft('add', 'chain', 'inet', 'trgwdlab', 'in', '{ type filter hook input priority 0; }') &&
      nft('add', 'rule', 'inet', 'trgwdlab', 'in', `${on}tcp flags & (syn|ack) == syn ct state new drop`)
    );
  }

  /**
   * Runs ES module code (TypeScript imports allowed, through tsx) with node inside `ns`, from the
   * repository root. The child prints JSON lines on stdout; other lines are ignored.
   */
  node(ns: string, code: string, env: NodeJS.ProcessEnv = {}): NodeChild {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#children.push(child);
    const lines: ChildLine[] = [];
    let waiters: { pred: (l: ChildLine) => boolean; resolve: (l: ChildLine) => void }[] = [];
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err += d));
    createInterface({ input: child.stdout }).on('line', (text) => {
      let l: ChildLine;
      try {
        l = JSON.parse(text) as ChildLine;
      } catch {
        return;
      }
      lines.push(l);
      waiters = waiters.filter((w) => {
        if (!w.pred(l)) return true;
        w.resolve(l);
        return false;
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return {
      process: child,
      lines,
      exited,
      stderr: () => err,
      line: (pred, timeoutMs = 20000) => {
        const past = lines.find(pred);
        if (past !== undefined) return Promise.resolve(past);
        return new Promise<ChildLine>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no such line from the child; lines ${JSON.stringify(lines)}; stderr ${err}`)), timeoutMs);
          const w = {
            pred,
            resolve: (l: ChildLine) => {
              clearTimeout(timer);
              resolve(l);
            },
          };
          waiters.push(w);
          void exited.then((code) => {
            // the child may print its last line and exit in one go: give the line reader its turn
            setImmediate(() => {
              if (!waiters.includes(w)) return;
              clearTimeout(timer);
              reject(new Error(`child exited (${code}) first; lines ${JSON.stringify(lines)}; stderr ${err}`));
            });
          });
        });
      },
    };
  }

  /** Kills the children and deletes the namespaces (and with them their veths). Idempotent. */
  async cleanup(): Promise<void> {
    const exits = this.#children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill('SIGKILL');
      }));
    await Promise.all(exits);
    this.cleanupSync();
  }

  /** Synchronous part of cleanup (also the exit hook). */
  cleanupSync(): void {
    for (const c of this.#children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.#children.length = 0;
    for (const ns of this.namespaces.splice(0)) run('ip', ['netns', 'del', ns]);
    live.delete(this);
  }
}
