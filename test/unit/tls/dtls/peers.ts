/**
 * External DTLS peers for the interop tests (openssl s_client/s_server, gnutls-cli/gnutls-serv) as
 * child processes whose output wakes a Watch, and a lossy UDP proxy.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { DtlsSide, closeQuietly, portOf, udp, type Watch } from './helpers.js';

export class PeerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #out: Buffer[] = [];
  #err = '';
  exitCode: number | null | undefined;

  constructor(cmd: string, args: readonly string[], watch: Watch) {
    this.child = spawn(cmd, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.#out.push(d);
      watch.notify();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.#err += d.toString('latin1');
      watch.notify();
    });
    this.child.on('exit', (code) => {
      this.exitCode = code;
      watch.notify();
    });
    this.child.on('error', () => {
      this.exitCode = -1;
      watch.notify();
    });
    this.child.stdin.on('error', () => undefined); // the peer may exit before we stop writing
  }

  get stdout(): Buffer {
    return Buffer.concat(this.#out);
  }

  get stderr(): string {
    return this.#err;
  }

  get exited(): boolean {
    return this.exitCode !== undefined;
  }

  write(b: Buffer | string): void {
    this.child.stdin.write(b);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  /** For assertion messages. */
  describe(): string {
    return `exit=${String(this.exitCode)} stderr=${this.#err.slice(-800)}`;
  }
}

/**
 * A UDP proxy on loopback between a client and `serverPort`: the client talks to `port`; `drop`
 * decides per datagram (direction, index in that direction) whether it is lost.
 */
export class LossyProxy {
  readonly front: Socket;
  readonly back: Socket;
  readonly serverPort: number;
  client: { address: string; port: number } | undefined;
  toServer = 0;
  toClient = 0;
  dropped = 0;
  drop: (dir: 'toServer' | 'toClient', n: number, buf: Buffer) => boolean;

  private constructor(front: Socket, back: Socket, serverPort: number, drop: LossyProxy['drop']) {
    this.front = front;
    this.back = back;
    this.serverPort = serverPort;
    this.drop = drop;
    front.on('message', (m, ri) => {
      this.client = { address: ri.address, port: ri.port };
      if (this.drop('toServer', this.toServer++, m)) this.dropped++;
      else back.send(m, serverPort, '127.0.0.1');
    });
    back.on('message', (m) => {
      if (this.client === undefined) return;
      if (this.drop('toClient', this.toClient++, m)) this.dropped++;
      else front.send(m, this.client.port, this.client.address);
    });
  }

  static async create(serverPort: number, drop: LossyProxy['drop']): Promise<LossyProxy> {
    return new LossyProxy(await udp(), await udp(), serverPort, drop);
  }

  get port(): number {
    return portOf(this.front);
  }

  close(): void {
    closeQuietly(this.front);
    closeQuietly(this.back);
  }
}

/**
 * What an interop test starts (peer processes, DTLS sides, proxies), closed in reverse order after
 * each test: `afterEach(() => scope.closeAll())`.
 */
export class InteropScope {
  readonly #cleanups: (() => Promise<void> | void)[] = [];

  /** Registers something to close after the test. */
  defer(cleanup: () => Promise<void> | void): void {
    this.#cleanups.push(cleanup);
  }

  peer(cmd: string, args: string[], watch: Watch): PeerProcess {
    const p = new PeerProcess(cmd, args, watch);
    this.defer(() => p.kill());
    return p;
  }

  async side(watch: Watch, opts: Parameters<typeof DtlsSide.create>[0]): Promise<DtlsSide> {
    const s = await DtlsSide.create({ watch, core: true, ...opts });
    this.defer(() => s.close());
    return s;
  }

  async closeAll(): Promise<void> {
    for (const c of this.#cleanups.splice(0).reverse()) await c();
  }
}
