/**
 * Test helpers for MSRP framing: a sink that records what the parser emits (data slices joined per
 * frame), and sample frames of a multi-chunk exchange (RFC 4975 §9 shapes).
 */
import {
  MsrpParser,
  formatFrame,
  type MsrpFlag,
  type MsrpFramingError,
  type MsrpFramingLimits,
  type MsrpHead,
  type MsrpHeader,
} from '../../../../daemon/bearer/msrp/framing.js';

export interface Recorded {
  head: MsrpHead;
  body: Buffer;
  flag: MsrpFlag | undefined;
}

export class Recorder {
  readonly frames: Recorded[] = [];
  readonly errors: MsrpFramingError[] = [];
  /** Slices seen (to check streaming: more than one per big body). */
  slices = 0;
  readonly #parts: Buffer[] = [];
  readonly parser: MsrpParser;

  constructor(limits: Partial<MsrpFramingLimits> = {}) {
    this.parser = new MsrpParser(
      {
        head: (h) => {
          this.frames.push({ head: h, body: Buffer.alloc(0), flag: undefined });
          this.#parts.length = 0;
        },
        body: (d) => {
          this.slices++;
          // the parser hands views of our input: copy, as a consumer that keeps them must not assume more
          this.#parts.push(Buffer.from(d));
        },
        end: (f) => {
          const cur = this.frames[this.frames.length - 1]!;
          cur.body = Buffer.concat(this.#parts);
          cur.flag = f;
          this.#parts.length = 0;
        },
        error: (e) => this.errors.push(e),
      },
      limits,
    );
  }

  push(b: Buffer | string): this {
    this.parser.push(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
    return this;
  }
}

/** Comparable form of recorded frames. */
export function summary(frames: readonly Recorded[]): unknown[] {
  return frames.map((f) => ({
    kind: f.head.kind,
    tid: f.head.transactionId,
    method: f.head.method,
    status: f.head.status,
    comment: f.head.comment,
    headers: f.head.headers.map((h) => `${h.name}: ${h.value}`),
    hasBody: f.head.hasBody,
    body: f.body.toString('latin1'),
    flag: f.flag,
  }));
}

export const ALICE = 'msrp://127.0.0.1:7777/alice1;tcp';
export const GW = 'msrp://127.0.0.1:8888/gwsess;tcp';

export function send(
  tid: string,
  body: Buffer | string,
  opts: { msgId?: string; range?: string; flag?: MsrpFlag; to?: string; from?: string; extra?: MsrpHeader[] } = {},
): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return formatFrame(
    {
      kind: 'request',
      transactionId: tid,
      method: 'SEND',
      status: 0,
      comment: '',
      headers: [
        { name: 'To-Path', value: opts.to ?? GW },
        { name: 'From-Path', value: opts.from ?? ALICE },
        { name: 'Message-ID', value: opts.msgId ?? 'm1' },
        { name: 'Byte-Range', value: opts.range ?? `1-${b.length}/${b.length}` },
        ...(opts.extra ?? []),
        { name: 'Content-Type', value: 'text/plain' },
      ],
      hasBody: true,
    },
    b,
    opts.flag ?? '$',
  );
}

export function ok(tid: string, to = ALICE, from = GW): Buffer {
  return formatFrame(
    {
      kind: 'response',
      transactionId: tid,
      method: '',
      status: 200,
      comment: 'OK',
      headers: [
        { name: 'To-Path', value: to },
        { name: 'From-Path', value: from },
      ],
      hasBody: false,
    },
    undefined,
  );
}

export function report(tid: string, msgId: string, range: string, to = ALICE, from = GW): Buffer {
  return formatFrame(
    {
      kind: 'request',
      transactionId: tid,
      method: 'REPORT',
      status: 0,
      comment: '',
      headers: [
        { name: 'To-Path', value: to },
        { name: 'From-Path', value: from },
        { name: 'Message-ID', value: msgId },
        { name: 'Byte-Range', value: range },
        { name: 'Status', value: '000 200 OK' },
      ],
      hasBody: false,
    },
    undefined,
  );
}

/** A multi-chunk exchange: two chunks of one message, their 200s, a REPORT, a bodiless SEND. */
export function exchange(): Buffer {
  return Buffer.concat([
    send('t1a7', 'Hello, this is the first chunk\r\n-', { msgId: 'M1', range: '1-32/64', flag: '+' }),
    ok('t1a7'),
    send('t2b8', 'and here is the second chunk ----', { msgId: 'M1', range: '33-64/64' }),
    ok('t2b8'),
    report('r9zz', 'M1', '1-64/64'),
    formatFrame(
      {
        kind: 'request',
        transactionId: 'e0e0',
        method: 'SEND',
        status: 0,
        comment: '',
        headers: [
          { name: 'To-Path', value: GW },
          { name: 'From-Path', value: ALICE },
          { name: 'Message-ID', value: 'M2' },
          { name: 'Byte-Range', value: '1-0/0' },
        ],
        hasBody: false,
      },
      undefined,
    ),
  ]);
}
