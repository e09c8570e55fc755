/**
 * Erlang/OTP megaco as a real controller (test/interop/erlang/trgwd_megaco_mgc.erl, compiled with
 * erlc into a temp dir): it accepts the daemon's registration and drives it through megaco:call/3:
 * Add of two terminations with `$` Local in Context $, Modify of each with a Remote, AuditValue,
 * Subtract *. Matrix: UDP and TCP (TPKT) × pretty and compact text × versions 1, 2, 3 (what the
 * gateway offers with mg.version, and what megaco answers and then speaks).
 *
 * Needs erl and erlc: skips locally without them, fails under CI=true.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startDaemon, type Daemon } from '../helpers/daemon.js';
import { requireTool } from './tools.js';

const SOURCE = fileURLToPath(new URL('./erlang/trgwd_megaco_mgc.erl', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'trgwd-megaco-mgc-'));
after(() => rmSync(work, { recursive: true, force: true }));

let compiled: Promise<void> | undefined;
function compile(erlc: string): Promise<void> {
  compiled ??= (async () => {
    const r = spawnSync(erlc, ['-o', work, SOURCE], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`erlc failed (${r.status}): ${r.stdout}${r.stderr}`);
  })();
  return compiled;
}

/** A port free for both UDP and TCP on 127.0.0.1 right now. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: '127.0.0.1', port: 0 }, () => resolve(udp.address().port));
    });
    const tcpOk = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (tcpOk) return port;
  }
  throw new Error('no port free for both UDP and TCP');
}

interface ErlLine {
  event?: string;
  result?: ErlResult;
}

interface ErlStep {
  step: string;
  ok: boolean;
  errors?: { code: number; text: string }[];
  detail?: string;
  context?: number;
  terminations?: string[];
  ports?: number[];
  addresses?: string[];
  statistics?: string[];
}

interface ErlResult {
  ok: boolean;
  error?: string;
  version?: number;
  offered?: number | null;
  method?: string;
  transport: string;
  codec: string;
  steps?: ErlStep[];
}

/** Runs the Erlang MGC; resolves once it listens, `result` settles with its verdict line. */
function startErlang(
  erl: string,
  args: string[],
): {
  child: ChildProcessWithoutNullStreams;
  listening: Promise<void>;
  result: Promise<ErlResult>;
  output: () => string;
} {
  const child = spawn(erl, ['-noshell', '-pa', work, '-run', 'trgwd_megaco_mgc', 'main', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let onListening!: () => void;
  let onResult!: (r: ErlResult) => void;
  let onFail!: (e: Error) => void;
  const listening = new Promise<void>((resolve) => (onListening = resolve));
  const result = new Promise<ErlResult>((resolve, reject) => {
    onResult = resolve;
    onFail = reject;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    output += `${line}\n`;
    let parsed: ErlLine;
    try {
      parsed = JSON.parse(line) as ErlLine;
    } catch {
      return;
    }
    if (parsed.event === 'listening') onListening();
    if (parsed.result !== undefined) onResult(parsed.result);
  });
  child.once('exit', (code) => onFail(new Error(`erl exited (${code}) without a result:\n${output}`)));
  return { child, listening, result, output: () => output };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)),
    ),
  ]);
}

function tools(t: TestContext): { erl: string; erlc: string } | undefined {
  const erl = requireTool(t, 'erl', 'for the Erlang/OTP megaco controller');
  if (erl === undefined) return undefined;
  const erlc = requireTool(t, 'erlc', 'to compile the Erlang/OTP megaco controller');
  if (erlc === undefined) return undefined;
  return { erl, erlc };
}

describe('Erlang/OTP megaco controller drives trgwd', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    for (const codec of ['pretty', 'compact'] as const) {
      for (const version of [1, 2, 3]) {
        test(`${transport}, ${codec} text, version ${version}`, { timeout: 60_000 }, async (t) => {
          const tl = tools(t);
          if (tl === undefined) return;
          await compile(tl.erlc);
          const port = await freePort();
          const erl = startErlang(tl.erl, [transport, codec, String(version), String(port)]);
          let daemon: Daemon | undefined;
          try {
            await withTimeout(
              Promise.race([erl.listening, erl.result.then(() => undefined)]),
              20_000,
              'erl listening',
            );
            daemon = await startDaemon({
              controllers: [{ address: '127.0.0.1', port, transport }],
              sets: [`mg.version=${version}`, `control.encoding=${codec}`],
            });
            const r = await withTimeout(erl.result, 40_000, 'Erlang MGC');
            const why = `Erlang MGC says:\n${JSON.stringify(r, null, 2)}\nerl output:\n${erl.output()}\ndaemon stderr:\n${daemon.stderr}`;
            assert.equal(r.ok, true, why);
            assert.equal(r.version, version, why);
            assert.equal(r.offered, version, `the gateway offers Version = ${version}\n${why}`);
            assert.equal(r.method, 'restart', why);
            const steps = r.steps ?? [];
            assert.deepEqual(
              steps.map((s) => s.step),
              ['add', 'modify', 'audit_value', 'subtract'],
              why,
            );
            const add = steps[0]!;
            assert.equal(add.terminations?.length, 2, why);
            assert.ok(
              add.terminations!.every((id) => /^ip\/\d+$/.test(id)),
              why,
            );
            assert.ok(
              add.ports!.every((p) => p > 0 && p % 2 === 0),
              `RTP ports are even: ${why}`,
            );
            assert.deepEqual(add.addresses, ['127.0.0.1', '127.0.0.1'], why);
            assert.ok(steps[2]!.statistics?.includes('nt/dur'), `AuditValue returns the statistics: ${why}`);
            assert.deepEqual(
              [...(steps[3]!.terminations ?? [])].sort(),
              [...add.terminations!].sort(),
              `Subtract * answers for both: ${why}`,
            );
          } finally {
            if (erl.child.exitCode === null) erl.child.kill('SIGKILL');
            if (daemon !== undefined) {
              const code = await daemon.stop();
              assert.equal(code, 0, `daemon exit code; stderr:\n${daemon.stderr}`);
            }
          }
        });
      }
    }
  }
});
