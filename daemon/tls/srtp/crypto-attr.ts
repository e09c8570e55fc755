/**
 * SDES `a=crypto` (RFC 4568) values ⇄ SRTP session parameters, and fresh keys for local lines.
 *
 *   a=crypto:<tag> <crypto-suite> inline:<key||salt base64>[|<lifetime>][|<MKI>:<length>][;inline:...]
 *            [<session-param> ...]
 *
 * Pure: no I/O, no global state (key generation takes its random source as a parameter, with
 * node:crypto's CSPRNG as the default).
 *
 * What is refused (SrtpError ERR_SRTP_CRYPTO_ATTR, or ERR_SRTP_SUITE_UNSUPPORTED for a suite we do
 * not terminate, so a caller with several lines can skip to the next): malformed syntax, keys of the
 * wrong length, lifetimes above the suite's maximum, several keys without MKIs, MKIs of different
 * lengths, KDR other than 0 (libsrtp2 has no key derivation rate), FEC_KEY, unknown session
 * parameters unless marked optional with a leading '-' (RFC 4568 §6.3), and UNENCRYPTED_* /
 * UNAUTHENTICATED_SRTP with AEAD suites (libsrtp2 always encrypts and authenticates them).
 */
import { randomBytes } from 'node:crypto';
import { TrgwdError } from '../../errors.js';
import type { SrtpMasterKey, SrtpSessionParams } from './session.js';
import {
  SRTP_MAX_MKI_LENGTH,
  SRTP_SUITE_INFO,
  isSrtpSuite,
  srtpOverhead,
  suiteKeyLengths,
} from './suites.js';
import type { SrtpSuite } from './suites.js';

export { srtpOverhead, suiteKeyLengths };

/** Errors of a=crypto handling: ERR_SRTP_CRYPTO_ATTR (invalid), ERR_SRTP_SUITE_UNSUPPORTED. */
export class CryptoAttrError extends TrgwdError {}

export interface SdesMki {
  /** MKI value (decimal in SDP). */
  value: bigint;
  /** MKI length on the wire, octets (1..128). */
  length: number;
}

export interface SdesKeyParam {
  /** Master key || master salt. */
  keySalt: Uint8Array;
  /** Key lifetime in packets, if given. */
  lifetime?: number | undefined;
  mki?: SdesMki | undefined;
}

export interface SdesCrypto {
  /** 1..999999999; the answer reuses the offer's tag. */
  tag: number;
  suite: SrtpSuite;
  keys: SdesKeyParam[];
  unencryptedSrtp: boolean;
  unencryptedSrtcp: boolean;
  unauthenticatedSrtp: boolean;
  /** WSH=: the sender's window size hint (packets). */
  windowSizeHint?: number | undefined;
  /** Optional ('-'-prefixed) session parameters we ignored, kept for logs and re-encoding. */
  ignoredParams: string[];
}

const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const TAG_RE = /^[0-9]{1,9}$/;
const LIFETIME_RE = /^(2\^)?([0-9]{1,20})$/;
const MKI_RE = /^([0-9]{1,310}):([0-9]{1,3})$/;

function invalid(message: string, details?: Record<string, unknown>): CryptoAttrError {
  return new CryptoAttrError(
    'ERR_SRTP_CRYPTO_ATTR',
    message,
    details !== undefined ? { details } : undefined,
  );
}

function decodeBase64Strict(s: string): Uint8Array | undefined {
  if (!B64_RE.test(s) || s.length % 4 === 1) return undefined;
  const body = s.replace(/=+$/, '');
  if (s.length !== body.length && s.length % 4 !== 0) return undefined; // padding only on a full quantum
  const buf = Buffer.from(body, 'base64');
  // Reject non-canonical trailing bits (re-encoding must give the same characters).
  if (buf.toString('base64').replace(/=+$/, '') !== body) return undefined;
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

function parseLifetime(s: string, suite: SrtpSuite): number {
  const m = LIFETIME_RE.exec(s);
  if (m === null) throw invalid(`bad key lifetime "${s}"`);
  const n = Number(m[2]);
  const value = m[1] !== undefined ? 2 ** n : n;
  const max = SRTP_SUITE_INFO[suite].maxLifetimeSrtp;
  if (!Number.isFinite(value) || value < 1 || value > max)
    throw invalid(`key lifetime "${s}" outside 1..2^48 for ${suite}`);
  return value;
}

function parseMki(s: string): SdesMki {
  const m = MKI_RE.exec(s);
  if (m === null) throw invalid(`bad MKI "${s}"`);
  const value = BigInt(m[1] as string);
  const length = Number(m[2]);
  if (length < 1 || length > SRTP_MAX_MKI_LENGTH) throw invalid(`MKI length ${length} outside 1..128`);
  if (value >= 1n << BigInt(8 * length)) throw invalid(`MKI value ${value} does not fit in ${length} octets`);
  return { value, length };
}

/** Parses one `inline:` key parameter. */
export function parseKeyParam(param: string, suite: SrtpSuite): SdesKeyParam {
  if (!param.startsWith('inline:')) throw invalid(`unsupported key method in "${param.split(':')[0] ?? ''}"`);
  const fields = param.slice('inline:'.length).split('|');
  if (fields.length > 3) throw invalid('too many fields in key parameter');
  const keySalt = decodeBase64Strict(fields[0] ?? '');
  if (keySalt === undefined) throw invalid('key||salt is not valid base64');
  const { key, salt } = suiteKeyLengths(suite);
  if (keySalt.length !== key + salt) {
    throw invalid(`key||salt is ${keySalt.length} octets; ${suite} needs ${key + salt}`);
  }
  const out: SdesKeyParam = { keySalt };
  const rest = fields.slice(1);
  if (rest.length === 2) {
    out.lifetime = parseLifetime(rest[0] as string, suite);
    out.mki = parseMki(rest[1] as string);
  } else if (rest.length === 1) {
    const f = rest[0] as string;
    if (f.includes(':')) out.mki = parseMki(f);
    else out.lifetime = parseLifetime(f, suite);
  }
  return out;
}

/**
 * Parses an a=crypto value (with or without the leading "a=crypto:" / "crypto:").
 * Throws CryptoAttrError ERR_SRTP_SUITE_UNSUPPORTED for a well-formed line with another suite.
 */
export function parseCryptoAttr(value: string): SdesCrypto {
  let v = value.trim();
  if (v.startsWith('a=')) v = v.slice(2);
  if (v.startsWith('crypto:')) v = v.slice('crypto:'.length);
  const parts = v.split(/[ \t]+/);
  if (parts.length < 3) throw invalid('a=crypto needs a tag, a suite and key parameters', { value: v });
  const [tagStr, suiteStr, keyParams, ...sessionParams] = parts as [string, string, string, ...string[]];
  if (!TAG_RE.test(tagStr)) throw invalid(`bad crypto tag "${tagStr}"`);
  if (!isSrtpSuite(suiteStr)) {
    throw new CryptoAttrError('ERR_SRTP_SUITE_UNSUPPORTED', `crypto suite ${suiteStr} is not supported`, {
      details: { suite: suiteStr },
    });
  }
  const suite = suiteStr;
  const keys = keyParams.split(';').map((p) => parseKeyParam(p, suite));
  if (keys.length > 16) throw invalid('more than 16 master keys');
  if (keys.length > 1 && keys.some((k) => k.mki === undefined)) {
    throw invalid('several master keys need an MKI each (RFC 4568 §6.1)');
  }
  const mkiLength = keys[0]?.mki?.length;
  if (keys.some((k) => k.mki?.length !== mkiLength))
    throw invalid('every MKI of a line must have the same length');
  const mkiValues = new Set(keys.map((k) => k.mki?.value));
  if (mkiLength !== undefined && mkiValues.size !== keys.length)
    throw invalid('two keys share one MKI value');

  const out: SdesCrypto = {
    tag: Number(tagStr),
    suite,
    keys,
    unencryptedSrtp: false,
    unencryptedSrtcp: false,
    unauthenticatedSrtp: false,
    ignoredParams: [],
  };
  for (const sp of sessionParams) {
    if (sp === 'UNENCRYPTED_SRTP') out.unencryptedSrtp = true;
    else if (sp === 'UNENCRYPTED_SRTCP') out.unencryptedSrtcp = true;
    else if (sp === 'UNAUTHENTICATED_SRTP') out.unauthenticatedSrtp = true;
    else if (sp.startsWith('KDR=')) {
      if (!/^KDR=[0-9]{1,2}$/.test(sp) || Number(sp.slice(4)) > 24) throw invalid(`bad ${sp}`);
      if (Number(sp.slice(4)) !== 0)
        throw invalid(`${sp}: key derivation rates other than 0 are not supported`);
    } else if (sp.startsWith('WSH=')) {
      if (!/^WSH=[0-9]{1,10}$/.test(sp) || Number(sp.slice(4)) < 64) throw invalid(`bad ${sp} (minimum 64)`);
      out.windowSizeHint = Number(sp.slice(4));
    } else if (sp === 'FEC_ORDER=FEC_SRTP' || sp === 'FEC_ORDER=SRTP_FEC') {
      // Order of FEC and SRTP: trgwd does no FEC itself; both orders leave SRTP unchanged for us.
    } else if (sp.startsWith('FEC_KEY=')) {
      throw invalid('FEC_KEY is not supported');
    } else if (sp.startsWith('-')) {
      out.ignoredParams.push(sp);
    } else {
      throw invalid(`unknown mandatory session parameter ${sp}`, { param: sp });
    }
  }
  if (
    SRTP_SUITE_INFO[suite].aead &&
    (out.unencryptedSrtp || out.unencryptedSrtcp || out.unauthenticatedSrtp)
  ) {
    throw invalid(`${suite} does not allow UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP or UNAUTHENTICATED_SRTP here`);
  }
  return out;
}

function formatLifetime(n: number): string {
  const log = Math.log2(n);
  return Number.isInteger(log) ? `2^${log}` : String(n);
}

/** `inline:<base64>[|lifetime][|MKI:len]` */
export function formatKeyParam(k: SdesKeyParam): string {
  let s = `inline:${Buffer.from(k.keySalt).toString('base64')}`;
  if (k.lifetime !== undefined) s += `|${formatLifetime(k.lifetime)}`;
  if (k.mki !== undefined) s += `|${k.mki.value}:${k.mki.length}`;
  return s;
}

/** The a=crypto value (without "a=crypto:"). */
export function formatCryptoAttr(c: SdesCrypto): string {
  const parts = [String(c.tag), c.suite, c.keys.map(formatKeyParam).join(';')];
  if (c.unencryptedSrtp) parts.push('UNENCRYPTED_SRTP');
  if (c.unencryptedSrtcp) parts.push('UNENCRYPTED_SRTCP');
  if (c.unauthenticatedSrtp) parts.push('UNAUTHENTICATED_SRTP');
  if (c.windowSizeHint !== undefined) parts.push(`WSH=${c.windowSizeHint}`);
  return parts.join(' ');
}

export interface GenerateKeyOptions {
  lifetime?: number | undefined;
  mki?: SdesMki | undefined;
  /** Random source (default: node:crypto randomBytes, a CSPRNG). */
  random?: ((n: number) => Uint8Array) | undefined;
}

/** A fresh master key || salt for `suite` from the CSPRNG. */
export function generateKeyParam(suite: SrtpSuite, opts: GenerateKeyOptions = {}): SdesKeyParam {
  const { key, salt } = suiteKeyLengths(suite);
  const random = opts.random ?? ((n: number) => randomBytes(n));
  const keySalt = Uint8Array.from(random(key + salt));
  if (keySalt.length !== key + salt) throw invalid('random source returned the wrong number of octets');
  if (opts.lifetime !== undefined) {
    const max = SRTP_SUITE_INFO[suite].maxLifetimeSrtp;
    if (!Number.isInteger(opts.lifetime) || opts.lifetime < 1 || opts.lifetime > max) {
      throw invalid('lifetime outside 1..2^48');
    }
  }
  if (opts.mki !== undefined) parseMki(`${opts.mki.value}:${opts.mki.length}`);
  return { keySalt, lifetime: opts.lifetime, mki: opts.mki };
}

/** A fresh `inline:` value for a local a=crypto line (PROFILE §4: Local `inline:$`). */
export function generateInline(suite: SrtpSuite, opts: GenerateKeyOptions = {}): string {
  return formatKeyParam(generateKeyParam(suite, opts));
}

/** MKI value as its wire octets (big-endian, `length` octets). */
export function mkiBytes(mki: SdesMki): Uint8Array {
  const out = new Uint8Array(mki.length);
  let v = mki.value;
  for (let i = mki.length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Splits key||salt into SrtpMasterKey (copies; the caller may wipe its SdesKeyParam). */
export function toMasterKey(suite: SrtpSuite, k: SdesKeyParam): SrtpMasterKey {
  const { key } = suiteKeyLengths(suite);
  return {
    key: k.keySalt.slice(0, key),
    salt: k.keySalt.slice(key),
    mki: k.mki !== undefined ? mkiBytes(k.mki) : undefined,
  };
}

export interface CryptoSessionOptions {
  ssrc?: number | undefined;
  roc?: number | undefined;
  /** Our configured replay window; the WSH hint can only raise it. Default 128. */
  windowSize?: number | undefined;
}

/**
 * SRTP session parameters for a parsed a=crypto line. Use the Remote line for the inbound session
 * and the Local line for the outbound one.
 */
export function cryptoToSessionParams(c: SdesCrypto, opts: CryptoSessionOptions = {}): SrtpSessionParams {
  const base = opts.windowSize ?? 128;
  const windowSize = Math.min(0x7fff, Math.max(128, base, c.windowSizeHint ?? 0));
  return {
    suite: c.suite,
    keys: c.keys.map((k) => toMasterKey(c.suite, k)),
    unencryptedSrtp: c.unencryptedSrtp,
    unencryptedSrtcp: c.unencryptedSrtcp,
    unauthenticatedSrtp: c.unauthenticatedSrtp,
    windowSize,
    ssrc: opts.ssrc,
    roc: opts.roc,
  };
}

/** Per-packet overhead of a parsed line (bandwidth adjustment): tag + MKI; SRTCP also the index. */
export function cryptoOverhead(c: SdesCrypto): { rtp: number; rtcp: number } {
  return srtpOverhead(c.suite, {
    mkiLength: c.keys[0]?.mki?.length,
    unauthenticatedSrtp: c.unauthenticatedSrtp,
  });
}
