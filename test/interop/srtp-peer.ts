/**
 * The libsrtp2 reference peer (native/test/srtp_peer.c): build it with the system C compiler against
 * libsrtp2 into a temp dir, and run it over hex lines (runPeer), or as a UE on UDP sockets (UdpSrtpPeer).
 * Used by test/interop/srtp-libsrtp.test.ts, test/interop/srtp-e2ae-libsrtp.test.ts and bench/srtp.ts.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, type TestContext } from 'node:test';
import { nativeAvailable } from '../../daemon/tls/srtp/binding.js';
import { findTool, inCI } from './tools.js';

export const SRTP_PEER_SOURCE = fileURLToPath(new URL('../../native/test/srtp_peer.c', import.meta.url));

export interface BuiltPeer {
  path: string;
  /** Removes the temp dir. */
  cleanup(): void;
}

/** What is missing to build the peer (a message naming it), or undefined when all is there. */
export function srtpPeerPrerequisites(): string | undefined {
  for (const tool of ['cc', 'pkg-config']) {
    if (findTool(tool) === undefined) return `${tool} not found on PATH (needed to build the libsrtp2 peer)`;
  }
  const r = spawnSync('pkg-config', ['--exists', 'libsrtp2']);
  if (r.status !== 0) return 'pkg-config does not know libsrtp2 (install libsrtp2-dev)';
  return undefined;
}

/** cc -O2 -o <tmp>/srtp_peer native/test/srtp_peer.c $(pkg-config --cflags --libs libsrtp2) */
export function buildSrtpPeer(): BuiltPeer {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-srtp-peer-'));
  const path = join(dir, 'srtp_peer');
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libsrtp2'], { encoding: 'utf8' });
  if (flags.status !== 0) throw new Error(`pkg-config libsrtp2 failed: ${flags.stderr}`);
  const args = [
    '-O2',
    '-o',
    path,
    SRTP_PEER_SOURCE,
    ...flags.stdout
      .trim()
      .split(/\s+/)
      .filter((s) => s !== ''),
  ];
  const cc = spawnSync('cc', args, { encoding: 'utf8' });
  if (cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc ${args.join(' ')} failed:\n${cc.stderr}`);
  }
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PeerOptions {
  suite: string;
  /** master key || salt */
  key: Uint8Array;
  mki?: Uint8Array | undefined;
  ssrc?: number | undefined;
  roc?: number | undefined;
  unencryptedSrtp?: boolean;
  unencryptedSrtcp?: boolean;
  unauthenticatedSrtp?: boolean;
}

export function peerArgs(o: PeerOptions): string[] {
  const a = ['--suite', o.suite, '--key', Buffer.from(o.key).toString('hex')];
  if (o.mki !== undefined) a.push('--mki', Buffer.from(o.mki).toString('hex'));
  if (o.ssrc !== undefined) a.push('--ssrc', String(o.ssrc));
  if (o.roc !== undefined) a.push('--roc', String(o.roc));
  if (o.unencryptedSrtp === true) a.push('--unencrypted-srtp');
  if (o.unencryptedSrtcp === true) a.push('--unencrypted-srtcp');
  if (o.unauthenticatedSrtp === true) a.push('--unauthenticated-srtp');
  return a;
}

export type PeerPacket = { kind: 'rtp' | 'rtcp'; data: Uint8Array };

/** One output per input: the processed packet, or the libsrtp2 status number it failed with. */
export function runPeer(
  peer: string,
  mode: 'protect' | 'unprotect',
  o: PeerOptions,
  packets: readonly PeerPacket[],
): Array<Buffer | number> {
  const input = packets.map((p) => `${p.kind} ${Buffer.from(p.data).toString('hex')}\n`).join('');
  const r = spawnSync(peer, [...peerArgs(o), mode], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`srtp_peer ${mode} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== packets.length)
    throw new Error(`srtp_peer gave ${lines.length} lines for ${packets.length}`);
  return lines.map((l) => (l.startsWith('ERR ') ? Number(l.slice(4)) : Buffer.from(l, 'hex')));
}

// ---- UDP mode: the C program as the UE on the wire -------------------------------------------

export interface UdpPeerOptions extends PeerOptions {
  /** The key (master key || salt) and MKI it unprotects with; also settable later (rxKey()). */
  rxKey?: Uint8Array | undefined;
  rxMki?: Uint8Array | undefined;
  /** `A.B.C.D:PORT` to bind (default 127.0.0.1:0: an even ephemeral port, RTCP on the next). */
  bind?: string | undefined;
  /** RTCP on the RTP port (RFC 5761) instead of port + 1. */
  rtcpMux?: boolean | undefined;
}

/** One datagram the peer received: unprotected (`data`), or what it failed with (`error`). */
export interface UdpReceived {
  kind: 'rtp' | 'rtcp';
  /** Source port. */
  port: number;
  /** Length on the wire (SRTP/SRTCP). */
  wireLength: number;
  data?: Buffer;
  /** A libsrtp2 status number (7: auth_fail, 9: replay_fail, ...) or a word (no-key). */
  error?: string;
}

/** Lines of a child's stdout, handed out in order as they come. */
class Lines {
  readonly #queue: string[] = [];
  readonly #waiters: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  #end: Error | undefined;

  push(line: string): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(line);
    else this.#queue.push(line);
  }

  /** No more lines will come: pending and later next() fail with `e`. */
  end(e: Error): void {
    this.#end = e;
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  next(): Promise<string> {
    const l = this.#queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.#end !== undefined) return Promise.reject(this.#end);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
}

/**
 * `srtp_peer ... udp`: a UE speaking SRTP/SRTCP over UDP sockets of its own, driven over its stdin
 * (commands in native/test/srtp_peer.c). It answers each command with a line (recv: one per datagram);
 * the answer is awaited, so nothing here sleeps. Should the program exit, pending calls fail with its
 * stderr.
 */
export class UdpSrtpPeer {
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Lines;
  readonly #exited: Promise<number | null>;

  private constructor(
    child: ChildProcessWithoutNullStreams,
    lines: Lines,
    exited: Promise<number | null>,
    ports: number[],
  ) {
    this.#child = child;
    this.#lines = lines;
    this.#exited = exited;
    this.rtpPort = ports[0]!;
    this.rtcpPort = ports[1]!;
  }

  /** Spawns the peer and waits for the ports it bound. */
  static async start(path: string, o: UdpPeerOptions): Promise<UdpSrtpPeer> {
    const args = peerArgs(o);
    if (o.rxKey !== undefined) args.push('--rx-key', Buffer.from(o.rxKey).toString('hex'));
    if (o.rxMki !== undefined) args.push('--rx-mki', Buffer.from(o.rxMki).toString('hex'));
    args.push('udp', '--bind', o.bind ?? '127.0.0.1:0');
    if (o.rtcpMux === true) args.push('--rtcp-mux');
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = new Lines();
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => undefined); // EPIPE once it exited: the pending line says why
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (e) => {
        lines.end(e);
        resolve(null);
      });
      child.once('close', (code) => {
        lines.end(new Error(`srtp_peer exited (${code}): ${stderr.trim()}`));
        resolve(code);
      });
    });
    const first = await lines.next();
    const m = /^PORTS (\d+) (\d+)$/.exec(first);
    if (m === null) {
      child.kill();
      throw new Error(`srtp_peer udp: expected PORTS, got ${first}`);
    }
    return new UdpSrtpPeer(child, lines, exited, [Number(m[1]), Number(m[2])]);
  }

  async #command(line: string): Promise<string> {
    this.#child.stdin.write(`${line}\n`);
    return this.#lines.next();
  }

  async #ok(line: string): Promise<void> {
    const r = await this.#command(line);
    if (r !== 'OK') throw new Error(`srtp_peer: ${line.split(' ')[0]} answered ${r}`);
  }

  /** Where to send: RTP to `port`, RTCP to `rtcpPort` (default port + 1; the RTP port with mux). */
  to(address: string, port: number, rtcpPort?: number): Promise<void> {
    return this.#ok(`to ${address} ${port}${rtcpPort !== undefined ? ` ${rtcpPort}` : ''}`);
  }

  /** The key (master key || salt) and MKI to unprotect with from now on. */
  rxKey(key: Uint8Array, mki?: Uint8Array): Promise<void> {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    return this.#ok(`rx-key ${hex(key)}${mki !== undefined ? ` ${hex(mki)}` : ''}`);
  }

  /** Protects a plain packet and sends it; resolves with the length of the SRTP(C) packet sent. */
  async send(kind: 'rtp' | 'rtcp', plain: Uint8Array): Promise<number> {
    const r = await this.#command(`send ${kind} ${Buffer.from(plain).toString('hex')}`);
    const m = /^SENT (\d+)$/.exec(r);
    if (m === null) throw new Error(`srtp_peer: send ${kind} answered ${r}`);
    return Number(m[1]);
  }

  /**
   * The next `n` datagrams on its sockets (RTP and RTCP, in arrival order per socket), each
   * unprotected or with its error. Rejects, naming what did come, when `timeoutMs` runs out first.
   */
  async recv(n: number, timeoutMs = 5000): Promise<UdpReceived[]> {
    this.#child.stdin.write(`recv ${n} ${timeoutMs}\n`);
    const out: UdpReceived[] = [];
    while (out.length < n) {
      const l = await this.#lines.next();
      const m = /^(rtp|rtcp) (\d+) (\d+) (?:ERR (\S+)|([0-9a-f]*))$/.exec(l);
      if (m === null) {
        const got = out.map((r) => `${r.kind}${r.error !== undefined ? ` ERR ${r.error}` : ''}`).join(', ');
        throw new Error(`srtp_peer: recv ${n}: ${l} after [${got}]`);
      }
      const kind = m[1] as 'rtp' | 'rtcp';
      const r = { kind, port: Number(m[2]), wireLength: Number(m[3]) };
      out.push(m[4] !== undefined ? { ...r, error: m[4] } : { ...r, data: Buffer.from(m[5]!, 'hex') });
    }
    return out;
  }

  /** Ends the program (quit) and waits for it; SIGKILL when it does not go within `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.stdin.end('quit\n');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
      await this.#exited;
      clearTimeout(timer);
    }
  }
}

/**
 * For a test file: builds the peer before its tests (skips locally, fails under CI=true when cc,
 * pkg-config, libsrtp2 or the addon is missing) and removes it after. Returns `needPeer(t)`: the
 * peer's path, or undefined after skipping `t`.
 */
export function useSrtpPeer(): (t: TestContext) => string | undefined {
  let peer: BuiltPeer | undefined;
  let missing: string | undefined;
  before(() => {
    missing = srtpPeerPrerequisites();
    if (missing === undefined && !nativeAvailable())
      missing = 'native addon not built (run `npm run build:native`)';
    if (missing !== undefined) {
      if (inCI()) throw new Error(`${missing}: CI must provide it (.ci/run)`);
      return;
    }
    peer = buildSrtpPeer();
  });
  after(() => peer?.cleanup());
  return (t) => {
    if (peer !== undefined) return peer.path;
    t.skip(`${missing ?? 'libsrtp2 peer unavailable'}: skipped locally`);
    return undefined;
  };
}
