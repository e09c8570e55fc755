/**
 * Outgoing TCP establishment from a fixed local port: the active role (RFC 4145) and simultaneous
 * open (RFC 793 §3.4, H.248.84 tcphp).
 *
 * Each attempt is a fresh socket bound to the Local address and port and connected to the Remote.
 * libuv sets SO_REUSEADDR on every TCP socket it binds, so on Linux a port whose previous attempt
 * was refused (the socket went straight to CLOSED) or that still has a TIME_WAIT towards another
 * peer can be bound again at once; only an exact 4-tuple still in TIME_WAIT, or a listener on the
 * same port, refuses the bind (EADDRINUSE), and that is retried like a refused connect.
 *
 * Simultaneous open needs nothing more from the socket API: while our attempt sits in SYN-SENT, the
 * peer's SYN to the same 4-tuple moves it to SYN-RECEIVED and then ESTABLISHED (RFC 793 §3.4,
 * figure 8), and `connect` fires as for any connect. What makes it work across NATs is repetition:
 * our SYN opens our NAT's pinhole (and is usually dropped by the peer's), the peer's SYN then passes
 * our NAT and meets our attempt. So we retry with a short back-off until the deadline (`tcphp/to`).
 *
 * Nothing here throws: failures resolve the attempt's promise as a rejected ConnectFailure.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from './roles.js';

export type ConnectFailureCause = 'timeout' | 'refused' | 'unreachable' | 'bind' | 'cancelled' | 'error';

export class ConnectFailure extends Error {
  readonly reason: ConnectFailureCause;
  /** errno of the last attempt, if any. */
  readonly errno: string | undefined;
  readonly attempts: number;
  constructor(cause: ConnectFailureCause, errno: string | undefined, attempts: number) {
    super(`connect failed: ${cause}${errno !== undefined ? ` (${errno})` : ''} after ${attempts} attempt(s)`);
    this.reason = cause;
    this.errno = errno;
    this.attempts = attempts;
  }
}

export interface ConnectOptions {
  readonly localAddress: string;
  /** The Local port (the stream's lease); 0 lets the OS choose (tests). */
  readonly localPort: number;
  readonly remote: Endpoint;
  /** Give up this long after the start (ms). */
  readonly deadlineMs: number;
  /** First wait between attempts; doubled after each failure up to `retryMaxMs`. */
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

export interface ConnectAttempt {
  /** The connected socket (allowHalfOpen, paused), or a ConnectFailure. */
  readonly done: Promise<Socket>;
  /** Stops trying; `done` rejects with cause `cancelled` (unless already settled). */
  cancel(): void;
  /** Connect attempts made so far. */
  readonly attempts: number;
}

function causeOf(errno: string | undefined): ConnectFailureCause {
  switch (errno) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
      return 'unreachable';
    case 'EADDRINUSE':
    case 'EADDRNOTAVAIL':
    case 'EACCES':
      return 'bind';
    default:
      return 'error';
  }
}

/** Starts connecting; see ConnectAttempt. */
export function startConnect(o: ConnectOptions): ConnectAttempt {
  let attempts = 0;
  let settled = false;
  let current: Socket | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let lastErrno: string | undefined;
  let wait = Math.max(1, o.retryMinMs);
  let resolveDone!: (s: Socket) => void;
  let rejectDone!: (e: ConnectFailure) => void;
  const done = new Promise<Socket>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  // the owner may drop the promise (cancel while it does not wait): never an unhandled rejection
  done.catch(() => undefined);

  const fail = (cause: ConnectFailureCause): void => {
    if (settled) return;
    settled = true;
    clearTimeout(deadline);
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    if (current !== undefined) {
      current.removeAllListeners();
      current.on('error', () => undefined);
      current.destroy();
      current = undefined;
    }
    rejectDone(new ConnectFailure(cause, lastErrno, attempts));
  };

  // the last attempt's error names the cause; an attempt still in SYN-SENT is a timeout
  const deadline = setTimeout(() => fail(current !== undefined || lastErrno === undefined ? 'timeout' : causeOf(lastErrno)), o.deadlineMs);

  const attempt = (): void => {
    retryTimer = undefined;
    if (settled) return;
    attempts++;
    const s = connect({
      host: o.remote.address,
      port: o.remote.port,
      localAddress: o.localAddress,
      localPort: o.localPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    // nothing is read before the relay is set up: bytes wait in the kernel (flow control)
    s.pause();
    current = s;
    s.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      s.removeAllListeners('error');
      current = undefined;
      resolveDone(s);
    });
    s.once('error', (e: Error) => {
      if (settled) return;
      current = undefined;
      s.destroy();
      lastErrno = (e as NodeJS.ErrnoException).code;
      const cause = causeOf(lastErrno);
      if (cause === 'error') {
        fail(cause);
        return;
      }
      // refused (nobody there yet), unreachable (route or NAT not ready) and bind conflicts are
      // retried until the deadline: the peer may be about to listen or to send its own SYN
      retryTimer = setTimeout(attempt, wait);
      wait = Math.min(o.retryMaxMs, wait * 2);
    });
  };
  attempt();

  return {
    done,
    cancel: () => fail('cancelled'),
    get attempts() {
      return attempts;
    },
  };
}
