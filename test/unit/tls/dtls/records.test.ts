import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isClientHello, isDtlsRecord, recordEpoch } from '../../../../daemon/tls/dtls/records.js';

function record(type: number, epoch: number, body: number[] = [], version = [0xfe, 0xfd]): Buffer {
  const b = Buffer.alloc(13 + body.length);
  b[0] = type;
  b[1] = version[0]!;
  b[2] = version[1]!;
  b.writeUInt16BE(epoch, 3);
  b.writeUInt16BE(body.length, 11);
  Buffer.from(body).copy(b, 13);
  return b;
}

describe('DTLS record classification (RFC 6347 §4.1, RFC 7983 §7)', () => {
  it('DTLS records have a first octet 20..63 and a 0xFE version octet', () => {
    assert.equal(isDtlsRecord(record(22, 0), 13), true);
    assert.equal(isDtlsRecord(record(23, 1), 13), true);
    assert.equal(isDtlsRecord(record(19, 0), 13), false);
    assert.equal(isDtlsRecord(record(64, 0), 13), false);
    assert.equal(isDtlsRecord(record(22, 0, [], [0x03, 0x03]), 13), false); // TLS, not DTLS
    assert.equal(isDtlsRecord(record(22, 0), 12), false); // shorter than a header
    assert.equal(isDtlsRecord(Buffer.from([0x80, 0x00]), 2), false); // RTP
  });

  it('epoch of the first record', () => {
    assert.equal(recordEpoch(record(23, 0)), 0);
    assert.equal(recordEpoch(record(23, 1)), 1);
    assert.equal(recordEpoch(record(23, 0x1234)), 0x1234);
  });

  it('a ClientHello is an epoch 0 handshake record whose message type is 1', () => {
    const hs = (t: number): number[] => [t, ...Array<number>(11).fill(0)];
    assert.equal(isClientHello(record(22, 0, hs(1)), 25), true);
    assert.equal(isClientHello(record(22, 0, hs(1), [0xfe, 0xff]), 25), true); // DTLS 1.0 record version
    assert.equal(isClientHello(record(22, 0, hs(2)), 25), false); // ServerHello
    assert.equal(isClientHello(record(22, 1, hs(1)), 25), false); // encrypted epoch
    assert.equal(isClientHello(record(23, 0, hs(1)), 25), false);
    assert.equal(isClientHello(record(22, 0, hs(1)), 24), false); // truncated handshake header
  });
});
