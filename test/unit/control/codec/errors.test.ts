/** H248CodecError: stable codes from the control error table, positions, message format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H248CodecError, isH248CodecError } from '../../../../daemon/control/codec/errors.js';
import { H248_ERRORS, toH248Error } from '../../../../daemon/control/errors.js';
import { TrgwdError } from '../../../../daemon/errors.js';

test('codes map to H.248 error codes through the one table', () => {
  const expected = {
    ERR_H248_SYNTAX_MESSAGE: 400,
    ERR_H248_SYNTAX_TRANSACTION: 403,
    ERR_H248_SYNTAX_ACTION: 422,
    ERR_H248_SYNTAX_COMMAND: 442,
    ERR_H248_UNKNOWN_COMMAND: 443,
    ERR_H248_UNKNOWN_DESCRIPTOR: 444,
    ERR_H248_DESCRIPTOR_TWICE: 448,
    ERR_H248_LIMIT: 400,
    ERR_H248_BINARY: 400,
    ERR_H248_INVALID_MODEL: 500,
  } as const;
  for (const [code, h248] of Object.entries(expected)) {
    const e = new H248CodecError(code as keyof typeof expected, 'x');
    assert.equal(e.h248, h248, code);
    assert.equal(H248_ERRORS[code as keyof typeof expected].h248, h248);
    assert.deepStrictEqual(toH248Error(e), { code: h248, text: e.message });
  }
});

test('message, position and fields', () => {
  const e = new H248CodecError(
    'ERR_H248_SYNTAX_COMMAND',
    "expected '{' after Add",
    { line: 3, column: 14, offset: 70 },
    { expected: "'{'" },
  );
  assert.equal(e.message, "line 3 col 14: expected '{' after Add (H.248 442)");
  assert.equal(e.reason, "expected '{' after Add");
  assert.equal(e.expected, "'{'");
  assert.deepStrictEqual([e.line, e.column, e.offset], [3, 14, 70]);
  assert.equal(e.name, 'H248CodecError');
  assert.ok(e instanceof TrgwdError && e instanceof Error);
  assert.ok(isH248CodecError(e));
  assert.ok(!isH248CodecError(new Error('x')));
  const b = new H248CodecError('ERR_H248_BINARY', 'binary');
  assert.equal(b.message, 'binary (H.248 400)');
  assert.deepStrictEqual([b.line, b.column, b.offset, b.limit], [0, 0, -1, undefined]);
  assert.equal(
    new H248CodecError('ERR_H248_LIMIT', 'maxDepth exceeded: x', undefined, { limit: 'maxDepth' }).limit,
    'maxDepth',
  );
});
