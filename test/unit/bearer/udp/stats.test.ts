/** RFC 3550 A.1/A.3/A.8 receive statistics (daemon/bearer/udp/stats.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpReceiveStats } from '../../../../daemon/bearer/udp/stats.js';

const SSRC = 0x1234;

function feed(st: RtpReceiveStats, seqs: readonly number[], ssrc = SSRC): void {
  // perfectly paced: 20 ms apart, 160 timestamp units apart (8 kHz)
  let i = 0;
  for (const s of seqs) st.update(s & 0xffff, (s * 160) >>> 0, ssrc, 1000 + 20 * i++, 8000);
}

test('loss from sequence gaps, across the 16-bit wrap', () => {
  const st = new RtpReceiveStats();
  feed(st, [65530, 65531, 65532, 65533, 65535, 65536, 65537, 65540]);
  // expected 65530..65540 = 11, received 8
  assert.equal(st.lost, 3);
  assert.equal(st.cycles, 65536);
  assert.equal(st.maxSeq, 65540 & 0xffff);
});

test('reordering and duplicates are not loss, and loss never goes negative', () => {
  const st = new RtpReceiveStats();
  feed(st, [10, 12, 11, 13]);
  assert.equal(st.lost, 0);
  feed(st, [13, 13, 13]);
  assert.equal(st.lost, 0, 'duplicates make expected < received: clamped at 0');
  const late = new RtpReceiveStats();
  feed(late, [100, 101, 103, 102]);
  assert.equal(late.lost, 0, 'the late packet fills the gap');
});

test('a large jump is a restart only when confirmed by the next packet (A.1 bad_seq)', () => {
  const st = new RtpReceiveStats();
  feed(st, [1, 2, 3]);
  feed(st, [40000]); // one stray packet far away: ignored
  assert.equal(st.maxSeq, 3);
  assert.equal(st.lost, 0);
  feed(st, [4, 5]);
  assert.equal(st.lost, 0);
  feed(st, [20000, 20001, 20002]); // restart: two in a row
  assert.equal(st.baseSeq, 20001);
  assert.equal(st.lost, 0);
});

test('a new SSRC restarts the sequence state but keeps the loss seen so far', () => {
  const st = new RtpReceiveStats();
  feed(st, [1, 2, 5]); // 2 lost
  assert.equal(st.lost, 2);
  feed(st, [700, 701, 703], 0x9999); // 1 lost on the new SSRC
  assert.equal(st.lost, 3);
  assert.equal(st.ssrc, 0x9999);
});

test('jitter (A.8): zero when paced exactly, J += (|D| - J)/16 otherwise, in ms at the clock rate', () => {
  const st = new RtpReceiveStats();
  feed(st, [1, 2, 3, 4]);
  assert.equal(st.jitter, 0);
  // 5th packet arrives 10 ms late: D = 10 ms = 80 units
  st.update(5, 5 * 160, SSRC, 1000 + 20 * 4 + 10, 8000);
  assert.equal(st.jitter, 80 / 16);
  assert.equal(st.jitterMs, (80 / 16 / 8000) * 1000);
  // 6th on time again: D = -80 relative to the late one
  st.update(6, 6 * 160, SSRC, 1000 + 20 * 5, 8000);
  const j = 5 + (80 - 5) / 16;
  assert.ok(Math.abs(st.jitter - j) < 1e-9);
});

test('jitter across the 32-bit timestamp wrap, and at 48 kHz', () => {
  const st = new RtpReceiveStats();
  const base = 0xffffffff - 960 * 2 + 1;
  for (let i = 0; i < 6; i++) st.update(i, (base + 960 * i) >>> 0, SSRC, 5000 + 20 * i, 48000);
  assert.ok(st.jitter < 1e-6, `no jitter from the wrap: ${st.jitter}`);
  st.update(6, (base + 960 * 6) >>> 0, SSRC, 5000 + 20 * 6 + 4, 48000);
  assert.ok(Math.abs(st.jitterMs - 4 / 16) < 1e-6, `4 ms late at 48 kHz: ${st.jitterMs}`);
});
