/**
 * Builders of portable leg security on a relay worker (forwarder.ts PortableSecurity), by spec kind:
 * the worker gets only the spec (data crosses threads, functions do not) and builds the transforms
 * with the same code the main thread uses. A kind this table does not know drops every packet of the
 * leg (counted as `security` drops) and says so once, rather than relaying media it cannot secure.
 */
import type { LegSecurity, SecuritySpec, TransformEnv } from './forwarder.js';
import { buildSrtpTransform, type SrtpSpec } from '../../tls/srtp/transform.js';

const dropAll: LegSecurity = { inbound: () => -1, outbound: () => undefined };

export function buildSecurity(spec: SecuritySpec, prev: LegSecurity | undefined, env: TransformEnv): LegSecurity {
  switch (spec.kind) {
    case 'srtp':
      return buildSrtpTransform(spec as SrtpSpec, prev, env);
    default:
      env.event({ kind: 'error', message: `no builder for security kind ${spec.kind} on a relay worker` });
      return dropAll;
  }
}
