/**
 * The UDP relay in the real daemon, on the main thread and on worker threads: `trgwd start`
 * registered with a controller (daemon/cli/mgc.ts), Add with Local $ and Remote, Modify with the other
 * Remote, RTP relayed both ways, statistics in the Subtract reply and the media counters on /metrics. Realm ports 28800-28999 belong to this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TransactionReply } from '../../daemon/control/codec/model.js';
import { amm, audit, localOf, portOf } from '../unit/control/commands/harness.js';
import { rtp } from '../unit/bearer/udp/packets.js';
import { Peer } from '../unit/bearer/udp/peer.js';
import { eventually, startRegistered } from '../helpers/daemon.js';
import { remoteSdp } from './udp-call.js';

const REALMS =
  'media.realms={access: {address: "127.0.0.1", ports: [28800, 28899]}, core: {address: "127.0.0.1", ports: [28900, 28999]}}';

function ok(reply: TransactionReply | undefined): TransactionReply {
  assert.ok(reply !== undefined, 'a reply');
  for (const a of reply.actions ?? []) assert.equal(a.error, undefined, JSON.stringify(a.error));
  return reply;
}

for (const workers of [0, 2]) {
  test(
    `trgwd start (media.workers=${workers}) + controller: Add/Modify with Remote, then RTP relayed both ways; statistics and metrics`,
    { timeout: 60_000 },
    async () => {
      const reg = await startRegistered({
        sets: [REALMS, 'media.statsFlushMs=100', `media.workers=${workers}`],
        logLevel: 'info',
      });
      const where = await reg.daemon.waitLog((l) => l.msg === 'udp relay ready');
      assert.equal(where['where'], workers === 0 ? 'main thread' : `${workers} worker threads`);
      const pa = await Peer.open();
      const pb = await Peer.open();
      try {
        const local = 'v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 8\n';
        const add = ok(
          (
            await reg.mgc.request(`Context = $ {
          Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = access }, Local { ${local} }, Remote { ${remoteSdp(pa.port, { proto: 'RTP/AVP 8' })} } } } },
          Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = core }, Local { ${local} } } } } }`)
          ).reply,
        );
        const action = add.actions![0]!;
        const ctx = action.contextId;
        const [ca, cb] = action.commands!;
        const gwA = portOf(localOf(audit(ca)));
        const gwB = portOf(localOf(audit(cb)));
        assert.ok(gwA >= 28800 && gwA <= 28899, `access port ${gwA}`);
        assert.ok(gwB >= 28900 && gwB <= 28999, `core port ${gwB}`);
        const b = amm(cb).terminationId;
        ok(
          (
            await reg.mgc.request(
              `Context = ${ctx} { Modify = ${b} { Media { Stream = 1 { Remote { ${remoteSdp(pb.port, { proto: 'RTP/AVP 8' })} } } } } }`,
            )
          ).reply,
        );
        // the relay worker binds the ports right after the reply: send, like a phone would, until
        // media comes through; warm-up packets that arrive count in the statistics
        let warm = 0;
        let seq = 400;
        for (let i = 0; warm === 0 && i < 50; i++) {
          await pa.send(rtp({ seq: seq++, pt: 8 }), gwA);
          warm += await pb.next(100).then(
            () => 1,
            () => 0,
          );
        }
        assert.equal(warm, 1, 'media comes through');
        warm += (await pb.settle()).length;
        const sent = Array.from({ length: 10 }, () => rtp({ seq: seq++, pt: 8 }));
        for (const p of sent) await pa.send(p, gwA);
        const got = await pb.take(10);
        assert.deepEqual(
          got.map((g) => g.data),
          sent,
        );
        assert.ok(got.every((g) => g.port === gwB));
        await pb.send(rtp({ seq: 1, pt: 8 }), gwB);
        assert.equal((await pa.next()).port, gwA);
        await eventually(
          async () =>
            (await reg.daemon.metric('trgwd_media_packets_total', {
              realm: 'access',
              protocol: 'rtp',
              direction: 'rx',
            })) ===
            10 + warm
              ? true
              : undefined,
          5000,
          'media counters on /metrics',
        );
        assert.equal(
          await reg.daemon.metric('trgwd_media_packets_total', {
            realm: 'core',
            protocol: 'rtp',
            direction: 'tx',
          }),
          10 + warm,
        );
        const sub = ok(
          (await reg.mgc.request(`Context = ${ctx} { Subtract = ${amm(ca).terminationId} }`)).reply,
        );
        const stats = Object.fromEntries(
          (audit(sub.actions![0]!.commands![0])?.statistics ?? []).map((s) => [s.name, Number(s.value)]),
        );
        assert.equal(stats['rtp/pr'], 10 + warm);
        assert.equal(stats['rtp/ps'], 1);
        assert.equal(stats['nt/or'], (10 + warm) * 172);
        // warm-up packets lost before the worker listened come before the first one received: no loss
        assert.equal(stats['rtp/pl'], 0);
      } finally {
        pa.close();
        pb.close();
        assert.equal(await reg.close(), 0);
      }
    },
  );
}
