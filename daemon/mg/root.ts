/**
 * The ROOT termination: the gateway as a whole. Holds the root package properties (capacities from
 * the config, read-only; timers the controller may set), ServiceState, and ROOT's Events descriptor
 * (e.g. `it/ito`), which it hands to the association through RootEventsListeners.
 */
import type { RequestedEvent, ServiceState } from '../control/codec/model.js';
import type { RootEventsListener } from '../control/handler.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observe/log.js';
import { mergeProperties } from './termination.js';
import type { StoredEvents, StoredProperty } from './types.js';

export type RootPropertiesListener = (changed: readonly StoredProperty[]) => void;

export class RootTermination {
  readonly id = 'ROOT';
  serviceState: ServiceState = 'inService';
  #properties: readonly StoredProperty[];
  #events: StoredEvents | undefined;
  readonly #eventListeners = new Set<RootEventsListener>();
  readonly #propertyListeners = new Set<RootPropertiesListener>();
  readonly #log: Logger;

  constructor(initial: readonly StoredProperty[], log: Logger) {
    this.#properties = initial;
    this.#log = log;
  }

  get properties(): readonly StoredProperty[] {
    return this.#properties;
  }

  property(name: string): StoredProperty | undefined {
    const l = name.toLowerCase();
    return this.#properties.find((p) => p.name.toLowerCase() === l);
  }

  get events(): StoredEvents | undefined {
    return this.#events;
  }

  /** Writable root properties set by the controller (validated: not read-only, legal on ROOT). */
  setProperties(props: readonly StoredProperty[]): void {
    if (props.length === 0) return;
    this.#properties = mergeProperties(this.#properties, props);
    for (const l of this.#propertyListeners) {
      try {
        l(props);
      } catch (e) {
        this.#log.warn({ err: errorMessage(e) }, 'root property listener failed');
      }
    }
  }

  /** ROOT's Events descriptor changed (null: cleared): the association arms or disarms its watch. */
  setEvents(events: StoredEvents | null): void {
    this.#events = events ?? undefined;
    const requested: RequestedEvent[] = events?.events.map((e) => e.requested) ?? [];
    for (const l of this.#eventListeners) {
      try {
        l(events?.requestId, requested);
      } catch (e) {
        this.#log.warn({ err: errorMessage(e) }, 'root events listener failed');
      }
    }
  }

  onEvents(listener: RootEventsListener): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  onPropertiesChanged(listener: RootPropertiesListener): () => void {
    this.#propertyListeners.add(listener);
    return () => this.#propertyListeners.delete(listener);
  }
}
