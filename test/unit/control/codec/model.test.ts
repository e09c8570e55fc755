/** Model helpers: VALUE quoting and the reply style. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isQuoted,
  quote,
  replyStyleOf,
  sanitizeQuoted,
  unquote,
} from '../../../../daemon/control/codec/model.js';

test('unquote / quote / isQuoted / sanitizeQuoted', () => {
  assert.equal(unquote('"RTP timeout"'), 'RTP timeout');
  assert.equal(unquote('40'), '40');
  assert.equal(unquote('"'), '"');
  assert.equal(quote('901 Cold Boot'), '"901 Cold Boot"');
  assert.equal(quote('say "x"\r\nnow'), `"say 'x'  now"`);
  assert.ok(isQuoted('"a"') && isQuoted('""') && !isQuoted('a') && !isQuoted('"'));
  const s = 'plain text';
  assert.equal(sanitizeQuoted(s), s);
  assert.equal(sanitizeQuoted('tab\tok\u007f'), 'tab\tok ');
});

test('replyStyleOf', () => {
  assert.equal(replyStyleOf({ style: 'compact' }), 'compact');
  assert.equal(replyStyleOf({ style: 'pretty' }), 'pretty');
  assert.equal(replyStyleOf({}), 'pretty');
});
