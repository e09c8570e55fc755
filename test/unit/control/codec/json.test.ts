/** messageToJSON / messageFromJSON: the CLI's JSON form, validated through the codec. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeMessage,
  H248CodecError,
  messageFromJSON,
  messageToJSON,
} from '../../../../daemon/control/codec/index.js';

const CORPUS = fileURLToPath(new URL('../../../fixtures/h248-corpus/', import.meta.url));
const files = (JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as { file: string }[]).map(
  (e) => e.file,
);

test('every corpus message survives JSON text and back', () => {
  for (const f of files) {
    const m = decodeMessage(readFileSync(join(CORPUS, f)));
    const json = messageToJSON(m);
    assert.notEqual(json, m, 'a copy');
    assert.deepStrictEqual(json, m);
    assert.deepStrictEqual(messageFromJSON(JSON.parse(JSON.stringify(json))), m, f);
  }
});

test('invalid JSON models are ERR_H248_INVALID_MODEL with the reason', () => {
  const ok = {
    version: 3,
    mId: { kind: 'ip4', address: '192.0.2.1' },
    transactions: [{ kind: 'pending', id: 1 }],
  };
  assert.deepStrictEqual(messageFromJSON(ok), { ...ok, style: 'pretty' });
  const cases: [unknown, RegExp][] = [
    [null, /JSON object/],
    [[], /JSON object/],
    [{ ...ok, version: '3' }, /version/],
    [{ ...ok, mId: 'x' }, /mId/],
    [{ ...ok, transactions: {} }, /transactions/],
    [{ ...ok, style: 'fancy' }, /style/],
    [{ ...ok, transactions: [{ kind: 'request', id: 1, actions: [{ contextId: 1 }] }] }, /commands/],
    [{ ...ok, transactions: [{ kind: 'request', id: 1 }] }, /actions/],
    [{ ...ok, mId: { kind: 'ip4', address: 'not an address' } }, /does not encode to a valid message/],
    [
      {
        ...ok,
        transactions: [
          {
            kind: 'reply',
            id: 1,
            actions: [{ contextId: 1, commands: [{ kind: 'add', terminationId: 'a{b' }] }],
          },
        ],
      },
      /does not encode/,
    ],
  ];
  for (const [json, reason] of cases) {
    assert.throws(
      () => messageFromJSON(json),
      (e: unknown) =>
        e instanceof H248CodecError && e.code === 'ERR_H248_INVALID_MODEL' && reason.test(e.message),
      JSON.stringify(json),
    );
  }
});
