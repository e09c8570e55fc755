/**
 * The command layer driven with decoded H.248 text against a real MediaGateway (ports really bound on
 * 127.0.0.1). Port ranges 27000-27599 belong to this file; tests in a file run one after the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditReply, ServiceChangeReply } from '../../../../daemon/control/codec/model.js';
import {
  amm,
  audit,
  commands,
  dollarLocal,
  harness,
  localOf,
  portOf,
  udpHeld,
  type Harness,
} from './harness.js';

const BASE = 27000;

async function addPair(h: Harness, realmA = 'access', realmB = 'core'): Promise<{ ctx: number; a: string; b: string }> {
  const r = await h.tx(`Context = $ {
    Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive, ipdc/realm = "${realmA}" }, Local { ${dollarLocal()} } } } },
    Add = $ { Media { LocalControl { Mode = SendReceive, ipdc/realm = "${realmB}" }, Local { ${dollarLocal()} } } } }`);
  assert.equal(r.length, 1);
  assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
  const [a, b] = commands(r).map((c) => amm(c).terminationId);
  return { ctx: r[0]!.contextId as number, a: a!, b: b! };
}

function errorOf(r: Awaited<ReturnType<Harness['tx']>>, i = 0): number | undefined {
  return r[i]?.error?.code;
}

test('Add two terminations with $ Local in Context $: MG-chosen ids, filled SDP, ports really bound', async () => {
  const h = harness(BASE);
  try {
    const r = await h.tx(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = "access" },
        Local { ${dollarLocal('RTP/AVP', '0 8', 'a=rtcp:$\n')} } } } },
      Add = $ { Media { LocalControl { Mode = SendReceive }, Local { ${dollarLocal()} } } } }`);
    assert.equal(r.length, 1);
    const ctx = r[0]!.contextId;
    assert.equal(typeof ctx, 'number');
    const [c1, c2] = commands(r);
    assert.match(amm(c1).terminationId, /^ip\/\d+$/);
    assert.match(amm(c2).terminationId, /^ip\/\d+$/);
    assert.notEqual(amm(c1).terminationId, amm(c2).terminationId);
    const l1 = localOf(audit(c1));
    const l2 = localOf(audit(c2));
    assert.ok(l1 !== undefined && l2 !== undefined);
    assert.match(l1, /c=IN IP4 127\.0\.0\.1/);
    assert.doesNotMatch(l1, /\$/);
    const p1 = portOf(l1);
    const p2 = portOf(l2);
    assert.ok(p1 >= BASE && p1 < BASE + 100, `access port ${p1}`);
    assert.ok(p2 >= BASE + 100 && p2 < BASE + 200, `core port ${p2} (default realm)`);
    assert.equal(p1 % 2, 0);
    assert.match(l1, new RegExp(`a=rtcp:${p1 + 1}`));
    // the request used Stream = 1 for the first and bare parameters for the second: the reply mirrors it
    assert.ok(audit(c1)?.media?.streams !== undefined);
    assert.ok(audit(c2)?.media?.stream !== undefined);
    for (const p of [p1, p1 + 1, p2, p2 + 1]) assert.equal(await udpHeld(p), true, `port ${p} bound`);
    assert.equal(h.mg.contextCount, 1);
    assert.equal(h.mg.terminationCount, 2);
    assert.deepEqual(
      h.events.map((e) => e.type),
      ['context.created', 'termination.created', 'termination.created'],
    );
    const metricsText = await h.metrics.registry.metrics();
    assert.match(metricsText, /trgwd_contexts 1/);
    assert.match(metricsText, /trgwd_terminations 2/);
    assert.match(metricsText, /trgwd_ports_in_use\{realm="access"\} 2/);
  } finally {
    await h.close();
  }
});

test('Modify with Remote stores it; resending Local keeps the port; a new transport re-allocates', async () => {
  const h = harness(BASE);
  try {
    const { ctx, a } = await addPair(h);
    const first = await h.tx(`Context = ${ctx} { AuditValue = ${a} { Audit { Media } } }`);
    const local = localOf(audit(commands(first)[0]))!;
    const port = portOf(local);
    let r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Remote { v=0
c=IN IP4 192.0.2.7
m=audio 4000 RTP/AVP 0
} } } }`);
    assert.equal(errorOf(r), undefined);
    r = await h.tx(`Context = ${ctx} { AuditValue = ${a} { Audit { Media } } }`);
    const m = audit(commands(r)[0])?.media;
    const s = m?.stream ?? m?.streams?.[0];
    assert.match(s?.remote ?? '', /c=IN IP4 192\.0\.2\.7/);
    assert.equal(s?.localControl?.mode, 'sendRecv');
    // the controller echoes our Local (fully specified): same port, nothing re-allocated
    r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Local { ${local} } } } }`);
    assert.equal(portOf(localOf(audit(commands(r)[0]))), port);
    // `$` again with the same transport keeps the port too
    r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Local { ${dollarLocal()} } } } }`);
    assert.equal(portOf(localOf(audit(commands(r)[0]))), port);
    assert.equal(h.mg.ports('access')!.counters.rtpPairsInUse, 1);
    // a new transport needs a new port: UDPTL takes one UDP port, the RTP pair is released
    r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Local { v=0
c=IN IP4 $
m=image $ udptl t38
} } } }`);
    const udptl = portOf(localOf(audit(commands(r)[0])));
    assert.notEqual(udptl, port);
    await h.mg.termination(a)!.streams.get(1)!.released;
    assert.equal(await udpHeld(port), false);
    assert.equal(await udpHeld(udptl), true);
    assert.equal(h.mg.ports('access')!.counters.rtpPairsInUse, 0);
    assert.equal(h.mg.ports('access')!.counters.udpSinglesInUse, 1);
    // a TCP transport reserves a TCP port (bound later by the TCP bearer)
    r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Local { v=0
c=IN IP4 $
m=message $ TCP/MSRP *
a=path:$
} } } }`);
    const l = localOf(audit(commands(r)[0]))!;
    assert.match(l, /a=path:\$/, 'a=path:$ is left for the MSRP part');
    assert.equal(h.mg.ports('access')!.counters.tcpPortsInUse, 1);
  } finally {
    await h.close();
  }
});

test('Local with a port the gateway does not hold is 449; Remote with $ is 449', async () => {
  const h = harness(BASE);
  try {
    const { ctx, a } = await addPair(h);
    let r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Local { v=0
c=IN IP4 $
m=audio 4000 RTP/AVP 0
} } } }`);
    assert.equal(errorOf(r), 449);
    r = await h.tx(`Context = ${ctx} { Modify = ${a} { Media { Remote { v=0
c=IN IP4 $
m=audio 4000 RTP/AVP 0
} } } }`);
    assert.equal(errorOf(r), 449);
  } finally {
    await h.close();
  }
});

test('Move between contexts; the source is deleted when its last termination leaves; Move into $', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    const r1 = await h.tx(`Context = $ { Add = $ { Media { Local { ${dollarLocal()} } } } }`);
    const c2 = r1[0]!.contextId as number;
    const t3 = amm(commands(r1)[0]).terminationId;
    let r = await h.tx(`Context = ${c2} { Move = ${p.b} { Audit { Statistics } } }`);
    assert.equal(errorOf(r), undefined);
    assert.equal(r[0]!.contextId, c2);
    assert.equal(amm(commands(r)[0]).terminationId, p.b);
    assert.ok(audit(commands(r)[0])?.statistics?.some((s) => s.name === 'nt/dur'));
    assert.equal(h.mg.termination(p.b)!.context!.id, c2);
    assert.equal(h.mg.context(p.ctx)!.size, 1);
    // moving the last one out deletes the source context
    r = await h.tx(`Context = ${c2} { Move = ${p.a} }`);
    assert.equal(errorOf(r), undefined);
    assert.equal(h.mg.context(p.ctx), undefined);
    assert.equal(h.mg.context(c2)!.size, 3);
    // a fourth does not fit (limits.maxTerminationsPerContext = 3)
    const r4 = await h.tx(`Context = $ { Add = $ }`);
    const t4 = amm(commands(r4)[0]).terminationId;
    r = await h.tx(`Context = ${c2} { Move = ${t4} }`);
    assert.equal(errorOf(r), 434);
    assert.equal(h.mg.termination(t4)!.context!.id, r4[0]!.contextId);
    // Move into a new context
    r = await h.tx(`Context = $ { Move = ${t3} }`);
    assert.equal(errorOf(r), undefined);
    const c3 = r[0]!.contextId as number;
    assert.notEqual(c3, c2);
    assert.equal(h.mg.termination(t3)!.context!.id, c3);
    // Move is not legal in the null context
    r = await h.tx(`Context = - { Move = ${t3} }`);
    assert.equal(errorOf(r), 421);
  } finally {
    await h.close();
  }
});

test('topology triples: applied, reported, audited; 430, 435, 522', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    let r = await h.tx(`Context = ${p.ctx} { Priority = 3, Topology { ${p.a}, ${p.b}, oneway } }`);
    assert.equal(errorOf(r), undefined);
    assert.equal(r[0]!.context?.priority, 3);
    assert.deepEqual(r[0]!.context?.topology, [{ from: p.a, to: p.b, direction: 'oneway' }]);
    const ctx = h.mg.context(p.ctx)!;
    assert.equal(ctx.flows(p.a, p.b), true);
    assert.equal(ctx.flows(p.b, p.a), false);
    r = await h.tx(`Context = ${p.ctx} { Topology { ${p.b}, ${p.a}, isolate, Stream = 1 } }`);
    assert.equal(ctx.flows(p.a, p.b, 1), false);
    assert.equal(ctx.flows(p.a, p.b, 2), true);
    r = await h.tx(`Context = ${p.ctx} { ContextAudit { Topology, Priority, Emergency } }`);
    assert.equal(r[0]!.context?.priority, 3);
    assert.equal(r[0]!.context?.emergency, false);
    assert.equal(r[0]!.context?.topology?.length, 2);
    r = await h.tx(`Context = ${p.ctx} { Topology { ${p.a}, ip/999999, bothway } }`);
    assert.equal(errorOf(r), 430);
    const other = await h.tx(`Context = $ { Add = $ }`);
    const t3 = amm(commands(other)[0]).terminationId;
    r = await h.tx(`Context = ${p.ctx} { Topology { ${p.a}, ${t3}, bothway } }`);
    assert.equal(errorOf(r), 435);
    r = await h.tx(`Context = ${p.ctx} { Topology { ${p.a}, ${p.b}, onewayexternal } }`);
    assert.equal(errorOf(r), 522);
    // a triple naming a termination that leaves the context is dropped with it
    await h.tx(`Context = ${p.ctx} { Subtract = ${p.b} }`);
    assert.equal(ctx.topology.length, 0);
  } finally {
    await h.close();
  }
});

test('AuditValue: with and without statistics, Packages, Events, the condensed id list, W-', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    await h.tx(`Context = ${p.ctx} { Modify = ${p.a} { Events = 12 { g/cause } } }`);
    let r = await h.tx(`Context = ${p.ctx} { AuditValue = ${p.a} { Audit { Media, Events, Statistics, Packages } } }`);
    let a = audit(commands(r)[0])!;
    assert.ok(a.media !== undefined);
    assert.equal(a.events?.requestId, 12);
    assert.deepEqual(
      a.statistics?.map((s) => s.name),
      ['nt/dur', 'nt/os', 'nt/or', 'rtp/ps', 'rtp/pr', 'rtp/pl', 'rtp/jit'],
    );
    assert.ok(a.packages?.some((x) => x.name === 'rtp'));
    // without statistics
    r = await h.tx(`Context = ${p.ctx} { AuditValue = ${p.a} { Audit { Media } } }`);
    a = audit(commands(r)[0])!;
    assert.equal(a.statistics, undefined);
    // the media plane's counters show up
    const s = h.mg.termination(p.a)!.streams.get(1)!;
    s.counters.octetsReceived = 1600;
    s.counters.packetsReceived = 10;
    s.counters.packetsLost = 2;
    s.counters.jitterMs = 3;
    r = await h.tx(`Context = ${p.ctx} { AuditValue = ${p.a} { Audit { Statistics { nt/or } } } }`);
    assert.deepEqual(audit(commands(r)[0])?.statistics, [{ name: 'nt/or', value: '1600' }]);
    r = await h.tx(`Context = ${p.ctx} { AuditValue = ${p.a} { Audit { Statistics } } }`);
    const st = Object.fromEntries((audit(commands(r)[0])?.statistics ?? []).map((x) => [x.name, x.value]));
    assert.equal(st['rtp/pr'], '10');
    assert.equal(st['rtp/pl'], '16.67');
    assert.equal(st['rtp/jit'], '3');
    // empty audit of a wildcard: the condensed list of ids
    r = await h.tx(`Context = ${p.ctx} { AuditValue = * { Audit { } } }`);
    assert.deepEqual((commands(r)[0] as AuditReply).contextTerminationIds, [p.a, p.b]);
    // one reply per match without W-, one naming the wildcard with W-
    r = await h.tx(`Context = ${p.ctx} { AuditValue = ip/* { Audit { Packages } } }`);
    assert.equal(commands(r).length, 2);
    r = await h.tx(`Context = ${p.ctx} { W-AuditValue = ip/* { Audit { Packages } } }`);
    assert.equal(commands(r).length, 1);
    assert.equal((commands(r)[0] as AuditReply).terminationId, 'ip/*');
    assert.ok(audit(commands(r)[0])?.packages !== undefined);
    // Context = * finds the termination wherever it is
    r = await h.tx(`Context = * { AuditValue = ${p.b} { Audit { } } }`);
    assert.equal(r[0]!.contextId, p.ctx);
    // ALL + ROOT lists the contexts
    r = await h.tx(`Context = * { AuditValue = ROOT { Audit { } } }`);
    assert.deepEqual(r.map((x) => x.contextId), [p.ctx]);
  } finally {
    await h.close();
  }
});

test('Subtract: statistics by default, nothing with Audit{}, Subtract * deletes the context and frees ports; ids not reused', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    const ports = h.mg.termination(p.a)!.ports.map((x) => x.port).concat(h.mg.termination(p.b)!.ports.map((x) => x.port));
    let r = await h.tx(`Context = ${p.ctx} { Subtract = ${p.a} }`);
    assert.ok(audit(commands(r)[0])?.statistics?.some((s) => s.name === 'nt/dur'));
    const q = await addPair(h);
    r = await h.tx(`Context = ${q.ctx} { Subtract = ${q.a} { Audit { } } }`);
    assert.deepEqual(commands(r)[0], { kind: 'subtract', terminationId: q.a });
    r = await h.tx(`Context = ${p.ctx} { Subtract = * }`);
    assert.equal(errorOf(r), undefined);
    assert.equal(commands(r).length, 1);
    assert.equal(h.mg.context(p.ctx), undefined);
    for (const port of ports) assert.equal(await udpHeld(port), false, `port ${port} released`);
    r = await h.tx(`Context = ${p.ctx} { Subtract = * }`);
    assert.equal(errorOf(r), 411);
    // Context = * { Subtract = * }: every context goes, one action reply each
    await addPair(h);
    r = await h.tx(`Context = * { Subtract = * { Audit { } } }`);
    assert.equal(r.length, 2);
    assert.equal(h.mg.contextCount, 0);
    assert.equal(h.mg.terminationCount, 0);
    // termination names are never reused
    const again = await addPair(h);
    const n = (id: string): number => Number(id.split('/')[1]);
    assert.ok(n(again.a) > n(q.b));
    assert.ok(!([p.a, p.b, q.a, q.b] as string[]).includes(again.a));
    assert.deepEqual(
      h.events.filter((e) => e.type === 'context.deleted').length,
      3,
    );
  } finally {
    await h.close();
  }
});

test('error codes: 411 430 431 433 434 435 421', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    assert.equal(errorOf(await h.tx(`Context = 4242 { Modify = ${p.a} }`)), 411);
    assert.equal(errorOf(await h.tx(`Context = ${p.ctx} { Modify = ip/999999 }`)), 430);
    assert.equal(errorOf(await h.tx(`Context = ${p.ctx} { Modify = foo/* }`)), 431);
    assert.equal(errorOf(await h.tx(`Context = ${p.ctx} { Add = ${p.a} }`)), 433);
    const other = await h.tx(`Context = $ { Add = $ }`);
    assert.equal(errorOf(await h.tx(`Context = ${other[0]!.contextId} { Modify = ${p.a} }`)), 435);
    assert.equal(errorOf(await h.tx(`Context = - { AuditValue = ${p.a} { Audit { } } }`)), 435);
    assert.equal(errorOf(await h.tx(`Context = - { Add = $ }`)), 421);
    assert.equal(errorOf(await h.tx(`Context = - { Subtract = ${p.a} }`)), 421);
    await h.tx(`Context = ${p.ctx} { Add = $ }`);
    const full = await h.tx(`Context = ${p.ctx} { Add = $ { Media { Local { ${dollarLocal()} } } } }`);
    assert.equal(errorOf(full), 434);
    assert.equal(h.mg.context(p.ctx)!.size, 3);
    assert.equal(errorOf(await h.tx(`Context = ${p.ctx} { Modify = $ }`)), 410);
  } finally {
    await h.close();
  }
});

test('package and SDP errors: 440 445 450 449 (with the value in the text) 451 452 453 474 447', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    const err = async (body: string): Promise<{ code: number | undefined; text: string | undefined }> => {
      const r = await h.tx(body);
      return { code: r[0]?.error?.code, text: r[0]?.error?.text };
    };
    const c = p.ctx;
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Media { LocalControl { foo/bar = 1 } } } }`)).code, 440);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Media { LocalControl { gm/esas = "x" } } } }`)).code, 445);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Media { LocalControl { ipdc/nosuch = 1 } } } }`)).code, 450);
    let e = await err(`Context = ${c} { Modify = ${p.a} { Media { LocalControl { ipdc/realm = "mars" } } } }`);
    assert.equal(e.code, 449);
    assert.match(e.text ?? '', /mars/);
    e = await err(`Context = ${c} { Modify = ${p.a} { Media { LocalControl { ds/dscp = 99 } } } }`);
    assert.equal(e.code, 449);
    assert.match(e.text ?? '', /99/);
    e = await err(`Context = ${c} { Modify = ${p.a} { Media { Local { v=0
c=IN IP4 $
m=audio $ RTP/FOO 0
} } } }`);
    assert.equal(e.code, 449);
    assert.match(e.text ?? '', /RTP\/FOO/);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Events = 1 { hangterm/nosuch } } }`)).code, 451);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Events = 1 { nope/thb } } }`)).code, 440);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Events = 1 { hangterm/thb { bogus = 1 } } } }`)).code, 446);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { Signals { tcpbcc/nosuch } } }`)).code, 452);
    assert.equal((await err(`Context = ${c} { AuditValue = ${p.a} { Audit { Statistics { nt/nosuch } } } }`)).code, 453);
    assert.equal((await err(`Context = ${c} { AuditValue = ${p.a} { Audit { Statistics { tmanr/dp } } } }`)).code, 532);
    e = await err(`Context = ${c} { Modify = ${p.a} { Media { Remote { v=0
this is not sdp
} } } }`);
    assert.equal(e.code, 474);
    assert.match(e.text ?? '', /line 2/);
    assert.equal((await err(`Context = ${c} { Modify = ${p.a} { ObservedEvents = 1 { g/cause } } }`)).code, 447);
    // the failed commands changed nothing
    const t = h.mg.termination(p.a)!;
    assert.equal(t.realm, 'access');
    assert.equal(t.events, undefined);
    assert.equal(t.streams.get(1)!.remote, undefined);
  } finally {
    await h.close();
  }
});

test('an Add that fails after allocating leaves nothing behind (no port, no context)', async () => {
  const h = harness(BASE);
  try {
    const r = await h.tx(`Context = $ { Add = $ { Media {
      Stream = 1 { LocalControl { ipdc/realm = "access" }, Local { ${dollarLocal()} } },
      Stream = 2 { Local { v=0
c=IN IP4 $
m=audio 1234 RTP/AVP 0
} } } } }`);
    assert.equal(errorOf(r), 449);
    assert.equal(r[0]!.contextId, '$');
    assert.deepEqual(r[0]!.commands, []);
    const pm = h.mg.ports('access')!;
    assert.equal(pm.counters.allocations, 1, 'stream 1 was allocated before stream 2 failed');
    assert.equal(pm.counters.udpPortsInUse, 0);
    assert.equal(pm.udpFreeOrder().length, pm.udpSlots);
    assert.equal(h.mg.contextCount, 0);
    assert.equal(h.mg.terminationCount, 0);
    assert.equal(h.events.length, 0, 'no context or termination was announced');
    // an Add without Local is legal (H.248.1 §7.1.8 a): the termination just has no port yet
    const ok = await h.tx(`Context = $ { Add = $ }`);
    assert.equal(errorOf(ok), undefined);
    assert.equal(h.mg.termination(amm(commands(ok)[0]).terminationId)!.ports.length, 0);
  } finally {
    await h.close();
  }
});

test('510 on port exhaustion, recovered after Subtract; 510 beyond limits.maxContexts', async () => {
  // access realm of 4 ports: 2 RTP pairs
  const h = harness(BASE, {
    realms: { access: { address: '127.0.0.1', ports: [BASE + 300, BASE + 303] }, core: { address: '127.0.0.1', ports: [BASE + 310, BASE + 399] } },
    maxContexts: 3,
  });
  try {
    const add = (): Promise<Awaited<ReturnType<Harness['tx']>>> =>
      h.tx(`Context = $ { Add = $ { Media { LocalControl { ipdc/realm = "access" }, Local { ${dollarLocal()} } } } }`);
    const r1 = await add();
    const r2 = await add();
    const r3 = await add();
    assert.equal(errorOf(r1), undefined);
    assert.equal(errorOf(r2), undefined);
    assert.equal(errorOf(r3), 510);
    assert.equal(h.mg.contextCount, 2, 'the context made for the failed Add is gone');
    assert.match(await h.metrics.registry.metrics(), /trgwd_port_allocation_failures_total\{realm="access"\} 1/);
    await h.tx(`Context = ${r1[0]!.contextId} { Subtract = * }`);
    const r4 = await add();
    assert.equal(errorOf(r4), undefined);
    // contexts: 2 live + 1 more = 3 = maxContexts; the fourth is refused with 510
    const r5 = await h.tx(`Context = $ { Add = $ }`);
    assert.equal(errorOf(r5), undefined);
    const r6 = await h.tx(`Context = $ { Add = $ }`);
    assert.equal(errorOf(r6), 510);
    assert.match(r6[0]!.error?.text ?? '', /maxContexts/);
  } finally {
    await h.close();
  }
});

test('O- optional commands go on after a failure; otherwise the first failure stops the transaction', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    let r = await h.tx(`Context = ${p.ctx} { O-Modify = ip/999999, AuditValue = ${p.a} { Audit { } } }`);
    assert.equal(r[0]!.error, undefined);
    assert.equal(commands(r).length, 2);
    assert.equal(audit(commands(r)[0])?.error?.code, 430);
    assert.equal((commands(r)[1] as AuditReply).terminationId, p.a);
    // stop at the first failure: earlier replies kept, the rest (also later actions) not run
    r = await h.tx(`Context = ${p.ctx} {
        Modify = ${p.a} { Events = 5 { g/cause } },
        Modify = ${p.b} { Media { LocalControl { ipdc/realm = "pluto" } } },
        Modify = ${p.a} { Events = 6 { g/cause } } },
      Context = ${p.ctx} { Modify = ${p.a} { Events = 7 { g/cause } } }`);
    assert.equal(r.length, 1);
    assert.equal(commands(r).length, 1);
    assert.equal(amm(commands(r)[0]).terminationId, p.a);
    assert.equal(errorOf(r), 449);
    assert.equal(h.mg.termination(p.a)!.events?.requestId, 5, 'the first Modify stayed done, later ones did not run');
    // a wildcard whose matches fail: one reply each (with its error), then stop (§8)
    r = await h.tx(`Context = ${p.ctx} { Modify = ip/* { Media { Local { v=0
c=IN IP4 $
m=audio 1234 RTP/AVP 0
} } }, Modify = ${p.a} { Events = 8 { g/cause } } }`);
    assert.equal(commands(r).length, 2);
    assert.deepEqual(
      commands(r).map((x) => audit(x)?.error?.code),
      [449, 449],
    );
    assert.equal(r[0]!.error, undefined);
    assert.equal(h.mg.termination(p.a)!.events?.requestId, 5, 'the command after the wildcard did not run');
    // W- Subtract: one reply naming the wildcard
    r = await h.tx(`Context = ${p.ctx} { W-Subtract = ip/* }`);
    assert.equal(commands(r).length, 1);
    assert.equal(amm(commands(r)[0]).terminationId, 'ip/*');
    assert.equal(h.mg.contextCount, 0);
  } finally {
    await h.close();
  }
});

test('alternatives in Local: the first supported is picked and only it is returned; ReserveGroup keeps all supported', async () => {
  const h = harness(BASE);
  try {
    let r = await h.tx(`Context = $ { Add = $ { Media { Local { v=0
c=IN IP4 $
m=audio $ UDP/TLS/RTP/SAVP 0
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
v=0
c=IN IP4 $
m=image $ udptl t38
} } } }`);
    assert.equal(errorOf(r), undefined);
    const l = localOf(audit(commands(r)[0]))!;
    assert.equal((l.match(/v=0/g) ?? []).length, 1);
    assert.match(l, /RTP\/AVP/);
    assert.doesNotMatch(l, /udptl|SAVP/);
    assert.equal(h.mg.termination(amm(commands(r)[0]).terminationId)!.ports.length, 1);
    r = await h.tx(`Context = $ { Add = $ { Media { LocalControl { ReservedGroup = ON }, Local { v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
v=0
c=IN IP4 $
m=image $ udptl t38
} } } }`);
    const all = localOf(audit(commands(r)[0]))!;
    assert.equal((all.match(/v=0/g) ?? []).length, 2);
    assert.equal(h.mg.termination(amm(commands(r)[0]).terminationId)!.ports.length, 2);
    // nothing supported: 449 naming the transport
    r = await h.tx(`Context = $ { Add = $ { Media { Local { v=0
c=IN IP4 $
m=audio $ UDP/TLS/RTP/SAVPF 0
} } } }`);
    assert.equal(errorOf(r), 449);
    assert.match(r[0]!.error?.text ?? '', /UDP\/TLS\/RTP\/SAVPF/);
  } finally {
    await h.close();
  }
});

test('realm change on Modify moves the ports to the new realm', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    const before = h.mg.termination(p.a)!.ports[0]!.port;
    assert.ok(before < BASE + 100);
    const r = await h.tx(`Context = ${p.ctx} { Modify = ${p.a} { Media { LocalControl { Mode = SendReceive, ipdc/realm = "core" } } } }`);
    assert.equal(errorOf(r), undefined);
    const after = portOf(localOf(audit(commands(r)[0])));
    assert.ok(after >= BASE + 100);
    assert.equal(h.mg.termination(p.a)!.realm, 'core');
    await h.mg.termination(p.a)!.streams.get(1)!.released;
    assert.equal(h.mg.ports('access')!.counters.udpPortsInUse, 0);
  } finally {
    await h.close();
  }
});

test('ROOT: AuditValue Packages, AuditCapabilities, Modify root properties (534 read-only), it/ito to the listener', async () => {
  const h = harness(BASE);
  try {
    let r = await h.tx(`Context = - { AuditValue = ROOT { Audit { Packages } } }`);
    const pk = audit(commands(r)[0])?.packages ?? [];
    assert.ok(pk.some((x) => x.name === 'root' && x.version === 2));
    r = await h.tx(`Context = - { AuditCapability = ROOT { Audit { } } }`);
    const caps = audit(commands(r)[0]);
    assert.ok(caps?.media?.terminationState?.properties?.some((x) => x.name === 'root/maxNumberOfContexts' && x.value === '100'));
    assert.ok(caps?.packages !== undefined);
    r = await h.tx(`Context = - { AuditValue = ROOT { Audit { } } }`);
    assert.deepEqual(commands(r)[0], { kind: 'auditValue', terminationId: 'ROOT' });
    const seen: unknown[] = [];
    h.mg.onRootEvents((rid, events) => seen.push([rid, events.map((e) => e.name)]));
    r = await h.tx(`Context = - { Modify = ROOT { Media { TerminationState { root/normalMGExecutionTime = 500 } }, Events = 9 { it/ito { mit = 3000 } } } }`);
    assert.equal(errorOf(r), undefined);
    assert.deepEqual(seen, [[9, ['it/ito']]]);
    assert.equal(h.mg.root.property('root/normalMGExecutionTime')?.value, 500);
    r = await h.tx(`Context = - { Modify = ROOT { Media { TerminationState { root/maxNumberOfContexts = 5 } } } }`);
    assert.equal(errorOf(r), 534);
    r = await h.tx(`Context = - { Modify = ROOT { Media { LocalControl { Mode = SendReceive } } } }`);
    assert.equal(errorOf(r), 447);
    assert.equal(errorOf(await h.tx(`Context = - { Subtract = ROOT }`)), 542);
  } finally {
    await h.close();
  }
});

test('Notify from the controller is refused (443); ServiceChange on a termination sets its service state', async () => {
  const h = harness(BASE);
  try {
    const p = await addPair(h);
    let r = await h.tx(`Context = ${p.ctx} { Notify = ${p.a} { ObservedEvents = 1 { g/cause } } }`);
    assert.equal(errorOf(r), 443);
    r = await h.tx(`Context = ${p.ctx} { ServiceChange = ${p.a} { Services { Method = Forced, Reason = "905" } } }`);
    assert.equal(errorOf(r), undefined);
    assert.equal((commands(r)[0] as ServiceChangeReply).terminationId, p.a);
    r = await h.tx(`Context = ${p.ctx} { AuditValue = ${p.a} { Audit { Media } } }`);
    assert.equal(audit(commands(r)[0])?.media?.terminationState?.serviceState, 'outOfService');
  } finally {
    await h.close();
  }
});

test('events and signals are stored; hangterm/thb sends a Notify every timerx seconds (mock timers)', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.UTC(2024, 0, 2, 3, 4, 5, 670) });
  const h = harness(BASE);
  try {
    const r = await h.tx(`Context = $ { Add = $ {
      Media { Local { ${dollarLocal()} } },
      Events = 77 { hangterm/thb { timerx = 5 }, g/cause },
      Signals { tcpbcc/estab },
      EventBuffer { g/cause },
      DigitMap = dm1 { (0|1x) } } }`);
    assert.equal(errorOf(r), undefined);
    const id = amm(commands(r)[0]).terminationId;
    const term = h.mg.termination(id)!;
    assert.deepEqual(term.signals?.names, ['tcpbcc/estab']);
    assert.equal(term.eventBuffer?.length, 1);
    assert.equal(term.digitMap?.name, 'dm1');
    assert.equal(h.link.notifies.length, 0);
    t.mock.timers.tick(4999);
    assert.equal(h.link.notifies.length, 0);
    t.mock.timers.tick(1);
    assert.equal(h.link.notifies.length, 1);
    const n = h.link.notifies[0]!;
    assert.equal(n.terminationId, id);
    assert.equal(n.contextId, r[0]!.contextId);
    assert.equal(n.requestId, 77);
    assert.equal(n.events[0]!.name, 'hangterm/thb');
    assert.equal(n.events[0]!.timestamp, '20240102T03041067');
    t.mock.timers.tick(10000);
    assert.equal(h.link.notifies.length, 3);
    // not registered: skipped
    h.link.registered = false;
    t.mock.timers.tick(5000);
    assert.equal(h.link.notifies.length, 3);
    h.link.registered = true;
    // g/cause when a bearer is released (hook for the bearer parts)
    assert.equal(term.bearerReleased('NR'), true);
    const cause = h.link.notifies.at(-1)!;
    assert.deepEqual(cause.events[0]!.params, [{ name: 'Generalcause', relation: '=', value: 'NR' }]);
    // a new Events descriptor without thb stops the heartbeat
    await h.tx(`Context = ${r[0]!.contextId} { Modify = ${id} { Events = 78 { g/cause } } }`);
    const count = h.link.notifies.length;
    t.mock.timers.tick(20000);
    assert.equal(h.link.notifies.length, count);
    // and Subtract clears timers for good
    await h.tx(`Context = ${r[0]!.contextId} { Modify = ${id} { Events = 79 { hangterm/thb { timerx = 1 } } } }`);
    t.mock.timers.tick(1000);
    assert.equal(h.link.notifies.length, count + 1);
    await h.tx(`Context = ${r[0]!.contextId} { Subtract = ${id} }`);
    t.mock.timers.tick(10000);
    assert.equal(h.link.notifies.length, count + 1);
  } finally {
    await h.close();
  }
});

test('1,000 Add/Subtract cycles leave zero ports and zero contexts', async () => {
  const h = harness(BASE);
  try {
    for (let i = 0; i < 1000; i++) {
      const p = await addPair(h);
      const r = await h.tx(`Context = ${p.ctx} { Subtract = * { Audit { } } }`);
      assert.equal(errorOf(r), undefined);
    }
    assert.equal(h.mg.contextCount, 0);
    assert.equal(h.mg.terminationCount, 0);
    for (const realm of ['access', 'core']) {
      const c = h.mg.ports(realm)!.counters;
      assert.equal(c.udpPortsInUse, 0, realm);
      assert.equal(c.tcpPortsInUse, 0, realm);
      assert.equal(c.allocations, 1000);
      assert.equal(c.releases, 1000);
    }
    assert.equal(h.mg.terminationsIssued, 2000);
    const text = await h.metrics.registry.metrics();
    assert.match(text, /trgwd_contexts 0/);
    assert.match(text, /trgwd_ports_in_use\{realm="access"\} 0/);
  } finally {
    await h.close();
  }
});

test('shutdown while an Add is binding ports leaves nothing behind', async () => {
  const h = harness(BASE);
  const pending = h.tx(`Context = $ { Add = $ { Media { Local { ${dollarLocal()} } } }, Add = $ { Media { Local { ${dollarLocal()} } } } }`);
  await Promise.resolve();
  const closing = h.mg.close();
  const r = await pending;
  await closing;
  assert.equal(r[0]!.error?.code, 510);
  assert.equal(h.mg.terminationCount, 0);
  assert.equal(h.mg.contextCount, 0);
  for (const realm of ['access', 'core']) assert.equal(h.mg.ports(realm)!.counters.udpPortsInUse, 0);
});

test('441: an Add with stream parameters but neither Local nor Remote; a bare Add = $ is legal', async () => {
  const h = harness(BASE);
  try {
    const r = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive } } } } }`);
    assert.equal(errorOf(r), 441);
    assert.equal(h.mg.contextCount, 0, 'nothing left behind');
    const bare = await h.tx(`Context = $ { Add = $ }`);
    assert.equal(errorOf(bare), undefined);
    const remoteOnly = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { Remote {
v=0
c=IN IP4 127.0.0.1
m=audio 40000 RTP/AVP 0
} } } } }`);
    assert.equal(errorOf(remoteOnly), undefined);
  } finally {
    await h.close();
  }
});
