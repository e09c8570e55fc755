import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpControlTransport } from '../../../../daemon/control/transport/udp.js';
import type { ControlPeer, ControlTransportEvent } from '../../../../daemon/control/transport/types.js';
import { isTrgwdError } from '../../../../daemon/errors.js';
import { Inbox } from './helpers.js';

type Rx = { bytes: Buffer; peer: ControlPeer };

async function client(
  type: 'udp4' | 'udp6' = 'udp4',
  address = '127.0.0.1',
): Promise<{ sock: Socket; rx: Inbox<string> }> {
  const sock = createSocket(type);
  const rx = new Inbox<string>();
  sock.on('message', (m) => rx.push(m.toString()));
  sock.bind(0, address);
  await once(sock, 'listening');
  return { sock, rx };
}

function sendFrom(sock: Socket, text: string, port: number, address = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) =>
    sock.send(Buffer.from(text), port, address, (e) => (e ? reject(e) : resolve())),
  );
}

test('request in, reply back to the source address and port', async (t) => {
  const inbox = new Inbox<Rx>();
  const tr = new UdpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ bytes, peer });
      peer.send(Buffer.from(`reply to ${bytes.toString()}`));
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  assert.ok(port > 0);
  assert.deepEqual(tr.address(), { address: '127.0.0.1', port });
  const c = await client();
  t.after(() => c.sock.close());
  await sendFrom(c.sock, 'T=1{}', port);
  const { bytes, peer } = await inbox.next();
  assert.equal(bytes.toString(), 'T=1{}');
  assert.equal(peer.transport, 'udp');
  assert.equal(peer.address, '127.0.0.1');
  assert.equal(peer.port, c.sock.address().port);
  assert.equal(peer.key, `udp:127.0.0.1:${c.sock.address().port}`);
  assert.equal(await c.rx.next(), 'reply to T=1{}');
  assert.equal(tr.counters.messagesReceived, 1);
  assert.equal(tr.counters.bytesReceived, 5);
  assert.equal(tr.counters.messagesSent, 1);
});

test('accept predicate drops and counts messages from unknown peers, without a reply', async (t) => {
  const inbox = new Inbox<Rx>();
  const good = await client();
  const bad = await client();
  t.after(() => {
    good.sock.close();
    bad.sock.close();
  });
  const events: ControlTransportEvent[] = [];
  const tr = new UdpControlTransport({
    address: '127.0.0.1',
    port: 0,
    accept: (peer) => peer.port === good.sock.address().port,
    onEvent: (e) => events.push(e),
    onMessage: (bytes, peer) => {
      inbox.push({ bytes, peer });
      peer.send(Buffer.from('ok'));
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  await sendFrom(bad.sock, 'from stranger', port);
  await sendFrom(good.sock, 'from controller', port);
  assert.equal((await inbox.next()).bytes.toString(), 'from controller');
  assert.equal(await good.rx.next(), 'ok');
  assert.equal(tr.counters.droppedNotAccepted, 1);
  assert.equal(tr.counters.messagesReceived, 1);
  assert.equal(bad.rx.size, 0);
  assert.equal(inbox.size, 0);
  const drop = events.find((e) => e.type === 'dropped');
  assert.ok(
    drop &&
      drop.type === 'dropped' &&
      drop.reason === 'not-accepted' &&
      drop.peer.port === bad.sock.address().port,
  );
});

test('oversize datagrams are dropped and counted; a throwing handler does not stop the transport', async (t) => {
  const inbox = new Inbox<string>();
  const tr = new UdpControlTransport({
    address: '127.0.0.1',
    port: 0,
    maxMessageBytes: 10,
    onMessage: (bytes) => {
      if (bytes.toString() === 'boom') throw new Error('handler bug');
      inbox.push(bytes.toString());
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const c = await client();
  t.after(() => c.sock.close());
  await sendFrom(c.sock, 'this is more than ten bytes', port);
  await sendFrom(c.sock, 'boom', port);
  await sendFrom(c.sock, 'tenbytes!!', port);
  assert.equal(await inbox.next(), 'tenbytes!!');
  assert.equal(tr.counters.droppedOversize, 1);
  assert.equal(tr.counters.handlerErrors, 1);
  assert.equal(tr.counters.messagesReceived, 2);
});

test('sendTo originates a message to a controller, whose answer comes back with that peer', async (t) => {
  const inbox = new Inbox<Rx>();
  const tr = new UdpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => inbox.push({ bytes, peer }),
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const mgc = await client();
  t.after(() => mgc.sock.close());
  const mgcPort = mgc.sock.address().port;
  const from = new Inbox<number>();
  mgc.sock.on('message', (_m, rinfo) => from.push(rinfo.port));
  await tr.sendTo({ address: '127.0.0.1', port: mgcPort }, Buffer.from('SC=ROOT'));
  assert.equal(await mgc.rx.next(), 'SC=ROOT');
  assert.equal(await from.next(), port, 'sent from the bound control port');
  await sendFrom(mgc.sock, 'Reply', port);
  const { peer } = await inbox.next();
  assert.equal(peer.port, mgcPort);
  assert.ok(peer.send(Buffer.from('ack')));
  assert.equal(await mgc.rx.next(), 'ack');
});

test('a bind failure is ERR_BIND naming the address and port', async (t) => {
  const holder = createSocket('udp4');
  holder.bind(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = holder.address().port;
  const tr = new UdpControlTransport({ address: '127.0.0.1', port, onMessage: () => {} });
  await assert.rejects(tr.listen(), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_BIND'));
    assert.match(e.message, new RegExp(`udp 127\\.0\\.0\\.1:${port}`));
    assert.deepEqual(
      { address: e.details?.['address'], port: e.details?.['port'], transport: e.details?.['transport'] },
      { address: '127.0.0.1', port, transport: 'udp' },
    );
    return true;
  });
  await tr.close();
  const bad = new UdpControlTransport({ address: '192.0.2.254', port: 0, onMessage: () => {} });
  await assert.rejects(
    bad.listen(),
    (e) => isTrgwdError(e, 'ERR_BIND') && /192\.0\.2\.254:0/.test(e.message),
  );
  await bad.close();
});

test('close is idempotent; later sends fail without throwing', async () => {
  let captured: ControlPeer | null = null;
  const got = new Inbox<void>();
  const tr = new UdpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (_b, peer) => {
      captured = peer;
      got.push();
    },
  });
  const { port } = await tr.listen();
  const c = await client();
  await sendFrom(c.sock, 'x', port);
  await got.next();
  const p1 = tr.close();
  assert.equal(tr.close(), p1);
  await p1;
  assert.equal(captured!.send(Buffer.from('late')), false);
  await assert.rejects(
    tr.sendTo({ address: '127.0.0.1', port: c.sock.address().port }, Buffer.from('x')),
    (e) => isTrgwdError(e, 'ERR_CONTROL_SEND'),
  );
  assert.equal(tr.counters.sendErrors, 2);
  c.sock.close();
  // closing a transport that was never bound works too
  await new UdpControlTransport({ address: '127.0.0.1', port: 0, onMessage: () => {} }).close();
});

test('IPv6 loopback', async (t) => {
  const inbox = new Inbox<Rx>();
  const tr = new UdpControlTransport({
    address: '::1',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ bytes, peer });
      peer.send(Buffer.from('v6 reply'));
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const c = await client('udp6', '::1');
  t.after(() => c.sock.close());
  await sendFrom(c.sock, 'v6', port, '::1');
  const { peer } = await inbox.next();
  assert.equal(peer.address, '::1');
  assert.equal(peer.key, `udp:[::1]:${c.sock.address().port}`);
  assert.equal(await c.rx.next(), 'v6 reply');
});

test('dual-stack socket reports IPv4 peers as plain IPv4 and can answer and originate to them', async (t) => {
  const inbox = new Inbox<Rx>();
  const tr = new UdpControlTransport({
    address: '::',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ bytes, peer });
      peer.send(Buffer.from('mapped reply'));
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const c = await client();
  t.after(() => c.sock.close());
  await sendFrom(c.sock, 'v4 to dual', port);
  const { peer } = await inbox.next();
  assert.equal(peer.address, '127.0.0.1');
  assert.equal(peer.key, `udp:127.0.0.1:${c.sock.address().port}`);
  assert.equal(await c.rx.next(), 'mapped reply');
  await tr.sendTo({ address: '127.0.0.1', port: c.sock.address().port }, Buffer.from('originated'));
  assert.equal(await c.rx.next(), 'originated');
});
