/**
 * SRTP protect/unprotect throughput: our binding (daemon/tls/srtp/session.ts over native/) against
 * libsrtp2 called from C (native/test/srtp_peer.c --bench) doing the same loops, in the same run.
 *
 *   npx tsx bench/srtp.ts [--packets 500000] [--payload 160] [--runs 5] [--suite AEAD] [--no-c]
 *
 * Loops (identical on both sides; one SSRC, sequence numbers counting up, so the ROC wraps):
 *   protect:   one RTP packet (12-octet header + payload) protected in place again and again, its
 *              sequence number rewritten before each call;
 *   unprotect: batches of 1024 packets protected beforehand (not timed), then unprotected in place
 *              (timed) by one receiver session.
 * Two C references: the peer built against the system libsrtp2 (Debian's, on NSS: `c-libsrtp2`), and
 * the same peer built against the very library the addon holds (native/build/Release/srtp.a, the
 * vendored libsrtp on OpenSSL, linked here to the system libcrypto.so.3: `c-vendored`), which
 * isolates what the binding costs. Runs alternate (ours, then each C, --runs times) so all see the
 * same machine load; each figure is the best of its runs (ours after a warm-up for the JIT). Needs
 * the built addon (`npm run build:native`); the C side needs cc, pkg-config and libsrtp2-dev, and
 * libcrypto.so.3 for `c-vendored` (else that reference is skipped).
 *
 * Prints JSON lines on stdout (progress on stderr):
 *   {"bench":"srtp","kind":"env",...}
 *   {"bench":"srtp","impl":"trgwd"|"c-libsrtp2"|"c-vendored","suite":...,"op":"protect"|"unprotect",
 *    "packets":N,"payload":160,"pps":...,"mbit_per_s":...}
 *   {"bench":"srtp","kind":"ratio","reference":"c-libsrtp2"|"c-vendored","suite":...,"op":...,
 *    "ours_pps":...,"c_pps":...,"ratio":...}
 * ratio = ours / C (target >= 0.8).
 *
 * Then (unless --no-relay) the RTP→SRTP relay through contexts at rising rates, trgwd against
 * rtpengine side by side: bench/relay.ts --srtp <suite> (see there; its options after `--relay-args`,
 * e.g. --relay-args "--rates 10000,20000,40000 --runs 3"), its lines re-emitted with "part":"relay".
 * Target: trgwd's highest rate meeting the relay criterion at least rtpengine's for the same job.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { SrtpSession, libsrtpVersion } from '../daemon/tls/srtp/session.js';
import { SRTP_SUITES, SRTP_SUITE_INFO } from '../daemon/tls/srtp/suites.js';
import type { SrtpSuite } from '../daemon/tls/srtp/suites.js';
import { buildSrtpPeer, peerArgs, srtpPeerPrerequisites } from '../test/interop/srtp-peer.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const PACKETS = Number(argValue('--packets') ?? 500_000);
const PAYLOAD = Number(argValue('--payload') ?? 160);
const RUNS = Number(argValue('--runs') ?? 5);
const ONLY = argValue('--suite');
const NO_C = process.argv.includes('--no-c');
const NO_RELAY = process.argv.includes('--no-relay');
const RELAY_ARGS = (argValue('--relay-args') ?? '').split(' ').filter((a) => a !== '');
const BATCH = 1024;
const SSRC = 0x11223344;

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'srtp', ...o })}\n`);
}

function makeRtp(b: Uint8Array, seq: number): void {
  b[0] = 0x80;
  b[1] = 0;
  b[2] = (seq >> 8) & 0xff;
  b[3] = seq & 0xff;
  b.set([0, 1, 2, 3], 4);
  b[8] = (SSRC >>> 24) & 0xff;
  b[9] = (SSRC >>> 16) & 0xff;
  b[10] = (SSRC >>> 8) & 0xff;
  b[11] = SSRC & 0xff;
  b.fill(0xd5, 12, 12 + PAYLOAD);
}

function keys(suite: SrtpSuite): { key: Uint8Array; salt: Uint8Array } {
  const info = SRTP_SUITE_INFO[suite];
  const ks = randomBytes(info.keyLength + info.saltLength);
  return { key: ks.subarray(0, info.keyLength), salt: ks.subarray(info.keyLength) };
}

function oursProtect(suite: SrtpSuite, k: { key: Uint8Array; salt: Uint8Array }, n: number): number {
  const tx = new SrtpSession('outbound', { suite, keys: [k] });
  const len = 12 + PAYLOAD;
  const buf = Buffer.alloc(len + 64);
  makeRtp(buf, 0);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    buf[2] = (i >> 8) & 0xff;
    buf[3] = i & 0xff;
    if (tx.protectRtp(buf, len) < 0) throw new Error('protect failed');
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  tx.destroy();
  return n / s;
}

function oursUnprotect(suite: SrtpSuite, k: { key: Uint8Array; salt: Uint8Array }, n: number): number {
  const tx = new SrtpSession('outbound', { suite, keys: [k] });
  const rx = new SrtpSession('inbound', { suite, keys: [k] });
  const area = Buffer.alloc(BATCH * 256);
  const views = Array.from({ length: BATCH }, (_, i) => area.subarray(i * 256, (i + 1) * 256));
  const lens = new Int32Array(BATCH);
  let ns = 0n;
  for (let done = 0; done < n; done += BATCH) {
    const k2 = Math.min(BATCH, n - done);
    for (let i = 0; i < k2; i++) {
      const v = views[i] as Buffer;
      makeRtp(v, (done + i) & 0xffff);
      lens[i] = tx.protectRtp(v, 12 + PAYLOAD);
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k2; i++) {
      if (rx.unprotectRtp(views[i] as Buffer, lens[i] as number) < 0) throw new Error('unprotect failed');
    }
    ns += process.hrtime.bigint() - t0;
  }
  tx.destroy();
  rx.destroy();
  return n / (Number(ns) / 1e9);
}

function row(impl: string, suite: SrtpSuite, op: string, pps: number): void {
  emit({
    impl,
    suite,
    op,
    packets: PACKETS,
    payload: PAYLOAD,
    pps: Math.round(pps),
    mbit_per_s: Number((((12 + PAYLOAD) * 8 * pps) / 1e6).toFixed(1)),
  });
}

emit({
  kind: 'env',
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  libsrtp: libsrtpVersion(),
  packets: PACKETS,
  payload: PAYLOAD,
  runs: RUNS,
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The C peer against the addon's own libsrtp (vendored, OpenSSL backend): its headers under the
 * srtp2/ prefix the peer includes, the static library node-gyp built, the system libcrypto.so.3.
 */
function buildVendoredPeer(): { path: string; cleanup(): void } | string {
  const lib = join(ROOT, 'native/build/Release/srtp.a');
  if (!existsSync(lib)) return `${lib} not built (npm run build:native)`;
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-srtp-vendored-'));
  mkdirSync(join(dir, 'srtp2'));
  symlinkSync(join(ROOT, 'native/deps/libsrtp/include/srtp.h'), join(dir, 'srtp2/srtp.h'));
  symlinkSync(join(ROOT, 'native/deps/libsrtp/crypto/include/crypto_types.h'), join(dir, 'srtp2/crypto_types.h'));
  const path = join(dir, 'srtp_peer');
  const args = ['-O2', '-o', path, '-I', dir, join(ROOT, 'native/test/srtp_peer.c'), lib, '-l:libcrypto.so.3'];
  const cc = spawnSync('cc', args, { encoding: 'utf8' });
  if (cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cc ${args.join(' ')} failed: ${cc.stderr.trim().split('\n')[0] ?? ''}`;
  }
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** C references by name (see the header). */
const peers = new Map<string, { path: string; cleanup(): void }>();
if (!NO_C) {
  const missing = srtpPeerPrerequisites();
  if (missing !== undefined) emit({ impl: 'c-libsrtp2', skipped: true, reason: missing });
  else peers.set('c-libsrtp2', buildSrtpPeer());
  const vendored = buildVendoredPeer();
  if (typeof vendored === 'string') emit({ impl: 'c-vendored', skipped: true, reason: vendored });
  else peers.set('c-vendored', vendored);
}

try {
  for (const suite of SRTP_SUITES) {
    if (ONLY !== undefined && !suite.startsWith(ONLY)) continue;
    const k = keys(suite);
    process.stderr.write(`srtp bench: ${suite}\n`);
    oursProtect(suite, k, Math.min(PACKETS, 100_000)); // warm-up (JIT)
    oursUnprotect(suite, k, Math.min(PACKETS, 100_000));
    const ours = { protect: 0, unprotect: 0 };
    const c = new Map([...peers.keys()].map((name) => [name, { protect: 0, unprotect: 0 }]));
    for (let r = 0; r < RUNS; r++) {
      ours.protect = Math.max(ours.protect, oursProtect(suite, k, PACKETS));
      ours.unprotect = Math.max(ours.unprotect, oursUnprotect(suite, k, PACKETS));
      for (const [name, peer] of peers) {
        const args = [
          ...peerArgs({ suite, key: Buffer.concat([k.key, k.salt]) }),
          ...['--bench', String(PACKETS), '--payload', String(PAYLOAD)],
        ];
        const out = spawnSync(peer.path, args, { encoding: 'utf8' });
        if (out.status !== 0) throw new Error(`${name} srtp_peer --bench failed (${out.status ?? out.signal}): ${out.stderr}`);
        const j = JSON.parse(out.stdout) as { protect_pps: number; unprotect_pps: number };
        const best = c.get(name)!;
        best.protect = Math.max(best.protect, j.protect_pps);
        best.unprotect = Math.max(best.unprotect, j.unprotect_pps);
      }
    }
    row('trgwd', suite, 'protect', ours.protect);
    row('trgwd', suite, 'unprotect', ours.unprotect);
    for (const [name, best] of c) {
      row(name, suite, 'protect', best.protect);
      row(name, suite, 'unprotect', best.unprotect);
      for (const op of ['protect', 'unprotect'] as const) {
        emit({
          kind: 'ratio',
          reference: name,
          suite,
          op,
          ours_pps: Math.round(ours[op]),
          c_pps: Math.round(best[op]),
          ratio: Number((ours[op] / best[op]).toFixed(3)),
        });
      }
    }
  }
} finally {
  for (const peer of peers.values()) peer.cleanup();
}

if (!NO_RELAY) {
  const suite = ONLY !== undefined ? SRTP_SUITES.find((x) => x.startsWith(ONLY)) : 'AES_CM_128_HMAC_SHA1_80';
  process.stderr.write(`srtp bench: RTP→SRTP relay (${suite ?? '?'}) through bench/relay.ts --srtp\n`);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./relay.ts', import.meta.url)), '--srtp', suite ?? '', ...RELAY_ARGS],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    try {
      const { bench: _b, ...o } = JSON.parse(line) as Record<string, unknown>;
      emit({ part: 'relay', ...o });
    } catch {
      process.stderr.write(`${line}\n`);
    }
  }
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) process.exitCode = 1;
}
