import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  NATIVE_ADDON_ENV,
  NATIVE_ADDON_RELATIVE_PATH,
  NativeAddonError,
  SRTP_RESULT,
  loadNative,
  loadNativeFrom,
  nativeAddonCandidates,
  srtpResultName,
} from '../../../../daemon/tls/srtp/binding.js';
import { skipWithoutNative } from './helpers.js';

describe('binding: loading', () => {
  it('a missing addon is ERR_NATIVE_MISSING and names `npm run build:native`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trgwd-native-'));
    try {
      assert.throws(
        () => loadNativeFrom([join(dir, 'nope.node')]),
        (e: unknown) =>
          e instanceof NativeAddonError &&
          e.code === 'ERR_NATIVE_MISSING' &&
          e.message.includes('npm run build:native'),
      );
      // A file that is not an addon fails the same way, with the cause attached.
      const junk = join(dir, 'junk.node');
      writeFileSync(junk, 'not an ELF file');
      assert.throws(
        () => loadNativeFrom([junk]),
        (e: unknown) => e instanceof NativeAddonError && e.cause !== undefined,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('looks in $TRGWD_NATIVE_ADDON first, then native/build/Release up the tree', () => {
    const saved = process.env[NATIVE_ADDON_ENV];
    try {
      process.env[NATIVE_ADDON_ENV] = '/opt/trgwd/trgwd_native.node';
      const c = nativeAddonCandidates('/a/b/dist/daemon/tls/srtp');
      assert.equal(c[0], '/opt/trgwd/trgwd_native.node');
      assert.ok(c.includes(join('/a/b', NATIVE_ADDON_RELATIVE_PATH)));
      delete process.env[NATIVE_ADDON_ENV];
      assert.equal(nativeAddonCandidates('/x')[0], join('/x', NATIVE_ADDON_RELATIVE_PATH));
    } finally {
      if (saved === undefined) delete process.env[NATIVE_ADDON_ENV];
      else process.env[NATIVE_ADDON_ENV] = saved;
    }
  });
});

describe('binding: result codes', () => {
  it('names every code, and any length as ok', () => {
    assert.equal(srtpResultName(0), 'ok');
    assert.equal(srtpResultName(172), 'ok');
    assert.equal(srtpResultName(SRTP_RESULT.AUTH_FAIL), 'auth_fail');
    assert.equal(srtpResultName(SRTP_RESULT.REPLAY_FAIL), 'replay_fail');
    assert.equal(srtpResultName(SRTP_RESULT.REPLAY_OLD), 'replay_old');
    assert.equal(srtpResultName(SRTP_RESULT.BAD_PARAM), 'bad_param');
    assert.equal(srtpResultName(-999), 'other');
    const names = new Set(Object.values(SRTP_RESULT).map(srtpResultName));
    assert.equal(names.size, Object.keys(SRTP_RESULT).length, 'one distinct name per code');
  });
});

describe('binding: the built addon', { skip: skipWithoutNative() }, () => {
  it('loads once, with code tables equal to ours and libsrtp2 initialised', () => {
    const n = loadNative();
    assert.equal(loadNative(), n);
    assert.deepEqual({ ...n.srtp.codes }, { ...SRTP_RESULT });
    assert.equal(n.srtp.initStatus, 0);
    // the vendored libsrtp is built on Node's own OpenSSL (native/deps/libsrtp), not Debian's on NSS
    assert.equal(n.srtp.cryptoBackend, 'openssl');
    assert.equal(n.srtp.libsrtpVersion, 'libsrtp2 2.5.0');
    assert.equal(typeof n.srtp.liveSessions(), 'number');
    const ev = n.srtp.events();
    assert.deepEqual(Object.keys(ev).sort(), [
      'keyHardLimit',
      'keySoftLimit',
      'logErrors',
      'logWarnings',
      'packetIndexLimit',
      'ssrcCollision',
    ]);
    assert.ok(Object.values(ev).every((v) => typeof v === 'number' && v >= 0));
  });

  it('create() throws coded errors on bad parameters; calls on a non-handle return BAD_PARAM', () => {
    const { srtp } = loadNative();
    assert.throws(() => srtp.create({ direction: 1, suite: 9, keys: [] }), { code: 'ERR_SRTP_PARAM' });
    assert.throws(() => srtp.create(null as never), { code: 'ERR_SRTP_PARAM' });
    assert.throws(
      () => srtp.create({ direction: 1, suite: 1, keys: [{ key: new Uint8Array(30) }], windowSize: 127 }),
      {
        code: 'ERR_SRTP_PARAM',
      },
    );
    assert.throws(() => (srtp.create as unknown as () => void)(), { code: 'ERR_SRTP_PARAM' });
    const notAHandle = {} as never;
    const b = Buffer.alloc(64);
    assert.equal(srtp.protectRtp(notAHandle, b, 20), SRTP_RESULT.BAD_PARAM);
    assert.equal(srtp.getRoc(notAHandle, 1), SRTP_RESULT.BAD_PARAM);
    assert.equal((srtp.unprotectRtcp as unknown as () => number)(), SRTP_RESULT.BAD_PARAM);
    assert.throws(() => srtp.info(notAHandle), { code: 'ERR_SRTP_PARAM' });
    assert.throws(() => srtp.update(notAHandle, { direction: 1, suite: 1, keys: [] }), {
      code: 'ERR_SRTP_PARAM',
    });
    srtp.destroy(notAHandle); // ignored
  });

  it('loads in a worker thread too (context-aware addon) and works there', async () => {
    const path = nativeAddonCandidates().find((p) => existsSync(p));
    assert.ok(path !== undefined);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { srtp } = require(workerData);
      const key = new Uint8Array(30).fill(1);
      const tx = srtp.create({ direction: 1, suite: 1, keys: [{ key }] });
      const rx = srtp.create({ direction: 0, suite: 1, keys: [{ key }] });
      const b = Buffer.alloc(64);
      b[0] = 0x80;
      const n = srtp.protectRtp(tx, b, 20);
      parentPort.postMessage([n, srtp.unprotectRtp(rx, b, n)]);
      srtp.destroy(tx);
      srtp.destroy(rx);`;
    const result = await new Promise<unknown>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: path });
      w.once('message', resolve);
      w.once('error', reject);
    });
    assert.deepEqual(result, [30, 20]);
  });
});
