import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DTLS_CONFIG, DtlsEngine } from '../../../../daemon/tls/dtls/engine.js';
import { loadConfigOrThrow } from '../../../../config/loader.js';
import { createMetrics } from '../../../../daemon/observe/metrics.js';
import { metricValue } from '../../../helpers/daemon.js';
import { DtlsSide, Watch, identity, skipWithoutDtls } from './helpers.js';

const skip = skipWithoutDtls();

describe('DtlsEngine', { skip }, () => {
  it('handshake slots: dtls.maxHandshakes overall, dtls.maxHandshakesPerSource for the server role', () => {
    const e = new DtlsEngine({
      identity: identity(),
      config: { maxHandshakes: 3, maxHandshakesPerSource: 2 },
    });
    try {
      assert.equal(e.reserve('10.0.0.1', 'server'), true);
      assert.equal(e.reserve('10.0.0.1', 'server'), true);
      assert.equal(e.reserve('10.0.0.1', 'server'), false); // per source
      assert.equal(e.reserve('10.0.0.1', 'client'), true); // our own client handshakes: overall cap only
      assert.equal(e.reserve('10.0.0.2', 'server'), false); // overall
      assert.equal(e.handshakesInProgress, 3);
      e.unreserve('10.0.0.1');
      assert.equal(e.reserve('10.0.0.2', 'server'), true);
      assert.equal(e.handshakesFrom('10.0.0.1'), 2);
    } finally {
      e.close();
    }
  });

  it('a bad identity is ERR_DTLS_CONFIG', () => {
    const id = identity();
    assert.throws(
      () =>
        new DtlsEngine({
          identity: { certPem: id.certPem, keyPem: identity().keyPem, fingerprint: () => '' },
        }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_DTLS_CONFIG',
    );
  });

  it('handshakes, records and bytes reach the trgwd_dtls_* metrics', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const watch = new Watch();
    const sid = identity();
    const cid = identity();
    const engine = new DtlsEngine({ identity: sid, metrics, config: { retransmitInitialMs: 100 } });
    const s = await DtlsSide.create({
      watch,
      engine,
      endpoint: { role: 'server', pins: [{ hash: 'sha-256', value: cid.fingerprint() }] },
    });
    const c = await DtlsSide.create({
      watch,
      identity: cid,
      endpoint: { role: 'client', pins: [{ hash: 'sha-256', value: sid.fingerprint() }] },
    });
    try {
      c.ep.connect('127.0.0.1', s.port);
      await watch.until(() => s.established.length === 1 && c.established.length === 1, 5000, 'established');
      const d = Buffer.alloc(100, 7);
      c.ep.send(d, d.length);
      c.ep.send(d, 50);
      await watch.until(() => s.data.length === 2, 5000, 'data');
      engine.flushMetrics();
      const text = await metrics.registry.metrics();
      assert.equal(
        metricValue(text, 'trgwd_dtls_handshakes_total', { role: 'server', result: 'ok', reason: 'none' }),
        1,
      );
      assert.equal(metricValue(text, 'trgwd_dtls_records_total', { direction: 'rx' }), 2);
      assert.equal(metricValue(text, 'trgwd_dtls_bytes_total', { direction: 'rx' }), 150);
      assert.equal(metricValue(text, 'trgwd_dtls_hello_verify_requests_total'), 1);
      assert.equal(metricValue(text, 'trgwd_dtls_associations'), 1);
      assert.equal(metricValue(text, 'trgwd_dtls_handshakes_in_progress'), 0);
    } finally {
      await c.close();
      await s.close();
      engine.close();
    }
  });
});

describe('DEFAULT_DTLS_CONFIG', () => {
  it('is what the configuration schema gives dtls.* by default (one set of defaults)', () => {
    assert.deepEqual({ ...DEFAULT_DTLS_CONFIG }, loadConfigOrThrow().dtls);
  });
});
