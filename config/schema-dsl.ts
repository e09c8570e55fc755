/**
 * A small declarative schema: one tree of typed nodes that validates a parsed YAML value, fills
 * defaults, and documents itself (docs/CONFIG.md is generated from the same tree, so the docs and
 * the checks cannot drift apart).
 *
 * Validation never throws: it collects every problem with its dotted path so `check-config` can show
 * them all at once.
 */

export interface ConfigIssue {
  /** Dotted path of the offending value, e.g. `media.realms.access.ports`. */
  readonly path: string;
  readonly message: string;
}

interface Ctx {
  readonly issues: ConfigIssue[];
}

export interface SchemaNode<T> {
  readonly kind: string;
  readonly doc: string;
  /** Default as documented; `undefined` means required (or, for optional nodes, absent). */
  readonly defaultValue: T | undefined;
  readonly optional: boolean;
  /** Human description of the accepted values, for docs and messages. */
  readonly typeText: string;
  /** Returns the validated value (defaults filled) or undefined after recording issues. */
  check(value: unknown, path: string, ctx: Ctx): T | undefined;
}

function fail(ctx: Ctx, path: string, message: string): undefined {
  ctx.issues.push({ path: path || '(root)', message });
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

interface Common<T> {
  doc: string;
  default?: T;
  optional?: boolean;
}

function leaf<T>(
  kind: string,
  typeText: string,
  opts: Common<T>,
  check: (value: unknown, path: string, ctx: Ctx) => T | undefined,
): SchemaNode<T> {
  return {
    kind,
    doc: opts.doc,
    defaultValue: opts.default,
    optional: opts.optional ?? false,
    typeText,
    check,
  };
}

export function str(opts: Common<string> & { pattern?: RegExp; patternText?: string; nonEmpty?: boolean; maxLength?: number }) {
  const typeText = opts.patternText ?? 'string';
  return leaf<string>('string', typeText, opts, (v, path, ctx) => {
    if (typeof v !== 'string') return fail(ctx, path, `expected ${typeText}, got ${describe(v)}`);
    if (opts.nonEmpty && v.length === 0) return fail(ctx, path, 'expected a non-empty string');
    if (opts.maxLength !== undefined && v.length > opts.maxLength)
      return fail(ctx, path, `expected at most ${opts.maxLength} characters`);
    if (opts.pattern && !opts.pattern.test(v)) return fail(ctx, path, `expected ${typeText}, got ${describe(v)}`);
    return v;
  });
}

export function int(opts: Common<number> & { min?: number; max?: number; unit?: string }) {
  const range =
    opts.min !== undefined && opts.max !== undefined
      ? ` ${opts.min}..${opts.max}`
      : opts.min !== undefined
        ? ` >= ${opts.min}`
        : '';
  const typeText = `integer${range}${opts.unit ? ` (${opts.unit})` : ''}`;
  return leaf<number>('integer', typeText, opts, (v, path, ctx) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return fail(ctx, path, `expected ${typeText}, got ${describe(v)}`);
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max))
      return fail(ctx, path, `expected ${typeText}, got ${v}`);
    return v;
  });
}

export function bool(opts: Common<boolean>) {
  return leaf<boolean>('boolean', 'boolean', opts, (v, path, ctx) =>
    typeof v === 'boolean' ? v : fail(ctx, path, `expected true or false, got ${describe(v)}`),
  );
}

export function oneOf<const V extends string>(values: readonly V[], opts: Common<V>) {
  return leaf<V>('enum', values.join(' | '), opts, (v, path, ctx) =>
    typeof v === 'string' && (values as readonly string[]).includes(v)
      ? (v as V)
      : fail(ctx, path, `expected one of ${values.join(', ')}, got ${describe(v)}`),
  );
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;

/** An optional string: absent unless set. */
export function optStr(opts: { doc: string; pattern?: RegExp; patternText?: string }): SchemaNode<string | undefined> {
  return str({ ...opts, optional: true }) as SchemaNode<string | undefined>;
}

export function isIpAddress(s: string): boolean {
  return IPV4.test(s) || IPV6.test(s);
}

export function ipAddress(opts: Common<string>) {
  const typeText = 'IPv4 or IPv6 address';
  return leaf<string>('string', typeText, opts, (v, path, ctx) =>
    typeof v === 'string' && isIpAddress(v) ? v : fail(ctx, path, `expected ${typeText}, got ${describe(v)}`),
  );
}

export function port(opts: Common<number> & { allowZero?: boolean }) {
  return int({ ...opts, min: opts.allowZero === false ? 1 : 0, max: 65535 });
}

/** `[low, high]` with low <= high, both 1..65535. */
export function portRange(opts: Common<[number, number]>) {
  const typeText = '[low, high] with low <= high';
  return leaf<[number, number]>('portRange', typeText, opts, (v, path, ctx) => {
    const ok =
      Array.isArray(v) &&
      v.length === 2 &&
      v.every((p) => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535) &&
      (v[0] as number) <= (v[1] as number);
    return ok ? ([v[0], v[1]] as [number, number]) : fail(ctx, path, `expected ${typeText} (ports 1..65535), got ${JSON.stringify(v)}`);
  });
}

type Shape = Record<string, SchemaNode<unknown>>;
export type Infer<N> = N extends SchemaNode<infer T> ? T : never;
type OptKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] };
type ObjOf<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, OptKeys<S>>]: Infer<S[K]> } & { [K in OptKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

export interface ObjectNode<S extends Shape> extends SchemaNode<ObjOf<S>> {
  readonly fields: S;
}

export function obj<S extends Shape>(fields: S, opts: { doc: string; optional?: boolean }): ObjectNode<S> {
  const node: ObjectNode<S> = {
    kind: 'object',
    doc: opts.doc,
    defaultValue: undefined,
    optional: opts.optional ?? false,
    typeText: 'mapping',
    fields,
    check(value, path, ctx) {
      const v = value === undefined || value === null ? {} : value;
      if (typeof v !== 'object' || Array.isArray(v)) return fail(ctx, path, `expected a mapping, got ${describe(v)}`);
      const input = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      let ok = true;
      for (const key of Object.keys(input)) {
        if (!(key in fields)) {
          fail(ctx, join(path, key), `unknown key (known keys here: ${Object.keys(fields).join(', ')})`);
          ok = false;
        }
      }
      for (const [key, child] of Object.entries(fields)) {
        const childPath = join(path, key);
        const raw = input[key];
        if (raw === undefined) {
          if (child.kind === 'object') {
            const filled = child.check(undefined, childPath, ctx);
            if (filled === undefined) ok = false;
            else out[key] = filled;
          } else if (child.defaultValue !== undefined) {
            out[key] = structuredClone(child.defaultValue);
          } else if (!child.optional) {
            fail(ctx, childPath, `required (${child.typeText})`);
            ok = false;
          }
          continue;
        }
        const checked = child.check(raw, childPath, ctx);
        if (checked === undefined) ok = false;
        else out[key] = checked;
      }
      return ok ? (out as ObjOf<S>) : undefined;
    },
  };
  return node;
}

export function arr<T>(item: SchemaNode<T>, opts: Common<T[]> & { minItems?: number; maxItems?: number }) {
  const typeText = `list of ${item.typeText}`;
  const node: SchemaNode<T[]> & { item: SchemaNode<T> } = {
    ...leaf<T[]>('array', typeText, opts, (v, path, ctx) => {
      if (!Array.isArray(v)) return fail(ctx, path, `expected ${typeText}, got ${describe(v)}`);
      if (opts.minItems !== undefined && v.length < opts.minItems)
        return fail(ctx, path, `expected at least ${opts.minItems} item(s)`);
      if (opts.maxItems !== undefined && v.length > opts.maxItems)
        return fail(ctx, path, `expected at most ${opts.maxItems} item(s)`);
      const out: T[] = [];
      let ok = true;
      v.forEach((x, i) => {
        const c = item.check(x, `${path}.${i}`, ctx);
        if (c === undefined) ok = false;
        else out.push(c);
      });
      return ok ? out : undefined;
    }),
    item,
  };
  return node;
}

/** A mapping from free names (e.g. realm names) to values of one schema. */
export function record<T>(value: SchemaNode<T>, opts: Common<Record<string, T>> & { keyPattern?: RegExp; minKeys?: number }) {
  const typeText = `mapping of name → ${value.typeText === 'mapping' ? 'entry' : value.typeText}`;
  const node: SchemaNode<Record<string, T>> & { value: SchemaNode<T> } = {
    ...leaf<Record<string, T>>('record', typeText, opts, (v, path, ctx) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(ctx, path, `expected a mapping, got ${describe(v)}`);
      const out: Record<string, T> = {};
      let ok = true;
      const entries = Object.entries(v as Record<string, unknown>);
      if (opts.minKeys !== undefined && entries.length < opts.minKeys)
        return fail(ctx, path, `expected at least ${opts.minKeys} entr${opts.minKeys === 1 ? 'y' : 'ies'}`);
      for (const [k, x] of entries) {
        if (opts.keyPattern && !opts.keyPattern.test(k)) {
          fail(ctx, join(path, k), `bad name ${JSON.stringify(k)}`);
          ok = false;
          continue;
        }
        const c = value.check(x, join(path, k), ctx);
        if (c === undefined) ok = false;
        else out[k] = c;
      }
      return ok ? out : undefined;
    }),
    value,
  };
  return node;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Validates `value` against `schema`: the filled value, or every issue found. */
export function validate<T>(schema: SchemaNode<T>, value: unknown): { ok: true; value: T } | { ok: false; issues: ConfigIssue[] } {
  const ctx: Ctx = { issues: [] };
  const out = schema.check(value, '', ctx);
  if (ctx.issues.length > 0 || out === undefined) return { ok: false, issues: ctx.issues };
  return { ok: true, value: out };
}

/** One documentation row per leaf (and per record/array of mappings, its entry fields). */
export interface DocRow {
  path: string;
  type: string;
  default: string;
  doc: string;
}

export function documentRows(schema: SchemaNode<unknown>, path = ''): DocRow[] {
  const rows: DocRow[] = [];
  const n = schema as SchemaNode<unknown> & { fields?: Shape; item?: SchemaNode<unknown>; value?: SchemaNode<unknown> };
  if (n.kind === 'object' && n.fields) {
    if (path) rows.push({ path, type: 'mapping', default: '', doc: n.doc });
    for (const [k, child] of Object.entries(n.fields)) rows.push(...documentRows(child, join(path, k)));
    return rows;
  }
  const def =
    n.defaultValue === undefined ? (n.optional ? '(unset)' : '(required)') : `\`${JSON.stringify(n.defaultValue)}\``;
  rows.push({ path, type: n.typeText, default: def, doc: n.doc });
  if (n.kind === 'array' && n.item?.kind === 'object') rows.push(...documentRows(n.item, `${path}[]`).filter((r) => r.path !== `${path}[]`));
  if (n.kind === 'record' && n.value?.kind === 'object') rows.push(...documentRows(n.value, `${path}.<name>`).filter((r) => r.path !== `${path}.<name>`));
  return rows;
}
