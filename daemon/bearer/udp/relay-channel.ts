/**
 * How the main thread and a relay worker (forwarder-worker.ts) reach each other, and how they share
 * counters: the one place where worker threads and worker processes (`media.workerMode`) differ.
 *
 *   thread   a worker_threads Worker; batches by postMessage; counters in SharedArrayBuffers
 *            (sent as such: the worker sees the same memory).
 *   process  a child_process.fork of forwarder-worker (IPC, serialization 'advanced', so Maps and
 *            typed arrays cross as they do between threads); counters in shared memory blocks of the
 *            native addon (memfd + mmap, tls/shm/binding.ts), sent as { pid, fd, bytes }: the child
 *            maps /proc/<pid>/fd/<fd>. Each process has its own descriptor table and RLIMIT_NOFILE,
 *            so N workers can hold N times the sockets one process may. The init goes as the first
 *            message (a child has no workerData). A worker process exits when its parent goes away
 *            (the IPC channel disconnects), so it is never left behind, even after a SIGKILL of the
 *            gateway.
 *
 * ShardedForwarder (worker-forwarder.ts) sees a RelayWorkerChannel and SharedBlocks; the worker sees
 * a ParentChannel (connectToParent) and maps what it is sent with mapShared.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { createShm, openShm, type ShmRef } from '../../tls/shm/binding.js';
import type { FromWorker, ToWorker, WorkerInit } from './forwarder-worker.js';

export type RelayWorkerMode = 'thread' | 'process';

/** Shared counters as sent to a worker: the buffer itself (thread), or where to map it (process). */
export type SharedRef = SharedArrayBuffer | ShmRef;

/** The argument that marks a process as a relay worker (also what `ps` shows of it). */
export const RELAY_WORKER_ARG = '--trgwd-relay-worker';

/** A block of doubles shared with the workers, as the main thread holds it. */
export interface SharedBlock {
  readonly view: Float64Array;
  /** What a worker needs to see the same memory (goes in `chunk` / the init). */
  readonly ref: SharedRef;
}

/** A zero-filled shared block of `bytes` for workers of this mode. Throws ShmError (process mode). */
export function sharedBlock(mode: RelayWorkerMode, bytes: number): SharedBlock {
  if (mode === 'thread') {
    const sab = new SharedArrayBuffer(bytes);
    return { view: new Float64Array(sab), ref: sab };
  }
  // the view holds the ArrayBuffer, which holds the mapping and the memfd the workers open
  const m = createShm(bytes);
  return { view: new Float64Array(m.buffer), ref: m.ref };
}

/** The worker's side of a SharedRef: the same memory as the main thread's view. */
export function mapShared(ref: SharedRef): Float64Array {
  return new Float64Array(ref instanceof SharedArrayBuffer ? ref : openShm(ref));
}

/** One relay worker as the main thread sees it: a worker thread or a child process. */
export interface RelayWorkerChannel {
  /** Process id of a worker process; undefined for a thread. */
  readonly pid: number | undefined;
  /** One batch of messages, in order. Nothing happens once the worker is gone. */
  post(batch: readonly ToWorker[]): void;
  onMessage(fn: (batch: readonly FromWorker[]) => void): void;
  /** The worker failed (an uncaught exception in a thread; a process that could not start or be reached). */
  onError(fn: (e: Error) => void): void;
  /** Once, when the worker is gone: its exit code, or the signal that ended a process. */
  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void;
  /** Ends the worker at once (terminate, SIGKILL). The orderly way is a `close` message. */
  stop(): void;
}

class ThreadChannel implements RelayWorkerChannel {
  readonly pid = undefined;
  readonly #worker: Worker;

  constructor(init: WorkerInit) {
    const self = import.meta.url;
    if (self.endsWith('.ts')) {
      // running from source (tests, `npm run dev`): a worker does not inherit the tsx loader
      const entry = new URL('./forwarder-worker.ts', self).href;
      const tsx = import.meta.resolve('tsx/esm/api');
      const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
      this.#worker = new Worker(code, { eval: true, workerData: init });
    } else {
      this.#worker = new Worker(new URL('./forwarder-worker.js', self), { workerData: init });
    }
  }

  post(batch: readonly ToWorker[]): void {
    this.#worker.postMessage(batch);
  }

  onMessage(fn: (batch: readonly FromWorker[]) => void): void {
    this.#worker.on('message', fn);
  }

  onError(fn: (e: Error) => void): void {
    this.#worker.on('error', fn);
  }

  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.#worker.once('exit', (code) => fn(code, null));
  }

  stop(): void {
    void this.#worker.terminate();
  }
}

class ProcessChannel implements RelayWorkerChannel {
  readonly #child: ChildProcess;
  #exited = false;
  readonly #exitFns: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];
  readonly #errorFns: ((e: Error) => void)[] = [];

  constructor(init: WorkerInit, index: number) {
    const self = import.meta.url;
    const ts = self.endsWith('.ts');
    const entry = fileURLToPath(new URL(ts ? './forwarder-worker.ts' : './forwarder-worker.js', self));
    // Only what the worker needs: not the parent's --inspect, --test or loader flags. From source
    // (tests, `npm run dev`) the child loads TypeScript through tsx, as the worker threads do.
    const execArgv = ts ? ['--import', import.meta.resolve('tsx')] : [];
    this.#child = fork(entry, [RELAY_WORKER_ARG, String(index)], {
      execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.once('exit', (code, signal) => this.#exit(code, signal));
    this.#child.on('error', (e) => {
      for (const fn of this.#errorFns) fn(e);
      // a process that could not be started never exits
      if (this.#child.pid === undefined) this.#exit(null, null);
    });
    // the init first (a child has no workerData); IPC keeps the order of what follows
    this.#child.send(init);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  #exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#exited) return;
    this.#exited = true;
    for (const fn of this.#exitFns) fn(code, signal);
  }

  post(batch: readonly ToWorker[]): void {
    if (this.#exited || !this.#child.connected) return;
    // a send that fails because the child just died is not an error of its own: 'exit' tells
    this.#child.send(batch, (e) => {
      if (e !== null && e !== undefined && this.#child.connected) for (const fn of this.#errorFns) fn(e);
    });
  }

  onMessage(fn: (batch: readonly FromWorker[]) => void): void {
    this.#child.on('message', fn as (m: unknown) => void);
  }

  onError(fn: (e: Error) => void): void {
    this.#errorFns.push(fn);
  }

  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.#exitFns.push(fn);
  }

  stop(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}

/** Starts relay worker `index` on forwarder-worker, as a thread or as a child process. */
export function startRelayWorker(mode: RelayWorkerMode, init: WorkerInit, index: number): RelayWorkerChannel {
  return mode === 'process' ? new ProcessChannel(init, index) : new ThreadChannel(init);
}

/** The worker's way to the main thread. */
export interface ParentChannel {
  post(batch: readonly FromWorker[]): void;
  onMessage(fn: (batch: readonly ToWorker[]) => void): void;
  /** After `close`: a thread closes its port (and ends), a process disconnects (and exits). */
  close(): void;
}

/**
 * Runs `start` in a relay worker with its init and its channel to the main thread: from workerData
 * and parentPort in a thread, from the first IPC message in a worker process (which exits when its
 * parent goes away). Does nothing in any other thread or process.
 */
export function connectToParent(start: (init: WorkerInit, parent: ParentChannel) => void): void {
  const port = parentPort;
  if (port !== null) {
    start(workerData as WorkerInit, {
      post: (batch) => port.postMessage(batch),
      onMessage: (fn) => port.on('message', fn),
      close: () => port.close(),
    });
    return;
  }
  const send = process.send?.bind(process);
  if (send === undefined || !process.argv.includes(RELAY_WORKER_ARG)) return;
  // the gateway is gone (it closed us, exited or was killed): so are its streams
  process.on('disconnect', () => process.exit(0));
  let handler: ((batch: readonly ToWorker[]) => void) | undefined;
  const early: (readonly ToWorker[])[] = [];
  let started = false;
  process.on('message', (m: unknown) => {
    if (!started) {
      started = true;
      start(m as WorkerInit, {
        post: (batch) => {
          if (process.connected) send(batch);
        },
        onMessage: (fn) => {
          handler = fn;
          for (const b of early.splice(0)) fn(b);
        },
        close: () => {
          if (process.connected) process.disconnect();
        },
      });
      return;
    }
    if (handler !== undefined) handler(m as readonly ToWorker[]);
    else early.push(m as readonly ToWorker[]);
  });
}
