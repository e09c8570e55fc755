/**
 * The transaction engine over real loopback sockets, with a fake executor in place of the
 * association and a fake controller (codec + socket) on the other side.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { ActionReply, ActionRequest, TransactionReply, TransactionRequest } from '../../../../daemon/control/codec/model.js';
import { TrgwdError, isTrgwdError } from '../../../../daemon/errors.js';
import {
  TransactionEngine,
  parseMid,
  midText,
  type EngineTimers,
  type IncomingRequestInfo,
  type RequestExecutor,
} from '../../../../daemon/control/transaction/engine.js';
import { TcpControlTransport } from '../../../../daemon/control/transport/tcp.js';
import { UdpControlTransport } from '../../../../daemon/control/transport/udp.js';
import type { ControlTransport } from '../../../../daemon/control/transport/types.js';
import { createMetrics, type Metrics } from '../../../../daemon/observe/metrics.js';
import { silentLogger } from '../../../../daemon/observe/log.js';
import { FakeMgc, deferred, firstTx, kindIs, replyOf, until, type Received } from '../../../helpers/fake-mgc.js';

const AUDIT_ROOT: ActionRequest[] = [{ contextId: '-', commands: [{ kind: 'auditValue', terminationId: 'ROOT' }] }];

function echo(request: TransactionRequest): ActionReply[] {
  return request.actions.map((a) => ({
    contextId: a.contextId,
    commands: a.commands.map((c) => ({ kind: 'auditValue' as const, terminationId: 'terminationId' in c ? c.terminationId : 'ROOT' })),
  }));
}

/** A reply with `n` actions, each carrying about `sdpBytes` of SDP in an Add reply. */
function bigReply(n: number, sdpBytes: number): ActionReply[] {
  const out: ActionReply[] = [];
  for (let i = 1; i <= n; i++) {
    const lines = ['v=0', `o=- ${i} 1 IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', `m=audio ${30000 + 2 * i} RTP/AVP 0`];
    while (lines.join('\r\n').length < sdpBytes) lines.push('a=x-filler:0123456789abcdef');
    out.push({ contextId: i, commands: [{ kind: 'add', terminationId: `ip/${i}`, audit: { media: { stream: { local: lines.join('\r\n') + '\r\n' } } } }] });
  }
  return out;
}

interface Setup {
  engine: TransactionEngine;
  transport: ControlTransport;
  mgc: FakeMgc;
  metrics: Metrics;
  port: number;
  calls: { request: TransactionRequest; info: IncomingRequestInfo }[];
  /** Sends a request from the fake controller to the engine. */
  send(actions: ActionRequest[], id?: number, opts?: { version?: number; style?: 'pretty' | 'compact' }): number;
  raw(text: string | Buffer): void;
}

async function setup(
  t: { after: (fn: () => unknown) => void },
  opts: {
    transport?: 'udp' | 'tcp';
    version?: number;
    execute?: RequestExecutor;
    timers?: Partial<EngineTimers>;
    maxUdpPayload?: number;
    maxMessageBytes?: number;
    pendingLimit?: number;
  } = {},
): Promise<Setup> {
  const metrics = createMetrics({ defaultMetrics: false });
  const calls: Setup['calls'] = [];
  const execute: RequestExecutor = async (request, info) => {
    calls.push({ request, info });
    return opts.execute !== undefined ? opts.execute(request, info) : echo(request);
  };
  const engine = new TransactionEngine({
    mid: parseMid('[127.0.0.1]:2944'),
    version: opts.version ?? 3,
    requestStyle: 'pretty',
    maxMessageBytes: opts.maxMessageBytes ?? 65535,
    maxUdpPayload: opts.maxUdpPayload ?? 1400,
    pendingLimit: opts.pendingLimit ?? 10,
    replyCacheMaxEntries: 1000,
    timers: { longTimerMs: 5000, provisionalResponseMs: 60, initialRetransmitMs: 40, maxRetransmitMs: 160, tMaxMs: 600, ...opts.timers },
    execute,
    metrics,
    log: silentLogger(),
  });
  const kind = opts.transport ?? 'udp';
  const trOpts = { address: '127.0.0.1', port: 0, onMessage: (b: Buffer, p: Parameters<TransactionEngine['receive']>[1]) => engine.receive(b, p) };
  const transport: ControlTransport = kind === 'udp' ? new UdpControlTransport(trOpts) : new TcpControlTransport(trOpts);
  const { port } = await transport.listen();
  engine.attach(transport);
  const mgc = kind === 'udp' ? await FakeMgc.udp() : await FakeMgc.tcp();
  if (kind === 'tcp') await mgc.connectTo(port);
  t.after(async () => {
    engine.close();
    await transport.close();
    await mgc.close();
  });
  const to = { port };
  return {
    engine,
    transport,
    mgc,
    metrics,
    port,
    calls,
    send: (actions, id, o = {}) => mgc.request(actions, { ...(id !== undefined ? { id } : {}), ...o, to }),
    raw: (text) => mgc.sendRaw(text, to),
  };
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

test('mId parsing and printing', () => {
  assert.deepEqual(parseMid('[192.0.2.10]:2944'), { kind: 'ip4', address: '192.0.2.10', port: 2944 });
  assert.deepEqual(parseMid('[2001:db8::1]'), { kind: 'ip6', address: '2001:db8::1' });
  assert.deepEqual(parseMid('<mg1.example.net>:2944'), { kind: 'domain', name: 'mg1.example.net', port: 2944 });
  assert.deepEqual(parseMid('MTP{0A1B2C}'), { kind: 'mtp', hex: '0A1B2C' });
  assert.deepEqual(parseMid('trgw1'), { kind: 'device', name: 'trgw1' });
  assert.equal(midText(parseMid('[2001:db8::1]:7')), '[2001:db8::1]:7');
  assert.throws(() => parseMid('[1.2.3.4]:99999'), (e) => isTrgwdError(e, 'ERR_CONFIG'));
  assert.throws(() => parseMid('<x'), (e) => isTrgwdError(e, 'ERR_CONFIG'));
});

test('a request is executed once; its duplicate gets the identical reply bytes', async (t) => {
  const s = await setup(t);
  const id = s.send(AUDIT_ROOT, 77);
  const first = await s.mgc.next(kindIs('reply', id));
  assert.equal(replyOf(first)?.actions[0]?.commands[0]?.kind, 'auditValue');
  assert.match(first.text, /^MEGACO\/3 \[127\.0\.0\.1\]:2944/);
  s.send(AUDIT_ROOT, 77);
  const again = await s.mgc.next(kindIs('reply', id));
  assert.equal(again.text, first.text);
  assert.equal(s.calls.length, 1, 'executed once');
  assert.equal(await counter(s.metrics, 'trgwd_duplicates_answered_total'), 1);
  assert.equal(await counter(s.metrics, 'trgwd_transactions_total', { command: 'auditValue', result: 'ok' }), 1);
  assert.equal(await counter(s.metrics, 'trgwd_control_messages_total', { transport: 'udp', direction: 'rx' }), 2);
});

test('replies follow the style of the request and carry the engine version', async (t) => {
  const s = await setup(t);
  s.engine.version = 2;
  s.send(AUDIT_ROOT, 5, { style: 'compact', version: 2 });
  const r = await s.mgc.next(kindIs('reply', 5));
  assert.match(r.text, /^!\/2 \[127\.0\.0\.1\]:2944 P=5\{/);
});

test('slow transaction: Pending, Pending for a duplicate, final reply with ImmAckRequired, ack releases it', async (t) => {
  const gate = deferred();
  const s = await setup(t, {
    execute: async (req) => {
      await gate.promise;
      return echo(req);
    },
  });
  const id = s.send(AUDIT_ROOT, 9);
  const pending = await s.mgc.next(kindIs('pending', id));
  assert.match(pending.text, /Pending = 9/);
  s.send(AUDIT_ROOT, 9);
  await s.mgc.next(kindIs('pending', id), 1000, 'Pending for the duplicate');
  gate.resolve();
  const final = await s.mgc.next(kindIs('reply', id));
  assert.equal(replyOf(final)?.immAckRequired, true, 'ImmAckRequired after Pending (H.248.1 D.1.4)');
  assert.equal(s.calls.length, 1);
  // Before the ack: a duplicate gets the cached reply.
  s.send(AUDIT_ROOT, 9);
  assert.equal((await s.mgc.next(kindIs('reply', id))).text, final.text);
  // The controller's TransactionResponseAck releases it: later duplicates are discarded silently.
  s.mgc.send([{ kind: 'responseAck', acks: [{ first: 9 }] }], { to: { port: s.port } });
  await until(() => s.engine.cachedTransactions === 1);
  s.send(AUDIT_ROOT, 9);
  assert.equal(await s.mgc.arrives(kindIs('reply', id), 250), false, 'acknowledged: no reply again');
  assert.equal(s.calls.length, 1, 'and not executed again');
  assert.ok((await counter(s.metrics, 'trgwd_pending_sent_total')) >= 1);
});

test('TransactionResponseAck ranges release several replies at once', async (t) => {
  const s = await setup(t);
  for (const id of [10, 11, 12, 13]) {
    s.send(AUDIT_ROOT, id);
    await s.mgc.next(kindIs('reply', id));
  }
  s.mgc.send([{ kind: 'responseAck', acks: [{ first: 10, last: 12 }] }], { to: { port: s.port } });
  // 13 is still cached: its duplicate is answered (and proves the ack was processed before it).
  s.send(AUDIT_ROOT, 13);
  await s.mgc.next(kindIs('reply', 13));
  for (const id of [10, 11, 12]) s.send(AUDIT_ROOT, id);
  assert.equal(await s.mgc.arrives(kindIs('reply'), 250), false);
  assert.equal(s.calls.length, 4);
});

test('per-transaction syntax errors are answered while the other transactions of the message run', async (t) => {
  const s = await setup(t);
  s.raw(
    [
      'MEGACO/3 [127.0.0.1]:2945',
      'Transaction = 1 { Context = - { Add = } }',
      'Transaction = 2 { Context = - { AuditValue = ROOT } }',
      'Transaction = abc { Context = - { AuditValue = ROOT } }',
      'Transaction = 4 { Context = x { } }',
    ].join('\n'),
  );
  const r1 = replyOf(await s.mgc.next(kindIs('reply', 1)));
  assert.equal(r1?.error?.code, 442);
  const r2 = replyOf(await s.mgc.next(kindIs('reply', 2)));
  assert.equal(r2?.error, undefined);
  assert.equal(r2?.actions[0]?.commands[0]?.kind, 'auditValue');
  const r0 = replyOf(await s.mgc.next(kindIs('reply', 0)));
  assert.equal(r0?.error?.code, 403, 'unreadable TransactionID: reply to id 0 with 403 (H.248.1 §8.2.2)');
  const r4 = replyOf(await s.mgc.next(kindIs('reply', 4)));
  assert.equal(r4?.error?.code, 422);
  assert.equal(s.calls.length, 1);
  assert.equal(await counter(s.metrics, 'trgwd_control_dropped_total', { reason: 'syntax' }), 3);
});

test('garbage, binary and oversized input get a message-level Error 400', async (t) => {
  const s = await setup(t, { maxMessageBytes: 2000 });
  s.raw('hello, is it me you are looking for');
  let r = await s.mgc.next();
  assert.equal(r.msg?.error?.code, 400);
  assert.equal(r.msg?.transactions.length, 0);
  s.raw(Buffer.from([0x30, 0x82, 0x01, 0x00, 0xa1, 0x03]));
  r = await s.mgc.next();
  assert.equal(r.msg?.error?.code, 400);
  assert.match(r.msg?.error?.text ?? '', /binary/);
  s.raw(`MEGACO/3 [127.0.0.1]:2945\nTransaction = 1 { Context = - { AuditValue = ROOT } } ; ${'x'.repeat(3000)}`);
  r = await s.mgc.next();
  assert.equal(r.msg?.error?.code, 400);
  assert.equal(s.calls.length, 0);
  assert.equal(await counter(s.metrics, 'trgwd_control_dropped_total', { reason: 'syntax' }), 1);
  assert.equal(await counter(s.metrics, 'trgwd_control_dropped_total', { reason: 'binary' }), 1);
  assert.equal(await counter(s.metrics, 'trgwd_control_dropped_total', { reason: 'too_large' }), 1);
});

test('a transaction-level failure of the executor becomes an error reply from the error table', async (t) => {
  const s = await setup(t, {
    execute: async () => {
      throw new TrgwdError('ERR_CTRL_NOT_REGISTERED', 'not yet');
    },
  });
  s.send(AUDIT_ROOT, 3);
  const r = replyOf(await s.mgc.next(kindIs('reply', 3)));
  assert.deepEqual(r?.error, { code: 505, text: 'not yet' });
  assert.equal(await counter(s.metrics, 'trgwd_transactions_total', { command: 'auditValue', result: '505' }), 1);
});

test('v3 over UDP: a reply too large for one datagram is segmented; unconfirmed segments are repeated', async (t) => {
  const s = await setup(t, { maxUdpPayload: 700, execute: async () => bigReply(8, 250) });
  const id = s.send(AUDIT_ROOT, 21);
  const segs: Received[] = [];
  for (;;) {
    const r = await s.mgc.next(kindIs('reply', id));
    segs.push(r);
    if (replyOf(r)?.segmentationComplete) break;
  }
  assert.ok(segs.length >= 3, `segments: ${segs.length}`);
  segs.forEach((r, i) => {
    const rep = replyOf(r)!;
    assert.equal(rep.segmentNumber, i + 1);
    assert.ok(Buffer.byteLength(r.text) <= 700, `segment ${i + 1} is ${Buffer.byteLength(r.text)} bytes`);
    assert.equal(rep.segmentationComplete === true, i === segs.length - 1);
  });
  assert.match(segs.at(-1)!.text, new RegExp(`Reply = ${id}/${segs.length}/END`));
  const all = segs.flatMap((r) => replyOf(r)!.actions.map((a) => a.contextId));
  assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7, 8], 'every action reply once, in order');
  // Confirm all but segment 2: only segment 2 comes again.
  for (let n = 1; n <= segs.length; n++) {
    if (n === 2) continue;
    const seg = { kind: 'segmentReply' as const, id, segmentNumber: n, ...(n === segs.length ? { segmentationComplete: true as const } : {}) };
    s.mgc.send([seg], { to: { port: s.port } });
  }
  const again = await s.mgc.next(kindIs('reply', id), 2000, 'repeated segment');
  assert.equal(replyOf(again)?.segmentNumber, 2);
  assert.equal(again.text, segs[1]!.text);
  s.mgc.send([{ kind: 'segmentReply', id, segmentNumber: 2 }], { to: { port: s.port } });
  await until(() => s.engine.segmentedRepliesInFlight === 0, 2000, 'all segments confirmed');
  // A duplicate of the request gets every segment again.
  s.mgc.clear();
  s.send(AUDIT_ROOT, 21);
  for (let n = 1; n <= segs.length; n++) assert.equal((await s.mgc.next(kindIs('reply', id))).text, segs[n - 1]!.text);
  assert.ok((await counter(s.metrics, 'trgwd_retransmissions_total')) >= 1);
});

test('v1 (and v2) over UDP: a reply too large for a datagram is answered 533', async (t) => {
  const s = await setup(t, { version: 1, maxUdpPayload: 700, execute: async () => bigReply(8, 250) });
  s.send(AUDIT_ROOT, 31, { version: 1 });
  const r = await s.mgc.next(kindIs('reply', 31));
  assert.equal(replyOf(r)?.error?.code, 533);
  assert.equal(replyOf(r)?.segmentNumber, undefined);
  assert.match(r.text, /^MEGACO\/1 /);
});

test('v3: one action reply that alone exceeds the datagram is answered 533', async (t) => {
  const s = await setup(t, { maxUdpPayload: 700, execute: async () => bigReply(2, 900) });
  s.send(AUDIT_ROOT, 32);
  const r = await s.mgc.next(kindIs('reply', 32));
  assert.equal(replyOf(r)?.error?.code, 533);
});

test('TCP/TPKT: replies go back on the connection, unsegmented whatever their size', async (t) => {
  const s = await setup(t, { transport: 'tcp', maxUdpPayload: 700, execute: async () => bigReply(8, 250) });
  s.send(AUDIT_ROOT, 41);
  const r = await s.mgc.next(kindIs('reply', 41));
  const rep = replyOf(r)!;
  assert.equal(rep.segmentNumber, undefined);
  assert.equal(rep.actions.length, 8);
  assert.ok(Buffer.byteLength(r.text) > 700);
  s.send(AUDIT_ROOT, 41);
  assert.equal((await s.mgc.next(kindIs('reply', 41))).text, r.text, 'duplicate over TCP answered from the cache');
  assert.equal(s.calls[0]!.info.peer.transport, 'tcp');
});

test('pending limit: a transaction still running after that many Pendings is answered 506', async (t) => {
  const gate = deferred();
  t.after(() => gate.resolve());
  const s = await setup(t, {
    pendingLimit: 2,
    timers: { provisionalResponseMs: 40 },
    execute: async (req) => {
      await gate.promise;
      return echo(req);
    },
  });
  s.send(AUDIT_ROOT, 50);
  await s.mgc.next(kindIs('pending', 50));
  await s.mgc.next(kindIs('pending', 50));
  const r = replyOf(await s.mgc.next(kindIs('reply', 50)));
  assert.equal(r?.error?.code, 506);
  assert.equal(r?.immAckRequired, true);
  gate.resolve();
  assert.equal(await s.mgc.arrives(kindIs('reply', 50), 150), false, 'the late result is dropped');
});

// ---------------------------------------------------------------------------------------------
// Our requests

const NOTIFY: ActionRequest[] = [
  { contextId: 7, commands: [{ kind: 'notify', terminationId: 'ip/1', observedEvents: { requestId: 3, events: [{ name: 'tcpbcc/est' }] } }] },
];

test('our request over UDP is repeated with back-off until answered', async (t) => {
  const s = await setup(t);
  const p = s.engine.request(s.mgc.endpoint, NOTIFY);
  const a = await s.mgc.next();
  const b = await s.mgc.next();
  const c = await s.mgc.next();
  assert.equal(a.text, b.text);
  assert.equal(b.text, c.text);
  assert.ok(c.at - b.at >= b.at - a.at - 5, 'the interval does not shrink');
  s.mgc.reply(c, {});
  const reply = await p;
  assert.equal(reply.actions[0]?.commands[0]?.kind, 'notify');
  assert.ok((await counter(s.metrics, 'trgwd_retransmissions_total')) >= 2);
  assert.equal(s.engine.outstanding, 0);
});

test('a Pending from the controller stops repetition; a final reply with ImmAckRequired is acknowledged', async (t) => {
  const s = await setup(t, { timers: { tMaxMs: 1000 } });
  const p = s.engine.request(s.mgc.endpoint, NOTIFY);
  const req = await s.mgc.next();
  const tid = (firstTx(req) as TransactionRequest).id;
  s.mgc.send([{ kind: 'pending', id: tid }], { to: req.from });
  assert.equal(await s.mgc.arrives(() => true, 300), false, 'no repetition after Pending');
  s.mgc.reply(req, { immAckRequired: true });
  await p;
  const ack = await s.mgc.next(kindIs('responseAck'));
  const k = firstTx(ack);
  assert.deepEqual(k?.kind === 'responseAck' ? k.acks : undefined, [{ first: tid }]);
});

test('no answer within T-MAX: ERR_CTRL_TIMEOUT, counted', async (t) => {
  const s = await setup(t, { timers: { tMaxMs: 250 } });
  await assert.rejects(s.engine.request(s.mgc.endpoint, NOTIFY), (e) => isTrgwdError(e, 'ERR_CTRL_TIMEOUT'));
  assert.equal(await counter(s.metrics, 'trgwd_requests_timed_out_total'), 1);
});

test('a segmented reply to our request is confirmed segment by segment and reassembled', async (t) => {
  const s = await setup(t);
  const p = s.engine.request(s.mgc.endpoint, [
    { contextId: '-', commands: [{ kind: 'notify', terminationId: 'a', observedEvents: { requestId: 1, events: [{ name: 'g/cause' }] } }] },
    { contextId: '-', commands: [{ kind: 'notify', terminationId: 'b', observedEvents: { requestId: 1, events: [{ name: 'g/cause' }] } }] },
    { contextId: '-', commands: [{ kind: 'notify', terminationId: 'c', observedEvents: { requestId: 1, events: [{ name: 'g/cause' }] } }] },
  ]);
  const req = await s.mgc.next();
  const tid = (firstTx(req) as TransactionRequest).id;
  const seg = (n: number, term: string, last = false): TransactionReply => ({
    kind: 'reply',
    id: tid,
    segmentNumber: n,
    ...(last ? { segmentationComplete: true as const } : {}),
    actions: [{ contextId: '-', commands: [{ kind: 'notify', terminationId: term }] }],
  });
  // Out of order, the END one first.
  s.mgc.send([seg(3, 'c', true)], { to: req.from });
  const c3 = await s.mgc.next(kindIs('segmentReply', tid));
  assert.match(c3.text, new RegExp(`Segment = ${tid}/3/END`));
  s.mgc.send([seg(1, 'a')], { to: req.from });
  await s.mgc.next(kindIs('segmentReply', tid));
  s.mgc.send([seg(2, 'b')], { to: req.from });
  await s.mgc.next(kindIs('segmentReply', tid));
  const reply = await p;
  assert.deepEqual(
    reply.actions.map((a) => (a.commands[0] as { terminationId: string }).terminationId),
    ['a', 'b', 'c'],
  );
});

test('TCP: our request is sent once; an unreachable controller fails at once', async (t) => {
  const s = await setup(t, { transport: 'tcp', timers: { tMaxMs: 5000 } });
  const p = s.engine.request(s.mgc.endpoint, NOTIFY);
  const req = await s.mgc.next();
  assert.equal(await s.mgc.arrives(() => true, 200), false, 'no repetition over TCP');
  s.mgc.reply(req, {});
  await p;
  const started = Date.now();
  await assert.rejects(s.engine.request({ address: '127.0.0.1', port: 1, transport: 'tcp' }, NOTIFY), (e) =>
    isTrgwdError(e, 'ERR_CONTROL_CONNECT'),
  );
  assert.ok(Date.now() - started < 2000, 'did not wait for T-MAX');
});

test('close() cancels what is outstanding and stops answering', async (t) => {
  const s = await setup(t);
  const p = s.engine.request(s.mgc.endpoint, NOTIFY);
  await s.mgc.next();
  s.engine.close();
  await assert.rejects(p, (e) => isTrgwdError(e, 'ERR_CTRL_CANCELLED'));
  s.send(AUDIT_ROOT, 60);
  assert.equal(await s.mgc.arrives(kindIs('reply', 60), 150), false);
  await assert.rejects(s.engine.request(s.mgc.endpoint, NOTIFY), (e) => isTrgwdError(e, 'ERR_CTRL_CANCELLED'));
});
