#!/usr/bin/env node
// Run by `npm ci` (preinstall): makes sure the Debian packages that the tests' and benches' C
// libsrtp2 peer (native/test/srtp_peer.c, the independent reference) builds against are present; the
// addon itself builds libsrtp from native/deps and needs only a C compiler, make and python3. As root on Debian/Ubuntu it installs them itself; otherwise it stops with the exact
// command to run. Set TRGWD_SKIP_SYSTEM_DEPS=1 to skip (e.g. a distribution that packages them
// under other names).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const BUILD_PACKAGES = ['pkg-config', 'libsrtp2-dev'];

function has(pkg) {
  return spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed');
}

if (process.env.TRGWD_SKIP_SYSTEM_DEPS === '1') process.exit(0);
if (!existsSync('/usr/bin/dpkg-query')) {
  console.error(`trgwd: not a Debian-like system; make sure these are installed: ${BUILD_PACKAGES.join(' ')} (or equivalents), then set TRGWD_SKIP_SYSTEM_DEPS=1`);
  process.exit(0);
}
const missing = BUILD_PACKAGES.filter((p) => !has(p));
if (missing.length === 0) process.exit(0);
const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  console.error(`trgwd: missing system packages: ${missing.join(' ')}\nRun as root:  sudo sh -c '${cmd}'\nthen run npm ci again.`);
  process.exit(1);
}
console.error(`trgwd: installing system packages: ${missing.join(' ')}`);
try {
  execFileSync('sh', ['-c', cmd], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
} catch {
  console.error(`trgwd: could not install ${missing.join(' ')}; run: ${cmd}`);
  process.exit(1);
}
