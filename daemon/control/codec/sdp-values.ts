/**
 * Typed values of SDP lines (RFC 8866) and of the attributes the gateway uses (docs/PROFILE.md §3–§9).
 *
 * Each parser takes the text after `x=` (for attributes: after `a=name:`) and returns a typed value or
 * throws SdpError without a line number; the section that owns the line adds it (see sdp.ts). Each
 * formatter is the inverse: `parseX(formatX(v))` equals `v` for every valid `v`.
 *
 * Underspecified values (H.248.1 §7.1.8, H.248.39): `$` (CHOOSE: the gateway fills it in), `-` (not
 * significant / none) and `*` (ALL, in audits) are accepted wherever a controller may send them and are
 * kept as these literal strings, so `value === '$'` is how a caller asks "must I choose this?".
 */
import { badValue } from './sdp-error.js';

// ---------------------------------------------------------------------------------------------------
// small lexical helpers (all linear, no backtracking regexes over unbounded input)

/** CHOOSE ("the gateway picks"), not significant, ALL. */
export type SdpWildcard = '$' | '-' | '*';

export function isWildcard(v: unknown): v is SdpWildcard {
  return v === '$' || v === '-' || v === '*';
}

/** Splits on runs of spaces and tabs; never yields empty tokens. */
export function splitWs(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    let c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      i++;
      continue;
    }
    const start = i;
    while (i < n) {
      c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x09) break;
      i++;
    }
    out.push(s.slice(start, i));
  }
  return out;
}

/** Index of the first space or tab, or -1. */
function wsIndex(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09) return i;
  }
  return -1;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Decimal integer in [min, max]; `what` names the field in the error. */
function parseInteger(s: string, what: string, min: number, max: number): number {
  if (!isDigits(s) || s.length > 16) return badValue(`${what} is not a decimal integer`);
  const n = Number(s);
  if (n < min || n > max) return badValue(`${what} out of range ${min}..${max}`);
  return n;
}

/** Positive decimal number, fraction allowed (`20`, `20.5`), as in ptime. */
function parseDecimal(s: string, what: string): number {
  const dot = s.indexOf('.');
  const ip = dot < 0 ? s : s.slice(0, dot);
  const fp = dot < 0 ? '' : s.slice(dot + 1);
  if (!isDigits(ip) || ip.length > 9 || (dot >= 0 && (!isDigits(fp) || fp.length > 9))) {
    return badValue(`${what} is not a decimal number`);
  }
  const n = Number(s);
  if (!(n > 0)) return badValue(`${what} must be greater than 0`);
  return n;
}

function nonEmptyToken(s: string, what: string): string {
  const t = s.trim();
  if (t.length === 0) return badValue(`${what} is empty`);
  if (wsIndex(t) >= 0) return badValue(`${what} must be one token`);
  return t;
}

/** Throws unless `s` can be written into an SDP line (no CR, LF, NUL). */
export function checkLineText(s: string, what: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x00) return badValue(`${what} contains a line break or NUL`);
  }
  return s;
}

function checkToken(s: string, what: string): string {
  if (s.length === 0 || wsIndex(s) >= 0) return badValue(`${what} must be one non-empty token`);
  return checkLineText(s, what);
}

// ---------------------------------------------------------------------------------------------------
// m=

export type SdpPort = number | SdpWildcard;

/** The fields of an `m=` line. `formats` is `['-']` for "relay whatever arrives" (PROFILE §2). */
export interface SdpMediaLine {
  media: string;
  port: SdpPort;
  /** The `/<number of ports>` suffix, when present. */
  portCount?: number;
  proto: string;
  formats: string[];
}

function parsePort(s: string, what: string): SdpPort {
  if (isWildcard(s)) return s;
  return parseInteger(s, what, 0, 65535);
}

export function parseMediaLine(value: string): SdpMediaLine {
  const t = splitWs(value);
  if (t.length < 3) return badValue('m= line needs media, port and transport');
  const [media, portText, proto] = t as [string, string, string];
  const slash = portText.indexOf('/');
  const port = parsePort(slash < 0 ? portText : portText.slice(0, slash), 'm= port');
  const out: SdpMediaLine = { media, port, proto, formats: t.slice(3) };
  if (slash >= 0) out.portCount = parseInteger(portText.slice(slash + 1), 'm= number of ports', 1, 65535);
  return out;
}

export function formatMediaLine(m: SdpMediaLine): string {
  checkToken(m.media, 'm= media');
  checkToken(m.proto, 'm= transport');
  if (!isWildcard(m.port)) parseInteger(String(m.port), 'm= port', 0, 65535);
  for (const f of m.formats) checkToken(f, 'm= format');
  const port = m.portCount !== undefined ? `${m.port}/${m.portCount}` : `${m.port}`;
  return m.formats.length > 0
    ? `${m.media} ${port} ${m.proto} ${m.formats.join(' ')}`
    : `${m.media} ${port} ${m.proto}`;
}

/** The transports of PROFILE §3, canonical spelling; `unknown` for anything else. */
export type SdpTransport =
  | 'RTP/AVP'
  | 'RTP/AVPF'
  | 'RTP/SAVP'
  | 'RTP/SAVPF'
  | 'udptl'
  | 'UDP/TLS/UDPTL'
  | 'TCP'
  | 'TCP/MSRP'
  | 'TCP/TLS/MSRP'
  | 'TCP/TLS'
  | 'TCP/TLS/BFCP'
  | 'TCP/BFCP'
  | 'UDP/TLS/RTP/SAVP'
  | 'UDP/TLS/RTP/SAVPF'
  | 'unknown';

const TRANSPORTS: ReadonlyMap<string, SdpTransport> = new Map<string, SdpTransport>([
  ['RTP/AVP', 'RTP/AVP'],
  ['RTP/AVPF', 'RTP/AVPF'],
  ['RTP/SAVP', 'RTP/SAVP'],
  ['RTP/SAVPF', 'RTP/SAVPF'],
  ['UDPTL', 'udptl'],
  ['UDP/TLS/UDPTL', 'UDP/TLS/UDPTL'],
  ['UDP/DTLS/UDPTL', 'UDP/TLS/UDPTL'],
  ['UDP/DTLS', 'UDP/TLS/UDPTL'],
  ['TCP', 'TCP'],
  ['TCP/MSRP', 'TCP/MSRP'],
  ['TCP/TLS/MSRP', 'TCP/TLS/MSRP'],
  ['TCP/TLS', 'TCP/TLS'],
  ['TCP/TLS/BFCP', 'TCP/TLS/BFCP'],
  ['TCP/BFCP', 'TCP/BFCP'],
  ['UDP/TLS/RTP/SAVP', 'UDP/TLS/RTP/SAVP'],
  ['UDP/TLS/RTP/SAVPF', 'UDP/TLS/RTP/SAVPF'],
]);

/** Classifies an `m=` transport (proto) case-insensitively per PROFILE §3. */
export function classifyTransport(proto: string): SdpTransport {
  return TRANSPORTS.get(proto.toUpperCase()) ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------------
// c=

export interface SdpConnection {
  /** `IN` */
  nettype: string;
  /** `IP4`, `IP6` (or a wildcard) */
  addrtype: string;
  /** Address or FQDN without the `/ttl/count` suffix; `$` when the gateway chooses. */
  address: string;
  /** IP4 multicast TTL. */
  ttl?: number;
  /** Number of multicast addresses. */
  count?: number;
}

export function parseConnection(value: string): SdpConnection {
  const t = splitWs(value);
  if (t.length !== 3) return badValue('c= line needs network type, address type and address');
  const [nettype, addrtype, full] = t as [string, string, string];
  const out: SdpConnection = { nettype, addrtype, address: full };
  const slash = full.indexOf('/');
  if (slash < 0 || isWildcard(full)) return out;
  const kind = addrtype.toUpperCase();
  if (kind !== 'IP4' && kind !== 'IP6') return out;
  out.address = full.slice(0, slash);
  if (out.address.length === 0) return badValue('c= address is empty');
  const rest = full.slice(slash + 1).split('/');
  if (kind === 'IP4') {
    if (rest.length > 2) return badValue('c= IP4 address has too many / fields');
    out.ttl = parseInteger(rest[0] ?? '', 'c= TTL', 0, 255);
    if (rest.length === 2) out.count = parseInteger(rest[1] ?? '', 'c= number of addresses', 1, 65535);
  } else {
    if (rest.length > 1) return badValue('c= IP6 address has too many / fields');
    out.count = parseInteger(rest[0] ?? '', 'c= number of addresses', 1, 65535);
  }
  return out;
}

export function formatConnection(c: SdpConnection): string {
  checkToken(c.nettype, 'c= network type');
  checkToken(c.addrtype, 'c= address type');
  checkToken(c.address, 'c= address');
  let s = `${c.nettype} ${c.addrtype} ${c.address}`;
  const ip4 = c.addrtype.toUpperCase() === 'IP4';
  if (ip4 && c.ttl !== undefined) {
    s += `/${c.ttl}`;
    if (c.count !== undefined) s += `/${c.count}`;
  } else if (!ip4 && c.count !== undefined) {
    s += `/${c.count}`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// b=

/** `b=<type>:<value>`: AS (kbit/s), TIAS (bit/s), CT (kbit/s), RS and RR (bit/s), or another type. */
export interface SdpBandwidth {
  type: string;
  value: number;
}

export function parseBandwidth(value: string): SdpBandwidth {
  const colon = value.indexOf(':');
  if (colon < 0) return badValue('b= line needs <type>:<bandwidth>');
  const type = value.slice(0, colon).trim();
  if (type.length === 0 || wsIndex(type) >= 0) return badValue('b= bandwidth type is not a token');
  return {
    type,
    value: parseInteger(value.slice(colon + 1).trim(), 'b= bandwidth', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function formatBandwidth(b: SdpBandwidth): string {
  checkToken(b.type, 'b= bandwidth type');
  if (b.type.includes(':')) badValue('b= bandwidth type contains a colon');
  parseInteger(String(b.value), 'b= bandwidth', 0, Number.MAX_SAFE_INTEGER);
  return `${b.type}:${b.value}`;
}

// ---------------------------------------------------------------------------------------------------
// attributes: one codec per attribute name, as data

/**
 * How one attribute's value is read and written. `parse` receives the text after `name:` ('' when the
 * line is a property attribute without a value) and throws SdpError. `format` returns the value text,
 * or `undefined` to write the bare property form `a=name`.
 */
export interface SdpAttributeCodec<T> {
  /** The attribute name as written when the gateway writes it (lookups ignore case). */
  readonly name: string;
  parse(value: string): T;
  format(value: T): string | undefined;
}

function codec<T>(
  name: string,
  parse: (v: string) => T,
  format: (v: T) => string | undefined,
): SdpAttributeCodec<T> {
  return Object.freeze({ name, parse, format });
}

function valueOf(name: string, v: string): string {
  const t = v.trim();
  if (t.length === 0) return badValue(`a=${name} needs a value`);
  return t;
}

function flagCodec(name: string): SdpAttributeCodec<true> {
  return codec<true>(
    name,
    () => true,
    () => undefined,
  );
}

function tokenCodec(name: string): SdpAttributeCodec<string> {
  return codec(
    name,
    (v) => nonEmptyToken(valueOf(name, v), `a=${name} value`),
    (v) => checkToken(v, `a=${name} value`),
  );
}

function uintCodec(name: string, max = 0xffffffff): SdpAttributeCodec<number> {
  return codec(
    name,
    (v) => parseInteger(valueOf(name, v), `a=${name} value`, 0, max),
    (v) => String(parseInteger(String(v), `a=${name} value`, 0, max)),
  );
}

function decimalCodec(name: string): SdpAttributeCodec<number> {
  return codec(
    name,
    (v) => parseDecimal(valueOf(name, v), `a=${name} value`),
    (v) => String(parseDecimal(String(v), `a=${name} value`)),
  );
}

/** One of a fixed set of tokens, matched case-insensitively, returned in canonical spelling. */
function enumCodec<T extends string>(name: string, values: readonly T[]): SdpAttributeCodec<T> {
  const byUpper = new Map(values.map((v) => [v.toUpperCase(), v] as const));
  const parse = (v: string): T =>
    byUpper.get(valueOf(name, v).toUpperCase()) ??
    badValue(`a=${name} value is not one of ${values.join(', ')}`);
  return codec(name, parse, (v) => parse(v));
}

/**
 * A token from a known set, canonical spelling when known, kept as written otherwise (T.38 values
 * that later editions may extend).
 */
function openEnumCodec(name: string, known: readonly string[]): SdpAttributeCodec<string> {
  const byUpper = new Map(known.map((v) => [v.toUpperCase(), v] as const));
  const parse = (v: string): string => {
    const t = nonEmptyToken(valueOf(name, v), `a=${name} value`);
    return byUpper.get(t.toUpperCase()) ?? t;
  };
  return codec(name, parse, (v) => checkToken(v, `a=${name} value`));
}

/** T.38 boolean: bare property (true), or `:1` / `:0` as older T.38 editions write it. */
function t38BooleanCodec(name: string): SdpAttributeCodec<boolean> {
  return codec(
    name,
    (v) => {
      const t = v.trim();
      if (t === '' || t === '1') return true;
      if (t === '0') return false;
      return badValue(`a=${name} value must be 0 or 1`);
    },
    (v) => (v ? undefined : '0'),
  );
}

function tokenListCodec(name: string): SdpAttributeCodec<string[]> {
  return codec(
    name,
    (v) => splitWs(valueOf(name, v)),
    (list) => {
      if (list.length === 0) badValue(`a=${name} needs at least one value`);
      for (const x of list) checkToken(x, `a=${name} value`);
      return list.join(' ');
    },
  );
}

// --- rtpmap, fmtp ----------------------------------------------------------------------------------

export interface SdpRtpmap {
  pt: number;
  encoding: string;
  clockRate: number;
  /** Encoding parameters: the number of audio channels, when written. */
  channels?: number;
}

export function parseRtpmap(value: string): SdpRtpmap {
  const v = valueOf('rtpmap', value);
  const sp = wsIndex(v);
  if (sp < 0) return badValue('a=rtpmap needs <payload type> <encoding>/<clock rate>');
  const pt = parseInteger(v.slice(0, sp), 'a=rtpmap payload type', 0, 127);
  const parts = v
    .slice(sp + 1)
    .trim()
    .split('/');
  if (parts.length < 2 || parts.length > 3)
    return badValue('a=rtpmap needs <encoding>/<clock rate>[/<channels>]');
  const encoding = parts[0] ?? '';
  if (encoding.length === 0 || wsIndex(encoding) >= 0)
    return badValue('a=rtpmap encoding name is not a token');
  const out: SdpRtpmap = {
    pt,
    encoding,
    clockRate: parseInteger(parts[1] ?? '', 'a=rtpmap clock rate', 1, 0xffffffff),
  };
  if (parts.length === 3) out.channels = parseInteger(parts[2] ?? '', 'a=rtpmap channels', 1, 255);
  return out;
}

export function formatRtpmap(r: SdpRtpmap): string {
  parseInteger(String(r.pt), 'a=rtpmap payload type', 0, 127);
  checkToken(r.encoding, 'a=rtpmap encoding name');
  if (r.encoding.includes('/')) badValue('a=rtpmap encoding name contains /');
  parseInteger(String(r.clockRate), 'a=rtpmap clock rate', 1, 0xffffffff);
  if (r.channels !== undefined) parseInteger(String(r.channels), 'a=rtpmap channels', 1, 255);
  return `${r.pt} ${r.encoding}/${r.clockRate}${r.channels !== undefined ? `/${r.channels}` : ''}`;
}

export interface SdpFmtp {
  /** The format (payload type) the parameters are for, as written in the m= line. */
  format: string;
  /** Format-specific parameters, verbatim (see parseFmtpParameters). */
  params: string;
}

export function parseFmtp(value: string): SdpFmtp {
  const v = valueOf('fmtp', value);
  const sp = wsIndex(v);
  if (sp < 0) return { format: v, params: '' };
  return { format: v.slice(0, sp), params: v.slice(sp + 1).trim() };
}

export function formatFmtp(f: SdpFmtp): string {
  checkToken(f.format, 'a=fmtp format');
  checkLineText(f.params, 'a=fmtp parameters');
  return f.params.length > 0 ? `${f.format} ${f.params}` : f.format;
}

/**
 * `key=value; key2=value2; flag` → Map with lower-cased keys ('' for a key without value). Items
 * without `=` (such as telephone-event's `0-15`) are keys with value ''.
 */
export function parseFmtpParameters(params: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of params.split(';')) {
    const t = item.trim();
    if (t.length === 0) continue;
    const eq = t.indexOf('=');
    if (eq < 0) out.set(t.toLowerCase(), '');
    else out.set(t.slice(0, eq).trim().toLowerCase(), t.slice(eq + 1).trim());
  }
  return out;
}

// --- rtcp ------------------------------------------------------------------------------------------

/** RFC 3605 `a=rtcp:<port> [IN IP4 <address>]`. */
export interface SdpRtcp {
  port: number | '$';
  nettype?: string;
  addrtype?: string;
  address?: string;
}

export function parseRtcp(value: string): SdpRtcp {
  const t = splitWs(valueOf('rtcp', value));
  if (t.length !== 1 && t.length !== 4)
    return badValue('a=rtcp needs <port> [<nettype> <addrtype> <address>]');
  const port = t[0] === '$' ? '$' : parseInteger(t[0] ?? '', 'a=rtcp port', 0, 65535);
  if (t.length === 1) return { port };
  return { port, nettype: t[1] ?? '', addrtype: t[2] ?? '', address: t[3] ?? '' };
}

export function formatRtcp(r: SdpRtcp): string {
  const port = r.port === '$' ? '$' : String(parseInteger(String(r.port), 'a=rtcp port', 0, 65535));
  if (r.address === undefined) return port;
  return [
    port,
    checkToken(r.nettype ?? 'IN', 'a=rtcp network type'),
    checkToken(r.addrtype ?? 'IP4', 'a=rtcp address type'),
    checkToken(r.address, 'a=rtcp address'),
  ].join(' ');
}

// --- crypto (RFC 4568) -----------------------------------------------------------------------------

export interface SdpCryptoMki {
  value: bigint;
  /** Length of the MKI field in bytes, 1..128. */
  length: number;
}

/** One key parameter. For `inline`, `keySalt` is the base64 key||salt (or `$`). */
export interface SdpCryptoKey {
  method: string;
  keySalt: string;
  /** Master key lifetime in packets (`2^20` is 1048576). */
  lifetime?: number;
  mki?: SdpCryptoMki;
}

export interface SdpCrypto {
  /** `$` in a Local template: the gateway takes the Remote line's tag (PROFILE §4). */
  tag: number | '$';
  suite: string;
  keys: SdpCryptoKey[];
  unencryptedSrtp: boolean;
  unencryptedSrtcp: boolean;
  unauthenticatedSrtp: boolean;
  /** Key derivation rate exponent (KDR=n means 2^n), 0..24. */
  kdr?: number;
  /** Replay window size (WSH), at least 64. */
  wsh?: number;
  /** Other session parameters (FEC_ORDER=, FEC_KEY=, extensions), verbatim and in order. */
  extraParams: string[];
}

const MKI_MAX_DIGITS = 310; // 2^1024 has 309 digits

function isBase64(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f;
    if (!ok && !(c === 0x3d && i >= s.length - 2)) return false;
  }
  return s.length > 0;
}

function parseLifetime(s: string): number {
  if (s.startsWith('2^')) return 2 ** parseInteger(s.slice(2), 'a=crypto lifetime exponent', 0, 64);
  return parseInteger(s, 'a=crypto lifetime', 1, Number.MAX_SAFE_INTEGER);
}

function formatLifetime(n: number): string {
  if (!Number.isInteger(n) || n < 1) return badValue('a=crypto lifetime must be a positive integer');
  const e = Math.log2(n);
  if (Number.isInteger(e) && e >= 10) return `2^${e}`;
  if (n > Number.MAX_SAFE_INTEGER) return badValue('a=crypto lifetime too large');
  return String(n);
}

function parseMki(s: string): SdpCryptoMki {
  const colon = s.indexOf(':');
  const v = s.slice(0, colon);
  if (!isDigits(v) || v.length > MKI_MAX_DIGITS)
    return badValue('a=crypto MKI value is not a decimal integer');
  const length = parseInteger(s.slice(colon + 1), 'a=crypto MKI length', 1, 128);
  const value = BigInt(v);
  if (value >> BigInt(8 * length) !== 0n) return badValue('a=crypto MKI value does not fit its length');
  return { value, length };
}

function parseCryptoKey(s: string): SdpCryptoKey {
  const colon = s.indexOf(':');
  if (colon <= 0) return badValue('a=crypto key parameter needs <method>:<key info>');
  const method = s.slice(0, colon);
  const info = s.slice(colon + 1);
  if (method.toLowerCase() !== 'inline') return { method, keySalt: info };
  const fields = info.split('|');
  if (fields.length > 3) return badValue('a=crypto inline key has too many | fields');
  const keySalt = fields[0] ?? '';
  if (keySalt !== '$' && !isBase64(keySalt)) return badValue('a=crypto inline key is not base64');
  const out: SdpCryptoKey = { method, keySalt };
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i] ?? '';
    if (f.includes(':')) {
      if (i !== fields.length - 1) return badValue('a=crypto MKI must be the last key field');
      out.mki = parseMki(f);
    } else {
      if (out.lifetime !== undefined) return badValue('a=crypto key has two lifetimes');
      out.lifetime = parseLifetime(f);
    }
  }
  return out;
}

function formatCryptoKey(k: SdpCryptoKey): string {
  checkToken(k.method, 'a=crypto key method');
  checkToken(k.keySalt, 'a=crypto key');
  if (k.method.toLowerCase() === 'inline' && k.keySalt !== '$' && !isBase64(k.keySalt)) {
    badValue('a=crypto inline key is not base64');
  }
  if (k.method.includes(':') || k.keySalt.includes(';'))
    badValue('a=crypto key parameter has a reserved character');
  let s = `${k.method}:${k.keySalt}`;
  if (k.lifetime !== undefined) s += `|${formatLifetime(k.lifetime)}`;
  if (k.mki !== undefined) {
    const { value, length } = k.mki;
    parseInteger(String(length), 'a=crypto MKI length', 1, 128);
    if (value < 0n || value >> BigInt(8 * length) !== 0n)
      badValue('a=crypto MKI value does not fit its length');
    s += `|${value}:${length}`;
  }
  return s;
}

export function parseCrypto(value: string): SdpCrypto {
  const t = splitWs(valueOf('crypto', value));
  if (t.length < 3) return badValue('a=crypto needs <tag> <suite> <key params>');
  const tag = t[0] === '$' ? '$' : parseInteger(t[0] ?? '', 'a=crypto tag', 0, 999999999);
  const suite = t[1] ?? '';
  const keys = (t[2] ?? '').split(';').map(parseCryptoKey);
  const out: SdpCrypto = {
    tag,
    suite,
    keys,
    unencryptedSrtp: false,
    unencryptedSrtcp: false,
    unauthenticatedSrtp: false,
    extraParams: [],
  };
  for (let i = 3; i < t.length; i++) {
    const p = t[i] ?? '';
    const up = p.toUpperCase();
    if (up === 'UNENCRYPTED_SRTP') out.unencryptedSrtp = true;
    else if (up === 'UNENCRYPTED_SRTCP') out.unencryptedSrtcp = true;
    else if (up === 'UNAUTHENTICATED_SRTP') out.unauthenticatedSrtp = true;
    else if (up.startsWith('KDR=')) out.kdr = parseInteger(p.slice(4), 'a=crypto KDR', 0, 24);
    else if (up.startsWith('WSH=')) out.wsh = parseInteger(p.slice(4), 'a=crypto WSH', 64, 0xffffffff);
    else out.extraParams.push(p);
  }
  return out;
}

export function formatCrypto(c: SdpCrypto): string {
  if (c.tag !== '$') parseInteger(String(c.tag), 'a=crypto tag', 0, 999999999);
  checkToken(c.suite, 'a=crypto suite');
  if (c.keys.length === 0) badValue('a=crypto needs at least one key');
  const parts = [String(c.tag), c.suite, c.keys.map(formatCryptoKey).join(';')];
  if (c.kdr !== undefined) parts.push(`KDR=${parseInteger(String(c.kdr), 'a=crypto KDR', 0, 24)}`);
  if (c.unencryptedSrtp) parts.push('UNENCRYPTED_SRTP');
  if (c.unencryptedSrtcp) parts.push('UNENCRYPTED_SRTCP');
  if (c.unauthenticatedSrtp) parts.push('UNAUTHENTICATED_SRTP');
  if (c.wsh !== undefined) parts.push(`WSH=${parseInteger(String(c.wsh), 'a=crypto WSH', 64, 0xffffffff)}`);
  for (const p of c.extraParams) parts.push(checkToken(p, 'a=crypto session parameter'));
  return parts.join(' ');
}

// --- fingerprint (RFC 8122) ------------------------------------------------------------------------

export interface SdpFingerprint {
  /** Hash function as written (`SHA-256`, `sha-1`, ...); compare case-insensitively. */
  hash: string;
  /** Upper- or lower-case hex bytes separated by `:`, or `$`. */
  value: string;
}

function isHexPairs(s: string): boolean {
  // 2HEXDIG *(":" 2HEXDIG)
  if (s.length % 3 !== 2) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (i % 3 === 2) {
      if (c !== 0x3a) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) {
      return false;
    }
  }
  return true;
}

export function parseFingerprint(value: string): SdpFingerprint {
  const t = splitWs(valueOf('fingerprint', value));
  if (t.length !== 2) return badValue('a=fingerprint needs <hash function> <fingerprint>');
  const [hash, fp] = t as [string, string];
  if (fp !== '$' && !isHexPairs(fp))
    return badValue('a=fingerprint value is not hex bytes separated by colons');
  return { hash, value: fp };
}

export function formatFingerprint(f: SdpFingerprint): string {
  checkToken(f.hash, 'a=fingerprint hash function');
  if (f.value !== '$' && !isHexPairs(f.value))
    badValue('a=fingerprint value is not hex bytes separated by colons');
  return `${f.hash} ${f.value}`;
}

// --- tls-id, path ----------------------------------------------------------------------------------

function checkTlsId(v: string): string {
  if (v === '$') return v;
  if (v.length > 255) return badValue('a=tls-id longer than 255 characters');
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f ||
      c === 0x2d ||
      c === 0x5f;
    if (!ok) return badValue('a=tls-id has a character outside ALPHA / DIGIT / + / - / _ /');
  }
  if (v.length === 0) return badValue('a=tls-id is empty');
  return v;
}

function checkMsrpUri(u: string): string {
  if (u === '$') return u;
  const l = u.slice(0, 8).toLowerCase();
  if (!l.startsWith('msrp://') && !l.startsWith('msrps://'))
    return badValue('a=path holds a URI that is not msrp: or msrps:');
  return u;
}

// --- the table ---------------------------------------------------------------------------------------

export type SdpSetup = 'active' | 'passive' | 'actpass' | 'holdconn';
export type SdpTcpConnection = 'new' | 'existing';
export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export const SDP_DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

/** Codecs of the attributes the gateway reads or writes. Any other attribute is kept verbatim. */
export const SDP_ATTR = Object.freeze({
  rtpmap: codec('rtpmap', parseRtpmap, formatRtpmap),
  fmtp: codec('fmtp', parseFmtp, formatFmtp),
  ptime: decimalCodec('ptime'),
  maxptime: decimalCodec('maxptime'),
  rtcp: codec('rtcp', parseRtcp, formatRtcp),
  rtcpMux: flagCodec('rtcp-mux'),
  crypto: codec('crypto', parseCrypto, formatCrypto),
  fingerprint: codec('fingerprint', parseFingerprint, formatFingerprint),
  setup: enumCodec<SdpSetup>('setup', ['active', 'passive', 'actpass', 'holdconn']),
  connection: enumCodec<SdpTcpConnection>('connection', ['new', 'existing']),
  tlsId: codec(
    'tls-id',
    (v) => checkTlsId(valueOf('tls-id', v)),
    (v: string) => checkTlsId(v),
  ),
  path: codec(
    'path',
    (v) => splitWs(valueOf('path', v)).map(checkMsrpUri),
    (list: string[]) => {
      if (list.length === 0) badValue('a=path needs at least one URI');
      for (const u of list) checkToken(checkMsrpUri(u), 'a=path URI');
      return list.join(' ');
    },
  ),
  msrpCema: flagCodec('msrp-cema'),
  acceptTypes: tokenListCodec('accept-types'),
  acceptWrappedTypes: tokenListCodec('accept-wrapped-types'),
  maxSize: uintCodec('max-size', Number.MAX_SAFE_INTEGER),
  sendrecv: flagCodec('sendrecv'),
  sendonly: flagCodec('sendonly'),
  recvonly: flagCodec('recvonly'),
  inactive: flagCodec('inactive'),
  t38FaxVersion: uintCodec('T38FaxVersion', 255),
  t38MaxBitRate: uintCodec('T38MaxBitRate'),
  t38FaxRateManagement: openEnumCodec('T38FaxRateManagement', ['localTCF', 'transferredTCF']),
  t38FaxMaxBuffer: uintCodec('T38FaxMaxBuffer'),
  t38FaxMaxDatagram: uintCodec('T38FaxMaxDatagram'),
  t38FaxUdpEC: openEnumCodec('T38FaxUdpEC', ['t38UDPFEC', 't38UDPRedundancy', 't38UDPNoEC']),
  t38FaxFillBitRemoval: t38BooleanCodec('T38FaxFillBitRemoval'),
  t38FaxTranscodingMMR: t38BooleanCodec('T38FaxTranscodingMMR'),
  t38FaxTranscodingJBIG: t38BooleanCodec('T38FaxTranscodingJBIG'),
  e2ae: tokenCodec('3ge2ae'),
  label: tokenCodec('label'),
  mid: tokenCodec('mid'),
});

/** The T.38 attributes of one media section (ITU-T T.38 Annex D/E), those present. */
export interface SdpT38 {
  version?: number;
  maxBitRate?: number;
  rateManagement?: string;
  maxBuffer?: number;
  maxDatagram?: number;
  udpEC?: string;
  fillBitRemoval?: boolean;
  transcodingMMR?: boolean;
  transcodingJBIG?: boolean;
}

/** SdpT38 field → its attribute codec. */
export const T38_FIELDS = Object.freeze({
  version: SDP_ATTR.t38FaxVersion,
  maxBitRate: SDP_ATTR.t38MaxBitRate,
  rateManagement: SDP_ATTR.t38FaxRateManagement,
  maxBuffer: SDP_ATTR.t38FaxMaxBuffer,
  maxDatagram: SDP_ATTR.t38FaxMaxDatagram,
  udpEC: SDP_ATTR.t38FaxUdpEC,
  fillBitRemoval: SDP_ATTR.t38FaxFillBitRemoval,
  transcodingMMR: SDP_ATTR.t38FaxTranscodingMMR,
  transcodingJBIG: SDP_ATTR.t38FaxTranscodingJBIG,
} satisfies { [K in keyof SdpT38]-?: SdpAttributeCodec<NonNullable<SdpT38[K]>> });
