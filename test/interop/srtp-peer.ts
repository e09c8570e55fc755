/**
 * The libsrtp2 reference peer (native/test/srtp_peer.c): build it with the system C compiler against
 * libsrtp2 into a temp dir, and run it over hex lines. Used by test/interop/srtp-libsrtp.test.ts and
 * bench/srtp.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool } from './tools.js';

export const SRTP_PEER_SOURCE = fileURLToPath(new URL('../../native/test/srtp_peer.c', import.meta.url));

export interface BuiltPeer {
  path: string;
  /** Removes the temp dir. */
  cleanup(): void;
}

/** What is missing to build the peer (a message naming it), or undefined when all is there. */
export function srtpPeerPrerequisites(): string | undefined {
  for (const tool of ['cc', 'pkg-config']) {
    if (findTool(tool) === undefined) return `${tool} not found on PATH (needed to build the libsrtp2 peer)`;
  }
  const r = spawnSync('pkg-config', ['--exists', 'libsrtp2']);
  if (r.status !== 0) return 'pkg-config does not know libsrtp2 (install libsrtp2-dev)';
  return undefined;
}

/** cc -O2 -o <tmp>/srtp_peer native/test/srtp_peer.c $(pkg-config --cflags --libs libsrtp2) */
export function buildSrtpPeer(): BuiltPeer {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-srtp-peer-'));
  const path = join(dir, 'srtp_peer');
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libsrtp2'], { encoding: 'utf8' });
  if (flags.status !== 0) throw new Error(`pkg-config libsrtp2 failed: ${flags.stderr}`);
  const args = [
    '-O2',
    '-o',
    path,
    SRTP_PEER_SOURCE,
    ...flags.stdout
      .trim()
      .split(/\s+/)
      .filter((s) => s !== ''),
  ];
  const cc = spawnSync('cc', args, { encoding: 'utf8' });
  if (cc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cc ${args.join(' ')} failed:\n${cc.stderr}`);
  }
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PeerOptions {
  suite: string;
  /** master key || salt */
  key: Uint8Array;
  mki?: Uint8Array | undefined;
  ssrc?: number | undefined;
  roc?: number | undefined;
  unencryptedSrtp?: boolean;
  unencryptedSrtcp?: boolean;
  unauthenticatedSrtp?: boolean;
}

export function peerArgs(o: PeerOptions): string[] {
  const a = ['--suite', o.suite, '--key', Buffer.from(o.key).toString('hex')];
  if (o.mki !== undefined) a.push('--mki', Buffer.from(o.mki).toString('hex'));
  if (o.ssrc !== undefined) a.push('--ssrc', String(o.ssrc));
  if (o.roc !== undefined) a.push('--roc', String(o.roc));
  if (o.unencryptedSrtp === true) a.push('--unencrypted-srtp');
  if (o.unencryptedSrtcp === true) a.push('--unencrypted-srtcp');
  if (o.unauthenticatedSrtp === true) a.push('--unauthenticated-srtp');
  return a;
}

export type PeerPacket = { kind: 'rtp' | 'rtcp'; data: Uint8Array };

/** One output per input: the processed packet, or the libsrtp2 status number it failed with. */
export function runPeer(
  peer: string,
  mode: 'protect' | 'unprotect',
  o: PeerOptions,
  packets: readonly PeerPacket[],
): Array<Buffer | number> {
  const input = packets.map((p) => `${p.kind} ${Buffer.from(p.data).toString('hex')}\n`).join('');
  const r = spawnSync(peer, [...peerArgs(o), mode], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`srtp_peer ${mode} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  if (lines.length !== packets.length)
    throw new Error(`srtp_peer gave ${lines.length} lines for ${packets.length}`);
  return lines.map((l) => (l.startsWith('ERR ') ? Number(l.slice(4)) : Buffer.from(l, 'hex')));
}
