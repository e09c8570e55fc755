/**
 * DTLS for UDPTL: handshakes per second with the gateway as server, and UDPTL datagrams per second
 * relayed through one association (fax → core and core → fax), over loopback UDP.
 *
 *   npx tsx bench/dtls.ts [--seconds 3] [--endpoints 16] [--payload 200] [--window 64] [--mtu 1200]
 *
 * The gateway side (this process: DtlsEngine endpoints in the server role, the core relay) and the
 * fax side (a child process: DTLS clients and the plain core peer) run on different cores, so the
 * figures are the gateway's. Handshakes: `--endpoints` gateway ports, each with one client that
 * connects, is established (ECDSA P-256 both ways, pins checked, cookie exchange), closes with
 * close_notify and connects again, for `--seconds`. Relay: one association; the child keeps at most
 * `--window` datagrams in flight (it sends and receives both ends, so it knows), for `--seconds` per
 * direction.
 *
 * JSON lines on stdout (progress on stderr):
 *   {"bench":"dtls","kind":"env",...}
 *   {"bench":"dtls","op":"handshake","role":"server","endpoints":16,"handshakes":N,"seconds":S,
 *    "per_s":...,"gateway_cpu_ms_per_handshake":...}
 *   {"bench":"dtls","op":"relay","direction":"fax_to_core"|"core_to_fax","payload":200,"datagrams":N,
 *    "seconds":S,"pps":...,"mbit_per_s":...,"gateway_cpu_us_per_datagram":...}
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { LocalIdentity } from '../daemon/tls/certificate.js';
import { DtlsEngine, type DtlsEndpoint } from '../daemon/tls/dtls/index.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const SECONDS = Number(argValue('--seconds') ?? 3);
const ENDPOINTS = Number(argValue('--endpoints') ?? 16);
const PAYLOAD = Number(argValue('--payload') ?? 200);
const WINDOW = Number(argValue('--window') ?? 64);
const MTU = Number(argValue('--mtu') ?? 1200);
const LO = '127.0.0.1';

interface Ident {
  certPem: string;
  keyPem: string;
}

/** Messages between the gateway (parent) and the fax side (child). */
type ToChild =
  | { t: 'handshakes'; ports: number[]; gw: Ident; fax: Ident; seconds: number }
  | {
      t: 'relay';
      port: number;
      corePort: number;
      gw: Ident;
      fax: Ident;
      seconds: number;
      payload: number;
      window: number;
    }
  | { t: 'exit' };
type ToParent =
  | { t: 'ready'; corePeer?: number }
  | { t: 'handshakes-done'; count: number }
  | {
      t: 'relay-phase';
      direction: 'fax_to_core' | 'core_to_fax';
      phase: 'start' | 'end';
      datagrams: number;
      seconds: number;
    };

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'dtls', ...o })}\n`);
}

async function bind(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, LO, r));
  return s;
}

function identityOf(i: Ident): LocalIdentity {
  return new LocalIdentity(i.certPem, i.keyPem, false);
}

// ---- the fax side (child process) --------------------------------------------------------------

async function child(): Promise<void> {
  const send = (m: ToParent): void => {
    process.send?.(m);
  };
  process.on('message', (m: ToChild) => {
    void (async () => {
      if (m.t === 'exit') process.exit(0);
      const gw = identityOf(m.gw);
      const fax = identityOf(m.fax);
      const engine = new DtlsEngine({
        identity: fax,
        config: { mtu: MTU, retransmitInitialMs: 200, maxHandshakes: 10000 },
      });
      const pins = [{ hash: 'sha-256' as const, value: gw.fingerprint('sha-256') }];
      if (m.t === 'handshakes') {
        let count = 0;
        let running = true;
        const loops = m.ports.map(async (port) => {
          const sock = await bind();
          let ep: DtlsEndpoint | undefined;
          sock.on('message', (b, ri) => ep?.receive(b, b.length, ri.address, ri.port));
          const next = (): void => {
            if (!running) return;
            const e: DtlsEndpoint = engine.endpoint(
              {
                send: (b, a, p) => sock.send(b, p, a),
                established: () => {
                  count++;
                  setImmediate(() => {
                    e.close();
                    next();
                  });
                },
                failed: () => setImmediate(next),
              },
              { role: 'client', pins },
            );
            ep = e;
            e.connect(LO, port);
          };
          next();
          return sock;
        });
        const socks = await Promise.all(loops);
        setTimeout(() => {
          running = false;
          send({ t: 'handshakes-done', count });
          for (const s of socks) s.close();
          engine.close();
        }, m.seconds * 1000);
        send({ t: 'ready' });
        return;
      }
      // relay: the fax's DTLS client and the plain core peer, both here
      const sock = await bind();
      const core = await bind();
      let toFax = 0;
      let toCore = 0;
      let pump: (() => void) | undefined;
      const ep = engine.endpoint(
        {
          send: (b, a, p) => sock.send(b, p, a),
          data: () => {
            toFax++;
            pump?.();
          },
          established: () => void run(),
        },
        { role: 'client', pins },
      );
      sock.on('message', (b, ri) => ep.receive(b, b.length, ri.address, ri.port));
      core.on('message', () => {
        toCore++;
        pump?.();
      });
      const payload = Buffer.alloc(m.payload, 0x5a);
      const phase = (direction: 'fax_to_core' | 'core_to_fax'): Promise<void> =>
        new Promise((resolve) => {
          const got = (): number => (direction === 'fax_to_core' ? toCore : toFax);
          const base = got();
          let sent = 0;
          let ending = false;
          const t0 = process.hrtime.bigint();
          send({ t: 'relay-phase', direction, phase: 'start', datagrams: 0, seconds: 0 });
          pump = () => {
            if (ending) return;
            // closed loop: at most `window` datagrams in flight through the gateway
            while (sent - (got() - base) < m.window) {
              if (direction === 'fax_to_core') ep.send(payload, payload.length);
              else core.send(payload, m.corePort, LO);
              sent++;
            }
          };
          // a lost datagram shrinks the window for good: refill it now and then
          const refill = setInterval(() => {
            if (sent - (got() - base) >= m.window) sent = got() - base;
            pump?.();
          }, 50);
          pump();
          setTimeout(() => {
            ending = true;
            clearInterval(refill);
            const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
            send({ t: 'relay-phase', direction, phase: 'end', datagrams: got() - base, seconds });
            resolve();
          }, m.seconds * 1000);
        });
      const run = async (): Promise<void> => {
        await phase('fax_to_core');
        await phase('core_to_fax');
        ep.close();
        engine.close();
        sock.close();
        core.close();
      };
      send({ t: 'ready', corePeer: core.address().port });
      ep.connect(LO, m.port);
    })();
  });
}

// ---- the gateway side (this process) -------------------------------------------------------------

function waitFor<T extends ToParent['t']>(
  c: ChildProcess,
  t: T,
  pred: (m: Extract<ToParent, { t: T }>) => boolean = () => true,
): Promise<Extract<ToParent, { t: T }>> {
  return new Promise((resolve) => {
    const on = (m: ToParent): void => {
      if (m.t === t && pred(m as Extract<ToParent, { t: T }>)) {
        c.off('message', on);
        resolve(m as Extract<ToParent, { t: T }>);
      }
    };
    c.on('message', on);
  });
}

async function parent(): Promise<void> {
  const gwId = LocalIdentity.generate({ days: 2 });
  const faxId = LocalIdentity.generate({ days: 2 });
  const ident = (i: LocalIdentity): Ident => ({ certPem: i.certPem, keyPem: i.keyPem });
  const engine = new DtlsEngine({
    identity: gwId,
    config: { mtu: MTU, maxHandshakes: 10000, maxHandshakesPerSource: 10000, retransmitInitialMs: 200 },
  });
  emit({
    kind: 'env',
    node: process.version,
    openssl: engine.native.opensslVersion,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    seconds: SECONDS,
    mtu: MTU,
  });
  const c = fork(fileURLToPath(import.meta.url), ['--child', ...process.argv.slice(2)], {
    execArgv: ['--import', 'tsx'],
  });
  const pins = [{ hash: 'sha-256' as const, value: faxId.fingerprint('sha-256') }];

  // handshakes
  process.stderr.write(`dtls: handshakes on ${ENDPOINTS} endpoints for ${SECONDS} s\n`);
  let established = 0;
  const socks: Socket[] = [];
  const eps: DtlsEndpoint[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    const s = await bind();
    const ep = engine.endpoint(
      { send: (b, a, p) => s.send(b, p, a), established: () => established++ },
      { role: 'server', pins },
    );
    s.on('message', (b, ri) => ep.receive(b, b.length, ri.address, ri.port));
    socks.push(s);
    eps.push(ep);
  }
  c.send({
    t: 'handshakes',
    ports: socks.map((s) => s.address().port),
    gw: ident(gwId),
    fax: ident(faxId),
    seconds: SECONDS,
  } satisfies ToChild);
  await waitFor(c, 'ready');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const done = await waitFor(c, 'handshakes-done');
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  emit({
    op: 'handshake',
    role: 'server',
    endpoints: ENDPOINTS,
    handshakes: established,
    client_count: done.count,
    seconds: Number(seconds.toFixed(3)),
    per_s: Math.round(established / seconds),
    gateway_cpu_ms_per_handshake: Number(
      ((cpu.user + cpu.system) / 1000 / Math.max(established, 1)).toFixed(3),
    ),
  });
  for (const ep of eps) ep.close();
  for (const s of socks) s.close();

  // relay through one association
  process.stderr.write(
    `dtls: relay, ${PAYLOAD}-octet datagrams, window ${WINDOW}, ${SECONDS} s per direction\n`,
  );
  const access = await bind();
  const core = await bind();
  let corePeer = 0;
  const ep = engine.endpoint(
    {
      send: (b, a, p) => access.send(b, p, a),
      data: (b, len) => core.send(b, 0, len, corePeer, LO),
    },
    { role: 'server', pins },
  );
  access.on('message', (b, ri) => ep.receive(b, b.length, ri.address, ri.port));
  core.on('message', (b) => ep.send(b, b.length));
  const ready = waitFor(c, 'ready');
  c.send({
    t: 'relay',
    port: access.address().port,
    corePort: core.address().port,
    gw: ident(gwId),
    fax: ident(faxId),
    seconds: SECONDS,
    payload: PAYLOAD,
    window: WINDOW,
  } satisfies ToChild);
  corePeer = (await ready).corePeer ?? 0;
  for (const direction of ['fax_to_core', 'core_to_fax'] as const) {
    await waitFor(c, 'relay-phase', (m) => m.direction === direction && m.phase === 'start');
    const c0 = process.cpuUsage();
    const end = await waitFor(c, 'relay-phase', (m) => m.direction === direction && m.phase === 'end');
    const u = process.cpuUsage(c0);
    emit({
      op: 'relay',
      direction,
      payload: PAYLOAD,
      datagrams: end.datagrams,
      seconds: Number(end.seconds.toFixed(3)),
      pps: Math.round(end.datagrams / end.seconds),
      mbit_per_s: Number(((end.datagrams * PAYLOAD * 8) / end.seconds / 1e6).toFixed(2)),
      gateway_cpu_us_per_datagram: Number(((u.user + u.system) / Math.max(end.datagrams, 1)).toFixed(2)),
    });
  }
  c.send({ t: 'exit' } satisfies ToChild);
  ep.close();
  access.close();
  core.close();
  engine.close();
}

if (process.argv.includes('--child')) await child();
else await parent();
