/** Source filter values and address matching (daemon/bearer/udp/latch.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressMatches as matches,
  canonicalAddress,
  compileMatch,
  ipv4ToInt,
  parseSam,
  parseSpr,
  type AddressMatch,
} from '../../../../daemon/bearer/udp/latch.js';

const addressMatches = (m: AddressMatch, a: string): boolean => matches(compileMatch(m), a);
import { isTrgwdError } from '../../../../daemon/errors.js';

test('ipv4ToInt parses dotted quads only', () => {
  assert.equal(ipv4ToInt('127.0.0.1'), 0x7f000001);
  assert.equal(ipv4ToInt('255.255.255.255'), 0xffffffff);
  for (const bad of [
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1..2.3',
    'a.b.c.d',
    '1.2.3.4 ',
    '::1',
    '1.2.3.0001',
  ]) {
    assert.equal(ipv4ToInt(bad), -1, bad);
  }
});

test('gm/sam: prefix, netmask on the Remote address, one address; without sam the Remote address', () => {
  const remote = '192.0.2.77';
  const exact = parseSam(undefined, remote)!;
  assert.ok(addressMatches(exact, remote));
  assert.equal(addressMatches(exact, '192.0.2.78'), false);
  assert.equal(parseSam(undefined, undefined), undefined);

  const prefix = parseSam('10.1.0.0/16', remote)!;
  assert.ok(addressMatches(prefix, '10.1.200.3'));
  assert.equal(addressMatches(prefix, '10.2.0.1'), false);
  assert.equal(addressMatches(prefix, '::1'), false);

  const mask = parseSam('255.255.255.0', remote)!;
  assert.ok(addressMatches(mask, '192.0.2.1'));
  assert.equal(addressMatches(mask, '192.0.3.1'), false);
  assert.equal(parseSam('255.255.255.0', undefined), undefined, 'a netmask needs a Remote address');

  const one = parseSam('198.51.100.9', remote)!;
  assert.ok(addressMatches(one, '198.51.100.9'));
  assert.equal(addressMatches(one, remote), false);

  const v6 = parseSam('2001:db8::/32', remote)!;
  assert.deepEqual(structuredClone(v6), v6, 'plain data: it can travel to a worker');
  assert.ok(addressMatches(v6, '2001:db8:1::5'));
  assert.equal(addressMatches(v6, '2001:db9::5'), false);
  assert.equal(addressMatches(v6, '10.0.0.1'), false);
  assert.ok(
    addressMatches(parseSam(undefined, '2001:DB8:0:0::1')!, '2001:db8::1'),
    'IPv6 compared in canonical form',
  );
  assert.equal(canonicalAddress('2001:DB8::0:1'), '2001:db8::1');
  assert.equal(canonicalAddress('::FFFF:1.2.3.4'), '::ffff:1.2.3.4', 'IPv4-mapped: as rinfo.address gives it');
  assert.equal(canonicalAddress('0:0:0:0:0:0:0:1'), '::1');

  for (const bad of ['nonsense', '10.0.0.0/33', '10.0.0.0/x', 'fe80::/200']) {
    assert.throws(
      () => parseSam(bad, remote),
      (e) => isTrgwdError(e, 'ERR_PKG_BAD_VALUE'),
      bad,
    );
  }
});

test('gm/spr: one port or a range', () => {
  assert.deepEqual(parseSpr('5004'), [5004, 5004]);
  assert.deepEqual(parseSpr(' 1024 - 2047 '), [1024, 2047]);
  for (const bad of ['', 'a-b', '10-5', '70000', '1-70000', '1,2']) {
    assert.throws(
      () => parseSpr(bad),
      (e) => isTrgwdError(e, 'ERR_PKG_BAD_VALUE'),
      bad,
    );
  }
});
