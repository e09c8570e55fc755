/**
 * The seams between the control association (transport → transaction engine → association) and the
 * gateway model (commands → mg), modelled on Erlang/OTP megaco's user callbacks.
 *
 *   association ──execute(TransactionRequest)──▶ commands/ (TransactionHandler) ──▶ mg/
 *   association ◀──notify(...)/serviceChange(...)── mg/ (through ControllerLink)
 *   association ◀──onRootEvents(...)── commands/ (ROOT Events such as it/ito)
 *
 * The association owns registration, 505-before-registration, version checks and ServiceChange
 * on ROOT received from the controller; everything else in a request reaches the TransactionHandler.
 */
import type { ActionReply, ObservedEvent, RequestedEvent, ServiceChangeParms, TransactionRequest } from './codec/model.js';

export interface RequestContext {
  /** Protocol version of this association (negotiated at registration); replies use it. */
  readonly version: number;
  /** Who sent the request. */
  readonly peer: { readonly address: string; readonly port: number; readonly transport: 'udp' | 'tcp'; readonly key: string };
}

/**
 * Executes the actions of one transaction request in order (H.248.1 §8): command errors are encoded
 * in the returned ActionReply list (processing stops at the first failing non-optional command);
 * only a transaction-level failure throws a TrgwdError (mapped through daemon/control/errors.ts).
 */
export interface TransactionHandler {
  execute(request: TransactionRequest, ctx: RequestContext): Promise<ActionReply[]>;
}

/** One Notify the gateway model wants sent to the controller. */
export interface NotifyRequestOut {
  readonly contextId: number | '-';
  readonly terminationId: string;
  readonly requestId: number;
  readonly events: ObservedEvent[];
}

/** A ServiceChange the gateway model originates for terminations (e.g. Forced, 905). */
export interface ServiceChangeOut {
  readonly contextId: number | '-';
  readonly terminationId: string;
  readonly services: ServiceChangeParms;
}

/**
 * How the gateway model reaches the controller. The association sends each request and retries it
 * (UDP back-off, T-MAX) until answered; an unanswered one counts as controller loss (failover). The
 * returned promise settles with the outcome, for callers that care; most fire and forget.
 */
export interface ControllerLink {
  notify(n: NotifyRequestOut): Promise<void>;
  serviceChange(sc: ServiceChangeOut): Promise<void>;
  /** True while registered: events seen before that are buffered or dropped by the model. */
  readonly registered: boolean;
}

/** ROOT's Events descriptor changed (e.g. `it/ito` with `mit`): the association arms its watch. */
export type RootEventsListener = (requestId: number | undefined, events: readonly RequestedEvent[]) => void;
