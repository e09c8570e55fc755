/**
 * Media UDP sockets, wherever they are bound (the PortManager on the main thread, a relay worker).
 *
 * dgram resolves the address of every unconnected send (and of bind) through its `lookup` function,
 * by default dns.lookup, which answers an IP literal one turn later (process.nextTick): each relayed
 * packet then costs a dns.lookup call, a tick and a closure (~0.5 µs of ~11 µs per packet, measured).
 * Media addresses are IP literals (SDP `c=` lines are validated as such, latched sources come from
 * the kernel), so once a media socket is bound its sends get a literal answered at once, with the
 * result dns.lookup gives for it (the literal and its own family); any other name still goes to
 * dns.lookup. The bind itself keeps dns.lookup: with a synchronous answer dgram would emit
 * 'listening' (or the bind 'error') inside bind(), before a caller could listen for it.
 */
import { createSocket, type Socket, type SocketType } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/** The last literal seen on this thread and its family (most sends of a thread repeat an address). */
let lastLiteral = '';
let lastFamily = 0;

/** dgram's `lookup`: IP literals answered synchronously, names through dns.lookup. */
export function literalLookup(address: string, family: LookupOneOptions | number, callback: LookupCallback): void {
  if (address === lastLiteral) {
    callback(null, address, lastFamily);
    return;
  }
  const v = isIP(address);
  if (v !== 0) {
    lastLiteral = address;
    lastFamily = v;
    callback(null, address, v);
    return;
  }
  // dgram passes the socket's family (4 or 6) where the typings say options
  dnsLookup(address, family as LookupOneOptions, callback);
}

/** An unbound media socket (the caller binds it to an explicit port, exclusively). */
export function createMediaSocket(type: SocketType): Socket {
  let bound = false;
  const lookup = (address: string, family: LookupOneOptions | number, callback: LookupCallback): void => {
    if (bound) literalLookup(address, family, callback);
    else dnsLookup(address, family as LookupOneOptions, callback);
  };
  const socket = createSocket({ type, reuseAddr: false, lookup });
  socket.once('listening', () => {
    bound = true;
  });
  return socket;
}

/**
 * A media socket bound exclusively to `port`; when the bind fails the socket is closed (no descriptor
 * left behind) and the bind error rejects.
 */
export function bindMediaSocket(type: SocketType, address: string, port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = createMediaSocket(type);
    const onError = (err: Error): void => {
      void closeMediaSocket(socket);
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

/** Media sockets closed through closeMediaSocket (a second close() would throw, building an Error). */
const closedSockets = new WeakSet<Socket>();

/**
 * Closes a media socket; resolves once it is closed. Idempotent: a socket already closed here (a
 * relay worker took its port over, then the lease is released) resolves at once without the
 * ERR_SOCKET_DGRAM_NOT_RUNNING dgram throws, and so does one closed elsewhere.
 */
export function closeMediaSocket(socket: Socket): Promise<void> {
  if (closedSockets.has(socket)) return Promise.resolve();
  closedSockets.add(socket);
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // closed by someone else
    }
  });
}
