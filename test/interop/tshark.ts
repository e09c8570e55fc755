/**
 * Runs tshark (Wireshark's dissectors) over our H.248 bytes and reads back what it made of each
 * packet, so tests can assert "Wireshark decodes every H.248 message we send".
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';

/** The fields we read per frame (order matters: it is the column order of `-T fields`). */
export const TSHARK_FIELDS = [
  'frame.number',
  'frame.protocols',
  'udp.srcport',
  '_ws.malformed',
  '_ws.expert.severity',
  '_ws.expert.message',
  'megaco.version',
  'megaco.transaction',
  'megaco.transid',
  'megaco.mId',
] as const;

/** Expert-info severities as tshark prints them in `_ws.expert.severity`. */
export const PI_CHAT = 0x00200000;
export const PI_NOTE = 0x00400000;
export const PI_WARN = 0x00600000;
export const PI_ERROR = 0x00800000;

export interface DissectedFrame {
  readonly number: number;
  readonly protocols: string[];
  readonly srcPort: number | undefined;
  readonly malformed: boolean;
  readonly expert: { severity: number; message: string }[];
  /** One entry per MEGACO PDU in the frame (TCP can carry several). */
  readonly megacoVersions: string[];
  readonly transactions: string[];
  readonly transIds: string[];
  readonly mIds: string[];
}

function split(v: string | undefined): string[] {
  return v === undefined || v === '' ? [] : v.split('|');
}

/** Parses `tshark -T fields -e <TSHARK_FIELDS> -E occurrence=a -E aggregator=|` output. */
export function parseFieldRows(stdout: string): DissectedFrame[] {
  const frames: DissectedFrame[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const c = line.split('\t');
    const sev = split(c[4]).map(Number);
    const msg = split(c[5]);
    frames.push({
      number: Number(c[0]),
      protocols: (c[1] ?? '').split(':'),
      srcPort: c[2] ? Number(split(c[2])[0]) : undefined,
      malformed: (c[3] ?? '') !== '',
      expert: sev.map((severity, i) => ({ severity, message: msg[i] ?? '' })),
      megacoVersions: split(c[6]),
      transactions: split(c[7]),
      transIds: split(c[8]),
      mIds: split(c[9]),
    });
  }
  return frames;
}

function fieldArgs(): string[] {
  return [
    '-T',
    'fields',
    ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
    '-E',
    'occurrence=a',
    '-E',
    'aggregator=|',
    '-E',
    'separator=/t',
  ];
}

/** Dissects a capture file. `decodeAs` are `-d` arguments such as `udp.port==2944,megaco`. */
export function dissectFile(
  tshark: string,
  file: string,
  decodeAs: readonly string[] = [],
): DissectedFrame[] {
  const res = spawnSync(tshark, ['-n', '-r', file, ...decodeAs.flatMap((d) => ['-d', d]), ...fieldArgs()], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`tshark exited with ${res.status}: ${res.stderr}`);
  return parseFieldRows(res.stdout);
}

/** What we expect tshark to find in one H.248 message (read from its text, independently of our codec). */
export interface Expected {
  readonly version: string;
  /** First transaction as Wireshark names it, or 'Error' for a message-level error. */
  readonly kind: 'Request' | 'Reply' | 'Pending' | 'TransactionResponseAck' | 'Segment' | 'Error';
  readonly transId: string | undefined;
}

const KIND: Record<string, Expected['kind']> = {
  transaction: 'Request',
  t: 'Request',
  reply: 'Reply',
  p: 'Reply',
  pending: 'Pending',
  pn: 'Pending',
  transactionresponseack: 'TransactionResponseAck',
  k: 'TransactionResponseAck',
  segment: 'Segment',
  sm: 'Segment',
  error: 'Error',
  er: 'Error',
};

/**
 * Reads version, kind and id of the first transaction from a message text with two regular
 * expressions (only the header and the first token are needed, and they come before any SDP), so the
 * expectation does not depend on our codec.
 */
export function expectedOf(text: string): Expected {
  const s = text.replace(/^(?:\s|;[^\n]*\n)*/, '');
  const head = /^(?:MEGACO|!)\/(\d{1,2})\s+(\S+)\s+/i.exec(s);
  if (!head) throw new Error(`no MEGACO header in: ${s.slice(0, 60)}`);
  // The mId ends at the first SEP; comments may follow it.
  const body = s.slice(head[0].length).replace(/^(?:\s|;[^\n]*\n)*/, '');
  const tok = /^([A-Za-z]+)\s*(?:=\s*(\d+)|\{\s*(\d+))?/.exec(body);
  const name = (tok?.[1] ?? '').toLowerCase();
  const kind = KIND[name];
  if (kind === undefined) throw new Error(`unknown first token '${tok?.[1]}' in: ${body.slice(0, 60)}`);
  return {
    version: String(Number(head[1])),
    kind,
    transId: kind === 'Error' ? undefined : (tok?.[2] ?? tok?.[3]),
  };
}

/** What is wrong with a frame's dissection itself: not MEGACO, undissected data, malformed, expert errors. */
export function dissectionProblems(frame: DissectedFrame): string[] {
  const p: string[] = [];
  const megaco = frame.protocols.indexOf('megaco');
  if (megaco < 0) p.push(`not dissected as MEGACO (protocols ${frame.protocols.join(':')})`);
  // 'data' after megaco means the dissector gave up on the start of the message.
  if (megaco >= 0 && frame.protocols.slice(megaco).includes('data'))
    p.push('MEGACO dissector left undissected data');
  if (frame.malformed) {
    const why = [...new Set(frame.expert.filter((e) => e.severity < PI_ERROR).map((e) => e.message))];
    p.push(`malformed packet${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
  }
  for (const e of frame.expert) if (e.severity >= PI_ERROR) p.push(`expert error: ${e.message}`);
  return p;
}

/**
 * Problems tshark reports for a frame carrying the `expected` MEGACO PDUs (one for UDP); empty when
 * the frame is a clean MEGACO dissection with the expected version, transaction kind and id.
 */
export function problemsOf(frame: DissectedFrame, expected: readonly Expected[]): string[] {
  const p = dissectionProblems(frame);
  if (frame.megacoVersions.length !== expected.length) {
    p.push(`expected ${expected.length} MEGACO PDU(s), tshark saw ${frame.megacoVersions.length}`);
  }
  expected.forEach((e, i) => {
    const v = frame.megacoVersions[i];
    if (v !== undefined && v !== e.version) p.push(`PDU ${i}: version ${v}, expected ${e.version}`);
    const kinds = e.kind === 'Pending' ? ['Pending', 'Reply'] : [e.kind]; // Wireshark 4.0 labels Pending "Reply"
    const k = frame.transactions[i];
    if (k !== undefined && !kinds.includes(k)) p.push(`PDU ${i}: transaction '${k}', expected ${e.kind}`);
    if (e.transId !== undefined && !frame.transIds.includes(e.transId)) {
      p.push(
        `PDU ${i}: transaction id ${e.transId} not found (tshark: ${frame.transIds.join(',') || 'none'})`,
      );
    }
  });
  return p;
}

/** Warnings (not failures): notes and warnings from Wireshark's MEGACO dissector. */
export function warningsOf(frame: DissectedFrame): string[] {
  return frame.expert.filter((e) => e.severity >= PI_NOTE && e.severity < PI_ERROR).map((e) => e.message);
}

/**
 * Live capture on loopback: starts tshark on `lo` with a capture filter for one ephemeral UDP port,
 * waits until it really captures (probe datagrams from another socket until one shows up), sends
 * each payload as one datagram to 127.0.0.1:<port>, and returns the dissected frames of the payloads
 * (probes removed), in order. The port is decoded as MEGACO with `-d`. Bounded by `timeoutMs`.
 */
export async function liveCaptureUdp(
  tshark: string,
  payloads: readonly Buffer[],
  timeoutMs = 30_000,
): Promise<DissectedFrame[]> {
  const sink = dgram.createSocket('udp4');
  const probe = dgram.createSocket('udp4');
  const sender = dgram.createSocket('udp4');
  sink.on('message', () => {});
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
  const port = sink.address().port;
  const probePort = probe.address().port;
  const senderPort = sender.address().port;
  const child = spawn(
    tshark,
    [
      '-n',
      '-l',
      '-i',
      'lo',
      '-f',
      `udp port ${port} and host 127.0.0.1`,
      '-d',
      `udp.port==${port},megaco`,
      ...fieldArgs(),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + timeoutMs;
  const rows = (): DissectedFrame[] => parseFieldRows(out.slice(0, out.lastIndexOf('\n') + 1));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let alive = true;
  void exited.then(() => (alive = false));
  try {
    // 1. wait until a probe is captured
    while (!rows().some((f) => f.srcPort === probePort)) {
      if (!alive) {
        if (/permission|not permitted|Operation not permitted/i.test(err)) {
          throw Object.assign(new Error(`tshark may not capture on lo here: ${err.trim()}`), {
            code: 'CAPTURE_DENIED',
          });
        }
        throw new Error(`tshark exited before capturing: ${err}`);
      }
      if (Date.now() > deadline)
        throw new Error(`tshark did not start capturing within ${timeoutMs} ms: ${err}`);
      probe.send(Buffer.from('probe'), port, '127.0.0.1');
      await sleep(50);
    }
    // 2. send the payloads, one datagram each, paced so the capture keeps up
    for (const p of payloads) {
      await new Promise<void>((resolve, reject) =>
        sender.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
      );
      await sleep(2);
    }
    // 3. wait until all of them were dissected
    while (rows().filter((f) => f.srcPort === senderPort).length < payloads.length) {
      if (!alive) throw new Error(`tshark exited early: ${err}`);
      if (Date.now() > deadline) {
        const n = rows().filter((f) => f.srcPort === senderPort).length;
        throw new Error(`tshark dissected ${n} of ${payloads.length} datagrams within ${timeoutMs} ms`);
      }
      await sleep(50);
    }
    return rows().filter((f) => f.srcPort === senderPort);
  } finally {
    if (alive) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (alive) child.kill('SIGKILL');
    sink.close();
    probe.close();
    sender.close();
  }
}
