/**
 * TLS media (daemon/tls/) against `openssl s_client` and `openssl s_server` as independent TLS
 * peers: handshakes in both roles, fingerprint pins accepted and refused, resumption seen as
 * "Reused" by openssl (tickets and session ids), and secure renegotiation (RFC 5746) started by
 * either side without `-legacy_renegotiation`.
 *
 * A peer that changes its certificate on renegotiation cannot be made with plain s_server (its SNI
 * certificate switch keys on the server name, which a renegotiation repeats): that case runs against
 * a Node TLS peer in test/unit/tls/session.test.ts.
 *
 * Needs `openssl` on PATH: skips locally without it, fails under CI=true.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { LocalIdentity } from '../../daemon/tls/certificate.js';
import type { TlsSession } from '../../daemon/tls/session.js';
import { TLS_DEFAULTS, TlsMedia, type TlsVersion } from '../../daemon/tls/tls-media.js';
import type { TlsPeerPin } from '../../daemon/tls/types.js';
import { receive, record } from '../unit/tls/tls-helpers.js';
import { requireTool } from './tools.js';

const T = { timeout: 20000 };

/** One openssl process; its stdout and stderr collected, matched by waitFor(). */
class OpensslProc {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  readonly exited: Promise<number | null>;
  #waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(openssl: string, args: string[]) {
    this.child = spawn(openssl, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const onData = (d: Buffer): void => {
      this.out += d.toString('latin1');
      this.#check();
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.child.stdin.on('error', () => undefined);
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  /** Resolves when the output (from `from` on) matches. */
  waitFor(re: RegExp, from = 0): Promise<RegExpMatchArray> {
    return new Promise((resolve) => {
      this.#waiters.push({ re, from, resolve });
      this.#check();
    });
  }

  send(text: string): void {
    this.child.stdin.write(text);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      const m = this.out.slice(w.from).match(w.re);
      if (m === null) return true;
      w.resolve(m);
      return false;
    });
  }
}

describe('TLS media against openssl s_client / s_server', () => {
  let dir = '';
  let peerCert = '';
  let peerKey = '';
  let peerPin: TlsPeerPin;
  const ours = LocalIdentity.generate({ days: 1, commonName: 'trgwd-interop' });
  const procs: OpensslProc[] = [];
  const closers: (() => void)[] = [];
  let openssl: string | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trgwd-tls-openssl-'));
    peerCert = join(dir, 'peer.crt');
    peerKey = join(dir, 'peer.key');
  });

  after(() => {
    for (const p of procs) p.kill();
    for (const c of closers) c();
    rmSync(dir, { recursive: true, force: true });
  });

  /** openssl, and the peer's certificate made with it (once), or skip. */
  function setup(t: TestContext): string | undefined {
    openssl ??= requireTool(t, 'openssl', 'as the TLS peer');
    if (openssl === undefined) return undefined;
    if (peerPin === undefined) {
      const r = spawnSync(
        openssl,
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', peerKey, '-out', peerCert, '-days', '1', '-subj', '/CN=openssl-peer'],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      peerPin = { hash: 'sha-256', value: new X509Certificate(readFileSync(peerCert)).fingerprint256 };
    }
    return openssl;
  }

  function proc(args: string[]): OpensslProc {
    const p = new OpensslProc(openssl!, args);
    procs.push(p);
    return p;
  }

  function tlsMedia(version?: TlsVersion): TlsMedia {
    const m = new TlsMedia({ ...TLS_DEFAULTS, ...(version ? { maxVersion: version } : {}) }, { identity: ours });
    closers.push(() => void m.close());
    return m;
  }

  const versionArgs = (v: TlsVersion): string[] => [v === 'TLSv1.2' ? '-tls1_2' : '-tls1_3'];

  /** s_server on a free loopback port. */
  async function sServer(extra: string[]): Promise<{ p: OpensslProc; port: number }> {
    const p = proc(['s_server', '-accept', '127.0.0.1:0', '-cert', peerCert, '-key', peerKey, '-verify', '1', ...extra]);
    const m = await p.waitFor(/ACCEPT .*:(\d+)/);
    return { p, port: Number(m[1]) };
  }

  async function connectTo(m: TlsMedia, port: number, pins: TlsPeerPin[]): Promise<TlsSession> {
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(sock, 'connect');
    return m.secure(sock, { role: 'client', pins });
  }

  /** Our TLS server on a loopback port; each accepted connection becomes a session. */
  async function ourServer(m: TlsMedia, pins: () => TlsPeerPin[]): Promise<{ port: number; next: () => Promise<TlsSession> }> {
    const queue: TlsSession[] = [];
    const waiting: ((s: TlsSession) => void)[] = [];
    const listener = net.createServer({ allowHalfOpen: true }, (sock) => {
      const s = m.secure(sock, { role: 'server', pins: pins() });
      const w = waiting.shift();
      if (w) w(s);
      else queue.push(s);
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    closers.push(() => listener.close());
    return {
      port: (listener.address() as net.AddressInfo).port,
      next: () => {
        const s = queue.shift();
        return s ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
      },
    };
  }

  function sClient(port: number, extra: string[]): OpensslProc {
    return proc(['s_client', '-connect', `127.0.0.1:${port}`, '-cert', peerCert, '-key', peerKey, ...extra]);
  }

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: we are the client, s_server the server; pinned; data both ways; resumption seen as Reused`, T, async (t) => {
      if (setup(t) === undefined) return;
      const m = tlsMedia(version);
      const { p } = await sServer(versionArgs(version));
      const port = Number((await p.waitFor(/ACCEPT .*:(\d+)/))[1]);
      const c1 = await connectTo(m, port, [peerPin]);
      const r1 = record(c1);
      const e1 = await r1.established;
      assert.equal(e1.protocol, version);
      assert.equal(e1.resumed, false);
      assert.equal(e1.peerFingerprint, peerPin.value);
      c1.write('hello-from-trgwd\n');
      await p.waitFor(/hello-from-trgwd/);
      p.send('hello-from-openssl\n');
      await receive(c1, r1, 'hello-from-openssl');
      const mark = p.out.length;
      c1.close();
      await p.waitFor(/DONE|ERROR|CONNECTION CLOSED/, mark);
      // second connection: the session (ticket) cached under the pin is offered and accepted
      const mark2 = p.out.length;
      const c2 = await connectTo(m, port, [peerPin]);
      const e2 = await record(c2).established;
      assert.equal(e2.resumed, true);
      await p.waitFor(/Reused session-id/, mark2);
      c2.close();
    });

    it(`${version}: we are the server, s_client the client; pinned; resumption (-sess_out/-sess_in) seen as Reused`, T, async (t) => {
      if (setup(t) === undefined) return;
      const m = tlsMedia(version);
      const srv = await ourServer(m, () => [peerPin]);
      const sess = join(dir, `sess-${version}.pem`);
      for (const [i, args] of [['-sess_out', sess], ['-sess_in', sess]].entries()) {
        const cli = sClient(srv.port, [...versionArgs(version), ...args]);
        const s = await srv.next();
        const rs = record(s);
        const e = await rs.established;
        const line = await cli.waitFor(/^(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/m);
        assert.equal(line[1], i === 0 ? 'New' : 'Reused');
        assert.equal(line[2], version);
        assert.equal(e.resumed, i === 1);
        assert.equal(e.peerFingerprint, peerPin.value);
        // data both ways (and, in TLS 1.3, the tickets are in before s_client quits)
        s.write('ping-from-trgwd\n');
        await cli.waitFor(/ping-from-trgwd/);
        cli.send('pong-from-openssl\n');
        await receive(s, rs, 'pong-from-openssl');
        cli.send('Q\n');
        await cli.exited;
        s.close();
      }
    });
  }

  it('TLS 1.2 session ids (s_client -no_ticket): resumed from our server-side cache', T, async (t) => {
    if (setup(t) === undefined) return;
    const m = tlsMedia('TLSv1.2');
    const srv = await ourServer(m, () => [peerPin]);
    const sess = join(dir, 'sess-id.pem');
    for (const [i, args] of [['-sess_out', sess], ['-sess_in', sess]].entries()) {
      const cli = sClient(srv.port, ['-tls1_2', '-no_ticket', ...args]);
      const s = await srv.next();
      const e = await record(s).established;
      const line = await cli.waitFor(/^(New|Reused), TLSv1\.2/m);
      assert.equal(line[1], i === 0 ? 'New' : 'Reused');
      assert.equal(e.resumed, i === 1);
      // the session came back by id, not by ticket: s_client saw no ticket
      assert.ok(!/TLS session ticket:/.test(cli.out), 'no session ticket issued to a -no_ticket client');
      cli.send('Q\n');
      await cli.exited;
      s.close();
    }
  });

  it('pin refused, we are the client: tlsbsc/fail fingerprint, s_server sees the connection end, nothing delivered', T, async (t) => {
    if (setup(t) === undefined) return;
    const m = tlsMedia();
    const { p, port } = await sServer([]);
    const wrong: TlsPeerPin = { hash: 'sha-256', value: ours.fingerprint('sha-256') };
    const c = await connectTo(m, port, [wrong]);
    const rc = record(c);
    c.write('must-not-leave\n');
    p.send('must-not-arrive\n');
    const f = await rc.failed;
    assert.equal(f.reason, 'fingerprint');
    await p.waitFor(/DONE|ERROR|CONNECTION CLOSED/);
    assert.ok(!p.out.includes('must-not-leave'));
    assert.equal(rc.data(), '');
  });

  it('pin refused, we are the server: tlsbsc/fail fingerprint, s_client is closed, nothing delivered', T, async (t) => {
    if (setup(t) === undefined) return;
    const m = tlsMedia();
    const srv = await ourServer(m, () => [{ hash: 'sha-1', value: ours.fingerprint('sha-1') }]);
    const cli = sClient(srv.port, []);
    const s = await srv.next();
    const rs = record(s);
    s.write('must-not-leave\n');
    cli.send('must-not-arrive\n');
    const f = await rs.failed;
    assert.equal(f.reason, 'fingerprint');
    await cli.exited;
    assert.ok(!cli.out.includes('must-not-leave'));
    assert.equal(rs.data(), '');
  });

  it('secure renegotiation started by s_client (R) and by us, we are the server (TLS 1.2)', T, async (t) => {
    if (setup(t) === undefined) return;
    const m = tlsMedia('TLSv1.2');
    const srv = await ourServer(m, () => [peerPin]);
    const cli = sClient(srv.port, ['-tls1_2']);
    const s = await srv.next();
    const rs = record(s);
    await rs.established;
    await cli.waitFor(/Secure Renegotiation IS supported/);
    assert.ok(!cli.out.includes('-legacy_renegotiation'));
    const renegotiated = new Promise<void>((resolve) => s.once('renegotiated', () => resolve()));
    cli.send('R\n');
    await cli.waitFor(/RENEGOTIATING/);
    await renegotiated;
    cli.send('after-client-reneg\n');
    await receive(s, rs, 'after-client-reneg');
    await s.renegotiate();
    s.write('after-server-reneg\n');
    await cli.waitFor(/after-server-reneg/);
    assert.deepEqual(
      rs.events.filter((e) => !e.startsWith('renegotiated')),
      ['established'],
      'no failure on either renegotiation',
    );
    cli.send('Q\n');
    await cli.exited;
    s.close();
  });

  it('secure renegotiation started by s_server (R) and by us, we are the client (TLS 1.2)', T, async (t) => {
    if (setup(t) === undefined) return;
    const m = tlsMedia('TLSv1.2');
    // OpenSSL 3 servers refuse client-initiated renegotiation (no_renegotiation alert) unless told
    const { p, port } = await sServer(['-tls1_2', '-client_renegotiation']);
    const c = await connectTo(m, port, [peerPin]);
    const rc = record(c);
    await rc.established;
    await p.waitFor(/Secure Renegotiation IS supported/);
    const renegotiated = new Promise<void>((resolve) => c.once('renegotiated', () => resolve()));
    p.send('R\n');
    await renegotiated;
    p.send('after-server-reneg\n');
    await receive(c, rc, 'after-server-reneg');
    await c.renegotiate();
    c.write('after-client-reneg\n');
    await p.waitFor(/after-client-reneg/);
    assert.ok(!rc.events.some((e) => e.startsWith('failed')), rc.events.join());
    c.close();
  });
});
