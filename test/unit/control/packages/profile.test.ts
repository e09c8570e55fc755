// Every package and item that docs/PROFILE.md (the controller contract) names is registered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PackageRegistry } from '../../../../daemon/control/packages/registry.js';

const profile = readFileSync(fileURLToPath(new URL('../../../../docs/PROFILE.md', import.meta.url)), 'utf8');
const reg = new PackageRegistry();

/** Code spans that are exactly `pkg/item` or `pkg/item=value`. */
function itemSpans(): { pkg: string; item: string; value: string | undefined; span: string }[] {
  const out = [];
  for (const m of profile.matchAll(/`([^`\n]+)`/g)) {
    const span = m[1]!;
    const im = /^([a-z][a-z0-9]*)\/([a-zA-Z][a-zA-Z0-9_]*)(?:=(\S+))?$/.exec(span);
    if (im) out.push({ pkg: im[1]!, item: im[2]!, value: im[3], span });
  }
  return out;
}

function resolvesSomehow(ref: string): boolean {
  for (const look of [
    () => reg.property(ref),
    () => reg.event(ref),
    () => reg.signal(ref),
    () => reg.statistic(ref),
  ]) {
    try {
      look();
      return true;
    } catch {
      // try the next kind
    }
  }
  return false;
}

test('every pkg/item in PROFILE.md is registered, and its example values parse', () => {
  const spans = itemSpans();
  assert.ok(
    spans.length >= 40,
    `found only ${spans.length} item references: has the PROFILE format changed?`,
  );
  const missing: string[] = [];
  for (const { pkg, item, value, span } of spans) {
    if (!reg.has(pkg)) {
      missing.push(`package ${pkg} (${span})`);
      continue;
    }
    if (!resolvesSomehow(`${pkg}/${item}`)) missing.push(`item ${pkg}/${item}`);
    if (value !== undefined) {
      assert.doesNotThrow(() => reg.parseProperty(`${pkg}/${item}`, value, 'LocalControl'), span);
    }
  }
  assert.deepEqual(missing, []);
});

test('packages PROFILE.md names without an item are registered', () => {
  for (const name of ['tmanr', 'msrpstat', 'tcptv', 'tlstv', 'adid']) {
    assert.ok(profile.includes(`\`${name}\``), `PROFILE.md no longer names ${name}`);
    assert.ok(reg.has(name), name);
  }
});

test('the event parameters PROFILE.md settles are in the tables', () => {
  const observed = (ref: string): string[] => (reg.event(ref).def.observed ?? []).map((p) => p.name);
  assert.deepEqual(observed('tcpbcc/est'), ['dir', 'addr', 'port']);
  assert.deepEqual(observed('tcpbcc/fail'), ['cause']);
  assert.deepEqual(observed('tcpbcc/rel'), ['cause']);
  assert.deepEqual(observed('tlsbsc/est'), ['resumed']);
  assert.deepEqual(observed('tlsbsc/fail'), ['reason']);
  assert.deepEqual(observed('tlsbsc/rel'), []);
  assert.deepEqual(reg.formatObserved('tcpbcc/rel', { cause: 'timeout' }), [
    { name: 'cause', value: 'timeout' },
  ]);
  for (const reason of ['fingerprint', 'handshake', 'timeout', 'cert-change']) {
    assert.doesNotThrow(() => reg.formatObserved('tlsbsc/fail', { reason }));
  }
  assert.equal(reg.signal('tcpbcc/estab').def.signalType, 'BR');
  assert.equal(reg.signal('tlsbsc/estab').def.signalType, 'BR');
  assert.deepEqual(reg.parseEventParameters('hangterm/thb', [{ name: 'timerx', value: '60' }]), {
    timerx: 60,
  });
  assert.deepEqual(reg.parseEventParameters('it/ito', [{ name: 'mit', value: '10000' }]), { mit: 10000 });
  assert.equal(reg.defaults('LocalControl').get('tcpbcc/dly'), true);
  assert.equal(reg.defaults('LocalControl').get('tcphp/to'), 10000);
  assert.equal(reg.defaults('LocalControl').get('tlsm/rcc'), 'deny');
});
