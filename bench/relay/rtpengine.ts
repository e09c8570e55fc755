/**
 * rtpengine (Sipwise, Debian `rtpengine-daemon`) as the reference relay: spawned in userspace only
 * (`--table=-1`: no kernel forwarding module), driven through its `ng` control protocol, which is a
 * cookie, a space and a bencoded dictionary over UDP (`offer` with the caller's SDP, then `answer`
 * with the callee's; each reply carries the SDP rewritten with rtpengine's own ports).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { freeUdpPort } from './proc.js';

// ---------------------------------------------------------------- bencode

export type BValue = string | number | Buffer | BValue[] | { [k: string]: BValue };

export function bencode(v: BValue): Buffer {
  const parts: Buffer[] = [];
  const walk = (x: BValue): void => {
    if (typeof x === 'number') parts.push(Buffer.from(`i${Math.trunc(x)}e`));
    else if (typeof x === 'string' || Buffer.isBuffer(x)) {
      const b = typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
      parts.push(Buffer.from(`${b.length}:`), b);
    } else if (Array.isArray(x)) {
      parts.push(Buffer.from('l'));
      x.forEach(walk);
      parts.push(Buffer.from('e'));
    } else {
      parts.push(Buffer.from('d'));
      for (const k of Object.keys(x).sort()) {
        walk(k);
        walk(x[k]!);
      }
      parts.push(Buffer.from('e'));
    }
  };
  walk(v);
  return Buffer.concat(parts);
}

/** Decodes one bencoded value (strings as UTF-8 text). Throws on malformed input. */
export function bdecode(buf: Buffer): BValue {
  let i = 0;
  const value = (): BValue => {
    const c = buf[i];
    if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, i);
      if (end < 0) throw new Error('bencode: unterminated integer');
      const n = Number(buf.subarray(i + 1, end).toString());
      i = end + 1;
      return n;
    }
    if (c === 0x6c /* l */) {
      i++;
      const out: BValue[] = [];
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('bencode: unterminated list');
        out.push(value());
      }
      i++;
      return out;
    }
    if (c === 0x64 /* d */) {
      i++;
      const out: { [k: string]: BValue } = {};
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('bencode: unterminated dictionary');
        const k = value();
        if (typeof k !== 'string') throw new Error('bencode: dictionary key is not a string');
        out[k] = value();
      }
      i++;
      return out;
    }
    const colon = buf.indexOf(0x3a, i);
    if (colon < 0) throw new Error(`bencode: bad value at ${i}`);
    const len = Number(buf.subarray(i, colon).toString());
    if (!Number.isInteger(len) || len < 0 || colon + 1 + len > buf.length)
      throw new Error(`bencode: bad string length at ${i}`);
    const s = buf.subarray(colon + 1, colon + 1 + len).toString('utf8');
    i = colon + 1 + len;
    return s;
  };
  return value();
}

// ---------------------------------------------------------------- ng client

export class NgClient {
  readonly #socket: Socket;
  readonly #port: number;
  readonly #pending = new Map<
    string,
    { resolve: (v: Record<string, BValue>) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  private constructor(socket: Socket, port: number) {
    this.#socket = socket;
    this.#port = port;
    socket.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      if (sp < 0) return;
      const cookie = msg.subarray(0, sp).toString();
      const p = this.#pending.get(cookie);
      if (p === undefined) return;
      this.#pending.delete(cookie);
      clearTimeout(p.timer);
      try {
        p.resolve(bdecode(msg.subarray(sp + 1)) as Record<string, BValue>);
      } catch (e) {
        p.reject(e as Error);
      }
    });
  }

  static async connect(port: number): Promise<NgClient> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: '127.0.0.1', port: 0 }, () => resolve());
    });
    return new NgClient(s, port);
  }

  /** One command; rejects on timeout or when rtpengine answers `result: error`. */
  command(dict: Record<string, BValue>, timeoutMs = 2000): Promise<Record<string, BValue>> {
    const cookie = randomBytes(8).toString('hex');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cookie);
        reject(new Error(`rtpengine: no answer to ${String(dict['command'])} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(cookie, {
        resolve: (r) => {
          if (r['result'] === 'error')
            reject(new Error(`rtpengine: ${String(dict['command'])}: ${String(r['error-reason'])}`));
          else resolve(r);
        },
        reject,
        timer,
      });
      this.#socket.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(dict)]), this.#port, '127.0.0.1');
    });
  }

  close(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    this.#socket.close();
  }
}

// ---------------------------------------------------------------- the daemon

export interface RtpengineOptions {
  readonly portMin: number;
  readonly portMax: number;
  /** Worker threads (--num-threads); default: rtpengine's own (one per CPU). */
  readonly threads?: number;
}

/** The rtpengine binary's version line, or undefined when it is not installed. */
export function rtpengineVersion(): string | undefined {
  const r = spawnSync('rtpengine', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim().replace(/^Version:\s*/, '');
}

export class Rtpengine {
  readonly child: ChildProcessWithoutNullStreams;
  readonly ng: NgClient;
  stderr = '';

  private constructor(child: ChildProcessWithoutNullStreams, ng: NgClient) {
    this.child = child;
    this.ng = ng;
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8000);
    });
    child.stdout.resume();
  }

  get pid(): number {
    return this.child.pid!;
  }

  static async start(opts: RtpengineOptions): Promise<Rtpengine> {
    const ngPort = await freeUdpPort();
    const args = [
      '--config-file=none',
      '--foreground',
      '--log-stderr',
      '--log-level=4',
      '--table=-1',
      '--interface=127.0.0.1',
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${opts.portMin}`,
      `--port-max=${opts.portMax}`,
      // Calls sit idle between runs at other rates: no media timeout within a bench.
      '--timeout=3600',
      '--silent-timeout=3600',
      '--delete-delay=0',
      ...(opts.threads !== undefined ? [`--num-threads=${opts.threads}`] : []),
    ];
    // Detached: its own session and so its own scheduling group (see bench/relay/trgwd.ts).
    const child = spawn('rtpengine', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    process.once('exit', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const ng = await NgClient.connect(ngPort);
    const r = new Rtpengine(child, ng);
    const end = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`rtpengine exited (${child.exitCode}): ${r.stderr}`);
      try {
        await ng.command({ command: 'ping' }, 300);
        return r;
      } catch (e) {
        if (Date.now() > end) {
          child.kill('SIGKILL');
          ng.close();
          throw new Error(`rtpengine does not answer ng ping: ${(e as Error).message}; ${r.stderr}`, {
            cause: e,
          });
        }
      }
    }
  }

  /**
   * One call between endpoint A (127.0.0.1:portA, the caller) and B (127.0.0.1:portB, the callee).
   * The offer's rewritten SDP is what B gets: its port is where B sends; the answer's is what A
   * gets: its port is where A sends. rtpengine forwards A's packets to B from the former, and B's
   * to A from the latter (symmetric RTP).
   */
  async call(
    callId: string,
    portA: number,
    portB: number,
    srtp?: { readonly crypto: string },
  ): Promise<{ aSendsTo: number; bSendsTo: number }> {
    const sdp = (port: number, user: string, crypto?: string) =>
      `v=0\r\no=${user} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} ${crypto !== undefined ? 'RTP/SAVP' : 'RTP/AVP'} 0\r\na=rtpmap:0 PCMU/8000\r\n${crypto !== undefined ? `a=crypto:${crypto}\r\n` : ''}a=ptime:20\r\na=sendrecv\r\n`;
    // SRTP (RTP→SRTP bench): A offers RTP/SAVP with its key; B is offered plain RTP/AVP, so rtpengine
    // decrypts A→B and encrypts B→A with the key it answers A (the same job as trgwd's e2ae leg)
    const offer = await this.ng.command({
      command: 'offer',
      'call-id': callId,
      'from-tag': 'a',
      sdp: sdp(portA, 'a', srtp?.crypto),
      ICE: 'remove',
      ...(srtp !== undefined ? { 'transport-protocol': 'RTP/AVP' } : {}),
    });
    const answer = await this.ng.command({
      command: 'answer',
      'call-id': callId,
      'from-tag': 'a',
      'to-tag': 'b',
      sdp: sdp(portB, 'b'),
      ICE: 'remove',
    });
    const port = (r: Record<string, BValue>) => {
      const m = /^m=audio (\d+) /m.exec(String(r['sdp']));
      if (m === null) throw new Error(`rtpengine: no m= line in ${String(r['sdp'])}`);
      return Number(m[1]);
    };
    return { aSendsTo: port(answer), bSendsTo: port(offer) };
  }

  async stop(): Promise<void> {
    this.ng.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
