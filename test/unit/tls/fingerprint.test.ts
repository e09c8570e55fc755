import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseSdp } from '../../../daemon/control/codec/sdp.js';
import { toH248Error } from '../../../daemon/control/errors.js';
import { isTrgwdError } from '../../../daemon/errors.js';
import { LocalIdentity } from '../../../daemon/tls/certificate.js';
import {
  checkRemote,
  fillLocalFingerprints,
  isTlsTransport,
  matchPins,
  normaliseHash,
  remotePins,
} from '../../../daemon/tls/fingerprint.js';

const id = LocalIdentity.generate({ days: 1 });
const other = LocalIdentity.generate({ days: 1 });

const sdp = (lines: string[]) => parseSdp(lines.join('\r\n') + '\r\n');

describe('Local a=fingerprint $', () => {
  it('is filled with our fingerprint in the hash written, media and session level, every group', () => {
    const local = [
      ...sdp(['v=0', 'a=fingerprint:sha-1 $', 'c=IN IP4 $', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:SHA-256 $', 'a=setup:passive']),
      ...sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:SHA-512 $']),
    ];
    fillLocalFingerprints(local, id);
    const text = local.map((g) => g.toString()).join('');
    assert.ok(text.includes(`a=fingerprint:SHA-256 ${id.fingerprint('sha-256')}\r\n`), text);
    assert.ok(text.includes(`a=fingerprint:sha-1 ${id.fingerprint('sha-1')}\r\n`), text);
    assert.ok(text.includes(`a=fingerprint:SHA-512 ${id.fingerprint('sha-512')}\r\n`), text);
    assert.ok(!text.includes('$\r\n'.replace('$', ' $')) || !/fingerprint:\S+ \$/.test(text));
    assert.ok(text.includes('a=setup:passive'));
  });

  it('keeps values that are not $, and no line is added when none is asked', () => {
    const local = sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:SHA-256 AA:BB']);
    fillLocalFingerprints(local, id);
    assert.ok(local[0]!.toString().includes('a=fingerprint:SHA-256 AA:BB'));
    const none = sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *']);
    fillLocalFingerprints(none, id);
    assert.ok(!none[0]!.toString().includes('fingerprint'));
    fillLocalFingerprints(undefined, id);
  });

  it('a hash we cannot compute is 449 with the hash named', () => {
    const local = sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:md5 $']);
    assert.throws(
      () => fillLocalFingerprints(local, id),
      (e: unknown) => isTrgwdError(e, 'ERR_TLS_FINGERPRINT_HASH') && toH248Error(e).code === 449 && /md5/.test(toH248Error(e).text),
    );
  });
});

describe('Remote a=fingerprint → pins', () => {
  it('media-level lines override session-level; hashes are normalised, values upper-cased', () => {
    const remote = sdp([
      'v=0',
      'a=fingerprint:sha-1 11:22',
      'm=message 9 TCP/TLS/MSRP *',
      'a=fingerprint:SHA-256 ab:cd',
      'a=fingerprint:Sha-512 EF:01',
      'a=fingerprint:md5 00:11',
      'a=fingerprint:sha-256 AB:CD',
    ]);
    assert.deepEqual(remotePins(remote), [
      { hash: 'sha-256', value: 'AB:CD' },
      { hash: 'sha-512', value: 'EF:01' },
    ]);
    const sessionOnly = sdp(['v=0', 'a=fingerprint:SHA-384 aa:bb', 'm=message 9 TCP/TLS/MSRP *']);
    assert.deepEqual(remotePins(sessionOnly), [{ hash: 'sha-384', value: 'AA:BB' }]);
    assert.deepEqual(remotePins(undefined), []);
  });

  it('checkRemote: none is 472, only unusable hashes or $ are 449', () => {
    assert.throws(
      () => checkRemote(sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *'])),
      (e: unknown) => isTrgwdError(e, 'ERR_TLS_NO_FINGERPRINT') && toH248Error(e).code === 472,
    );
    assert.throws(
      () => checkRemote(sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:md5 00:11'])),
      (e: unknown) => isTrgwdError(e, 'ERR_TLS_FINGERPRINT_HASH') && toH248Error(e).code === 449,
    );
    assert.throws(
      () => checkRemote(sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:SHA-256 $'])),
      (e: unknown) => isTrgwdError(e, 'ERR_TLS_FINGERPRINT_HASH'),
    );
    assert.equal(checkRemote(sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *', 'a=fingerprint:SHA-256 AA:BB'])).length, 1);
  });

  it('matchPins: any pin may match, each hash computed', () => {
    const pins = [
      { hash: 'sha-1' as const, value: other.fingerprint('sha-1') },
      { hash: 'sha-384' as const, value: id.fingerprint('sha-384') },
    ];
    assert.deepEqual(matchPins(pins, id.certificate.raw), pins[1]);
    assert.equal(matchPins(pins.slice(0, 1), id.certificate.raw), undefined);
    assert.equal(matchPins([], id.certificate.raw), undefined);
  });

  it('normaliseHash and isTlsTransport', () => {
    assert.equal(normaliseHash('SHA-256'), 'sha-256');
    assert.equal(normaliseHash('sha256'), undefined);
    assert.equal(normaliseHash('md5'), undefined);
    assert.ok(isTlsTransport('TCP/TLS/MSRP'));
    assert.ok(isTlsTransport('TCP/TLS'));
    assert.ok(isTlsTransport('TCP/TLS/BFCP'));
    assert.ok(!isTlsTransport('TCP/MSRP'));
    assert.ok(!isTlsTransport('UDP/TLS/UDPTL'));
    assert.ok(!isTlsTransport(undefined));
  });
});
