/**
 * The association (registration, version negotiation, failover, handoff, inactivity, shutdown),
 * driven through a real ControlPlane on loopback with fake controllers.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { ActionRequest, TransactionRequest } from '../../../daemon/control/codec/model.js';
import { isTrgwdError } from '../../../daemon/errors.js';
import {
  FakeMgc,
  firstTx,
  isNotify,
  isServiceChange,
  kindIs,
  replyOf,
  serviceChangeOf,
  startPlane,
  until,
  type Received,
} from '../../helpers/fake-mgc.js';

const AUDIT_ROOT: ActionRequest[] = [{ contextId: '-', commands: [{ kind: 'auditValue', terminationId: 'ROOT' }] }];
const NOTIFY = { contextId: 5, terminationId: 'ip/1', requestId: 2, events: [{ name: 'tcpbcc/est' }] };

async function mgcs(n: number): Promise<FakeMgc[]> {
  const out: FakeMgc[] = [];
  for (let i = 0; i < n; i++) out.push(await FakeMgc.udp());
  return out;
}

function closeAll(t: { after: (fn: () => unknown) => void }, list: FakeMgc[]): void {
  t.after(() => Promise.all(list.map((m) => m.close())));
}

function scServices(r: Received) {
  return serviceChangeOf(r)?.services;
}

test('registration: ServiceChange Restart/901 with Version and Profile on ROOT in Context -', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  assert.equal(s.plane.link.registered, false);
  const r = await a!.acceptRegistration();
  assert.match(r.text, /^MEGACO\/3 \[127\.0\.0\.1\]:2944\n/);
  const tx = firstTx(r) as TransactionRequest;
  assert.equal(tx.actions.length, 1);
  assert.equal(tx.actions[0]!.contextId, '-');
  const sc = serviceChangeOf(r)!;
  assert.equal(sc.terminationId, 'ROOT');
  assert.deepEqual(sc.services, { method: 'restart', reason: '901 Cold Boot', version: 3, profile: { name: 'trgw', version: 1 } });
  await until(() => s.plane.link.registered, 2000, 'registered');
  assert.equal(s.plane.association.version, 3);
  assert.deepEqual(s.readiness.at(-1), { ready: true, reason: `registered with 127.0.0.1:${a!.port}` });
  assert.ok(s.events.some((e) => e.type === 'registration' && e.state === 'registered' && e.controller === `127.0.0.1:${a!.port}`));
  assert.equal(await s.metric('trgwd_registered'), 1);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'accepted' }), 1);
  const line = s.lines.find((l) => l['msg'] === 'registered');
  assert.equal(line?.['controller'], `127.0.0.1:${a!.port}`);
  assert.equal(line?.['version'], 3);
});

test('a request before the ServiceChange reply is answered 505 and not executed', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  const sc = await a!.next(isServiceChange);
  a!.request(AUDIT_ROOT, { id: 11, to: { port: s.port } });
  const r = replyOf(await a!.next(kindIs('reply', 11)));
  assert.equal(r?.error?.code, 505);
  assert.equal(s.handler.calls.length, 0);
  a!.replyServiceChange(sc);
  await until(() => s.plane.link.registered);
  a!.request(AUDIT_ROOT, { id: 12, to: { port: s.port } });
  const ok = replyOf(await a!.next(kindIs('reply', 12)));
  assert.equal(ok?.error, undefined);
  assert.equal(s.handler.calls.length, 1);
  assert.equal(s.handler.calls[0]!.ctx.version, 3);
  assert.equal(s.handler.calls[0]!.ctx.peer.transport, 'udp');
});

test('down the list and round again: refused, then unanswered, then accepted', async (t) => {
  const [a, b] = await mgcs(2);
  closeAll(t, [a!, b!]);
  const s = await startPlane(t, [a!, b!], { control: { timers: { tMaxMs: 300 } } });
  const first = await a!.next(isServiceChange);
  a!.replyServiceChange(first, undefined, { code: 502, text: 'Not ready' });
  const atB = await b!.next(isServiceChange);
  assert.equal(scServices(atB)?.method, 'restart');
  // B never answers: T-MAX, then round two starts at the primary again.
  b!.drop = () => true;
  const again = await a!.next(isServiceChange, 3000, 'second round at the primary');
  assert.deepEqual(scServices(again), { method: 'restart', reason: '901 Cold Boot', version: 3, profile: { name: 'trgw', version: 1 } });
  a!.replyServiceChange(again);
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, a!.port);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'rejected' }), 1);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'timeout' }), 1);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'accepted' }), 1);
  assert.ok(s.events.some((e) => e.type === 'registration' && e.state === 'failed'));
});

test('MgcIdToTry redirects the registration (address or domain name)', async (t) => {
  const [a, b, c] = await mgcs(3);
  closeAll(t, [a!, b!, c!]);
  const s = await startPlane(t, [a!], {}, { resolveName: async (name) => (name === 'mgc-c.test' ? '127.0.0.1' : '192.0.2.99') });
  const r = await a!.next(isServiceChange);
  a!.replyServiceChange(r, { mgcIdToTry: { kind: 'ip4', address: '127.0.0.1', port: b!.port } });
  const atB = await b!.next(isServiceChange);
  assert.equal(scServices(atB)?.method, 'restart', 'same method and reason at the new MGC');
  assert.equal(scServices(atB)?.reason, '901 Cold Boot');
  b!.replyServiceChange(atB, { mgcIdToTry: { kind: 'domain', name: 'mgc-c.test', port: c!.port } });
  await c!.acceptRegistration();
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, c!.port);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'redirected' }), 2);
  // The controller we were sent to may send commands.
  c!.request(AUDIT_ROOT, { id: 3, to: { port: s.port } });
  assert.equal(replyOf(await c!.next(kindIs('reply', 3)))?.error, undefined);
});

test('version negotiation: a lower version is adopted; higher messages then get 406', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  await a!.acceptRegistration({ version: 2 });
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.version, 2);
  a!.request(AUDIT_ROOT, { id: 20, version: 2, to: { port: s.port } });
  const ok = await a!.next(kindIs('reply', 20));
  assert.match(ok.text, /^MEGACO\/2 /, 'replies use the negotiated version');
  assert.equal(replyOf(ok)?.error, undefined);
  a!.request(AUDIT_ROOT, { id: 21, version: 3, to: { port: s.port } });
  const no = await a!.next(kindIs('reply', 21));
  assert.equal(replyOf(no)?.error?.code, 406);
  // Our own requests use it too.
  const p = s.plane.link.notify(NOTIFY);
  const n = await a!.next(isNotify);
  assert.match(n.text, /^MEGACO\/2 /);
  a!.reply(n, {});
  await p;
});

test('version negotiation: a controller answering with a higher version is a failed attempt', async (t) => {
  const [a, b] = await mgcs(2);
  closeAll(t, [a!, b!]);
  const s = await startPlane(t, [a!, b!], { mg: { version: 2 } });
  const r = await a!.next(isServiceChange);
  assert.equal(scServices(r)?.version, 2);
  assert.match(r.text, /^MEGACO\/2 /);
  a!.replyServiceChange(r, { version: 3 });
  await b!.acceptRegistration({ version: 1 });
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, b!.port);
  assert.equal(s.plane.association.version, 1);
  assert.equal(await s.metric('trgwd_registration_attempts_total', { result: 'rejected' }), 1);
});

test('Notify is repeated until answered', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  const p = s.plane.link.notify(NOTIFY);
  const n1 = await a!.next(isNotify);
  const n2 = await a!.next(isNotify);
  assert.equal(n1.text, n2.text, 'the same transaction again');
  const cmd = (firstTx(n2) as TransactionRequest).actions[0]!;
  assert.equal(cmd.contextId, 5);
  assert.deepEqual(cmd.commands[0], { kind: 'notify', terminationId: 'ip/1', observedEvents: { requestId: 2, events: [{ name: 'tcpbcc/est' }] } });
  a!.reply(n2, {});
  await p;
  assert.ok((await s.metric('trgwd_retransmissions_total')) >= 1);
});

test('a Notify refused by the controller rejects with its error code; not before registration', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  await assert.rejects(s.plane.link.notify(NOTIFY), (e) => isTrgwdError(e, 'ERR_CTRL_NOT_REGISTERED'));
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  const p = s.plane.link.notify(NOTIFY);
  a!.reply(await a!.next(isNotify), { error: { code: 411, text: 'unknown context' } });
  await assert.rejects(p, (e) => isTrgwdError(e, 'ERR_CTRL_REJECTED') && e.details?.['h248'] === 411);
  assert.equal(s.plane.link.registered, true, 'an error answer is an answer: still registered');
});

test('controller lost (Notify unanswered): Failover/909 to the next one, back with Disconnected/900', async (t) => {
  const [a, b] = await mgcs(2);
  closeAll(t, [a!, b!]);
  const s = await startPlane(t, [a!, b!], { control: { timers: { tMaxMs: 300 } } });
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  a!.drop = () => true;
  await assert.rejects(s.plane.link.notify(NOTIFY), (e) => isTrgwdError(e, 'ERR_CTRL_TIMEOUT'));
  assert.equal(s.plane.link.registered, false);
  assert.deepEqual(s.readiness.at(-1)?.ready, false);
  // §11.5: the primary failed, so start at the first secondary.
  const atB = await b!.next(isServiceChange);
  assert.deepEqual(scServices(atB), { method: 'failover', reason: '909 MGC Impending Failure', version: 3, profile: { name: 'trgw', version: 1 } });
  b!.drop = () => true;
  a!.drop = undefined;
  a!.clear();
  const back = await a!.next(isServiceChange, 3000, 'ServiceChange back at the lost controller');
  assert.equal(scServices(back)?.method, 'disconnected');
  assert.equal(scServices(back)?.reason, '900 Service Restored');
  a!.replyServiceChange(back);
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, a!.port);
  assert.ok(s.events.some((e) => e.type === 'registration' && e.state === 'unregistered'));
  assert.ok((await s.metric('trgwd_requests_timed_out_total')) >= 2);
});

test('controller lost: a secondary that answers takes over', async (t) => {
  const [a, b] = await mgcs(2);
  closeAll(t, [a!, b!]);
  const s = await startPlane(t, [a!, b!], { control: { timers: { tMaxMs: 300 } } });
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  a!.drop = () => true;
  await assert.rejects(s.plane.link.notify(NOTIFY));
  const atB = await b!.acceptRegistration();
  assert.equal(scServices(atB)?.method, 'failover');
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, b!.port);
  const p = s.plane.link.notify(NOTIFY);
  b!.reply(await b!.next(isNotify), {});
  await p;
});

test('inactivity timer it/ito: Notify when the controller is silent for mit; lost when unanswered', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!], { control: { timers: { tMaxMs: 300 } } });
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  s.plane.onRootEvents(44, [{ name: 'it/ito', params: [{ name: 'mit', relation: '=', value: '250' }] }]);
  const started = Date.now();
  const ito = await a!.next(isNotify, 2000, 'it/ito Notify');
  assert.ok(Date.now() - started >= 200, 'not before mit');
  const cmd = (firstTx(ito) as TransactionRequest).actions[0]!;
  assert.equal(cmd.contextId, '-');
  assert.deepEqual(cmd.commands[0], { kind: 'notify', terminationId: 'ROOT', observedEvents: { requestId: 44, events: [{ name: 'it/ito' }] } });
  a!.reply(ito, {});
  // Traffic from the controller keeps the timer from firing.
  for (let i = 0; i < 5; i++) {
    a!.request(AUDIT_ROOT, { to: { port: s.port } });
    await a!.next(kindIs('reply'));
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(a!.queued.some(isNotify), false, 'no it/ito while the controller talks');
  // Silence, and the it/ito Notify goes unanswered: the controller is lost.
  a!.drop = isNotify;
  await until(() => !s.plane.link.registered, 3000, 'controller declared lost');
  a!.drop = undefined;
  const re = await a!.next(isServiceChange);
  assert.equal(scServices(re)?.method, 'disconnected', 'the only controller, contacted again');
});

test('HandOff from the controller: reply, then HandOff/903 to the MGC it names', async (t) => {
  const [a, c] = await mgcs(2);
  closeAll(t, [a!, c!]);
  const s = await startPlane(t, [a!]);
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  a!.request(
    [
      {
        contextId: '-',
        commands: [
          {
            kind: 'serviceChange',
            terminationId: 'ROOT',
            services: { method: 'handOff', reason: '903 MGC Directed Change', mgcIdToTry: { kind: 'ip4', address: '127.0.0.1', port: c!.port } },
          },
        ],
      },
    ],
    { id: 70, to: { port: s.port } },
  );
  const rep = replyOf(await a!.next(kindIs('reply', 70)));
  assert.equal(rep?.error, undefined);
  assert.equal(rep?.actions[0]?.commands[0]?.kind, 'serviceChange');
  const atC = await c!.acceptRegistration();
  assert.equal(scServices(atC)?.method, 'handOff');
  assert.equal(scServices(atC)?.reason, '903 MGC Directed Change');
  await until(() => s.plane.link.registered);
  assert.equal(s.plane.association.controller?.port, c!.port);
  assert.equal(s.handler.calls.length, 0, 'ServiceChange on ROOT is the association\'s business');
});

test('HandOff without MgcIdToTry is answered 472; Forced on ROOT makes us register again', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!]);
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  const sc = (method: 'handOff' | 'forced'): ActionRequest[] => [
    { contextId: '-', commands: [{ kind: 'serviceChange', terminationId: 'ROOT', services: { method, reason: '905 Termination taken out of service' } }] },
  ];
  a!.request(sc('handOff'), { id: 80, to: { port: s.port } });
  assert.equal(replyOf(await a!.next(kindIs('reply', 80)))?.error?.code, 472);
  const mtp = sc('handOff');
  (mtp[0]!.commands[0] as { services: object }).services = { method: 'handOff', reason: '903', mgcIdToTry: { kind: 'mtp', hex: '0A1B' } };
  a!.request(mtp, { id: 79, to: { port: s.port } });
  assert.equal(replyOf(await a!.next(kindIs('reply', 79)))?.error?.code, 449, 'an MgcIdToTry we cannot reach');
  assert.equal(s.plane.link.registered, true);
  a!.request(sc('forced'), { id: 81, to: { port: s.port } });
  assert.equal(replyOf(await a!.next(kindIs('reply', 81)))?.error, undefined);
  const re = await a!.next(isServiceChange);
  assert.equal(scServices(re)?.method, 'restart');
  assert.equal(scServices(re)?.reason, '903 MGC Directed Change');
  a!.replyServiceChange(re);
  await until(() => s.plane.link.registered);
});

test('shutdown: ServiceChange Graceful/905 with the configured Delay, then unregistered', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!], { control: { timers: { gracefulDelayS: 5 } } });
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  const closing = s.plane.close();
  const g = await a!.next(isServiceChange);
  assert.deepEqual(scServices(g), { method: 'graceful', reason: '905 Termination taken out of service', delay: 5 });
  assert.equal(serviceChangeOf(g)?.terminationId, 'ROOT');
  a!.replyServiceChange(g);
  await closing;
  assert.equal(s.plane.link.registered, false);
  assert.deepEqual(s.readiness.at(-1), { ready: false, reason: 'shutting down' });
  assert.equal(await s.metric('trgwd_registered'), 0);
  await s.plane.close();
});

test('shutdown without Delay when it is 0, bounded when the controller does not answer', async (t) => {
  const [a] = await mgcs(1);
  closeAll(t, [a!]);
  const s = await startPlane(t, [a!], { control: { timers: { gracefulDelayS: 0, gracefulReplyWaitMs: 200 } } });
  await a!.acceptRegistration();
  await until(() => s.plane.link.registered);
  const started = Date.now();
  const closing = s.plane.close();
  const g = await a!.next(isServiceChange);
  assert.deepEqual(scServices(g), { method: 'graceful', reason: '905 Termination taken out of service' });
  await closing;
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 2000, `close took ${took} ms`);
});
