/** Termination and Context on their own. Ports 26400-26499 belong to this file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../../daemon/control/codec/sdp.js';
import type { NotifyRequestOut } from '../../../daemon/control/handler.js';
import { Context } from '../../../daemon/mg/context.js';
import { MediaGateway } from '../../../daemon/mg/index.js';
import { isTrgwdError } from '../../../daemon/errors.js';

function gateway(): { mg: MediaGateway; sent: NotifyRequestOut[] } {
  const sent: NotifyRequestOut[] = [];
  const mg = new MediaGateway({
    realms: { a: { address: '127.0.0.1', ports: [26400, 26499] } },
    defaultRealm: 'a',
    maxContexts: 5,
    maxTerminationsPerContext: 3,
    link: { registered: true, notify: async (n) => void sent.push(n), serviceChange: async () => {} },
  });
  return { mg, sent };
}

test('prepare/abort leaves the live state and the ports untouched; commit swaps them in', async () => {
  const { mg } = gateway();
  try {
    const t = mg.newTermination();
    const p = await t.prepare({ streams: [{ id: 1, local: parseSdp('m=audio $ RTP/AVP 0\n') }] });
    assert.equal(t.streams.size, 0);
    assert.equal(mg.ports('a')!.counters.rtpPairsInUse, 1);
    await p.abort();
    assert.equal(mg.ports('a')!.counters.rtpPairsInUse, 0);
    p.commit(); // after abort: no effect
    assert.equal(t.streams.size, 0);
    const q = await t.prepare({ streams: [{ id: 1, local: parseSdp('m=audio $ RTP/AVP 0\n'), localControl: { mode: 'sendRecv', properties: [] } }] });
    q.commit();
    assert.equal(t.streams.get(1)!.mode, 'sendRecv');
    assert.equal(t.ports.length, 1);
    t.close();
    t.close();
    await t.released;
    assert.equal(mg.ports('a')!.counters.rtpPairsInUse, 0);
    await assert.rejects(t.prepare({}), (e) => isTrgwdError(e, 'ERR_MG_UNKNOWN_TERMINATION'));
  } finally {
    await mg.close();
  }
});

test('a new LocalControl replaces the old one (H.248.1 §7.1.7): mode back to Inactive when left out', async () => {
  const { mg } = gateway();
  try {
    const t = mg.newTermination();
    (await t.prepare({ streams: [{ id: 1, localControl: { mode: 'sendRecv', properties: [] } }] })).commit();
    (await t.prepare({ streams: [{ id: 1, localControl: { properties: [] } }] })).commit();
    assert.equal(t.streams.get(1)!.mode, 'inactive');
    // no LocalControl at all: everything retained (§7.1.1)
    (await t.prepare({ streams: [{ id: 1, localControl: { mode: 'sendOnly', properties: [] } }] })).commit();
    (await t.prepare({ streams: [{ id: 1 }] })).commit();
    assert.equal(t.streams.get(1)!.mode, 'sendOnly');
    t.close();
  } finally {
    await mg.close();
  }
});

test('raise(): a Notify only for requested events, with the controller spelling, RequestID and context', async () => {
  const { mg, sent } = gateway();
  try {
    const ctx = mg.createContext();
    const t = mg.newTermination();
    mg.attach(t, ctx);
    assert.equal(t.raise('g/cause', { Generalcause: 'FT' }), false, 'not requested');
    const requested = { name: 'G/Cause' };
    (await t.prepare({ events: { requestId: 4, events: [{ name: 'g/cause', params: {}, requested }] } })).commit();
    assert.equal(t.raise('g/cause', { Generalcause: 'FT', Failurecause: 'peer gone' }), true);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.contextId, ctx.id);
    assert.equal(sent[0]!.requestId, 4);
    assert.equal(sent[0]!.events[0]!.name, 'G/Cause');
    assert.deepEqual(sent[0]!.events[0]!.params, [
      { name: 'Generalcause', relation: '=', value: 'FT' },
      { name: 'Failurecause', relation: '=', value: '"peer gone"' },
    ]);
    await mg.subtract(t);
    assert.equal(t.raise('g/cause', { Generalcause: 'NR' }), false, 'closed');
  } finally {
    await mg.close();
  }
});

test('topology: default bothway, oneway from the first to the second, isolate, stream-specific wins', () => {
  const c = new Context(1, 0);
  assert.equal(c.flows('ip/1', 'ip/2'), true);
  c.setTopology([{ from: 'ip/1', to: 'ip/2', direction: 'oneway' }]);
  assert.equal(c.flows('ip/1', 'ip/2'), true);
  assert.equal(c.flows('ip/2', 'ip/1'), false);
  c.setTopology([{ from: 'IP/2', to: 'ip/1', direction: 'isolate' }]);
  assert.equal(c.topology.length, 1, 'the same pair (either order) is replaced');
  assert.equal(c.flows('ip/1', 'ip/2'), false);
  c.setTopology([{ from: 'ip/1', to: 'ip/2', direction: 'bothway', stream: 2 }]);
  assert.equal(c.flows('ip/1', 'ip/2', 2), true);
  assert.equal(c.flows('ip/1', 'ip/2', 1), false);
  c.forget('ip/2');
  assert.equal(c.topology.length, 0);
});
