/**
 * Two in-process TLS endpoints over a real loopback TCP connection, for the TLS media tests.
 */
import { once } from 'node:events';
import net from 'node:net';
import { LocalIdentity } from '../../../daemon/tls/certificate.js';
import { TLS_DEFAULTS, TlsMedia, type TlsMediaConfig } from '../../../daemon/tls/tls-media.js';
import type { TlsSession } from '../../../daemon/tls/session.js';
import type { TlsPeerPin, TlsEstablished, TlsFailure, TlsReleased } from '../../../daemon/tls/types.js';
import { createMetrics, type Metrics } from '../../../daemon/observe/metrics.js';

/** Identities are slow-ish to make: a few shared ones. */
export const ID_A = LocalIdentity.generate({ days: 1, commonName: 'a' });
export const ID_B = LocalIdentity.generate({ days: 1, commonName: 'b' });
export const ID_C = LocalIdentity.generate({ days: 1, commonName: 'c' });

export function pinOf(id: LocalIdentity, hash: TlsPeerPin['hash'] = 'sha-256'): TlsPeerPin {
  return { hash, value: id.fingerprint(hash) };
}

export function media(identity: LocalIdentity, config: Partial<TlsMediaConfig> = {}, metrics?: Metrics): TlsMedia {
  return new TlsMedia({ ...TLS_DEFAULTS, ...config }, { identity, ...(metrics !== undefined ? { metrics } : {}) });
}

export function newMetrics(): Metrics {
  return createMetrics({ defaultMetrics: false });
}

/** A connected loopback TCP pair: `client` connected to `server` (the accepted socket). */
export async function tcpPair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const listener = net.createServer({ allowHalfOpen: true });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as net.AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  const [server] = await accepted;
  listener.close();
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
    },
  };
}

/** What a session reported, recorded in order. */
export interface Recorder {
  readonly events: string[];
  established: Promise<TlsEstablished>;
  failed: Promise<TlsFailure>;
  released: Promise<TlsReleased>;
  /** Application bytes received, as text. */
  data(): string;
}

export function record(s: TlsSession): Recorder {
  const events: string[] = [];
  const chunks: Buffer[] = [];
  const established = new Promise<TlsEstablished>((resolve) =>
    s.on('established', (e: TlsEstablished) => {
      events.push(`established${e.resumed ? ' resumed' : ''}`);
      resolve(e);
    }),
  );
  const failed = new Promise<TlsFailure>((resolve) =>
    s.on('failed', (f: TlsFailure) => {
      events.push(`failed ${f.reason}`);
      resolve(f);
    }),
  );
  const released = new Promise<TlsReleased>((resolve) =>
    s.on('released', (r: TlsReleased) => {
      events.push(`released ${r.cause}`);
      resolve(r);
    }),
  );
  s.on('renegotiated', () => events.push('renegotiated'));
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', (e: Error) => events.push(`error ${e.message}`));
  return { events, established, failed, released, data: () => Buffer.concat(chunks).toString() };
}

/** Resolves when `s` received at least `text` (as a prefix of what arrived so far plus more). */
export async function receive(s: TlsSession, rec: Recorder, text: string): Promise<void> {
  while (!rec.data().includes(text)) await once(s, 'data');
}
