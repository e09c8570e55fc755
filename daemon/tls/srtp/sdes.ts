/**
 * SDES in the H.248 Local and Remote of an e2ae SRTP stream (PROFILE §4, §9): which `a=crypto` line
 * keys which direction, the keys the gateway generates, and the bandwidth it answers.
 *
 * - Remote `a=crypto` is the key the peer sends with (we unprotect with it); Local `a=crypto` is ours
 *   (we protect with it).
 * - Local `a=crypto:<tag> <suite> inline:$` (the tag and the suite may also be `$`), or a Local with no
 *   `a=crypto` while Remote has one: the gateway generates the key (node:crypto CSPRNG) and answers the
 *   whole line. A `$` tag or suite takes the Remote line's (RFC 4568 §5.1.2: the answer keeps the
 *   offer's tag and suite), else tag 1 and AES_CM_128_HMAC_SHA1_80 (the TS 33.328 mandatory suite).
 * - Several lines: the Local and Remote lines with the same tag are used (RFC 4568 §5.1.2); lines with
 *   suites we do not terminate are skipped (§5.1.3: the answerer ignores what it does not support).
 *   With exactly one usable line on each side and no common tag, those two are used (a lab controller
 *   that numbered them differently still gets a call).
 * - Bandwidth (PROFILE §9): `b=AS` (kbit/s) and `b=TIAS` (bit/s) in a Local given with this command are
 *   answered raised by the SRTP overhead (tag + MKI) at the stream's packet rate (1000 / a=ptime, default
 *   20 ms): AS += ceil(overhead·8·rate / 1000), TIAS += overhead·8·rate. RTCP (b=RS/RR) is left alone.
 *
 * Pure: no I/O, no state; the random source is a parameter.
 */
import { TrgwdError } from '../../errors.js';
import type { SdpGroup, SdpMedia, SdpSection } from '../../control/codec/sdp.js';
import {
  CryptoAttrError,
  cryptoOverhead,
  formatKeyParam,
  generateKeyParam,
  parseCryptoAttr,
  type SdesCrypto,
} from './crypto-attr.js';
import { isSrtpSuite, type SrtpSuite } from './suites.js';

export const DEFAULT_SDES_SUITE: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80';
const DEFAULT_PTIME_MS = 20;

/** The a=crypto values of a stream's SDP: the first media section's, else the session's. */
export function cryptoValues(groups: readonly SdpGroup[] | undefined): string[] {
  const g = groups?.[0];
  const m = g?.media[0];
  if (g === undefined || m === undefined) return [];
  const v = m.getAttributes('crypto');
  return v.length > 0 ? v : g.session.getAttributes('crypto');
}

/** True when the stream's SDP has an a=crypto line (the stream is e2ae SRTP, not e2e). */
export function hasCryptoLine(groups: readonly SdpGroup[] | undefined): boolean {
  return cryptoValues(groups).length > 0;
}

/** A parsed line with its text (the identity of a key: the same text is the same key). */
export interface CryptoLine {
  readonly text: string;
  readonly crypto: SdesCrypto;
}

/**
 * Usable lines of a list: those we parse and terminate. A malformed line or an unsupported suite is
 * skipped; `errors` gets why (for the message when none is usable).
 */
export function usableLines(values: readonly string[], errors: string[] = []): CryptoLine[] {
  const out: CryptoLine[] = [];
  for (const text of values) {
    if (text.includes('$')) continue; // not filled yet: never a key
    try {
      out.push({ text, crypto: parseCryptoAttr(text) });
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  return out;
}

export interface CryptoChoice {
  /** The line we protect with (Local), if any. */
  readonly local: CryptoLine | undefined;
  /** The line we unprotect with (Remote), if any. */
  readonly remote: CryptoLine | undefined;
}

/** Picks the Local and Remote lines that key the two directions (see the file comment). */
export function chooseCrypto(localValues: readonly string[], remoteValues: readonly string[]): CryptoChoice {
  const locals = usableLines(localValues);
  const remotes = usableLines(remoteValues);
  if (locals.length === 0 || remotes.length === 0) return { local: locals[0], remote: remotes[0] };
  for (const l of locals) {
    const r = remotes.find((x) => x.crypto.tag === l.crypto.tag);
    if (r !== undefined) return { local: l, remote: r };
  }
  if (locals.length === 1 && remotes.length === 1) return { local: locals[0], remote: remotes[0] };
  return { local: undefined, remote: undefined };
}

function refuse(message: string, details?: Record<string, unknown>): TrgwdError {
  return new CryptoAttrError('ERR_SRTP_CRYPTO_ATTR', message, details !== undefined ? { details } : undefined);
}

export interface FillOptions {
  /** Random source (default: the CSPRNG of node:crypto). */
  readonly random?: ((n: number) => Uint8Array) | undefined;
}

/** Our line for `template` (`<tag|$> <suite|$> inline:$[|lifetime][|MKI:len] [params]`), key generated. */
function fillTemplate(template: string, remotes: readonly CryptoLine[], random: FillOptions['random']): string {
  const parts = template.trim().split(/[ \t]+/);
  if (parts.length < 3) throw refuse(`Local a=crypto:${template} needs a tag, a suite and inline:$`);
  const [tagIn, suiteIn, keyIn, ...params] = parts as [string, string, string, ...string[]];
  const byTag = tagIn === '$' ? undefined : remotes.find((r) => String(r.crypto.tag) === tagIn);
  const peer = byTag ?? (tagIn === '$' ? remotes.find((r) => suiteIn === '$' || r.crypto.suite === suiteIn) : undefined);
  const tag = tagIn !== '$' ? tagIn : String(peer?.crypto.tag ?? 1);
  const suite = suiteIn !== '$' ? suiteIn : (peer?.crypto.suite ?? DEFAULT_SDES_SUITE);
  if (!isSrtpSuite(suite)) {
    throw new CryptoAttrError('ERR_SRTP_SUITE_UNSUPPORTED', `crypto suite ${suite} is not supported`, {
      details: { suite },
    });
  }
  if (!keyIn.startsWith('inline:')) throw refuse(`Local a=crypto:${template}: the key must be inline:`);
  const fields = keyIn.slice('inline:'.length).split('|');
  let key = keyIn;
  if (fields[0] === '$') {
    const fresh = formatKeyParam(generateKeyParam(suite, { random }));
    key = [fresh, ...fields.slice(1)].join('|');
  }
  // session parameters: the controller's, else the peer's (they bind both directions, RFC 4568 §6.3)
  const sessionParams =
    params.length > 0 || peer === undefined ? params : sessionParamsOf(peer.crypto);
  const line = [tag, suite, key, ...sessionParams].join(' ');
  parseCryptoAttr(line); // what we answer must be what we can use
  return line;
}

function sessionParamsOf(c: SdesCrypto): string[] {
  const out: string[] = [];
  if (c.unencryptedSrtp) out.push('UNENCRYPTED_SRTP');
  if (c.unencryptedSrtcp) out.push('UNENCRYPTED_SRTCP');
  if (c.unauthenticatedSrtp) out.push('UNAUTHENTICATED_SRTP');
  return out;
}

/**
 * For MediaPlane.prepareStream on an SRTP stream: fills the `$` of Local's a=crypto lines (or adds
 * one answering Remote), checks that the result keys both directions, and raises b=AS/b=TIAS.
 * `local`: the Local being set by this command (filled in place), undefined when unchanged.
 * `currentLocal`: the stream's Local now (used when `local` is undefined).
 * Throws ERR_SRTP_CRYPTO_ATTR / ERR_SRTP_SUITE_UNSUPPORTED (449) or ERR_MG_REQUIRED_INFO_MISSING (472).
 */
export function prepareSdes(
  local: SdpGroup[] | undefined,
  remote: readonly SdpGroup[] | undefined,
  currentLocal: readonly SdpGroup[] | undefined,
  opts: FillOptions = {},
): CryptoChoice {
  const remoteErrors: string[] = [];
  const remoteValues = cryptoValues(remote);
  const remotes = usableLines(remoteValues, remoteErrors);
  if (remoteValues.length > 0 && remotes.length === 0) {
    throw refuse(`no usable Remote a=crypto line: ${remoteErrors.join('; ')}`, { lines: remoteValues.length });
  }
  if (local !== undefined) {
    for (const g of local) {
      for (const m of g.media) fillSection(m, remotes, opts);
      fillSection(g.session, remotes, opts);
      // a Local with no a=crypto at all while Remote has one: we answer the Remote line
      if (m0(g) !== undefined && cryptoValues([g]).length === 0 && remotes.length > 0) {
        const r = remotes[0]!;
        m0(g)!.addAttribute(
          'crypto',
          fillTemplate(`${r.crypto.tag} ${r.crypto.suite} inline:$`, remotes, opts.random),
        );
      }
    }
  }
  const localValues = cryptoValues(local ?? currentLocal);
  if (localValues.length === 0) {
    throw new TrgwdError(
      'ERR_MG_REQUIRED_INFO_MISSING',
      'SRTP termination needs a Local a=crypto (or inline:$ for the gateway to choose the key) with the Remote one',
    );
  }
  const localErrors: string[] = [];
  if (usableLines(localValues, localErrors).length === 0) {
    throw refuse(`no usable Local a=crypto line: ${localErrors.join('; ')}`);
  }
  const choice = chooseCrypto(localValues, remoteValues);
  if (remotes.length > 0 && (choice.local === undefined || choice.remote === undefined)) {
    throw refuse('no Local a=crypto line has the tag of a Remote one (RFC 4568 §5.1.2)', {
      local: localValues.map((v) => v.split(' ')[0]),
      remote: remotes.map((r) => r.crypto.tag),
    });
  }
  if (local !== undefined) {
    const basis = choice.remote ?? choice.local;
    if (basis !== undefined) raiseBandwidth(local, cryptoOverhead(basis.crypto).rtp);
  }
  return choice;
}

function m0(g: SdpGroup): SdpMedia | undefined {
  return g.media[0];
}

function fillSection(s: SdpSection, remotes: readonly CryptoLine[], opts: FillOptions): void {
  const values = s.getAttributes('crypto');
  if (!values.some((v) => v.includes('$'))) return;
  s.setAttributes(
    'crypto',
    values.map((v) => (v.includes('$') ? fillTemplate(v, remotes, opts.random) : v)),
  );
}

/** Packets per second of a media section: 1000 / a=ptime (ms), default 20 ms. */
export function packetRate(m: SdpMedia | undefined, session?: SdpSection): number {
  const raw = m?.getAttribute('ptime') ?? session?.getAttribute('ptime');
  const ptime = raw !== undefined ? Number(raw) : NaN;
  return 1000 / (Number.isFinite(ptime) && ptime > 0 ? ptime : DEFAULT_PTIME_MS);
}

/** Raises b=AS and b=TIAS of each group (session and media level) by `overhead` octets per packet. */
export function raiseBandwidth(groups: readonly SdpGroup[], overhead: number): void {
  if (overhead <= 0) return;
  for (const g of groups) {
    const rate = packetRate(g.media[0], g.session);
    const bits = overhead * 8 * rate;
    for (const s of [g.session, ...g.media]) {
      const as = s.bandwidth('AS');
      if (as !== undefined) s.setBandwidth('AS', as + Math.ceil(bits / 1000));
      const tias = s.bandwidth('TIAS');
      if (tias !== undefined) s.setBandwidth('TIAS', tias + Math.ceil(bits));
    }
  }
}
