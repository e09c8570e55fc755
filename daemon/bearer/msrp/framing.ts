/**
 * MSRP framing (RFC 4975 §5.1, formal syntax §9): an incremental parser for the byte stream of one connection.
 *
 *   msrp-request  = req-start headers [content-stuff] end-line
 *   msrp-response = resp-start headers end-line
 *   req-start     = "MSRP" SP transact-id SP method CRLF
 *   resp-start    = "MSRP" SP transact-id SP status-code [SP comment] CRLF
 *   content-stuff = *(Other-Mime-header CRLF) Content-Type 2CRLF data CRLF
 *   end-line      = "-------" transact-id continuation-flag CRLF     ; flag "+" / "$" / "#"
 *
 * Frames are streamed, never buffered whole: `head()` when the header block is complete, then
 * `body()` with slices of the input as they arrive (views, not copies: the parser neither keeps nor
 * changes them), then `end(flag)`. Input may be split at any byte and a read may hold several frames.
 * A body ends only at CRLF "-------" + its own transaction id + flag + CRLF (§6.1: the sender
 * guarantees that string is not in the data), so an end-line of another transaction inside a body is
 * data. At most one end-line length of body is held back between reads (a possible partial end-line).
 *
 * Header lines are kept as latin1 strings, so writing them back (framing.ts formatHead) gives the very
 * bytes received, UTF-8 included. Limits: the header block (start line to the blank line or end-line)
 * and the data of one chunk; beyond them, or on a syntax error, the parser stops for good and
 * reports `error()` once: the caller disconnects the peer (there is no way to resynchronise a stream).
 */

export type MsrpFlag = '$' | '+' | '#';

export interface MsrpHeader {
  /** As written (case kept). */
  readonly name: string;
  /** After the colon and optional spaces, as latin1 (bytes kept). */
  readonly value: string;
}

export interface MsrpHead {
  readonly kind: 'request' | 'response';
  readonly transactionId: string;
  /** Request method (upper-case letters); '' for a response. */
  readonly method: string;
  /** Response status code 000-999; 0 for a request. */
  readonly status: number;
  /** Response comment (text after the status code), '' when absent or for a request. */
  readonly comment: string;
  readonly headers: readonly MsrpHeader[];
  /** A blank line ended the headers: data follows (possibly empty) before the end-line. */
  readonly hasBody: boolean;
  /** Bytes of the header block, start line to the blank line (or to the end-line) included. */
  readonly headerBytes: number;
}

export type MsrpFramingReason = 'syntax' | 'header-too-large' | 'chunk-too-large';

export interface MsrpFramingError {
  readonly reason: MsrpFramingReason;
  readonly message: string;
}

/** Receives a connection's frames in order. Calls are synchronous, from inside `push()`. */
export interface MsrpFrameSink {
  head(h: MsrpHead): void;
  body(data: Buffer): void;
  end(flag: MsrpFlag): void;
  error(e: MsrpFramingError): void;
}

export interface MsrpFramingLimits {
  /** Largest header block (bytes), `msrp.maxHeaderBytes`. */
  readonly maxHeaderBytes: number;
  /** Largest data of one chunk (bytes), `msrp.maxChunkBytes`. */
  readonly maxChunkBytes: number;
}

export const DEFAULT_MSRP_LIMITS: Readonly<MsrpFramingLimits> = Object.freeze({
  maxHeaderBytes: 65536,
  maxChunkBytes: 16 * 1024 * 1024,
});

/** RFC 4975 ident: ALPHANUM 3*31ident-char; we accept 1..64 so a sloppy peer still works. */
export const MAX_TRANSACTION_ID = 64;

const CR = 0x0d;
const LF = 0x0a;
const DASHES = '-------';

const enum State {
  Start,
  Headers,
  Body,
  Failed,
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** ident-char = ALPHANUM / "." / "-" / "+" / "%" / "=" (RFC 4975 §9). */
export function isTransactionId(s: string): boolean {
  if (s.length < 1 || s.length > MAX_TRANSACTION_ID || !isAlnum(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(isAlnum(c) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x25 || c === 0x3d)) return false;
  }
  return true;
}

/** RFC 4975 token (header names): visible characters except separators. */
function isTokenChar(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  // separators ( ) < > @ , ; : \ " / [ ] ? = { }
  return '()<>@,;:\\"/[]?={}'.indexOf(String.fromCharCode(c)) < 0;
}

function isFlag(c: number): boolean {
  return c === 0x24 || c === 0x2b || c === 0x23;
}

/** Incremental MSRP parser for one direction of one connection. */
export class MsrpParser {
  readonly #sink: MsrpFrameSink;
  readonly #limits: MsrpFramingLimits;
  #state: State = State.Start;
  /** Part of a header line split across reads (grows as needed, bounded by maxHeaderBytes). */
  #line: Buffer | undefined;
  #lineLen = 0;
  /** Bytes of the current header block so far. */
  #headerBytes = 0;
  // the frame being parsed
  #kind: 'request' | 'response' = 'request';
  #tid = '';
  #method = '';
  #status = 0;
  #comment = '';
  #headers: MsrpHeader[] = [];
  /** "\r\n-------<tid>" while in a body. */
  #endPrefix: Buffer | undefined;
  #bodyBytes = 0;
  /** Tail of the previous read that may begin an end-line (body only, < end-line length). */
  #carry: Buffer | undefined;
  #frames = 0;

  constructor(sink: MsrpFrameSink, limits: Partial<MsrpFramingLimits> = {}) {
    this.#sink = sink;
    this.#limits = { ...DEFAULT_MSRP_LIMITS, ...limits };
  }

  /** True once a framing error stopped the parser. */
  get failed(): boolean {
    return this.#state === State.Failed;
  }

  /** True between frames (nothing of a frame received yet). */
  get idle(): boolean {
    return this.#state === State.Start && this.#lineLen === 0;
  }

  /** Frames completed so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Feeds bytes read from the connection. Never throws for any input. */
  push(input: Buffer): void {
    if (this.#state === State.Failed) return;
    let data = input;
    if (this.#carry !== undefined) {
      // rare: the previous read ended inside what may be an end-line; the carry is < 80 bytes
      data = Buffer.concat([this.#carry, input]);
      this.#carry = undefined;
    }
    let pos = 0;
    const n = data.length;
    while (pos < n && !this.failed) {
      pos = this.#state === State.Body ? this.#body(data, pos) : this.#headerLine(data, pos);
    }
  }

  // ---- header block ----------------------------------------------------------------------------

  #headerLine(data: Buffer, pos: number): number {
    if (this.#state === State.Start && this.#lineLen === 0 && !this.#startsLikeMsrp(data, pos)) {
      this.#fail('syntax', 'frame does not begin with "MSRP "');
      return data.length;
    }
    const nl = data.indexOf(LF, pos);
    const stop = nl < 0 ? data.length : nl + 1;
    if (this.#headerBytes + (stop - pos) > this.#limits.maxHeaderBytes) {
      this.#fail('header-too-large', `header block larger than ${this.#limits.maxHeaderBytes} bytes`);
      return data.length;
    }
    this.#headerBytes += stop - pos;
    if (nl < 0) {
      this.#append(data, pos, stop);
      return stop;
    }
    let line: string;
    if (this.#lineLen > 0) {
      this.#append(data, pos, stop);
      line = this.#line!.toString('latin1', 0, this.#lineLen);
      this.#lineLen = 0;
      this.#releaseLine();
    } else {
      line = data.toString('latin1', pos, stop);
    }
    if (line.length < 2 || line.charCodeAt(line.length - 2) !== CR) {
      this.#fail('syntax', 'header line not ended by CRLF');
      return data.length;
    }
    const text = line.slice(0, -2);
    if (this.#state === State.Start) this.#startLine(text);
    else this.#header(text);
    return stop;
  }

  /** Garbage is refused at once rather than after a whole header block of it. */
  #startsLikeMsrp(data: Buffer, pos: number): boolean {
    const want = 'MSRP ';
    const n = Math.min(want.length, data.length - pos);
    for (let i = 0; i < n; i++) if (data[pos + i] !== want.charCodeAt(i)) return false;
    return true;
  }

  #append(data: Buffer, from: number, to: number): void {
    const need = this.#lineLen + (to - from);
    if (this.#line === undefined || this.#line.length < need) {
      const next = Buffer.allocUnsafe(Math.min(Math.max(256, need * 2), this.#limits.maxHeaderBytes));
      if (this.#line !== undefined) this.#line.copy(next, 0, 0, this.#lineLen);
      this.#line = next;
    }
    data.copy(this.#line, this.#lineLen, from, to);
    this.#lineLen = need;
  }

  /** An idle session keeps no line buffer beyond a small one. */
  #releaseLine(): void {
    if (this.#line !== undefined && this.#line.length > 1024) this.#line = undefined;
  }

  #startLine(text: string): void {
    // "MSRP" SP transact-id SP (method / status-code [SP comment])
    const sp1 = 4;
    const sp2 = text.indexOf(' ', sp1 + 1);
    if (text.slice(0, 5) !== 'MSRP ' || sp2 < 0) return this.#fail('syntax', 'malformed start line');
    const tid = text.slice(sp1 + 1, sp2);
    if (!isTransactionId(tid)) return this.#fail('syntax', 'malformed transaction id');
    const rest = text.slice(sp2 + 1);
    this.#tid = tid;
    this.#headers = [];
    this.#comment = '';
    if (rest.length >= 3 && isDigits3(rest) && (rest.length === 3 || rest.charCodeAt(3) === 0x20)) {
      this.#kind = 'response';
      this.#method = '';
      this.#status = Number(rest.slice(0, 3));
      this.#comment = rest.length > 4 ? rest.slice(4) : '';
    } else {
      if (rest.length === 0 || rest.length > 64) return this.#fail('syntax', 'malformed method');
      for (let i = 0; i < rest.length; i++) {
        const c = rest.charCodeAt(i);
        if (c < 0x41 || c > 0x5a) return this.#fail('syntax', 'malformed method');
      }
      this.#kind = 'request';
      this.#method = rest;
      this.#status = 0;
    }
    this.#state = State.Headers;
  }

  #header(text: string): void {
    if (text.length === 0) {
      // 2CRLF: data follows
      this.#emitHead(true);
      if (this.#state === State.Failed) return;
      this.#endPrefix = Buffer.from(`\r\n${DASHES}${this.#tid}`, 'latin1');
      this.#bodyBytes = 0;
      this.#state = State.Body;
      return;
    }
    if (text.startsWith(DASHES)) {
      // end-line right after the headers: a frame without data (every response, many requests)
      const f = text.charCodeAt(text.length - 1);
      if (text.length !== DASHES.length + this.#tid.length + 1 || text.slice(DASHES.length, -1) !== this.#tid || !isFlag(f)) {
        return this.#fail('syntax', 'end-line does not match the transaction id');
      }
      this.#emitHead(false);
      if (this.#state === State.Failed) return;
      this.#finish(String.fromCharCode(f) as MsrpFlag);
      return;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) return this.#fail('syntax', 'header without a name and colon');
    for (let i = 0; i < colon; i++) {
      if (!isTokenChar(text.charCodeAt(i))) return this.#fail('syntax', 'header name is not a token');
    }
    let v = colon + 1;
    while (v < text.length && (text.charCodeAt(v) === 0x20 || text.charCodeAt(v) === 0x09)) v++;
    this.#headers.push({ name: text.slice(0, colon), value: text.slice(v) });
  }

  #emitHead(hasBody: boolean): void {
    if (this.#kind === 'response' && hasBody) {
      // resp-start headers end-line: a response carries no data (RFC 4975 §9)
      return this.#fail('syntax', 'response with a body');
    }
    const h: MsrpHead = {
      kind: this.#kind,
      transactionId: this.#tid,
      method: this.#method,
      status: this.#status,
      comment: this.#comment,
      headers: this.#headers,
      hasBody,
      headerBytes: this.#headerBytes,
    };
    this.#sink.head(h);
  }

  #finish(flag: MsrpFlag): void {
    this.#state = State.Start;
    this.#headerBytes = 0;
    this.#headers = [];
    this.#endPrefix = undefined;
    this.#frames++;
    this.#sink.end(flag);
  }

  // ---- body ------------------------------------------------------------------------------------

  #body(data: Buffer, pos: number): number {
    const prefix = this.#endPrefix!;
    const pl = prefix.length;
    const n = data.length;
    let from = pos;
    for (;;) {
      const i = data.indexOf(prefix, from);
      if (i < 0) break;
      if (i + pl + 3 > n) {
        // a prefix whose flag and CRLF have not arrived yet: undecided, hold it back
        if (!this.#emitBody(data, pos, i)) return n;
        this.#carry = data.subarray(i);
        return n;
      }
      if (isFlag(data[i + pl]!) && data[i + pl + 1] === CR && data[i + pl + 2] === LF) {
        if (!this.#emitBody(data, pos, i)) return n;
        this.#finish(String.fromCharCode(data[i + pl]!) as MsrpFlag);
        return i + pl + 3;
      }
      // "-------<tid>" followed by something else: data (another id that begins with ours)
      from = i + 1;
    }
    // no end-line: everything is data except a tail that could begin one
    const hold = partialTail(data, Math.max(pos, n - (pl + 2)), prefix);
    if (!this.#emitBody(data, pos, hold)) return n;
    if (hold < n) this.#carry = data.subarray(hold);
    return n;
  }

  #emitBody(data: Buffer, from: number, to: number): boolean {
    if (to <= from) return true;
    this.#bodyBytes += to - from;
    if (this.#bodyBytes > this.#limits.maxChunkBytes) {
      this.#fail('chunk-too-large', `chunk data larger than ${this.#limits.maxChunkBytes} bytes`);
      return false;
    }
    this.#sink.body(data.subarray(from, to));
    return this.#state !== State.Failed;
  }

  #fail(reason: MsrpFramingReason, message: string): void {
    if (this.#state === State.Failed) return;
    this.#state = State.Failed;
    this.#line = undefined;
    this.#lineLen = 0;
    this.#carry = undefined;
    this.#sink.error({ reason, message });
  }
}

function isDigits3(s: string): boolean {
  for (let i = 0; i < 3; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * The first index in [from, n) at which the rest of `data` could be the beginning of
 * prefix + flag + CRLF (only the last few bytes are examined); n when none.
 */
function partialTail(data: Buffer, from: number, prefix: Buffer): number {
  const n = data.length;
  const pl = prefix.length;
  for (let s = from; s < n; s++) {
    if (data[s] !== CR) continue;
    let ok = true;
    for (let k = s; k < n && ok; k++) {
      const j = k - s;
      const c = data[k]!;
      if (j < pl) ok = c === prefix[j];
      else if (j === pl) ok = isFlag(c);
      else if (j === pl + 1) ok = c === CR;
      else ok = false; // j === pl + 2 would be a complete end-line, found by indexOf
    }
    if (ok) return s;
  }
  return n;
}

// ---- writing ---------------------------------------------------------------------------------------

/** Start line and headers, plus the blank line when data follows. */
export function formatHead(h: Pick<MsrpHead, 'kind' | 'transactionId' | 'method' | 'status' | 'comment' | 'headers' | 'hasBody'>): string {
  let s =
    h.kind === 'request'
      ? `MSRP ${h.transactionId} ${h.method}\r\n`
      : `MSRP ${h.transactionId} ${String(h.status).padStart(3, '0')}${h.comment !== '' ? ` ${h.comment}` : ''}\r\n`;
  for (const x of h.headers) s += `${x.name}: ${x.value}\r\n`;
  if (h.hasBody) s += '\r\n';
  return s;
}

/** The end-line; with data, preceded by the CRLF that ends the data. */
export function formatEnd(transactionId: string, flag: MsrpFlag, hasBody: boolean): string {
  return `${hasBody ? '\r\n' : ''}${DASHES}${transactionId}${flag}\r\n`;
}

/** A whole frame as bytes (tests, small replies). */
export function formatFrame(
  h: Pick<MsrpHead, 'kind' | 'transactionId' | 'method' | 'status' | 'comment' | 'headers' | 'hasBody'>,
  body: Buffer | string | undefined,
  flag: MsrpFlag = '$',
): Buffer {
  const head = Buffer.from(formatHead(h), 'latin1');
  const end = Buffer.from(formatEnd(h.transactionId, flag, h.hasBody), 'latin1');
  if (!h.hasBody) return Buffer.concat([head, end]);
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : (body ?? Buffer.alloc(0));
  return Buffer.concat([head, b, end]);
}

/** First header with this name (case-insensitive: ABNF strings, RFC 4975 §9). */
export function headerValue(h: Pick<MsrpHead, 'headers'>, name: string): string | undefined {
  const l = name.toLowerCase();
  for (const x of h.headers) if (x.name.length === l.length && x.name.toLowerCase() === l) return x.value;
  return undefined;
}
