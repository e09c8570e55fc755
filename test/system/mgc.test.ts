/**
 * `trgwd mgc` end to end: examples/rtp-call.yaml (the call docs/MGC.md shows) and examples/srtp-call.yaml
 * (the same call with SRTP on the access side) played against a daemon spawned from source, over UDP
 * and over TCP; every step must pass and the JSON lines must say so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runMgc } from '../../daemon/cli/mgc.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';

const SCRIPTS = ['rtp-call.yaml', 'srtp-call.yaml'];

for (const [name, transport] of SCRIPTS.flatMap((n) => (['udp', 'tcp'] as const).map((t) => [n, t] as const))) {
  const SCRIPT = fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
  test(
    `trgwd mgc plays examples/${name} against the daemon over ${transport}`,
    { timeout: 60_000 },
    async () => {
      const out = new PassThrough();
      const err = new PassThrough();
      let outText = '';
      let errText = '';
      out.on('data', (d: Buffer) => (outText += d.toString()));
      err.on('data', (d: Buffer) => (errText += d.toString()));
      let daemon: Daemon | undefined;
      let started!: (d: Daemon) => void;
      let failed!: (e: unknown) => void;
      const daemonUp = new Promise<Daemon>((resolve, reject) => {
        started = resolve;
        failed = reject;
      });
      const code = await runMgc({
        listen: '127.0.0.1:0',
        transport,
        script: SCRIPT,
        out,
        err,
        registerTimeoutMs: 20_000,
        onListening: (ep) => {
          startDaemon({ controllers: [{ address: '127.0.0.1', port: ep.port, transport }] }).then((d) => {
            daemon = d;
            started(d);
          }, failed);
        },
      }).finally(async () => {
        await daemonUp.catch(() => undefined);
      });
      const exit = await daemon?.stop();
      const lines = outText
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const steps = lines.filter((l) => 'step' in l);
      const why = `mgc stderr:\n${errText}\nsteps:\n${steps.map((s) => JSON.stringify(s)).join('\n')}\ndaemon stderr:\n${daemon?.stderr ?? ''}`;
      assert.equal(code, 0, why);
      assert.equal(steps.length, 5, why);
      assert.ok(
        steps.every((s) => s['result'] === 'ok'),
        why,
      );
      const captured = steps[0]!['captured'] as Record<string, string>;
      assert.match(captured['access']!, /^ip\/\d+$/, why);
      assert.match(captured['core']!, /^ip\/\d+$/, why);
      assert.equal(captured['accessAddress'], '127.0.0.1');
      assert.ok(
        Number(captured['accessPort']) >= 30000 && Number(captured['accessPort']) <= 34999,
        `access port in the access range: ${why}`,
      );
      assert.ok(
        Number(captured['corePort']) >= 35000 && Number(captured['corePort']) <= 39999,
        `core port in the core range: ${why}`,
      );
      assert.deepEqual(lines.at(-1), { done: true, ok: true, steps: 5, failed: 0 });
      assert.ok(
        lines.some((l) => l['dir'] === 'in' && JSON.stringify(l['message']).includes('serviceChange')),
        'the registration is printed',
      );
      assert.equal(exit, 0, why);
    },
  );
}
