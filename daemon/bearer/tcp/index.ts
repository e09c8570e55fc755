/** TCP bearers (PROFILE §5): the TcpPlane media plane and its parts. */
export { TcpPlane, TCP_TRANSPORTS, type TcpPlaneOptions, type TcpPlaneStats } from './tcp-plane.js';
export { TcpLeg, type Direction } from './leg.js';
export { tlsEngineOf } from './tls.js';
export { planOf, type TcpPlan, type TcpAction, type Endpoint } from './roles.js';
export { startConnect, ConnectFailure, type ConnectAttempt, type ConnectOptions } from './connector.js';
export {
  DEFAULT_TCP_SETTINGS,
  isTlsTransport,
  type ByteStage,
  type ReleaseCause,
  type StageFactory,
  type TcpSettings,
  type TcpTlsEngine,
  type TlsRole,
} from './types.js';
