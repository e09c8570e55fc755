/**
 * The DTLS part of the native addon: loading, code tables, node's own OpenSSL (no second libssl),
 * createContext errors, and packet calls that never throw.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  DTLS_CODE,
  DTLS_LISTEN,
  DtlsNativeError,
  loadDtlsNative,
  loadDtlsNativeFrom,
} from '../../../../daemon/tls/dtls/binding.js';
import { nativeAddonCandidates } from '../../../../daemon/tls/srtp/binding.js';
import { findTool } from '../../../interop/tools.js';
import { identity, skipWithoutDtls } from './helpers.js';

const skip = skipWithoutDtls();

describe('DTLS binding: loading', () => {
  it('a missing addon is ERR_NATIVE_MISSING and names `npm run build:native`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trgwd-dtls-native-'));
    try {
      assert.throws(
        () => loadDtlsNativeFrom([join(dir, 'nope.node')]),
        (e: unknown) =>
          e instanceof DtlsNativeError &&
          e.code === 'ERR_NATIVE_MISSING' &&
          e.message.includes('npm run build:native'),
      );
      const junk = join(dir, 'junk.node');
      writeFileSync(junk, 'not an ELF file');
      assert.throws(
        () => loadDtlsNativeFrom([junk]),
        (e: unknown) => e instanceof DtlsNativeError && e.cause !== undefined,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DTLS binding: the addon', { skip }, () => {
  it('runs on the OpenSSL of the node binary, and links no libssl/libcrypto of its own', (t) => {
    const n = loadDtlsNative();
    assert.match(
      n.opensslVersion,
      new RegExp(`OpenSSL ${process.versions.openssl.replace(/\./g, '\\.')}\\b`),
    );
    const ldd = findTool('ldd');
    if (ldd === undefined) {
      t.diagnostic('ldd not available: library check skipped');
      return;
    }
    const path = nativeAddonCandidates().find((p) => {
      try {
        return execFileSync('test', ['-f', p]) !== undefined;
      } catch {
        return false;
      }
    });
    assert.ok(path !== undefined);
    const libs = execFileSync(ldd, [path], { encoding: 'utf8' });
    assert.doesNotMatch(libs, /libssl|libcrypto/, libs);
  });

  it('createContext refuses an unreadable certificate and a key that does not match', () => {
    const n = loadDtlsNative();
    const id = identity();
    const other = identity();
    assert.throws(
      () =>
        n.createContext({
          cert: Buffer.from('-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n'),
          key: Buffer.from(id.keyPem),
        }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_DTLS_CONFIG',
    );
    assert.throws(
      () => n.createContext({ cert: Buffer.from(id.certPem), key: Buffer.from(other.keyPem) }),
      (e: unknown) =>
        (e as { code?: string }).code === 'ERR_DTLS_CONFIG' &&
        /does not match|mismatch/.test((e as Error).message),
    );
    assert.throws(
      () =>
        n.createContext({
          cert: Buffer.from(id.certPem),
          key: Buffer.from(id.keyPem),
          ciphers: 'NO-SUCH-CIPHER',
        }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_DTLS_CONFIG',
    );
    // DER works as well as PEM
    const der = id.certificate.raw;
    const keyDer = createPrivateKey(id.keyPem).export({ type: 'pkcs8', format: 'der' });
    const ctx = n.createContext({ cert: der, key: keyDer });
    n.destroyContext(ctx);
    n.destroyContext(ctx); // idempotent
    // an RSA key with an EC certificate does not match either
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    assert.throws(() => n.createContext({ cert: Buffer.from(id.certPem), key: Buffer.from(rsa) }));
  });

  it('packet calls never throw: bad handles and arguments give codes', () => {
    const n = loadDtlsNative();
    const junk = {} as unknown as Parameters<typeof n.feed>[0];
    const b = Buffer.alloc(64);
    assert.equal(n.feed(junk, b, 10, b), DTLS_CODE.BAD_PARAM);
    assert.equal(n.read(junk, b), DTLS_CODE.BAD_PARAM);
    assert.equal(n.write(junk, b, 10), DTLS_CODE.BAD_PARAM);
    assert.equal(n.handleTimeout(junk), DTLS_CODE.BAD_PARAM);
    assert.equal(n.timeoutMs(junk), -1);
    assert.equal(n.takeOut(junk), undefined);
    const id = identity();
    const ctx = n.createContext({ cert: Buffer.from(id.certPem), key: Buffer.from(id.keyPem) });
    assert.equal(n.listen(ctx, b, 0, Buffer.from('x')), DTLS_CODE.BAD_PARAM);
    assert.equal(n.listen(ctx, b, 64, Buffer.from('1.2.3.4|5')), DTLS_LISTEN.DROP); // zeros: not a ClientHello
    const s = n.connect(ctx, { mtu: 1200, pins: null, peer: Buffer.from('1.2.3.4|5') });
    assert.equal(n.write(s, b, 10), DTLS_CODE.STATE); // not established
    assert.equal(n.feed(s, b, 65, b), DTLS_CODE.BAD_PARAM); // length beyond the buffer
    n.destroy(s);
    n.destroy(s);
    assert.equal(n.feed(s, b, 10, b), DTLS_CODE.CLOSED);
    assert.equal(n.write(s, b, 10), DTLS_CODE.CLOSED);
    assert.throws(
      () => n.connect(ctx, { mtu: 10 }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_DTLS_PARAM',
    );
    assert.throws(
      () => n.connect(ctx, { pins: [{ hash: 2, digest: Buffer.alloc(5) }] }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_DTLS_PARAM',
    );
    n.destroyContext(ctx);
    assert.throws(() => n.connect(ctx, {}));
  });
});
