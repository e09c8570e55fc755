import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfigOrThrow } from '../../../config/loader.js';
import { parseSdp } from '../../../daemon/control/codec/sdp.js';
import { toH248Error } from '../../../daemon/control/errors.js';
import { isTrgwdError } from '../../../daemon/errors.js';
import { generateSelfSigned } from '../../../daemon/tls/certificate.js';
import { TLS_DEFAULTS, TlsMedia } from '../../../daemon/tls/tls-media.js';
import { ID_A, media } from './tls-helpers.js';

const sdp = (lines: string[]) => parseSdp(lines.join('\r\n') + '\r\n');

describe('TlsMedia', () => {
  it('TLS_DEFAULTS are the schema defaults of config.tls', () => {
    const c = loadConfigOrThrow({ env: {} });
    assert.deepEqual({ ...c.tls }, { ...TLS_DEFAULTS });
  });

  it('generates a certificate with the configured lifetime when no files are given', () => {
    const m = new TlsMedia({ ...TLS_DEFAULTS, generatedCertDays: 7 });
    assert.equal(m.identity.generated, true);
    const days = (new Date(m.identity.certificate.validTo).getTime() - Date.now()) / 86400_000;
    assert.ok(days > 6.9 && days <= 7, String(days));
    assert.equal(m.fingerprint(), m.identity.certificate.fingerprint256);
  });

  it('loads tls.certFile/tls.keyFile; one without the other is ERR_TLS_CERT', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trgwd-tls-'));
    const g = generateSelfSigned({ days: 1 });
    writeFileSync(join(dir, 'c.pem'), g.certPem);
    writeFileSync(join(dir, 'k.pem'), g.keyPem);
    const m = new TlsMedia({ ...TLS_DEFAULTS, certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') });
    assert.equal(m.identity.generated, false);
    assert.throws(() => new TlsMedia({ ...TLS_DEFAULTS, certFile: join(dir, 'c.pem') }), (e: unknown) => isTrgwdError(e, 'ERR_TLS_CERT'));
  });

  it('prepareStream fills Local, checks Remote, keeps no state', () => {
    const m = media(ID_A);
    const local = sdp(['v=0', 'c=IN IP4 192.0.2.1', 'm=message 31000 TCP/TLS/MSRP *', 'a=setup:passive', 'a=fingerprint:SHA-256 $']);
    const remote = sdp(['v=0', 'c=IN IP4 198.51.100.7', 'm=message 9 TCP/TLS/MSRP *', 'a=setup:active', 'a=fingerprint:SHA-256 4A:AD']);
    m.prepareStream(local, remote);
    assert.ok(local[0]!.toString().includes(`a=fingerprint:SHA-256 ${ID_A.fingerprint()}`));
    assert.equal(m.active, 0);
    m.prepareStream(undefined, undefined);
    assert.throws(
      () => m.prepareStream(undefined, sdp(['v=0', 'm=message 9 TCP/TLS/MSRP *'])),
      (e: unknown) => toH248Error(e).code === 472,
    );
  });

  it('prepareStream answers 510 at tls.maxConnections', () => {
    const m = new TlsMedia({ ...TLS_DEFAULTS, maxConnections: 1 }, { identity: ID_A });
    m.prepareStream(undefined, undefined);
    void m.close();
    assert.throws(() => m.prepareStream(undefined, undefined), (e: unknown) => toH248Error(e).code === 510);
  });
});
