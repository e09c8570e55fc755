import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG_PATH, loadConfig, loadConfigOrThrow } from '../../../config/loader.js';
import { configSchema } from '../../../config/schema.js';
import { validate } from '../../../config/schema-dsl.js';
import { readFileSync } from 'node:fs';

const noEnv = {};

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-cfg-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('the embedded default validates and keeps the documented harness keys', () => {
  const c = loadConfigOrThrow({ env: noEnv });
  assert.equal(c.mg.mid, '[127.0.0.1]:2944');
  assert.equal(c.mg.version, 3);
  assert.deepEqual(c.mg.profile, { name: 'trgw', version: 1 });
  assert.deepEqual(c.control.listen, { address: '127.0.0.1', port: 2944 });
  assert.deepEqual(c.control.transports, ['udp', 'tcp']);
  assert.deepEqual(c.control.controllers, [{ address: '127.0.0.1', port: 2945, transport: 'udp' }]);
  assert.deepEqual(c.media.realms.access, { address: '127.0.0.1', ports: [30000, 34999] });
  assert.deepEqual(c.media.realms.core, { address: '127.0.0.1', ports: [35000, 39999] });
  assert.equal(c.media.defaultRealm, 'core');
  assert.deepEqual(c.ops.listen, { address: '127.0.0.1', port: 9464 });
  assert.equal(c.log.level, 'info');
});

test('default.yaml says nothing the schema defaults do not (one source of defaults)', () => {
  const fromFile = loadConfigOrThrow({ env: noEnv });
  const fromSchema = validate(configSchema, {});
  assert.ok(fromSchema.ok);
  assert.deepEqual(fromFile, fromSchema.value);
  // and the file itself parses to a mapping with the harness keys present literally
  const raw = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
  for (const k of ['mg', 'control', 'media', 'ops', 'log']) assert.ok(k in raw, k);
});

test('--set takes a dotted path and a YAML value, and overrides the environment', () => {
  const c = loadConfigOrThrow({
    env: { TRGWD_CONTROL__LISTEN__PORT: '4000' },
    sets: ['control.listen.port=3944', 'control.controllers=[{address: 127.0.0.1, port: 3945}]', 'control.controllers.0.transport=tcp'],
  });
  assert.equal(c.control.listen.port, 3944);
  assert.deepEqual(c.control.controllers, [{ address: '127.0.0.1', port: 3945, transport: 'tcp' }]);
});

test('TRGWD_<PATH> environment variables override the file, case-insensitively; foreign TRGWD_ vars are ignored', () => {
  const c = loadConfigOrThrow({
    env: { TRGWD_CONTROL__LISTEN__PORT: '3944', TRGWD_MEDIA__DEFAULTREALM: 'access', TRGWD_LOG__LEVEL: 'debug', TRGWD_TEST_CONCURRENCY: '2' },
  });
  assert.equal(c.control.listen.port, 3944);
  assert.equal(c.media.defaultRealm, 'access');
  assert.equal(c.log.level, 'debug');
});

test('a bad port range names its path', () => {
  const r = loadConfig({ env: noEnv, sets: ['media.realms.access.ports=[5,1]'] });
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.path, 'media.realms.access.ports');
  assert.match(r.issues[0]!.message, /expected \[low, high\] with low <= high/);
});

test('every problem is reported at once, each with its path', () => {
  const file = tmpFile(
    'bad.yaml',
    `mg: { version: 7, profile: { name: "1bad" } }
control: { listen: { address: not-an-ip, port: 70000 }, transports: [sctp], bogus: 1 }
media: { realms: { a: { address: 10.0.0.1, ports: [1, 2] } }, defaultRealm: a }
log: { level: loud }
`,
  );
  const r = loadConfig({ file, env: noEnv });
  assert.ok(!r.ok);
  const paths = r.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, [
    'control.bogus',
    'control.listen.address',
    'control.listen.port',
    'control.transports.0',
    'log.level',
    'mg.profile.name',
    'mg.version',
  ]);
});

test('media.workerMode: thread by default, process accepted, anything else names its path and the choices', () => {
  assert.equal(loadConfigOrThrow({ env: noEnv }).media.workerMode, 'thread');
  const c = loadConfigOrThrow({ env: noEnv, sets: ['media.workers=4', 'media.workerMode=process'] });
  assert.equal(c.media.workerMode, 'process');
  assert.equal(c.media.workers, 4);
  const r = loadConfig({ env: noEnv, sets: ['media.workerMode=fork'] });
  assert.ok(!r.ok);
  assert.equal(r.issues.length, 1);
  assert.equal(r.issues[0]!.path, 'media.workerMode');
  assert.equal(r.issues[0]!.message, 'expected one of thread, process, got "fork"');
});

test('cross-key checks: the default realm must exist, realms must not overlap', () => {
  const r1 = loadConfig({ env: noEnv, sets: ['media.defaultRealm=nowhere'] });
  assert.ok(!r1.ok);
  assert.equal(r1.issues[0]!.path, 'media.defaultRealm');
  const r2 = loadConfig({ env: noEnv, sets: ['media.realms.core.ports=[34000, 36000]'] });
  assert.ok(!r2.ok);
  assert.match(r2.issues[0]!.message, /overlaps realm access/);
});

test('unknown keys in --set, bad YAML values and unreadable files are clear errors', () => {
  const r1 = loadConfig({ env: noEnv, sets: ['control.lisen.port=1'] });
  assert.ok(!r1.ok);
  assert.equal(r1.issues[0]!.path, 'control.lisen');
  assert.match(r1.issues[0]!.message, /unknown key/);
  const r2 = loadConfig({ env: noEnv, sets: ['control.listen.port=[1'] });
  assert.ok(!r2.ok);
  assert.match(r2.issues[0]!.message, /not valid YAML/);
  const r3 = loadConfig({ env: noEnv, sets: ['noequals'] });
  assert.ok(!r3.ok);
  const r4 = loadConfig({ env: noEnv, file: '/nonexistent/trgwd.yaml' });
  assert.ok(!r4.ok);
  assert.match(r4.issues[0]!.message, /cannot read .*ENOENT/);
  const r5 = loadConfig({ env: noEnv, file: tmpFile('broken.yaml', 'mg: [\n') });
  assert.ok(!r5.ok);
  assert.match(r5.issues[0]!.message, /YAML error/);
});

test('a file may define its own realms: they replace the default ones', () => {
  const file = tmpFile('realms.yaml', 'media: { realms: { ims: { address: 127.0.0.2, ports: [40000, 40999] } }, defaultRealm: ims }\n');
  const c = loadConfigOrThrow({ file, env: noEnv });
  assert.deepEqual(Object.keys(c.media.realms), ['ims']);
  assert.equal(c.control.listen.port, 2944, 'other keys take their defaults');
});
