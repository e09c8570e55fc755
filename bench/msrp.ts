/**
 * MSRP through a context: throughput of the aware relay against the agnostic TLS relay, and heap
 * per idle MSRP session.
 *
 *   node --expose-gc --import tsx bench/msrp.ts [--mb 64] [--runs 3] [--sessions 200]
 *
 * The gateway (MediaGateway + CommandExecutor + TcpPlane with the MSRP stage and a TLS engine) runs
 * on the main thread; the two MSRP endpoints (test/unit/bearer/msrp/endpoint.ts) run in a worker
 * thread, so their TLS and parsing do not share the gateway's event loop or heap:
 *
 *   Alice --TLS--> [access | trgwd | core] --TCP--> Bob
 *
 * Modes (same bytes: Alice sends one message of --mb MB in chunks, Bob answers each chunk 200):
 *   agnostic-tls   access TCP/TLS ↔ core TCP: TLS terminated, bytes relayed untouched (baseline)
 *   aware          access TCP/TLS/MSRP ↔ core TCP/MSRP: TLS terminated, MSRP parsed and rewritten
 * with 1 KiB and 64 KiB chunks. MB/s = message bytes / time from the first byte sent to the last
 * 200 received. Each figure is the best of --runs.
 *
 * Then --sessions sessions of each mode are set up, one small message crosses each, and the
 * gateway's heap growth per idle session is reported (after GC when --expose-gc is given).
 *
 * JSON lines on stdout:
 *   {"bench":"msrp","kind":"env",...}
 *   {"bench":"msrp","mode":"agnostic-tls"|"aware","chunk":1024|65536,"mb":...,"mb_per_s":...}
 *   {"bench":"msrp","kind":"ratio","chunk":...,"aware_mb_per_s":...,"agnostic_mb_per_s":...,"ratio":...}  (target >= 0.5)
 *   {"bench":"msrp","kind":"idle","mode":...,"sessions":N,"heap_bytes_per_session":...}  (aware target < 65536;
 *    the agnostic-tls figure shows what the TCP and TLS legs alone take)
 */
import { once } from 'node:events';
import { cpus } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Setup {
  readonly mode: 'agnostic-tls' | 'aware';
  readonly accessPort: number;
  readonly gwA: string;
  readonly gwB: string;
  readonly pin: string;
}

// ------------------------------------------------------------------------------------------ worker

async function worker(): Promise<void> {
  const { connect: tcpConnect, createServer } = await import('node:net');
  const ep = await import('../test/unit/bearer/msrp/endpoint.js');
  const port = parentPort!;
  const alice = ep.peerIdentity();
  type Msg = { op: string; [k: string]: unknown };
  const servers: import('node:net').Server[] = [];
  const pairs: { a: InstanceType<typeof ep.MsrpEndpoint>; b: InstanceType<typeof ep.MsrpEndpoint> }[] = [];
  let pendingBob: Promise<import('node:net').Socket> | undefined;
  port.postMessage({ op: 'identity', fingerprint: alice.fingerprint });
  port.on('message', (m: Msg) => {
    void (async () => {
      if (m.op === 'listen') {
        // Bob listens; the gateway's core leg connects to him
        const server = createServer();
        servers.push(server);
        pendingBob = new Promise((resolve) => server.once('connection', (s) => resolve(s)));
        server.listen(0, '127.0.0.1');
        await once(server, 'listening');
        port.postMessage({ op: 'listening', port: (server.address() as { port: number }).port });
      } else if (m.op === 'connect') {
        const s = m.setup as Setup;
        // the gateway binds its listener just after the reply: retry while refused
        let sock: Awaited<ReturnType<typeof ep.tlsConnect>> | undefined;
        for (let i = 0; sock === undefined; i++) {
          try {
            sock = await ep.tlsConnect(s.accessPort, alice.identity, s.pin);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || i > 200) throw e;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
        const bobSock = await pendingBob!;
        servers.pop()!.close();
        const aUri = 'msrps://127.0.0.1:9/alice;tcp';
        const bUri = `msrp://127.0.0.1:${(bobSock.address() as { port: number }).port}/bob;tcp`;
        const aware = s.mode === 'aware';
        const a = new ep.MsrpEndpoint(sock, aUri, [aware ? s.gwA : bUri], { reports: false });
        const b = new ep.MsrpEndpoint(bobSock, bUri, [aware ? s.gwB : aUri], { reports: false });
        pairs.push({ a, b });
        port.postMessage({ op: 'connected', index: pairs.length - 1 });
      } else if (m.op === 'run') {
        const { index, bytes, chunk } = m as unknown as { index: number; bytes: number; chunk: number };
        const { a, b } = pairs[index]!;
        const body = ep.pattern(0, chunk);
        const id = `m${Date.now()}${Math.random()}`;
        const t0 = performance.now();
        await a.sendMessage((_off, n) => (n === chunk ? body : body.subarray(0, n)), bytes, chunk, { messageId: id });
        const ms = performance.now() - t0;
        const got = b.messages.get(id);
        port.postMessage({ op: 'ran', ms, received: got?.bytes ?? 0, errors: [...a.errors, ...b.errors] });
        b.messages.delete(id);
      } else if (m.op === 'close') {
        for (const p of pairs) {
          p.a.socket.destroy();
          p.b.socket.destroy();
        }
        pairs.length = 0;
        port.postMessage({ op: 'closed' });
      }
    })().catch((e: unknown) => port.postMessage({ op: 'error', message: String(e) }));
  });
  void tcpConnect;
}

// -------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const MB = Number(argValue('--mb') ?? 64);
  const RUNS = Number(argValue('--runs') ?? 3);
  const SESSIONS = Number(argValue('--sessions') ?? 200);
  const { MsrpAware } = await import('../daemon/bearer/msrp/stage.js');
  const { TlsMedia, TLS_DEFAULTS } = await import('../daemon/tls/index.js');
  const { tcpHarness, tcpLocal, tcpRemote, addContext } = await import('../test/integration/tcp-harness.js');
  const { audit, commands, harness, localOf } = await import('../test/unit/control/commands/harness.js');
  const { TcpPlane, tlsEngineOf } = await import('../daemon/bearer/tcp/index.js');
  const emit = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ bench: 'msrp', ...o })}\n`);
  const gc = (globalThis as { gc?: () => void }).gc;
  emit({ kind: 'env', node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, mb: MB, runs: RUNS, gc: gc !== undefined });

  // the worker loads this file through tsx's loader (execArgv --import does not reach a worker's entry)
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const w = new Worker(boot, { eval: true, workerData: { role: 'peers' } });
  const replies: { op: string; [k: string]: unknown }[] = [];
  const waiters: ((m: { op: string; [k: string]: unknown }) => void)[] = [];
  w.on('message', (m: { op: string; [k: string]: unknown }) => {
    if (m.op === 'error') {
      process.stderr.write(`worker: ${String(m.message)}\n`);
      process.exit(1);
    }
    const f = waiters.shift();
    if (f !== undefined) f(m);
    else replies.push(m);
  });
  const next = (): Promise<{ op: string; [k: string]: unknown }> =>
    replies.length > 0 ? Promise.resolve(replies.shift()!) : new Promise((r) => waiters.push(r));
  const ask = async (m: Record<string, unknown>): Promise<{ op: string; [k: string]: unknown }> => {
    w.postMessage(m);
    return next();
  };
  const identity = await next();
  const aliceFp = String(identity.fingerprint);

  const msrp = new MsrpAware();
  const tls = tlsEngineOf(new TlsMedia({ ...TLS_DEFAULTS }));
  const h = tcpHarness(24000, { closeGraceMs: 200, bufferBytes: 1 << 20, highWaterMark: 1 << 20 }, { stages: msrp.stages, tls });

  const session = (mode: Setup['mode']): Promise<number> => sessionOn(h, mode);

  const best = new Map<string, number>();
  for (const chunk of [1024, 65536]) {
    for (const mode of ['agnostic-tls', 'aware'] as const) {
      const index = await session(mode);
      // warm-up
      await ask({ op: 'run', index, bytes: 4 << 20, chunk });
      let top = 0;
      for (let i = 0; i < RUNS; i++) {
        const res = await ask({ op: 'run', index, bytes: MB * 1e6, chunk });
        if ((res.errors as string[]).length > 0 || Number(res.received) !== MB * 1e6) throw new Error(`${mode}: ${JSON.stringify(res)}`);
        top = Math.max(top, (MB * 1e6) / 1e6 / (Number(res.ms) / 1000));
        process.stderr.write(`${mode} ${chunk}: ${((MB * 1e6) / 1e6 / (Number(res.ms) / 1000)).toFixed(1)} MB/s\n`);
      }
      best.set(`${mode}/${chunk}`, top);
      emit({ mode, chunk, mb: MB, mb_per_s: Math.round(top * 10) / 10 });
    }
    const aw = best.get(`aware/${chunk}`)!;
    const ag = best.get(`agnostic-tls/${chunk}`)!;
    emit({ kind: 'ratio', chunk, aware_mb_per_s: Math.round(aw * 10) / 10, agnostic_mb_per_s: Math.round(ag * 10) / 10, ratio: Math.round((aw / ag) * 100) / 100 });
  }
  await ask({ op: 'close' });
  await h.close();

  // heap per idle aware session
  // realms wide enough for --sessions (two TCP ports per session)
  // realm ports below the ephemeral range (32768+), where client sockets cannot take them
  const h2 = harness(24200, {
    realms: {
      access: { address: '127.0.0.1', ports: [24200, 24200 + 2 * SESSIONS + 50] },
      core: { address: '127.0.0.1', ports: [28000, 28000 + 2 * SESSIONS + 50] },
    },
    maxContexts: 2 * SESSIONS + 10,
    // a TLS engine of its own: closing the first harness closed the first one
    media: [new TcpPlane({ settings: { closeGraceMs: 200 }, stages: msrp.stages, tls: tlsEngineOf(new TlsMedia({ ...TLS_DEFAULTS })) })],
  });
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
    return process.memoryUsage().heapUsed;
  };
  // per mode: one session first, so code paths are warm (JIT, caches) before the baseline
  for (const mode of ['agnostic-tls', 'aware'] as const) {
    const warm = await sessionOn(h2, mode);
    await ask({ op: 'run', index: warm, bytes: 2048, chunk: 1024 });
    const before = await settle();
    for (let i = 0; i < SESSIONS; i++) {
      const index = await sessionOn(h2, mode);
      await ask({ op: 'run', index, bytes: 2048, chunk: 1024 });
    }
    const after = await settle();
    emit({ kind: 'idle', mode, sessions: SESSIONS, heap_bytes_per_session: Math.round((after - before) / SESSIONS) });
  }
  await ask({ op: 'close' });
  await h2.close();
  msrp.close();
  await w.terminate();

  async function sessionOn(hh: typeof h2, mode: Setup['mode']): Promise<number> {
    const bob = Number((await ask({ op: 'listen' })).port);
    const aware = mode === 'aware';
    const accessProto = aware ? 'TCP/TLS/MSRP' : 'TCP/TLS';
    const coreProto = aware ? 'TCP/MSRP' : 'TCP';
    const path = aware ? 'a=path:$\n' : '';
    const added = await addContext(
      hh,
      {
        realm: 'access',
        local: tcpLocal('passive', accessProto, `${path}a=fingerprint:SHA-256 $\n`),
        remote: tcpRemote(9, 'active', '127.0.0.1', accessProto, `${aware ? 'a=path:msrps://127.0.0.1:9/alice;tcp\n' : ''}a=fingerprint:SHA-256 ${aliceFp}\n`),
        events: false,
      },
      { realm: 'core', local: tcpLocal('active', coreProto, path), remote: tcpRemote(bob, 'passive', '127.0.0.1', coreProto, aware ? `a=path:msrp://127.0.0.1:${bob}/bob;tcp\n` : ''), events: false },
    );
    const r = await hh.tx(`Context = ${added.ctx} { AuditValue = ${added.ids[0]} { Audit { Media } }, AuditValue = ${added.ids[1]} { Audit { Media } } }`);
    const la = localOf(audit(commands(r)[0])) ?? '';
    const lb = localOf(audit(commands(r)[1])) ?? '';
    const setup: Setup = {
      mode,
      accessPort: added.ports[0]!,
      gwA: /a=path:(\S+)/.exec(la)?.[1] ?? '',
      gwB: /a=path:(\S+)/.exec(lb)?.[1] ?? '',
      pin: /a=fingerprint:SHA-256 (\S+)/.exec(la)![1]!,
    };
    return Number((await ask({ op: 'connect', setup })).index);
  }
}

if (isMainThread) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else if ((workerData as { role?: string } | undefined)?.role === 'peers') {
  void worker();
}
