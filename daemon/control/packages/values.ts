/**
 * Text ↔ typed values for package items. The H.248 text parser hands values over as text (`on`,
 * `"access"`, `2e`, `10000`) or, for `{a, b}` lists, as an array of texts. These functions are pure
 * and never throw: a value that does not fit its type comes back with a description of what was
 * expected, and the registry turns that into error 449 naming the item and the value.
 *
 * Conventions (case-insensitive throughout, as H.248 text is):
 * - boolean: `on` / `off` (H.248.1 text); `true` / `false` are accepted too.
 * - integer: decimal. Types marked `hex` (ds/dscp) also take `0x2e` and bare hex digits that contain
 *   a letter a–f (`2e`); bare digits only (`46`) are decimal. So `46` and `2e` and `0x2e` are all 46.
 * - double: decimal with optional fraction and exponent.
 * - string: quotes around the value are removed.
 * - enum: one of the listed names; the canonical spelling of the table is returned.
 * - octets: hex digits, even count, optional `0x`; returned as a Buffer.
 * - list: an array of texts, or one text taken as a one-element list.
 */
import type { PackageValue, ValueType } from './types.js';

export type ParseResult =
  { readonly ok: true; readonly value: PackageValue } | { readonly ok: false; readonly expected: string };

const DECIMAL = /^[+-]?\d+$/;
const HEX_PREFIXED = /^0x[0-9a-f]+$/i;
const HEX_BARE = /^[0-9a-f]*[a-f][0-9a-f]*$/i;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const HEX_OCTETS = /^(0x)?((?:[0-9a-f]{2})*)$/i;

/** `"abc"` → `abc`; anything else unchanged. */
export function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

/** What a type accepts, for error texts: `on|off`, `integer 0..63`, `allow|deny`. */
export function describeType(type: ValueType): string {
  switch (type.kind) {
    case 'boolean':
      return 'on|off';
    case 'integer':
    case 'double': {
      const range =
        type.min !== undefined && type.max !== undefined
          ? ` ${type.min}..${type.max}`
          : type.min !== undefined
            ? ` >= ${type.min}`
            : type.max !== undefined
              ? ` <= ${type.max}`
              : '';
      return `${type.kind}${range}${type.kind === 'integer' && type.hex === true ? ', decimal or hex' : ''}`;
    }
    case 'string':
      return type.maxLength !== undefined ? `string of at most ${type.maxLength} characters` : 'string';
    case 'enum':
      return type.values.join('|');
    case 'octets':
      return 'hex octets';
    case 'list':
      return `list of ${describeType(type.of)}`;
  }
}

export function parseValue(type: ValueType, input: string | readonly string[]): ParseResult {
  if (type.kind === 'list') {
    const items = typeof input === 'string' ? [input] : input;
    if (type.maxItems !== undefined && items.length > type.maxItems) {
      return { ok: false, expected: `${describeType(type)} (at most ${type.maxItems})` };
    }
    const out: PackageValue[] = [];
    for (const item of items) {
      const r = parseValue(type.of, item);
      if (!r.ok) return { ok: false, expected: describeType(type) };
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (typeof input !== 'string') {
    if (input.length !== 1) return { ok: false, expected: describeType(type) };
    input = input[0]!;
  }
  const text = unquote(input.trim());
  const fail: ParseResult = { ok: false, expected: describeType(type) };
  switch (type.kind) {
    case 'boolean': {
      const t = text.toLowerCase();
      if (t === 'on' || t === 'true') return { ok: true, value: true };
      if (t === 'off' || t === 'false') return { ok: true, value: false };
      return fail;
    }
    case 'integer': {
      let n: number;
      if (DECIMAL.test(text)) n = Number(text);
      else if (type.hex === true && HEX_PREFIXED.test(text)) n = parseInt(text.slice(2), 16);
      else if (type.hex === true && HEX_BARE.test(text)) n = parseInt(text, 16);
      else return fail;
      if (!Number.isSafeInteger(n)) return fail;
      if ((type.min !== undefined && n < type.min) || (type.max !== undefined && n > type.max)) return fail;
      return { ok: true, value: n };
    }
    case 'double': {
      if (!DOUBLE.test(text)) return fail;
      const n = Number(text);
      if (!Number.isFinite(n)) return fail;
      if ((type.min !== undefined && n < type.min) || (type.max !== undefined && n > type.max)) return fail;
      return { ok: true, value: n };
    }
    case 'string':
      if (type.maxLength !== undefined && text.length > type.maxLength) return fail;
      return { ok: true, value: text };
    case 'enum': {
      const t = text.toLowerCase();
      const hit = type.values.find((v) => v.toLowerCase() === t);
      return hit !== undefined ? { ok: true, value: hit } : fail;
    }
    case 'octets': {
      const m = HEX_OCTETS.exec(text);
      if (m === null) return fail;
      const buf = Buffer.from(m[2]!, 'hex');
      if (type.maxLength !== undefined && buf.length > type.maxLength) return fail;
      return { ok: true, value: buf };
    }
  }
}

/**
 * Typed value → H.248 text: `on`/`off`, decimal numbers, strings quoted, enums bare, octets as hex,
 * lists as an array of item texts (the encoder writes them as `{a, b}`). Strings are quoted as they
 * are: the encoder must still keep `"` out of quoted strings (H.248 quotedString has no escape).
 */
export function formatValue(type: ValueType, value: PackageValue): string | string[] {
  if (type.kind === 'list') {
    const items = Array.isArray(value) ? (value as readonly PackageValue[]) : [value as PackageValue];
    return items.map((v) => {
      const f = formatValue(type.of, v);
      return typeof f === 'string' ? f : f.join(',');
    });
  }
  switch (type.kind) {
    case 'boolean':
      return value === true ? 'on' : 'off';
    case 'integer':
      return String(Math.trunc(Number(value)));
    case 'double':
      return String(Number(value));
    case 'string':
      return `"${String(value)}"`;
    case 'enum':
      return String(value);
    case 'octets':
      return Buffer.isBuffer(value) ? value.toString('hex') : String(value);
  }
}
