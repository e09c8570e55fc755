/** RTP/RTCP header checks of the fast path (daemon/bearer/udp/rtp.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clockTable,
  isRtcpOnMux,
  isValidRtcp,
  isValidRtp,
  rtpPayloadType,
  rtpSequence,
  rtpSsrc,
  rtpTimestamp,
} from '../../../../daemon/bearer/udp/rtp.js';
import { rtcpRr, rtp } from './packets.js';

test('a valid RTP header: fields read in place, CSRC/extension/padding lengths checked', () => {
  const p = rtp({ seq: 0xfffe, ts: 0xfffffff0, ssrc: 0xdeadbeef, pt: 96, marker: true });
  assert.ok(isValidRtp(p, p.length));
  assert.equal(rtpSequence(p), 0xfffe);
  assert.equal(rtpTimestamp(p), 0xfffffff0);
  assert.equal(rtpSsrc(p), 0xdeadbeef);
  assert.equal(rtpPayloadType(p), 96);
  assert.ok(
    isValidRtp(
      rtp({ seq: 1, csrc: 2, extensionWords: 3, padding: 4 }),
      rtp({ seq: 1, csrc: 2, extensionWords: 3, padding: 4 }).length,
    ),
  );
  // header only, no payload: still RTP
  const bare = rtp({ seq: 1, payload: 0 });
  assert.ok(isValidRtp(bare, 12));
});

test('malformed RTP: too short, wrong version, CSRC list / extension / padding beyond the datagram', () => {
  const p = rtp({ seq: 1 });
  assert.equal(isValidRtp(p, 11), false);
  const v1 = Buffer.from(p);
  v1[0] = 0x40;
  assert.equal(isValidRtp(v1, v1.length), false);
  const cc = rtp({ seq: 1, payload: 0 });
  cc[0] = 0x80 | 3; // three CSRCs announced, none there
  assert.equal(isValidRtp(cc, cc.length), false);
  const ext = rtp({ seq: 1, extensionWords: 1, payload: 0 });
  ext.writeUInt16BE(50, 14); // extension longer than the packet
  assert.equal(isValidRtp(ext, ext.length), false);
  const pad = rtp({ seq: 1, payload: 4 });
  pad[0] = pad[0]! | 0x20;
  pad[pad.length - 1] = 0; // padding count 0 is invalid
  assert.equal(isValidRtp(pad, pad.length), false);
  pad[pad.length - 1] = 200; // more padding than payload
  assert.equal(isValidRtp(pad, pad.length), false);
  assert.equal(isValidRtp(Buffer.alloc(0), 0), false);
});

test('RFC 5761 demux: second octet without the marker bit in 64..95 is RTCP', () => {
  const rr = rtcpRr();
  assert.ok(isRtcpOnMux(rr, rr.length));
  for (const pt of [0, 8, 63, 96, 127])
    assert.equal(isRtcpOnMux(rtp({ seq: 1, pt }), 172), false, `pt ${pt}`);
  for (const pt of [64, 72, 95]) assert.ok(isRtcpOnMux(rtp({ seq: 1, pt }), 172), `pt ${pt}`);
  // the marker bit does not change the answer: 0x80|0 is PT 0 with marker, RTP
  assert.equal(isRtcpOnMux(rtp({ seq: 1, pt: 0, marker: true }), 172), false);
  assert.equal(isRtcpOnMux(Buffer.alloc(1), 1), false);
});

test('RTCP: version 2, packet type 192..223, first length within the datagram', () => {
  const rr = rtcpRr(1, 1);
  assert.ok(isValidRtcp(rr, rr.length));
  // a compound packet with an SRTCP-like trailer: only the first header is checked
  assert.ok(isValidRtcp(Buffer.concat([rr, Buffer.alloc(14)]), rr.length + 14));
  assert.equal(isValidRtcp(rr, 7), false);
  const bad = Buffer.from(rr);
  bad[1] = 150;
  assert.equal(isValidRtcp(bad, bad.length), false);
  const long = Buffer.from(rr);
  long.writeUInt16BE(100, 2);
  assert.equal(isValidRtcp(long, long.length), false);
  const v0 = Buffer.from(rr);
  v0[0] = 0;
  assert.equal(isValidRtcp(v0, v0.length), false);
});

test('clock table: a=rtpmap over the static payload types, the default elsewhere', () => {
  const t = clockTable(
    new Map([
      [96, 16000],
      [0, 48000],
    ]),
  );
  assert.equal(t[96], 16000);
  assert.equal(t[0], 48000, 'an explicit rtpmap wins over the static table');
  assert.equal(t[8], 8000);
  assert.equal(t[9], 8000, 'G.722 is 8000 on the wire (RFC 3551)');
  assert.equal(t[26], 90000);
  assert.equal(t[97], 8000);
  assert.equal(clockTable(new Map(), 90000)[100], 90000);
});
