/**
 * TCP bearer relay (daemon/bearer/tcp/): throughput of a context against a direct transfer of the
 * same bytes in the same run, TLS termination against openssl, and TLS leg setup rate.
 *
 *   npx tsx bench/tcp.ts [--mb 1024] [--tls-mb 512] [--conns 200] [--runs 2] [--no-tls] [--hwm bytes]
 *
 * The gateway (MediaGateway + CommandExecutor + TcpPlane, driven with H.248 text) runs in this
 * process; the peers run in a child process (sender and sink), so on a 2-core machine the relay has
 * a core of its own, as the direct transfer's two ends share one.
 *
 *   plain:     sender → sink directly; sender → the smallest Node relay (data/write/pause/drain,
 *              for reference: what Node itself does) → sink; sender → access leg (passive) → core
 *              leg (active) → sink
 *   tls:       `openssl s_client` sending to `openssl s_server` directly (bytes counted from
 *              s_server's stdout), then the same s_client → TCP/TLS access leg (the gateway is the
 *              TLS server, pinned) → plain core leg → sink
 *   tls_setup: --conns contexts with a TCP/TLS access leg; TLS clients (node:tls, 16 at a time)
 *              connect and finish their handshake; connections/s
 *
 * JSON lines on stdout (progress on stderr):
 *   {"bench":"tcp","kind":"plain","path":"direct"|"node-pipe"|"relay","bytes":N,"ms":...,"mb_per_s":...}
 *   {"bench":"tcp","kind":"tls","path":"openssl"|"relay","bytes":N,"ms":...,"mb_per_s":...}
 *   {"bench":"tcp","kind":"ratio","what":"plain"|"tls","relay_mb_per_s":...,"direct_mb_per_s":...,"ratio":...}
 *   (best of --runs each; the plain line also has node_pipe_mb_per_s)
 *   {"bench":"tcp","kind":"tls_setup","conns":N,"ms":...,"conns_per_s":...}
 * Targets: plain relay >= 1000 MB/s on loopback; TLS-to-TCP relay >= 0.5 x openssl direct.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { TlsMedia, TLS_DEFAULTS, LocalIdentity } from '../daemon/tls/index.js';
import { tlsEngineOf } from '../daemon/bearer/tcp/index.js';
import { audit, commands, localOf } from '../test/unit/control/commands/harness.js';
import { addContext, tcpHarness, tcpLocal, tcpRemote, LO } from '../test/integration/tcp-harness.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const MB = Number(argValue('--mb') ?? 1024);
const TLS_MB = Number(argValue('--tls-mb') ?? 512);
const CONNS = Number(argValue('--conns') ?? 200);
const RUNS = Number(argValue('--runs') ?? 2);
const NO_TLS = process.argv.includes('--no-tls');
/** media.tcp.highWaterMark for the plain relay (default: the config default). */
const HWM = argValue('--hwm') !== undefined ? Number(argValue('--hwm')) : undefined;

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'tcp', ...o })}\n`);
}
function progress(s: string): void {
  process.stderr.write(`tcp bench: ${s}\n`);
}

/** The peers' process: a sink (counts bytes, reports when N arrived) and senders, driven by JSON lines. */
const PEER = `
import net from 'node:net';
import tls from 'node:tls';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const sink = net.createServer((s) => {
  let n = 0; const t0 = performance.now(); const want = Number(process.env.WANT);
  s.on('data', (d) => { n += d.length; if (n >= want) { out({ sunk: n, ms: performance.now() - t0 }); want; } });
  s.on('error', () => {});
});
sink.listen(0, '127.0.0.1', () => out({ sink: sink.address().port }));
const buf = Buffer.alloc(256 * 1024, 0x5a);
function send(sock, total) {
  let sent = 0;
  const pump = () => { while (sent < total) { sent += buf.length; if (!sock.write(buf)) { sock.once('drain', pump); return; } } sock.end(); };
  pump();
}
process.stdin.setEncoding('utf8');
let acc = '';
process.stdin.on('data', (d) => {
  acc += d; let i;
  while ((i = acc.indexOf('\\n')) >= 0) {
    const m = JSON.parse(acc.slice(0, i)); acc = acc.slice(i + 1);
    if (m.want !== undefined) { process.env.WANT = String(m.want); out({ ok: 'want' }); }
    if (m.send !== undefined) {
      const s = net.connect(m.port, '127.0.0.1', () => { const t0 = performance.now(); send(s, m.send); s.on('finish', () => out({ sent: m.send, ms: performance.now() - t0 })); });
      s.on('error', (e) => out({ error: String(e) }));
    }
    if (m.tls !== undefined) {
      // m.tls: how many handshakes, m.ports: one port per context, 16 at a time
      const ports = m.ports; let next = 0; let done = 0; const t0 = performance.now();
      const one = () => {
        if (next >= ports.length) return;
        const port = ports[next++];
        const c = tls.connect({ host: '127.0.0.1', port, cert: m.cert, key: m.key, rejectUnauthorized: false, checkServerIdentity: () => undefined });
        c.on('error', (e) => out({ error: String(e) }));
        c.once('secureConnect', () => { done++; c.destroy(); if (done === ports.length) out({ handshakes: done, ms: performance.now() - t0 }); else one(); });
      };
      for (let k = 0; k < 16; k++) one();
    }
    if (m.exit) process.exit(0);
  }
});
`;

class Peer {
  readonly child: ChildProcess;
  readonly #waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  constructor() {
    this.child = spawn(process.execPath, ['--input-type=module', '-e', PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (t) => {
      const l = JSON.parse(t) as Record<string, unknown>;
      if ('error' in l) progress(`peer: ${String(l.error)}`);
      const i = this.#waiters.findIndex((w) => w.pred(l));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(l);
    });
  }
  next(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }
  send(m: Record<string, unknown>): void {
    this.child.stdin!.write(`${JSON.stringify(m)}\n`);
  }
}

async function plainRun(peer: Peer, sinkPort: number, bytes: number, base: number): Promise<{ direct: number; naive: number; relay: number }> {
  peer.send({ want: bytes });
  await peer.next((l) => l.ok === 'want');
  let sunk = peer.next((l) => 'sunk' in l);
  const t0 = performance.now();
  peer.send({ send: bytes, port: sinkPort });
  await sunk;
  const directMs = performance.now() - t0;
  emit({ kind: 'plain', path: 'direct', bytes, ms: Math.round(directMs), mb_per_s: round(bytes / 1e6 / (directMs / 1000)) });

  // reference: the smallest Node relay (data → write, pause on a full write queue, resume on drain)
  const naive = createServer({ allowHalfOpen: true }, (a) => {
    const b = connect({ port: sinkPort, host: LO, allowHalfOpen: true });
    const pipe = (src: Socket, dst: Socket): void => {
      src.on('data', (d: Buffer) => {
        if (!dst.write(d)) src.pause();
      });
      dst.on('drain', () => src.resume());
      src.on('end', () => dst.end());
    };
    a.on('error', () => undefined);
    b.on('error', () => undefined);
    b.once('connect', () => {
      pipe(a, b);
      pipe(b, a);
    });
  });
  naive.listen(0, LO);
  await once(naive, 'listening');
  sunk = peer.next((l) => 'sunk' in l);
  const tn = performance.now();
  peer.send({ send: bytes, port: (naive.address() as { port: number }).port });
  await sunk;
  const naiveMs = performance.now() - tn;
  naive.close();
  emit({ kind: 'plain', path: 'node-pipe', bytes, ms: Math.round(naiveMs), mb_per_s: round(bytes / 1e6 / (naiveMs / 1000)) });

  const h = tcpHarness(base, { idleTimeoutMs: 0, ...(HWM !== undefined ? { highWaterMark: HWM } : {}) });
  try {
    const a = await addContext(
      h,
      { realm: 'access', local: tcpLocal('passive'), events: false },
      { realm: 'core', local: tcpLocal('active'), remote: tcpRemote(sinkPort, 'passive'), events: false },
    );
    await waitPort(a.ports[0]!);
    sunk = peer.next((l) => 'sunk' in l);
    const t1 = performance.now();
    peer.send({ send: bytes, port: a.ports[0] });
    await sunk;
    const relayMs = performance.now() - t1;
    emit({ kind: 'plain', path: 'relay', bytes, ms: Math.round(relayMs), mb_per_s: round(bytes / 1e6 / (relayMs / 1000)) });
    return { direct: bytes / 1e6 / (directMs / 1000), naive: bytes / 1e6 / (naiveMs / 1000), relay: bytes / 1e6 / (relayMs / 1000) };
  } finally {
    await h.close();
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, LO, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** `head -c N /dev/zero | openssl s_client ...`: resolves when it exits. */
function sClient(port: number, bytes: number, certFile: string, keyFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', `head -c ${bytes} /dev/zero | openssl s_client -connect 127.0.0.1:${port} -quiet -no_ign_eof -cert ${certFile} -key ${keyFile} 2>/dev/null >/dev/null`]);
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`s_client exited ${code}`))));
  });
}

async function tlsRun(peer: Peer, sinkPort: number, bytes: number, base: number, dir: string): Promise<{ direct: number; relay: number }> {
  const ue = LocalIdentity.generate({ days: 1 });
  const server = LocalIdentity.generate({ days: 1 });
  const files = { ueCert: join(dir, 'ue.pem'), ueKey: join(dir, 'ue.key'), srvCert: join(dir, 's.pem'), srvKey: join(dir, 's.key') };
  writeFileSync(files.ueCert, ue.certPem);
  writeFileSync(files.ueKey, ue.keyPem);
  writeFileSync(files.srvCert, server.certPem);
  writeFileSync(files.srvKey, server.keyPem);

  // direct: openssl to openssl, bytes counted on s_server's stdout
  const port = await freePort();
  const srv = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', files.srvCert, '-key', files.srvKey, '-quiet', '-naccept', '1'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let got = 0;
  const all = new Promise<void>((resolve) => {
    srv.stdout!.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) resolve();
    });
  });
  await waitPort(port);
  const t0 = performance.now();
  await Promise.all([sClient(port, bytes, files.ueCert, files.ueKey), all]);
  const directMs = performance.now() - t0;
  srv.kill();
  emit({ kind: 'tls', path: 'openssl', bytes, ms: Math.round(directMs), mb_per_s: round(bytes / 1e6 / (directMs / 1000)) });

  // relay: the same s_client → TCP/TLS access leg → plain core leg → sink
  const media = new TlsMedia({ ...TLS_DEFAULTS });
  const h = tcpHarness(base, { idleTimeoutMs: 0 }, { tls: tlsEngineOf(media) });
  try {
    const r = await h.tx(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access },
        Local { ${tcpLocal('passive', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} },
        Remote { ${tcpRemote(9, 'active', LO, 'TCP/TLS', `a=fingerprint:SHA-256 ${ue.fingerprint('sha-256')}\n`)} } } } },
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core },
        Local { ${tcpLocal('active')} }, Remote { ${tcpRemote(sinkPort, 'passive')} } } } } }`);
    const accessPort = Number(/m=application (\d+)/.exec(localOf(audit(commands(r)[0])) ?? '')![1]);
    peer.send({ want: bytes });
    await peer.next((l) => l.ok === 'want');
    await waitPort(accessPort);
    const sunk = peer.next((l) => 'sunk' in l);
    const t1 = performance.now();
    await Promise.all([sClient(accessPort, bytes, files.ueCert, files.ueKey), sunk]);
    const relayMs = performance.now() - t1;
    emit({ kind: 'tls', path: 'relay', bytes, ms: Math.round(relayMs), mb_per_s: round(bytes / 1e6 / (relayMs / 1000)) });
    return { direct: bytes / 1e6 / (directMs / 1000), relay: bytes / 1e6 / (relayMs / 1000) };
  } finally {
    await h.close();
  }
}

/** Waits for a listener by polling `ss` (no probe connection: a leg takes exactly one). */
async function waitPort(port: number): Promise<void> {
  for (;;) {
    const r = spawnSync('ss', ['-Htln', `sport = :${port}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() !== '') return;
    if (r.status !== 0) {
      // no ss: give the listener a moment
      await new Promise((res) => setTimeout(res, 200));
      return;
    }
    await new Promise((res) => setTimeout(res, 10));
  }
}

async function tlsSetup(peer: Peer, base: number): Promise<void> {
  const ue = LocalIdentity.generate({ days: 1 });
  const media = new TlsMedia({ ...TLS_DEFAULTS, maxConnections: CONNS + 16 });
  const h = tcpHarness(base, { idleTimeoutMs: 0, maxConnections: 2 * CONNS + 4 }, { tls: tlsEngineOf(media) }, {
    maxContexts: CONNS + 4,
    realms: { access: { address: LO, ports: [base, base + CONNS + 10] }, core: { address: LO, ports: [base + CONNS + 20, base + 2 * CONNS + 40] } },
  });
  try {
    const ports: number[] = [];
    for (let i = 0; i < CONNS; i++) {
      const r = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access },
        Local { ${tcpLocal('passive', 'TCP/TLS', 'a=fingerprint:SHA-256 $\n')} },
        Remote { ${tcpRemote(9, 'active', LO, 'TCP/TLS', `a=fingerprint:SHA-256 ${ue.fingerprint('sha-256')}\n`)} } } } } }`);
      ports.push(Number(/m=application (\d+)/.exec(localOf(audit(commands(r)[0])) ?? '')![1]));
    }
    await waitPort(ports[ports.length - 1]!);
    const done = peer.next((l) => 'handshakes' in l);
    peer.send({ tls: CONNS, ports, cert: ue.certPem, key: ue.keyPem });
    const r = await done;
    const ms = Number(r.ms);
    emit({ kind: 'tls_setup', conns: CONNS, ms: Math.round(ms), conns_per_s: round(CONNS / (ms / 1000)) });
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  emit({ kind: 'env', node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, mb: MB, tls_mb: TLS_MB, runs: RUNS });
  const peer = new Peer();
  const sinkPort = Number((await peer.next((l) => 'sink' in l)).sink);
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-bench-tcp-'));
  try {
    let best = { direct: 0, naive: 0, relay: 0 };
    for (let i = 0; i < RUNS; i++) {
      progress(`plain run ${i + 1}/${RUNS} (${MB} MB)`);
      const r = await plainRun(peer, sinkPort, MB * 1024 * 1024, 31000 + i * 10);
      best = { direct: Math.max(best.direct, r.direct), naive: Math.max(best.naive, r.naive), relay: Math.max(best.relay, r.relay) };
    }
    emit({
      kind: 'ratio',
      what: 'plain',
      relay_mb_per_s: round(best.relay),
      direct_mb_per_s: round(best.direct),
      node_pipe_mb_per_s: round(best.naive),
      ratio: Math.round((best.relay / best.direct) * 100) / 100,
    });
    const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
    if (!NO_TLS && haveOpenssl) {
      let bt = { direct: 0, relay: 0 };
      for (let i = 0; i < RUNS; i++) {
        progress(`tls run ${i + 1}/${RUNS} (${TLS_MB} MB)`);
        const r = await tlsRun(peer, sinkPort, TLS_MB * 1024 * 1024, 31200 + i * 10, dir);
        bt = { direct: Math.max(bt.direct, r.direct), relay: Math.max(bt.relay, r.relay) };
      }
      emit({ kind: 'ratio', what: 'tls', relay_mb_per_s: round(bt.relay), direct_mb_per_s: round(bt.direct), ratio: Math.round((bt.relay / bt.direct) * 100) / 100 });
      progress(`tls setup (${CONNS} connections)`);
      await tlsSetup(peer, 31400);
    } else if (!haveOpenssl) {
      progress('openssl not found: TLS figures skipped');
    }
  } finally {
    peer.send({ exit: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
