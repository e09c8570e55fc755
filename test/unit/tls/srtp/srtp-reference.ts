/**
 * A second, independent SRTP/SRTCP sender written from the RFCs on node:crypto (OpenSSL inside
 * Node), used by the tests as a known-answer oracle for what libsrtp2 must produce:
 *   RFC 3711 §4.3 key derivation (AES-CM PRF, key derivation rate 0), §4.1.1 AES-CM, §4.2 HMAC-SHA1,
 *   §3.4 SRTCP (E flag + index); RFC 7714 §8–§9 (AES-GCM IV, AAD) and §11 (KDF with a 96-bit salt
 *   padded to 112 bits); RFC 4568 §6.2.2 (SRTCP keeps the 80-bit tag in _32 suites).
 * Slow and simple on purpose; not used by the daemon.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import { SRTP_SUITE_INFO } from '../../../../daemon/tls/srtp/suites.js';
import type { SrtpSuite } from '../../../../daemon/tls/srtp/suites.js';

const LABEL = { rtpEnc: 0, rtpAuth: 1, rtpSalt: 2, rtcpEnc: 3, rtcpAuth: 4, rtcpSalt: 5 } as const;

export interface RefOptions {
  unencryptedSrtp?: boolean;
  unencryptedSrtcp?: boolean;
  unauthenticatedSrtp?: boolean;
  mki?: Uint8Array;
}

function aesCtr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer {
  const c = createCipheriv(key.length === 32 ? 'aes-256-ctr' : 'aes-128-ctr', key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

/** RFC 3711 §4.3.1 with r = 0: AES-CM keystream under the master key at IV = (salt ^ label<<48) * 2^16. */
export function kdf(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(iv, 0); // 12-octet AEAD salts are padded with zeros (RFC 7714 §11)
  iv[7] = (iv[7] as number) ^ label;
  return aesCtr(masterKey, iv, Buffer.alloc(length));
}

/** RFC 3711 §4.1.1 AES-CM keystream: IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
export function aesCmKeystream(
  sessionKey: Uint8Array,
  sessionSalt: Uint8Array,
  ssrc: number,
  index: bigint,
  length: number,
): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(sessionSalt).copy(iv, 0);
  const x = Buffer.alloc(16);
  x.writeUInt32BE(ssrc >>> 0, 4);
  x.writeBigUInt64BE(index << 16n, 8);
  for (let i = 0; i < 16; i++) iv[i] = (iv[i] as number) ^ (x[i] as number);
  return aesCtr(sessionKey, iv, Buffer.alloc(length));
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number);
  return out;
}

interface SessionKeys {
  enc: Buffer;
  auth: Buffer;
  salt: Buffer;
}

export class ReferenceSender {
  readonly suite: SrtpSuite;
  readonly opts: RefOptions;
  readonly rtp: SessionKeys;
  readonly rtcp: SessionKeys;

  constructor(suite: SrtpSuite, masterKey: Uint8Array, masterSalt: Uint8Array, opts: RefOptions = {}) {
    const info = SRTP_SUITE_INFO[suite];
    this.suite = suite;
    this.opts = opts;
    const saltLen = info.aead ? 12 : 14;
    this.rtp = {
      enc: kdf(masterKey, masterSalt, LABEL.rtpEnc, info.keyLength),
      auth: kdf(masterKey, masterSalt, LABEL.rtpAuth, 20),
      salt: kdf(masterKey, masterSalt, LABEL.rtpSalt, saltLen),
    };
    this.rtcp = {
      enc: kdf(masterKey, masterSalt, LABEL.rtcpEnc, info.keyLength),
      auth: kdf(masterKey, masterSalt, LABEL.rtcpAuth, 20),
      salt: kdf(masterKey, masterSalt, LABEL.rtcpSalt, saltLen),
    };
  }

  private mki(): Buffer {
    return Buffer.from(this.opts.mki ?? new Uint8Array(0));
  }

  /** SRTP for an RTP packet with the given ROC (the sequence number is read from the header). */
  protectRtp(rtp: Uint8Array, roc: number): Buffer {
    const pkt = Buffer.from(rtp);
    const cc = (pkt[0] as number) & 0x0f;
    let hdrLen = 12 + 4 * cc;
    if (((pkt[0] as number) & 0x10) !== 0) hdrLen += 4 + 4 * pkt.readUInt16BE(hdrLen + 2);
    const header = pkt.subarray(0, hdrLen);
    const payload = pkt.subarray(hdrLen);
    const seq = pkt.readUInt16BE(2);
    const ssrc = pkt.readUInt32BE(8);
    const info = SRTP_SUITE_INFO[this.suite];

    if (info.aead) {
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(ssrc, 2);
      iv.writeUInt32BE(roc, 6);
      iv.writeUInt16BE(seq, 10);
      for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (this.rtp.salt[i] as number);
      const c = createCipheriv(
        this.suite === 'AEAD_AES_256_GCM' ? 'aes-256-gcm' : 'aes-128-gcm',
        this.rtp.enc,
        iv,
      );
      c.setAAD(header);
      const ct = Buffer.concat([c.update(payload), c.final()]);
      return Buffer.concat([header, ct, c.getAuthTag(), this.mki()]);
    }

    let body: Buffer = Buffer.from(payload);
    if (this.opts.unencryptedSrtp !== true) {
      const index = BigInt(roc) * 65536n + BigInt(seq);
      body = xor(payload, aesCmKeystream(this.rtp.enc, this.rtp.salt, ssrc, index, payload.length));
    }
    const authed = Buffer.concat([header, body]);
    if (this.opts.unauthenticatedSrtp === true) return Buffer.concat([authed, this.mki()]);
    const rocBuf = Buffer.alloc(4);
    rocBuf.writeUInt32BE(roc, 0);
    const tag = createHmac('sha1', this.rtp.auth)
      .update(authed)
      .update(rocBuf)
      .digest()
      .subarray(0, info.srtpTagLength);
    return Buffer.concat([authed, this.mki(), tag]);
  }

  /** SRTCP for an RTCP packet with the given SRTCP index. */
  protectRtcp(rtcp: Uint8Array, index: number): Buffer {
    const pkt = Buffer.from(rtcp);
    const header = pkt.subarray(0, 8);
    const payload = pkt.subarray(8);
    const ssrc = pkt.readUInt32BE(4);
    const info = SRTP_SUITE_INFO[this.suite];
    const encrypt = info.aead || this.opts.unencryptedSrtcp !== true;
    const eIndex = Buffer.alloc(4);
    eIndex.writeUInt32BE(((encrypt ? 0x80000000 : 0) | index) >>> 0, 0);

    if (info.aead) {
      const iv = Buffer.alloc(12);
      iv.writeUInt32BE(ssrc, 2);
      iv.writeUInt32BE(index & 0x7fffffff, 8);
      for (let i = 0; i < 12; i++) iv[i] = (iv[i] as number) ^ (this.rtcp.salt[i] as number);
      const c = createCipheriv(
        this.suite === 'AEAD_AES_256_GCM' ? 'aes-256-gcm' : 'aes-128-gcm',
        this.rtcp.enc,
        iv,
      );
      c.setAAD(Buffer.concat([header, eIndex]));
      const ct = Buffer.concat([c.update(payload), c.final()]);
      return Buffer.concat([header, ct, c.getAuthTag(), eIndex, this.mki()]);
    }

    let body: Buffer = Buffer.from(payload);
    if (encrypt) {
      body = xor(payload, aesCmKeystream(this.rtcp.enc, this.rtcp.salt, ssrc, BigInt(index), payload.length));
    }
    const authed = Buffer.concat([header, body, eIndex]);
    const tag = createHmac('sha1', this.rtcp.auth).update(authed).digest().subarray(0, info.srtcpTagLength);
    return Buffer.concat([authed, this.mki(), tag]);
  }
}
