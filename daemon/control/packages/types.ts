/**
 * The shape of an H.248 package as data (H.248.1 §12): properties, events, signals and statistics
 * with their value types, defaults and where they are legal. A package file is a `PackageDef` value;
 * adding an item is adding a row, never a parser branch.
 */

/** Value types of package items (H.248.1 §12.1.1 "Type"). */
export type ValueType =
  | { readonly kind: 'boolean' }
  | {
      readonly kind: 'integer';
      readonly min?: number;
      readonly max?: number;
      /** Also accept hexadecimal text: `0x2e`, or digits containing a-f such as `2e` (see values.ts). */
      readonly hex?: boolean;
    }
  | { readonly kind: 'double'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'string'; readonly maxLength?: number }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** Octet string written as hex digits (`0a1b`, optional `0x`). */
  | { readonly kind: 'octets'; readonly maxLength?: number }
  | { readonly kind: 'list'; readonly of: ValueType; readonly maxItems?: number };

/** A typed value: boolean, integer/double (number), string/enum (string), octets (Buffer), list. */
export type PackageValue = boolean | number | string | Buffer | readonly PackageValue[];

/**
 * Where a property may appear. `ROOT` means the TerminationState of the ROOT termination (root
 * package timers and capacities); the command layer passes `ROOT` when the termination is ROOT.
 */
export type PropertyLocation = 'LocalControl' | 'TerminationState' | 'ROOT';

interface ItemBase {
  /** Text name of the item (case-insensitive on the wire; this spelling is canonical). */
  readonly name: string;
  /** Binary id where known (H.248.1 Annex E / IANA); omitted where not public. */
  readonly id?: number;
  readonly description: string;
  /** Name, coding or semantics are this project's reading, not a verified standard text. */
  readonly provisional?: boolean;
}

export interface PropertyDef extends ItemBase {
  readonly type: ValueType;
  /** Value when the controller has not set it (absent: provisioned by config or none). */
  readonly default?: PackageValue;
  readonly where: readonly PropertyLocation[];
  /** A controller may read it (AuditValue) but not set it (H.248 534). */
  readonly readOnly?: boolean;
  readonly unit?: string;
  /**
   * False for a property the standard defines but trgwd does not implement: setting it is answered
   * with 445 ("Unsupported or Unknown Property"), where a name the package does not define at all is
   * 450 ("No such property in this package").
   */
  readonly supported?: boolean;
}

export interface ParameterDef extends ItemBase {
  readonly type: ValueType;
  readonly default?: PackageValue;
  /** Must be present (H.248 457 when missing). */
  readonly required?: boolean;
  readonly unit?: string;
}

export interface EventDef extends ItemBase {
  /** Parameters a controller may put on the event in an Events descriptor. */
  readonly parameters?: readonly ParameterDef[];
  /** Parameters the gateway reports in ObservedEvents. */
  readonly observed?: readonly ParameterDef[];
}

/** On/off, timeout, brief (H.248.1 §7.1.11). */
export type SignalType = 'OO' | 'TO' | 'BR';

export interface SignalDef extends ItemBase {
  /** Default signal type. */
  readonly signalType: SignalType;
  /** Default duration for TO signals, ms. */
  readonly duration?: number;
  readonly parameters?: readonly ParameterDef[];
}

export interface StatisticDef extends ItemBase {
  readonly type: ValueType;
  readonly unit?: string;
}

export interface PackageDef {
  readonly name: string;
  /** IANA package id. */
  readonly id: number;
  readonly version: number;
  /** Base package whose items this one inherits (H.248.1 §12.1). */
  readonly extends?: { readonly name: string; readonly version: number };
  /** Defining Recommendation. */
  readonly spec: string;
  readonly description: string;
  /** Item names, types or codings are this project's reading (see PROFILE.md, `h248.aliases`). */
  readonly provisional?: boolean;
  readonly properties?: readonly PropertyDef[];
  readonly events?: readonly EventDef[];
  readonly signals?: readonly SignalDef[];
  readonly statistics?: readonly StatisticDef[];
}
