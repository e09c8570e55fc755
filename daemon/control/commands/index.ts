/** The command layer: executes H.248 transaction requests against the gateway model. */
export { CommandExecutor, type CommandExecutorOptions } from './executor.js';
export { buildUpdate, buildRootUpdate, parseEvents, parseSignals, REALM_PROPERTY, type DescriptorContext } from './descriptors.js';
export { auditTermination, auditRoot, statisticsOf, mediaOf, packagesOf } from './audit.js';
