/** The gateway model without the command layer. Ports 26200-26399 belong to this file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigOrThrow } from '../../../config/loader.js';
import { parseSdp } from '../../../daemon/control/codec/sdp.js';
import { MediaGateway } from '../../../daemon/mg/index.js';
import { isTrgwdError } from '../../../daemon/errors.js';
import { EventBus, type StampedEvent } from '../../../daemon/observe/events.js';
import { createMetrics } from '../../../daemon/observe/metrics.js';

const LO = '127.0.0.1';

function gateway(extra: { maxContexts?: number } = {}) {
  const bus = new EventBus();
  const events: StampedEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const metrics = createMetrics({ defaultMetrics: false });
  const mg = new MediaGateway({
    realms: { a: { address: LO, ports: [26200, 26299] }, b: { address: LO, ports: [26300, 26399], advertise: '198.51.100.1' } },
    defaultRealm: 'b',
    maxContexts: extra.maxContexts ?? 10,
    maxTerminationsPerContext: 2,
    events: bus,
    metrics,
  });
  return { mg, events, metrics };
}

test('contexts and terminations: limits (510, 434), events, gauges, deletion with the last termination', async () => {
  const { mg, events, metrics } = gateway({ maxContexts: 1 });
  try {
    const ctx = mg.createContext();
    assert.throws(() => mg.createContext(), (e) => isTrgwdError(e, 'ERR_RESOURCE_LIMIT'));
    const t1 = mg.newTermination();
    const prepared = await t1.prepare({ streams: [{ id: 1, local: parseSdp('v=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n') }] });
    prepared.commit();
    mg.attach(t1, ctx);
    assert.equal(t1.realm, 'b');
    assert.match(prepared.localReplies.get(1)![0]!.toString(), /c=IN IP4 198\.51\.100\.1/);
    const t2 = mg.newTermination('a');
    mg.attach(t2, ctx);
    assert.throws(() => mg.attach(mg.newTermination(), ctx), (e) => isTrgwdError(e, 'ERR_MG_TOO_MANY_TERMINATIONS'));
    assert.match(await metrics.registry.metrics(), /trgwd_ports_in_use\{realm="b"\} 2/);
    await mg.subtract(t1);
    assert.equal(t1.closed, true);
    assert.equal(mg.ports('b')!.counters.udpPortsInUse, 0);
    assert.match(await metrics.registry.metrics(), /trgwd_ports_in_use\{realm="b"\} 0/);
    assert.equal(mg.context(ctx.id), ctx);
    await mg.subtract(t2);
    assert.equal(mg.context(ctx.id), undefined);
    assert.equal(ctx.deleted, true);
    assert.deepEqual(
      events.map((e) => e.type),
      ['context.created', 'termination.created', 'termination.created', 'termination.deleted', 'termination.deleted', 'context.deleted'],
    );
    // the limit counts live contexts only
    const again = mg.createContext();
    mg.discardIfEmpty(again);
    assert.equal(mg.contextCount, 0);
    assert.equal(events.length, 6, 'a context that never had a termination is not announced');
  } finally {
    await mg.close();
  }
});

test('close() deletes every context, releases every port and is idempotent', async () => {
  const { mg } = gateway();
  const ctx = mg.createContext();
  const t = mg.newTermination('a');
  (await t.prepare({ streams: [{ id: 1, local: parseSdp('m=audio $ RTP/AVP 0\n') }, { id: 2, local: parseSdp('m=image $ udptl t38\n') }] })).commit();
  mg.attach(t, ctx);
  assert.equal(mg.ports('a')!.counters.udpPortsInUse, 4);
  await Promise.all([mg.close(), mg.close()]);
  assert.equal(mg.contextCount, 0);
  assert.equal(t.closed, true);
  assert.equal(mg.ports('a')!.counters.udpPortsInUse, 0);
  assert.throws(() => mg.createContext(), (e) => isTrgwdError(e, 'ERR_RESOURCE_LIMIT'));
  t.close(); // idempotent
});

test('fromConfig: realms, limits, ROOT properties and aliases from the configuration', async () => {
  const config = loadConfigOrThrow({
    env: {},
    sets: ['media.realms.x.address=127.0.0.1', 'media.realms.x.ports=[26390,26399]', 'media.defaultRealm=x', 'limits.maxContexts=7', 'h248.aliases={"ipnapt/l":"ipnapt/latch"}'],
  });
  const mg = MediaGateway.fromConfig(config);
  try {
    assert.equal(mg.defaultRealm, 'x');
    assert.equal(mg.root.property('root/maxNumberOfContexts')?.value, 7);
    assert.equal(mg.root.property('root/MGProvisionalResponseTimerValue')?.value, config.control.timers.provisionalResponseMs);
    assert.equal(mg.registry.property('ipnapt/l').name, 'ipnapt/latch');
    assert.throws(() => new MediaGateway({ realms: {}, defaultRealm: 'nope', maxContexts: 1, maxTerminationsPerContext: 2 }));
  } finally {
    await mg.close();
  }
});
