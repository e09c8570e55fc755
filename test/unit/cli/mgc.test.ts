/**
 * `trgwd mgc` against a scripted fake gateway (real sockets on 127.0.0.1): registration and its
 * Version, captures and placeholders, Pending then ImmAckRequired (acknowledged), Notify answered,
 * expected errors, exit codes. The run against the real daemon is test/system/mgc.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decodeMessage } from '../../../daemon/control/codec/index.js';
import type { Message, TransactionRequest } from '../../../daemon/control/codec/model.js';
import {
  TcpControlTransport,
  UdpControlTransport,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransportKind,
} from '../../../daemon/control/transport/index.js';
import {
  capturePath,
  checkExpectation,
  fillPlaceholders,
  parseListen,
  parseScript,
  runMgc,
} from '../../../daemon/cli/mgc.js';

/** A gateway that registers, then answers by a function of each request. */
class FakeGateway {
  readonly received: Message[] = [];
  readonly #t: UdpControlTransport | TcpControlTransport;
  #waiters: ((m: Message) => void)[] = [];
  constructor(
    kind: ControlTransportKind,
    readonly answer: (req: TransactionRequest, msg: Message, peer: ControlPeer) => void,
  ) {
    const opts = {
      address: '127.0.0.1',
      port: 0,
      onMessage: (bytes: Buffer, peer: ControlPeer) => {
        const msg = decodeMessage(bytes);
        this.received.push(msg);
        for (const w of this.#waiters.splice(0)) w(msg);
        for (const t of msg.transactions) if (t.kind === 'request') this.answer(t, msg, peer);
      },
    };
    this.#t = kind === 'udp' ? new UdpControlTransport(opts) : new TcpControlTransport(opts);
  }
  listen(): Promise<ControlEndpoint> {
    return this.#t.listen();
  }
  send(to: ControlEndpoint, text: string): Promise<void> {
    return this.#t.sendTo(to, Buffer.from(text));
  }
  next(match: (m: Message) => boolean): Promise<Message> {
    const have = this.received.find(match);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const w = (m: Message) => {
        if (match(m)) resolve(m);
        else this.#waiters.push(w);
      };
      this.#waiters.push(w);
    });
  }
  close(): Promise<void> {
    return this.#t.close();
  }
}

const SC = (version: number) =>
  `MEGACO/${version} [127.0.0.1]:2944\nTransaction = 77 { Context = - { ServiceChange = ROOT { Services { Method = Restart, Reason = "901 Cold Boot", Version = ${version}, Profile = trgw/1 } } } }\n`;

function reply(tid: number, body: string, extra = ''): string {
  return `MEGACO/3 [127.0.0.1]:2944\nReply = ${tid} { ${extra}${body} }\n`;
}

async function withMgc(
  kind: ControlTransportKind,
  scriptText: string | undefined,
  answer: (req: TransactionRequest, msg: Message, peer: ControlPeer) => void,
  body: (gw: FakeGateway, mgcEp: ControlEndpoint) => Promise<void> = async () => undefined,
  version = 3,
): Promise<{ code: number; lines: Record<string, unknown>[]; err: string; gw: FakeGateway }> {
  const dir = mkdtempSync(join(tmpdir(), 'trgwd-mgc-'));
  const gw = new FakeGateway(kind, answer);
  await gw.listen();
  const out = new PassThrough();
  const err = new PassThrough();
  let outText = '';
  let errText = '';
  out.on('data', (d: Buffer) => (outText += d.toString()));
  err.on('data', (d: Buffer) => (errText += d.toString()));
  let script: string | undefined;
  if (scriptText !== undefined) {
    script = join(dir, 'script.yaml');
    writeFileSync(script, scriptText);
  }
  const abort = new AbortController();
  let listening!: (ep: ControlEndpoint) => void;
  const ep = new Promise<ControlEndpoint>((r) => (listening = r));
  const run = runMgc({
    listen: '127.0.0.1:0',
    transport: kind,
    script,
    out,
    err,
    signal: abort.signal,
    timeoutMs: 2000,
    registerTimeoutMs: 5000,
    onListening: (e) => listening(e),
  });
  try {
    const mgcEp = await ep;
    await gw.send(mgcEp, SC(version));
    await body(gw, mgcEp);
    if (scriptText === undefined) abort.abort();
    const code = await run;
    const lines = outText
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { code, lines, err: errText, gw };
  } finally {
    abort.abort();
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ADD_SCRIPT = `
steps:
  - name: add
    request: |
      Context = $ {
        Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = access },
          Local {
      v=0
      c=IN IP4 $
      m=audio $ RTP/AVP 0
          } } } }
      }
    capture:
      ctx: actions[0].contextId
      a: actions[0].commands[0].terminationId
      portA: actions[0].commands[0]..local | port
  - name: subtract
    request: Context = {{ctx}} { Subtract = {{a}} }
  - name: unknown context
    request: Context = 4711 { Subtract = * }
    expect: { error: 411, text: unknown }
`;

for (const kind of ['udp', 'tcp'] as const) {
  test(`mgc over ${kind}: registers the gateway, plays a script with captures, exits 0`, async () => {
    const seen: string[] = [];
    const r = await withMgc(kind, ADD_SCRIPT, (req, _msg, peer) => {
      if (req.id === 77) return; // the answer to our registration is a reply, not a request
      const a = req.actions[0]!;
      const cmd = a.commands[0]!;
      seen.push(`${String(a.contextId)}:${cmd.kind}:${cmd.terminationId}`);
      if (cmd.kind === 'add') {
        peer.send(
          Buffer.from(
            reply(
              req.id,
              `Context = 7 { Add = ip/1 { Media { Stream = 1 { Local {\nv=0\nc=IN IP4 127.0.0.1\nm=audio 30004 RTP/AVP 0\n} } } } }`,
            ),
          ),
        );
      } else if (a.contextId === 7) {
        peer.send(Buffer.from(reply(req.id, `Context = 7 { Subtract = ip/1 }`)));
      } else {
        peer.send(
          Buffer.from(
            reply(req.id, `Context = ${String(a.contextId)} { Error = 411 { "unknown context" } }`),
          ),
        );
      }
    });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(seen, ['$:add:$', '7:subtract:ip/1', '4711:subtract:*']);
    const steps = r.lines.filter((l) => 'step' in l);
    assert.deepEqual(
      steps.map((s) => s['result']),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(steps[0]!['captured'], { ctx: '7', a: 'ip/1', portA: '30004' });
    const ins = r.lines.filter((l) => l['dir'] === 'in');
    assert.ok(ins.length >= 4, 'every received message is printed');
    assert.equal(typeof ins[0]!['from'], 'string');
    assert.ok(typeof ins[0]!['message'] === 'object');
    assert.deepEqual(r.lines.at(-1), { done: true, ok: true, steps: 3, failed: 0 });
    // The registration reply carries the version the gateway offered (H.248.1 §11.3).
    const scReply = r.lines.find((l) => l['dir'] === 'out' && JSON.stringify(l).includes('serviceChange'));
    assert.match(JSON.stringify(scReply), /"version":3/);
  });
}

test('mgc: Pending extends the wait, ImmAckRequired is acknowledged, Notify is answered', async () => {
  const r = await withMgc(
    'udp',
    'steps:\n  - request: Context = - { AuditValue = ROOT { Audit { } } }\n',
    (req, _msg, peer) => {
      if (req.actions[0]!.commands[0]!.kind !== 'auditValue') return;
      // A Notify from the gateway while the transaction runs, then Pending, then the final reply.
      peer.send(
        Buffer.from(
          `MEGACO/3 [127.0.0.1]:2944\nTransaction = 900 { Context = - { Notify = ROOT { ObservedEvents = 1 { it/ito } } } }\n`,
        ),
      );
      peer.send(Buffer.from(`MEGACO/3 [127.0.0.1]:2944\nPending = ${req.id} { }\n`));
      setTimeout(
        () => peer.send(Buffer.from(reply(req.id, 'Context = - { AuditValue = ROOT }', 'ImmAckRequired, '))),
        50,
      );
    },
    async (gw) => {
      const ack = await gw.next((m) => m.transactions.some((t) => t.kind === 'responseAck'));
      assert.ok(ack);
      const notifyReply = await gw.next((m) =>
        m.transactions.some((t) => t.kind === 'reply' && t.id === 900),
      );
      assert.ok(notifyReply);
    },
  );
  assert.equal(r.code, 0, r.err);
  const step = r.lines.find((l) => 'step' in l)!;
  assert.equal(step['pendings'], 1);
});

test('mgc: an unexpected error fails the step and the run exits 1; a missing placeholder too', async () => {
  const script =
    'steps:\n  - request: Context = 5 { Subtract = * }\n  - request: Context = {{nope}} { Subtract = * }\n';
  const r = await withMgc('udp', script, (req, _m, peer) => {
    if (req.id === 77) return;
    peer.send(Buffer.from(reply(req.id, 'Context = 5 { Error = 411 { "no such context" } }')));
  });
  assert.equal(r.code, 1);
  const steps = r.lines.filter((l) => 'step' in l);
  assert.equal(steps[0]!['result'], 'fail');
  assert.match(String(steps[0]!['reason']), /411/);
  assert.match(String(steps[1]!['reason']), /\{\{nope\}\} has no value/);
  assert.match(r.err, /step 1/);
});

test('mgc without a script serves until stopped and answers the registration with the offered version', async () => {
  const r = await withMgc(
    'udp',
    undefined,
    () => undefined,
    async (gw) => {
      const m = await gw.next((x) => x.transactions.some((t) => t.kind === 'reply'));
      assert.equal(m.version, 2);
      assert.match(JSON.stringify(m), /"version":2/);
    },
    2,
  );
  assert.equal(r.code, 0);
});

test('parseScript rejects bad scripts with the step named', () => {
  assert.throws(() => parseScript('steps: []'), /non-empty/);
  assert.throws(
    () => parseScript('steps:\n  - name: x\n'),
    /step 1 \(x\): exactly one of request, sleep, wait/,
  );
  assert.throws(
    () => parseScript('steps:\n  - request: a\n    expect: { error: "x" }\n'),
    /expect is ok, any/,
  );
  assert.throws(() => parseScript('steps:\n  - request: a\n    bogus: 1\n'), /unknown key 'bogus'/);
  const s = parseScript(
    'vars: { x: 1 }\nsteps:\n  - sleep: 5\n  - wait: notify\n  - request: R\n    raw: true\n    expect: { error: 510 }\n',
  );
  assert.equal(s.steps.length, 3);
  assert.equal(s.vars['x'], '1');
  assert.deepEqual(s.steps[2]!.expect, { error: 510 });
});

test('capture paths and filters', () => {
  const root = {
    actions: [
      {
        contextId: 3,
        commands: [
          {
            terminationId: 'ip/9',
            audit: {
              media: {
                streams: [
                  {
                    id: 1,
                    local:
                      'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 31000 RTP/AVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n',
                  },
                ],
              },
            },
          },
        ],
      },
    ],
  };
  assert.equal(capturePath(root, 'actions[0].contextId'), '3');
  assert.equal(capturePath(root, 'actions.0.commands.0.terminationId'), 'ip/9');
  assert.equal(capturePath(root, 'actions[0]..local | port'), '31000');
  assert.equal(capturePath(root, '..local|address'), '10.0.0.1');
  assert.equal(capturePath(root, '..local|attr:crypto'), '1 AES_CM_128_HMAC_SHA1_80 inline:abc');
  assert.equal(capturePath(root, '..local|re:inline:(\\w+)'), 'abc');
  // a regular expression may hold `|`: the re: filter takes the rest of the path (docs/MGC.md's example)
  assert.equal(capturePath(root, '..local | re:inline:([^|\\s]+)'), 'abc');
  assert.equal(capturePath(root, '..local | attr:crypto | re:(AES|GCM)_CM'), 'AES');
  assert.equal(capturePath(root, 'actions[1].contextId'), undefined);
  assert.throws(() => capturePath(root, '..local|frob'), /unknown capture filter/);
});

test('placeholders, expectations and --listen parsing', () => {
  assert.equal(fillPlaceholders('C = {{ctx}} {{tid}}', { ctx: '5' }), 'C = 5 {{tid}}');
  assert.throws(() => fillPlaceholders('{{x}}', {}), /\{\{x\}\} has no value/);
  assert.equal(checkExpectation('ok', []), undefined);
  assert.match(checkExpectation('ok', [{ code: 510 }])!, /510/);
  assert.equal(
    checkExpectation({ error: 449, text: 'nowhere' }, [{ code: 449, text: 'realm nowhere' }]),
    undefined,
  );
  assert.match(
    checkExpectation({ error: 449, text: 'x' }, [{ code: 449, text: 'realm' }])!,
    /does not contain/,
  );
  assert.match(checkExpectation({ error: 411 }, [])!, /successful/);
  assert.deepEqual(parseListen('127.0.0.1:2945'), { address: '127.0.0.1', port: 2945 });
  assert.deepEqual(parseListen('[::1]:2945'), { address: '::1', port: 2945 });
  assert.deepEqual(parseListen('2945'), { address: '127.0.0.1', port: 2945 });
  assert.throws(() => parseListen('nope'), /ADDR:PORT/);
});
