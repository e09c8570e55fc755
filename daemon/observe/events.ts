/**
 * Lifecycle events for people and tools: registration changes, contexts and terminations created
 * and deleted, security sessions, errors. Published on the /events WebSocket, one JSON object per
 * message, each with a `type` and an ISO time stamp `ts`. Not for the packet path.
 */
import { EventEmitter } from 'node:events';

export type GatewayEvent =
  | { type: 'gateway.started' }
  | { type: 'gateway.stopping'; reason: string }
  | { type: 'registration'; state: 'registering' | 'registered' | 'unregistered' | 'failed'; controller?: string; reason?: string }
  | { type: 'context.created'; context: number }
  | { type: 'context.deleted'; context: number }
  | { type: 'termination.created'; context: number; termination: string; realm?: string }
  | { type: 'termination.deleted'; context: number; termination: string }
  | { type: 'security.session'; termination: string; protocol: 'srtp' | 'tls' | 'dtls'; state: string; detail?: string }
  | { type: 'error'; part: string; code: string; message: string };

export type StampedEvent = GatewayEvent & { ts: string };

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Many observers (WebSocket server, tests) may listen; each is bounded by its own logic.
    this.#emitter.setMaxListeners(0);
  }

  publish(event: GatewayEvent): void {
    const stamped: StampedEvent = { ...event, ts: new Date().toISOString() };
    this.#emitter.emit('event', stamped);
  }

  subscribe(listener: (e: StampedEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }
}
