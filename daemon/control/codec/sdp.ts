/**
 * SDP codec (RFC 8866 / RFC 4566) for the H.248 Local and Remote descriptors.
 *
 * A descriptor's octet string (already unescaped by the H.248 parser) becomes a list of SdpGroup:
 * several groups in one descriptor are alternatives, each beginning with `v=` (H.248.1 §7.1.8); a
 * descriptor without `v=` (partial SDP: just `c=` and `m=` lines) is one group. Each group keeps every
 * line, in order and verbatim, as a session section followed by media sections (one per `m=`).
 *
 * - Lossless: serializing what was parsed gives back the same lines (each terminated by the configured
 *   end of line). Leading indentation and blank lines are not SDP and are dropped. A change through a
 *   setter rewrites only the line it touches.
 * - Structure is checked when parsing (every line is `<letter>=<value>`; `m=` has media, port and
 *   transport; `c=` has network type, address type and address): anything else fails with
 *   ERR_MG_BAD_SDP and the 1-based line number within the descriptor.
 * - Attribute values are typed lazily: a malformed value of a known attribute fails only when its typed
 *   value is asked for (again with the line number), so an odd line the gateway never reads cannot fail a
 *   call. Unknown attributes and line types are kept verbatim.
 * - Bounded: lines, line length and groups are limited (SdpLimits); parsing is one linear pass.
 *
 * Pure: no I/O, no globals, no timers.
 */
import { ERR_SDP_LIMIT, SdpError } from './sdp-error.js';
import {
  SDP_ATTR,
  SDP_DIRECTIONS,
  T38_FIELDS,
  checkLineText,
  classifyTransport,
  formatBandwidth,
  formatConnection,
  formatMediaLine,
  parseBandwidth,
  parseConnection,
  parseMediaLine,
} from './sdp-values.js';
import type {
  SdpAttributeCodec,
  SdpBandwidth,
  SdpConnection,
  SdpDirection,
  SdpFmtp,
  SdpMediaLine,
  SdpPort,
  SdpRtpmap,
  SdpT38,
  SdpTransport,
} from './sdp-values.js';

export * from './sdp-values.js';
export { ERR_SDP, ERR_SDP_LIMIT, SdpError } from './sdp-error.js';

// ---------------------------------------------------------------------------------------------------
// limits, lines

export interface SdpLimits {
  /** SDP lines (blank lines not counted) in one descriptor, all groups together. */
  maxLines: number;
  /** Characters in one line, without its end of line (indentation counted). */
  maxLineLength: number;
  /** Groups (alternatives) in one descriptor. */
  maxGroups: number;
}

export const DEFAULT_SDP_LIMITS: Readonly<SdpLimits> = Object.freeze({
  maxLines: 512,
  maxLineLength: 4096,
  maxGroups: 16,
});

export type SdpEol = '\r\n' | '\n';

export interface SdpSerializeOptions {
  /** End of line after every line. Default: the end of line of the first group (as parsed), else CRLF. */
  eol?: SdpEol;
}

/** One line `<type>=<value>`. Immutable: setters replace line objects, never edit them. */
export interface SdpLine {
  /** The type letter (`v`, `o`, `c`, `m`, `a`, ...). */
  readonly type: string;
  /** Everything after `<type>=`, verbatim. */
  readonly value: string;
  /** 1-based line number in the parsed descriptor; 0 for a line written by the gateway. */
  readonly lineNo: number;
}

/** An `a=` line split into name and value (`value` undefined for a property attribute `a=name`). */
export interface SdpAttribute {
  readonly name: string;
  readonly value: string | undefined;
  readonly line: SdpLine;
}

type AttrKey = string | SdpAttributeCodec<unknown>;

function keyOf(k: AttrKey): string {
  return (typeof k === 'string' ? k : k.name).toLowerCase();
}

/** Attribute name of an `a=` line as written, trimmed (compare lower-cased). */
function attrNameOf(value: string): string {
  const colon = value.indexOf(':');
  return (colon < 0 ? value : value.slice(0, colon)).trim();
}

/** Value text of an `a=` line ('' for a property attribute). */
function attrValueOf(value: string): string {
  const colon = value.indexOf(':');
  return colon < 0 ? '' : value.slice(colon + 1);
}

function isAttr(line: SdpLine, key: string): boolean {
  if (line.type !== 'a') return false;
  const v = line.value;
  // fast reject before allocating: the name starts the value
  if (v.length < key.length) return false;
  return attrNameOf(v).toLowerCase() === key;
}

/** Re-throws a value error with the position of the line it came from. */
function atLine(e: unknown, line: SdpLine): never {
  if (e instanceof SdpError && e.line === undefined && line.lineNo > 0) {
    throw new SdpError(e.reason, { line: line.lineNo, code: e.code, excerpt: `${line.type}=${line.value}` });
  }
  throw e;
}

function parseAt<T>(line: SdpLine, parse: (v: string) => T, value: string): T {
  try {
    return parse(value);
  } catch (e) {
    return atLine(e, line);
  }
}

function checkType(type: string): void {
  if (type.length !== 1 || !isLetter(type.charCodeAt(0))) throw new SdpError('line type must be one letter');
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function newLine(type: string, value: string): SdpLine {
  checkLineText(value, `${type}= value`);
  return { type, value, lineNo: 0 };
}

function attrLine(name: string, value: string | undefined): SdpLine {
  if (name.length === 0 || name.includes(':'))
    throw new SdpError('attribute name is empty or contains a colon');
  checkLineText(name, 'attribute name');
  return newLine('a', value === undefined ? name : `${name}:${value}`);
}

// ---------------------------------------------------------------------------------------------------
// sections

const SESSION_ORDER = 'vosiuepcbtrzka';
const MEDIA_ORDER = 'micbka';

/** The lines of a session (before the first `m=`) or of one media section, with typed access. */
export class SdpSection {
  /** @internal */
  protected readonly _lines: SdpLine[];
  readonly #order: string;

  /** @internal Use SdpGroup (parseSdp, new SdpGroup(), addMedia) to get sections. */
  constructor(lines: SdpLine[], order: string = SESSION_ORDER) {
    this._lines = lines;
    this.#order = order;
  }

  /** Every line of the section, in order (for a media section the `m=` line first). */
  get lines(): readonly SdpLine[] {
    return this._lines;
  }

  // --- generic lines ------------------------------------------------------------------------------

  /** First line of a type (`c`, `b`, `i`, ...). */
  getLine(type: string): SdpLine | undefined {
    return this._lines.find((l) => l.type === type);
  }

  getLines(type: string): SdpLine[] {
    return this._lines.filter((l) => l.type === type);
  }

  /** Replaces the first line of `type` in place (removing any others of it), or inserts it. */
  setLine(type: string, value: string): SdpLine {
    this.#checkWritable(type, value);
    return this.#replaceAll((l) => l.type === type, [newLine(type, value)], type);
  }

  /** Adds a line of `type` after the last one of that type, else where RFC 8866 orders it. */
  addLine(type: string, value: string): SdpLine {
    this.#checkWritable(type, value);
    const line = newLine(type, value);
    let at = -1;
    for (let i = this._lines.length - 1; i >= 0; i--) {
      if (this._lines[i]?.type === type) {
        at = i + 1;
        break;
      }
    }
    this._lines.splice(at >= 0 ? at : this.#insertPos(type), 0, line);
    return line;
  }

  /** Removes every line of `type`; returns how many. */
  removeLines(type: string): number {
    if (type === 'm') throw new SdpError('m= lines are removed with SdpGroup.removeMedia');
    return this.#removeWhere((l) => l.type === type);
  }

  // --- attributes, untyped -----------------------------------------------------------------------

  /** `a=` lines, all or those named `name` (case-insensitive). */
  attributes(name?: AttrKey): SdpAttribute[] {
    const key = name === undefined ? undefined : keyOf(name);
    const out: SdpAttribute[] = [];
    for (const line of this._lines) {
      if (line.type !== 'a' || (key !== undefined && !isAttr(line, key))) continue;
      const colon = line.value.indexOf(':');
      out.push({
        name: attrNameOf(line.value),
        value: colon < 0 ? undefined : line.value.slice(colon + 1),
        line,
      });
    }
    return out;
  }

  hasAttribute(name: AttrKey): boolean {
    const key = keyOf(name);
    return this._lines.some((l) => isAttr(l, key));
  }

  /** Raw value of the first `a=name` line ('' for a property attribute), undefined when absent. */
  getAttribute(name: AttrKey): string | undefined {
    const key = keyOf(name);
    const line = this._lines.find((l) => isAttr(l, key));
    return line === undefined ? undefined : attrValueOf(line.value);
  }

  getAttributes(name: AttrKey): string[] {
    const key = keyOf(name);
    return this._lines.filter((l) => isAttr(l, key)).map((l) => attrValueOf(l.value));
  }

  /** Sets `a=name[:value]`: replaces the first such line in place (dropping others), or appends it. */
  setAttribute(name: string, value?: string): void {
    this.setAttributes(name, [value]);
  }

  /** Replaces every `a=name` line by these values (at the place of the first), or appends them. */
  setAttributes(name: string, values: readonly (string | undefined)[]): void {
    const key = name.toLowerCase();
    const lines = values.map((v) => attrLine(name, v));
    this.#replaceAll((l) => isAttr(l, key), lines, 'a');
  }

  /** Adds `a=name[:value]` after the last line with that name, else after the last attribute. */
  addAttribute(name: string, value?: string): void {
    const key = name.toLowerCase();
    const line = attrLine(name, value);
    let at = -1;
    for (let i = this._lines.length - 1; i >= 0; i--) {
      const l = this._lines[i];
      if (l !== undefined && isAttr(l, key)) {
        at = i + 1;
        break;
      }
    }
    this._lines.splice(at >= 0 ? at : this.#insertPos('a'), 0, line);
  }

  /** Removes every `a=name` line; returns how many. */
  removeAttribute(name: AttrKey): number {
    const key = keyOf(name);
    return this.#removeWhere((l) => isAttr(l, key));
  }

  // --- attributes, typed -------------------------------------------------------------------------

  /** Typed value of the first `a=<codec.name>` line; throws ERR_MG_BAD_SDP (with line) if malformed. */
  get<T>(codec: SdpAttributeCodec<T>): T | undefined {
    const key = codec.name.toLowerCase();
    for (const line of this._lines) {
      if (isAttr(line, key)) return parseAt(line, (v) => codec.parse(v), attrValueOf(line.value));
    }
    return undefined;
  }

  /** Typed values of every `a=<codec.name>` line, in order. */
  getAll<T>(codec: SdpAttributeCodec<T>): T[] {
    const key = codec.name.toLowerCase();
    const out: T[] = [];
    for (const line of this._lines) {
      if (isAttr(line, key)) out.push(parseAt(line, (v) => codec.parse(v), attrValueOf(line.value)));
    }
    return out;
  }

  /** Replaces every `a=<codec.name>` line with one holding `value` (in place of the first). */
  set<T>(codec: SdpAttributeCodec<T>, value: T): void {
    this.setAttribute(codec.name, codec.format(value));
  }

  /** Replaces every `a=<codec.name>` line with these values (in place of the first). */
  setAll<T>(codec: SdpAttributeCodec<T>, values: readonly T[]): void {
    this.setAttributes(
      codec.name,
      values.map((v) => codec.format(v)),
    );
  }

  /** Adds one more `a=<codec.name>` line after the last one. */
  add<T>(codec: SdpAttributeCodec<T>, value: T): void {
    this.addAttribute(codec.name, codec.format(value));
  }

  /** Every `a=rtpmap`, typed. */
  rtpmaps(): SdpRtpmap[] {
    return this.getAll(SDP_ATTR.rtpmap);
  }

  /** The `a=rtpmap` of one payload type (other rtpmap lines are not parsed). */
  rtpmap(pt: number): SdpRtpmap | undefined {
    const line = this.#findByFormat('rtpmap', String(pt));
    return line === undefined ? undefined : parseAt(line, SDP_ATTR.rtpmap.parse, attrValueOf(line.value));
  }

  /** Replaces the rtpmap line of `r.pt` in place, or adds it. */
  setRtpmap(r: SdpRtpmap): void {
    this.#setByFormat('rtpmap', String(r.pt), SDP_ATTR.rtpmap.format(r));
  }

  /** The `a=fmtp` of one format (payload type as written in the m= line). */
  fmtp(format: string | number): SdpFmtp | undefined {
    const line = this.#findByFormat('fmtp', String(format));
    return line === undefined ? undefined : parseAt(line, SDP_ATTR.fmtp.parse, attrValueOf(line.value));
  }

  /** Replaces the fmtp line of `f.format` in place, or adds it. */
  setFmtp(f: SdpFmtp): void {
    this.#setByFormat('fmtp', f.format, SDP_ATTR.fmtp.format(f));
  }

  /** sendrecv / sendonly / recvonly / inactive written in this section, if any (the first one). */
  direction(): SdpDirection | undefined {
    for (const line of this._lines) {
      if (line.type !== 'a') continue;
      const name = attrNameOf(line.value).toLowerCase();
      if ((SDP_DIRECTIONS as readonly string[]).includes(name)) return name as SdpDirection;
    }
    return undefined;
  }

  /** Writes the direction attribute (in place of an existing one), or removes it (undefined). */
  setDirection(d: SdpDirection | undefined): void {
    const isDir = (l: SdpLine): boolean =>
      l.type === 'a' && (SDP_DIRECTIONS as readonly string[]).includes(attrNameOf(l.value).toLowerCase());
    if (d === undefined) this.#removeWhere(isDir);
    else this.#replaceAll(isDir, [attrLine(d, undefined)], 'a');
  }

  /** The T.38 attributes present in this section. */
  t38(): SdpT38 {
    const out: SdpT38 = {};
    for (const [field, codec] of Object.entries(T38_FIELDS) as [keyof SdpT38, SdpAttributeCodec<unknown>][]) {
      const v = this.get(codec);
      if (v !== undefined) (out as Record<string, unknown>)[field] = v;
    }
    return out;
  }

  /** Writes each T.38 attribute given (others untouched). */
  setT38(t: SdpT38): void {
    for (const [field, codec] of Object.entries(T38_FIELDS) as [keyof SdpT38, SdpAttributeCodec<unknown>][]) {
      const v = t[field];
      if (v !== undefined) this.set(codec, v);
    }
  }

  // --- c=, b= -------------------------------------------------------------------------------------

  /** The first `c=` line of this section (not the session's: see SdpGroup.effectiveConnection). */
  connection(): SdpConnection | undefined {
    const line = this.getLine('c');
    return line === undefined ? undefined : parseAt(line, parseConnection, line.value);
  }

  /** Replaces the first `c=` line in place (others dropped), inserts one, or removes all (undefined). */
  setConnection(c: SdpConnection | undefined): void {
    if (c === undefined) this.#removeWhere((l) => l.type === 'c');
    else this.setLine('c', formatConnection(c));
  }

  bandwidths(): SdpBandwidth[] {
    return this.getLines('b').map((l) => parseAt(l, parseBandwidth, l.value));
  }

  /** Value of `b=<type>:` (type case-insensitive), undefined when absent. */
  bandwidth(type: string): number | undefined {
    const line = this.#findBandwidth(type.toUpperCase());
    return line === undefined ? undefined : parseAt(line, parseBandwidth, line.value).value;
  }

  /** Writes `b=<type>:<value>` in place of the same type, or inserts it; undefined removes it. */
  setBandwidth(type: string, value: number | undefined): void {
    const up = type.toUpperCase();
    const same = (l: SdpLine): boolean => l.type === 'b' && bandwidthType(l.value) === up;
    if (value === undefined) {
      this.#removeWhere(same);
      return;
    }
    const line = newLine('b', formatBandwidth({ type, value }));
    if (this._lines.some(same)) this.#replaceAll(same, [line], 'b');
    else this.addLine('b', line.value);
  }

  // --- internals ----------------------------------------------------------------------------------

  #findBandwidth(up: string): SdpLine | undefined {
    return this._lines.find((l) => l.type === 'b' && bandwidthType(l.value) === up);
  }

  #checkWritable(type: string, value: string): void {
    checkType(type);
    if (type === 'm') throw new SdpError('m= lines are written through SdpMedia and SdpGroup.addMedia');
    if (type === 'v' && this.#order === MEDIA_ORDER)
      throw new SdpError('v= is not allowed in a media section');
    if (type === 'c') parseConnection(value);
  }

  /** Where a new line of `type` goes: after the last line that RFC 8866 orders at or before it. */
  #insertPos(type: string): number {
    const rank = this.#order.indexOf(type);
    if (rank < 0) return this._lines.length;
    for (let i = this._lines.length - 1; i >= 0; i--) {
      const r = this.#order.indexOf(this._lines[i]?.type ?? '');
      if (r >= 0 && r <= rank) return i + 1;
    }
    return this.#order === MEDIA_ORDER ? 1 : 0;
  }

  /** Puts `lines` where the first match is (dropping all matches), or inserts them by `type`. */
  #replaceAll(match: (l: SdpLine) => boolean, lines: SdpLine[], type: string): SdpLine {
    let first = -1;
    const kept: SdpLine[] = [];
    for (const l of this._lines) {
      if (match(l)) {
        if (first < 0) first = kept.length;
      } else {
        kept.push(l);
      }
    }
    if (first < 0) {
      this._lines.splice(this.#insertPos(type), 0, ...lines);
    } else {
      kept.splice(first, 0, ...lines);
      this._lines.length = 0;
      this._lines.push(...kept);
    }
    return lines[0] as SdpLine;
  }

  #removeWhere(match: (l: SdpLine) => boolean): number {
    const before = this._lines.length;
    const kept = this._lines.filter((l) => !match(l) || l.type === 'm');
    this._lines.length = 0;
    this._lines.push(...kept);
    return before - kept.length;
  }

  /** First `a=<name>:<format> ...` line (rtpmap, fmtp). */
  #findByFormat(name: string, format: string): SdpLine | undefined {
    for (const line of this._lines) {
      if (!isAttr(line, name)) continue;
      const v = attrValueOf(line.value).trimStart();
      if (
        v.startsWith(format) &&
        (v.length === format.length || v[format.length] === ' ' || v[format.length] === '\t')
      ) {
        return line;
      }
    }
    return undefined;
  }

  #setByFormat(name: string, format: string, value: string | undefined): void {
    const existing = this.#findByFormat(name, format);
    const line = attrLine(name, value);
    if (existing === undefined) {
      this.addAttribute(name, value);
      return;
    }
    this._lines[this._lines.indexOf(existing)] = line;
  }
}

function bandwidthType(value: string): string {
  const colon = value.indexOf(':');
  return (colon < 0 ? value : value.slice(0, colon)).trim().toUpperCase();
}

/** One media section: its `m=` line (typed) and the lines after it. */
export class SdpMedia extends SdpSection {
  #m: SdpMediaLine;

  /** @internal */
  constructor(lines: SdpLine[], m: SdpMediaLine) {
    super(lines, MEDIA_ORDER);
    this.#m = m;
  }

  get media(): string {
    return this.#m.media;
  }

  /** Port, or `$` (the gateway chooses), `-` or `*`. */
  get port(): SdpPort {
    return this.#m.port;
  }

  get portCount(): number | undefined {
    return this.#m.portCount;
  }

  /** The transport as written (`RTP/AVP`, `udptl`, ...). */
  get proto(): string {
    return this.#m.proto;
  }

  /** Formats as written; `['-']` means any format (relay whatever arrives). */
  get formats(): readonly string[] {
    return this.#m.formats;
  }

  /** True for `m=<media> <port> <proto> -` (PROFILE §2: no transcoding, relay whatever arrives). */
  get anyFormat(): boolean {
    return this.#m.formats.length === 1 && this.#m.formats[0] === '-';
  }

  /** The transport classified per PROFILE §3. */
  get transport(): SdpTransport {
    return classifyTransport(this.#m.proto);
  }

  /** A copy of the m= line's fields. */
  mediaLine(): SdpMediaLine {
    return { ...this.#m, formats: [...this.#m.formats] };
  }

  /** Rewrites the m= line with these fields changed (only that line changes). */
  setMediaLine(change: Partial<SdpMediaLine>): void {
    const next: SdpMediaLine = { ...this.#m, ...change, formats: [...(change.formats ?? this.#m.formats)] };
    if ('portCount' in change && change.portCount === undefined) delete next.portCount;
    this._lines[0] = newLine('m', formatMediaLine(next));
    this.#m = next;
  }

  /** Fills in or changes the port (`portCount` kept unless given; pass null to drop it). */
  setPort(port: SdpPort, portCount?: number | null): void {
    if (portCount === undefined) this.setMediaLine({ port });
    else this.setMediaLine({ port, portCount: portCount ?? undefined });
  }

  setFormats(formats: readonly string[]): void {
    this.setMediaLine({ formats: [...formats] });
  }
}

// ---------------------------------------------------------------------------------------------------
// groups

/** One SDP session description (one alternative of a Local or Remote). */
export class SdpGroup {
  readonly session: SdpSection;
  readonly #media: SdpMedia[];
  /** End of line used when serializing (as parsed; CRLF for a new group). */
  eol: SdpEol;

  /**
   * An empty group; build it with `session.setLine('v', '0')`, `addMedia`, ... (`parsed` is for
   * parseSdp and clone: the lines are taken as they are, without checks.)
   */
  constructor(eol: SdpEol = '\r\n', parsed?: { session: SdpLine[]; media: SdpMedia[] }) {
    this.session = new SdpSection(parsed?.session ?? [], SESSION_ORDER);
    this.#media = parsed?.media ?? [];
    this.eol = eol;
  }

  get media(): readonly SdpMedia[] {
    return this.#media;
  }

  /** True when the group has no `v=` line (H.248 partial SDP). */
  get partial(): boolean {
    return this.session.getLine('v') === undefined;
  }

  /** Appends a media section with this m= line. */
  addMedia(m: SdpMediaLine): SdpMedia {
    const fields: SdpMediaLine = { ...m, formats: [...m.formats] };
    const media = new SdpMedia([newLine('m', formatMediaLine(fields))], fields);
    this.#media.push(media);
    return media;
  }

  removeMedia(m: SdpMedia | number): void {
    const i = typeof m === 'number' ? m : this.#media.indexOf(m);
    if (i >= 0 && i < this.#media.length) this.#media.splice(i, 1);
  }

  /** The media section's own `c=`, else the session's. */
  effectiveConnection(m: SdpMedia): SdpConnection | undefined {
    return m.connection() ?? this.session.connection();
  }

  /** The media section's direction attribute, else the session's, else sendrecv. */
  effectiveDirection(m: SdpMedia): SdpDirection {
    return m.direction() ?? this.session.direction() ?? 'sendrecv';
  }

  /** Every line of the group, in order. */
  allLines(): SdpLine[] {
    const out = [...this.session.lines];
    for (const m of this.#media) out.push(...m.lines);
    return out;
  }

  /** A deep copy (line objects are immutable and shared). */
  clone(): SdpGroup {
    const media = this.#media.map((m) => new SdpMedia([...m.lines], m.mediaLine()));
    return new SdpGroup(this.eol, { session: [...this.session.lines], media });
  }

  toString(options?: SdpSerializeOptions): string {
    return serializeSdp(this, options);
  }
}

// ---------------------------------------------------------------------------------------------------
// parse, serialize

function resolveLimits(limits: Partial<SdpLimits> | undefined): SdpLimits {
  if (limits === undefined) return DEFAULT_SDP_LIMITS;
  const out = { ...DEFAULT_SDP_LIMITS, ...limits };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new SdpError(`limit ${k} must be a positive integer`, { code: ERR_SDP_LIMIT });
  }
  return out;
}

interface PendingGroup {
  session: SdpLine[];
  media: SdpMedia[];
  /** Lines of the section being filled. */
  current: SdpLine[];
}

/**
 * Parses the octet string of one Local or Remote descriptor into its groups (alternatives). An
 * empty or all-blank descriptor gives []. Throws SdpError (ERR_MG_BAD_SDP with the line number, or
 * ERR_MG_SDP_LIMIT).
 */
export function parseSdp(text: string, limits?: Partial<SdpLimits>): SdpGroup[] {
  const lim = resolveLimits(limits);
  const groups: SdpGroup[] = [];
  let eol: SdpEol | undefined;
  let g: PendingGroup | undefined;
  let groupCount = 0;
  let count = 0;
  let lineNo = 0;
  const n = text.length;
  let pos = 0;

  const finish = (): void => {
    if (g !== undefined) groups.push(new SdpGroup(eol ?? '\r\n', { session: g.session, media: g.media }));
    g = undefined;
  };

  while (pos < n) {
    // one physical line: up to CR, LF or CRLF
    let end = pos;
    let c = 0;
    while (end < n) {
      c = text.charCodeAt(end);
      if (c === 0x0a || c === 0x0d) break;
      end++;
    }
    lineNo++;
    let next = end;
    if (end < n) {
      const crlf = c === 0x0d && end + 1 < n && text.charCodeAt(end + 1) === 0x0a;
      next = crlf ? end + 2 : end + 1;
      eol ??= c === 0x0a ? '\n' : '\r\n';
    }
    if (end - pos > lim.maxLineLength) {
      throw new SdpError(`line longer than ${lim.maxLineLength} characters`, {
        line: lineNo,
        code: ERR_SDP_LIMIT,
      });
    }
    let s = pos;
    while (s < end) {
      const w = text.charCodeAt(s);
      if (w !== 0x20 && w !== 0x09) break;
      s++;
    }
    pos = next;
    if (s === end) continue; // blank or indentation only

    if (++count > lim.maxLines) {
      throw new SdpError(`more than ${lim.maxLines} lines`, { line: lineNo, code: ERR_SDP_LIMIT });
    }
    if (end - s < 2 || text.charCodeAt(s + 1) !== 0x3d || !isLetter(text.charCodeAt(s))) {
      throw new SdpError('line is not of the form <letter>=<value>', {
        line: lineNo,
        excerpt: text.slice(s, end),
      });
    }
    const type = text[s] as string;
    const value = text.slice(s + 2, end);
    if (value.includes('\0')) throw new SdpError('NUL character in line', { line: lineNo });
    const line: SdpLine = { type, value, lineNo };

    if (g === undefined || (type === 'v' && (g.session.length > 0 || g.media.length > 0))) {
      finish();
      if (++groupCount > lim.maxGroups) {
        throw new SdpError(`more than ${lim.maxGroups} SDP groups`, { line: lineNo, code: ERR_SDP_LIMIT });
      }
      g = { session: [], media: [], current: [] };
      g.current = g.session;
    }
    if (type === 'm') {
      const m = parseAt(line, parseMediaLine, value);
      const lines = [line];
      g.media.push(new SdpMedia(lines, m));
      g.current = lines;
      continue;
    }
    if (type === 'c') parseAt(line, parseConnection, value);
    g.current.push(line);
  }
  finish();
  return groups;
}

/**
 * Writes groups back as text: every line followed by the end of line, groups one after the other.
 * Unchanged lines come out exactly as they were parsed (without indentation).
 */
export function serializeSdp(groups: SdpGroup | readonly SdpGroup[], options?: SdpSerializeOptions): string {
  const list: readonly SdpGroup[] = groups instanceof SdpGroup ? [groups] : groups;
  const eol = options?.eol ?? list[0]?.eol ?? '\r\n';
  let out = '';
  for (const g of list) {
    for (const l of g.session.lines) out += `${l.type}=${l.value}${eol}`;
    for (const m of g.media) {
      for (const l of m.lines) out += `${l.type}=${l.value}${eol}`;
    }
  }
  return out;
}
