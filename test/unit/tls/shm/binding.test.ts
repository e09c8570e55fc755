/**
 * The shared memory part of the native addon (native/src/shm.c) through its wrapper
 * (daemon/tls/shm/binding.ts): two mappings of one block see the same memory, in this process and
 * in a child process that maps it by our pid and fd; errors carry ERR_SHM_* codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  createShm,
  loadShmNative,
  loadShmNativeFrom,
  openShm,
  ShmError,
  shmAvailable,
} from '../../../../daemon/tls/shm/binding.js';

const skip =
  shmAvailable() || process.env.CI === 'true' ? false : 'native addon not built: run `npm run build:native`';

const isShmError = (code: string) => (e: unknown) => e instanceof ShmError && e.code === code;

describe('shm binding', { skip }, () => {
  it('a block is zero-filled; what one mapping writes the other reads', () => {
    const a = createShm(4096);
    assert.equal(a.buffer.byteLength, 4096);
    assert.equal(a.ref.pid, process.pid);
    assert.equal(a.ref.bytes, 4096);
    assert.ok(Number.isInteger(a.ref.fd) && a.ref.fd > 2);
    const mine = new Float64Array(a.buffer);
    assert.ok(mine.every((x) => x === 0));
    const other = new Float64Array(openShm(a.ref));
    mine[3] = 1234.5;
    assert.equal(other[3], 1234.5);
    other[511] = -7;
    assert.equal(mine[511], -7);
    // a mapping of part of the block
    const part = new Float64Array(openShm({ ...a.ref, bytes: 64 }));
    assert.equal(part.length, 8);
    assert.equal(part[3], 1234.5);
  });

  it('a child process maps the block by our pid and fd: it reads ours, we read its', () => {
    const a = createShm(1024);
    const v = new Float64Array(a.buffer);
    v[0] = 42.25;
    const wrapper = new URL('../../../../daemon/tls/shm/binding.ts', import.meta.url).href;
    const code = `
      const { openShm } = await import(${JSON.stringify(wrapper)});
      const v = new Float64Array(openShm(${JSON.stringify(a.ref)}));
      process.stdout.write(String(v[0]));
      v[1] = process.pid;
      v[127] = 99.5;
    `;
    const r = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '42.25', 'the child read what we wrote');
    assert.equal(v[1], r.pid, 'we read what the child wrote');
    assert.equal(v[127], 99.5);
  });

  it('errors carry ERR_SHM_* codes', () => {
    assert.throws(() => createShm(0), isShmError('ERR_SHM_PARAM'));
    assert.throws(() => createShm(1.5), isShmError('ERR_SHM_PARAM'));
    assert.throws(() => createShm(loadShmNative().maxBytes + 1), isShmError('ERR_SHM_PARAM'));
    const a = createShm(128);
    assert.throws(
      () => openShm({ ...a.ref, bytes: 256 }),
      isShmError('ERR_SHM_SIZE'),
      'larger than the block',
    );
    assert.throws(() => openShm({ ...a.ref, fd: 1_000_000 }), isShmError('ERR_SHM_OPEN'));
    assert.throws(() => openShm({ ...a.ref, pid: 0 }), isShmError('ERR_SHM_PARAM'));
  });

  it('a missing addon is ERR_NATIVE_MISSING', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trgwd-shm-native-'));
    try {
      assert.throws(
        () => loadShmNativeFrom([join(dir, 'nope.node')]),
        (e: unknown) =>
          e instanceof ShmError &&
          e.code === 'ERR_NATIVE_MISSING' &&
          e.message.includes('npm run build:native'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
