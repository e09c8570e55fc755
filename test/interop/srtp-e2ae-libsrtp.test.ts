/**
 * e2ae SRTP through a real context, with C libsrtp2 as the UE (issue #6; PROFILE §4): the C program
 * native/test/srtp_peer.c (built here into a temp dir with `cc ... $(pkg-config --cflags --libs
 * libsrtp2)`) runs in its UDP mode and is the phone on the access side: it sends SRTP and SRTCP
 * protected with its own key (the Remote a=crypto) into the gateway, and what comes out of the core side
 * must be the plain RTP and RTCP it encrypted, byte for byte. The other way, plain RTP and RTCP sent
 * into the core side reach it as SRTP/SRTCP under the key the gateway generated (Local `inline:$`, read
 * from the reply), and it decrypts them to the very packets sent.
 *
 * - In-process gateway (the command harness, the UDP relay, SrtpE2ae): the four suites, without and
 *   with MKIs (4 octets, different values each way; the gateway's key with a lifetime too), RTP in
 *   several shapes and compound RTCP (SR/RR + SDES [+ BYE]); and one call with a=rtcp-mux on the
 *   access side. Realms 24000-24199.
 * - The daemon (spawned from source, registered with an in-process controller): examples/srtp-call.yaml
 *   played step by step over H.248 as `trgwd mgc` plays it (so the example stays true), with media
 *   between the Modify steps and AuditValue; once with the relay on the main thread and once on relay
 *   workers. Realms 24400-24799.
 *
 * Needs cc, pkg-config, libsrtp2-dev and the built addon (`npm run build:native`): skips locally
 * without them, fails under CI=true.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { capturePath, checkExpectation, fillPlaceholders, parseScript } from '../../daemon/cli/mgc.js';
import { SrtpE2ae } from '../../daemon/tls/srtp/e2ae.js';
import { SRTP_SUITES, type SrtpSuite } from '../../daemon/tls/srtp/suites.js';
import { startRegistered } from '../helpers/daemon.js';
import { relayHarness, statsOf, type RelayHarness } from '../integration/udp-call.js';
import { audit, commands, localOf, portOf } from '../unit/control/commands/harness.js';
import { rtpPacket } from '../unit/tls/srtp/helpers.js';
import { UdpSrtpPeer, useSrtpPeer } from './srtp-peer.js';
import type { UdpReceived } from './srtp-peer.js';

const LO = '127.0.0.1';
const BASE = 24000;
const EXAMPLE = fileURLToPath(new URL('../../examples/srtp-call.yaml', import.meta.url));

/** The built C peer's path, or a local skip when a prerequisite is missing (CI fails instead). */
const needPeer = useSrtpPeer();

// ---- what the wire must look like, from the RFCs (not from trgwd's tables) ----------------------

/** Master key || salt length and auth tag lengths (RFC 3711, RFC 7714; RFC 4568 §6.2.2 for _32's SRTCP). */
const SUITE: Record<SrtpSuite, { keySalt: number; rtpTag: number; rtcpTag: number }> = {
  AES_CM_128_HMAC_SHA1_80: { keySalt: 30, rtpTag: 10, rtcpTag: 10 },
  AES_CM_128_HMAC_SHA1_32: { keySalt: 30, rtpTag: 4, rtcpTag: 10 },
  AEAD_AES_128_GCM: { keySalt: 28, rtpTag: 16, rtcpTag: 16 },
  AEAD_AES_256_GCM: { keySalt: 44, rtpTag: 16, rtcpTag: 16 },
};

/** Octets SRTP adds to an RTP packet, and SRTCP to an RTCP one (E flag + index, tag, MKI). */
function overhead(suite: SrtpSuite, mkiLength: number): { rtp: number; rtcp: number } {
  const s = SUITE[suite];
  return { rtp: s.rtpTag + mkiLength, rtcp: 4 + s.rtcpTag + mkiLength };
}

interface Crypto {
  tag: number;
  suite: string;
  keySalt: Buffer;
  lifetime: string | undefined;
  mki: Buffer | undefined;
}

/** An a=crypto value, read here by its RFC 4568 grammar (one key, no session parameters). */
function readCrypto(line: string): Crypto {
  const m = /^(\d+) (\S+) inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d+|\d+))?(?:\|(\d+):(\d+))?$/.exec(
    line.trim(),
  );
  assert.ok(m !== null, `a=crypto:${line} is one inline key with optional lifetime and MKI`);
  let mki: Buffer | undefined;
  if (m[5] !== undefined) {
    mki = Buffer.alloc(Number(m[6]));
    let v = BigInt(m[5]);
    for (let i = mki.length - 1; i >= 0; i--, v >>= 8n) mki[i] = Number(v & 0xffn);
  }
  return { tag: Number(m[1]), suite: m[2]!, keySalt: Buffer.from(m[3]!, 'base64'), lifetime: m[4], mki };
}

function cryptoOf(sdp: string | undefined): string {
  const m = /^a=crypto:(.*?)\r?$/m.exec(sdp ?? '');
  assert.ok(m !== null, `a=crypto in ${sdp}`);
  return m[1]!;
}

// ---- packets ------------------------------------------------------------------------------------

const RTP_SIZES = [160, 33, 1, 320, 0, 1200, 161];
const RTP_EACH_WAY = RTP_SIZES.length;

/** RTP in several shapes: payloads of 0..1200 octets, CSRCs, a header extension, a marker, two payload types. */
function rtpStream(ssrc: number, firstSeq: number): Buffer[] {
  const sizes = RTP_SIZES;
  return sizes.map((payload, i) =>
    rtpPacket({
      seq: firstSeq + i,
      ssrc,
      timestamp: 0x10000 + 160 * i,
      payload: randomBytes(payload),
      payloadType: i % 3 === 2 ? 8 : 0,
      marker: i === 0,
      ...(i === 3 ? { csrcs: [0x0a0b0c0d, 0x01020304] } : {}),
      ...(i === 5 ? { extension: Uint8Array.from([0x10, 0xaa, 0x21, 0xbb, 0xcc]) } : {}),
    }),
  );
}

function rtcpHeader(count: number, pt: number, bodyOctets: number): Buffer {
  const h = Buffer.alloc(4);
  h[0] = 0x80 | count;
  h[1] = pt;
  h.writeUInt16BE((4 + bodyOctets) / 4 - 1, 2);
  return h;
}

/** A report block (RFC 3550 §6.4.1) about `ssrc`. */
function reportBlock(ssrc: number, highestSeq: number): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32BE(ssrc >>> 0, 0);
  b.writeUInt32BE((3 << 24) | 2, 4); // fraction lost 3/256, 2 packets lost
  b.writeUInt32BE(highestSeq, 8);
  b.writeUInt32BE(17, 12); // jitter
  b.writeUInt32BE(0x12345678, 16); // LSR
  b.writeUInt32BE(0x00010000, 20); // DLSR: 1 s
  return b;
}

function senderReport(ssrc: number, about: number): Buffer {
  const info = Buffer.alloc(24);
  info.writeUInt32BE(ssrc >>> 0, 0);
  info.writeUInt32BE(0xe8a1b2c3, 4); // NTP seconds
  info.writeUInt32BE(0x80000000, 8); // NTP fraction: .5
  info.writeUInt32BE(0x10000 + 960, 12); // RTP timestamp
  info.writeUInt32BE(7, 16); // packets sent
  info.writeUInt32BE(1875, 20); // octets sent
  const block = reportBlock(about, 4717);
  return Buffer.concat([rtcpHeader(1, 200, 48), info, block]);
}

function receiverReport(ssrc: number, about: number): Buffer {
  const me = Buffer.alloc(4);
  me.writeUInt32BE(ssrc >>> 0, 0);
  return Buffer.concat([rtcpHeader(1, 201, 28), me, reportBlock(about, 4717)]);
}

function sdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname);
  const chunk = Buffer.alloc(Math.ceil((4 + 2 + text.length + 1) / 4) * 4); // null-terminated, padded
  chunk.writeUInt32BE(ssrc >>> 0, 0);
  chunk[4] = 1; // CNAME
  chunk[5] = text.length;
  text.copy(chunk, 6);
  return Buffer.concat([rtcpHeader(1, 202, chunk.length), chunk]);
}

function bye(ssrc: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(ssrc >>> 0, 0);
  return Buffer.concat([rtcpHeader(1, 203, 4), b]);
}

/** Compound RTCP (RFC 3550 §6.1): SR + SDES, RR + SDES, SR + SDES + BYE. */
function rtcpStream(ssrc: number, about: number, cname: string): Buffer[] {
  return [
    Buffer.concat([senderReport(ssrc, about), sdesCname(ssrc, cname)]),
    Buffer.concat([receiverReport(ssrc, about), sdesCname(ssrc, cname)]),
    Buffer.concat([senderReport(ssrc, about), sdesCname(ssrc, cname), bye(ssrc)]),
  ];
}

// ---- phone B: plain RTP on an even port, RTCP on the next -------------------------------------

interface Datagram {
  data: Buffer;
  port: number;
}

class Inbox {
  readonly #queue: Datagram[] = [];
  #waiter: ((d: Datagram) => void) | undefined;

  constructor(s: Socket) {
    s.on('message', (data, rinfo) => {
      const d = { data, port: rinfo.port };
      const w = this.#waiter;
      this.#waiter = undefined;
      if (w !== undefined) w(d);
      else this.#queue.push(d);
    });
  }

  get size(): number {
    return this.#queue.length;
  }

  next(what: string, timeoutMs = 5000): Promise<Datagram> {
    const d = this.#queue.shift();
    if (d !== undefined) return Promise.resolve(d);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`${what}: nothing within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
  }
}

function bindUdp(port: number): Promise<Socket | undefined> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => {
      try {
        s.close();
      } catch {
        // never bound
      }
      resolve(undefined);
    });
    s.bind(port, LO, () => {
      s.removeAllListeners('error');
      resolve(s);
    });
  });
}

class PlainPhone {
  readonly rtp: Socket;
  readonly rtcp: Socket;
  readonly inbox: { rtp: Inbox; rtcp: Inbox };

  private constructor(rtp: Socket, rtcp: Socket) {
    this.rtp = rtp;
    this.rtcp = rtcp;
    this.inbox = { rtp: new Inbox(rtp), rtcp: new Inbox(rtcp) };
  }

  static async open(): Promise<PlainPhone> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const rtp = await bindUdp(0);
      if (rtp === undefined) continue;
      const p = rtp.address().port;
      const rtcp = p % 2 === 0 ? await bindUdp(p + 1) : undefined;
      if (rtcp !== undefined) return new PlainPhone(rtp, rtcp);
      rtp.close();
    }
    throw new Error('no free even/odd port pair on 127.0.0.1');
  }

  get port(): number {
    return this.rtp.address().port;
  }

  send(kind: 'rtp' | 'rtcp', data: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this[kind].send(data, port, LO, (e) => (e ? reject(e) : resolve())),
    );
  }

  close(): void {
    this.rtp.close();
    this.rtcp.close();
  }
}

// ---- the exchange -------------------------------------------------------------------------------

interface Leg {
  /** The gateway's RTP port facing phone A (SRTP) and phone B (RTP); RTCP on +1 unless muxed. */
  gwA: number;
  gwB: number;
  suite: SrtpSuite;
  /** The gateway's key as the reply gave it: what phone A decrypts with. */
  ours: Crypto;
  /** Phone A's MKI length (its SRTP overhead). */
  ueMkiLength: number;
  rtcpMux: boolean;
}

/**
 * Phone A (C libsrtp2) → gateway → phone B, then phone B → gateway → phone A, RTP and RTCP; every packet
 * out is the plain packet in, byte for byte, and the SRTP(C) on the wire has the suite's overhead.
 */
async function exchange(ue: UdpSrtpPeer, phone: PlainPhone, leg: Leg): Promise<void> {
  const { gwA, gwB, suite, rtcpMux } = leg;
  const up = overhead(suite, leg.ueMkiLength);
  const down = overhead(suite, leg.ours.mki?.length ?? 0);
  await ue.to(LO, gwA, rtcpMux ? gwA : gwA + 1);
  await ue.rxKey(leg.ours.keySalt, leg.ours.mki);

  // up: SRTP/SRTCP from the C program, plain out of the core side (each awaited before the next)
  const ueSsrc = 0x5eed0001;
  const rtps = rtpStream(ueSsrc, 4711);
  const rtcps = rtcpStream(ueSsrc, 0xb0b0b0b0, 'phone-a@access.example');
  let r = 0;
  for (const [i, plain] of rtps.entries()) {
    const sent = await ue.send('rtp', plain);
    assert.equal(sent, plain.length + up.rtp, `up RTP ${i}: SRTP adds ${up.rtp} octets`);
    const got = await phone.inbox.rtp.next(`up RTP ${i} at phone B`);
    assert.equal(
      got.data.toString('hex'),
      plain.toString('hex'),
      `up RTP ${i}: plain out of the core side, byte-identical`,
    );
    assert.equal(got.port, gwB, 'from the gateway’s core RTP port');
    if (i % 2 === 1 && r < rtcps.length) {
      const rtcp = rtcps[r++]!;
      const n = await ue.send('rtcp', rtcp);
      assert.equal(n, rtcp.length + up.rtcp, `up RTCP ${r}: SRTCP adds ${up.rtcp} octets`);
      const g = await phone.inbox.rtcp.next(`up RTCP ${r} at phone B`);
      assert.equal(g.data.toString('hex'), rtcp.toString('hex'), `up RTCP ${r}: plain out, byte-identical`);
      assert.equal(g.port, gwB + 1, 'from the gateway’s core RTCP port');
    }
  }
  assert.equal(r, rtcps.length);

  // down: plain into the core side, SRTP/SRTCP to the C program, which decrypts it
  const bSsrc = 0xb0b0b0b0;
  const downRtp = rtpStream(bSsrc, 30000);
  const downRtcp = rtcpStream(bSsrc, ueSsrc, 'phone-b@core.example');
  for (const [i, plain] of downRtp.entries()) {
    await phone.send('rtp', plain, gwB);
    if (i % 2 === 0 && i / 2 < downRtcp.length) await phone.send('rtcp', downRtcp[i / 2]!, gwB + 1);
  }
  const got = await ue.recv(downRtp.length + downRtcp.length, 5000);
  const failed = got.filter((g) => g.error !== undefined);
  assert.deepEqual(failed, [], 'phone A decrypts every packet (ERR <srtp_err_status_t> otherwise)');
  const ofKind = (k: UdpReceived['kind']): UdpReceived[] => got.filter((g) => g.kind === k);
  assert.deepEqual(
    ofKind('rtp').map((g) => g.data!.toString('hex')),
    downRtp.map((p) => p.toString('hex')),
    'down RTP: decrypted by libsrtp2 to the packets sent, in order',
  );
  assert.deepEqual(
    ofKind('rtcp').map((g) => g.data!.toString('hex')),
    downRtcp.map((p) => p.toString('hex')),
    'down RTCP: decrypted by libsrtp2 to the packets sent, in order',
  );
  for (const g of got) {
    assert.equal(
      g.port,
      g.kind === 'rtcp' && !rtcpMux ? gwA + 1 : gwA,
      `${g.kind} from the gateway’s access port`,
    );
    assert.equal(
      g.wireLength,
      g.data!.length + down[g.kind],
      `SRTP${g.kind === 'rtcp' ? 'C' : ''} adds ${down[g.kind]} octets`,
    );
  }
  assert.equal(phone.inbox.rtp.size + phone.inbox.rtcp.size, 0, 'nothing else reached phone B');
}

// ---- in-process gateway ---------------------------------------------------------------------------

describe('e2ae SRTP through a context: C libsrtp2 as the UE on the access side, plain RTP on the core side', () => {
  let h: (RelayHarness & { srtp: SrtpE2ae }) | undefined;

  before(() => {
    const srtp = new SrtpE2ae({ replayWindow: 128 });
    h = Object.assign(relayHarness(BASE, { security: srtp }), { srtp });
  });

  after(async () => {
    await h?.close();
  });

  async function call(t: TestContext, suite: SrtpSuite, withMki: boolean, rtcpMux = false): Promise<void> {
    const path = needPeer(t);
    if (path === undefined) return;
    const gw = h!;
    const ueKey = randomBytes(SUITE[suite].keySalt);
    const ueMki = withMki ? Buffer.from([0, 0, 0, 1]) : undefined;
    const ueLine = `1 ${suite} inline:${ueKey.toString('base64')}${withMki ? '|1:4' : ''}`;
    const template = `1 ${suite} inline:$${withMki ? '|2^20|2:4' : ''}`;
    const mux = rtcpMux ? 'a=rtcp-mux\n' : '';
    const ue = await UdpSrtpPeer.start(path, { suite, key: ueKey, mki: ueMki, rtcpMux });
    const phone = await PlainPhone.open();
    try {
      const r = await gw.tx(
        `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, ` +
          `Local { v=0\nc=IN IP4 $\nm=audio $ RTP/SAVP 0 8\n${mux}a=crypto:${template}\n }, ` +
          `Remote { v=0\nc=IN IP4 ${LO}\nm=audio ${ue.rtpPort} RTP/SAVP 0 8\n${mux}a=crypto:${ueLine}\n } } } }, ` +
          `Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, ` +
          `Local { v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0 8\n }, ` +
          `Remote { v=0\nc=IN IP4 ${LO}\nm=audio ${phone.port} RTP/AVP 0 8\n } } } } }`,
      );
      assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
      const [ca, cb] = commands(r);
      for (const c of [ca, cb]) assert.equal((c as { error?: unknown }).error, undefined, JSON.stringify(c));
      const localA = localOf(audit(ca));
      const ours = readCrypto(cryptoOf(localA));
      assert.equal(ours.tag, 1, 'the answer keeps the tag');
      assert.equal(ours.suite, suite, 'and the suite');
      assert.equal(ours.keySalt.length, SUITE[suite].keySalt, 'a key||salt of the suite’s length');
      assert.notEqual(ours.keySalt.toString('hex'), ueKey.toString('hex'), 'a key of its own');
      assert.equal(ours.lifetime, withMki ? '2^20' : undefined, 'the lifetime asked for');
      assert.equal(ours.mki?.toString('hex'), withMki ? '00000002' : undefined, 'the MKI asked for');
      await gw.plane.forwarder.settled?.();
      await exchange(ue, phone, {
        gwA: portOf(localA),
        gwB: portOf(localOf(audit(cb))),
        suite,
        ours,
        ueMkiLength: ueMki?.length ?? 0,
        rtcpMux,
      });
      assert.equal(gw.srtp.contexts, 2, 'one context each way');
      const s = await gw.tx(`Context = ${r[0]!.contextId as number} { Subtract = * }`);
      assert.equal(s[0]?.error, undefined, JSON.stringify(s[0]?.error));
      const st = statsOf(s);
      assert.equal(st['srtp/af'], 0, 'no authentication failure');
      assert.equal(st['srtp/rf'], 0, 'no replay failure');
      assert.equal(gw.srtp.contexts, 0, 'contexts freed with the streams');
    } finally {
      phone.close();
      await ue.close();
    }
  }

  for (const suite of SRTP_SUITES) {
    it(`${suite}: SRTP/SRTCP in ↔ RTP/RTCP out, byte-identical both ways`, (t) => call(t, suite, false));
    it(`${suite} with 4-octet MKIs (and a key lifetime on the gateway's key): byte-identical both ways`, (t) =>
      call(t, suite, true));
  }
  it('AES_CM_128_HMAC_SHA1_80 with a=rtcp-mux on the access side: SRTCP on the RTP port', (t) =>
    call(t, 'AES_CM_128_HMAC_SHA1_80', false, true));
});

// ---- the daemon, driven by examples/srtp-call.yaml ----------------------------------------------

describe('the daemon plays examples/srtp-call.yaml over H.248 with C libsrtp2 as phone A', () => {
  for (const [workers, base] of [
    [0, 24400],
    [2, 24600],
  ] as const) {
    it(
      `every step ok; media both ways byte-identical (relay ${workers === 0 ? 'on the main thread' : `on ${workers} workers`})`,
      { timeout: 90_000 },
      async (t) => {
        const path = needPeer(t);
        if (path === undefined) return;
        const script = parseScript(readFileSync(EXAMPLE, 'utf8'));
        // the example as it is, but for where the phones listen
        const ueLine = script.vars['phoneACrypto'];
        assert.ok(ueLine !== undefined, 'the example names phone A’s key in vars.phoneACrypto');
        const ue0 = readCrypto(ueLine);
        const suite = ue0.suite as SrtpSuite;
        assert.ok(SRTP_SUITES.includes(suite));
        const ue = await UdpSrtpPeer.start(path, { suite, key: ue0.keySalt, mki: ue0.mki });
        const phone = await PlainPhone.open();
        const gw = await startRegistered({
          sets: [
            `media.realms.access.ports=[${base}, ${base + 99}]`,
            `media.realms.core.ports=[${base + 100}, ${base + 199}]`,
            `media.workers=${workers}`,
          ],
        });
        try {
          const vars: Record<string, string> = {
            ...script.vars,
            phoneAPort: String(ue.rtpPort),
            phoneBPort: String(phone.port),
          };
          let mediaDone = false;
          let auditReply: unknown;
          for (const step of script.steps) {
            assert.ok(step.request !== undefined, `${step.name}: a request step`);
            if (!mediaDone && step.request.includes('AuditValue')) {
              // both Modify steps are through: the call is up
              assert.equal(vars['accessAddress'], LO);
              const ours = readCrypto(vars['accessCrypto']!);
              assert.equal(ours.suite, suite);
              assert.equal(ours.tag, ue0.tag, 'the tag of phone A’s line');
              await exchange(ue, phone, {
                gwA: Number(vars['accessPort']),
                gwB: Number(vars['corePort']),
                suite,
                ours,
                ueMkiLength: ue0.mki?.length ?? 0,
                rtcpMux: false,
              });
              mediaDone = true;
            }
            const outcome = await gw.mgc.request(fillPlaceholders(step.request, vars), {
              raw: step.raw,
              timeoutMs: step.timeoutMs ?? script.timeoutMs ?? 5000,
            });
            const why = checkExpectation(step.expect, outcome.errors);
            assert.equal(why, undefined, `step "${step.name}": ${why}\ndaemon stderr: ${gw.daemon.stderr}`);
            for (const [name, p] of Object.entries(step.capture)) {
              const v = capturePath(outcome.reply, p);
              assert.ok(v !== undefined, `step "${step.name}": nothing at ${p}`);
              vars[name] = v;
            }
            if (step.request.includes('AuditValue')) auditReply = outcome.reply;
          }
          assert.ok(mediaDone, 'the example has an AuditValue step after the call is up');
          const audited = capturePath(auditReply, 'actions[0].commands[0]..statistics');
          assert.ok(audited !== undefined, 'AuditValue answers statistics');
          const stats = Object.fromEntries(
            (JSON.parse(audited) as Array<{ name: string; value: unknown }>).map((s) => [
              s.name,
              String(s.value),
            ]),
          );
          assert.equal(stats['srtp/af'], '0', `no authentication failure: ${audited}`);
          assert.equal(stats['srtp/rf'], '0', `no replay failure: ${audited}`);
          assert.equal(
            stats['rtp/pr'],
            String(RTP_EACH_WAY),
            `RTP packets received from phone A: ${audited}`,
          );
          assert.equal(stats['rtp/ps'], String(RTP_EACH_WAY), `RTP packets sent to phone A: ${audited}`);
        } finally {
          phone.close();
          await ue.close();
          const code = await gw.close();
          assert.equal(code, 0, `the daemon stops cleanly; stderr: ${gw.daemon.stderr}`);
        }
      },
    );
  }
});
