/**
 * The ControlPlane part: binding, log lines, admission of controllers, TCP/TPKT end to end,
 * lifecycle.
 */
import { strict as assert } from 'node:assert';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { ActionRequest } from '../../../daemon/control/codec/model.js';
import { ControlPlane } from '../../../daemon/control/control-plane.js';
import { isTrgwdError } from '../../../daemon/errors.js';
import { silentLogger } from '../../../daemon/observe/log.js';
import {
  FakeHandler,
  FakeMgc,
  deferred,
  isNotify,
  isServiceChange,
  kindIs,
  replyOf,
  serviceChangeOf,
  startPlane,
  testConfig,
  until,
} from '../../helpers/fake-mgc.js';

const AUDIT_ROOT: ActionRequest[] = [{ contextId: '-', commands: [{ kind: 'auditValue', terminationId: 'ROOT' }] }];

test('start binds UDP and TCP on one port and logs one line per transport', async (t) => {
  const a = await FakeMgc.udp();
  t.after(() => a.close());
  const s = await startPlane(t, [a]);
  const listening = s.lines.filter((l) => l['msg'] === 'control listening');
  assert.deepEqual(
    listening.map((l) => [l['transport'], l['address'], l['port']]).sort(),
    [
      ['tcp', '127.0.0.1', s.port],
      ['udp', '127.0.0.1', s.port],
    ],
  );
  assert.ok(s.port > 0);
  assert.deepEqual(s.plane.endpoint, { address: '127.0.0.1', port: s.port });
  // The gateway's TCP port answers too.
  const sock = connect({ port: s.port, host: '127.0.0.1' });
  await once(sock, 'connect');
  sock.destroy();
  await a.acceptRegistration();
  await until(() => s.plane.link.registered);
  await s.plane.close();
  await s.plane.close();
  assert.equal(s.plane.link.registered, false);
});

test('only the transports listed are opened', async (t) => {
  const a = await FakeMgc.udp();
  t.after(() => a.close());
  const s = await startPlane(t, [a], { control: { transports: ['udp'] } });
  assert.deepEqual(
    s.lines.filter((l) => l['msg'] === 'control listening').map((l) => l['transport']),
    ['udp'],
  );
});

test('a busy port is a fatal ERR_BIND at start', async (t) => {
  const busy = createSocket('udp4');
  busy.bind(0, '127.0.0.1');
  await once(busy, 'listening');
  t.after(() => busy.close());
  const config = testConfig({ control: { listen: { address: '127.0.0.1', port: busy.address().port }, transports: ['udp'] } });
  const plane = new ControlPlane({ config, handler: new FakeHandler(), log: silentLogger() });
  await assert.rejects(plane.start(), (e) => isTrgwdError(e, 'ERR_BIND'));
  await plane.close();
});

test('a controller on a transport that is not listed is a configuration error', async () => {
  const config = testConfig({ control: { transports: ['udp'], controllers: [{ address: '127.0.0.1', port: 2945, transport: 'tcp' }] } });
  const plane = new ControlPlane({ config, handler: new FakeHandler(), log: silentLogger() });
  await assert.rejects(plane.start(), (e) => isTrgwdError(e, 'ERR_CONFIG'));
  await plane.close();
});

test('sources that are not configured controllers are dropped without a reply, and counted', async (t) => {
  const a = await FakeMgc.udp();
  const intruder = await FakeMgc.udp({ bindAddress: '127.0.0.2' });
  const tcpIntruder = await FakeMgc.tcp({ bindAddress: '127.0.0.2' });
  t.after(() => Promise.all([a.close(), intruder.close(), tcpIntruder.close()]));
  const s = await startPlane(t, [a]);
  await a.acceptRegistration();
  await until(() => s.plane.link.registered);
  intruder.request(AUDIT_ROOT, { id: 1, to: { port: s.port } });
  intruder.sendRaw('garbage', { port: s.port });
  assert.equal(await intruder.arrives(() => true, 250), false, 'no reply at all, not even 400');
  await assert.rejects(
    (async () => {
      await tcpIntruder.connectTo(s.port);
      tcpIntruder.request(AUDIT_ROOT, { id: 2 });
      await tcpIntruder.next(() => true, 300);
    })(),
  );
  assert.equal(s.handler.calls.length, 0);
  assert.equal(await s.metric('trgwd_control_dropped_total', { reason: 'unauthorized' }), 3);
  // The configured controller is served.
  a.request(AUDIT_ROOT, { id: 3, to: { port: s.port } });
  assert.equal(replyOf(await a.next(kindIs('reply', 3)))?.error, undefined);
});

test('TCP/TPKT controller: registration, requests on the same connection, Pending, Notify', async (t) => {
  const a = await FakeMgc.tcp();
  t.after(() => a.close());
  const s = await startPlane(t, [a], { control: { timers: { provisionalResponseMs: 60 } } });
  const r = await a.acceptRegistration();
  assert.equal(serviceChangeOf(r)?.services.method, 'restart');
  await until(() => s.plane.link.registered);
  // The gateway opened the connection; the controller sends its requests back on it.
  a.request(AUDIT_ROOT, { id: 5 });
  const rep = await a.next(kindIs('reply', 5));
  assert.equal(replyOf(rep)?.error, undefined);
  a.request(AUDIT_ROOT, { id: 5 });
  assert.equal((await a.next(kindIs('reply', 5))).text, rep.text, 'duplicate answered from the cache');
  // A slow command: Pending, then the reply with ImmAckRequired, acknowledged by the controller.
  const gate = deferred();
  s.handler.gate = gate.promise;
  a.request(AUDIT_ROOT, { id: 6 });
  await a.next(kindIs('pending', 6));
  gate.resolve();
  assert.equal(replyOf(await a.next(kindIs('reply', 6)))?.immAckRequired, true);
  a.send([{ kind: 'responseAck', acks: [{ first: 6 }] }]);
  s.handler.gate = undefined;
  // Notify over TCP.
  const p = s.plane.link.notify({ contextId: 1, terminationId: 'ip/1', requestId: 9, events: [{ name: 'tcpbcc/rel' }] });
  a.reply(await a.next(isNotify), {});
  await p;
  assert.equal(s.handler.calls.length, 2, 'the duplicate was not executed');
  assert.equal(s.handler.calls[0]!.ctx.peer.transport, 'tcp');
  assert.ok((await s.metric('trgwd_control_messages_total', { transport: 'tcp', direction: 'tx' })) >= 5);
});

test('a command right behind the registration reply (same TCP read, even the same message) is executed, not 505', async (t) => {
  const a = await FakeMgc.tcp();
  t.after(() => a.close());
  const s = await startPlane(t, [a]);
  const r = await a.next(isServiceChange, 3000, 'ServiceChange');
  const sc = r.msg!.transactions[0] as { id: number };
  // One H.248 message with the ServiceChange reply and a request: delivered in one read.
  a.send([
    { kind: 'reply', id: sc.id, actions: [{ contextId: '-', commands: [{ kind: 'serviceChange', terminationId: 'ROOT' }] }] },
    { kind: 'request', id: 77, actions: AUDIT_ROOT },
  ]);
  const rep = await a.next(kindIs('reply', 77));
  assert.equal(replyOf(rep)?.error, undefined, rep.text);
  assert.equal(s.plane.link.registered, true);
});

test('a TCP controller that cannot be reached is tried again, then registration succeeds', async (t) => {
  const gone = await FakeMgc.tcp();
  const port = gone.port;
  await gone.close();
  const s = await startPlane(t, [{ endpoint: { address: '127.0.0.1', port, transport: 'tcp' } } as FakeMgc]);
  // Nobody listens: each attempt fails at once (connection refused) and is retried with back-off.
  await until(() => s.lines.some((l) => l['msg'] === 'registration not answered'), 2000, 'a failed attempt');
  assert.equal(s.plane.link.registered, false);
  const a = await FakeMgc.tcp({ port });
  t.after(() => a.close());
  await a.acceptRegistration();
  await until(() => s.plane.link.registered);
  assert.ok((await s.metric('trgwd_registration_attempts_total', { result: 'timeout' })) >= 1);
});

test('registration is visible on readiness and /events; close publishes unregistered', async (t) => {
  const a = await FakeMgc.udp();
  t.after(() => a.close());
  const s = await startPlane(t, [a]);
  assert.deepEqual(s.readiness[0], { ready: false, reason: 'registering with a controller' });
  const states: string[] = [];
  await a.acceptRegistration();
  await until(() => s.plane.link.registered);
  const closing = s.plane.close();
  a.replyServiceChange(await a.next(isServiceChange));
  await closing;
  for (const e of s.events) if (e.type === 'registration') states.push(e.state);
  assert.deepEqual(states, ['registering', 'registered', 'unregistered']);
});
