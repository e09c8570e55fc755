/**
 * Media sockets (daemon/bearer/udp/sockets.ts): IP literals resolved at once (dgram sends without a
 * dns.lookup and a tick per datagram), names still through dns.lookup, bind events still after
 * bind() returns, and a close that may be asked twice. Ports: 127.0.0.1:0 only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeMediaSocket, createMediaSocket, literalLookup } from '../../../../daemon/bearer/udp/sockets.js';
import { LO, Peer } from './peer.js';

test('literalLookup: a literal answers synchronously with its own family, a name goes to dns.lookup', async () => {
  const seen: [string, number][] = [];
  for (const [addr, fam] of [
    ['127.0.0.1', 4],
    ['127.0.0.1', 4],
    ['::1', 4], // a literal keeps its own family, as dns.lookup answers it
    ['10.0.0.7', 6],
    ['fe80::1', 6],
  ] as const) {
    let sync = false;
    literalLookup(addr, fam, (err, a, f) => {
      assert.equal(err, null);
      seen.push([a, f]);
      sync = true;
    });
    assert.ok(sync, `${addr} answered at once`);
  }
  assert.deepEqual(seen, [
    ['127.0.0.1', 4],
    ['127.0.0.1', 4],
    ['::1', 6],
    ['10.0.0.7', 4],
    ['fe80::1', 6],
  ]);
  const viaDns = await new Promise<[string, number]>((resolve, reject) => {
    let sync = true;
    literalLookup('localhost', 4, (err, a, f) => {
      if (err !== null) reject(err);
      else resolve([a, f]);
      assert.equal(sync, false, 'a name is resolved later, by dns.lookup');
    });
    sync = false;
  });
  assert.equal(viaDns[1], 4);
});

test('a media socket binds, sends to a literal (unconnected) and receives; closeMediaSocket twice is harmless', async () => {
  const peer = await Peer.open();
  const s = createMediaSocket('udp4');
  try {
    // 'listening' comes after bind() returned, as with any dgram socket
    s.bind({ port: 0, address: LO, exclusive: true });
    await once(s, 'listening');
    s.send(Buffer.from('one'), peer.port, LO);
    s.send(Buffer.from('two'), peer.port, LO);
    const got = await peer.take(2);
    assert.deepEqual(
      got.map((r) => r.data.toString()),
      ['one', 'two'],
    );
    assert.equal(got[0]!.port, s.address().port);
    await peer.send(Buffer.from('back'), s.address().port);
    const [back] = (await once(s, 'message')) as [Buffer];
    assert.equal(back.toString(), 'back');
  } finally {
    peer.close();
    await closeMediaSocket(s);
    await closeMediaSocket(s);
  }
});

test('a bind refused (EADDRINUSE) is reported after bind() returns, as with any dgram socket', async () => {
  const holder = await Peer.open();
  const s = createMediaSocket('udp4');
  try {
    s.bind({ port: holder.port, address: LO, exclusive: true });
    const [err] = (await once(s, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'EADDRINUSE');
  } finally {
    holder.close();
    await closeMediaSocket(s);
  }
});
