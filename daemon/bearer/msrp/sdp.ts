/**
 * What MSRP-aware streams need from Local and Remote (PROFILE §6, RFC 4975 §8):
 *
 * - `fillMsrpPath(prep)`: for the TCP plane's prepareStream on `TCP/MSRP` and `TCP/TLS/MSRP`. Local
 *   `a=path:$` becomes the gateway's URI on that leg, `msrp://` (`msrps://` on TLS legs)
 *   `<Local c= address>:<Local m= port>/<random session id>;tcp`; a Local without `a=path` gets one
 *   (an aware leg without our URI cannot work). A Modify that keeps address, port and scheme keeps the
 *   URI (and so the session id) the stream already answered. A Remote `a=path` must hold MSRP URIs
 *   (474 otherwise); a Remote with an m= line but no `a=path` is 472 (the peer's path is required).
 * - `msrpLegOf(stream)`: our URI, the peer's path and its CEMA flag, read from a committed stream.
 */
import type { SdpGroup, SdpMedia, SdpTransport } from '../../control/codec/sdp.js';
import { SDP_ATTR } from '../../control/codec/sdp.js';
import type { StreamPreparation } from '../../mg/media-plane.js';
import type { Stream } from '../../mg/stream.js';
import { mgError, shown } from '../../mg/errors.js';
import { gatewayUri, newSessionId, parseMsrpUri, parsePath, type MsrpUri } from './uri.js';

/** MSRP-aware transports (PROFILE §3); `TCP` is agnostic: bytes only. */
export function isMsrpAware(transport: SdpTransport | undefined): boolean {
  return transport === 'TCP/MSRP' || transport === 'TCP/TLS/MSRP';
}

function pathOf(g: SdpGroup, m: SdpMedia): string[] | undefined {
  return m.get(SDP_ATTR.path) ?? g.session.get(SDP_ATTR.path);
}

function hasCema(g: SdpGroup, m: SdpMedia): boolean {
  return m.hasAttribute('msrp-cema') || g.session.hasAttribute('msrp-cema');
}

/** The URI the stream answered before (to keep its session id across a Modify). */
function previousUri(current: Stream | undefined): MsrpUri | undefined {
  const g = current?.local?.[0];
  const m = g?.media[0];
  if (g === undefined || m === undefined) return undefined;
  const p = pathOf(g, m);
  const u = p?.[p.length - 1];
  return u !== undefined && u !== '$' ? parseMsrpUri(u) : undefined;
}

/**
 * Fills our MSRP URI into the Local groups of an aware stream and checks the Remote path (see the
 * file comment). No-op for other transports. Throws a coded error to fail the command.
 */
export function fillMsrpPath(prep: Pick<StreamPreparation, 'local' | 'remote' | 'current' | 'transport'>): void {
  if (!isMsrpAware(prep.transport)) return;
  for (const g of prep.local ?? []) {
    const m = g.media[0];
    if (m === undefined || !isMsrpAware(m.transport)) continue;
    const tls = m.transport === 'TCP/TLS/MSRP';
    const address = g.effectiveConnection(m)?.address;
    const port = m.port;
    if (address === undefined || address === '$' || typeof port !== 'number') continue;
    const written = pathOf(g, m);
    if (written !== undefined && !(written.length === 1 && written[0] === '$')) {
      // the controller wrote a URI (echoing our earlier answer): it must be an MSRP URI
      for (const u of written) {
        if (parseMsrpUri(u) === undefined) throw mgError('ERR_MG_BAD_SDP', `Local a=path holds an invalid MSRP URI ${shown(u)}`);
      }
      continue;
    }
    const prev = previousUri(prep.current);
    const scheme = tls ? 'msrps' : 'msrp';
    const sessionId =
      prev !== undefined && prev.scheme === scheme && prev.port === port && prev.host === address.toLowerCase() && prev.sessionId !== undefined
        ? prev.sessionId
        : newSessionId();
    const uri = gatewayUri({ tls, address, port, sessionId });
    if (written === undefined) m.set(SDP_ATTR.path, [uri]);
    else if (m.get(SDP_ATTR.path) !== undefined) m.set(SDP_ATTR.path, [uri]);
    else g.session.set(SDP_ATTR.path, [uri]);
  }
  for (const g of prep.remote ?? []) {
    const m = g.media[0];
    if (m === undefined || !isMsrpAware(m.transport)) continue;
    const p = pathOf(g, m);
    if (p === undefined) {
      throw mgError('ERR_MG_REQUIRED_INFO_MISSING', 'Remote of an MSRP-aware stream has no a=path (RFC 4975 §8)');
    }
    if (parsePath(p.join(' ')) === undefined) {
      throw mgError('ERR_MG_BAD_SDP', `Remote a=path holds an invalid MSRP URI ${shown(p.join(' '))}`);
    }
  }
}

/** One aware leg as the relay sees it. */
export interface MsrpLegInfo {
  /** Our URI on this leg, as answered in Local (undefined until a Local with a path exists). */
  readonly localUri: string | undefined;
  /** The peer's path (Remote `a=path`, URIs as written), undefined until a Remote arrives. */
  readonly remotePath: readonly string[] | undefined;
  /** Remote carries `a=msrp-cema` (RFC 6714): match sessions by session id only. */
  readonly cema: boolean;
  /** The leg is TLS (`TCP/TLS/MSRP`). */
  readonly tls: boolean;
}

/** Reads a committed stream's MSRP leg (Local path: our URI; Remote: the peer's path and CEMA). */
export function msrpLegOf(stream: Pick<Stream, 'local' | 'remote'>): MsrpLegInfo {
  const lg = stream.local?.[0];
  const lm = lg?.media[0];
  const lp = lg !== undefined && lm !== undefined ? pathOf(lg, lm) : undefined;
  const rg = stream.remote?.[0];
  const rm = rg?.media[0];
  const rp = rg !== undefined && rm !== undefined ? pathOf(rg, rm) : undefined;
  const t = lm?.transport ?? rm?.transport;
  return {
    localUri: lp !== undefined && lp[0] !== '$' ? lp[lp.length - 1] : undefined,
    remotePath: rp,
    cema: rg !== undefined && rm !== undefined ? hasCema(rg, rm) : false,
    tls: t === 'TCP/TLS/MSRP',
  };
}
