import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { runTrgwd, spawnTrgwd, waitForLog } from '../helpers/cli.js';

test('trgwd --version prints the package version', async () => {
  const r = await runTrgwd(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('trgwd --help lists the commands', async () => {
  const r = await runTrgwd(['--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /start/);
  assert.match(r.stdout, /check-config/);
  assert.match(r.stdout, /--set/);
});

test('check-config prints the effective config with --set and TRGWD_ overrides applied', async () => {
  const r = await runTrgwd(['check-config', '--set', 'control.listen.port=3944'], { TRGWD_MEDIA__DEFAULTREALM: 'access' });
  assert.equal(r.code, 0, r.stderr);
  const c = parseYaml(r.stdout) as { control: { listen: { port: number } }; media: { defaultRealm: string } };
  assert.equal(c.control.listen.port, 3944);
  assert.equal(c.media.defaultRealm, 'access');
});

test("check-config --set media.realms.access.ports='[5,1]' exits 1 and names the path", async () => {
  const r = await runTrgwd(['check-config', '--set', 'media.realms.access.ports=[5,1]']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^media\.realms\.access\.ports: expected \[low, high\] with low <= high/m);
});

test('an unknown command or option is an error with a hint', async () => {
  const r = await runTrgwd(['frobnicate']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /trgwd --help/);
});

test('start runs on the default config; SIGTERM stops it in order and exits 0 within 5 s', async () => {
  const child = spawnTrgwd(['start', '--set', 'ops.listen.port=0', '--set', 'control.listen.port=0']);
  const ready = await waitForLog(child, (l) => l.msg === 'trgwd started');
  assert.equal(ready.level, 'info');
  const t0 = Date.now();
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
});

test('start with an invalid config exits 1 and lists the problem', async () => {
  const r = await runTrgwd(['start', '--set', 'log.level=loud']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /log\.level: expected one of/);
});

test('a port that cannot be bound at start is a one-line error naming address and port, exit 2', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const r = await runTrgwd(['start', '--set', `ops.listen.port=${port}`, '--set', 'control.listen.port=0']);
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`127\\.0\\.0\\.1:${port}.*address already in use`));
  } finally {
    blocker.close();
  }
});
