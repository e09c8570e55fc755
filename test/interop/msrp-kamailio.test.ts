/**
 * Kamailio's msrp module (an independent RFC 4975/4976 implementation) as an MSRP relay behind the
 * gateway's core side, reached through an MSRP-aware context (TLS access, TCP core):
 *
 *   Alice (TLS, pins our fingerprint) ⇄ [access | trgwd | core] ⇄ Kamailio relay ⇄ Bob
 *
 * Bob is the relay's client: he connects to Kamailio and authenticates with AUTH (HTTP Digest,
 * 401 then 200 with Use-Path, RFC 4976); his path as signalled is `<Use-Path> <Bob>`, which the
 * controller gives the core termination as Remote `a=path`. The gateway connects out to the relay
 * (Remote c=/m=), sends Alice's chunks with To-Path `<relay> <Bob>`; the relay answers 200 hop by hop
 * and relays to Bob. Bob's messages come back through the relay to our core URI. Checked: every
 * frame's paths on each side, the bytes end to end, the relay's 481 for an unknown session crossing
 * back to Alice, and Kamailio's own parsing of what we send (it relays it).
 *
 * Needs kamailio (Debian `kamailio`): skips locally without it, fails under CI=true. Port range
 * 26400-26599 for the gateway.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headerValue, type MsrpHead } from '../../daemon/bearer/msrp/framing.js';
import { MsrpAware } from '../../daemon/bearer/msrp/stage.js';
import { MsrpEndpoint, newTid, pattern, peerIdentity, tlsConnect } from '../unit/bearer/msrp/endpoint.js';
import { tlsEngineOf } from '../../daemon/bearer/tcp/index.js';
import { TlsMedia, TLS_DEFAULTS } from '../../daemon/tls/index.js';
import { addContext, tcpHarness, tcpLocal, tcpRemote, LO } from '../integration/tcp-harness.js';
import { audit, commands, localOf } from '../unit/control/commands/harness.js';
import { requireTool } from './tools.js';

const BASE = 26400;
const TEMPLATE = fileURLToPath(new URL('./kamailio/msrp-relay.cfg', import.meta.url));
const PASSWORD = 'trgwd-interop';
const REALM = 'trgwd.test';
const work = mkdtempSync(join(tmpdir(), 'trgwd-kamailio-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, LO);
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

function modulesDir(): string {
  for (const d of ['/usr/lib/x86_64-linux-gnu/kamailio/modules', '/usr/lib/aarch64-linux-gnu/kamailio/modules', '/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules']) {
    if (existsSync(join(d, 'msrp.so'))) return `${d}/`;
  }
  throw new Error('Kamailio msrp.so not found (Debian package kamailio)');
}

interface Kamailio {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly log: string[];
  stop(): Promise<void>;
}

async function startKamailio(bin: string): Promise<Kamailio> {
  const port = await freePort();
  const cfg = join(work, `msrp-relay-${port}.cfg`);
  writeFileSync(
    cfg,
    readFileSync(TEMPLATE, 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@MODULES@', modulesDir()).replaceAll('@PASSWORD@', PASSWORD),
  );
  const proc = spawn(bin, ['-f', cfg, '-DD', '-E', '-Y', work, '-w', work, '-m', '64', '-M', '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  // ready when it accepts TCP
  const deadline = Date.now() + 15000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`kamailio exited ${proc.exitCode}: ${log.join('')}`);
    try {
      const s = connect(port, LO);
      await once(s, 'connect');
      s.destroy();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`kamailio did not listen on ${port}: ${log.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    port,
    proc,
    log,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await Promise.race([once(proc, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

/** Digest parameters of a WWW-Authenticate header value. */
function challenge(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^Digest\s+/i, '').matchAll(/(\w+)=("([^"]*)"|[^,\s]+)/g)) out[m[1]!.toLowerCase()] = m[3] ?? m[2]!;
  return out;
}

/** Bob authenticates with the relay (RFC 4976): AUTH, 401 with a challenge, AUTH with credentials, 200 with Use-Path. */
async function authenticate(bob: MsrpEndpoint, relayUri: string): Promise<{ first: MsrpHead; ok: MsrpHead; usePath: string }> {
  const auth = (tid: string, extra: { name: string; value: string }[]): Promise<MsrpHead> => {
    const r = bob.response(tid);
    bob.raw(
      `MSRP ${tid} AUTH\r\nTo-Path: ${relayUri}\r\nFrom-Path: ${bob.uri}\r\n${extra.map((h) => `${h.name}: ${h.value}\r\n`).join('')}-------${tid}$\r\n`,
    );
    return r;
  };
  const first = await auth(newTid(), []);
  assert.equal(first.status, 401, 'the relay challenges');
  const c = challenge(headerValue(first, 'WWW-Authenticate') ?? '');
  assert.equal(c.realm, REALM);
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const ha1 = md5(`bob:${REALM}:${PASSWORD}`);
  const ha2 = md5(`AUTH:${relayUri}`);
  const response = md5(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  const ok = await auth(newTid(), [
    {
      name: 'Authorization',
      value: `Digest username="bob", realm="${REALM}", nonce="${c.nonce}", uri="${relayUri}", response="${response}", qop=auth, nc=${nc}, cnonce="${cnonce}"${c.opaque !== undefined ? `, opaque="${c.opaque}"` : ''}`,
    },
  ]);
  assert.equal(ok.status, 200, 'authenticated');
  const usePath = headerValue(ok, 'Use-Path');
  assert.ok(usePath !== undefined);
  return { first, ok, usePath };
}

test('Alice (TLS) → trgwd (aware) → Kamailio MSRP relay → Bob, and back', async (t) => {
  const bin = requireTool(t, 'kamailio', 'for the MSRP relay interop (Debian package kamailio)');
  if (bin === undefined) return;
  const kam = await startKamailio(bin);
  const msrp = new MsrpAware();
  const tls = tlsEngineOf(new TlsMedia({ ...TLS_DEFAULTS }));
  const h = tcpHarness(BASE, { closeGraceMs: 200 }, { stages: msrp.stages, tls });
  const sockets: Socket[] = [];
  try {
    // Bob, the relay's client
    const bobSock = connect(kam.port, LO);
    sockets.push(bobSock);
    await once(bobSock, 'connect');
    const bobUri = `msrp://${LO}:${bobSock.localPort}/bob${randomBytes(4).toString('hex')};tcp`;
    const bob = new MsrpEndpoint(bobSock, bobUri, []);
    const relayUri = `msrp://${LO}:${kam.port};tcp`;
    const { usePath } = await authenticate(bob, relayUri);
    assert.match(usePath, new RegExp(`^msrp://127\\.0\\.0\\.1:${kam.port}/k\\d+;tcp$`));

    // the controller: access TLS/MSRP (gateway passive), core TCP/MSRP towards the relay with Bob's path
    const alice = peerIdentity();
    const aliceUri = `msrps://${LO}:9/alice;tcp`;
    const added = await addContext(
      h,
      {
        realm: 'access',
        local: tcpLocal('passive', 'TCP/TLS/MSRP', 'a=path:$\na=fingerprint:SHA-256 $\n'),
        remote: tcpRemote(9, 'active', LO, 'TCP/TLS/MSRP', `a=path:${aliceUri}\na=fingerprint:SHA-256 ${alice.fingerprint}\n`),
      },
      { realm: 'core', local: tcpLocal('active', 'TCP/MSRP', 'a=path:$\n'), remote: tcpRemote(kam.port, 'passive', LO, 'TCP/MSRP', `a=path:${usePath} ${bobUri}\n`) },
    );
    const r = await h.tx(`Context = ${added.ctx} { AuditValue = ${added.ids[0]} { Audit { Media } }, AuditValue = ${added.ids[1]} { Audit { Media } } }`);
    const localA = localOf(audit(commands(r)[0]))!;
    const localB = localOf(audit(commands(r)[1]))!;
    const gwA = /a=path:(\S+)/.exec(localA)![1]!;
    const gwB = /a=path:(\S+)/.exec(localB)![1]!;
    bob.peerPath = [usePath, gwB];
    const aliceSock = await tlsConnect(added.ports[0]!, alice.identity, /a=fingerprint:SHA-256 (\S+)/.exec(localA)![1]!);
    sockets.push(aliceSock);
    const a = new MsrpEndpoint(aliceSock, aliceUri, [gwA]);

    // Alice → Bob: chunks small enough for Kamailio's frame buffer
    const total = 20000;
    const sent = await a.sendMessage(pattern, total, 1024, { messageId: 'kam-1', successReport: true });
    assert.ok(sent.responses.every((x) => x.status === 200), JSON.stringify(sent.responses.map((x) => x.status)));
    for (const x of sent.responses) {
      // the relay's hop-by-hop 200, rewritten for Alice
      assert.equal(headerValue(x, 'To-Path'), aliceUri);
      assert.equal(headerValue(x, 'From-Path'), gwA);
    }
    const report = await a.report('kam-1');
    assert.equal(headerValue(report, 'To-Path'), aliceUri);
    assert.equal(headerValue(report, 'From-Path'), gwA);
    assert.equal(headerValue(report, 'Byte-Range'), `1-${total}/${total}`);
    const m = bob.messages.get('kam-1')!;
    assert.equal(m.bytes, total);
    assert.equal(m.digest, sent.digest, 'bytes end to end through the gateway and the relay');
    const atBob = bob.heads.filter((x) => x.method === 'SEND');
    assert.equal(atBob.length, Math.ceil(total / 1024));
    for (const x of atBob) {
      // the relay removed itself from To-Path and put itself in front of our From-Path (RFC 4976)
      assert.equal(headerValue(x, 'To-Path'), bobUri);
      assert.equal(headerValue(x, 'From-Path'), `${usePath} ${gwB}`);
    }

    // Bob → Alice through the relay
    const back = await bob.sendMessage(Buffer.from('Hi Alice, via the relay'), 23, 1024, { messageId: 'kam-2' });
    assert.equal(back.responses[0]!.status, 200);
    // the relay answers Bob hop by hop; the message reaches Alice after
    await a.message('kam-2');
    const atAlice = a.heads.find((x) => x.method === 'SEND')!;
    assert.equal(headerValue(atAlice, 'To-Path'), aliceUri);
    assert.equal(headerValue(atAlice, 'From-Path'), gwA);
    assert.equal(a.messages.get('kam-2')?.bytes, 23);

    // a session the relay does not know: its 481 crosses back to Alice, mapped to her transaction
    await h.tx(`Context = ${added.ctx} { Modify = ${added.ids[1]} { Media { Stream = 1 { Remote { ${tcpRemote(kam.port, 'passive', LO, 'TCP/MSRP', `a=path:msrp://${LO}:${kam.port}/nosuch;tcp ${bobUri}\na=connection:existing\n`)} } } } } }`);
    const x481 = await a.sendRaw('kx481', gwA, 'lost');
    assert.equal(x481.status, 481);
    assert.equal(headerValue(x481, 'To-Path'), aliceUri);
    assert.equal(headerValue(x481, 'From-Path'), gwA);
    assert.deepEqual(a.errors, []);
    assert.deepEqual(bob.errors, []);
    assert.doesNotMatch(kam.log.join(''), /parse error|bad msrp|ERROR: msrp/i);
  } catch (e) {
    t.diagnostic(kam.log.join('').slice(-4000));
    throw e;
  } finally {
    for (const s of sockets) s.destroy();
    await h.close();
    msrp.close();
    await kam.stop();
  }
});
