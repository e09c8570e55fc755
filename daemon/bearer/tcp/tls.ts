/**
 * The TLS engine of daemon/tls/ (TlsMedia) as the TCP plane uses it for `TCP/TLS`, `TCP/TLS/MSRP`
 * and `TCP/TLS/BFCP` (PROFILE §7): Local `a=fingerprint:... $` filled and the Remote checked while
 * the command is prepared; on a connected socket a pinned TLS session, client when we connected and
 * server when we accepted (TLS role = TCP role, RFC 4572 §6.2); the `tlsbsc` events; `tlstv`
 * statistics are the leg's application byte counters.
 */
import type { Duplex } from 'node:stream';
import { remotePins, type TlsMedia, type TlsSession } from '../../tls/index.js';
import type { Stream } from '../../mg/stream.js';
import type { TcpTlsEngine } from './types.js';

function certChangeOf(stream: Stream): 'allow' | 'deny' {
  return stream.property('tlsm/rcc')?.value === 'allow' ? 'allow' : 'deny';
}

export function tlsEngineOf(media: TlsMedia): TcpTlsEngine {
  return {
    prepareStream: (p) => media.prepareStream(p.local, p.remote),
    wrap: (socket, { role, termination, stream }) =>
      new Promise<Duplex>((resolve, reject) => {
        let s: TlsSession;
        try {
          s = media.secure(socket, { role, pins: remotePins(stream.remote), certChange: certChangeOf(stream), log: termination.log });
        } catch (e) {
          // tls.maxConnections: the caller resets the socket
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        s.once('established', (e: { resumed: boolean }) => {
          termination.raise('tlsbsc/est', { resumed: e.resumed }, stream.id);
          resolve(s);
        });
        s.once('failed', (f: { reason: string; message: string }) => {
          termination.raise('tlsbsc/fail', { reason: f.reason }, stream.id);
          reject(new Error(f.message));
        });
        s.once('released', () => termination.raise('tlsbsc/rel', {}, stream.id));
      }),
    update: (session, stream) => {
      (session as TlsSession).update({ pins: remotePins(stream.remote), certChange: certChangeOf(stream) });
    },
    close: () => media.close(),
  };
}
