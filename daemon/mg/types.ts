/**
 * Shared types of the gateway model: what the command layer hands to mg/ (typed, validated values,
 * never H.248 text) and the small seams mg/ needs (clock, timers).
 */
import type { SdpGroup } from '../control/codec/sdp.js';
import type {
  BufferControl,
  DigitMapDescriptor,
  EventSpec,
  PropertyParm,
  RequestedEvent,
  ServiceState,
  SignalParm,
  StreamMode,
} from '../control/codec/model.js';
import type { PackageValue } from '../control/packages/types.js';

/** A property the registry accepted: canonical name, typed value and the parm as the controller wrote it. */
export interface StoredProperty {
  /** Canonical `pkg/item`. */
  readonly name: string;
  readonly value: PackageValue;
  /** As received (the controller's spelling and text), echoed back by audits. */
  readonly parm: PropertyParm;
}

/** One requested event after validation. */
export interface StoredEvent {
  /** Canonical `pkg/item`. */
  readonly name: string;
  /** Typed parameters (registry names). */
  readonly params: Readonly<Record<string, PackageValue>>;
  /** As received: audits echo it and Notify uses its spelling of the name. */
  readonly requested: RequestedEvent;
}

/** The Events descriptor of a termination (H.248.1 §7.1.9). */
export interface StoredEvents {
  readonly requestId: number;
  readonly events: readonly StoredEvent[];
}

/** The Signals descriptor as applied (H.248.1 §7.1.11): validated, kept as received. */
export interface StoredSignals {
  /** Canonical names of the signals (lists flattened), for behaviour lookups. */
  readonly names: readonly string[];
  readonly parms: readonly SignalParm[];
}

/** What a Stream descriptor asks for, validated by the command layer. */
export interface StreamUpdate {
  readonly id: number;
  /**
   * A LocalControl descriptor was present: it replaces mode, reserve flags and properties as a whole
   * (H.248.1 §7.1.7); absent fields take their defaults.
   */
  readonly localControl?: {
    readonly mode?: StreamMode;
    readonly reserveValue?: boolean;
    readonly reserveGroup?: boolean;
    readonly properties: readonly StoredProperty[];
  };
  /** Parsed Local: [] is an empty Local (release the receive resources, H.248.1 §7.1.8 b). */
  readonly local?: SdpGroup[];
  /** Parsed Remote: [] is an empty Remote. */
  readonly remote?: SdpGroup[];
}

/** Everything an Add, Modify or Move may change on a termination. Absent: unchanged. */
export interface TerminationUpdate {
  readonly streams?: readonly StreamUpdate[];
  /** Realm named by `ipdc/realm` (LocalControl or TerminationState); absent: unchanged / default. */
  readonly realm?: string;
  readonly terminationState?: {
    readonly serviceState?: ServiceState;
    readonly bufferControl?: BufferControl;
    readonly properties?: readonly StoredProperty[];
  };
  /** null: a bare `Events` (clear). */
  readonly events?: StoredEvents | null;
  readonly signals?: StoredSignals;
  readonly eventBuffer?: readonly EventSpec[];
  readonly digitMap?: DigitMapDescriptor;
}

/**
 * Counters the media plane (a later issue) updates on each stream; plain numbers, no allocation per
 * packet. Jitter is RFC 3550 interarrival jitter in ms.
 */
export interface StreamCounters {
  octetsSent: number;
  octetsReceived: number;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  jitterMs: number;
  /** Received packets and octets the policer dropped (tman/pol; reported as tmanr/dp and tmanr/do). */
  policedPackets: number;
  policedOctets: number;
}

export function newStreamCounters(): StreamCounters {
  return {
    octetsSent: 0,
    octetsReceived: 0,
    packetsSent: 0,
    packetsReceived: 0,
    packetsLost: 0,
    jitterMs: 0,
    policedPackets: 0,
    policedOctets: 0,
  };
}

/** Time and timers, injectable so tests can drive heartbeats without waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    // a heartbeat must not keep the process alive on its own (test doubles may lack unref)
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** H.248 TimeStamp `yyyymmddThhmmssss` (UTC, hundredths of a second; H.248.1 Annex B). */
export function h248Timestamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(Math.floor(d.getUTCMilliseconds() / 10))}`
  );
}
