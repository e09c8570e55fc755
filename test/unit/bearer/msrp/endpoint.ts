/**
 * A small MSRP endpoint for tests, following RFC 4975: sends messages in chunks (SEND with
 * Message-ID, Byte-Range, Success-Report), answers each SEND chunk 200 (To-Path: the previous hop,
 * From-Path: its own URI), sends a success REPORT when the last chunk of a message arrives with
 * `Success-Report: yes`, matches responses to its transactions, and records every frame it receives
 * (heads) and every message (SHA-256 and length of the data, streamed: no whole message kept).
 *
 * Also TLS for the peers: their certificates, and a client that pins the gateway's fingerprint.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { MsrpParser, formatEnd, formatFrame, formatHead, headerValue, type MsrpHead } from '../../../../daemon/bearer/msrp/framing.js';
import { firstPathUri } from '../../../../daemon/bearer/msrp/uri.js';
import { LocalIdentity, fingerprintOf } from '../../../../daemon/tls/certificate.js';

export interface ReceivedMessage {
  readonly messageId: string;
  bytes: number;
  readonly hash: Hash;
  digest?: string;
  chunks: number;
  complete: boolean;
}

export interface EndpointOptions {
  /** Send a success REPORT for messages asking for one (default true). */
  readonly reports?: boolean;
  /** Answer SENDs 200 (default true). */
  readonly respond?: boolean;
}

export class MsrpEndpoint {
  readonly uri: string;
  /** To-Path of what it sends: the path it learnt from the other side's SDP. */
  peerPath: string[];
  readonly heads: MsrpHead[] = [];
  readonly messages = new Map<string, ReceivedMessage>();
  readonly reports: MsrpHead[] = [];
  readonly errors: string[] = [];
  readonly #sock: Duplex;
  readonly #parser: MsrpParser;
  readonly #waiting = new Map<string, (h: MsrpHead) => void>();
  readonly #reportWaiters: { id: string; resolve: (h: MsrpHead) => void }[] = [];
  readonly #messageWaiters: { id: string; resolve: (m: ReceivedMessage) => void }[] = [];
  readonly #opts: EndpointOptions;
  #current: MsrpHead | undefined;
  #msg: ReceivedMessage | undefined;

  constructor(sock: Duplex, uri: string, peerPath: string[], opts: EndpointOptions = {}) {
    this.#sock = sock;
    this.uri = uri;
    this.peerPath = peerPath;
    this.#opts = opts;
    this.#parser = new MsrpParser({
      head: (h) => this.#head(h),
      body: (d) => {
        if (this.#msg !== undefined) {
          this.#msg.hash.update(d);
          this.#msg.bytes += d.length;
        }
      },
      end: (f) => this.#end(f),
      error: (e) => this.errors.push(`${e.reason}: ${e.message}`),
    });
    sock.on('data', (d: Buffer) => this.#parser.push(d));
    sock.on('error', (e) => this.errors.push(`socket: ${e.message}`));
  }

  get socket(): Duplex {
    return this.#sock;
  }

  #head(h: MsrpHead): void {
    this.heads.push(h);
    this.#current = h;
    this.#msg = undefined;
    if (h.kind === 'request' && h.method === 'SEND') {
      const id = headerValue(h, 'Message-ID') ?? '?';
      let m = this.messages.get(id);
      if (m === undefined) {
        m = { messageId: id, bytes: 0, hash: createHash('sha256'), chunks: 0, complete: false };
        this.messages.set(id, m);
      }
      this.#msg = m;
    }
  }

  #end(flag: string): void {
    const h = this.#current!;
    this.#current = undefined;
    if (h.kind === 'response') {
      const w = this.#waiting.get(h.transactionId);
      this.#waiting.delete(h.transactionId);
      w?.(h);
      return;
    }
    if (h.method === 'REPORT') {
      this.reports.push(h);
      const id = headerValue(h, 'Message-ID');
      for (let i = 0; i < this.#reportWaiters.length; i++) {
        if (this.#reportWaiters[i]!.id === id) {
          this.#reportWaiters.splice(i, 1)[0]!.resolve(h);
          break;
        }
      }
      return;
    }
    const m = this.#msg;
    this.#msg = undefined;
    const fromPath = headerValue(h, 'From-Path') ?? '';
    if (this.#opts.respond !== false && headerValue(h, 'Failure-Report') !== 'no') {
      this.#write(this.#response(h.transactionId, 200, 'OK', firstPathUri(fromPath)));
    }
    if (m !== undefined) {
      m.chunks++;
      if (flag === '$') {
        m.complete = true;
        m.digest = m.hash.digest('hex');
        for (let i = this.#messageWaiters.length - 1; i >= 0; i--) {
          if (this.#messageWaiters[i]!.id === m.messageId) this.#messageWaiters.splice(i, 1)[0]!.resolve(m);
        }
        if (this.#opts.reports !== false && headerValue(h, 'Success-Report') === 'yes') {
          const range = `1-${m.bytes}/${m.bytes}`;
          this.#write(
            formatFrame(
              {
                kind: 'request',
                transactionId: newTid(),
                method: 'REPORT',
                status: 0,
                comment: '',
                headers: [
                  // a REPORT goes back along the SEND's From-Path (RFC 4975 §7.1.2)
                  { name: 'To-Path', value: fromPath },
                  { name: 'From-Path', value: this.uri },
                  { name: 'Message-ID', value: m.messageId },
                  { name: 'Byte-Range', value: range },
                  { name: 'Status', value: '000 200 OK' },
                ],
                hasBody: false,
              },
              undefined,
            ),
          );
        }
      }
    }
  }

  #response(tid: string, status: number, comment: string, to: string): Buffer {
    return formatFrame(
      {
        kind: 'response',
        transactionId: tid,
        method: '',
        status,
        comment,
        headers: [
          { name: 'To-Path', value: to },
          { name: 'From-Path', value: this.uri },
        ],
        hasBody: false,
      },
      undefined,
    );
  }

  #write(b: Buffer): boolean {
    if (this.#sock.destroyed || this.#sock.writableEnded) return true;
    return this.#sock.write(b);
  }

  /** Writes raw bytes (tests of odd frames). */
  raw(b: Buffer | string): void {
    this.#write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  }

  /** Waits for the response to a transaction id. */
  response(tid: string): Promise<MsrpHead> {
    return new Promise((resolve) => this.#waiting.set(tid, resolve));
  }

  /** Waits for a REPORT about a message. */
  report(messageId: string): Promise<MsrpHead> {
    const past = this.reports.find((r) => headerValue(r, 'Message-ID') === messageId);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve) => this.#reportWaiters.push({ id: messageId, resolve }));
  }

  /** Waits until a message's last chunk has arrived. */
  message(messageId: string): Promise<ReceivedMessage> {
    const m = this.messages.get(messageId);
    if (m?.complete === true) return Promise.resolve(m);
    return new Promise((resolve) => this.#messageWaiters.push({ id: messageId, resolve }));
  }

  /**
   * Sends a message in chunks (pipelined, with backpressure); resolves with every chunk's response
   * and the message's SHA-256.
   */
  async sendMessage(
    body: Buffer | ((offset: number, n: number) => Buffer),
    total: number,
    chunkSize: number,
    opts: { messageId?: string; successReport?: boolean; to?: string; contentType?: string } = {},
  ): Promise<{ messageId: string; responses: MsrpHead[]; digest: string; tids: string[] }> {
    const messageId = opts.messageId ?? newTid();
    const hash = createHash('sha256');
    const pending: Promise<MsrpHead>[] = [];
    const tids: string[] = [];
    for (let off = 0; off < total || (total === 0 && off === 0); off += chunkSize) {
      const n = Math.min(chunkSize, total - off);
      const data = typeof body === 'function' ? body(off, n) : body.subarray(off, off + n);
      hash.update(data);
      const tid = newTid();
      tids.push(tid);
      pending.push(this.response(tid));
      const last = off + n >= total;
      const head = formatHead({
        kind: 'request',
        transactionId: tid,
        method: 'SEND',
        status: 0,
        comment: '',
        headers: [
          { name: 'To-Path', value: opts.to ?? this.peerPath.join(' ') },
          { name: 'From-Path', value: this.uri },
          { name: 'Message-ID', value: messageId },
          { name: 'Byte-Range', value: `${off + 1}-${off + n}/${total}` },
          ...(opts.successReport === true ? [{ name: 'Success-Report', value: 'yes' }] : []),
          { name: 'Content-Type', value: opts.contentType ?? 'application/octet-stream' },
        ],
        hasBody: true,
      });
      this.#write(Buffer.from(head, 'latin1'));
      this.#write(data);
      if (!this.#write(Buffer.from(formatEnd(tid, last ? '$' : '+', true), 'latin1'))) await once(this.#sock, 'drain');
      if (total === 0) break;
    }
    const responses = await Promise.all(pending);
    return { messageId, responses, digest: hash.digest('hex'), tids };
  }

  /** A one-chunk SEND with explicit headers (unknown-session tests); resolves with its response. */
  sendRaw(tid: string, toPath: string, body: string): Promise<MsrpHead> {
    const r = this.response(tid);
    this.#write(
      formatFrame(
        {
          kind: 'request',
          transactionId: tid,
          method: 'SEND',
          status: 0,
          comment: '',
          headers: [
            { name: 'To-Path', value: toPath },
            { name: 'From-Path', value: this.uri },
            { name: 'Message-ID', value: newTid() },
            { name: 'Byte-Range', value: `1-${Buffer.byteLength(body)}/${Buffer.byteLength(body)}` },
            { name: 'Content-Type', value: 'text/plain' },
          ],
          hasBody: true,
        },
        body,
      ),
    );
    return r;
  }
}

export function newTid(): string {
  return randomBytes(8).toString('hex');
}

/** Deterministic pseudo-random data for big messages (no 10 MB buffer kept). */
export function pattern(offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = (offset * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

// ---- TLS --------------------------------------------------------------------------------------

/** A peer's TLS identity (self-signed ECDSA P-256) and its SHA-256 fingerprint. */
export function peerIdentity(): { identity: LocalIdentity; fingerprint: string } {
  const identity = LocalIdentity.generate({ days: 1, commonName: 'msrp-peer' });
  return { identity, fingerprint: fingerprintOf(identity.certificate.raw, 'sha-256') };
}

/** Connects to the gateway over TLS as `identity`, pinning the gateway's fingerprint. */
export async function tlsConnect(port: number, identity: LocalIdentity, pin: string): Promise<tls.TLSSocket> {
  const s = tls.connect({ host: '127.0.0.1', port, key: identity.keyPem, cert: identity.certPem, rejectUnauthorized: false });
  await once(s, 'secureConnect');
  const got = fingerprintOf(s.getPeerX509Certificate()!.raw, 'sha-256');
  if (got !== pin) {
    s.destroy();
    throw new Error(`gateway certificate ${got} does not match the pinned ${pin}`);
  }
  return s;
}
