/**
 * Shared helpers of the DTLS tests (unit, robustness, interop, bench): whether the addon's DTLS part
 * is there, bound UDP sockets on 127.0.0.1, waiting for events, and `DtlsSide`: one DtlsEngine
 * endpoint on its own UDP socket with its events recorded, optionally relaying application data to
 * a plain "core" socket the way the UDP/TLS/UDPTL termination does.
 */
import { createSocket, type Socket } from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalIdentity } from '../../../../daemon/tls/certificate.js';
import { dtlsNativeAvailable } from '../../../../daemon/tls/dtls/binding.js';
import { DtlsEngine, type DtlsEngineOptions } from '../../../../daemon/tls/dtls/engine.js';
import type { DtlsEndpoint, DtlsEndpointOptions } from '../../../../daemon/tls/dtls/endpoint.js';
import type {
  DtlsConfig,
  DtlsEstablished,
  DtlsFailure,
  DtlsReleased,
} from '../../../../daemon/tls/dtls/types.js';
import type { TlsPeerPin } from '../../../../daemon/tls/types.js';

/**
 * `skip` option for suites that need the addon: a message when it is not built locally, false under
 * CI (`CI=true`), where a missing addon must fail the run.
 */
export function skipWithoutDtls(): string | false {
  if (dtlsNativeAvailable() || process.env.CI === 'true') return false;
  return 'native addon (DTLS part) not built: run `npm run build:native`';
}

export async function udp(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

export function portOf(s: Socket): number {
  return s.address().port;
}

/** A UDP port that was free a moment ago (for peers that bind it themselves). */
export async function freePort(): Promise<number> {
  const s = await udp();
  const p = portOf(s);
  s.close();
  return p;
}

export function closeQuietly(s: Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}

/**
 * Event-driven waiting: whoever changes state calls notify(); until() re-checks its condition then,
 * and fails after a deadline (no polling, no sleeps).
 */
export class Watch {
  #waiters = new Set<() => void>();

  notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!cond()) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

/** An ECDSA P-256 identity as the gateway makes them. */
export function identity(): LocalIdentity {
  return LocalIdentity.generate({ days: 2 });
}

export function pinOf(
  id: { fingerprint(h?: 'sha-1' | 'sha-256' | 'sha-384' | 'sha-512'): string },
  hash: TlsPeerPin['hash'] = 'sha-256',
): TlsPeerPin {
  return { hash, value: id.fingerprint(hash) };
}

/** Certificates made by the openssl CLI (independent of our generator), in a temp dir. */
export interface OpensslCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  fingerprint(hash?: TlsPeerPin['hash']): string;
}

export class CertDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'trgwd-dtls-'));
  #n = 0;

  /** `ec` (P-256) or `rsa4096`, self-signed. */
  make(kind: 'ec' | 'rsa4096', cn = 'fax'): OpensslCert {
    const n = this.#n++;
    const certFile = join(this.dir, `${kind}-${n}.pem`);
    const keyFile = join(this.dir, `${kind}-${n}.key`);
    const newkey =
      kind === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:4096'];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...newkey,
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
      ],
      {
        stdio: 'ignore',
      },
    );
    const certPem = readFileSync(certFile, 'utf8');
    const keyPem = readFileSync(keyFile, 'utf8');
    const x = new X509Certificate(certPem);
    return {
      certFile,
      keyFile,
      certPem,
      keyPem,
      fingerprint: (hash: TlsPeerPin['hash'] = 'sha-256') => {
        const id = new LocalIdentity(certPem, keyPem, false);
        return hash === 'sha-256' ? x.fingerprint256 : id.fingerprint(hash);
      },
    };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DtlsSideOptions {
  readonly identity?: { certPem: string; keyPem: string; fingerprint(h?: TlsPeerPin['hash']): string };
  readonly config?: Partial<DtlsConfig>;
  readonly endpoint?: DtlsEndpointOptions;
  /** Relay application data to/from a core socket pair (the UDP/TLS/UDPTL ↔ udptl shape). */
  readonly core?: boolean;
  readonly engine?: DtlsEngine;
  readonly engineOptions?: Partial<DtlsEngineOptions>;
  /** Share one Watch between sides (a test waiting on both). */
  readonly watch?: Watch;
}

/** One DTLS endpoint on its own socket, with recorded events (and, with `core`, a plain relay). */
export class DtlsSide {
  readonly engine: DtlsEngine;
  readonly ownEngine: boolean;
  readonly socket: Socket;
  readonly ep: DtlsEndpoint;
  readonly identity: { certPem: string; keyPem: string; fingerprint(h?: TlsPeerPin['hash']): string };
  readonly established: DtlsEstablished[] = [];
  readonly failed: DtlsFailure[] = [];
  readonly released: DtlsReleased[] = [];
  /** Application datagrams received (copies). */
  readonly data: Buffer[] = [];
  /** Core relay: the gateway's core socket and the far end beyond it. */
  coreSocket: Socket | undefined;
  corePeer: Socket | undefined;
  readonly coreReceived: Buffer[] = [];
  /** Datagrams this side sent (after `dropOut` decided), for tests that inspect the wire. */
  readonly sent: Buffer[] = [];
  /** Drop an outgoing datagram (lossy-path tests). */
  dropOut: ((buf: Buffer, n: number) => boolean) | undefined;
  /** Notified on every event, datagram in and out. */
  readonly watch: Watch;
  #outCount = 0;

  private constructor(
    engine: DtlsEngine,
    own: boolean,
    socket: Socket,
    opts: DtlsSideOptions,
    id: DtlsSide['identity'],
    watch: Watch,
  ) {
    this.watch = watch;
    this.engine = engine;
    this.ownEngine = own;
    this.socket = socket;
    this.identity = id;
    this.ep = engine.endpoint(
      {
        send: (buf, address, port) => {
          const n = this.#outCount++;
          if (this.dropOut?.(buf, n) === true) return;
          this.sent.push(buf);
          socket.send(buf, port, address);
          watch.notify();
        },
        data: (buf, len) => {
          const copy = Buffer.from(buf.subarray(0, len));
          this.data.push(copy);
          if (this.coreSocket !== undefined && this.corePeer !== undefined) {
            this.coreSocket.send(copy, portOf(this.corePeer), '127.0.0.1');
          }
          watch.notify();
        },
        established: (e) => {
          this.established.push(e);
          watch.notify();
        },
        failed: (f) => {
          this.failed.push(f);
          watch.notify();
        },
        released: (r) => {
          this.released.push(r);
          watch.notify();
        },
      },
      opts.endpoint,
    );
    socket.on('message', (m, ri) => {
      this.ep.receive(m, m.length, ri.address, ri.port);
      watch.notify();
    });
  }

  static async create(opts: DtlsSideOptions = {}): Promise<DtlsSide> {
    const id = opts.identity ?? identity();
    const engine =
      opts.engine ??
      new DtlsEngine({
        identity: id,
        config: { retransmitInitialMs: 100, ...opts.config },
        ...opts.engineOptions,
      });
    const socket = await udp();
    const watch = opts.watch ?? new Watch();
    if (opts.engine === undefined) {
      // handshakes that end unreported (beside a live association) still wake waiters
      const count = engine.countHandshake.bind(engine);
      engine.countHandshake = (...a) => {
        count(...a);
        watch.notify();
      };
      const unreserve = engine.unreserve.bind(engine);
      engine.unreserve = (...a) => {
        unreserve(...a);
        watch.notify();
      };
    }
    const side = new DtlsSide(
      engine,
      opts.engine === undefined,
      socket,
      opts,
      opts.engine?.identity ?? id,
      watch,
    );
    if (opts.core === true) {
      side.coreSocket = await udp();
      side.corePeer = await udp();
      side.coreSocket.on('message', (m) => side.ep.send(m, m.length));
      side.corePeer.on('message', (m) => {
        side.coreReceived.push(m);
        side.watch.notify();
      });
    }
    return side;
  }

  get port(): number {
    return portOf(this.socket);
  }

  pin(hash: TlsPeerPin['hash'] = 'sha-256'): TlsPeerPin {
    return pinOf(this.identity, hash);
  }

  /** Sends a datagram from the far core end towards the DTLS peer (through the relay). */
  fromCore(buf: Buffer): void {
    this.corePeer!.send(buf, portOf(this.coreSocket!), '127.0.0.1');
  }

  until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    return this.watch.until(cond, timeoutMs, what);
  }

  async close(): Promise<void> {
    this.ep.close();
    if (this.ownEngine) this.engine.close();
    // let a close_notify leave before the socket goes
    await new Promise((r) => setImmediate(r));
    closeQuietly(this.socket);
    if (this.coreSocket !== undefined) closeQuietly(this.coreSocket);
    if (this.corePeer !== undefined) closeQuietly(this.corePeer);
  }
}

/** A UDPTL-like datagram: a sequence number and binary content, every octet value present. */
export function udptlDatagram(seq: number, size = 120): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seq * 31 + i * 7) & 0xff;
  if (size >= 2) b.writeUInt16BE(seq & 0xffff, 0);
  return b;
}
