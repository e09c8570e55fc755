/**
 * MSRP through the gateway on loopback (PROFILE §6), with two MSRP endpoints written in the test:
 * aware mode with TLS on the access side (the endpoint pins our fingerprint) and TCP on the core
 * side, a 10 MB multi-chunk SEND with its 200s and REPORT, paths checked on each side and the bytes
 * end to end; a CEMA endpoint against a plain one; agnostic mode passing bytes untouched; 481 for an
 * unknown session; msrpstat statistics on Subtract; framing limits; requests held by delayed
 * establishment. Port range 25000-26199 (a range of 200 per test, below the ephemeral ports).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { headerValue } from '../../daemon/bearer/msrp/framing.js';
import { MsrpAware, type MsrpAwareOptions } from '../../daemon/bearer/msrp/stage.js';
import { EventBus, type StampedEvent } from '../../daemon/observe/events.js';
import { createMetrics } from '../../daemon/observe/metrics.js';
import { amm, audit, commands, localOf } from '../unit/control/commands/harness.js';
import { MsrpEndpoint, pattern, peerIdentity, tlsConnect } from '../unit/bearer/msrp/endpoint.js';
import { tlsEngineOf } from '../../daemon/bearer/tcp/index.js';
import { TlsMedia, TLS_DEFAULTS } from '../../daemon/tls/index.js';
import { addContext, dialRetry, peerServer, tcpHarness, tcpLocal, tcpRemote, LO, type TcpHarness } from './tcp-harness.js';
import type { Added } from './tcp-harness.js';

const BASE = 25000;

function pathOf(sdp: string | undefined): string {
  const m = /a=path:(\S+)/.exec(sdp ?? '');
  assert.ok(m, `a=path in ${sdp}`);
  return m[1]!;
}

function fingerprintOf(sdp: string | undefined): string {
  const m = /a=fingerprint:SHA-256 (\S+)/.exec(sdp ?? '');
  assert.ok(m, `a=fingerprint in ${sdp}`);
  return m[1]!;
}

async function withHarness(
  base: number,
  fn: (h: TcpHarness, msrp: MsrpAware) => Promise<void>,
  options: MsrpAwareOptions = {},
): Promise<void> {
  const msrp = new MsrpAware({ maxChunkBytes: 4 << 20, ...options });
  const tls = tlsEngineOf(new TlsMedia({ ...TLS_DEFAULTS }));
  const h = tcpHarness(base, { closeGraceMs: 200 }, { stages: msrp.stages, tls });
  try {
    await fn(h, msrp);
  } finally {
    await h.close();
    msrp.close();
  }
}

interface Call {
  added: Added;
  /** Our URIs as answered in Local. */
  gwA: string;
  gwB: string;
  alice: MsrpEndpoint;
  bob: MsrpEndpoint;
}

/** Access: TLS (or TCP) MSRP, gateway passive; core: TCP MSRP, gateway active towards Bob. */
async function setUp(
  h: TcpHarness,
  opts: { tls: boolean; aliceCema?: boolean; aware?: boolean; beforeBob?: (alice: MsrpEndpoint, gwA: string) => void },
): Promise<Call> {
  const aware = opts.aware !== false;
  const accessProto = aware ? (opts.tls ? 'TCP/TLS/MSRP' : 'TCP/MSRP') : 'TCP';
  const coreProto = aware ? 'TCP/MSRP' : 'TCP';
  const aliceId = peerIdentity();
  const bobServer = await peerServer();
  const aliceUri = `${opts.tls ? 'msrps' : 'msrp'}://${opts.aliceCema === true ? '10.9.8.7:2855' : `${LO}:9`}/alice${opts.tls ? 's' : ''};tcp`;
  const bobUri = `msrp://${LO}:${bobServer.port}/bob;tcp`;
  const path = (extra: string): string => (aware ? `a=path:$\n${extra}` : extra);
  const added = await addContext(
    h,
    {
      realm: 'access',
      local: tcpLocal('passive', accessProto, path(opts.tls ? 'a=fingerprint:SHA-256 $\n' : '')),
      remote: tcpRemote(
        9,
        'active',
        LO,
        accessProto,
        `a=path:${aliceUri}\n${opts.tls ? `a=fingerprint:SHA-256 ${aliceId.fingerprint}\n` : ''}${opts.aliceCema === true ? 'a=msrp-cema\n' : ''}`,
      ),
    },
    { realm: 'core', local: tcpLocal('active', coreProto, path('')), remote: tcpRemote(bobServer.port, 'passive', LO, coreProto, `a=path:${bobUri}\n`) },
  );
  const r = await h.tx(`Context = ${added.ctx} { AuditValue = ${added.ids[0]} { Audit { Media } }, AuditValue = ${added.ids[1]} { Audit { Media } } }`);
  const localA = localOf(audit(commands(r)[0]));
  const localB = localOf(audit(commands(r)[1]));
  const gwA = aware ? pathOf(localA) : `msrp://${LO}:${added.ports[0]}/none;tcp`;
  const gwB = aware ? pathOf(localB) : `msrp://${LO}:${added.ports[1]}/none;tcp`;
  // Alice connects to the gateway (TLS: pinning the fingerprint the gateway answered)
  let aliceSock: Duplex;
  if (opts.tls) {
    const pin = fingerprintOf(localA);
    aliceSock = await tlsConnect(added.ports[0]!, aliceId.identity, pin);
  } else {
    aliceSock = await dialRetry(added.ports[0]!);
  }
  // what each endpoint learnt through signalling: the other side's a=path is the gateway's URI
  const alice = new MsrpEndpoint(aliceSock, aliceUri, [gwA]);
  opts.beforeBob?.(alice, gwA);
  // delayed establishment: the core leg connects once the access leg is up
  const bobSock = await bobServer.accepted;
  bobServer.server.close();
  const bob = new MsrpEndpoint(bobSock, bobUri, [gwB]);
  return { added, gwA, gwB, alice, bob };
}

function end(c: Call): void {
  c.alice.socket.destroy();
  c.bob.socket.destroy();
}

test('aware, TLS access ↔ TCP core: a 10 MB multi-chunk SEND, its 200s and REPORT cross with paths rewritten and bytes intact', async () => {
  await withHarness(BASE, async (h) => {
    const c = await setUp(h, { tls: true });
    assert.match(c.gwA, /^msrps:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{16};tcp$/);
    assert.match(c.gwB, /^msrp:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{16};tcp$/);
    const total = 10 * 1000 * 1000;
    const sent = await c.alice.sendMessage(pattern, total, 256 * 1024, { successReport: true, messageId: 'big-1' });
    assert.equal(sent.responses.length, Math.ceil(total / (256 * 1024)));
    assert.ok(sent.responses.every((r) => r.status === 200));
    const report = await c.alice.report('big-1');
    // Bob: every chunk addressed to him by the gateway's core URI, nothing of Alice's
    const bobSends = c.bob.heads.filter((x) => x.method === 'SEND');
    assert.equal(bobSends.length, sent.responses.length);
    for (const x of bobSends) {
      assert.equal(headerValue(x, 'To-Path'), c.bob.uri);
      assert.equal(headerValue(x, 'From-Path'), c.gwB);
      assert.equal(headerValue(x, 'Message-ID'), 'big-1');
    }
    assert.deepEqual(
      bobSends.slice(0, 2).map((x) => headerValue(x, 'Byte-Range')),
      [`1-262144/${total}`, `262145-524288/${total}`],
    );
    assert.equal(headerValue(bobSends[0]!, 'Success-Report'), 'yes');
    const got = c.bob.messages.get('big-1')!;
    assert.equal(got.bytes, total);
    assert.equal(got.digest, sent.digest, 'bytes end to end');
    // Alice: responses and the REPORT come from the gateway's access URI, to her
    for (const x of [...sent.responses, report]) {
      assert.equal(headerValue(x, 'To-Path'), c.alice.uri);
      assert.equal(headerValue(x, 'From-Path'), c.gwA);
    }
    assert.deepEqual(
      sent.responses.map((r) => r.transactionId),
      sent.tids,
      'responses carry Alice’s transaction ids',
    );
    assert.equal(headerValue(report, 'Byte-Range'), `1-${total}/${total}`);
    assert.equal(headerValue(report, 'Status'), '000 200 OK');
    // and back: Bob → Alice
    const back = await c.bob.sendMessage(Buffer.from('Got it, thanks!'), 15, 1024, { messageId: 'b-1' });
    assert.equal(back.responses[0]!.status, 200);
    assert.equal(headerValue(back.responses[0]!, 'To-Path'), c.bob.uri);
    assert.equal(headerValue(back.responses[0]!, 'From-Path'), c.gwB);
    const aliceSend = c.alice.heads.find((x) => x.method === 'SEND')!;
    assert.equal(headerValue(aliceSend, 'To-Path'), c.alice.uri);
    assert.equal(headerValue(aliceSend, 'From-Path'), c.gwA);
    assert.deepEqual(c.alice.errors, []);
    assert.deepEqual(c.bob.errors, []);
    // msrpstat statistics come back with Subtract
    const sub = await h.tx(`Context = ${c.added.ctx} { Subtract = ${c.added.ids[0]}, Subtract = ${c.added.ids[1]} }`);
    const stats = Object.fromEntries((amm(commands(sub)[1]).audit?.statistics ?? []).map((s) => [s.name, s.value]));
    assert.equal(stats['msrpstat/ms'], String(bobSends.length), JSON.stringify(stats));
    assert.equal(stats['msrpstat/mr'], '2', 'the REPORT and the SEND from Bob');
    assert.ok(Number(stats['msrpstat/bs']) > total);
    end(c);
  });
});

test('unknown session: the gateway answers 481 and forwards nothing', async () => {
  await withHarness(BASE + 200, async (h) => {
    const c = await setUp(h, { tls: false });
    const wrong = c.gwA.replace(/\/[^/;]+;tcp$/, '/notasession;tcp');
    const r = await c.alice.sendRaw('u481', wrong, 'hello?');
    assert.equal(r.status, 481);
    assert.equal(headerValue(r, 'To-Path'), c.alice.uri);
    assert.equal(headerValue(r, 'From-Path'), c.gwA);
    // the session still works, and Bob saw only the good one
    const ok = await c.alice.sendMessage(Buffer.from('real'), 4, 100, { messageId: 'ok-1' });
    assert.equal(ok.responses[0]!.status, 200);
    assert.deepEqual(
      c.bob.heads.map((x) => headerValue(x, 'Message-ID')),
      ['ok-1'],
    );
    end(c);
  });
});

test('CEMA endpoint (RFC 6714) on the access side against a plain RFC 4975 one on the core side', async () => {
  await withHarness(BASE + 400, async (h) => {
    const c = await setUp(h, { tls: false, aliceCema: true });
    // the CEMA UE behind a NAT addresses the gateway by an address it cannot know: session id only
    const natted = c.gwA.replace(/\/\/[^/]+\//, '//192.0.2.200:5555/');
    const sent = await c.alice.sendMessage(Buffer.from('via CEMA'), 8, 100, { messageId: 'cema-1', to: natted, successReport: true });
    assert.equal(sent.responses[0]!.status, 200);
    await c.alice.report('cema-1');
    const x = c.bob.heads.find((f) => f.method === 'SEND')!;
    // the plain peer sees a plain RFC 4975 session: our core URI, its own path
    assert.equal(headerValue(x, 'To-Path'), c.bob.uri);
    assert.equal(headerValue(x, 'From-Path'), c.gwB);
    // towards the CEMA side: its own (private) path, our access URI
    await c.bob.sendMessage(Buffer.from('to CEMA'), 7, 100, { messageId: 'cema-2' });
    const y = c.alice.heads.find((f) => f.method === 'SEND')!;
    assert.equal(headerValue(y, 'To-Path'), c.alice.uri);
    assert.equal(headerValue(y, 'From-Path'), c.gwA);
    // a wrong session id is still refused
    const bad = natted.replace(/\/[^/;]+;tcp$/, '/other;tcp');
    assert.equal((await c.alice.sendRaw('cx01', bad, 'x')).status, 481);
    // the plain side keeps the full comparison: right session id, wrong port → 481
    const badPort = c.gwB.replace(/:(\d+)\//, (_, p: string) => `:${Number(p) + 1}/`);
    assert.equal((await c.bob.sendRaw('cx02', badPort, 'x')).status, 481);
    end(c);
  });
});

test('agnostic mode (TCP): MSRP bytes pass untouched, paths and all', async () => {
  await withHarness(BASE + 600, async (h) => {
    const c = await setUp(h, { tls: false, aware: false });
    // in agnostic mode the endpoints address each other end to end: nothing is rewritten
    c.alice.peerPath = [c.bob.uri];
    c.bob.peerPath = [c.alice.uri];
    const sent = await c.alice.sendMessage(pattern, 300000, 65536, { messageId: 'ag-1', successReport: true });
    assert.ok(sent.responses.every((r) => r.status === 200 && headerValue(r, 'From-Path') === c.bob.uri));
    await c.alice.report('ag-1');
    const x = c.bob.heads.find((f) => f.method === 'SEND')!;
    assert.equal(headerValue(x, 'To-Path'), c.bob.uri);
    assert.equal(headerValue(x, 'From-Path'), c.alice.uri);
    assert.equal(c.bob.messages.get('ag-1')!.digest, sent.digest);
    // garbage is not MSRP's business here: it passes too
    c.alice.raw('not MSRP at all\r\n');
    end(c);
  });
});

test('a peer breaking the header limit is disconnected, the event published and counted; nothing of the broken frame crosses', async () => {
  const bus = new EventBus();
  const seen: StampedEvent[] = [];
  bus.subscribe((e) => seen.push(e));
  const metrics = createMetrics({ defaultMetrics: false });
  await withHarness(
    BASE + 800,
    async (h) => {
      const c = await setUp(h, { tls: false });
      const closed = new Promise<void>((resolve) => c.alice.socket.once('close', () => resolve()));
      // the gateway's FIN: Alice closes her side too, as a client does
      c.alice.socket.once('end', () => c.alice.socket.end());
      c.alice.raw(`MSRP huge SEND\r\nTo-Path: ${c.gwA}\r\nFrom-Path: ${c.alice.uri}\r\nX-Big: ${'x'.repeat(4096)}\r\n\r\n`);
      await closed;
      const ev = seen.find((e) => e.type === 'error');
      assert.ok(ev !== undefined && ev.type === 'error');
      assert.equal(ev.part, 'msrp');
      assert.equal(ev.code, 'ERR_MSRP_LIMIT');
      assert.match(ev.message, /header block larger than 2048 bytes/);
      const text = await metrics.registry.metrics();
      assert.match(text, /trgwd_msrp_framing_errors_total\{realm="access",reason="header_too_large"\} 1/);
      // nothing of the broken frame reached Bob
      assert.equal(c.bob.heads.length, 0);
      end(c);
    },
    { maxHeaderBytes: 2048, events: bus, metrics },
  );
});

test('requests Alice sends before the core leg is up (delayed establishment) cross once it is, and their 200s come back', async () => {
  await withHarness(BASE + 1000, async (h) => {
    let early: ReturnType<MsrpEndpoint['sendMessage']> | undefined;
    const c = await setUp(h, {
      tls: true,
      beforeBob: (alice) => {
        early = alice.sendMessage(pattern, 200000, 16384, { messageId: 'early-1', successReport: true });
      },
    });
    const sent = await early!;
    assert.ok(sent.responses.every((r) => r.status === 200 && headerValue(r, 'To-Path') === c.alice.uri));
    await c.alice.report('early-1');
    assert.equal(c.bob.messages.get('early-1')!.digest, sent.digest);
    end(c);
  });
});
