/**
 * Limits of the H.248 text codec.
 *
 * Every decode runs inside these bounds; going past any of them is an `ERR_H248_LIMIT` error
 * (`H248CodecError`) naming the limit, never a crash, a deep recursion or unbounded memory. The daemon
 * passes its configured values (config `h248.codec.*`); anything not given takes the default here.
 */
import { H248CodecError } from './errors.js';

export interface CodecLimits {
  /**
   * Largest message accepted, in bytes of UTF-8 (a string input is measured as UTF-8 too).
   * Default 65536: the largest UDP payload, rounded. Raise it for TCP if controllers send bigger
   * messages; time and memory stay linear in the size.
   */
  readonly maxMessageBytes: number;
  /**
   * Deepest nesting of `{ }` (the grammar's own nesting is about 12; only v3's RegulatedNotify/Embed
   * recursion goes deeper). Default 24; at most 1000, which keeps the recursive descent far from the stack limit.
   */
  readonly maxDepth: number;
  /** Transactions (requests, replies, Pending, ResponseAck, Segment) in one message. Default 256. */
  readonly maxTransactions: number;
  /** Actions (`Context = ... { }`) in one transaction. Default 64. */
  readonly maxActionsPerTransaction: number;
  /** Commands (and command replies) in one action. Default 1024 (a wildcard reply lists many). */
  readonly maxCommandsPerAction: number;
  /** Descriptors directly inside one command or command reply. Default 32. */
  readonly maxDescriptorsPerCommand: number;
  /**
   * Items of any other comma-separated list (properties, events, signals, statistics, packages,
   * termination lists, acks, list values...). Default 1024.
   */
  readonly maxListItems: number;
  /** Lines of SDP inside one Local or Remote descriptor. Default 512. */
  readonly maxSdpLines: number;
  /**
   * Longest quoted string, name, value, digit map, or SDP line, in characters. Default 4096.
   */
  readonly maxStringLength: number;
}

/** The defaults documented on each field of {@link CodecLimits}. */
export const DEFAULT_CODEC_LIMITS: CodecLimits = Object.freeze({
  maxMessageBytes: 65536,
  maxDepth: 24,
  maxTransactions: 256,
  maxActionsPerTransaction: 64,
  maxCommandsPerAction: 1024,
  maxDescriptorsPerCommand: 32,
  maxListItems: 1024,
  maxSdpLines: 512,
  maxStringLength: 4096,
});

/** Upper bound for maxDepth (the parser recurses once per nesting level). */
export const MAX_DEPTH_CAP = 1000;

const KEYS = Object.keys(DEFAULT_CODEC_LIMITS) as (keyof CodecLimits)[];

/**
 * Merges `partial` over the defaults. Each given value must be a positive integer (or
 * `Infinity` for "no limit" on anything but maxMessageBytes and maxDepth, which must stay finite;
 * maxDepth at most {@link MAX_DEPTH_CAP}).
 */
export function resolveLimits(partial?: Partial<CodecLimits>): CodecLimits {
  if (partial === undefined || partial === DEFAULT_CODEC_LIMITS) return DEFAULT_CODEC_LIMITS;
  const out: Record<string, number> = { ...DEFAULT_CODEC_LIMITS };
  for (const k of KEYS) {
    const v = partial[k];
    if (v === undefined) continue;
    const finiteOnly = k === 'maxMessageBytes' || k === 'maxDepth';
    const ok =
      typeof v === 'number' &&
      v >= 1 &&
      (Number.isInteger(v) || (!finiteOnly && v === Number.POSITIVE_INFINITY)) &&
      (k !== 'maxDepth' || v <= MAX_DEPTH_CAP);
    if (!ok) {
      throw new H248CodecError(
        'ERR_H248_INVALID_MODEL',
        `codec limit ${k} must be a positive integer${k === 'maxDepth' ? ` up to ${MAX_DEPTH_CAP}` : ''}, not ${String(v)}`,
      );
    }
    out[k] = v;
  }
  return out as unknown as CodecLimits;
}
