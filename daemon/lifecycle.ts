/**
 * What every long-lived part of the gateway looks like to the composition root: started in order,
 * closed in reverse order. `close()` is idempotent and releases everything the part owns.
 */
import { TrgwdError } from './errors.js';

export interface Part {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The one-line error for a port we could not bind at start (the CLI exits 2 on it). */
export function bindError(e: unknown, what: string, address: string, port: number): TrgwdError {
  const errno = (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : String(e));
  const why =
    errno === 'EADDRINUSE'
      ? 'address already in use'
      : errno === 'EACCES'
        ? 'permission denied'
        : errno === 'EADDRNOTAVAIL'
          ? 'address not available on this host'
          : errno;
  return new TrgwdError('ERR_BIND', `cannot bind ${what} on ${address}:${port}: ${why}`, {
    cause: e,
    details: { what, address, port, errno },
  });
}

/** Resolves when `p` settles or rejects with a timeout error after `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TrgwdError('ERR_TIMEOUT', `${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
