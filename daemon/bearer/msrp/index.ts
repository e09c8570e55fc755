/** MSRP (PROFILE §6): framing, URIs, the aware relay and its stage in the TCP bearer plane. */
export {
  MsrpParser,
  formatEnd,
  formatFrame,
  formatHead,
  headerValue,
  isTransactionId,
  DEFAULT_MSRP_LIMITS,
  type MsrpFlag,
  type MsrpFrameSink,
  type MsrpFramingError,
  type MsrpFramingLimits,
  type MsrpHead,
  type MsrpHeader,
} from './framing.js';
export { MsrpRelay, newMsrpLegCounters, type MsrpLegConfig, type MsrpLegCounters, type MsrpOutput, type MsrpSide } from './relay.js';
export { MsrpAware, type MsrpAwareOptions, type MsrpByteStage, type MsrpStageLeg } from './stage.js';
export { fillMsrpPath, isMsrpAware, msrpLegOf, type MsrpLegInfo } from './sdp.js';
export { parseMsrpUri, formatMsrpUri, sameMsrpUri, parsePath, gatewayUri, newSessionId, type MsrpUri } from './uri.js';
