/**
 * decodeMessage / decodeMessageLenient: the independent corpus (Erlang/OTP megaco 4.4.2 output,
 * versions 1-3, pretty and compact), its bad messages, error codes and positions, the lenient
 * per-transaction mode, and the text rules (long/short tokens, case, comments, CRLF, SDP escapes,
 * property operators, v2/v3 constructs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  decodeMessage,
  decodeMessageLenient,
  H248CodecError,
  type CodecErrorCode,
} from '../../../../daemon/control/codec/index.js';
import type * as M from '../../../../daemon/control/codec/model.js';

const CORPUS = fileURLToPath(new URL('../../../fixtures/h248-corpus/', import.meta.url));

interface Entry {
  file: string;
  name: string;
  description: string;
  sender: 'MG' | 'MGC';
  encoding: 'pretty' | 'compact';
  version: number;
}
const index = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as Entry[];
const read = (file: string): Buffer => readFileSync(join(CORPUS, file));

/** The message without what legitimately differs between the six encodings of one corpus message. */
function essence(m: M.Message): Omit<M.Message, 'style' | 'version'> {
  const { style: _s, version: _v, ...rest } = m;
  return rest;
}

/** The decoded v3 pretty corpus message `name` (and checks its five siblings decode the same). */
function corpus(name: string): M.Message {
  const entries = index.filter((e) => e.name === name);
  assert.ok(entries.length >= 1, `corpus message ${name}`);
  const v3 = entries.find((e) => e.version === 3 && e.encoding === 'pretty') ?? (entries[0] as Entry);
  const m = decodeMessage(read(v3.file));
  for (const e of entries)
    assert.deepStrictEqual(
      essence(decodeMessage(read(e.file))),
      essence(m),
      `${e.file} means the same as ${v3.file}`,
    );
  return m;
}

function only<T>(xs: readonly T[] | undefined, what: string): T {
  assert.ok(xs !== undefined && xs.length === 1, `exactly one ${what}, got ${xs?.length ?? 'none'}`);
  return xs[0] as T;
}

function request(m: M.Message): M.TransactionRequest {
  const t = only(m.transactions, 'transaction');
  assert.ok(t.kind === 'request', `request, got ${t.kind}`);
  return t;
}

function reply(m: M.Message): M.TransactionReply {
  const t = only(m.transactions, 'transaction');
  assert.ok(t.kind === 'reply', `reply, got ${t.kind}`);
  return t;
}

function onlyCommand(m: M.Message): M.CommandRequest {
  return only(only(request(m).actions, 'action').commands, 'command');
}

function onlyReply(m: M.Message): M.CommandReply {
  return only(only(reply(m).actions, 'action').commands, 'command reply');
}

/** Decoding `text` throws H248CodecError with `code` (and, when given, at line/column). */
function rejects(
  text: string | Uint8Array,
  code: CodecErrorCode,
  line?: number,
  column?: number,
  reason?: RegExp,
): H248CodecError {
  try {
    decodeMessage(text);
  } catch (e) {
    assert.ok(e instanceof H248CodecError, `not an H248CodecError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (line !== undefined) assert.equal(e.line, line, e.message);
    if (column !== undefined) assert.equal(e.column, column, e.message);
    if (reason !== undefined) assert.match(e.reason, reason);
    assert.equal(
      e.message,
      `${e.line > 0 ? `line ${e.line} col ${e.column}: ` : ''}${e.reason} (H.248 ${e.h248})`,
    );
    return e;
  }
  assert.fail(`accepted: ${typeof text === 'string' ? text : '<bytes>'}`);
}

const H3 = 'MEGACO/3 [192.0.2.1]:2944\n';

describe('the independent corpus', () => {
  test('index lists every file, and every message decodes with its version and style', () => {
    assert.ok(index.length >= 240);
    for (const e of index) {
      const m = decodeMessage(read(e.file));
      assert.equal(m.version, e.version, e.file);
      assert.equal(m.style, e.encoding, e.file);
      // as a string too
      assert.deepStrictEqual(decodeMessage(read(e.file).toString('utf8')), m, e.file);
    }
  });

  test('the six encodings (pretty/compact x v1-3) of each message mean the same', () => {
    const names = new Set(index.map((e) => e.name));
    for (const name of names) corpus(name);
  });

  test('sc_restart_root: MG registration', () => {
    const m = corpus('sc_restart_root');
    assert.deepStrictEqual(m.mId, { kind: 'domain', name: 'mg1.example.net', port: 2944 });
    const t = request(m);
    assert.equal(t.id, 1);
    assert.equal(only(t.actions, 'action').contextId, '-');
    assert.deepStrictEqual(onlyCommand(m), {
      kind: 'serviceChange',
      terminationId: 'root',
      services: {
        method: 'restart',
        version: 3,
        profile: { name: 'ResGW', version: 1 },
        reason: '901 Cold Boot',
      },
    });
  });

  test('sc_restart_address_timestamp: port address, Delay, TimeStamp', () => {
    const sc = onlyCommand(corpus('sc_restart_address_timestamp'));
    assert.ok(sc.kind === 'serviceChange');
    assert.deepStrictEqual(sc.services, {
      method: 'restart',
      address: { kind: 'port', port: 2944 },
      reason: '902 Warm Boot',
      delay: 100,
      timestamp: '20240101T10203040',
    });
  });

  test('sc_reply_mgcid: registration reply redirecting with MgcIdToTry', () => {
    const m = corpus('sc_reply_mgcid');
    assert.equal(reply(m).id, 3);
    assert.deepStrictEqual(onlyReply(m), {
      kind: 'serviceChange',
      terminationId: 'root',
      services: { mgcIdToTry: { kind: 'domain', name: 'mgc2.example.net', port: 2944 } },
    });
    assert.deepStrictEqual(onlyReply(corpus('sc_reply_plain')), {
      kind: 'serviceChange',
      terminationId: 'root',
    });
    const ho = onlyCommand(corpus('sc_handoff_mgcid'));
    assert.ok(ho.kind === 'serviceChange');
    assert.equal(ho.services.method, 'handOff');
    assert.deepStrictEqual(ho.services.mgcIdToTry, { kind: 'ip4', address: '127.0.0.2', port: 2944 });
  });

  test('error replies: in a command reply, an action, a transaction, a message', () => {
    assert.deepStrictEqual(onlyReply(corpus('sc_reply_error')), {
      kind: 'serviceChange',
      terminationId: 'root',
      error: { code: 403, text: 'Syntax error in transaction' },
    });
    assert.deepStrictEqual(onlyReply(corpus('add_reply_error_termination')), {
      kind: 'add',
      terminationId: '$',
      audit: { error: { code: 432, text: 'Out of TerminationIDs' } },
    });
    assert.deepStrictEqual(reply(corpus('modify_reply_error')).actions, [
      {
        contextId: 99,
        commands: [],
        error: { code: 411, text: 'The transaction refers to an unknown ContextId' },
      },
    ]);
    const tr = reply(corpus('reply_transaction_error'));
    assert.deepStrictEqual(tr, {
      kind: 'reply',
      id: 31,
      error: { code: 400, text: 'Bad request' },
      actions: [],
    });
    const me = corpus('message_error');
    assert.deepStrictEqual(me.transactions, []);
    assert.deepStrictEqual(me.error, { code: 401, text: 'Protocol Error' });
    // AuditValue = Context { ip/99 } then an action-level error
    assert.deepStrictEqual(reply(corpus('auditvalue_reply_error')).actions, [
      { contextId: '-', commands: [{ kind: 'auditValue', contextTerminationIds: ['ip/99'] }] },
      { contextId: '-', commands: [], error: { code: 430, text: 'Unknown TerminationID' } },
    ]);
  });

  test('add_msrp_tls: Add $ with LocalControl, Local and Remote SDP as opaque text', () => {
    const a = onlyCommand(corpus('add_msrp_tls'));
    assert.ok(a.kind === 'add');
    assert.equal(a.terminationId, '$');
    const sp = a.descriptors.media?.stream;
    assert.deepStrictEqual(sp?.localControl, { mode: 'sendRecv' });
    assert.equal(
      sp?.local,
      'v=0\r\nc=IN IP4 $\r\nm=message $ TCP/TLS/MSRP *\r\na=accept-types:text/plain\r\na=path:$\r\na=setup:passive\r\n',
    );
    assert.equal(
      sp?.remote,
      'v=0\r\nc=IN IP4 127.0.0.1\r\nm=message 20030 TCP/TLS/MSRP *\r\na=accept-types:text/plain\r\na=path:msrps://127.0.0.1:20030/abc123;tcp\r\na=setup:active\r\n',
      'the ; inside SDP is not a comment',
    );
  });

  test('add_termstate_localcontrol_props: TerminationState and LocalControl parameters', () => {
    const a = onlyCommand(corpus('add_termstate_localcontrol_props'));
    assert.ok(a.kind === 'add');
    assert.deepStrictEqual(a.descriptors.media?.terminationState, {
      properties: [{ name: 'tdmc/ec', relation: '=', value: 'on' }],
      bufferControl: 'lockStep',
      serviceState: 'inService',
    });
    assert.deepStrictEqual(a.descriptors.media?.stream?.localControl, {
      mode: 'sendRecv',
      reservedGroup: false,
      reservedValue: true,
      properties: [
        { name: 'nt/jit', relation: '=', value: '40' },
        { name: 'ds/dscp', relation: '=', value: '46' },
      ],
    });
  });

  test('add_events_signals and notify_request_in_add_eventbuffer: Events, Signals, EventBuffer, KeepActive', () => {
    const a = onlyCommand(corpus('add_events_signals'));
    assert.ok(a.kind === 'add');
    assert.equal(a.terminationId, 'tdm/1/1');
    assert.deepStrictEqual(a.descriptors.events, {
      requestId: 2222,
      events: [{ name: 'al/of' }, { name: 'dd/ce' }],
    });
    assert.deepStrictEqual(a.descriptors.signals, [{ kind: 'signal', name: 'cg/rt' }]);
    const b = onlyCommand(corpus('notify_request_in_add_eventbuffer'));
    assert.ok(b.kind === 'add');
    assert.deepStrictEqual(b.descriptors, {
      eventBuffer: [{ name: 'al/on' }],
      events: { requestId: 5555, events: [{ name: 'al/on', keepActive: true }] },
    });
    const s = onlyCommand(corpus('modify_signals_stop'));
    assert.ok(s.kind === 'modify');
    assert.deepStrictEqual(s.descriptors.signals, []);
  });

  test('notify_dtmf_stream / notify_netfail: ObservedEvents with stream and parameters', () => {
    const n = onlyCommand(corpus('notify_dtmf_stream'));
    assert.ok(n.kind === 'notify');
    assert.deepStrictEqual(n.observedEvents, {
      requestId: 3333,
      events: [
        { name: 'dd/d1', stream: 1 },
        {
          name: 'dd/ce',
          params: [
            { name: 'ds', relation: '=', value: '"912"' },
            { name: 'Meth', relation: '=', value: 'UM' },
          ],
        },
      ],
    });
    const f = onlyCommand(corpus('notify_netfail'));
    assert.ok(f.kind === 'notify');
    assert.deepStrictEqual(f.observedEvents?.events, [
      { name: 'nt/netfail', params: [{ name: 'cs', relation: '=', value: '"RTP timeout"' }] },
    ]);
    assert.deepStrictEqual(onlyReply(corpus('notify_reply')), { kind: 'notify', terminationId: 'ip/1' });
  });

  test('subtract_with_stats / subtract_reply_two: Subtract asking Statistics, and the replies', () => {
    const s = onlyCommand(corpus('subtract_with_stats'));
    assert.deepStrictEqual(s, { kind: 'subtract', terminationId: 'ip/1', audit: { items: ['statistics'] } });
    assert.deepStrictEqual(reply(corpus('subtract_reply_two')).actions, [
      {
        contextId: 1,
        commands: [
          { kind: 'subtract', terminationId: 'ip/1' },
          { kind: 'subtract', terminationId: 'ip/2' },
        ],
      },
    ]);
  });

  test('response_ack_ranges / response_ack_single / transaction_pending', () => {
    assert.deepStrictEqual(corpus('response_ack_ranges').transactions, [
      { kind: 'responseAck', acks: [{ first: 10, last: 15 }, { first: 20 }] },
    ]);
    assert.deepStrictEqual(corpus('response_ack_single').transactions, [
      { kind: 'responseAck', acks: [{ first: 10 }] },
    ]);
    assert.deepStrictEqual(corpus('transaction_pending').transactions, [{ kind: 'pending', id: 10 }]);
    assert.deepStrictEqual(reply(corpus('reply_imm_ack_required')), {
      kind: 'reply',
      id: 30,
      immAckRequired: true,
      actions: [{ contextId: 1, commands: [{ kind: 'modify', terminationId: 'ip/1' }] }],
    });
  });

  test('segmented_reply_last (v3): Reply = 40/2/END', () => {
    assert.deepStrictEqual(reply(corpus('segmented_reply_last')), {
      kind: 'reply',
      id: 40,
      segmentNumber: 2,
      segmentationComplete: true,
      actions: [{ contextId: 2, commands: [{ kind: 'subtract', terminationId: 'ip/2' }] }],
    });
  });

  test('context_reply_topology: context properties in an action reply', () => {
    assert.deepStrictEqual(reply(corpus('context_reply_topology')).actions, [
      {
        contextId: 1,
        context: { priority: 3, topology: [{ from: 'ip/1', to: 'ip/2', direction: 'bothway' }] },
        commands: [],
      },
    ]);
  });

  test('multi_action_transaction: two actions in one transaction', () => {
    const t = request(corpus('multi_action_transaction'));
    assert.equal(t.id, 100);
    assert.equal(t.actions.length, 2);
    assert.deepStrictEqual(t.actions[0], {
      contextId: 1,
      commands: [{ kind: 'subtract', terminationId: '*' }],
    });
    const add = only(t.actions[1]?.commands, 'command');
    assert.ok(add.kind === 'add');
    assert.equal(t.actions[1]?.contextId, '$');
    assert.match(add.descriptors.media?.stream?.remote ?? '', /^a=rtpmap:101 telephone-event\/8000\r$/m);
  });

  test('mid_ip6: IPv6 mId', () => {
    const m = corpus('mid_ip6');
    assert.deepStrictEqual(m.mId, { kind: 'ip6', address: '::1', port: 2944 });
    assert.equal(request(m).id, 110);
  });

  test('audits: AuditValue Packages request and reply, AuditValue reply with Media, AuditCapabilities', () => {
    assert.deepStrictEqual(onlyCommand(corpus('auditvalue_root_packages')), {
      kind: 'auditValue',
      terminationId: 'root',
      audit: { items: ['packages'] },
    });
    const pk = onlyReply(corpus('auditvalue_reply_packages'));
    assert.ok(pk.kind === 'auditValue');
    assert.deepStrictEqual(pk.audit?.packages?.slice(0, 3), [
      { name: 'g', version: 1 },
      { name: 'root', version: 2 },
      { name: 'nt', version: 1 },
    ]);
    const av = onlyReply(corpus('auditvalue_reply_media'));
    assert.ok(av.kind === 'auditValue');
    assert.equal(av.terminationId, 'ip/1');
    assert.deepStrictEqual(av.audit?.events, { requestId: 2222, events: [{ name: 'al/of' }] });
    assert.deepStrictEqual(av.audit?.statistics, [{ name: 'rtp/ps', value: '50' }]);
    assert.match(av.audit?.media?.stream?.local ?? '', /^m=audio 30000 RTP\/AVP 0\r\n$/m);
    assert.deepStrictEqual(onlyCommand(corpus('auditcap_root')), {
      kind: 'auditCapabilities',
      terminationId: 'root',
      audit: {},
    });
    const aw = onlyCommand(corpus('add_with_audit_return'));
    assert.ok(aw.kind === 'add');
    assert.deepStrictEqual(aw.descriptors.audit, { items: ['media', 'statistics'] });
  });

  test('modes: SendOnly with a new Remote, Inactive, Loopback; Move', () => {
    const a = onlyCommand(corpus('modify_mode_remote'));
    assert.ok(a.kind === 'modify');
    assert.equal(a.descriptors.media?.stream?.localControl?.mode, 'sendOnly');
    assert.equal(
      a.descriptors.media?.stream?.remote,
      'v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 20100 RTP/AVP 8\r\n',
    );
    const b = onlyCommand(corpus('modify_inactive'));
    assert.ok(b.kind === 'modify');
    assert.equal(b.descriptors.media?.stream?.localControl?.mode, 'inactive');
    const c = onlyCommand(corpus('modify_loopback'));
    assert.ok(c.kind === 'modify');
    assert.equal(c.descriptors.media?.stream?.localControl?.mode, 'loopback');
    assert.deepStrictEqual(onlyCommand(corpus('move_termination')), {
      kind: 'move',
      terminationId: 'ip/3',
      descriptors: {},
    });
    const d = onlyCommand(corpus('sc_disconnected_wildcard'));
    assert.ok(d.kind === 'serviceChange');
    assert.equal(d.terminationId, 'ip/*');
    assert.equal(d.services.method, 'disconnected');
  });
});

describe('the bad corpus', () => {
  const bad = JSON.parse(readFileSync(join(CORPUS, 'bad', 'index.json'), 'utf8')) as {
    file: string;
    description: string;
    independent_decoder: string;
  }[];
  const expected: Record<string, CodecErrorCode> = {
    'bad/swapped_braces.txt': 'ERR_H248_SYNTAX_TRANSACTION',
    'bad/huge_transaction_id.txt': 'ERR_H248_SYNTAX_TRANSACTION',
    'bad/negative_transaction_id.txt': 'ERR_H248_SYNTAX_TRANSACTION',
    'bad/deep_nesting_unbalanced_sdp.txt': 'ERR_H248_LIMIT',
    'bad/bad_utf8.txt': 'ERR_H248_SYNTAX_MESSAGE',
    'bad/unknown_command.txt': 'ERR_H248_UNKNOWN_COMMAND',
    'bad/unknown_descriptor.txt': 'ERR_H248_UNKNOWN_DESCRIPTOR',
    'bad/unterminated_quote.txt': 'ERR_H248_SYNTAX_COMMAND',
    'bad/binary_garbage.txt': 'ERR_H248_BINARY',
  };

  for (const b of bad) {
    test(`${b.file} (${b.description}): ${b.independent_decoder === 'rejected' ? 'rejected' : 'handled within limits'}, quickly`, () => {
      const bytes = new Uint8Array(read(b.file));
      for (const input of [bytes, Buffer.from(bytes).toString('latin1')]) {
        const t0 = performance.now();
        let out: M.Message | H248CodecError;
        try {
          out = decodeMessage(input);
        } catch (e) {
          assert.ok(e instanceof H248CodecError, `not an H248CodecError: ${String(e)}`);
          out = e;
        }
        const ms = performance.now() - t0;
        assert.ok(ms < 100, `${b.file} took ${ms.toFixed(1)} ms`);
        if (b.independent_decoder === 'rejected') {
          assert.ok(out instanceof H248CodecError, `${b.file} was accepted`);
          const code = expected[b.file];
          // a latin1 string of invalid UTF-8 is valid text; its bytes outside quotes still fail
          if (code !== undefined && typeof input !== 'string') assert.equal(out.code, code, out.message);
        }
      }
    });
  }

  test('error details of the bad corpus', () => {
    rejects(
      new Uint8Array(read('bad/huge_transaction_id.txt')),
      'ERR_H248_SYNTAX_TRANSACTION',
      2,
      15,
      /TransactionID \(0\.\.4294967295\).*'99999999999999999999'/,
    );
    rejects(
      new Uint8Array(read('bad/negative_transaction_id.txt')),
      'ERR_H248_SYNTAX_TRANSACTION',
      2,
      15,
      /'-5'/,
    );
    rejects(
      new Uint8Array(read('bad/swapped_braces.txt')),
      'ERR_H248_SYNTAX_TRANSACTION',
      2,
      18,
      /expected '\{'/,
    );
    rejects(
      new Uint8Array(read('bad/unknown_command.txt')),
      'ERR_H248_UNKNOWN_COMMAND',
      2,
      33,
      /unknown command 'Frobnicate'/,
    );
    rejects(
      new Uint8Array(read('bad/unknown_descriptor.txt')),
      'ERR_H248_UNKNOWN_DESCRIPTOR',
      2,
      43,
      /unknown descriptor 'Bogus'/,
    );
    rejects(
      new Uint8Array(read('bad/unterminated_quote.txt')),
      'ERR_H248_SYNTAX_COMMAND',
      2,
      94,
      /unterminated quoted string/,
    );
    rejects(new Uint8Array(read('bad/bad_utf8.txt')), 'ERR_H248_SYNTAX_MESSAGE', 2, 45, /invalid UTF-8/);
    const e = rejects(
      new Uint8Array(read('bad/deep_nesting_unbalanced_sdp.txt')),
      'ERR_H248_LIMIT',
      3,
      1,
      /maxStringLength/,
    );
    assert.equal(e.limit, 'maxStringLength');
    assert.equal(e.h248, 400);
  });
});

describe('errors: codes and positions', () => {
  test("the message format: line 3 col 14: expected '{' after Add (H.248 442)", () => {
    const e = rejects(
      `${H3}Transaction = 1 {\n Context = - {\n  Notify = ip/1 ObservedEvents = 1 { g/cause } } }`,
      'ERR_H248_SYNTAX_COMMAND',
      4,
      17,
    );
    assert.equal(e.message, "line 4 col 17: expected '{' after the TerminationID, found 'O' (H.248 442)");
    // after `Add = $` the command may end: a following word is then out of place in the action (422)
    rejects(
      `${H3}Transaction = 1 {\n Context = $ {\n  Add = $ Media { } } }`,
      'ERR_H248_SYNTAX_ACTION',
      4,
      11,
      /expected ',' or '\}' in Context/,
    );
    const f = rejects(
      `${H3}T=1{C=1{A}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      10,
      /^expected '=' after Add, found '\}'$/,
    );
    assert.equal(f.message, "line 2 col 10: expected '=' after Add, found '}' (H.248 442)");
    assert.equal(f.expected, "'='");
    assert.equal(f.offset, H3.length + 9);
  });

  test('header errors are 400', () => {
    rejects('MEGACO/3', 'ERR_H248_SYNTAX_MESSAGE', 1, 9, /expected an mId/);
    rejects('HELLO/3 [1.2.3.4]:1 T=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 1, /MEGACO/);
    rejects('MEGACO/123 [1.2.3.4]:1 T=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 8, /version/);
    rejects(
      'MEGACO/3 [1.2.3.400]:1 T=1{C=-{AV=ROOT}}',
      'ERR_H248_SYNTAX_MESSAGE',
      1,
      11,
      /not an IPv4 or IPv6/,
    );
    rejects('MEGACO/3 [1.2.3.4]:99999 T=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 20, /port/);
    rejects('MEGACO/3 <mg.example.net>:2944\n', 'ERR_H248_SYNTAX_MESSAGE', 2, 1, /expected a transaction/);
    rejects('', 'ERR_H248_SYNTAX_MESSAGE', undefined, undefined, /empty/);
    rejects('MEGACO/1 [1.2.3.4] T=1{C=-{AV=RO\u0000OT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 33, /NUL/);
  });

  test('transaction (403), action (422) and command (442) levels', () => {
    rejects(`${H3}Transaction = 1 Context`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 17);
    rejects(`${H3}Transaction = 1 { }`, 'ERR_H248_SYNTAX_ACTION', 2, 19, /expected Context/);
    rejects(`${H3}Transaction = 1 { Context = x { Add = $ } }`, 'ERR_H248_SYNTAX_ACTION', 2, 29, /ContextID/);
    rejects(`${H3}T=1{C=4294967295{A=$}}`, 'ERR_H248_SYNTAX_ACTION', 2, 7, /reserved/);
    rejects(`${H3}T=1{C=4294967294{A=$}}`, 'ERR_H248_SYNTAX_ACTION', 2, 7, /reserved/);
    rejects(`${H3}T=1{C=1 A=$}`, 'ERR_H248_SYNTAX_ACTION', 2, 9, /expected '\{'/);
    rejects(`${H3}T=1{C=1{A=$,}}`, 'ERR_H248_SYNTAX_ACTION', 2, 13, /expected a command/);
    rejects(
      `${H3}T=1{C=1{A=$ {M{O{MO=XX}}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      21,
      /SendOnly, ReceiveOnly.*found 'XX'/,
    );
    rejects(
      `${H3}T=1{C=1{A=$ {M{O{MO=SR}}}}`,
      'ERR_H248_SYNTAX_TRANSACTION',
      2,
      27,
      /expected ',' or '\}' in Transaction/,
    );
    rejects(`${H3}P=1{C=1{A=$ {M{O{MO=SR}}}}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 27);
    rejects(
      `${H3}T=1{C=1{A=$ {M{O{MO=SR}},E=1{}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      30,
      /expected an event name/,
    );
    rejects(
      `${H3}T=1{C=1{A=$ {M{O{MO=SR}},M{O{MO=SO}}}}}`,
      'ERR_H248_DESCRIPTOR_TWICE',
      2,
      26,
      /Media appears twice/,
    );
    rejects(`${H3}T=1{C=1{A=$ {M{Bogus{}}}}}`, 'ERR_H248_UNKNOWN_DESCRIPTOR', 2, 16, /'Bogus'/);
    rejects(`${H3}T=1{C=1{Move=$ {M{L{v=0}}}, Frob=x}}`, 'ERR_H248_UNKNOWN_COMMAND', 2, 29, /'Frob'/);
  });

  test('TransactionID is 0..4294967295; Reply ids, segment numbers and acks too', () => {
    assert.equal(request(decodeMessage(`${H3}T=4294967295{C=-{AV=ROOT}}`)).id, 4294967295);
    assert.equal(request(decodeMessage(`${H3}T=0{C=-{AV=ROOT}}`)).id, 0);
    rejects(`${H3}T=4294967296{C=-{AV=ROOT}}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 3);
    rejects(`${H3}P=4294967296{C=-{AV=ROOT}}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 3);
    rejects(`${H3}P=1/70000{C=-{AV=ROOT}}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 5, /SegmentNumber/);
    rejects(`${H3}P=1/2/FIN{C=-{AV=ROOT}}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 7, /END/);
    rejects(`${H3}K{1-x}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 5);
    rejects(`${H3}SM=5`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 5, /SegmentNumber/);
    rejects(`${H3}PN=5{x}`, 'ERR_H248_SYNTAX_TRANSACTION', 2, 6);
    // a request without an id is transaction 0 (H.248.1 8.2.2)
    assert.equal(request(decodeMessage(`${H3}Transaction { Context = - { AuditValue = ROOT } }`)).id, 0);
    assert.equal(request(decodeMessage(`${H3}Transaction = { Context = - { AuditValue = ROOT } }`)).id, 0);
  });

  test('binary and non-text input', () => {
    rejects(new Uint8Array([0x30, 0x82, 0x01, 0x10, 0xa1, 0x03]), 'ERR_H248_BINARY');
    rejects(new Uint8Array([0x8a, 0xd0, 0x0a]), 'ERR_H248_BINARY');
    rejects('\u0001MEGACO/1', 'ERR_H248_BINARY');
    // a lone invalid byte in a quoted string; 0xC3 0xA9 (é) is fine there
    rejects(
      new Uint8Array(Buffer.from(`${H3}P=1{C=-{ER=400{"x\u00ff"}}}`, 'latin1')),
      'ERR_H248_SYNTAX_MESSAGE',
      2,
      18,
      /UTF-8/,
    );
    assert.deepStrictEqual(
      reply(decodeMessage(new Uint8Array(Buffer.from(`${H3}P=1{C=-{ER=400{"caf\u00e9"}}}`, 'utf8'))))
        .actions[0]?.error,
      {
        code: 400,
        text: 'caf\u00e9',
      },
    );
    // non-ASCII outside quotes and SDP is not a SafeChar
    rejects(`${H3}T=1{C=-{AV=ro\u00e9ot}}`, 'ERR_H248_SYNTAX_ACTION', 2, 14, /found '\u00e9'/);
  });
});

describe('lenient mode: one bad transaction does not sink the others', () => {
  test('second transaction with a bad command: first OK, second invalid with 442 and its id', () => {
    const text = `${H3}Transaction = 1 { Context = - { AuditValue = ROOT } }\nTransaction = 2 { Context = 7 { Modify = ip/1 { Media { LocalControl { Mode = Sideways } } } } }\nTransaction = 3 { Context = - { Notify = ip/2 { ObservedEvents = 1 { g/cause } } } }`;
    assert.throws(
      () => decodeMessage(text),
      (e: unknown) => e instanceof H248CodecError && e.code === 'ERR_H248_SYNTAX_COMMAND',
    );
    const { message, invalid } = decodeMessageLenient(text);
    assert.deepStrictEqual(
      message.transactions.map((t) => (t.kind === 'request' ? t.id : -1)),
      [1, 3],
    );
    const bad = only(invalid, 'invalid transaction');
    assert.equal(bad.index, 1);
    assert.equal(bad.kind, 'request');
    assert.equal(bad.id, 2);
    assert.equal(bad.error.code, 'ERR_H248_SYNTAX_COMMAND');
    assert.equal(bad.error.h248, 442);
    assert.equal(bad.error.line, 3);
  });

  test('transaction-level (403) and action-level (422) errors, unknown command (443)', () => {
    const text = `${H3}T=1{C=-{AV=ROOT}}T=2 C=1{A=$}T=3{C=99999999999{A=$}}T=4{C=1{Frob=x}}T=5{C=-{AV=ROOT}}`;
    const { message, invalid } = decodeMessageLenient(text);
    assert.deepStrictEqual(
      message.transactions.map((t) => (t.kind === 'request' ? t.id : -1)),
      [1],
      'T=2 has no braces: the structure is lost from there on',
    );
    assert.deepStrictEqual(
      invalid.map((i) => [i.index, i.id, i.error.h248]),
      [[1, 2, 403]],
    );
    const r = decodeMessageLenient(
      `${H3}T=1{C=-{AV=ROOT}}T=3{C=99999999999{A=$}}T=4{C=1{Frob=x}}T=5{C=-{AV=ROOT}}`,
    );
    assert.deepStrictEqual(
      r.message.transactions.map((t) => (t.kind === 'request' ? t.id : -1)),
      [1, 5],
    );
    assert.deepStrictEqual(
      r.invalid.map((i) => [i.index, i.id, i.error.h248, i.error.code]),
      [
        [1, 3, 422, 'ERR_H248_SYNTAX_ACTION'],
        [2, 4, 443, 'ERR_H248_UNKNOWN_COMMAND'],
      ],
    );
  });

  test('resynchronisation skips quoted strings, comments and SDP braces inside the bad transaction', () => {
    const text = `${H3}T=1{C=1{A=$ {M{L{\nv=0\na=x:{{{ \\} y\n}, O{MO=BAD}}, E=1{a/b{x="}}}"}} ; }}}}\n}}}\nT=2{C=-{AV=ROOT}}`;
    const { message, invalid } = decodeMessageLenient(text);
    assert.equal(only(invalid, 'invalid').id, 1);
    assert.deepStrictEqual(message.transactions, [
      {
        kind: 'request',
        id: 2,
        actions: [{ contextId: '-', commands: [{ kind: 'auditValue', terminationId: 'ROOT' }] }],
      },
    ]);
  });

  test('an unknown transaction keyword is recorded with its id; replies too', () => {
    const { message, invalid } = decodeMessageLenient(
      `${H3}Transction = 9 { C=-{AV=ROOT} }\nP=10{C=1{ER=5x{}}}\nPN=11{}`,
    );
    assert.deepStrictEqual(message.transactions, [{ kind: 'pending', id: 11 }]);
    assert.deepStrictEqual(
      invalid.map((i) => [i.index, i.kind, i.id, i.error.h248]),
      [
        [0, undefined, 9, 403],
        [1, 'reply', 10, 422],
      ],
    );
  });

  test('header errors and message limits still throw', () => {
    assert.throws(() => decodeMessageLenient('MEGACO/3 T=1{}'), H248CodecError);
    assert.throws(
      () => decodeMessageLenient(`${H3}${'K{1}'.repeat(20)}`, { maxTransactions: 10 }),
      (e: unknown) =>
        e instanceof H248CodecError && e.code === 'ERR_H248_LIMIT' && e.limit === 'maxTransactions',
    );
  });

  test('a well-formed message gives the same as decodeMessage', () => {
    for (const e of index) {
      const r = decodeMessageLenient(read(e.file));
      assert.deepStrictEqual(r.invalid, []);
      assert.deepStrictEqual(r.message, decodeMessage(read(e.file)));
    }
  });
});

describe('text rules', () => {
  const LONG = `MEGACO/3 [192.0.2.1]:2944
Transaction = 7 {
  Context = $ {
    Add = $ {
      Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ReservedValue = ON }, Local {
v=0
m=audio $ RTP/AVP 0
} } },
      Events = 3 { g/cause { KeepActive } },
      Signals { SignalList = 2 { cg/rt { SignalType = TimeOut, Duration = 100, NotifyCompletion = { TimeOut, IntByEvent } } } }
    },
    Subtract = ip/9 { Audit { Statistics } }
  }
}`;
  const SHORT = `!/3 [192.0.2.1]:2944
T=7{C=\${A=\${M{ST=1{O{MO=RC,RV=ON},L{
v=0
m=audio $ RTP/AVP 0
}}},E=3{g/cause{KA}},SG{SL=2{cg/rt{SY=TO,DR=100,NC={TO,IBE}}}}},S=ip/9{AT{SA}}}}`;

  test('every token in long and short form means the same', () => {
    const a = decodeMessage(LONG);
    const b = decodeMessage(SHORT);
    assert.equal(a.style, 'pretty');
    assert.equal(b.style, 'compact');
    assert.deepStrictEqual(essence(a), essence(b));
    const add = request(a).actions[0]?.commands[0];
    assert.ok(add?.kind === 'add');
    assert.deepStrictEqual(add.descriptors.signals, [
      {
        kind: 'list',
        id: 2,
        signals: [
          {
            kind: 'signal',
            name: 'cg/rt',
            signalType: 'timeOut',
            duration: 100,
            notifyCompletion: ['timeOut', 'interruptByEvent'],
          },
        ],
      },
    ]);
  });

  test('case-insensitive tokens, names keep their spelling', () => {
    const lower = decodeMessage(LONG.toLowerCase().replace('m=audio $ rtp/avp 0', 'm=audio $ RTP/AVP 0'));
    const upper = decodeMessage(
      LONG.toUpperCase().replace('M=AUDIO $ RTP/AVP 0', 'm=audio $ RTP/AVP 0').replace('V=0', 'v=0'),
    );
    const cmdsL = request(lower).actions[0]?.commands;
    const cmdsU = request(upper).actions[0]?.commands;
    assert.equal(cmdsL?.[1]?.terminationId, 'ip/9');
    assert.equal(cmdsU?.[1]?.terminationId, 'IP/9');
    const addU = cmdsU?.[0];
    assert.ok(addU?.kind === 'add');
    assert.equal(addU.descriptors.media?.streams?.[0]?.localControl?.mode, 'recvOnly');
    assert.equal(addU.descriptors.events?.events[0]?.name, 'G/CAUSE');
    assert.equal(
      decodeMessage('megaco/1 [1.2.3.4] transaction=1{context=-{auditvalue=root}}').style,
      'pretty',
    );
  });

  test('comments, CRLF, LF and white space anywhere legal', () => {
    const text = [
      '; a comment before the header',
      'MEGACO/1 [10.0.0.1]:2944 ; the mId',
      'Transaction = 9 ; id',
      '{ ; open',
      '\tContext\t=\t- {',
      '  Notify = ip/1 { ObservedEvents = 1 {',
      '    20240101T00000001 : g/cause { Generalcause = NR , Failurecause = "x ; not a comment" } ; done',
      '  } } } }',
    ];
    const lf = decodeMessage(text.join('\n'));
    const crlf = decodeMessage(text.join('\r\n'));
    assert.deepStrictEqual(crlf, lf);
    const n = request(lf).actions[0]?.commands[0];
    assert.ok(n?.kind === 'notify');
    assert.deepStrictEqual(n.observedEvents, {
      requestId: 1,
      events: [
        {
          name: 'g/cause',
          timestamp: '20240101T00000001',
          params: [
            { name: 'Generalcause', relation: '=', value: 'NR' },
            { name: 'Failurecause', relation: '=', value: '"x ; not a comment"' },
          ],
        },
      ],
    });
    // an error on the last line is reported there, with CRLF too
    try {
      decodeMessage([...text.slice(0, -1), '  } } } '].join('\r\n'));
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof H248CodecError);
      assert.equal(e.line, 8);
    }
  });

  test('SDP: opaque text, \\} unescaped, its own line ends kept, leading/trailing white space dropped', () => {
    const m = decodeMessage(
      `${H3}T=1{C=1{MF=ip/1{M{L{   \r\nv=0\r\na=fmtp:96 x={a\\}\r\na=x:;not a comment\r\n\t\t},R{v=0}}}}}`,
    );
    const mf = request(m).actions[0]?.commands[0];
    assert.ok(mf?.kind === 'modify');
    assert.equal(mf.descriptors.media?.stream?.local, 'v=0\r\na=fmtp:96 x={a}\r\na=x:;not a comment\r\n');
    assert.equal(mf.descriptors.media?.stream?.remote, 'v=0\r\n');
    // `\\}` is a backslash then an escaped brace
    const n = decodeMessage(`${H3}T=1{C=1{MF=ip/1{M{L{a=x:\\\\}y\n}}}}}`);
    const c = request(n).actions[0]?.commands[0];
    assert.ok(c?.kind === 'modify');
    assert.equal(c.descriptors.media?.stream?.local, 'a=x:\\}y\n');
    assert.deepStrictEqual(
      (
        request(decodeMessage(`${H3}T=1{C=1{MF=ip/1{M{L{},R{ \n }}}}}`)).actions[0]
          ?.commands[0] as M.AmmRequest
      ).descriptors.media?.stream,
      { local: '', remote: '' },
    );
    rejects(`${H3}T=1{C=1{MF=ip/1{M{L{v=0\n`, 'ERR_H248_SYNTAX_COMMAND', 2, 20, /'\}' missing/);
  });

  test('property relations, lists, alternatives and ranges', () => {
    const m = decodeMessage(
      `${H3}T=1{C=1{MF=ip/1{M{O{a/b=1, a/c#2, a/d!=3, a/e != 4, a/f<5, a/g>6, a/h=[1,2, 3], a/i={x,"y z"}, a/j=[10:20], a/k="q"}}}}}`,
    );
    const mf = request(m).actions[0]?.commands[0];
    assert.ok(mf?.kind === 'modify');
    assert.deepStrictEqual(mf.descriptors.media?.stream?.localControl?.properties, [
      { name: 'a/b', relation: '=', value: '1' },
      { name: 'a/c', relation: '!=', value: '2' },
      { name: 'a/d', relation: '!=', value: '3' },
      { name: 'a/e', relation: '!=', value: '4' },
      { name: 'a/f', relation: '<', value: '5' },
      { name: 'a/g', relation: '>', value: '6' },
      { name: 'a/h', relation: '=', list: ['1', '2', '3'] },
      { name: 'a/i', relation: '=', alternatives: ['x', '"y z"'] },
      { name: 'a/j', relation: '=', range: ['10', '20'] },
      { name: 'a/k', relation: '=', value: '"q"' },
    ]);
    rejects(`${H3}T=1{C=1{MF=ip/1{M{O{a/b<[1,2]}}}}}`, 'ERR_H248_SYNTAX_COMMAND', 2, 25, /expected a value/);
    rejects(
      `${H3}T=1{C=1{MF=ip/1{M{O{a/b=[1:2:3]}}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      29,
      /'\]' to end a range/,
    );
    rejects(
      `${H3}T=1{C=1{MF=ip/1{M{O{a/b}}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      24,
      /expected '=' after 'a\/b'/,
    );
  });

  test('mId forms: IPv4, IPv6, domain (with and without port), MTP, device name', () => {
    const mid = (h: string): M.MId => decodeMessage(`MEGACO/1 ${h}\nT=1{C=-{AV=ROOT}}`).mId;
    assert.deepStrictEqual(mid('[192.0.2.1]'), { kind: 'ip4', address: '192.0.2.1' });
    assert.deepStrictEqual(mid('[2001:db8::1]:2944'), { kind: 'ip6', address: '2001:db8::1', port: 2944 });
    assert.deepStrictEqual(mid('[::ffff:192.0.2.1]:1'), {
      kind: 'ip6',
      address: '::ffff:192.0.2.1',
      port: 1,
    });
    assert.deepStrictEqual(mid('<mg-1.example.net>'), { kind: 'domain', name: 'mg-1.example.net' });
    assert.deepStrictEqual(mid('MTP{0A1B2C}'), { kind: 'mtp', hex: '0A1B2C' });
    assert.deepStrictEqual(mid('gw/mg1'), { kind: 'device', name: 'gw/mg1' });
    rejects('MEGACO/1 [2001:db8:::1]\nT=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 11);
    rejects('MEGACO/1 MTP{0A1}\nT=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 14);
    rejects('MEGACO/1 <-bad>\nT=1{C=-{AV=ROOT}}', 'ERR_H248_SYNTAX_MESSAGE', 1, 11);
  });

  test('Authentication header', () => {
    const m = decodeMessage(
      `Authentication = 0x12345678:0x00000001:0x${'ab'.repeat(12)}\nMEGACO/1 [1.2.3.4]\nT=1{C=-{AV=ROOT}}`,
    );
    assert.deepStrictEqual(m.auth, { spi: '0x12345678', seq: '0x00000001', data: `0x${'ab'.repeat(12)}` });
    rejects(
      'AU=0x1:0x2:0x3\nMEGACO/1 [1.2.3.4]\nT=1{C=-{AV=ROOT}}',
      'ERR_H248_SYNTAX_MESSAGE',
      1,
      4,
      /SecurityParmIndex/,
    );
  });

  test('O- and W- command prefixes, termination id lists (v3), ContextID forms', () => {
    const m = decodeMessage(`${H3}T=1{C=*{O-MF=ip/*,W-S=[ip/1,ip/2],O-W-AV=ROOT}}`);
    assert.deepStrictEqual(request(m).actions, [
      {
        contextId: '*',
        commands: [
          { kind: 'modify', terminationId: 'ip/*', descriptors: {}, optional: true },
          { kind: 'subtract', terminationId: 'ip/1', terminationIds: ['ip/1', 'ip/2'], wildcardReply: true },
          { kind: 'auditValue', terminationId: 'ROOT', optional: true, wildcardReply: true },
        ],
      },
    ]);
    rejects(`${H3}T=1{C=1{O-PR=3}}`, 'ERR_H248_UNKNOWN_COMMAND', 2, 9);
  });

  test('context properties and audit: Priority, Emergency, IEPS, Topology (stream, oneway variants), ContextAttr, ContextAudit', () => {
    const m = decodeMessage(
      `${H3}T=1{C=5{PR=7,EG,IEPS=ON,TP{a,b,OW,ST=2,b,a,OWE,c,d,OWB,e,f,IS},CT{x/y=1,ContextList={1,2}},CA{TP,EG,PR,IEPS,x/z,PR=3,EGV=EGO,IEPS=OFF,ORLgc,CT{x/w=2,x/v}},MF=ip/1}}`,
    );
    const a = only(request(m).actions, 'action');
    assert.deepStrictEqual(a.context, {
      priority: 7,
      emergency: true,
      ieps: true,
      topology: [
        { from: 'a', to: 'b', direction: 'oneway', stream: 2 },
        { from: 'b', to: 'a', direction: 'onewayExternal' },
        { from: 'c', to: 'd', direction: 'onewayBoth' },
        { from: 'e', to: 'f', direction: 'isolate' },
      ],
      attributes: [{ name: 'x/y', relation: '=', value: '1' }],
      contextList: [1, 2],
    });
    assert.deepStrictEqual(a.contextAudit, {
      topology: true,
      emergency: true,
      priority: true,
      ieps: true,
      properties: ['x/z', 'x/v'],
      selectPriority: 3,
      selectEmergency: false,
      selectIeps: false,
      selectLogic: 'or',
      selectAttributes: [{ name: 'x/w', relation: '=', value: '2' }],
    });
    assert.equal(a.commands.length, 1);
    assert.deepStrictEqual(only(request(decodeMessage(`${H3}T=1{C=5{EGO,A=$}}`)).actions, 'a').context, {
      emergency: false,
    });
    rejects(`${H3}T=1{C=5{TP{a,b}}}`, 'ERR_H248_SYNTAX_ACTION', 2, 15, /Topology triple/);
    rejects(`${H3}T=1{C=5{PR=1,PR=2}}`, 'ERR_H248_DESCRIPTOR_TWICE', 2, 14);
  });

  test('events: Embed, DigitMap (name and value), Stream, v3 notification behaviour, ResetEventsDescriptor', () => {
    const m = decodeMessage(
      `${H3}T=1{C=1{MF=ip/1{E=10{al/of{EM{SG{cg/dt},E=11{dd/ce{DM=dialplan0}}}},dd/ce{DM={T:5,(0|00|[1-7]xxx ; comment\n|9011x.)},ST=2,NBRN{EM{SG{x/y}}},RSE,mode=fast},a/b{NBIN},a/c{NBNN}},DM=dp1{T:3,S:2,(xx|1x.)}}}}`,
    );
    const mf = request(m).actions[0]?.commands[0];
    assert.ok(mf?.kind === 'modify');
    assert.deepStrictEqual(mf.descriptors.events, {
      requestId: 10,
      events: [
        {
          name: 'al/of',
          embed: {
            signals: [{ kind: 'signal', name: 'cg/dt' }],
            events: { requestId: 11, events: [{ name: 'dd/ce', digitMap: { name: 'dialplan0' } }] },
          },
        },
        {
          name: 'dd/ce',
          digitMap: { value: 'T:5,(0|00|[1-7]xxx|9011x.)' },
          stream: 2,
          notifyBehaviour: { kind: 'regulated', embed: { signals: [{ kind: 'signal', name: 'x/y' }] } },
          resetEventsDescriptor: true,
          params: [{ name: 'mode', relation: '=', value: 'fast' }],
        },
        { name: 'a/b', notifyBehaviour: { kind: 'immediate' } },
        { name: 'a/c', notifyBehaviour: { kind: 'never' } },
      ],
    });
    assert.deepStrictEqual(mf.descriptors.digitMap, { name: 'dp1', value: 'T:3,S:2,(xx|1x.)' });
  });

  test('signals: parameters, v3 direction, request id, intersignal delay, keep active', () => {
    const m = decodeMessage(
      `${H3}T=1{C=1{MF=ip/1{SG{an/apf{an=7,ST=1,SY=BR,KA,SPADI=EX,SPARQ=5,SPAIS=20},x/y{Direction=Both,RequestID=*,Intersignal=1}}}}}`,
    );
    const mf = request(m).actions[0]?.commands[0];
    assert.ok(mf?.kind === 'modify');
    assert.deepStrictEqual(mf.descriptors.signals, [
      {
        kind: 'signal',
        name: 'an/apf',
        params: [{ name: 'an', relation: '=', value: '7' }],
        stream: 1,
        signalType: 'brief',
        keepActive: true,
        direction: 'external',
        requestId: 5,
        intersignalDelay: 20,
      },
      { kind: 'signal', name: 'x/y', direction: 'both', requestId: '*', intersignalDelay: 1 },
    ]);
  });

  test('individual audit (v2+): Media, Events, Signals, EventBuffer, DigitMap, Statistics, Packages', () => {
    const m = decodeMessage(
      `${H3}T=1{C=1{AV=ip/1{AT{M{TS{SI,BF,x/a},O{MO,RV,RG,x/b,x/c=2},L,R,SA{rtp/ps},ST=2{O{MO=SR},R},TS{SI#OS}},E=3{g/cause},E{al/of},SG{},SG{cg/rt},SG{SL=4},SG{SL=5{cg/bt}},EB{al/on{ST=1}},EB{al/of{strict}},DM=dp,SA{nt/os},PG{nt-1},OE,DM,MX,MD}}}}`,
    );
    const av = request(m).actions[0]?.commands[0];
    assert.ok(av?.kind === 'auditValue');
    assert.deepStrictEqual(av.audit, {
      items: ['observedEvents', 'digitMap', 'mux', 'modem'],
      indAud: [
        {
          kind: 'media',
          media: {
            terminationState: { serviceStatesSelect: { relation: '!=', state: 'outOfService' } },
            stream: {
              localControl: {
                mode: true,
                reservedValue: true,
                reservedGroup: true,
                properties: [{ name: 'x/b' }, { name: 'x/c', relation: '=', value: '2' }],
              },
              local: true,
              remote: true,
              statistics: 'rtp/ps',
            },
            streams: [
              { id: 2, localControl: { modeSelect: { relation: '=', mode: 'sendRecv' } }, remote: true },
            ],
          },
        },
        { kind: 'events', requestId: 3, name: 'g/cause' },
        { kind: 'events', name: 'al/of' },
        { kind: 'signals' },
        { kind: 'signals', signal: { kind: 'signal', name: 'cg/rt' } },
        { kind: 'signals', list: { id: 4 } },
        { kind: 'signals', list: { id: 5, signal: { kind: 'signal', name: 'cg/bt' } } },
        { kind: 'eventBuffer', name: 'al/on', stream: 1 },
        { kind: 'eventBuffer', name: 'al/of', param: 'strict' },
        { kind: 'digitMap', name: 'dp' },
        { kind: 'statistics', name: 'nt/os' },
        { kind: 'packages', name: 'nt', version: 1 },
      ],
    });
  });

  test('replies: terminationAudit descriptors, bare audit items, AuditValue = Context {Error}, statistics lists', () => {
    const m = decodeMessage(
      `${H3}P=1{C=1{AV=ip/1{M{ST=1{O{MO=SR},SA{rtp/ps=3}}},SG{cg/rt},DM=dp{(xx)},OE=1{al/on},EB{al/of},PG{g-1},SA{nt/dur=[1,2]},MX=H221{t1,t2},MD=V18{x/y=1},M,PG},AC=C{ER=430{}},S=ip/2{ER=432{"x"}},N=ip/3{ER=400{}},SC=ROOT{ER=501{}}},C=2{IEPS=OFF,MV=ip/4}}`,
    );
    const [a1, a2] = reply(m).actions;
    assert.deepStrictEqual(a1?.commands, [
      {
        kind: 'auditValue',
        terminationId: 'ip/1',
        audit: {
          media: {
            streams: [
              { id: 1, localControl: { mode: 'sendRecv' }, statistics: [{ name: 'rtp/ps', value: '3' }] },
            ],
          },
          signals: [{ kind: 'signal', name: 'cg/rt' }],
          digitMap: { name: 'dp', value: '(xx)' },
          observedEvents: { requestId: 1, events: [{ name: 'al/on' }] },
          eventBuffer: [{ name: 'al/of' }],
          packages: [{ name: 'g', version: 1 }],
          statistics: [{ name: 'nt/dur', values: ['1', '2'] }],
          mux: { type: 'H221', terminationIds: ['t1', 't2'] },
          modem: { types: ['V18'], properties: [{ name: 'x/y', relation: '=', value: '1' }] },
          items: ['media', 'packages'],
        },
      },
      { kind: 'auditCapabilities', contextError: { code: 430 } },
      { kind: 'subtract', terminationId: 'ip/2', audit: { error: { code: 432, text: 'x' } } },
      { kind: 'notify', terminationId: 'ip/3', error: { code: 400 } },
      { kind: 'serviceChange', terminationId: 'ROOT', error: { code: 501 } },
    ]);
    assert.deepStrictEqual(a2, {
      contextId: 2,
      context: { ieps: false },
      commands: [{ kind: 'move', terminationId: 'ip/4' }],
    });
  });

  test('ServiceChange: every parameter, extension method, MTP and device addresses, ServiceChangeInc', () => {
    const m = decodeMessage(
      `${H3}T=1{C=-{SC=ROOT{SV{MT=x-mine,RE=902,DL=5,AD=[10.0.0.1]:2944,PF=TrGW_eMediasec/12,V=3,MG=mgc/a,20240229t23595999,SIC,X-foo=bar,X+b={1,2}}}}}`,
    );
    const sc = request(m).actions[0]?.commands[0];
    assert.ok(sc?.kind === 'serviceChange');
    assert.deepStrictEqual(sc.services, {
      method: 'X-mine',
      reason: '902',
      delay: 5,
      address: { kind: 'ip4', address: '10.0.0.1', port: 2944 },
      profile: { name: 'TrGW_eMediasec', version: 12 },
      version: 3,
      mgcIdToTry: { kind: 'device', name: 'mgc/a' },
      timestamp: '20240229T23595999',
      incomplete: true,
      extensions: [
        { name: 'X-foo', relation: '=', value: 'bar' },
        { name: 'X+b', relation: '=', alternatives: ['1', '2'] },
      ],
    });
    const sc2 = request(decodeMessage(`${H3}T=1{C=-{SC=ROOT{SV{MT=FL,AD=MTP{1234},RE="909"}}}}`)).actions[0]
      ?.commands[0];
    assert.ok(sc2?.kind === 'serviceChange');
    assert.deepStrictEqual(sc2.services.address, { kind: 'mtp', hex: '1234' });
    rejects(
      `${H3}T=1{C=-{SC=ROOT{SV{MT=Sideways}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      23,
      /after Method, found 'Sideways'/,
    );
    rejects(`${H3}T=1{C=-{SC=ROOT{SV{PF=ResGW}}}}`, 'ERR_H248_SYNTAX_COMMAND', 2, 23, /Profile/);
    rejects(`${H3}T=1{C=-{SC=ROOT{SV{V=123}}}}`, 'ERR_H248_SYNTAX_COMMAND', 2, 22, /Version/);
    rejects(
      `${H3}T=1{C=-{SC=ROOT{SV{foo}}}}`,
      'ERR_H248_SYNTAX_COMMAND',
      2,
      20,
      /unknown ServiceChange parameter 'foo'/,
    );
    rejects(
      `${H3}T=1{C=-{SC=ROOT{SV{MT=RS,MT=RS}}}}`,
      'ERR_H248_DESCRIPTOR_TWICE',
      2,
      26,
      /Method appears twice/,
    );
  });

  test('v3 Segment reply and ImmAckRequired before an error', () => {
    const m = decodeMessage(`${H3}Segment = 40/2/END\nSM=41/1\nP=42{IA,ER=500{"x"}}`);
    assert.deepStrictEqual(m.transactions, [
      { kind: 'segmentReply', id: 40, segmentNumber: 2, segmentationComplete: true },
      { kind: 'segmentReply', id: 41, segmentNumber: 1 },
      { kind: 'reply', id: 42, immAckRequired: true, error: { code: 500, text: 'x' }, actions: [] },
    ]);
  });
});

test('LocalControl: `MO!=SR` is an error like `MO#SR` (Mode takes `=` only), not a property named MO', () => {
  for (const lc of ['MO!=SR', 'MO#SR', 'RV!=ON', 'ReservedGroup!=OFF']) {
    const text = `!/1 [127.0.0.1]:2944\nT=15{C=${'$'}{A=${'$'}{M{O{${lc}}}}}}`;
    assert.throws(
      () => decodeMessage(text),
      (e: unknown) => e instanceof H248CodecError && e.code === 'ERR_H248_SYNTAX_COMMAND' && /expected '=' after/.test(e.message),
      lc,
    );
  }
});
