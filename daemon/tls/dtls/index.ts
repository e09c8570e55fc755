/**
 * DTLS for UDPTL (e2ae, PROFILE §8; RFC 7345 with RFC 8842 tls-id; fingerprints RFC 8122) over the
 * native addon (native/src/dtls.c, node's own OpenSSL).
 *
 *   const engine = new DtlsEngine({ identity, config: cfg.dtls, metrics, log });   // one per gateway
 *   const ep = engine.endpoint({
 *     send: (buf, address, port) => socket.send(buf, port, address),
 *     data: (buf, len) => coreLeg.send(buf.subarray(0, len)),       // one UDPTL datagram per record
 *     established: (e) => raise tlsbsc/est,  failed: (f) => raise tlsbsc/fail { reason: f.reason },
 *     released: (r) => raise tlsbsc/rel,
 *   }, { role: 'auto' | 'server' | 'client', pins: remotePins(remote) | undefined });
 *   socket.on('message', (buf, rinfo) => ep.receive(buf, buf.length, rinfo.address, rinfo.port));
 *   ep.connect(remoteAddress, remotePort);   // client role (a=setup:active, or actpass vs passive)
 *   ep.send(udptl, udptl.length);            // core → access, one record each
 *   ep.setPins(pins); ep.reset();            // Modify: new Remote fingerprint / new tls-id
 *   stream.own(ep);                          // close() sends close_notify
 *
 * Guarantees: no application byte passes before the peer certificate matched a pin; events:
 * `established` once per association, `released` exactly once after each `established`, `failed`
 * for handshakes that end without an association (see endpoint.ts for when it is reported).
 */
export {
  DtlsEngine,
  DtlsTotals,
  DEFAULT_DTLS_CONFIG,
  type DtlsEngineOptions,
  type DtlsIdentity,
  type DtlsDropReason,
} from './engine.js';
export { DtlsEndpoint, nativePins, type DtlsEndpointHandler, type DtlsEndpointOptions } from './endpoint.js';
export { DtlsSession, MAX_RECORD } from './session.js';
export { dtlsNativeAvailable, loadDtlsNative, DtlsNativeError } from './binding.js';
export { isClientHello, isDtlsRecord, recordEpoch } from './records.js';
export {
  DtlsUdptlPlane,
  dtlsRole,
  newTlsId,
  type DtlsUdptlPlaneOptions,
  type UdpRelay,
} from './plane.js';
export type {
  DtlsConfig,
  DtlsEndpointRole,
  DtlsEstablished,
  DtlsFailReason,
  DtlsFailure,
  DtlsReleaseCause,
  DtlsReleased,
  DtlsRole,
} from './types.js';
