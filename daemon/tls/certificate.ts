/**
 * Our TLS certificate: loaded from PEM files or generated (ECDSA P-256, self-signed, random serial)
 * as a minimal X.509 v3 certificate (RFC 5280) built with the DER encoder and signed with
 * `crypto.sign`. Peers pin it by fingerprint (RFC 8122), so nothing chains to a CA.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TrgwdError, errorMessage } from '../errors.js';
import * as der from './der.js';
import type { FingerprintHash } from './types.js';

/** OIDs used below (RFC 5280, RFC 5480, RFC 5758). */
const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const NODE_HASH: Readonly<Record<FingerprintHash, string>> = {
  'sha-1': 'sha1',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

/** RFC 8122 §5 fingerprint of a DER certificate: upper-case hex bytes joined by `:`. */
export function fingerprintOf(certDer: Uint8Array, hash: FingerprintHash): string {
  const hex = createHash(NODE_HASH[hash]).update(certDer).digest('hex').toUpperCase();
  return hex.replace(/(..)(?!$)/g, '$1:');
}

export interface GenerateOptions {
  /** Validity from an hour ago (clock skew) to this many days ahead. */
  days: number;
  /** Subject and issuer CN (default `trgwd`). */
  commonName?: string;
  /** For tests: the time taken as now. */
  now?: Date;
}

export interface GeneratedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

function name(cn: string): Buffer {
  // Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue)
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
  return critical
    ? der.sequence(der.oid(id), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(id), der.octetString(value));
}

function toPem(label: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Generates an ECDSA P-256 key and a self-signed v3 certificate for it. */
export function generateSelfSigned(opts: GenerateOptions): GeneratedCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const now = opts.now ?? new Date();
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + opts.days * 86400_000);
  // RFC 5280 §4.1.2.2: positive, at most 20 octets, unpredictable (CA/B practice: ≥ 64 random bits)
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const sigAlg = der.sequence(der.oid(OID.ecdsaWithSha256)); // RFC 5758 §3.2: parameters absent
  const cn = name(opts.commonName ?? 'trgwd');
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: SKI method 1 of
  // RFC 5280 §4.2.1.2 hashes the key bits; they are the tail of the SPKI (uncompressed point, 65 octets)
  const keyBits = spki.subarray(spki.length - 65);
  const ski = createHash('sha1').update(keyBits).digest();
  const extensions = der.sequence(
    extension(OID.basicConstraints, true, der.sequence()), // cA FALSE (the default, so empty)
    extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)), // digitalSignature
    extension(OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth))),
    extension(OID.subjectKeyIdentifier, false, der.octetString(ski)),
  );
  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // v3
    der.integer(serial),
    sigAlg,
    cn,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    cn,
    spki,
    der.explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const cert = der.sequence(tbs, sigAlg, der.bitString(signature));
  return {
    certPem: toPem('CERTIFICATE', cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Our certificate and key as TLS needs them, with fingerprints computed once. */
export class LocalIdentity {
  /** PEM of the certificate (chain: leaf first) handed to TLS. */
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
  readonly key: KeyObject;
  /** True when generated at start (not from the config). */
  readonly generated: boolean;
  readonly #fingerprints = new Map<FingerprintHash, string>();

  constructor(certPem: string, keyPem: string, generated: boolean) {
    try {
      this.certificate = new X509Certificate(certPem);
      this.key = createPrivateKey(keyPem);
    } catch (e) {
      throw new TrgwdError('ERR_TLS_CERT', `TLS certificate or key cannot be read: ${errorMessage(e)}`, { cause: e });
    }
    if (!this.certificate.checkPrivateKey(this.key))
      throw new TrgwdError('ERR_TLS_CERT', 'TLS key does not belong to the certificate');
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.generated = generated;
  }

  static generate(opts: GenerateOptions): LocalIdentity {
    const g = generateSelfSigned(opts);
    return new LocalIdentity(g.certPem, g.keyPem, true);
  }

  /** Reads PEM files (`tls.certFile`, `tls.keyFile`); ERR_TLS_CERT with the file name on failure. */
  static fromFiles(certFile: string, keyFile: string): LocalIdentity {
    const read = (f: string): string => {
      try {
        return readFileSync(f, 'utf8');
      } catch (e) {
        throw new TrgwdError('ERR_TLS_CERT', `cannot read ${f}: ${errorMessage(e)}`, { cause: e });
      }
    };
    return new LocalIdentity(read(certFile), read(keyFile), false);
  }

  /** Fingerprint of our (leaf) certificate for `a=fingerprint` (RFC 8122). */
  fingerprint(hash: FingerprintHash = 'sha-256'): string {
    let fp = this.#fingerprints.get(hash);
    if (fp === undefined) {
      fp = fingerprintOf(this.certificate.raw, hash);
      this.#fingerprints.set(hash, fp);
    }
    return fp;
  }
}
