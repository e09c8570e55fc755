/** Token-bucket policing with a driven clock (daemon/bearer/udp/policer.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Policer } from '../../../../daemon/bearer/udp/policer.js';

test('a full bucket passes a burst up to mbs and drops exactly what exceeds it', () => {
  const p = new Policer({ sdr: 1000, mbs: 500 }, 0);
  const passed = [100, 100, 100, 100, 100, 100, 100].map((b) => p.admit(b, 0));
  assert.deepEqual(passed, [true, true, true, true, true, false, false]);
});

test('traffic at the sustained rate is never dropped; the bucket refills at sdr', () => {
  const p = new Policer({ sdr: 8000, mbs: 200 }, 0);
  // 160 octets every 20 ms = 8000 B/s, for 10 s
  for (let i = 0; i < 500; i++) assert.ok(p.admit(160, i * 20), `packet ${i}`);
  // twice the rate: half of it goes
  const q = new Policer({ sdr: 8000, mbs: 160 }, 0);
  let ok = 0;
  for (let i = 0; i < 1000; i++) if (q.admit(160, i * 10)) ok++;
  assert.ok(ok >= 500 && ok <= 501, `about half passes: ${ok}`);
});

test('a dropped packet takes no tokens; a larger one may fail where a smaller passes', () => {
  const p = new Policer({ sdr: 100, mbs: 300 }, 0);
  assert.ok(p.admit(250, 0));
  assert.equal(p.admit(100, 0), false);
  assert.ok(p.admit(50, 0));
  assert.equal(p.tokens, 0);
  assert.ok(p.admit(10, 100), '10 octets refilled after 100 ms at 100 B/s');
});

test('mbs defaults to one second of sdr; the peak bucket (pdr, dvt) limits bursts', () => {
  assert.equal(new Policer({ sdr: 4000 }, 0).depth, 4000);
  const p = new Policer({ sdr: 100000, mbs: 100000, pdr: 10000, dvt: 300000 }, 0);
  assert.equal(p.peakDepth, 3000, 'pdr × dvt = 10000 B/s × 0.3 s');
  let ok = 0;
  for (let i = 0; i < 10; i++) if (p.admit(1000, 0)) ok++;
  assert.equal(ok, 3, 'the peak bucket stops the burst, though the sustained one would pass it');
  assert.equal(new Policer({ sdr: 1, pdr: 10, dvt: 1 }, 0).peakDepth, 1500, 'at least one packet');
  assert.ok(p.sameAs({ sdr: 100000, mbs: 100000, pdr: 10000, dvt: 300000 }));
  assert.equal(p.sameAs({ sdr: 100000, mbs: 100001, pdr: 10000, dvt: 300000 }), false);
});
