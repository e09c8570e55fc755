/**
 * The control transports together: UDP and TCP bound on the same address and port.
 */
import { TrgwdError, isTrgwdError } from '../../errors.js';
import { TcpControlTransport } from './tcp.js';
import { UdpControlTransport } from './udp.js';
import type { ControlEndpoint, TcpControlTransportOptions } from './types.js';

export * from './types.js';
export { encodeTpkt, TpktDeframer, TpktError, TPKT_HEADER_SIZE, TPKT_MAX_PAYLOAD } from './tpkt.js';
export { UdpControlTransport } from './udp.js';
export { TcpControlTransport } from './tcp.js';

export interface ControlTransports {
  readonly udp: UdpControlTransport;
  readonly tcp: TcpControlTransport;
  /** The endpoint both are bound to. */
  readonly endpoint: ControlEndpoint;
  /** Closes both (idempotent). */
  close(): Promise<void>;
}

/**
 * Binds UDP, then TCP on the port UDP got. With port 0 (tests) a TCP port clash with another process
 * is retried on a fresh UDP port, up to `attempts` times. Rejects with `ERR_BIND`.
 */
export async function openControlTransports(
  options: TcpControlTransportOptions,
  attempts = 5,
): Promise<ControlTransports> {
  let lastError: unknown = null;
  for (let i = 0; i < attempts; i++) {
    const udp = new UdpControlTransport(options);
    const endpoint = await udp.listen().catch(async (e: unknown) => {
      await udp.close();
      throw e;
    });
    const tcp = new TcpControlTransport({ ...options, port: endpoint.port });
    try {
      await tcp.listen();
    } catch (e) {
      await Promise.all([udp.close(), tcp.close()]);
      lastError = e;
      const clash = isTrgwdError(e, 'ERR_BIND') && e.details?.['errno'] === 'EADDRINUSE';
      if (options.port === 0 && clash) continue;
      throw e;
    }
    let closing: Promise<void> | null = null;
    return {
      udp,
      tcp,
      endpoint,
      close: () => (closing ??= Promise.all([udp.close(), tcp.close()]).then(() => undefined)),
    };
  }
  throw lastError instanceof TrgwdError
    ? lastError
    : new TrgwdError('ERR_BIND', `cannot bind udp+tcp ${options.address}:${options.port}`, {
        details: { address: options.address, port: options.port, transport: 'tcp' },
      });
}
