/**
 * RFC 4145 roles as the gateway settles them (daemon/bearer/tcp/roles.ts): Local a=setup is ours,
 * Remote a=setup the peer's; every combination of the table in the module header.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdp } from '../../../../daemon/control/codec/sdp.js';
import { connectionOf, planOf, remoteOf, setupOf, type TcpAction } from '../../../../daemon/bearer/tcp/roles.js';

function local(setup?: string): ReturnType<typeof parseSdp> {
  return parseSdp(`v=0\nc=IN IP4 127.0.0.1\nm=application 5000 TCP *\n${setup !== undefined ? `a=setup:${setup}\n` : ''}`);
}
function remote(setup?: string, port = 6000, addr = '192.0.2.7', extra = ''): ReturnType<typeof parseSdp> {
  return parseSdp(`v=0\nc=IN IP4 ${addr}\nm=application ${port} TCP *\n${setup !== undefined ? `a=setup:${setup}\n` : ''}${extra}`);
}

function action(l: string | undefined, r: string | undefined | null, opts: { so?: boolean; estab?: boolean; port?: number } = {}): TcpAction {
  return planOf({
    local: local(l),
    remote: r === null ? undefined : remote(r, opts.port),
    simultaneous: opts.so ?? false,
    estab: opts.estab ?? false,
  }).action;
}

test('Local passive listens whatever the peer says; Local active connects, or opens simultaneously against an active peer', () => {
  for (const r of ['active', 'passive', 'actpass', 'holdconn', undefined, null] as const) assert.equal(action('passive', r), 'listen', String(r));
  assert.equal(action('active', 'passive'), 'connect');
  assert.equal(action('active', 'actpass'), 'connect');
  assert.equal(action('active', undefined), 'connect');
  assert.equal(action('active', 'active'), 'simultaneous');
  // an active Local without a usable Remote port waits for one
  assert.equal(action('active', 'active', { port: 9 }), 'wait');
  assert.equal(action('active', null), 'wait');
});

test('actpass (or no a=setup) takes the role the Remote leaves; holdconn holds until estab', () => {
  for (const l of ['actpass', undefined]) {
    assert.equal(action(l, 'active'), 'listen');
    assert.equal(action(l, 'passive'), 'connect');
    assert.equal(action(l, 'actpass'), 'connect');
    assert.equal(action(l, 'actpass', { port: 9 }), 'listen');
    assert.equal(action(l, 'holdconn'), 'hold');
    assert.equal(action(l, undefined), 'connect', 'no a=setup and a real port: a passive answerer (RFC 4145 default)');
    assert.equal(action(l, undefined, { port: 9 }), 'listen', 'port 9: an active peer');
    assert.equal(action(l, null), 'listen', 'no Remote yet: an actpass endpoint accepts');
  }
  assert.equal(action('holdconn', 'passive'), 'hold');
  assert.equal(action('holdconn', 'passive', { estab: true }), 'connect');
  assert.equal(action('holdconn', 'active', { estab: true }), 'listen');
  assert.equal(action('actpass', 'holdconn', { estab: true }), 'connect');
});

test('tcphp/so turns outgoing and passive roles into simultaneous open once the Remote port is known', () => {
  assert.equal(action('active', 'passive', { so: true }), 'simultaneous');
  assert.equal(action('passive', 'active', { so: true }), 'simultaneous');
  assert.equal(action('passive', 'active', { so: true, port: 9 }), 'listen');
  assert.equal(action('holdconn', 'passive', { so: true }), 'hold');
});

test('Remote endpoint, setup and connection attributes (media level first, then session level)', () => {
  assert.deepEqual(remoteOf(remote('active', 7000)), { address: '192.0.2.7', endpoint: { address: '192.0.2.7', port: 7000 } });
  assert.deepEqual(remoteOf(remote('active', 9)), { address: '192.0.2.7', endpoint: undefined });
  assert.deepEqual(remoteOf(remote('active', 7000, '0.0.0.0')), { address: undefined, endpoint: undefined });
  assert.equal(connectionOf(remote('active', 7000, '192.0.2.7', 'a=connection:existing\n')), 'existing');
  const session = parseSdp('v=0\nc=IN IP4 192.0.2.7\na=setup:passive\na=connection:new\nm=application 7000 TCP *\n');
  assert.equal(setupOf(session), 'passive');
  assert.equal(connectionOf(session), 'new');
  const both = parseSdp('v=0\nc=IN IP4 192.0.2.7\na=setup:passive\nm=application 7000 TCP *\na=setup:active\n');
  assert.equal(setupOf(both), 'active');
});
