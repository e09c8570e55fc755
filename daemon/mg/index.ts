/** The gateway model: MediaGateway → Context → Termination → Stream (see ARCHITECTURE.md). */
export { MediaGateway, type MediaGatewayOptions, type RealmOptions } from './media-gateway.js';
export { Context } from './context.js';
export { Termination, type GeneralCause, type PreparedChange, type TerminationHost, HEARTBEAT_EVENT, CAUSE_EVENT } from './termination.js';
export { Stream, DEFAULT_MODE } from './stream.js';
export { RootTermination, type RootPropertiesListener } from './root.js';
export { TRANSPORT_ALLOCATION, type AllocationKind, type MediaPort, type RealmPorts } from './media.js';
export { terminationStatistics, streamStatistics, type StatValue } from './stats.js';
export { matchesWildcard, isRoot, isWildcard, MAX_CONTEXT_ID } from './ids.js';
export { MgError, mgError } from './errors.js';
export * from './types.js';
