/**
 * RFC 3525 (H.248.1 v1) Appendix I call flows, as printed (test/fixtures/rfc3525-appendix-i/, see
 * its README): every ABNF-valid message decodes, round-trips through our encoder in both styles, and
 * a few decode to the structure the RFC describes. The RFC's own syntax slips (event parameters in
 * parentheses, a trailing comma) may be accepted or rejected, but a rejection must point at the slip.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage, encodeMessage, H248CodecError } from '../../../../daemon/control/codec/index.js';
import type * as M from '../../../../daemon/control/codec/model.js';

const DIR = fileURLToPath(new URL('../../../fixtures/rfc3525-appendix-i/', import.meta.url));

interface Entry {
  file: string;
  step: number;
  description: string;
  abnf: 'valid' | 'defect';
  defects: { lines: number[]; what: string }[];
}
const index = JSON.parse(readFileSync(join(DIR, 'index.json'), 'utf8')) as Entry[];
const text = (file: string): string => readFileSync(join(DIR, file), 'utf8');
const byPrefix = (nn: string): string => {
  const e = index.find((x) => x.file.startsWith(`${nn}_`));
  assert.ok(e, `fixture ${nn}_*`);
  return text(e.file);
};

function withoutStyle(m: M.Message): M.Message {
  const { style: _style, ...rest } = m;
  return rest;
}

function assertRoundTrip(m: M.Message, name: string): void {
  for (const style of ['pretty', 'compact'] as const) {
    const out = encodeMessage(m, { style });
    const back = decodeMessage(out);
    assert.deepStrictEqual(
      withoutStyle(back),
      withoutStyle(m),
      `${name}: ${style} re-encoding decodes differently:\n${out}`,
    );
    assert.equal(encodeMessage(back, { style }), out, `${name}: ${style} encoding is not stable`);
  }
}

function first<T>(xs: readonly T[] | undefined, what: string): T {
  assert.ok(xs !== undefined && xs.length > 0, `no ${what}`);
  return xs[0] as T;
}

describe('RFC 3525 Appendix I call flows', () => {
  test('the fixture set is complete (28 messages, each file listed once)', () => {
    assert.equal(index.length, 28);
    assert.equal(new Set(index.map((e) => e.file)).size, 28);
    for (const e of index) assert.ok(text(e.file).startsWith('MEGACO/1 '), e.file);
  });

  for (const e of index) {
    if (e.abnf === 'valid') {
      test(`${e.file} decodes and round-trips (pretty, compact)`, () => {
        const m = decodeMessage(text(e.file));
        assert.equal(m.version, 1);
        assert.equal(m.style, 'pretty');
        assert.equal(m.transactions.length, 1);
        // the same message given as bytes decodes the same
        assert.deepStrictEqual(decodeMessage(new Uint8Array(Buffer.from(text(e.file), 'utf8'))), m);
        assertRoundTrip(m, e.file);
      });
    } else {
      test(`${e.file} (RFC syntax slip: ${e.defects.map((d) => d.what.split(';')[0]).join(' / ')}) is accepted, or rejected at the slip`, (t) => {
        let m: M.Message;
        try {
          m = decodeMessage(text(e.file));
        } catch (err) {
          assert.ok(err instanceof H248CodecError, `not an H248CodecError: ${String(err)}`);
          const lines = e.defects.flatMap((d) => d.lines);
          assert.ok(
            lines.includes(err.line),
            `rejected at line ${err.line}, the slips are on lines ${lines.join(', ')}: ${err.message}`,
          );
          t.diagnostic(`rejected: ${err.message}`);
          return;
        }
        t.diagnostic('accepted (lenient)');
        assertRoundTrip(m, e.file);
      });
    }
  }

  test('step 1: registration without Reason, mId without port', () => {
    const m = decodeMessage(byPrefix('01'));
    assert.deepStrictEqual(m.mId, { kind: 'ip4', address: '124.124.124.222' });
    const tr = first(m.transactions, 'transaction');
    assert.equal(tr.kind, 'request');
    assert.ok(tr.kind === 'request');
    assert.equal(tr.id, 9998);
    const action = first(tr.actions, 'action');
    assert.equal(action.contextId, '-');
    const sc = first(action.commands, 'command');
    assert.ok(sc.kind === 'serviceChange');
    assert.equal(sc.terminationId.toUpperCase(), 'ROOT');
    assert.equal(sc.services.method, 'restart');
    assert.equal(sc.services.reason, undefined);
    assert.deepStrictEqual(sc.services.address, { kind: 'port', port: 55555 });
    assert.deepStrictEqual(sc.services.profile, { name: 'ResGW', version: 1 });
  });

  test('step 12: Add of two terminations, the second with LocalControl and two SDP alternatives', () => {
    const m = decodeMessage(byPrefix('11'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'request');
    assert.equal(tr.id, 10003);
    const action = first(tr.actions, 'action');
    assert.equal(action.contextId, '$');
    assert.equal(action.commands.length, 2);
    const [a1, a2] = action.commands as [M.CommandRequest, M.CommandRequest];
    assert.ok(a1.kind === 'add' && a2.kind === 'add');
    assert.equal(a1.terminationId, 'A4444');
    assert.equal(a2.terminationId, '$');
    const stream = first(a2.descriptors.media?.streams, 'stream');
    assert.equal(stream.id, 1);
    assert.equal(stream.localControl?.mode, 'recvOnly');
    assert.deepStrictEqual(stream.localControl?.properties, [{ name: 'nt/jit', relation: '=', value: '40' }]);
    const local = stream.local ?? '';
    assert.equal(local.match(/^v=0\r?$/gm)?.length, 2, `two SDP groups in Local:\n${local}`);
    assert.match(local, /^m=audio \$ RTP\/AVP 4\r?$/m);
    assert.match(local, /^a=ptime:30\r?$/m);
    assert.match(local, /^m=audio \$ RTP\/AVP 0\r?\n$/m);
    assert.ok(!local.includes('in ms'), 'the comment is not part of anything');
    assert.equal(stream.remote, undefined);
  });

  test('step 13: Add reply with the MG-chosen Local (comment after the descriptor)', () => {
    const m = decodeMessage(byPrefix('12'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'reply');
    const action = first(tr.actions, 'action');
    assert.equal(action.contextId, 2000);
    const [r1, r2] = action.commands as [M.CommandReply, M.CommandReply];
    assert.ok(r1.kind === 'add' && r2.kind === 'add');
    assert.equal(r2.terminationId, 'A4445');
    const local = first(r2.audit?.media?.streams, 'stream').local ?? '';
    assert.match(local, /^m=audio 2222 RTP\/AVP 4\r?$/m);
    assert.match(local, /^a=recvonly\r?\n$/m);
    assert.ok(!local.includes('G.723'), 'comment outside SDP is dropped');
  });

  test('step 10: Notify with ObservedEvents (time stamp, quoted digit string, Meth)', () => {
    const m = decodeMessage(byPrefix('09'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'request');
    const n = first(first(tr.actions, 'action').commands, 'command');
    assert.ok(n.kind === 'notify');
    assert.equal(n.terminationId, 'A4444');
    assert.equal(n.observedEvents?.requestId, 2223);
    const ev = first(n.observedEvents?.events, 'observed event');
    assert.equal(ev.name, 'dd/ce');
    assert.equal(ev.timestamp, '19990729T22010001');
    assert.deepStrictEqual(ev.params, [
      { name: 'ds', relation: '=', value: '"916135551212"' },
      { name: 'Meth', relation: '=', value: 'UM' },
    ]);
  });

  test('step 18: Modify with an empty Signals descriptor keeps it as an empty list', () => {
    const m = decodeMessage(byPrefix('21'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'request');
    const cmds = first(tr.actions, 'action').commands;
    const mf = cmds[1];
    assert.ok(mf !== undefined && mf.kind === 'modify');
    assert.equal(mf.terminationId, 'A4444');
    assert.deepStrictEqual(mf.descriptors.signals, []);
    const m1 = cmds[0];
    assert.ok(m1 !== undefined && m1.kind === 'modify');
    assert.equal(first(m1.descriptors.media?.streams, 'stream').localControl?.mode, 'sendRecv');
  });

  test('step 20: AuditValue reply (TerminationState, Packages, Statistics with a decimal)', () => {
    const m = decodeMessage(byPrefix('24'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'reply');
    const av = first(first(tr.actions, 'action').commands, 'command');
    assert.ok(av.kind === 'auditValue');
    assert.equal(av.terminationId, 'A5556');
    const audit = av.audit;
    assert.ok(audit);
    assert.deepStrictEqual(audit.media?.terminationState, {
      serviceState: 'inService',
      bufferControl: 'off',
    });
    const st = first(audit.media?.streams, 'stream');
    assert.equal(st.localControl?.mode, 'sendRecv');
    assert.match(st.local ?? '', /^m=audio 1111 RTP\/AVP {2}4\r?$/m);
    assert.match(st.remote ?? '', /^m=audio 2222 RTP\/AVP {2}4\r?$/m);
    assert.deepStrictEqual(audit.packages, [
      { name: 'nt', version: 1 },
      { name: 'rtp', version: 1 },
    ]);
    assert.equal(audit.statistics?.length, 7);
    assert.deepStrictEqual(
      audit.statistics?.find((s) => s.name === 'rtp/pl'),
      { name: 'rtp/pl', value: '0.2' },
    );
  });

  test('step 22: Subtract reply with Statistics for both terminations', () => {
    const m = decodeMessage(byPrefix('28'));
    assert.deepStrictEqual(m.mId, { kind: 'ip4', address: '125.125.125.111', port: 55555 });
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'reply');
    assert.equal(tr.id, 50009);
    const action = first(tr.actions, 'action');
    assert.equal(action.contextId, 5000);
    assert.equal(action.commands.length, 2);
    const [s1, s2] = action.commands as [M.CommandReply, M.CommandReply];
    assert.ok(s1.kind === 'subtract' && s2.kind === 'subtract');
    assert.equal(s1.terminationId, 'A5555');
    assert.deepStrictEqual(s1.audit?.statistics, [
      { name: 'nt/os', value: '45123' },
      { name: 'nt/dur', value: '40' },
    ]);
    assert.equal(s2.terminationId, 'A5556');
    assert.deepStrictEqual(
      s2.audit?.statistics?.map((s) => `${s.name}=${s.value}`),
      ['rtp/ps=1245', 'nt/os=62345', 'rtp/pr=780', 'nt/or=45123', 'rtp/pl=10', 'rtp/jit=27', 'rtp/delay=48'],
    );
  });

  test('step 22: Subtract request with Audit{Statistics}', () => {
    const m = decodeMessage(byPrefix('27'));
    const tr = first(m.transactions, 'transaction');
    assert.ok(tr.kind === 'request');
    for (const c of first(tr.actions, 'action').commands) {
      assert.ok(c.kind === 'subtract');
      assert.deepStrictEqual(c.audit, { items: ['statistics'] });
    }
  });
});
