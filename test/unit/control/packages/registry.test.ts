import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageRegistry } from '../../../../daemon/control/packages/registry.js';
import { PACKAGES } from '../../../../daemon/control/packages/catalog.js';
import type { PackageDef } from '../../../../daemon/control/packages/types.js';
import { toH248Error } from '../../../../daemon/control/errors.js';
import { isTrgwdError } from '../../../../daemon/errors.js';

const reg = new PackageRegistry({
  aliases: {
    'tlsbsc/tbd_failure': 'tlsbsc/fail',
    'ipnapt/l': 'ipnapt/latch',
    'tlsbsc/TBD_establish': 'tlsbsc/estab',
  },
});

/** Asserts `fn` throws our error with `code`, mapped to H.248 `h248`; returns the message. */
function coded(fn: () => unknown, code: string, h248: number): string {
  let message = '';
  assert.throws(fn, (e) => {
    assert.ok(
      isTrgwdError(e, code),
      `expected ${code}, got ${String((e as { code?: string }).code)}: ${String(e)}`,
    );
    assert.equal(toH248Error(e).code, h248);
    message = e.message;
    return true;
  });
  return message;
}

test('packagesDescriptor lists name-version of every package, with the IANA ids', () => {
  assert.deepEqual(reg.packagesDescriptor(), [
    'g-2',
    'root-2',
    'nt-1',
    'rtp-2',
    'it-1',
    'ds-2',
    'gm-2',
    'tman-2',
    'tmanr-2',
    'hangterm-1',
    'ipnapt-1',
    'adid-1',
    'ipdc-2',
    'seg-1',
    'adr-1',
    'msrpstat-1',
    'srtp-1',
    'tcphp-1',
    'tcptv-1',
    'tcpbcc-1',
    'tlsbsc-1',
    'tlsm-1',
    'tlstv-1',
  ]);
  const ids = Object.fromEntries(reg.packages().map((p) => [p.name, p.id]));
  assert.deepEqual(ids, {
    g: 0x0001,
    root: 0x0002,
    nt: 0x000b,
    rtp: 0x000c,
    it: 0x0045,
    ds: 0x008b,
    gm: 0x008c,
    tman: 0x008d,
    tmanr: 0x00c8,
    hangterm: 0x0098,
    ipnapt: 0x0099,
    adid: 0x009c,
    ipdc: 0x009d,
    seg: 0x00a3,
    adr: 0x00ac,
    msrpstat: 0x00ea,
    srtp: 0x0107,
    tcphp: 0x010e,
    tcptv: 0x010f,
    tcpbcc: 0x0115,
    tlsbsc: 0x0117,
    tlsm: 0x0119,
    tlstv: 0x011a,
  });
  assert.ok(reg.has('TLSBSC'));
  assert.equal(reg.package('Rtp').name, 'rtp');
});

test('lookups are case-insensitive and return the canonical spelling', () => {
  const r = reg.property('ROOT/maxnumberofcontexts');
  assert.equal(r.name, 'root/maxNumberOfContexts');
  assert.equal(r.requested, 'ROOT/maxnumberofcontexts');
  assert.equal(reg.event('TCPBCC/EST').name, 'tcpbcc/est');
  assert.equal(reg.signal('tlsbsc/Estab').def.signalType, 'BR');
  assert.equal(reg.statistic('NT/OS').name, 'nt/os');
});

test('property values are parsed from text into typed values', () => {
  const lc = 'LocalControl' as const;
  assert.equal(reg.parseProperty('ipnapt/latch', 'on', lc).value, true);
  assert.equal(reg.parseProperty('ipnapt/latch', 'OFF', lc).value, false);
  assert.equal(reg.parseProperty('tcpbcc/dly', 'true', lc).value, true);
  assert.equal(reg.parseProperty('ipdc/realm', '"access"', lc).value, 'access');
  assert.equal(reg.parseProperty('ipdc/realm', 'core', 'TerminationState').value, 'core');
  assert.equal(reg.parseProperty('tman/sdr', '5000', lc).value, 5000);
  assert.equal(reg.parseProperty('tlsm/rcc', 'ALLOW', lc).value, 'allow');
  assert.equal(reg.parseProperty('tcphp/to', '2500', lc).value, 2500);
  assert.equal(reg.parseProperty('nt/jit', '40', lc).value, 40);
  assert.equal(reg.parseProperty('root/normalMGExecutionTime', '200', 'ROOT').value, 200);
});

test('ds/dscp: integer 0-63, decimal or hex (0x2e, 2e)', () => {
  for (const text of ['46', '2e', '2E', '0x2e', '0X2E', '"2e"']) {
    assert.equal(reg.parseProperty('ds/dscp', text, 'LocalControl').value, 46, text);
  }
  assert.equal(reg.parseProperty('ds/dscp', '0', 'LocalControl').value, 0);
  assert.equal(reg.parseProperty('ds/dscp', '3f', 'LocalControl').value, 63);
  // 'ef' is hex (0xef = 239) but out of range
  for (const text of ['64', '0x40', '2g', '-1', '', 'ef']) {
    coded(() => reg.parseProperty('ds/dscp', text, 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449);
  }
});

test('449: bad value names the value, the item and what was expected', () => {
  assert.equal(
    coded(() => reg.parseProperty('ipnapt/latch', 'maybe', 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449),
    'bad value "maybe" for ipnapt/latch (expected on|off)',
  );
  assert.equal(
    coded(() => reg.parseProperty('tman/sdr', '-5', 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449),
    'bad value "-5" for tman/sdr (expected integer >= 0)',
  );
  assert.equal(
    coded(() => reg.parseProperty('tlsm/rcc', 'sometimes', 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449),
    'bad value "sometimes" for tlsm/rcc (expected allow|deny)',
  );
  assert.match(
    coded(() => reg.parseProperty('ds/dscp', '99', 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449),
    /bad value "99" for ds\/dscp \(expected integer 0\.\.63, decimal or hex\)/,
  );
  // the controller's spelling is what the text names
  assert.equal(
    coded(() => reg.parseProperty('IPNAPT/L', 'maybe', 'LocalControl'), 'ERR_PKG_BAD_VALUE', 449),
    'bad value "maybe" for IPNAPT/L (expected on|off)',
  );
  // huge values are clipped in the text
  const long = coded(
    () => reg.parseProperty('tman/sdr', 'x'.repeat(10_000), 'LocalControl'),
    'ERR_PKG_BAD_VALUE',
    449,
  );
  assert.ok(long.length < 200);
  // the text reaches the controller through the error table
  assert.deepEqual(
    (() => {
      try {
        reg.parseProperty('ipnapt/latch', 'maybe', 'LocalControl');
      } catch (e) {
        return toH248Error(e);
      }
      return null;
    })(),
    { code: 449, text: 'bad value "maybe" for ipnapt/latch (expected on|off)' },
  );
});

test('440 unknown package, 450 no such property, 445 known but unsupported or bare', () => {
  assert.match(
    coded(() => reg.property('foo/bar'), 'ERR_PKG_UNKNOWN_PACKAGE', 440),
    /unknown package "foo"/,
  );
  coded(() => reg.package('nope'), 'ERR_PKG_UNKNOWN_PACKAGE', 440);
  coded(() => reg.event('xyz/ev'), 'ERR_PKG_UNKNOWN_PACKAGE', 440);
  coded(() => reg.signal('xyz/sg'), 'ERR_PKG_UNKNOWN_PACKAGE', 440);
  coded(() => reg.statistic('xyz/st'), 'ERR_PKG_UNKNOWN_PACKAGE', 440);
  assert.match(
    coded(() => reg.property('ipnapt/foo'), 'ERR_PKG_NO_SUCH_PROPERTY', 450),
    /no property "foo" in package ipnapt/,
  );
  assert.match(
    coded(() => reg.parseProperty('gm/esas', 'x', 'LocalControl'), 'ERR_PKG_UNKNOWN_PROPERTY', 445),
    /not supported/,
  );
  coded(() => reg.property('latch'), 'ERR_PKG_UNKNOWN_PROPERTY', 445);
  coded(() => reg.property('ipnapt/'), 'ERR_PKG_UNKNOWN_PROPERTY', 445);
});

test('451 / 452 / 453: no such event, signal, statistic', () => {
  coded(() => reg.event('tcpbcc/nope'), 'ERR_PKG_NO_SUCH_EVENT', 451);
  coded(() => reg.event('tcpbcc/dly'), 'ERR_PKG_NO_SUCH_EVENT', 451); // a property is not an event
  coded(() => reg.signal('tlsbsc/nope'), 'ERR_PKG_NO_SUCH_SIGNAL', 452);
  coded(() => reg.signal('tlsbsc/est'), 'ERR_PKG_NO_SUCH_SIGNAL', 452);
  coded(() => reg.statistic('rtp/nope'), 'ERR_PKG_NO_SUCH_STATISTIC', 453);
  coded(() => reg.statistic('cause'), 'ERR_PKG_NO_SUCH_STATISTIC', 453);
});

test('event and signal parameters: typed, 446 unknown, 449 bad value, 457 missing', () => {
  assert.deepEqual(reg.parseEventParameters('hangterm/thb', [{ name: 'TimerX', value: '60' }]), {
    timerx: 60,
  });
  assert.deepEqual(reg.parseEventParameters('it/ito', [{ name: 'mit', value: '30000' }]), { mit: 30000 });
  assert.deepEqual(reg.parseEventParameters('nt/qualert', [{ name: 'th', value: '50' }]), { th: 50 });
  assert.deepEqual(
    reg.parseEventParameters('adid/ipstop', [
      { name: 'dt', value: '5000' },
      { name: 'dir', value: 'BOTH' },
    ]),
    { dt: 5000, dir: 'both' },
  );
  assert.deepEqual(reg.parseEventParameters('g/cause', []), {});
  assert.match(
    coded(
      () => reg.parseEventParameters('hangterm/thb', [{ name: 'foo', value: '1' }]),
      'ERR_PKG_UNKNOWN_PARAMETER',
      446,
    ),
    /no parameter "foo" on event hangterm\/thb/,
  );
  assert.equal(
    coded(
      () => reg.parseEventParameters('hangterm/thb', [{ name: 'timerx', value: 'soon' }]),
      'ERR_PKG_BAD_VALUE',
      449,
    ),
    'bad value "soon" for hangterm/thb parameter timerx (expected integer >= 0)',
  );
  coded(
    () => reg.parseEventParameters('nt/qualert', [{ name: 'th', value: '100' }]),
    'ERR_PKG_BAD_VALUE',
    449,
  );
  coded(
    () => reg.parseSignalParameters('tlsbsc/estab', [{ name: 'x', value: '1' }]),
    'ERR_PKG_UNKNOWN_PARAMETER',
    446,
  );
  assert.deepEqual(reg.parseSignalParameters('tcpbcc/estab', []), {});
  // 457 with a package that has a required parameter
  const custom: PackageDef = {
    name: 'xq',
    id: 0xfff0,
    version: 1,
    spec: 'test',
    description: 'test package',
    signals: [
      {
        name: 'go',
        signalType: 'TO',
        duration: 1000,
        description: 'test',
        parameters: [
          { name: 'lvl', type: { kind: 'integer', min: 0, max: 9 }, required: true, description: 'level' },
        ],
      },
    ],
  };
  const r2 = new PackageRegistry({ packages: [custom] });
  assert.deepEqual(r2.parseSignalParameters('xq/go', [{ name: 'lvl', value: '3' }]), { lvl: 3 });
  coded(() => r2.parseSignalParameters('xq/go', []), 'ERR_PKG_MISSING_PARAMETER', 457);
});

test('455: property illegal in this descriptor', () => {
  assert.match(
    coded(
      () => reg.parseProperty('ipnapt/latch', 'on', 'TerminationState'),
      'ERR_PKG_ILLEGAL_IN_DESCRIPTOR',
      455,
    ),
    /ipnapt\/latch is not allowed in TerminationState/,
  );
  coded(
    () => reg.parseProperty('root/normalMGExecutionTime', '100', 'LocalControl'),
    'ERR_PKG_ILLEGAL_IN_DESCRIPTOR',
    455,
  );
  coded(() => reg.property('tcpbcc/dly', 'ROOT'), 'ERR_PKG_ILLEGAL_IN_DESCRIPTOR', 455);
  coded(() => reg.property('seg/MGMaxPDUSize', 'LocalControl'), 'ERR_PKG_ILLEGAL_IN_DESCRIPTOR', 455);
});

test('ROOT properties, and which are read-only (534 on write)', () => {
  const rootProps = reg.propertiesAt('ROOT').filter((r) => r.package.name === 'root');
  assert.deepEqual(
    rootProps.map((r) => [r.name, r.def.readOnly === true]),
    [
      ['root/maxNumberOfContexts', true],
      ['root/maxTerminationsPerContext', true],
      ['root/normalMGExecutionTime', false],
      ['root/normalMGCExecutionTime', false],
      ['root/MGProvisionalResponseTimerValue', false],
      ['root/MGCProvisionalResponseTimerValue', false],
      ['root/MGCOriginatedPendingLimit', false],
      ['root/MGOriginatedPendingLimit', false],
    ],
  );
  assert.deepEqual(
    rootProps.map((r) => r.def.id),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.match(
    coded(() => reg.parseProperty('root/maxNumberOfContexts', '10', 'ROOT'), 'ERR_MG_READ_ONLY', 534),
    /read-only/,
  );
  assert.equal(reg.parseProperty('root/maxNumberOfContexts', '10', 'ROOT', { write: false }).value, 10);
  assert.equal(reg.parseProperty('root/MGOriginatedPendingLimit', '5', 'ROOT').value, 5);
  coded(() => reg.parseProperty('root/MGOriginatedPendingLimit', '0', 'ROOT'), 'ERR_PKG_BAD_VALUE', 449);
});

test('items of a base package resolve through extends, under their defining name', () => {
  const os = reg.statistic('rtp/os');
  assert.equal(os.name, 'nt/os');
  assert.equal(os.package.name, 'nt');
  assert.equal(os.requested, 'rtp/os');
  assert.equal(reg.property('rtp/jit', 'LocalControl').name, 'nt/jit');
  assert.equal(reg.event('rtp/netfail').name, 'nt/netfail');
  assert.equal(reg.parseProperty('adr/latch', 'on', 'LocalControl').name, 'ipnapt/latch');
  assert.equal(reg.property('tmanr/sdr').name, 'tman/sdr');
  coded(() => reg.statistic('nt/ps'), 'ERR_PKG_NO_SUCH_STATISTIC', 453); // not the other way round
});

test('aliases (h248.aliases): items and packages, keeping the controller spelling', () => {
  const fail = reg.event('tlsbsc/TBD_failure');
  assert.equal(fail.name, 'tlsbsc/fail');
  assert.equal(fail.requested, 'tlsbsc/TBD_failure');
  assert.equal(reg.signal('TLSBSC/tbd_establish').name, 'tlsbsc/estab');
  const l = reg.parseProperty('ipnapt/l', 'on', 'LocalControl');
  assert.equal(l.name, 'ipnapt/latch');
  assert.equal(l.value, true);
  const pk = new PackageRegistry({ aliases: { tlsx: 'tlsbsc', 'tlsx/failed': 'tlsbsc/fail' } });
  assert.equal(pk.event('tlsx/est').name, 'tlsbsc/est');
  assert.equal(pk.event('tlsx/failed').name, 'tlsbsc/fail');
  assert.equal(pk.package('TLSX').name, 'tlsbsc');
  assert.ok(!pk.packagesDescriptor().includes('tlsx-1'));
  // without the alias the same spelling is unknown
  coded(() => new PackageRegistry().event('tlsbsc/tbd_failure'), 'ERR_PKG_NO_SUCH_EVENT', 451);
});

test('bad aliases are refused at construction', () => {
  const bad = (aliases: Record<string, string>): void =>
    assert.throws(
      () => new PackageRegistry({ aliases }),
      (e) => isTrgwdError(e, 'ERR_PKG_BAD_ALIAS'),
    );
  bad({ 'tlsbsc/x': 'tlsbsc/nope' }); // no such target
  bad({ 'tlsbsc/x': 'nope/fail' });
  bad({ 'ipnapt/latch': 'ipnapt/rlatch' }); // shadows a real item
  bad({ rtp: 'nt' }); // shadows a real package
  bad({ 'a/b': 'tlsbsc' }); // item → package
  bad({ 'a b': 'tlsbsc' }); // not a name
  bad({ zz: 'nope' });
});

test('observed event parameters are formatted in table order', () => {
  assert.deepEqual(reg.formatObserved('tcpbcc/est', { port: 5000, addr: '192.0.2.7', dir: 'in' }), [
    { name: 'dir', value: 'in' },
    { name: 'addr', value: '"192.0.2.7"' },
    { name: 'port', value: '5000' },
  ]);
  assert.deepEqual(reg.formatObserved('tlsbsc/est', { resumed: false }), [{ name: 'resumed', value: 'off' }]);
  assert.deepEqual(reg.formatObserved('tcpbcc/rel', { cause: 'rst' }), [{ name: 'cause', value: 'rst' }]);
  assert.deepEqual(reg.formatObserved('g/cause', { Generalcause: 'NR' }), [
    { name: 'Generalcause', value: 'NR' },
  ]);
  assert.deepEqual(reg.formatObserved('rtp/pltrans', { rtppltype: [0, 8] }), [
    { name: 'rtppltype', value: ['0', '8'] },
  ]);
  coded(() => reg.formatObserved('tcpbcc/est', { bogus: 1 }), 'ERR_PKG_UNKNOWN_PARAMETER', 446);
  assert.equal(reg.format('statistic', 'rtp/ps', 1245), '1245');
  assert.equal(reg.format('property', 'tcphp/so', true), 'on');
});

test('defaults per descriptor', () => {
  const lc = reg.defaults('LocalControl');
  assert.equal(lc.get('tcpbcc/dly'), true);
  assert.equal(lc.get('tcphp/so'), false);
  assert.equal(lc.get('tcphp/to'), 10000);
  assert.equal(lc.get('tlsm/rcc'), 'deny');
  assert.equal(lc.get('ipnapt/latch'), false);
  assert.equal(lc.get('tman/pol'), false);
  assert.ok(!lc.has('gm/esas'));
  assert.ok(!reg.propertiesAt('LocalControl').some((r) => r.name === 'gm/esas'), 'unsupported not audited');
});

test('statistics() lists every statistic', () => {
  const names = reg.statistics().map((s) => s.name);
  for (const n of [
    'nt/dur',
    'nt/os',
    'nt/or',
    'rtp/ps',
    'rtp/pr',
    'rtp/pl',
    'rtp/jit',
    'tmanr/dp',
    'tcptv/bs',
    'tlstv/br',
    'msrpstat/mr',
  ]) {
    assert.ok(names.includes(n), n);
  }
});

test('the catalogue is consistent: unique names, defaults fit their types, extends resolve (except rtcph)', () => {
  const names = PACKAGES.map((p) => p.name);
  assert.equal(new Set(names).size, names.length);
  for (const p of PACKAGES) {
    if (p.extends !== undefined && p.extends.name !== 'rtcph') {
      const base = PACKAGES.find((b) => b.name === p.extends!.name);
      assert.ok(base, `${p.name} extends ${p.extends.name}`);
      assert.equal(
        base.version,
        p.extends.version,
        `${p.name} extends ${p.extends.name}-${p.extends.version}`,
      );
    }
  }
  const dup: PackageDef = { name: 'g', id: 1, version: 1, spec: '', description: '' };
  assert.throws(
    () => new PackageRegistry({ packages: [...PACKAGES, dup] }),
    (e) => isTrgwdError(e, 'ERR_PKG_CATALOG'),
  );
  const badDefault: PackageDef = {
    name: 'bd',
    id: 0xfff1,
    version: 1,
    spec: '',
    description: '',
    properties: [
      {
        name: 'p',
        type: { kind: 'integer', min: 0, max: 3 },
        default: 9,
        where: ['LocalControl'],
        description: '',
      },
    ],
  };
  assert.throws(
    () => new PackageRegistry({ packages: [badDefault] }),
    (e) => isTrgwdError(e, 'ERR_PKG_CATALOG'),
  );
});
