/** Process figures from /proc (Linux): CPU time, memory, descriptors, limits. */
import { readdirSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { cpus } from 'node:os';

const CLK_TCK = 100; // USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux

/** CPU seconds (user + system, all threads) the process used so far; NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
}

/** Open file descriptors. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Child processes of a process (/proc/<pid>/task/<tid>/children of every thread); [] when it is gone. */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/))
        if (c !== '') out.add(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...out].sort((x, y) => x - y);
}

/** Soft and hard RLIMIT_NOFILE of a process ('self' for ours). */
export function nofile(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const text = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const n = (s: string | undefined) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/** A UDP port free on 127.0.0.1 right now (bound, then closed: a small race, fine for benches). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  const port = await new Promise<number>((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: '127.0.0.1', port: 0 }, () => resolve(s.address().port));
  });
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export const MiB = 1024 * 1024;

/** Busy and total jiffies of the host, all cores (/proc/stat "cpu" line: busy = total - idle - iowait). */
export function hostJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
}

/**
 * Waits until the whole host uses fewer than `maxCores` cores over a `windowMs` window (our own idle
 * processes included), or `timeoutMs` passed. Returns the cores used in the last window and the ms
 * waited. On a shared machine, measuring while something else runs says little.
 */
export async function waitForQuiet(
  maxCores: number,
  timeoutMs: number,
  windowMs = 500,
): Promise<{ cores: number; waitedMs: number }> {
  const t0 = Date.now();
  for (;;) {
    const a = hostJiffies();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const b = hostJiffies();
    const cores = b.total > a.total ? ((b.busy - a.busy) / (b.total - a.total)) * cpus().length : 0;
    if (cores < maxCores || Date.now() - t0 >= timeoutMs) return { cores, waitedMs: Date.now() - t0 };
  }
}
