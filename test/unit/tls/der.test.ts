import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import * as der from '../../../daemon/tls/der.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('DER encoder (X.690)', () => {
  it('lengths: short form below 128, long form above', () => {
    assert.equal(hex(der.octetString(Buffer.alloc(3))), '0403000000');
    assert.equal(hex(der.octetString(Buffer.alloc(127))).slice(0, 4), '047f');
    assert.equal(hex(der.octetString(Buffer.alloc(128))).slice(0, 6), '048180');
    assert.equal(hex(der.octetString(Buffer.alloc(300))).slice(0, 8), '0482012c');
  });

  it('INTEGER: minimal, positive (0x00 before a set top bit)', () => {
    assert.equal(hex(der.integer(0)), '020100');
    assert.equal(hex(der.integer(2)), '020102');
    assert.equal(hex(der.integer(127)), '02017f');
    assert.equal(hex(der.integer(128)), '02020080');
    assert.equal(hex(der.integer(256)), '02020100');
    assert.equal(hex(der.integer(Buffer.from([0x00, 0x00, 0x01]))), '020101');
    assert.equal(hex(der.integer(Buffer.from([0xff]))), '020200ff');
    assert.throws(() => der.integer(-1), RangeError);
  });

  it('OBJECT IDENTIFIER: first arcs packed, base-128 arcs', () => {
    // ecdsa-with-SHA256 and commonName, as in every certificate
    assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
    assert.equal(hex(der.oid('2.5.4.3')), '0603550403');
    assert.throws(() => der.oid('1'), RangeError);
    assert.throws(() => der.oid('1.x'), RangeError);
  });

  it('BIT STRING, BOOLEAN, NULL, strings', () => {
    assert.equal(hex(der.bitString(Buffer.from([0x80]), 7)), '03020780');
    assert.equal(hex(der.boolean(true)), '0101ff');
    assert.equal(hex(der.boolean(false)), '010100');
    assert.equal(hex(der.nullValue()), '0500');
    assert.equal(hex(der.utf8String('é')), '0c02c3a9');
    assert.equal(hex(der.printableString('ab')), '13026162');
    assert.throws(() => der.printableString('a*b'), RangeError);
  });

  it('SET OF sorts its elements; SEQUENCE keeps order; explicit tags', () => {
    assert.equal(hex(der.set(der.integer(2), der.integer(1))), '3106020101020102');
    assert.equal(hex(der.sequence(der.integer(2), der.integer(1))), '3006020102020101');
    assert.equal(hex(der.explicit(0, der.integer(2))), 'a003020102');
    assert.equal(hex(der.explicit(3, der.sequence())), 'a3023000');
  });

  it('Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    assert.equal(der.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))).toString('latin1').slice(2), '260102030405Z');
    assert.equal(der.time(new Date(Date.UTC(2026, 0, 2))).at(0), 0x17);
    const g = der.time(new Date(Date.UTC(2050, 11, 31, 23, 59, 59)));
    assert.equal(g.at(0), 0x18);
    assert.equal(g.toString('latin1').slice(2), '20501231235959Z');
    assert.equal(der.time(new Date(Date.UTC(1949, 0, 1))).at(0), 0x18);
  });
});
