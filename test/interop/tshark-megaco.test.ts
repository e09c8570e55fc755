/**
 * Wireshark interop: does tshark's MEGACO dissector decode every H.248 message we send?
 *
 * Deterministic part: we write pcap files ourselves (Ethernet/IPv4/UDP, and TCP with TPKT framing)
 * and run `tshark -r`. Each packet must be dissected as MEGACO with no malformed mark, no expert
 * error, no undissected data, and the version / first transaction / transaction id that the message
 * text says. Live part: one real capture on `lo` (ephemeral port, `-d udp.port==<port>,megaco`).
 *
 * The harness is first proven on the raw corpus (messages produced by Erlang/OTP megaco), with a
 * negative control; then the same checks run on our encoder's output (pretty and compact).
 * Needs tshark (skips locally without it, fails under CI=true).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inCI, requireTool } from './tools.js';
import { pcapFile, tcpStream, tpkt, udpFrame, type Endpoint } from './pcap.js';
import {
  dissectFile,
  dissectionProblems,
  expectedOf,
  liveCaptureUdp,
  problemsOf,
  warningsOf,
  type DissectedFrame,
  type Expected,
} from './tshark.js';
import { H248_ERRORS } from '../../daemon/control/errors.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const CORPUS = join(FIXTURES, 'h248-corpus');
const RFC = join(FIXTURES, 'rfc3525-appendix-i');

const MG: Endpoint = { addr: '127.0.0.2', port: 2944 };
const MGC: Endpoint = { addr: '127.0.0.1', port: 2944 };

interface Msg {
  readonly name: string;
  readonly text: string;
  /**
   * The text this one was re-encoded from. Problems tshark also finds in the original (the RFC's
   * own SDP has `t= 0 0`, which Wireshark calls invalid whitespace) are not held against us.
   */
  readonly orig?: string;
}

function corpus(): Msg[] {
  const index = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as { file: string }[];
  return index.map((e) => ({ name: e.file, text: readFileSync(join(CORPUS, e.file), 'utf8') }));
}

function rfcFlows(): Msg[] {
  return readdirSync(RFC)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => ({ name: `rfc3525/${f}`, text: readFileSync(join(RFC, f), 'utf8') }));
}

const work = mkdtempSync(join(tmpdir(), 'trgwd-tshark-'));
after(() => rmSync(work, { recursive: true, force: true }));
let fileNo = 0;

/** Writes the frames as a pcap and returns what tshark made of them. */
function dissect(tshark: string, frames: Buffer[]): DissectedFrame[] {
  const path = join(work, `c${fileNo++}.pcap`);
  writeFileSync(path, pcapFile(frames));
  return dissectFile(tshark, path, ['udp.port==2944,megaco']);
}

/** Asserts every message, each in its own UDP datagram, dissects cleanly; returns warnings seen. */
function assertUdpClean(tshark: string, msgs: readonly Msg[]): Map<string, number> {
  const origs = msgs.filter((m) => m.orig !== undefined);
  const frames = [...msgs.map((m) => m.text), ...origs.map((m) => m.orig as string)].map((t) =>
    udpFrame(MG, MGC, Buffer.from(t, 'utf8')),
  );
  const rows = dissect(tshark, frames);
  assert.equal(rows.length, frames.length, 'tshark returned one row per frame');
  const baseline = new Map<Msg, Set<string>>();
  origs.forEach((m, i) => {
    const row = rows[msgs.length + i] as DissectedFrame;
    baseline.set(m, new Set(problemsOf(row, [expectedOf(m.orig as string)])));
  });
  const failures: string[] = [];
  const warnings = new Map<string, number>();
  msgs.forEach((m, i) => {
    const known = baseline.get(m) ?? new Set<string>();
    const probs = problemsOf(rows[i] as DissectedFrame, [expectedOf(m.text)]).filter((p) => !known.has(p));
    if (probs.length > 0)
      failures.push(`${m.name}: ${probs.join('; ')}\n${JSON.stringify(m.text.slice(0, 600))}`);
    for (const w of warningsOf(rows[i] as DissectedFrame)) warnings.set(w, (warnings.get(w) ?? 0) + 1);
  });
  assert.deepEqual(failures, [], `tshark found problems in ${failures.length} message(s)`);
  return warnings;
}

/**
 * Sends all messages over one TCP connection with TPKT framing, cut into segments at `segment` bytes
 * (0: one message per segment), and asserts tshark finds every PDU clean and in order.
 */
function assertTcpClean(tshark: string, msgs: readonly Msg[], segment: number): void {
  const pdus = msgs.map((m) => tpkt(Buffer.from(m.text, 'utf8')));
  let chunks: Buffer[] = pdus;
  if (segment > 0) {
    const all = Buffer.concat(pdus);
    chunks = [];
    for (let o = 0; o < all.length; o += segment) chunks.push(all.subarray(o, o + segment));
  }
  const rows = dissect(tshark, tcpStream({ addr: MGC.addr, port: 40000 }, MG, chunks)).filter((r) =>
    r.protocols.includes('megaco'),
  );
  const failures: string[] = [];
  const seenIds: string[] = [];
  for (const r of rows) {
    for (const problem of dissectionProblems(r))
      failures.push(`frame ${r.number} (TCP, segments of ${segment || 'one PDU'}): ${problem}`);
    seenIds.push(...r.megacoVersions.map((_, i) => r.transIds[i] ?? ''));
  }
  const pduCount = rows.reduce((n, r) => n + r.megacoVersions.length, 0);
  assert.deepEqual(failures, []);
  assert.equal(pduCount, msgs.length, 'every TPKT PDU was dissected as MEGACO');
  // transaction ids in order, where the message has one (message-level Error has none)
  const wantIds = msgs.map((m) => expectedOf(m.text).transId).filter((x): x is string => x !== undefined);
  assert.deepEqual(
    seenIds.filter((x) => x !== ''),
    wantIds,
  );
}

/** Live capture, or (capturing not permitted, e.g. not root) skip locally / fail under CI. */
async function liveOrSkip(
  t: { skip(msg: string): void },
  tshark: string,
  payloads: Buffer[],
): Promise<DissectedFrame[] | undefined> {
  try {
    return await liveCaptureUdp(tshark, payloads);
  } catch (e) {
    if (!inCI() && (e as { code?: string }).code === 'CAPTURE_DENIED') {
      t.skip(`${(e as Error).message}; run as root (or give dumpcap capture rights) for the live check`);
      return undefined;
    }
    throw e;
  }
}

function reportWarnings(t: { diagnostic(msg: string): void }, w: Map<string, number>): void {
  for (const [msg, n] of w) t.diagnostic(`Wireshark note/warning (not a failure) x${n}: ${msg}`);
}

describe('tshark harness on the raw corpus (Erlang-produced messages, no codec involved)', () => {
  test('every corpus message in its own UDP datagram is clean MEGACO', (t) => {
    const tshark = requireTool(t, 'tshark', 'to check Wireshark decodes our H.248');
    if (tshark === undefined) return;
    reportWarnings(t, assertUdpClean(tshark, corpus()));
  });

  test('corpus over TCP with TPKT: one PDU per segment, and PDUs split and coalesced across segments', (t) => {
    const tshark = requireTool(t, 'tshark');
    if (tshark === undefined) return;
    const msgs = corpus();
    assertTcpClean(tshark, msgs, 0);
    assertTcpClean(tshark, msgs, 333);
  });

  test('negative control: the harness does flag what Wireshark cannot decode', (t) => {
    const tshark = requireTool(t, 'tshark');
    if (tshark === undefined) return;
    const bad = [
      'MEGACO/1 [127.0.0.1]:2944\nTransaction = 1 { Context = 1 { Add = x { Media { Strea',
      'hello, this is not H.248',
      readFileSync(join(CORPUS, 'bad', 'swapped_braces.txt'), 'utf8'),
    ];
    const rows = dissect(
      tshark,
      bad.map((b) => udpFrame(MG, MGC, Buffer.from(b))),
    );
    const expected: Expected = { version: '1', kind: 'Request', transId: '1' };
    rows.forEach((r, i) =>
      assert.notDeepEqual(problemsOf(r, [expected]), [], `bad message ${i} not flagged`),
    );
  });

  test('live capture on lo: corpus sample sent as real UDP datagrams', async (t) => {
    const tshark = requireTool(t, 'tshark');
    if (tshark === undefined) return;
    const msgs = corpus().filter((_, i) => i % 12 === 0);
    const rows = await liveOrSkip(
      t,
      tshark,
      msgs.map((m) => Buffer.from(m.text)),
    );
    if (rows === undefined) return;
    assert.equal(rows.length, msgs.length);
    const failures = msgs.flatMap((m, i) =>
      problemsOf(rows[i] as DissectedFrame, [expectedOf(m.text)]).map((p) => `${m.name}: ${p}`),
    );
    assert.deepEqual(failures, []);
  });
});

describe('our encoder through tshark', () => {
  type Codec = typeof import('../../daemon/control/codec/index.js');
  let codecPromise: Promise<Codec> | undefined;
  const codec = (): Promise<Codec> => (codecPromise ??= import('../../daemon/control/codec/index.js'));

  /** Our re-encoding of each message in the given style (the name says which). */
  async function reencode(msgs: readonly Msg[], style: 'pretty' | 'compact'): Promise<Msg[]> {
    const { decodeMessage, encodeMessage } = await codec();
    return msgs.map((m) => ({
      name: `${m.name} (ours, ${style})`,
      text: encodeMessage(decodeMessage(m.text), { style }),
      orig: m.text,
    }));
  }

  /** RFC flows our decoder accepts (some RFC examples have syntax defects and may be rejected). */
  async function decodableRfcFlows(): Promise<Msg[]> {
    const { decodeMessage } = await codec();
    return rfcFlows().filter((m) => {
      try {
        decodeMessage(m.text);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Replies the gateway sends for errors: one per row of our H.248 error table. */
  function errorReplies(): Msg[] {
    const seen = new Set<number>();
    const out: Msg[] = [];
    let tid = 7000;
    for (const [code, row] of Object.entries(H248_ERRORS)) {
      if (seen.has(row.h248)) continue;
      seen.add(row.h248);
      tid++;
      out.push({
        name: `error reply ${row.h248} (${code})`,
        text: `MEGACO/3 [192.0.2.10]:2944\nReply = ${tid} { Context = - { Error = ${row.h248} { "${row.text}" } } }`,
      });
      out.push({
        name: `command error reply ${row.h248} (${code})`,
        text: `MEGACO/3 [192.0.2.10]:2944\nReply = ${tid} { Context = 31 { Add = ip/31/access/1 { Error = ${row.h248} { "${row.text}" } } } }`,
      });
    }
    return out;
  }

  for (const style of ['pretty', 'compact'] as const) {
    test(`corpus re-encoded ${style}: every message clean MEGACO over UDP`, async (t) => {
      const tshark = requireTool(t, 'tshark');
      if (tshark === undefined) return;
      reportWarnings(t, assertUdpClean(tshark, await reencode(corpus(), style)));
    });

    test(`RFC 3525 Appendix I flows and our error replies re-encoded ${style}: clean over UDP`, async (t) => {
      const tshark = requireTool(t, 'tshark');
      if (tshark === undefined) return;
      const flows = await decodableRfcFlows();
      t.diagnostic(`${flows.length} RFC flow messages decode with our codec`);
      reportWarnings(t, assertUdpClean(tshark, await reencode([...flows, ...errorReplies()], style)));
    });

    test(`corpus re-encoded ${style} over TCP with TPKT (whole and split segments)`, async (t) => {
      const tshark = requireTool(t, 'tshark');
      if (tshark === undefined) return;
      const msgs = await reencode(corpus(), style);
      assertTcpClean(tshark, msgs, 0);
      assertTcpClean(tshark, msgs, 500);
    });
  }

  test('live capture on lo: our encodings sent as real UDP datagrams', async (t) => {
    const tshark = requireTool(t, 'tshark');
    if (tshark === undefined) return;
    const sample = corpus().filter((_, i) => i % 10 === 3);
    const msgs = [...(await reencode(sample, 'pretty')), ...(await reencode(sample, 'compact'))];
    const rows = await liveOrSkip(
      t,
      tshark,
      msgs.map((m) => Buffer.from(m.text)),
    );
    if (rows === undefined) return;
    assert.equal(rows.length, msgs.length);
    const failures = msgs.flatMap((m, i) =>
      problemsOf(rows[i] as DissectedFrame, [expectedOf(m.text)]).map((p) => `${m.name}: ${p}`),
    );
    assert.deepEqual(failures, []);
  });
});
