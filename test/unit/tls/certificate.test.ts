import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isTrgwdError } from '../../../daemon/errors.js';
import { LocalIdentity, fingerprintOf, generateSelfSigned } from '../../../daemon/tls/certificate.js';

describe('generated certificate (ECDSA P-256, self-signed, v3)', () => {
  const now = new Date(Date.UTC(2030, 5, 1, 12, 0, 0));
  const g = generateSelfSigned({ days: 30, now });
  const cert = new X509Certificate(g.certPem);

  it('is a self-signed ECDSA P-256 certificate Node can parse and verify', () => {
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(cert.subject, 'CN=trgwd');
    assert.equal(cert.issuer, 'CN=trgwd');
    assert.ok(cert.verify(cert.publicKey), 'signature verifies with its own key');
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('is valid from an hour before now for the configured days', () => {
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - 3600_000);
    assert.equal(new Date(cert.validTo).getTime(), now.getTime() + 30 * 86400_000);
  });

  it('has a random positive serial', () => {
    const other = new X509Certificate(generateSelfSigned({ days: 1 }).certPem);
    assert.notEqual(other.serialNumber, cert.serialNumber);
    assert.match(cert.serialNumber, /^[0-7][0-9A-F]{31}$/);
  });

  it('lifetimes past 2049 use GeneralizedTime and still parse', () => {
    const long = new X509Certificate(generateSelfSigned({ days: 40 * 365, now }).certPem);
    assert.equal(new Date(long.validTo).getUTCFullYear(), 2070);
  });
});

describe('fingerprints (RFC 8122: upper-case hex, colons)', () => {
  const id = LocalIdentity.generate({ days: 1 });
  it('match what Node computes for sha-1, sha-256 and sha-512', () => {
    assert.equal(id.fingerprint('sha-1'), id.certificate.fingerprint);
    assert.equal(id.fingerprint('sha-256'), id.certificate.fingerprint256);
    assert.equal(id.fingerprint('sha-512'), id.certificate.fingerprint512);
    assert.equal(id.fingerprint(), id.certificate.fingerprint256);
  });
  it('sha-384 has 48 bytes', () => {
    assert.match(id.fingerprint('sha-384'), /^([0-9A-F]{2}:){47}[0-9A-F]{2}$/);
    assert.equal(fingerprintOf(id.certificate.raw, 'sha-384'), id.fingerprint('sha-384'));
  });
});

describe('LocalIdentity from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-tls-'));
  const a = generateSelfSigned({ days: 1 });
  const b = generateSelfSigned({ days: 1 });
  writeFileSync(join(dir, 'a.crt'), a.certPem);
  writeFileSync(join(dir, 'a.key'), a.keyPem);
  writeFileSync(join(dir, 'b.key'), b.keyPem);

  it('loads a PEM certificate and key', () => {
    const id = LocalIdentity.fromFiles(join(dir, 'a.crt'), join(dir, 'a.key'));
    assert.equal(id.generated, false);
    assert.equal(id.fingerprint(), new X509Certificate(a.certPem).fingerprint256);
  });

  it('refuses a key of another certificate, a missing file, garbage (ERR_TLS_CERT)', () => {
    const isCertError = (e: unknown) => isTrgwdError(e, 'ERR_TLS_CERT');
    assert.throws(() => LocalIdentity.fromFiles(join(dir, 'a.crt'), join(dir, 'b.key')), isCertError);
    assert.throws(() => LocalIdentity.fromFiles(join(dir, 'none.crt'), join(dir, 'a.key')), (e: unknown) => isCertError(e) && /none\.crt/.test(String(e)));
    assert.throws(() => new LocalIdentity('not a pem', a.keyPem, false), isCertError);
  });
});
