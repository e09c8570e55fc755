/**
 * `a=fingerprint` (RFC 8122) on TLS media lines: our fingerprint into Local `$`, the peer's pins out
 * of Remote, and matching a certificate against the pins.
 */
import { SDP_ATTR, type SdpFingerprint, type SdpGroup, type SdpSection, type SdpTransport } from '../control/codec/sdp.js';
import { TrgwdError } from '../errors.js';
import { fingerprintOf, type LocalIdentity } from './certificate.js';
import type { FingerprintHash, TlsPeerPin } from './types.js';

const HASHES: ReadonlySet<string> = new Set<FingerprintHash>(['sha-1', 'sha-256', 'sha-384', 'sha-512']);

/** Transports on which the gateway terminates TLS over TCP (PROFILE §3, §7). */
export function isTlsTransport(t: SdpTransport | undefined): boolean {
  return t === 'TCP/TLS' || t === 'TCP/TLS/MSRP' || t === 'TCP/TLS/BFCP';
}

/** Canonical hash name (RFC 8122 §5: names are case-insensitive), undefined when not supported. */
export function normaliseHash(name: string): FingerprintHash | undefined {
  const l = name.toLowerCase();
  return HASHES.has(l) ? (l as FingerprintHash) : undefined;
}

/**
 * The `a=fingerprint` lines that apply to the first media section: its own, else the session's
 * (RFC 8122 §5: a media-level attribute overrides the session-level one).
 */
function fingerprintsOf(g: SdpGroup): SdpFingerprint[] {
  const m = g.media[0];
  const own = m === undefined ? [] : m.getAll(SDP_ATTR.fingerprint);
  return own.length > 0 ? own : g.session.getAll(SDP_ATTR.fingerprint);
}

/**
 * The pins of a Remote: its `a=fingerprint` lines with a supported hash (any may match). [] when
 * there is no Remote or it names no fingerprint; `$` values and unknown hashes are skipped.
 */
export function remotePins(remote: readonly SdpGroup[] | undefined): TlsPeerPin[] {
  const g = remote?.[0];
  if (g === undefined) return [];
  const out: TlsPeerPin[] = [];
  for (const f of fingerprintsOf(g)) {
    const hash = normaliseHash(f.hash);
    if (hash === undefined || f.value === '$') continue;
    const value = f.value.toUpperCase();
    if (!out.some((p) => p.hash === hash && p.value === value)) out.push({ hash, value });
  }
  return out;
}

/**
 * Checks a Remote set on a TLS stream: it must carry a fingerprint with a supported hash, since a
 * self-signed peer is authenticated by nothing else. Throws ERR_TLS_NO_FINGERPRINT (472) or
 * ERR_TLS_FINGERPRINT_HASH (449, with the hash in the text).
 */
export function checkRemote(remote: readonly SdpGroup[]): TlsPeerPin[] {
  const g = remote[0];
  if (g === undefined || g.media.length === 0) return [];
  const lines = fingerprintsOf(g);
  if (lines.length === 0) throw new TrgwdError('ERR_TLS_NO_FINGERPRINT', 'Remote a=fingerprint missing on a TLS media line');
  const pins = remotePins(remote);
  if (pins.length === 0) {
    const first = lines[0]!;
    throw new TrgwdError(
      'ERR_TLS_FINGERPRINT_HASH',
      first.value === '$' ? 'Remote a=fingerprint value $' : `a=fingerprint hash function ${first.hash}`,
    );
  }
  return pins;
}

/** What fills a `$` fingerprint: our certificate's (a LocalIdentity, the DTLS engine's identity). */
export type FingerprintSource = Pick<LocalIdentity, 'fingerprint'>;

function fill(section: SdpSection, identity: FingerprintSource): void {
  const all = section.getAll(SDP_ATTR.fingerprint);
  if (!all.some((f) => f.value === '$')) return;
  section.setAll(
    SDP_ATTR.fingerprint,
    all.map((f) => {
      if (f.value !== '$') return f;
      const hash = normaliseHash(f.hash);
      if (hash === undefined) throw new TrgwdError('ERR_TLS_FINGERPRINT_HASH', `a=fingerprint hash function ${f.hash}`);
      return { hash: f.hash, value: identity.fingerprint(hash) };
    }),
  );
}

/**
 * Replaces every `a=fingerprint:<hash> $` (session and media level, every group) with our
 * certificate's fingerprint in that hash, hash name kept as the controller wrote it. Throws
 * ERR_TLS_FINGERPRINT_HASH (449) for a hash we cannot compute.
 */
export function fillLocalFingerprints(local: readonly SdpGroup[] | undefined, identity: FingerprintSource): void {
  for (const g of local ?? []) {
    fill(g.session, identity);
    for (const m of g.media) fill(m, identity);
  }
}

/** The first pin the certificate matches, hashing it once per hash function used. */
export function matchPins(pins: readonly TlsPeerPin[], certDer: Uint8Array): TlsPeerPin | undefined {
  const seen = new Map<FingerprintHash, string>();
  for (const p of pins) {
    let fp = seen.get(p.hash);
    if (fp === undefined) {
      fp = fingerprintOf(certDer, p.hash);
      seen.set(p.hash, fp);
    }
    if (fp === p.value) return p;
  }
  return undefined;
}

/** Cache key of a pin (client session cache). */
export function pinKey(p: TlsPeerPin): string {
  return `${p.hash} ${p.value}`;
}
