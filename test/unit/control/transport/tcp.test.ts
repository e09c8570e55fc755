import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { TcpControlTransport } from '../../../../daemon/control/transport/tcp.js';
import { openControlTransports } from '../../../../daemon/control/transport/index.js';
import { TpktDeframer, encodeTpkt } from '../../../../daemon/control/transport/tpkt.js';
import type {
  ControlPeer,
  ControlTransportEvent,
  TcpControlTransportOptions,
} from '../../../../daemon/control/transport/types.js';
import { isTrgwdError } from '../../../../daemon/errors.js';
import { Inbox, TpktClient } from './helpers.js';

type Rx = { text: string; peer: ControlPeer };

/** A transport that echoes `reply to <msg>` and records what it got. */
async function echoTransport(
  t: { after(fn: () => unknown): void },
  extra: Partial<TcpControlTransportOptions> = {},
): Promise<{
  tr: TcpControlTransport;
  port: number;
  inbox: Inbox<Rx>;
  events: ControlTransportEvent[];
  closes: Inbox<ControlTransportEvent>;
}> {
  const inbox = new Inbox<Rx>();
  const events: ControlTransportEvent[] = [];
  const closes = new Inbox<ControlTransportEvent>();
  const tr = new TcpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ text: bytes.toString(), peer });
      peer.send(Buffer.from(`reply to ${bytes.toString()}`));
    },
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'connection-close') closes.push(e);
    },
    ...extra,
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  return { tr, port, inbox, events, closes };
}

test('request in, TPKT-framed reply on the same connection', async (t) => {
  const { tr, port, inbox } = await echoTransport(t);
  const c = await TpktClient.connect(port);
  t.after(() => c.end());
  c.send('T=1{}');
  const { text, peer } = await inbox.next();
  assert.equal(text, 'T=1{}');
  assert.equal(peer.transport, 'tcp');
  assert.equal(peer.address, '127.0.0.1');
  assert.equal(peer.port, c.socket.localPort);
  assert.equal(peer.key, `tcp:127.0.0.1:${c.socket.localPort}`);
  assert.equal(await c.messages.next(), 'reply to T=1{}');
  assert.equal(tr.counters.connectionsAccepted, 1);
  assert.equal(tr.counters.connectionsCurrent, 1);
  assert.equal(tr.counters.messagesReceived, 1);
  assert.equal(tr.counters.messagesSent, 1);
});

test('many messages in one write, and one message written a byte at a time', async (t) => {
  const { port, inbox } = await echoTransport(t);
  const c = await TpktClient.connect(port);
  t.after(() => c.end());
  c.raw(Buffer.concat(['a', 'b', 'c'].map((s) => encodeTpkt(Buffer.from(s)))));
  assert.deepEqual(
    [(await inbox.next()).text, (await inbox.next()).text, (await inbox.next()).text],
    ['a', 'b', 'c'],
  );
  const frame = encodeTpkt(Buffer.from('MEGACO/3 [192.0.2.1]:2944 T=9{C=-{AV=ROOT{}}}'));
  for (let i = 0; i < frame.length; i++) {
    c.raw(frame.subarray(i, i + 1));
    // wait for the byte to leave so that the server really sees separate chunks
    await new Promise<void>((resolve) => c.socket.write(Buffer.alloc(0), () => resolve()));
  }
  assert.equal((await inbox.next()).text, 'MEGACO/3 [192.0.2.1]:2944 T=9{C=-{AV=ROOT{}}}');
  for (const m of ['reply to a', 'reply to b', 'reply to c']) assert.equal(await c.messages.next(), m);
});

test("messages of one read are handed over one at a time: each one's promise continuations run first", async (t) => {
  // As over UDP (one callback per datagram): a reply sent from an async handler goes out before the
  // next message of the same read is decoded, instead of after the whole batch.
  const log: string[] = [];
  const tr = new TcpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => {
      const m = bytes.toString();
      log.push(`got ${m}`);
      void (async () => {
        await null;
        await null;
        log.push(`replied ${m}`);
        peer.send(Buffer.from(`reply to ${m}`));
      })();
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const c = await TpktClient.connect(port);
  t.after(() => c.end());
  c.raw(Buffer.concat(['a', 'b', 'c'].map((s) => encodeTpkt(Buffer.from(s)))));
  for (const m of ['reply to a', 'reply to b', 'reply to c']) assert.equal(await c.messages.next(), m);
  assert.deepEqual(log, ['got a', 'replied a', 'got b', 'replied b', 'got c', 'replied c']);
});

test('messages before a bad TPKT header in the same read are still handed over', async (t) => {
  const { tr, port, inbox } = await echoTransport(t);
  const c = await TpktClient.connect(port);
  t.after(() => c.end());
  c.raw(
    Buffer.concat([encodeTpkt(Buffer.from('a')), encodeTpkt(Buffer.from('b')), Buffer.from('no header')]),
  );
  await c.closed;
  assert.deepEqual([(await inbox.next()).text, (await inbox.next()).text], ['a', 'b']);
  assert.equal(tr.counters.messagesReceived, 2);
  assert.equal(tr.counters.framingErrors, 1);
});

test('a bad TPKT header closes that connection only', async (t) => {
  const { tr, port, inbox, events } = await echoTransport(t);
  const good = await TpktClient.connect(port);
  const bad = await TpktClient.connect(port);
  t.after(() => {
    good.end();
    bad.end();
  });
  bad.send('first is fine');
  assert.equal((await inbox.next()).text, 'first is fine');
  bad.raw(Buffer.from('MEGACO/1 [1.2.3.4]:2944 T=1{}')); // no TPKT header
  await bad.closed;
  assert.equal(tr.counters.framingErrors, 1);
  good.send('still here');
  assert.equal((await inbox.next()).text, 'still here');
  assert.equal(await good.messages.next(), 'reply to still here');
  const fe = events.find((e) => e.type === 'framing-error');
  assert.ok(fe && fe.type === 'framing-error' && isTrgwdError(fe.error, 'ERR_TPKT_BAD_VERSION'));
  const closeEv = events.find((e) => e.type === 'connection-close');
  assert.ok(closeEv && closeEv.type === 'connection-close' && closeEv.reason === 'framing');
});

test('a header announcing more than maxMessageBytes closes the connection before the body arrives', async (t) => {
  const { tr, port } = await echoTransport(t, { maxMessageBytes: 100 });
  const c = await TpktClient.connect(port);
  c.raw(Buffer.from([3, 0, 0, 105])); // 101-byte body
  await c.closed;
  assert.equal(tr.counters.framingErrors, 1);
  const ok = await TpktClient.connect(port);
  t.after(() => ok.end());
  ok.send('x'.repeat(100));
  assert.equal(await ok.messages.next(), `reply to ${'x'.repeat(100)}`);
});

test('accept predicate closes connections from unknown peers and counts them', async (t) => {
  let allow = false;
  const { tr, port, inbox, events } = await echoTransport(t, { accept: () => allow });
  const stranger = await TpktClient.connect(port);
  stranger.send('let me in');
  await stranger.closed;
  assert.equal(tr.counters.droppedNotAccepted, 1);
  assert.equal(tr.counters.messagesReceived, 0);
  assert.equal(inbox.size, 0);
  assert.ok(events.some((e) => e.type === 'connection-rejected' && e.reason === 'not-accepted'));
  allow = true;
  const friend = await TpktClient.connect(port);
  t.after(() => friend.end());
  friend.send('hello');
  assert.equal(await friend.messages.next(), 'reply to hello');
});

test('maxConnections: connections beyond the limit are closed and counted', async (t) => {
  const { tr, port, inbox, closes } = await echoTransport(t, { maxConnections: 2 });
  const a = await TpktClient.connect(port);
  const b = await TpktClient.connect(port);
  t.after(() => {
    a.end();
    b.end();
  });
  // make sure the server has registered both before the third arrives
  a.send('a');
  b.send('b');
  await inbox.next();
  await inbox.next();
  const c = await TpktClient.connect(port);
  await c.closed;
  assert.equal(tr.counters.connectionsRejected, 1);
  assert.equal(tr.counters.connectionsCurrent, 2);
  a.end();
  await closes.next(); // the slot comes back once the server has seen the close
  assert.equal(tr.counters.connectionsCurrent, 1);
  const d = await TpktClient.connect(port);
  t.after(() => d.end());
  d.send('d');
  assert.equal(await d.messages.next(), 'reply to d');
});

/** A fake controller (MGC) listening on TCP and speaking TPKT. */
async function fakeMgc(t: { after(fn: () => unknown): void }): Promise<{
  server: Server;
  port: number;
  conns: Inbox<Socket>;
  rx: Inbox<{ text: string; sock: Socket }>;
  connections: () => number;
}> {
  const conns = new Inbox<Socket>();
  const rx = new Inbox<{ text: string; sock: Socket }>();
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    count++;
    sockets.add(sock);
    const d = new TpktDeframer();
    sock.on('data', (chunk: Buffer) => {
      for (const m of d.push(chunk)) rx.push({ text: m.toString(), sock });
    });
    sock.on('error', () => {});
    conns.push(sock);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { server, port: addr.port, conns, rx, connections: () => count };
}

test('sendTo opens a connection to the controller and reuses it; answers arrive with that peer', async (t) => {
  const mgc = await fakeMgc(t);
  const inbox = new Inbox<Rx>();
  const events: ControlTransportEvent[] = [];
  const closes = new Inbox<ControlTransportEvent>();
  const tr = new TcpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => inbox.push({ text: bytes.toString(), peer }),
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'connection-close') closes.push(e);
    },
  });
  t.after(() => tr.close());
  // no listen(): a gateway may talk to its controller over TCP without accepting connections
  const dest = { address: '127.0.0.1', port: mgc.port };
  await Promise.all([tr.sendTo(dest, Buffer.from('SC 1')), tr.sendTo(dest, Buffer.from('SC 2'))]);
  await tr.sendTo(dest, Buffer.from('N 3'));
  const got = [(await mgc.rx.next()).text, (await mgc.rx.next()).text, (await mgc.rx.next()).text];
  assert.deepEqual(got.sort(), ['N 3', 'SC 1', 'SC 2']);
  assert.equal(mgc.connections(), 1, 'one connection, reused');
  assert.equal(tr.counters.connectionsOpened, 1);
  assert.ok(events.some((e) => e.type === 'connection-open' && e.direction === 'out'));
  const sock = await mgc.conns.next();
  sock.write(encodeTpkt(Buffer.from('Reply 1')));
  const { text, peer } = await inbox.next();
  assert.equal(text, 'Reply 1');
  assert.equal(peer.port, mgc.port);
  assert.equal(peer.key, `tcp:127.0.0.1:${mgc.port}`);
  assert.ok(peer.send(Buffer.from('ack via peer')));
  assert.equal((await mgc.rx.next()).text, 'ack via peer');
  assert.deepEqual(
    tr.peers().map((p) => p.key),
    [`tcp:127.0.0.1:${mgc.port}`],
  );
  // the controller drops the connection: the next sendTo reconnects
  sock.destroy();
  const closed = await closes.next();
  assert.ok(closed.type === 'connection-close' && closed.direction === 'out' && closed.reason === 'remote');
  await tr.sendTo(dest, Buffer.from('after reconnect'));
  assert.equal((await mgc.rx.next()).text, 'after reconnect');
  assert.equal(mgc.connections(), 2);
});

test('sendTo to a closed port rejects with ERR_CONTROL_CONNECT', async (t) => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const tr = new TcpControlTransport({ address: '127.0.0.1', port: 0, onMessage: () => {} });
  t.after(() => tr.close());
  await assert.rejects(tr.sendTo({ address: '127.0.0.1', port }, Buffer.from('x')), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_CONTROL_CONNECT'));
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    return true;
  });
  assert.equal(tr.counters.connectionsCurrent, 0);
});

test('a bind failure is ERR_BIND naming the address and port', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const tr = new TcpControlTransport({ address: '127.0.0.1', port, onMessage: () => {} });
  await assert.rejects(tr.listen(), (e) => {
    assert.ok(isTrgwdError(e, 'ERR_BIND'));
    assert.match(e.message, new RegExp(`tcp 127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    assert.equal(e.details?.['transport'], 'tcp');
    assert.equal(e.details?.['port'], port);
    return true;
  });
  await tr.close();
});

test('close is idempotent, closes every connection, and later sends fail', async () => {
  const mgc = await fakeMgc({ after: () => {} });
  const inbox = new Inbox<Rx>();
  const tr = new TcpControlTransport({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => inbox.push({ text: bytes.toString(), peer }),
  });
  const { port } = await tr.listen();
  const c = await TpktClient.connect(port);
  c.send('hi');
  const { peer } = await inbox.next();
  await tr.sendTo({ address: '127.0.0.1', port: mgc.port }, Buffer.from('out'));
  const mgcSock = await mgc.conns.next();
  const p = tr.close();
  assert.equal(tr.close(), p);
  await p;
  await c.closed;
  await once(mgcSock, 'close');
  assert.equal(tr.counters.connectionsCurrent, 0);
  assert.equal(peer.send(Buffer.from('late')), false);
  await assert.rejects(tr.sendTo({ address: '127.0.0.1', port: mgc.port }, Buffer.from('x')), (e) =>
    isTrgwdError(e, 'ERR_CONTROL_CLOSED'),
  );
  await assert.rejects(TpktClient.connect(port), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  mgc.server.close();
});

test('a peer that stops reading is dropped once maxWriteBufferBytes is exceeded', async (t) => {
  const { tr, port, inbox, closes } = await echoTransport(t, {
    maxWriteBufferBytes: 64 * 1024,
    onMessage: (bytes, peer) => inbox.push({ text: bytes.toString(), peer }),
  });
  const c = await TpktClient.connect(port);
  c.socket.pause(); // never reads
  c.send('x');
  const { peer } = await inbox.next();
  let sent = 0;
  const chunk = Buffer.alloc(60_000, 0x41);
  while (peer.send(chunk)) sent++;
  assert.ok(sent < 1_000, `stopped after ${sent} sends`);
  assert.equal(tr.counters.sendErrors, 1);
  c.socket.resume(); // a paused socket never notices the close
  await c.closed;
  const ev = await closes.next();
  assert.ok(ev.type === 'connection-close' && ev.reason === 'overload');
  assert.equal(tr.counters.connectionsCurrent, 0);
});

test('openControlTransports binds UDP and TCP on the same port', async (t) => {
  const inbox = new Inbox<Rx>();
  const both = await openControlTransports({
    address: '127.0.0.1',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ text: bytes.toString(), peer });
      peer.send(Buffer.from('pong'));
    },
  });
  t.after(() => both.close());
  assert.equal(both.udp.address().port, both.endpoint.port);
  assert.equal(both.tcp.address().port, both.endpoint.port);
  const c = await TpktClient.connect(both.endpoint.port);
  t.after(() => c.end());
  c.send('over tcp');
  const u = createSocket('udp4');
  t.after(() => u.close());
  const udpReply = once(u, 'message');
  u.send(Buffer.from('over udp'), both.endpoint.port, '127.0.0.1');
  const seen = [await inbox.next(), await inbox.next()].map((r) => `${r.peer.transport}:${r.text}`).sort();
  assert.deepEqual(seen, ['tcp:over tcp', 'udp:over udp']);
  assert.equal(await c.messages.next(), 'pong');
  assert.equal(String((await udpReply)[0]), 'pong');
  const p = both.close();
  assert.equal(both.close(), p);
});

test('IPv6 loopback', async (t) => {
  const inbox = new Inbox<Rx>();
  const tr = new TcpControlTransport({
    address: '::1',
    port: 0,
    onMessage: (bytes, peer) => {
      inbox.push({ text: bytes.toString(), peer });
      peer.send(Buffer.from('v6'));
    },
  });
  t.after(() => tr.close());
  const { port } = await tr.listen();
  const c = await TpktClient.connect(port, '::1');
  t.after(() => c.end());
  c.send('hello');
  const { peer } = await inbox.next();
  assert.equal(peer.address, '::1');
  assert.equal(peer.key, `tcp:[::1]:${c.socket.localPort}`);
  assert.equal(await c.messages.next(), 'v6');
});
