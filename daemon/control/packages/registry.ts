/**
 * The package registry: looks items up by `pkg/item` name (case-insensitive, with `h248.aliases`),
 * follows `extends`, and turns the text values of the H.248 parser into typed values, or throws the
 * coded error the controller must get. Pure data and functions, no I/O.
 *
 * Error codes (daemon/control/errors.ts maps them to H.248):
 * - unknown package                                   ERR_PKG_UNKNOWN_PACKAGE      440
 * - property the package defines but trgwd does not implement (`supported: false`), or a property
 *   name without a package                           ERR_PKG_UNKNOWN_PROPERTY     445
 * - known package, no such property                  ERR_PKG_NO_SUCH_PROPERTY     450
 * - known package, no such event / signal / statistic  ERR_PKG_NO_SUCH_EVENT 451 / _SIGNAL 452 / _STATISTIC 453
 * - unknown parameter of an event or signal          ERR_PKG_UNKNOWN_PARAMETER    446
 * - required parameter missing                       ERR_PKG_MISSING_PARAMETER    457
 * - value that does not fit the item's type          ERR_PKG_BAD_VALUE            449, text
 *   `bad value "<value>" for <item> (expected <what>)` with the item as the controller spelled it
 * - property not legal in this descriptor            ERR_PKG_ILLEGAL_IN_DESCRIPTOR 455
 * - setting a read-only property                     ERR_MG_READ_ONLY             534
 *
 * 445 vs 450: 450 ("No such property in this package") when the name is not in the package at all;
 * 445 ("Unsupported or Unknown Property") when the standard defines it and we do not implement it
 * (TS 29.334 §5.2: "not implemented → 445"), so a controller can tell a typo from a missing feature.
 *
 * Aliases (`h248.aliases`): `{ "tlsbsc/tbd_failure": "tlsbsc/fail", "ipnapt/l": "ipnapt/latch" }`
 * rename single items; a key without `/` renames a whole package (`{ "tlsx": "tlsbsc" }`). Targets
 * must exist; keys may not shadow a real package or item. Results carry both the canonical name and
 * the spelling the controller used (`requested`), so replies and Notify can echo the latter.
 */
import { TrgwdError } from '../../errors.js';
import { PACKAGES } from './catalog.js';
import type {
  EventDef,
  PackageDef,
  PackageValue,
  ParameterDef,
  PropertyDef,
  PropertyLocation,
  SignalDef,
  StatisticDef,
  ValueType,
} from './types.js';
import { describeType, formatValue, parseValue } from './values.js';

export type ItemKind = 'property' | 'event' | 'signal' | 'statistic';

export interface Resolved<D> {
  /** Canonical `pkg/item`: the defining package (a base package when inherited), table spelling. */
  readonly name: string;
  readonly package: PackageDef;
  readonly def: D;
  /** The name as the controller wrote it, before alias resolution. */
  readonly requested: string;
}

export interface ParsedProperty extends Resolved<PropertyDef> {
  readonly value: PackageValue;
}

/** A parameter as the parser gives it: name and text value(s). */
export interface ParameterText {
  readonly name: string;
  readonly value: string | readonly string[];
}

export interface PackageRegistryOptions {
  /** Packages to serve (default: all of catalog.ts). */
  readonly packages?: readonly PackageDef[];
  /** `h248.aliases` from the config. */
  readonly aliases?: Readonly<Record<string, string>>;
}

/** Longest value quoted back in an error text. */
const MAX_VALUE_IN_TEXT = 64;

export class PackageError extends TrgwdError {}

interface PackageIndex {
  readonly def: PackageDef;
  readonly properties: Map<string, PropertyDef>;
  readonly events: Map<string, EventDef>;
  readonly signals: Map<string, SignalDef>;
  readonly statistics: Map<string, StatisticDef>;
}

const KIND_MAP = {
  property: 'properties',
  event: 'events',
  signal: 'signals',
  statistic: 'statistics',
} as const;

const NOT_FOUND_CODE: Record<ItemKind, string> = {
  property: 'ERR_PKG_NO_SUCH_PROPERTY',
  event: 'ERR_PKG_NO_SUCH_EVENT',
  signal: 'ERR_PKG_NO_SUCH_SIGNAL',
  statistic: 'ERR_PKG_NO_SUCH_STATISTIC',
};

export class PackageRegistry {
  private readonly byName = new Map<string, PackageIndex>();
  private readonly order: PackageIndex[] = [];
  /** Lower-case alias → lower-case target (`pkg/item` or `pkg`). */
  private readonly aliases = new Map<string, string>();

  constructor(options: PackageRegistryOptions = {}) {
    for (const def of options.packages ?? PACKAGES) this.add(def);
    for (const [from, to] of Object.entries(options.aliases ?? {})) this.addAlias(from, to);
  }

  // ---- packages

  has(name: string): boolean {
    return this.findPackage(name) !== undefined;
  }

  findPackage(name: string): PackageDef | undefined {
    return this.index(name)?.def;
  }

  /** The package, or ERR_PKG_UNKNOWN_PACKAGE (440). */
  package(name: string): PackageDef {
    const p = this.index(name);
    if (p === undefined)
      throw err('ERR_PKG_UNKNOWN_PACKAGE', `unknown package "${clip(name)}"`, { package: name });
    return p.def;
  }

  packages(): readonly PackageDef[] {
    return this.order.map((p) => p.def);
  }

  /** `name-version` of every package, for the Packages descriptor (AuditValue, AuditCapabilities). */
  packagesDescriptor(): string[] {
    return this.order.map((p) => `${p.def.name}-${p.def.version}`);
  }

  // ---- items

  /** A property, checked for support and, when `where` is given, for legality there. */
  property(ref: string, where?: PropertyLocation): Resolved<PropertyDef> {
    const r = this.resolve('property', ref);
    if (r.def.supported === false) {
      throw err('ERR_PKG_UNKNOWN_PROPERTY', `property ${clip(ref)} is not supported`, { item: r.name });
    }
    if (where !== undefined && !r.def.where.includes(where)) {
      throw err(
        'ERR_PKG_ILLEGAL_IN_DESCRIPTOR',
        `property ${clip(ref)} is not allowed in ${where === 'ROOT' ? 'the ROOT termination' : where}`,
        { item: r.name, where },
      );
    }
    return r;
  }

  /**
   * Parses a property value from text. `write` (default true) refuses read-only properties with 534;
   * pass false when the value is only compared (e.g. audit filters).
   */
  parseProperty(
    ref: string,
    text: string | readonly string[],
    where: PropertyLocation,
    options: { write?: boolean } = {},
  ): ParsedProperty {
    const r = this.property(ref, where);
    if (options.write !== false && r.def.readOnly === true) {
      throw err('ERR_MG_READ_ONLY', `property ${clip(ref)} is read-only`, { item: r.name });
    }
    return { ...r, value: parseOrThrow(r.def.type, text, clip(ref)) };
  }

  event(ref: string): Resolved<EventDef> {
    return this.resolve('event', ref);
  }

  signal(ref: string): Resolved<SignalDef> {
    return this.resolve('signal', ref);
  }

  statistic(ref: string): Resolved<StatisticDef> {
    return this.resolve('statistic', ref);
  }

  /** Parses the parameters of an event in an Events descriptor. 446 / 449 / 457. */
  parseEventParameters(ref: string, params: Iterable<ParameterText>): Record<string, PackageValue> {
    const r = this.event(ref);
    return parseParameters(r.def.parameters ?? [], params, 'event', ref);
  }

  /** Parses the package parameters of a signal in a Signals descriptor. 446 / 449 / 457. */
  parseSignalParameters(ref: string, params: Iterable<ParameterText>): Record<string, PackageValue> {
    const r = this.signal(ref);
    return parseParameters(r.def.parameters ?? [], params, 'signal', ref);
  }

  /**
   * Formats the ObservedEvents parameters the gateway reports, in table order. An unknown name is a
   * programming error (ERR_PKG_UNKNOWN_PARAMETER); absent values are left out.
   */
  formatObserved(ref: string, values: Readonly<Record<string, PackageValue | undefined>>): ParameterText[] {
    const r = this.event(ref);
    const defs = r.def.observed ?? [];
    for (const name of Object.keys(values)) {
      if (!defs.some((d) => d.name.toLowerCase() === name.toLowerCase())) {
        throw err(
          'ERR_PKG_UNKNOWN_PARAMETER',
          `no observed parameter "${clip(name)}" on event ${clip(ref)}`,
          {
            item: r.name,
            parameter: name,
          },
        );
      }
    }
    const out: ParameterText[] = [];
    for (const d of defs) {
      const key = Object.keys(values).find((k) => k.toLowerCase() === d.name.toLowerCase());
      const v = key !== undefined ? values[key] : undefined;
      if (v !== undefined) out.push({ name: d.name, value: formatValue(d.type, v) });
    }
    return out;
  }

  /** Formats a property or statistic value for a reply (AuditValue, Subtract statistics). */
  format(kind: 'property' | 'statistic', ref: string, value: PackageValue): string | string[] {
    const r = kind === 'property' ? this.resolve('property', ref) : this.resolve('statistic', ref);
    return formatValue(r.def.type, value);
  }

  /** Supported properties legal at `where` (for audits), canonical names. */
  propertiesAt(where: PropertyLocation): Resolved<PropertyDef>[] {
    const out: Resolved<PropertyDef>[] = [];
    for (const p of this.order) {
      for (const def of p.def.properties ?? []) {
        if (def.supported === false || !def.where.includes(where)) continue;
        const name = `${p.def.name}/${def.name}`;
        out.push({ name, package: p.def, def, requested: name });
      }
    }
    return out;
  }

  /** Defaults of the supported properties legal at `where`, by canonical name. */
  defaults(where: PropertyLocation): Map<string, PackageValue> {
    const out = new Map<string, PackageValue>();
    for (const r of this.propertiesAt(where)) if (r.def.default !== undefined) out.set(r.name, r.def.default);
    return out;
  }

  /** Every statistic (own items of each package), canonical names. */
  statistics(): Resolved<StatisticDef>[] {
    const out: Resolved<StatisticDef>[] = [];
    for (const p of this.order) {
      for (const def of p.def.statistics ?? []) {
        const name = `${p.def.name}/${def.name}`;
        out.push({ name, package: p.def, def, requested: name });
      }
    }
    return out;
  }

  // ---- internals

  private index(name: string): PackageIndex | undefined {
    const lower = name.trim().toLowerCase();
    return this.byName.get(this.aliases.get(lower) ?? lower);
  }

  private resolve<K extends ItemKind>(kind: K, ref: string): Resolved<ItemDefOf<K>> {
    const requested = ref.trim();
    const lower = requested.toLowerCase();
    const target = this.aliases.get(lower) ?? lower;
    const slash = target.indexOf('/');
    if (slash <= 0 || slash === target.length - 1) {
      // not `pkg/item`: a bare name is no package item
      const code = kind === 'property' ? 'ERR_PKG_UNKNOWN_PROPERTY' : NOT_FOUND_CODE[kind];
      throw err(code, `unknown ${kind} "${clip(requested)}"`, { item: requested });
    }
    const pkgName = target.slice(0, slash);
    const itemName = target.slice(slash + 1);
    const pkg = this.index(pkgName);
    if (pkg === undefined) {
      throw err(
        'ERR_PKG_UNKNOWN_PACKAGE',
        `unknown package "${clip(requested.slice(0, slash))}" in ${clip(requested)}`,
        {
          package: pkgName,
          item: requested,
        },
      );
    }
    const found = this.lookup(pkg, kind, itemName);
    if (found === undefined) {
      throw err(NOT_FOUND_CODE[kind], `no ${kind} "${clip(itemName)}" in package ${pkg.def.name}`, {
        package: pkg.def.name,
        item: requested,
      });
    }
    return {
      name: `${found.pkg.def.name}/${found.def.name}`,
      package: found.pkg.def,
      def: found.def,
      requested,
    };
  }

  /** Own items first, then the `extends` chain (registered base packages only). */
  private lookup<K extends ItemKind>(
    pkg: PackageIndex,
    kind: K,
    itemLower: string,
  ): { pkg: PackageIndex; def: ItemDefOf<K> } | undefined {
    const seen = new Set<PackageIndex>();
    for (let p: PackageIndex | undefined = pkg; p !== undefined && !seen.has(p);) {
      seen.add(p);
      const def = (p[KIND_MAP[kind]] as Map<string, ItemDefOf<K>>).get(itemLower);
      if (def !== undefined) return { pkg: p, def };
      p = p.def.extends !== undefined ? this.byName.get(p.def.extends.name.toLowerCase()) : undefined;
    }
    return undefined;
  }

  private add(def: PackageDef): void {
    const key = def.name.toLowerCase();
    const bad = (why: string): TrgwdError =>
      new TrgwdError('ERR_PKG_CATALOG', `package ${def.name}: ${why}`, { details: { package: def.name } });
    if (this.byName.has(key)) throw bad('registered twice');
    const mapOf = <D extends { name: string }>(
      items: readonly D[] | undefined,
      what: string,
    ): Map<string, D> => {
      const m = new Map<string, D>();
      for (const item of items ?? []) {
        const k = item.name.toLowerCase();
        if (m.has(k)) throw bad(`${what} ${item.name} defined twice`);
        m.set(k, item);
      }
      return m;
    };
    const checkDefault = (type: ValueType, value: PackageValue | undefined, what: string): void => {
      if (value === undefined) return;
      const text = formatValue(type, value);
      if (!parseValue(type, text).ok) throw bad(`default of ${what} does not fit its type`);
    };
    for (const p of def.properties ?? []) checkDefault(p.type, p.default, p.name);
    for (const e of def.events ?? [])
      for (const p of e.parameters ?? []) checkDefault(p.type, p.default, `${e.name}/${p.name}`);
    for (const s of def.signals ?? [])
      for (const p of s.parameters ?? []) checkDefault(p.type, p.default, `${s.name}/${p.name}`);
    const index: PackageIndex = {
      def,
      properties: mapOf(def.properties, 'property'),
      events: mapOf(def.events, 'event'),
      signals: mapOf(def.signals, 'signal'),
      statistics: mapOf(def.statistics, 'statistic'),
    };
    this.byName.set(key, index);
    this.order.push(index);
  }

  private addAlias(from: string, to: string): void {
    const f = from.trim().toLowerCase();
    const t = to.trim().toLowerCase();
    const bad = (why: string): TrgwdError =>
      new TrgwdError('ERR_PKG_BAD_ALIAS', `h248.aliases: "${from}" -> "${to}": ${why}`, {
        details: { from, to },
      });
    const shape = /^[a-z][a-z0-9_]*(\/[a-z][a-z0-9_]*)?$/;
    if (!shape.test(f) || !shape.test(t)) throw bad('names must be "package" or "package/item"');
    if (f.includes('/') !== t.includes('/')) throw bad('a package maps to a package, an item to an item');
    if (!t.includes('/')) {
      if (this.byName.has(f)) throw bad('the alias shadows a registered package');
      if (!this.byName.has(t)) throw bad('no such package');
    } else {
      const [fp, fi] = f.split('/') as [string, string];
      const [tp, ti] = t.split('/') as [string, string];
      const tpkg = this.byName.get(tp);
      if (tpkg === undefined || !this.anyKind(tpkg, ti)) throw bad('no such package item');
      const fpkg = this.byName.get(fp);
      if (fpkg !== undefined && this.anyKind(fpkg, fi)) throw bad('the alias shadows a registered item');
    }
    if (this.aliases.has(f)) throw bad('alias defined twice');
    this.aliases.set(f, t);
  }

  private anyKind(pkg: PackageIndex, itemLower: string): boolean {
    return (['property', 'event', 'signal', 'statistic'] as const).some(
      (k) => this.lookup(pkg, k, itemLower) !== undefined,
    );
  }
}

type ItemDefOf<K extends ItemKind> = K extends 'property'
  ? PropertyDef
  : K extends 'event'
    ? EventDef
    : K extends 'signal'
      ? SignalDef
      : StatisticDef;

function parseParameters(
  defs: readonly ParameterDef[],
  params: Iterable<ParameterText>,
  kind: 'event' | 'signal',
  ref: string,
): Record<string, PackageValue> {
  const out: Record<string, PackageValue> = {};
  for (const p of params) {
    const lower = p.name.trim().toLowerCase();
    const def = defs.find((d) => d.name.toLowerCase() === lower);
    if (def === undefined) {
      throw err('ERR_PKG_UNKNOWN_PARAMETER', `no parameter "${clip(p.name)}" on ${kind} ${clip(ref)}`, {
        item: ref,
        parameter: p.name,
      });
    }
    out[def.name] = parseOrThrow(def.type, p.value, `${clip(ref)} parameter ${def.name}`);
  }
  for (const d of defs) {
    if (d.required === true && !(d.name in out)) {
      throw err('ERR_PKG_MISSING_PARAMETER', `missing parameter ${d.name} on ${kind} ${clip(ref)}`, {
        item: ref,
        parameter: d.name,
      });
    }
  }
  return out;
}

function parseOrThrow(type: ValueType, text: string | readonly string[], what: string): PackageValue {
  const r = parseValue(type, text);
  if (r.ok) return r.value;
  const shown = typeof text === 'string' ? text : `{${text.join(',')}}`;
  throw err(
    'ERR_PKG_BAD_VALUE',
    `bad value "${clip(unquoteForText(shown))}" for ${what} (expected ${r.expected})`,
    {
      item: what,
      value: shown,
      expected: describeType(type),
    },
  );
}

/** The value as shown inside our own quotes: surrounding quotes of a quoted value dropped. */
function unquoteForText(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

function clip(text: string): string {
  return text.length > MAX_VALUE_IN_TEXT ? `${text.slice(0, MAX_VALUE_IN_TEXT)}...` : text;
}

function err(code: string, message: string, details: Record<string, unknown>): PackageError {
  return new PackageError(code, message, { details });
}
