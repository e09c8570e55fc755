/**
 * The seam between the gateway model and what moves the bytes (UDP relay of RTP/RTCP/UDPTL, TCP
 * bearers, TLS, DTLS, SRTP, MSRP). The model knows nothing of sockets beyond port leases; a media
 * plane knows nothing of H.248 text. Each plane serves some transports (PROFILE §3); the gateway
 * holds a list of them and asks each in turn.
 *
 * Life of a change:
 *   1. prepareStream(): while a command is prepared, before anything is committed. A plane fills the
 *      `$` values it owns in the Local the gateway will answer (SRTP keys, certificate fingerprints,
 *      MSRP paths, tls-id), checks what it needs of Remote and LocalControl, and throws a TrgwdError
 *      to fail the command (nothing is committed then). It must not keep state: the change may still
 *      be aborted.
 *   2. contextChanged(): after the commands of an action are committed (terminations added,
 *      modified, moved or subtracted; modes; topology). The plane brings its flows in line with the
 *      context: it is a reconcile, idempotent, and it must not throw (failures are counted, logged
 *      and reported as events on the termination).
 *   3. Flows belong to their Stream (`stream.own(flow)`): subtracting a termination closes its
 *      streams and so their flows, without the plane being told. contextDeleted() tells the plane a
 *      whole context went (to drop per-context state such as forwarding tables).
 */
import type { SdpGroup, SdpTransport } from '../control/codec/sdp.js';
import type { Context } from './context.js';
import type { Stream } from './stream.js';
import type { Termination } from './termination.js';
import type { StoredProperty } from './types.js';

export interface StreamPreparation {
  readonly termination: Termination;
  readonly streamId: number;
  /** The stream as it is now (undefined for a new stream). */
  readonly current: Stream | undefined;
  /** Transport of the Local (else Remote) m= line after this change, if any. */
  readonly transport: SdpTransport | undefined;
  /**
   * The Local groups the gateway will keep and answer, ports already filled, when this command sets
   * a Local; a plane fills its remaining `$` values in place. Undefined when Local is unchanged.
   */
  readonly local: SdpGroup[] | undefined;
  /** The Remote after this change, when this command sets one. */
  readonly remote: SdpGroup[] | undefined;
  /** LocalControl properties after this change. */
  readonly properties: readonly StoredProperty[];
}

export interface MediaPlane {
  /** For logs. */
  readonly name: string;
  /** True when this plane handles streams of this transport. */
  serves(transport: SdpTransport): boolean;
  prepareStream?(p: StreamPreparation): void | Promise<void>;
  contextChanged(ctx: Context): void;
  contextDeleted?(ctx: Context): void;
  /**
   * Resolves when what contextChanged() started is in effect on the wire (e.g. a relay worker thread
   * bound the ports it took over): the command layer may wait for it before answering, so a port the
   * gateway names in a reply is held. Absent: always in effect at once.
   */
  settled?(): Promise<void>;
  close?(): Promise<void>;
}
