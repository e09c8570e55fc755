import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeType,
  formatValue,
  parseValue,
  unquote,
} from '../../../../daemon/control/packages/values.js';
import type { ValueType } from '../../../../daemon/control/packages/types.js';

const ok = (type: ValueType, text: string | string[]): unknown => {
  const r = parseValue(type, text);
  assert.ok(r.ok, `${JSON.stringify(text)} should parse as ${describeType(type)}`);
  return r.value;
};
const no = (type: ValueType, text: string | string[]): void => {
  assert.equal(
    parseValue(type, text).ok,
    false,
    `${JSON.stringify(text)} should not parse as ${describeType(type)}`,
  );
};

test('boolean', () => {
  const t: ValueType = { kind: 'boolean' };
  assert.equal(ok(t, 'on'), true);
  assert.equal(ok(t, 'On'), true);
  assert.equal(ok(t, 'TRUE'), true);
  assert.equal(ok(t, 'off'), false);
  assert.equal(ok(t, '"off"'), false);
  no(t, 'yes');
  no(t, '1');
  no(t, '');
});

test('integer, with and without hex', () => {
  const dec: ValueType = { kind: 'integer', min: 0, max: 100 };
  assert.equal(ok(dec, '0'), 0);
  assert.equal(ok(dec, '100'), 100);
  no(dec, '101');
  no(dec, '-1');
  no(dec, '2e');
  no(dec, '0x10');
  no(dec, '1.5');
  no(dec, '99999999999999999999');
  const hex: ValueType = { kind: 'integer', min: 0, max: 255, hex: true };
  assert.equal(ok(hex, '10'), 10, 'bare digits are decimal');
  assert.equal(ok(hex, '0x10'), 16);
  assert.equal(ok(hex, 'ff'), 255);
  assert.equal(ok(hex, 'B8'), 184);
  no(hex, '0x');
  no(hex, '0x100');
  no(hex, 'fg');
  const signed: ValueType = { kind: 'integer', min: -10 };
  assert.equal(ok(signed, '-10'), -10);
});

test('double', () => {
  const t: ValueType = { kind: 'double', min: 0 };
  assert.equal(ok(t, '1.5'), 1.5);
  assert.equal(ok(t, '3'), 3);
  assert.equal(ok(t, '1e3'), 1000);
  assert.equal(ok(t, '.5'), 0.5);
  no(t, '-0.1');
  no(t, 'NaN');
  no(t, 'Infinity');
  no(t, '1e400');
  no(t, '1,5');
});

test('string, enum, octets, list', () => {
  assert.equal(ok({ kind: 'string' }, '"access"'), 'access');
  assert.equal(ok({ kind: 'string' }, 'access'), 'access');
  no({ kind: 'string', maxLength: 3 }, 'four');
  const e: ValueType = { kind: 'enum', values: ['fingerprint', 'cert-change'] };
  assert.equal(ok(e, 'CERT-CHANGE'), 'cert-change');
  no(e, 'other');
  assert.deepEqual(ok({ kind: 'octets' }, '0a1B'), Buffer.from([0x0a, 0x1b]));
  assert.deepEqual(ok({ kind: 'octets' }, '0x00ff'), Buffer.from([0, 255]));
  no({ kind: 'octets' }, 'abc');
  no({ kind: 'octets', maxLength: 1 }, '0000');
  const l: ValueType = { kind: 'list', of: { kind: 'integer', min: 0, max: 127 }, maxItems: 3 };
  assert.deepEqual(ok(l, ['0', '8', '96']), [0, 8, 96]);
  assert.deepEqual(ok(l, '8'), [8]);
  no(l, ['0', '128']);
  no(l, ['1', '2', '3', '4']);
  no({ kind: 'integer' }, ['1', '2']);
  assert.equal(ok({ kind: 'integer' }, ['7']), 7);
});

test('formatValue is the inverse of parseValue', () => {
  const cases: [ValueType, string | string[]][] = [
    [{ kind: 'boolean' }, 'on'],
    [{ kind: 'boolean' }, 'off'],
    [{ kind: 'integer' }, '42'],
    [{ kind: 'double' }, '0.25'],
    [{ kind: 'string' }, '"access"'],
    [{ kind: 'enum', values: ['allow', 'deny'] }, 'deny'],
    [{ kind: 'octets' }, '00ff'],
    [{ kind: 'list', of: { kind: 'integer' } }, ['1', '2']],
  ];
  for (const [type, text] of cases) {
    const r = parseValue(type, text);
    assert.ok(r.ok);
    assert.deepEqual(formatValue(type, r.value), text);
  }
  assert.equal(unquote('"x"'), 'x');
  assert.equal(unquote('"'), '"');
});
