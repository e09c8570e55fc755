import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { loadConfigOrThrow } from '../../../config/loader.js';
import { Gateway } from '../../../daemon/gateway.js';
import { silentLogger } from '../../../daemon/observe/log.js';

let gw: Gateway;
let base: string;

before(async () => {
  const config = loadConfigOrThrow({ env: {}, sets: ['ops.listen.port=0', 'ops.maxEventClients=2', 'control.listen.port=0'] });
  gw = new Gateway(config, { log: silentLogger() });
  await gw.start();
  base = `127.0.0.1:${gw.ops!.address.port}`;
});

after(async () => {
  await gw.stop();
});

test('/healthz answers 200 while the process lives', async () => {
  const r = await fetch(`http://${base}/healthz`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'ok\n');
});

test('/readyz is 503 with the reason until registered, then 200', async () => {
  const r1 = await fetch(`http://${base}/readyz`);
  assert.equal(r1.status, 503);
  assert.match(await r1.text(), /^not ready: .*regist/);
  gw.setReadiness({ ready: true, reason: 'registered with 127.0.0.1:2945' });
  const r2 = await fetch(`http://${base}/readyz`);
  assert.equal(r2.status, 200);
  assert.match(await r2.text(), /registered with 127\.0\.0\.1:2945/);
  gw.setReadiness({ ready: false, reason: 'not registered with a controller' });
});

test('/metrics serves Prometheus text with our metrics (HELP and TYPE) and process metrics', async () => {
  gw.metrics.contexts.set(3);
  const r = await fetch(`http://${base}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  const body = await r.text();
  assert.match(body, /# HELP trgwd_contexts Contexts in existence\./);
  assert.match(body, /# TYPE trgwd_transactions_total counter/);
  assert.match(body, /^trgwd_contexts 3$/m);
  assert.match(body, /^trgwd_build_info\{version="\d+\.\d+\.\d+"\} 1$/m);
  assert.match(body, /^process_cpu_user_seconds_total /m);
});

test('unknown paths are 404, other methods 405', async () => {
  assert.equal((await fetch(`http://${base}/nope`)).status, 404);
  assert.equal((await fetch(`http://${base}/metrics`, { method: 'POST' })).status, 405);
});

test('/events streams lifecycle events as JSON objects with type and time stamp', async () => {
  const ws = new WebSocket(`ws://${base}/events`);
  const messages: Record<string, unknown>[] = [];
  const got = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer) => {
      messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      if (messages.some((m) => m.type === 'context.created')) resolve();
    });
  });
  await once(ws, 'open');
  // the hello comes first and carries the readiness
  await new Promise<void>((resolve) => (messages.length > 0 ? resolve() : ws.once('message', () => resolve())));
  gw.events.publish({ type: 'context.created', context: 42 });
  await got;
  assert.equal(messages[0]!.type, 'hello');
  const ev = messages.find((m) => m.type === 'context.created')!;
  assert.equal(ev.context, 42);
  assert.match(String(ev.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  ws.close();
  await once(ws, 'close');
});

test('the number of /events clients is bounded by ops.maxEventClients', async () => {
  const a = new WebSocket(`ws://${base}/events`);
  const b = new WebSocket(`ws://${base}/events`);
  await Promise.all([once(a, 'open'), once(b, 'open')]);
  const c = new WebSocket(`ws://${base}/events`);
  const [err] = (await once(c, 'error')) as [Error];
  assert.match(err.message, /503/);
  a.close();
  b.close();
  await Promise.all([once(a, 'close'), once(b, 'close')]);
  const body = await (await fetch(`http://${base}/metrics`)).text();
  assert.match(body, /^trgwd_event_clients_dropped_total\{reason="limit"\} 1$/m);
});
