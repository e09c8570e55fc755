/**
 * e2ae SRTP through a context (PROFILE §4, §9): the access side speaks SRTP keyed by SDES, the core
 * side plain RTP; the gateway model, the UDP relay and the SRTP termination on loopback, the peers'
 * SRTP done with our libsrtp2 binding (checked byte for byte against C libsrtp2 in
 * test/interop/srtp-libsrtp.test.ts). Port range 23000-23999 (BASE + 200·i per test).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrtpE2ae } from '../../daemon/tls/srtp/e2ae.js';
import { parseCryptoAttr, generateInline, cryptoToSessionParams } from '../../daemon/tls/srtp/crypto-attr.js';
import { SrtpSession, type SrtpSuite } from '../../daemon/tls/srtp/session.js';
import { nativeAvailable } from '../../daemon/tls/srtp/binding.js';
import { parseSdp } from '../../daemon/control/codec/sdp.js';
import { rtp } from '../unit/bearer/udp/packets.js';
import { Peer } from '../unit/bearer/udp/peer.js';
import { commands, audit, localOf } from '../unit/control/commands/harness.js';
import { relayHarness, statsOf, type RelayHarness } from './udp-call.js';

const BASE = 23000;
const skip = nativeAvailable() ? false : 'native addon not built (npm run build:native)';

function harness(base: number, opts: { relatchPackets?: number } = {}): RelayHarness & { srtp: SrtpE2ae } {
  const srtp = new SrtpE2ae({ replayWindow: 128 });
  const h = relayHarness(base, { security: srtp, ...opts });
  return Object.assign(h, { srtp });
}

/** The peer's key: a=crypto line text and its sessions (what the UE would hold). */
function peerKey(suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80', tag = 1): string {
  return `${tag} ${suite} ${generateInline(suite)}`;
}

/** The crypto line the gateway answered in a reply's Local (first command by default). */
function answeredCrypto(r: Awaited<ReturnType<RelayHarness['tx']>>, i = 0): string {
  const sdp = parseSdp(localOf(audit(commands(r)[i]))!);
  const v = sdp[0]!.media[0]!.getAttribute('crypto');
  assert.ok(v !== undefined, 'Local has a=crypto');
  return v;
}

function session(dir: 'inbound' | 'outbound', line: string): SrtpSession {
  return new SrtpSession(dir, cryptoToSessionParams(parseCryptoAttr(line)));
}

function protect(s: SrtpSession, pkt: Buffer): Buffer {
  const b = Buffer.alloc(pkt.length + 64);
  pkt.copy(b);
  const n = s.protectRtp(b, pkt.length);
  assert.ok(n > 0, `protect ${n}`);
  return b.subarray(0, n);
}

function unprotect(s: SrtpSession, pkt: Buffer): Buffer | number {
  const b = Buffer.from(pkt);
  const n = s.unprotectRtp(b, b.length);
  return n < 0 ? n : b.subarray(0, n);
}

test('SRTP access ↔ RTP core: Local inline:$ is generated; media both ways byte-identical', { skip }, async () => {
  const h = harness(BASE);
  const [pa, pb] = await Promise.all([Peer.open(), Peer.open()]);
  const ue = peerKey();
  try {
    const r = await h.tx(
      `Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, ` +
        `Local { v=0\nc=IN IP4 $\nm=audio $ RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$\n }, ` +
        `Remote { v=0\nc=IN IP4 127.0.0.1\nm=audio ${pa.port} RTP/SAVP 0\na=crypto:${ue}\n } } } }, ` +
        `Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, ` +
        `Local { v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n }, ` +
        `Remote { v=0\nc=IN IP4 127.0.0.1\nm=audio ${pb.port} RTP/AVP 0\n } } } } }`,
    );
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    const ours = answeredCrypto(r);
    assert.match(ours, /^1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    const [ca, cb] = commands(r);
    const gwA = Number(/m=audio (\d+)/.exec(localOf(audit(ca))!)![1]);
    const gwB = Number(/m=audio (\d+)/.exec(localOf(audit(cb))!)![1]);
    const ueTx = session('outbound', ue);
    const ueRx = session('inbound', ours);
    for (let seq = 1; seq <= 5; seq++) {
      const plain = rtp({ seq, payload: 160 });
      await pa.send(protect(ueTx, plain), gwA);
      const got = await pb.next();
      assert.deepEqual(got.data, plain, 'plain RTP out of the core side, byte-identical');
      const back = rtp({ seq: 100 + seq, payload: 160, ssrc: 0x5555 });
      await pb.send(back, gwB);
      const srtp = (await pa.next()).data;
      assert.equal(srtp.length, back.length + 10, 'an 80-bit tag added');
      assert.deepEqual(unprotect(ueRx, srtp), back);
    }
    assert.equal(h.srtp.contexts, 2);
    const s = await h.tx(`Context = ${r[0]!.contextId as number} { Subtract = * }`);
    assert.equal(statsOf(s)['srtp/af'], 0);
    assert.equal(h.srtp.contexts, 0, 'contexts freed with the stream');
    ueTx.destroy();
    ueRx.destroy();
  } finally {
    pa.close();
    pb.close();
    await h.close();
  }
});
