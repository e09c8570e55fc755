/**
 * The test oracle (srtp-reference.ts) checked against RFC 3711 Appendix B itself, so that agreeing
 * with it (session.test.ts) means agreeing with the RFC and not with a second copy of a mistake.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hex } from './helpers.js';
import { aesCmKeystream, kdf } from './srtp-reference.js';

describe('reference SRTP sender: RFC 3711 Appendix B', () => {
  it('B.2 AES-CM keystream (session key and salt of the RFC, SSRC 0, index 0)', () => {
    const ks = aesCmKeystream(
      hex('2B7E151628AED2A6ABF7158809CF4F3C'),
      hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'),
      0,
      0n,
      48,
    );
    assert.equal(
      ks.toString('hex'),
      'e03ead0935c95e80e166b16dd92b4eb4' +
        'd23513162b02d0f72a43a2fe4a5f97ab' +
        '41e95b3bb0a2e8dd477901e4fca894c0',
    );
  });

  it('B.3 key derivation (master key/salt of the RFC, kdr 0)', () => {
    const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
    assert.equal(kdf(mk, ms, 0, 16).toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
    assert.equal(kdf(mk, ms, 2, 14).toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
    assert.equal(
      kdf(mk, ms, 1, 94).toString('hex'),
      'cebe321f6ff7716b6fd4ab49af256a15' +
        '6d38baa48f0a0acf3c34e2359e6cdbce' +
        'e049646c43d9327ad175578ef7227098' +
        '6371c10c9a369ac2f94a8c5fbcdddc25' +
        '6d6e919a48b610ef17c2041e47403576' +
        '6b68642c59bbfc2f34db60dbdfb2',
    );
  });
});
