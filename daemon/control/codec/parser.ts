/**
 * H.248.1 text decoder (versions 1-3, long and short tokens, any case).
 *
 * A hand-written recursive-descent parser straight over the string: characters are read with
 * charCodeAt, keywords are looked up without allocating (tokens.ts), nothing is re-scanned except
 * by the lenient mode's resynchronisation (which reads each transaction at most twice). Every
 * nesting level is counted against `maxDepth`, every list against its limit, so no input can cause
 * deep recursion, super-linear time or unbounded memory.
 *
 * The grammar is the union of versions 1-3 (Annex B of H.248.1 and its v2/v3 additions), taken
 * liberally where that costs nothing (v3 forms are accepted in a v1 message; version checks belong
 * to the transaction layer, which answers 406).
 */
import { Buffer, isAscii, isUtf8 } from 'node:buffer';
import { H248CodecError, type CodecErrorCode, type CodecErrorPosition } from './errors.js';
import { resolveLimits, type CodecLimits } from './limits.js';
import type {
  ActionReply,
  ActionRequest,
  AmmKind,
  AmmRequest,
  AmmsReply,
  AuditDescriptor,
  AuditItem,
  AuditProperty,
  AuditReply,
  AuditRequest,
  AuthHeader,
  CommandReply,
  CommandRequest,
  ContextAuditRequest,
  ContextId,
  ContextProperties,
  Descriptors,
  DigitMapDescriptor,
  EmbedDescriptor,
  ErrorDescriptor,
  EventSpec,
  EventsDescriptor,
  IndAudDescriptor,
  IndAudLocalControl,
  IndAudMedia,
  IndAudStreamDescriptor,
  IndAudStreamParms,
  IndAudTerminationState,
  LocalControlDescriptor,
  MediaDescriptor,
  Message,
  MId,
  ModemDescriptor,
  MuxDescriptor,
  NotificationReason,
  NotifyReply,
  NotifyRequest,
  ObservedEvent,
  ObservedEventsDescriptor,
  PackagesItem,
  PropertyParm,
  Relation,
  RequestedEvent,
  RequestId,
  ServiceChangeAddress,
  ServiceChangeMethod,
  ServiceChangeParms,
  ServiceChangeReply,
  ServiceChangeRequest,
  ServiceState,
  SignalList,
  SignalParm,
  SignalRequest,
  StatisticsParameter,
  StreamDescriptor,
  StreamMode,
  StreamParms,
  SubtractRequest,
  TerminationRef,
  TerminationStateDescriptor,
  TopologyTriple,
  Transaction,
  TransactionReply,
  TransactionRequest,
} from './model.js';
import * as tokens from './tokens.js';

// Module-local copies of the token tables: reading an imported binding can cost a getter call under
// some loaders (tsx, CJS interop); the scanner reads these per character and per word.
const KW = tokens.KW;
const PRETTY_TOKENS = tokens.PRETTY_TOKENS;
const SAFE = tokens.SAFE;
const keywordAt = tokens.keywordAt;
const keywordOf = tokens.keywordOf;

/** A transaction the lenient decoder could not parse (see {@link decodeMessageLenient}). */
export interface InvalidTransaction {
  /** Position among all the message's transactions (valid and invalid), from 0. */
  index: number;
  /** What it started as, when its keyword could be read. */
  kind?: Transaction['kind'];
  /** Its TransactionID, when it could be read. */
  id?: number;
  /** Why: code 403 for the transaction, 422 for an action, 442/443/444/448 for a command, ERR_H248_LIMIT... */
  error: H248CodecError;
}

export interface LenientDecodeResult {
  /** The message with the transactions that parsed. */
  message: Message;
  /** The transactions that did not, in order. */
  invalid: InvalidTransaction[];
}

/**
 * Decodes one H.248 text message. Throws H248CodecError (never anything else for bad input).
 * A Uint8Array must be UTF-8; binary (ASN.1) input is ERR_H248_BINARY.
 */
export function decodeMessage(input: string | Uint8Array, limits?: Partial<CodecLimits>): Message {
  const lim = resolveLimits(limits);
  const text = toText(input, lim);
  return new Parser(text, lim).parse(false).message;
}

/**
 * Like {@link decodeMessage}, but when the header parses and a transaction does not, that
 * transaction is recorded in `invalid` (with its id when it could be read and the error with the
 * code for where it broke: 403 transaction, 422 action, 442 command...) and decoding goes on with
 * the next one, so the transaction layer can answer each transaction. Errors of the message itself
 * (header, size, binary, UTF-8, too many transactions) still throw.
 */
export function decodeMessageLenient(
  input: string | Uint8Array,
  limits?: Partial<CodecLimits>,
): LenientDecodeResult {
  const lim = resolveLimits(limits);
  const text = toText(input, lim);
  return new Parser(text, lim).parse(true);
}

// -----------------------------------------------------------------------------------------------
// Input checks

function limitError(name: string, reason: string, pos?: CodecErrorPosition): H248CodecError {
  return new H248CodecError('ERR_H248_LIMIT', `${name} exceeded: ${reason}`, pos, { limit: name });
}

/** First character of a text message can only be LWSP, `;`, `M`/`m` (MEGACO), `!` or `A`/`a` (Authentication). */
function looksBinary(first: number): boolean {
  if (first === 32 || first === 9 || first === 10 || first === 13 || first === 59) return false;
  if (first === 33 || first === 77 || first === 109 || first === 65 || first === 97) return false;
  // 0x30 is the BER SEQUENCE tag of a binary MegacoMessage; control bytes and non-ASCII never start text.
  return first === 0x30 || first < 0x20 || first >= 0x7f;
}

const BINARY_REASON = 'binary (ASN.1) encoded message: only the text encoding is supported';

function toText(input: string | Uint8Array, lim: CodecLimits): string {
  let text: string;
  if (typeof input === 'string') {
    if (
      input.length > lim.maxMessageBytes ||
      (input.length * 3 > lim.maxMessageBytes && Buffer.byteLength(input, 'utf8') > lim.maxMessageBytes)
    ) {
      throw limitError('maxMessageBytes', `message is longer than ${lim.maxMessageBytes} bytes`);
    }
    if (input.length > 0 && looksBinary(input.charCodeAt(0)))
      throw new H248CodecError('ERR_H248_BINARY', BINARY_REASON);
    text = input;
  } else {
    if (input.length > lim.maxMessageBytes) {
      throw limitError(
        'maxMessageBytes',
        `message is ${input.length} bytes, more than ${lim.maxMessageBytes}`,
      );
    }
    if (input.length > 0 && looksBinary(input[0] as number))
      throw new H248CodecError('ERR_H248_BINARY', BINARY_REASON);
    const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (isAscii(input)) {
      text = buf.toString('latin1');
    } else if (isUtf8(input)) {
      text = buf.toString('utf8');
    } else {
      const bad = firstInvalidUtf8(input);
      const prefix = buf.toString('utf8', 0, bad);
      throw new H248CodecError('ERR_H248_SYNTAX_MESSAGE', 'invalid UTF-8', positionIn(prefix, prefix.length));
    }
  }
  if (text.length === 0) throw new H248CodecError('ERR_H248_SYNTAX_MESSAGE', 'empty message');
  const nul = text.indexOf('\0');
  if (nul >= 0)
    throw new H248CodecError('ERR_H248_SYNTAX_MESSAGE', 'NUL character in message', positionIn(text, nul));
  return text;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] as number;
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    if (i + need >= n) return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return n;
}

function positionIn(s: string, at: number): CodecErrorPosition {
  let line = 1;
  let ls = 0;
  for (let i = 0; i < at; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || (c === 13 && s.charCodeAt(i + 1) !== 10)) {
      line++;
      ls = i + 1;
    }
  }
  return { line, column: at - ls + 1, offset: at };
}

// -----------------------------------------------------------------------------------------------
// Parser

const C_LBRACE = 123;
const C_RBRACE = 125;
const C_LSQ = 91;
const C_RSQ = 93;
const C_EQ = 61;
const C_COMMA = 44;
const C_COLON = 58;
const C_QUOTE = 34;
const C_HASH = 35;
const C_LT = 60;
const C_GT = 62;
const C_BANG = 33;
const C_SLASH = 47;
const C_DASH = 45;

const L_MESSAGE: CodecErrorCode = 'ERR_H248_SYNTAX_MESSAGE';
const L_TRANS: CodecErrorCode = 'ERR_H248_SYNTAX_TRANSACTION';
const L_ACTION: CodecErrorCode = 'ERR_H248_SYNTAX_ACTION';
const L_COMMAND: CodecErrorCode = 'ERR_H248_SYNTAX_COMMAND';

/** "after <Token>" for each keyword, built once so the success path never formats strings. */
const AFTER: readonly string[] = PRETTY_TOKENS.map((t) => `after ${t}`);
/** "in <Token>" for each keyword. */
const IN: readonly string[] = PRETTY_TOKENS.map((t) => `in ${t}`);

const MAX_UINT32 = 4294967295;
const MAX_UINT16 = 65535;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

class Parser {
  private readonly s: string;
  private readonly n: number;
  private readonly lim: CodecLimits;
  private p = 0;
  private depth = 0;
  private level: CodecErrorCode = L_MESSAGE;
  /** Bounds of the last word read. */
  private w0 = 0;
  private w1 = 0;
  /** Id and kind of the transaction being parsed (for lenient mode). */
  private tid: number | undefined = undefined;
  private tkind: Transaction['kind'] | undefined = undefined;
  /** Cache for line/column computation: errors come at increasing offsets. */
  private lcPos = 0;
  private lcLine = 1;
  private lcLineStart = 0;

  constructor(s: string, lim: CodecLimits) {
    this.s = s;
    this.n = s.length;
    this.lim = lim;
  }

  // --- errors ---------------------------------------------------------------------------------

  private pos(at: number): CodecErrorPosition {
    const s = this.s;
    if (at > this.n) at = this.n;
    if (at < this.lcPos) {
      this.lcPos = 0;
      this.lcLine = 1;
      this.lcLineStart = 0;
    }
    let line = this.lcLine;
    let ls = this.lcLineStart;
    for (let i = this.lcPos; i < at; i++) {
      const c = s.charCodeAt(i);
      if (c === 10 || (c === 13 && s.charCodeAt(i + 1) !== 10)) {
        line++;
        ls = i + 1;
      }
    }
    this.lcPos = at;
    this.lcLine = line;
    this.lcLineStart = ls;
    return { line, column: at - ls + 1, offset: at };
  }

  private fail(reason: string, at: number = this.p, expected?: string): never {
    throw new H248CodecError(
      this.level,
      reason,
      this.pos(at),
      expected !== undefined ? { expected } : undefined,
    );
  }

  private failCode(code: CodecErrorCode, reason: string, at: number = this.p): never {
    throw new H248CodecError(code, reason, this.pos(at));
  }

  private limit(name: string, reason: string, at: number = this.p): never {
    throw limitError(name, reason, this.pos(at));
  }

  private expected(what: string, ctx: string, at: number = this.p): never {
    this.fail(`expected ${what} ${ctx}`, at, what);
  }

  private twice(what: string, at: number): never {
    this.failCode('ERR_H248_DESCRIPTOR_TWICE', `${what} appears twice`, at);
  }

  private found(): string {
    if (this.p >= this.n) return 'end of message';
    const c = this.s.charCodeAt(this.p);
    if (c === 10 || c === 13) return 'end of line';
    return `'${this.s[this.p] ?? ''}'`;
  }

  // --- scanning -------------------------------------------------------------------------------

  /** Skips LWSP: spaces, tabs, line ends and `;` comments. */
  private ws(): void {
    const s = this.s;
    const n = this.n;
    let p = this.p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 9 || c === 10 || c === 13) {
        p++;
      } else if (c === 59) {
        p++;
        while (p < n) {
          const d = s.charCodeAt(p);
          if (d === 10 || d === 13) break;
          p++;
        }
      } else {
        break;
      }
    }
    this.p = p;
  }

  /** Next character after LWSP, -1 at the end. */
  private peek(): number {
    this.ws();
    return this.p < this.n ? this.s.charCodeAt(this.p) : -1;
  }

  /** Reads a run of SafeChars after LWSP into [w0, w1); returns its length (0: none). */
  private word(): number {
    this.ws();
    const s = this.s;
    const n = this.n;
    let p = this.p;
    const start = p;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c >= 128 || SAFE[c] === 0) break;
      p++;
    }
    if (p - start > this.lim.maxStringLength) {
      this.limit(
        'maxStringLength',
        `a name or value is longer than ${this.lim.maxStringLength} characters`,
        start,
      );
    }
    this.w0 = start;
    this.w1 = p;
    this.p = p;
    return p - start;
  }

  /** Reads a word that must be there. */
  private needWord(what: string, ctx: string): void {
    if (this.word() === 0) this.fail(`expected ${what} ${ctx}, found ${this.found()}`, this.p, what);
  }

  private kw(): number {
    return keywordAt(this.s, this.w0, this.w1);
  }

  private text(): string {
    return this.s.slice(this.w0, this.w1);
  }

  private comma(): boolean {
    if (this.peek() === C_COMMA) {
      this.p++;
      return true;
    }
    return false;
  }

  private expectEq(ctx: string): void {
    if (this.peek() !== C_EQ) this.fail(`expected '=' ${ctx}, found ${this.found()}`, this.p, "'='");
    this.p++;
  }

  private open(ctx: string): void {
    if (this.peek() !== C_LBRACE) this.fail(`expected '{' ${ctx}, found ${this.found()}`, this.p, "'{'");
    this.p++;
    if (++this.depth > this.lim.maxDepth) {
      this.limit('maxDepth', `more than ${this.lim.maxDepth} nested '{'`, this.p - 1);
    }
  }

  /** Closes a comma list: the next character must be `}`. */
  private closeList(ctx: string): void {
    if (this.peek() !== C_RBRACE)
      this.fail(`expected ',' or '}' ${ctx}, found ${this.found()}`, this.p, "',' or '}'");
    this.p++;
    this.depth--;
  }

  private close(ctx: string): void {
    if (this.peek() !== C_RBRACE) this.fail(`expected '}' ${ctx}, found ${this.found()}`, this.p, "'}'");
    this.p++;
    this.depth--;
  }

  private count(n: number, max: number, name: string, what: string): void {
    if (n > max) this.limit(name, `more than ${max} ${what}`);
  }

  /** Unsigned decimal of [start, end) or -1. */
  private uintAt(start: number, end: number, max: number): number {
    const len = end - start;
    if (len === 0 || len > 10) return -1;
    const s = this.s;
    let v = 0;
    for (let i = start; i < end; i++) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return -1;
      v = v * 10 + d;
    }
    return v > max ? -1 : v;
  }

  private uintWord(max: number, what: string, ctx: string): number {
    this.needWord(what, ctx);
    const v = this.uintAt(this.w0, this.w1, max);
    if (v < 0) this.fail(`expected ${what} (0..${max}) ${ctx}, found '${this.text()}'`, this.w0, what);
    return v;
  }

  private quoted(): string {
    const s = this.s;
    const start = this.p;
    const q = s.indexOf('"', start + 1);
    if (q < 0) this.fail('unterminated quoted string', start);
    for (let i = start + 1; i < q; i++) {
      const c = s.charCodeAt(i);
      if ((c < 32 && c !== 9) || c === 127) {
        this.fail(
          c === 10 || c === 13
            ? 'unterminated quoted string (line end inside the quotes)'
            : 'control character in a quoted string',
          i,
        );
      }
    }
    if (q - start - 1 > this.lim.maxStringLength) {
      this.limit(
        'maxStringLength',
        `quoted string longer than ${this.lim.maxStringLength} characters`,
        start,
      );
    }
    this.p = q + 1;
    return s.slice(start, q + 1);
  }

  /** VALUE: a quoted string (kept with its quotes) or a SafeChar run. */
  private value(ctx: string): string {
    if (this.peek() === C_QUOTE) return this.quoted();
    this.needWord('a value', ctx);
    return this.text();
  }

  // --- message --------------------------------------------------------------------------------

  parse(lenient: boolean): LenientDecodeResult {
    this.level = L_MESSAGE;
    this.needWord("'MEGACO/<version>' or '!/<version>'", 'at the start of the message');
    let auth: AuthHeader | undefined;
    if (this.kw() === KW.Auth && this.peek() === C_EQ) {
      auth = this.authHeader();
      this.needWord("'MEGACO/<version>' or '!/<version>'", 'after the Authentication header');
    }
    // MegacopToken SLASH Version: one SafeChar run such as "MEGACO/3" or "!/3".
    const a = this.w0;
    const b = this.w1;
    const s = this.s;
    let slash = a;
    while (slash < b && s.charCodeAt(slash) !== C_SLASH) slash++;
    if (slash >= b || keywordAt(s, a, slash) !== KW.Megacop) {
      this.fail(`expected 'MEGACO/<version>' or '!/<version>', found '${s.slice(a, b)}'`, a, "'MEGACO/'");
    }
    const version = this.uintAt(slash + 1, b, 99);
    if (version < 0 || b - slash - 1 > 2)
      this.fail(`expected a version of 1 or 2 digits after '/', found '${s.slice(slash + 1, b)}'`, slash + 1);
    let compact = slash - a === 1;
    const afterVersion = this.p;
    this.ws();
    if (this.p === afterVersion && this.p < this.n)
      this.fail('expected white space after the version', this.p);
    const mId = this.mId('after the version');
    if ((mId.kind === 'device' || mId.kind === 'mtp') && this.p < this.n) {
      const c = this.s.charCodeAt(this.p);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 59)
        this.fail('expected white space after the mId', this.p);
    }

    const message: Message = { version, mId, transactions: [] };
    if (auth !== undefined) message.auth = auth;
    const invalid: InvalidTransaction[] = [];

    this.ws();
    if (this.p >= this.n) this.fail('expected a transaction or an Error descriptor after the mId');
    const bodyStart = this.p;
    this.word();
    const firstKw = this.kw();
    if (this.w1 - this.w0 <= 2 && firstKw !== 0) compact = true;
    if (firstKw === KW.Error) {
      message.error = this.errorDescriptor();
      this.ws();
      if (this.p < this.n) this.fail('expected the end of the message after its Error descriptor');
    } else {
      this.p = bodyStart;
      this.transactions(message.transactions, invalid, lenient);
    }
    message.style = compact ? 'compact' : 'pretty';
    return { message, invalid };
  }

  private authHeader(): AuthHeader {
    this.p++; // '='
    const field = (what: string, min: number, max: number): string => {
      this.needWord(what, 'in the Authentication header');
      const v = this.text();
      const digits = v.length - 2;
      if (!/^0x[0-9a-f]+$/i.test(v) || digits < min || digits > max) {
        this.fail(
          `bad Authentication header: ${what} must be 0x and ${min === max ? min : `${min} to ${max}`} hex digits, found '${v}'`,
          this.w0,
        );
      }
      return v;
    };
    const spi = field('SecurityParmIndex', 8, 8);
    if (this.peek() !== C_COLON) this.expected("':'", 'after the SecurityParmIndex');
    this.p++;
    const seq = field('SequenceNum', 8, 8);
    if (this.peek() !== C_COLON) this.expected("':'", 'after the SequenceNum');
    this.p++;
    const data = field('AuthData', 24, 64);
    return { spi, seq, data };
  }

  /** mId: [IPv4]:port, [IPv6]:port, <domain>:port, MTP{hex} or a device name. */
  private mId(ctx: string): MId {
    const s = this.s;
    const c = this.peek();
    if (c === C_LSQ || c === C_LT) {
      const close = c === C_LSQ ? C_RSQ : C_GT;
      const start = this.p + 1;
      let p = start;
      while (p < this.n && p - start <= 64) {
        const d = s.charCodeAt(p);
        if (d === close) break;
        p++;
      }
      if (p >= this.n || s.charCodeAt(p) !== close)
        this.fail(`expected '${close === C_RSQ ? ']' : '>'}' to end the mId`, start - 1);
      const inner = s.slice(start, p);
      this.p = p + 1;
      let port: number | undefined;
      if (this.p < this.n && s.charCodeAt(this.p) === C_COLON) {
        const ps = ++this.p;
        while (this.p < this.n && isDigit(s.charCodeAt(this.p))) this.p++;
        const v = this.uintAt(ps, this.p, MAX_UINT16);
        if (v < 0) this.fail('expected a port number (0..65535)', ps);
        port = v;
      }
      let mid: MId;
      if (c === C_LSQ) {
        if (isIPv4Text(inner)) mid = { kind: 'ip4', address: inner };
        else if (isIPv6Text(inner)) mid = { kind: 'ip6', address: inner };
        else this.fail(`'${inner}' is not an IPv4 or IPv6 address`, start);
      } else {
        if (!isDomainText(inner)) this.fail(`'${inner}' is not a domain name`, start);
        mid = { kind: 'domain', name: inner };
      }
      if (port !== undefined) mid.port = port;
      return mid;
    }
    this.needWord('an mId', ctx);
    if (this.kw() === KW.Mtp && this.p < this.n && s.charCodeAt(this.p) === C_LBRACE) {
      const start = this.p + 1;
      let p = start;
      while (p < this.n && p - start <= 8 && isHex(s.charCodeAt(p))) p++;
      if (p - start < 4 || p - start > 8 || s.charCodeAt(p) !== C_RBRACE)
        this.fail('expected 4 to 8 hex digits in MTP{...}', start);
      this.p = p + 1;
      return { kind: 'mtp', hex: s.slice(start, p) };
    }
    return { kind: 'device', name: this.text() };
  }

  // --- transactions ---------------------------------------------------------------------------

  private transactions(out: Transaction[], invalid: InvalidTransaction[], lenient: boolean): void {
    let count = 0;
    for (;;) {
      this.level = L_MESSAGE;
      this.ws();
      if (this.p >= this.n) break;
      if (++count > this.lim.maxTransactions) {
        this.limit('maxTransactions', `more than ${this.lim.maxTransactions} transactions in the message`);
      }
      const start = this.p;
      this.level = L_TRANS;
      this.tid = undefined;
      this.tkind = undefined;
      this.depth = 0;
      if (!lenient) {
        out.push(this.transaction());
        continue;
      }
      try {
        out.push(this.transaction());
      } catch (e) {
        if (!(e instanceof H248CodecError)) throw e;
        const entry: InvalidTransaction = { index: count - 1, error: e };
        const resynced = this.resync(start);
        if (this.tkind !== undefined) entry.kind = this.tkind;
        if (this.tid !== undefined) entry.id = this.tid;
        invalid.push(entry);
        if (!resynced) break;
      }
    }
    if (count === 0) {
      this.level = L_MESSAGE;
      this.fail('expected a transaction after the mId');
    }
  }

  private transaction(): Transaction {
    if (this.word() === 0) {
      this.fail(
        `expected a transaction (Transaction, Reply, Pending, TransactionResponseAck or Segment), found ${this.found()}`,
      );
    }
    switch (this.kw()) {
      case KW.Trans:
        this.tkind = 'request';
        return this.transactionRequest();
      case KW.Reply:
        this.tkind = 'reply';
        return this.transactionReply();
      case KW.Pending: {
        this.tkind = 'pending';
        this.expectEq(AFTER[KW.Pending] as string);
        const id = this.transactionId(AFTER[KW.Pending] as string);
        this.open(AFTER[KW.Pending] as string);
        this.close('to end Pending (it has no content)');
        return { kind: 'pending', id };
      }
      case KW.ResponseAck:
        this.tkind = 'responseAck';
        return this.responseAck();
      case KW.MessageSegment: {
        this.tkind = 'segmentReply';
        this.expectEq(AFTER[KW.MessageSegment] as string);
        this.needWord('TransactionID/SegmentNumber', AFTER[KW.MessageSegment] as string);
        const r = { kind: 'segmentReply' as const, id: 0, segmentNumber: 0 };
        this.idAndSegment(r, true);
        return r;
      }
      case KW.Error:
        return this.fail('a message-level Error descriptor must be the only content of the message', this.w0);
      default:
        return this.fail(`unknown transaction '${this.text()}'`, this.w0);
    }
  }

  private transactionId(ctx: string): number {
    this.needWord('a TransactionID', ctx);
    const v = this.uintAt(this.w0, this.w1, MAX_UINT32);
    if (v < 0)
      this.fail(
        `expected a TransactionID (0..4294967295) ${ctx}, found '${this.text()}'`,
        this.w0,
        'a TransactionID',
      );
    this.tid = v;
    return v;
  }

  private transactionRequest(): TransactionRequest {
    let id = 0;
    let c = this.peek();
    if (c === C_EQ) {
      this.p++;
      c = this.peek();
      if (c !== C_LBRACE) id = this.transactionId(AFTER[KW.Trans] as string);
    }
    this.tid = id;
    this.open('after Transaction = <TransactionID>');
    const actions: ActionRequest[] = [];
    let k = 0;
    do {
      this.count(
        ++k,
        this.lim.maxActionsPerTransaction,
        'maxActionsPerTransaction',
        'actions in a transaction',
      );
      actions.push(this.actionRequest());
      this.level = L_TRANS;
    } while (this.comma());
    this.closeList(IN[KW.Trans] as string);
    return { kind: 'request', id, actions };
  }

  /** "id[/segment[/END]]" of the word just read. */
  private idAndSegment(
    r: { id: number; segmentNumber?: number; segmentationComplete?: true },
    needSegment: boolean,
  ): void {
    const s = this.s;
    const a = this.w0;
    const b = this.w1;
    let i = a;
    while (i < b && s.charCodeAt(i) !== C_SLASH) i++;
    const id = this.uintAt(a, i, MAX_UINT32);
    if (id < 0)
      this.fail(`expected a TransactionID (0..4294967295), found '${s.slice(a, i)}'`, a, 'a TransactionID');
    r.id = id;
    this.tid = id;
    if (i >= b) {
      if (needSegment) this.fail('expected /SegmentNumber after the TransactionID', i);
      return;
    }
    const j0 = i + 1;
    let j = j0;
    while (j < b && s.charCodeAt(j) !== C_SLASH) j++;
    const seg = this.uintAt(j0, j, MAX_UINT16);
    if (seg < 0) this.fail(`expected a SegmentNumber (0..65535), found '${s.slice(j0, j)}'`, j0);
    r.segmentNumber = seg;
    if (j < b) {
      if (keywordAt(s, j + 1, b) !== KW.SegmentationComplete)
        this.fail(`expected END after the SegmentNumber, found '${s.slice(j + 1, b)}'`, j + 1);
      r.segmentationComplete = true;
    }
  }

  private transactionReply(): TransactionReply {
    this.expectEq(AFTER[KW.Reply] as string);
    this.needWord('a TransactionID', AFTER[KW.Reply] as string);
    const r: TransactionReply = { kind: 'reply', id: 0, actions: [] };
    this.idAndSegment(r, false);
    this.open('after Reply = <TransactionID>');
    this.needWord('Context, Error or ImmAckRequired', 'in Reply');
    let k = this.kw();
    if (k === KW.ImmAckRequired) {
      r.immAckRequired = true;
      if (!this.comma()) this.expected("','", 'after ImmAckRequired');
      this.needWord('Context or Error', 'in Reply');
      k = this.kw();
    }
    if (k === KW.Error) {
      r.error = this.errorDescriptor();
      this.close('after the Error of a Reply');
      return r;
    }
    let n = 0;
    for (;;) {
      if (k !== KW.Ctx) this.fail(`expected Context in Reply, found '${this.text()}'`, this.w0, 'Context');
      this.count(
        ++n,
        this.lim.maxActionsPerTransaction,
        'maxActionsPerTransaction',
        'actions in a transaction',
      );
      r.actions.push(this.actionReply());
      this.level = L_TRANS;
      if (!this.comma()) break;
      this.needWord('Context', 'in Reply');
      k = this.kw();
    }
    this.closeList(IN[KW.Reply] as string);
    return r;
  }

  private responseAck(): Transaction {
    this.open(AFTER[KW.ResponseAck] as string);
    const acks: { first: number; last?: number }[] = [];
    const s = this.s;
    do {
      this.count(acks.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a TransactionID or range', IN[KW.ResponseAck] as string);
      const a = this.w0;
      const b = this.w1;
      let i = a;
      while (i < b && s.charCodeAt(i) !== C_DASH) i++;
      const first = this.uintAt(a, i, MAX_UINT32);
      if (first < 0)
        this.fail(`expected a TransactionID (0..4294967295), found '${s.slice(a, i)}'`, a, 'a TransactionID');
      if (i < b) {
        const last = this.uintAt(i + 1, b, MAX_UINT32);
        if (last < 0)
          this.fail(
            `expected a TransactionID after '-', found '${s.slice(i + 1, b)}'`,
            i + 1,
            'a TransactionID',
          );
        acks.push({ first, last });
      } else {
        acks.push({ first });
      }
    } while (this.comma());
    this.closeList(IN[KW.ResponseAck] as string);
    return { kind: 'responseAck', acks };
  }

  /**
   * After a failed transaction (lenient mode): skips it. Reads its keyword and id again, then the
   * balanced braces of its body (quoted strings, comments and Local/Remote octet strings are
   * skipped whole). False when the structure cannot be found again: the rest is abandoned.
   */
  private resync(start: number): boolean {
    const s = this.s;
    const n = this.n;
    this.p = start;
    if (this.word() === 0) return false;
    const k = this.kw();
    if (this.peek() === C_EQ) {
      this.p++;
      if (this.peek() !== C_LBRACE) {
        this.word();
        if (this.tid === undefined) {
          let i = this.w0;
          while (i < this.w1 && isDigit(s.charCodeAt(i))) i++;
          const v = this.uintAt(this.w0, i, MAX_UINT32);
          if (v >= 0) this.tid = v;
        }
      }
    }
    if (k === KW.MessageSegment) return this.p > start;
    if (this.peek() !== C_LBRACE) return false;
    let p = this.p;
    let depth = 0;
    let lw0 = -1;
    let lw1 = -1;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c < 128 && SAFE[c] === 1) {
        lw0 = p;
        while (p < n) {
          const d = s.charCodeAt(p);
          if (d >= 128 || SAFE[d] === 0) break;
          p++;
        }
        lw1 = p;
        continue;
      }
      if (c === C_QUOTE) {
        const q = s.indexOf('"', p + 1);
        if (q < 0) return false;
        p = q + 1;
        lw0 = -1;
      } else if (c === 59) {
        while (p < n && s.charCodeAt(p) !== 10 && s.charCodeAt(p) !== 13) p++;
      } else if (c === C_LBRACE) {
        const wk = lw0 >= 0 ? keywordAt(s, lw0, lw1) : 0;
        if (depth > 0 && (wk === KW.Local || wk === KW.Remote)) {
          let q = p + 1;
          for (;;) {
            q = s.indexOf('}', q);
            if (q < 0) return false;
            if (s.charCodeAt(q - 1) !== 92) break;
            q++;
          }
          p = q + 1;
        } else {
          depth++;
          p++;
        }
        lw0 = -1;
      } else if (c === C_RBRACE) {
        p++;
        if (--depth === 0) {
          this.p = p;
          return true;
        }
        lw0 = -1;
      } else {
        if (c !== 32 && c !== 9 && c !== 10 && c !== 13) lw0 = -1;
        p++;
      }
    }
    return false;
  }

  // --- actions --------------------------------------------------------------------------------

  private contextId(ctx: string): ContextId {
    this.needWord('a ContextID', ctx);
    const s = this.s;
    if (this.w1 - this.w0 === 1) {
      const c = s.charCodeAt(this.w0);
      if (c === C_DASH) return '-';
      if (c === 36) return '$';
      if (c === 42) return '*';
    }
    const v = this.uintAt(this.w0, this.w1, MAX_UINT32);
    if (v < 0)
      this.fail(
        `expected a ContextID (number, '-', '$' or '*') ${ctx}, found '${this.text()}'`,
        this.w0,
        'a ContextID',
      );
    if (v >= 0xfffffffe) this.fail(`ContextID ${v} is reserved`, this.w0);
    return v;
  }

  private actionRequest(): ActionRequest {
    this.level = L_ACTION;
    this.needWord('Context', IN[KW.Trans] as string);
    if (this.kw() !== KW.Ctx)
      this.fail(`expected Context in Transaction, found '${this.text()}'`, this.w0, 'Context');
    this.expectEq(AFTER[KW.Ctx] as string);
    const contextId = this.contextId(AFTER[KW.Ctx] as string);
    this.open('after Context = <ContextID>');
    const a: ActionRequest = { contextId, commands: [] };
    let n = 0;
    do {
      this.level = L_ACTION;
      this.count(++n, this.lim.maxCommandsPerAction, 'maxCommandsPerAction', 'commands in an action');
      this.actionItem(a);
    } while (this.comma());
    this.level = L_ACTION;
    this.closeList(IN[KW.Ctx] as string);
    return a;
  }

  private actionItem(a: ActionRequest): void {
    const s = this.s;
    this.needWord('a command or a context property', IN[KW.Ctx] as string);
    const end = this.w1;
    let start = this.w0;
    let optional = false;
    let wildcard = false;
    while (end - start > 2 && s.charCodeAt(start + 1) === C_DASH) {
      const c = s.charCodeAt(start) | 0x20;
      if (c === 111 && !optional) optional = true;
      else if (c === 119 && !wildcard) wildcard = true;
      else break;
      start += 2;
    }
    const k = keywordAt(s, start, end);
    let cmd: CommandRequest;
    switch (k) {
      case KW.Add:
      case KW.Modify:
      case KW.Move:
        cmd = this.ammRequest(k);
        break;
      case KW.Subtract:
        cmd = this.subtractRequest();
        break;
      case KW.AuditValue:
      case KW.AuditCap:
        cmd = this.auditRequest(k);
        break;
      case KW.Notify:
        cmd = this.notifyRequest();
        break;
      case KW.ServiceChange:
        cmd = this.serviceChangeRequest();
        break;
      default:
        if (!optional && !wildcard) {
          if (k === KW.ContextAudit) {
            if (a.contextAudit !== undefined) this.twice('ContextAudit', start);
            a.contextAudit = this.contextAudit();
            return;
          }
          if (this.contextProperty((a.context ??= {}), k, start)) return;
        }
        if (this.peek() === C_EQ)
          this.failCode('ERR_H248_UNKNOWN_COMMAND', `unknown command '${s.slice(this.w0, end)}'`, this.w0);
        return this.fail(
          `expected a command or a context property, found '${s.slice(this.w0, end)}'`,
          this.w0,
        );
    }
    if (optional) cmd.optional = true;
    if (wildcard) cmd.wildcardReply = true;
    a.commands.push(cmd);
  }

  /** A context property whose keyword `k` was just read; false when `k` is not one. */
  private contextProperty(ctx: ContextProperties, k: number, at: number): boolean {
    switch (k) {
      case KW.Priority:
        if (ctx.priority !== undefined) this.twice('Priority', at);
        this.expectEq(AFTER[KW.Priority] as string);
        ctx.priority = this.uintWord(MAX_UINT16, 'a priority', AFTER[KW.Priority] as string);
        return true;
      case KW.Emergency:
      case KW.EmergencyOff:
        if (ctx.emergency !== undefined) this.twice('Emergency', at);
        ctx.emergency = k === KW.Emergency;
        return true;
      case KW.IEPS:
        if (ctx.ieps !== undefined) this.twice('IEPSCall', at);
        this.expectEq(AFTER[KW.IEPS] as string);
        ctx.ieps = this.onOff(AFTER[KW.IEPS] as string);
        return true;
      case KW.Topology:
        if (ctx.topology !== undefined) this.twice('Topology', at);
        ctx.topology = this.topology();
        return true;
      case KW.ContextAttr:
        this.contextAttr(ctx);
        return true;
      default:
        return false;
    }
  }

  private topology(): TopologyTriple[] {
    this.open(AFTER[KW.Topology] as string);
    const out: TopologyTriple[] = [];
    const ctx = IN[KW.Topology] as string;
    do {
      this.count(out.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a TerminationID', ctx);
      const from = this.text();
      if (!this.comma()) this.expected("','", 'after the first TerminationID of a Topology triple');
      this.needWord('a TerminationID', ctx);
      const to = this.text();
      if (!this.comma()) this.expected("','", 'after the second TerminationID of a Topology triple');
      this.needWord('a topology direction', ctx);
      let direction: TopologyTriple['direction'];
      switch (this.kw()) {
        case KW.Bothway:
          direction = 'bothway';
          break;
        case KW.Isolate:
          direction = 'isolate';
          break;
        case KW.Oneway:
          direction = 'oneway';
          break;
        case KW.OnewayExternal:
          direction = 'onewayExternal';
          break;
        case KW.OnewayBoth:
          direction = 'onewayBoth';
          break;
        default:
          return this.fail(
            `expected Bothway, Isolate, Oneway, OnewayExternal or OnewayBoth, found '${this.text()}'`,
            this.w0,
          );
      }
      const t: TopologyTriple = { from, to, direction };
      if (this.peek() === C_COMMA) {
        const save = this.p;
        this.p++;
        if (this.word() > 0 && this.kw() === KW.Stream && this.peek() === C_EQ) {
          this.p++;
          t.stream = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
        } else {
          this.p = save;
        }
      }
      out.push(t);
    } while (this.comma());
    this.closeList(ctx);
    return out;
  }

  private contextAttr(ctx: ContextProperties): void {
    this.open(AFTER[KW.ContextAttr] as string);
    const inCtx = IN[KW.ContextAttr] as string;
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a property or ContextList', inCtx);
      if (this.kw() === KW.ContextList && this.peek() === C_EQ) {
        this.p++;
        this.open(AFTER[KW.ContextList] as string);
        const ids: ContextId[] = [];
        do {
          this.count(ids.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
          ids.push(this.contextId(IN[KW.ContextList] as string));
        } while (this.comma());
        this.closeList(IN[KW.ContextList] as string);
        ctx.contextList = ids;
      } else {
        (ctx.attributes ??= []).push(this.propertyAfterName(inCtx));
      }
    } while (this.comma());
    this.closeList(inCtx);
  }

  private contextAudit(): ContextAuditRequest {
    this.open(AFTER[KW.ContextAudit] as string);
    const ca: ContextAuditRequest = {};
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a context audit item', IN[KW.ContextAudit] as string);
      this.contextAuditItem(ca, false);
    } while (this.comma());
    this.closeList(IN[KW.ContextAudit] as string);
    return ca;
  }

  private contextAuditItem(ca: ContextAuditRequest, inAttr: boolean): void {
    const k = this.kw();
    const c = this.peek();
    switch (k) {
      case KW.Topology:
        ca.topology = true;
        return;
      case KW.Emergency:
        ca.emergency = true;
        return;
      case KW.Priority:
        if (c === C_EQ) {
          this.p++;
          ca.selectPriority = this.uintWord(MAX_UINT16, 'a priority', AFTER[KW.Priority] as string);
        } else {
          ca.priority = true;
        }
        return;
      case KW.IEPS:
        if (c === C_EQ) {
          this.p++;
          ca.selectIeps = this.onOff(AFTER[KW.IEPS] as string);
        } else {
          ca.ieps = true;
        }
        return;
      case KW.EmergencyValue: {
        this.expectEq(AFTER[KW.EmergencyValue] as string);
        this.needWord('Emergency or EmergencyOff', AFTER[KW.EmergencyValue] as string);
        const v = this.kw();
        if (v !== KW.Emergency && v !== KW.EmergencyOff)
          this.fail(`expected Emergency or EmergencyOff, found '${this.text()}'`, this.w0);
        ca.selectEmergency = v === KW.Emergency;
        return;
      }
      case KW.AndAuditSelect:
        ca.selectLogic = 'and';
        return;
      case KW.OrAuditSelect:
        ca.selectLogic = 'or';
        return;
      case KW.ContextAttr:
        if (!inAttr) {
          this.open(AFTER[KW.ContextAttr] as string);
          let n = 0;
          do {
            this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
            this.needWord('a context attribute', IN[KW.ContextAttr] as string);
            this.contextAuditItem(ca, true);
          } while (this.comma());
          this.closeList(IN[KW.ContextAttr] as string);
          return;
        }
        break;
      default:
        break;
    }
    if (
      c === C_EQ ||
      c === C_HASH ||
      c === C_LT ||
      c === C_GT ||
      c === C_BANG ||
      this.s.charCodeAt(this.w1 - 1) === C_BANG
    ) {
      (ca.selectAttributes ??= []).push(this.propertyAfterName(IN[KW.ContextAudit] as string));
    } else {
      (ca.properties ??= []).push(this.text());
    }
  }

  // --- commands -------------------------------------------------------------------------------

  private termIds(target: TerminationRef, ctx: string): void {
    if (this.peek() === C_LSQ) {
      this.p++;
      const ids: string[] = [];
      do {
        this.count(ids.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
        this.needWord('a TerminationID', 'in a TerminationID list');
        ids.push(this.text());
      } while (this.comma());
      if (this.peek() !== C_RSQ) this.expected("',' or ']'", 'in a TerminationID list');
      this.p++;
      target.terminationId = ids[0] as string;
      target.terminationIds = ids;
      return;
    }
    this.needWord('a TerminationID', ctx);
    target.terminationId = this.text();
  }

  private ammRequest(k: number): AmmRequest {
    this.level = L_COMMAND;
    const after = AFTER[k] as string;
    this.expectEq(after);
    const kind: AmmKind = k === KW.Add ? 'add' : k === KW.Modify ? 'modify' : 'move';
    const cmd: AmmRequest = { kind, terminationId: '', descriptors: {} };
    this.termIds(cmd, after);
    if (this.peek() === C_LBRACE) this.descriptorList(cmd.descriptors, k);
    return cmd;
  }

  private descriptorList(d: Descriptors, k: number): void {
    this.open('after the TerminationID');
    let n = 0;
    do {
      this.count(
        ++n,
        this.lim.maxDescriptorsPerCommand,
        'maxDescriptorsPerCommand',
        'descriptors in a command',
      );
      this.descriptor(d);
    } while (this.comma());
    this.closeList(IN[k] as string);
  }

  private subtractRequest(): SubtractRequest {
    this.level = L_COMMAND;
    const after = AFTER[KW.Subtract] as string;
    this.expectEq(after);
    const cmd: SubtractRequest = { kind: 'subtract', terminationId: '' };
    this.termIds(cmd, after);
    if (this.peek() === C_LBRACE) {
      this.open('after the TerminationID');
      this.needWord('Audit', IN[KW.Subtract] as string);
      if (this.kw() !== KW.Audit)
        this.fail(`expected Audit in Subtract, found '${this.text()}'`, this.w0, 'Audit');
      cmd.audit = this.audit();
      this.close(IN[KW.Subtract] as string);
    }
    return cmd;
  }

  private auditRequest(k: number): AuditRequest {
    this.level = L_COMMAND;
    const after = AFTER[k] as string;
    this.expectEq(after);
    const cmd: AuditRequest = {
      kind: k === KW.AuditValue ? 'auditValue' : 'auditCapabilities',
      terminationId: '',
    };
    this.termIds(cmd, after);
    if (this.peek() === C_LBRACE) {
      this.open('after the TerminationID');
      this.needWord('Audit', IN[k] as string);
      if (this.kw() !== KW.Audit)
        this.fail(`expected Audit in ${PRETTY_TOKENS[k] ?? ''}, found '${this.text()}'`, this.w0, 'Audit');
      cmd.audit = this.audit();
      this.close(IN[k] as string);
    }
    return cmd;
  }

  private notifyRequest(): NotifyRequest {
    this.level = L_COMMAND;
    const after = AFTER[KW.Notify] as string;
    this.expectEq(after);
    const cmd: NotifyRequest = { kind: 'notify', terminationId: '' };
    this.termIds(cmd, after);
    this.open('after the TerminationID');
    let n = 0;
    do {
      this.count(
        ++n,
        this.lim.maxDescriptorsPerCommand,
        'maxDescriptorsPerCommand',
        'descriptors in a command',
      );
      this.needWord('ObservedEvents or Error', IN[KW.Notify] as string);
      const at = this.w0;
      const k = this.kw();
      if (k === KW.ObservedEvents) {
        if (cmd.observedEvents !== undefined) this.twice('ObservedEvents', at);
        cmd.observedEvents = this.observedEvents();
      } else if (k === KW.Error) {
        if (cmd.error !== undefined) this.twice('Error', at);
        cmd.error = this.errorDescriptor();
      } else {
        this.failCode(
          'ERR_H248_UNKNOWN_DESCRIPTOR',
          `expected ObservedEvents or Error in Notify, found '${this.text()}'`,
          at,
        );
      }
    } while (this.comma());
    this.closeList(IN[KW.Notify] as string);
    return cmd;
  }

  private serviceChangeRequest(): ServiceChangeRequest {
    this.level = L_COMMAND;
    const after = AFTER[KW.ServiceChange] as string;
    this.expectEq(after);
    const cmd: ServiceChangeRequest = { kind: 'serviceChange', terminationId: '', services: {} };
    this.termIds(cmd, after);
    this.open('after the TerminationID');
    this.needWord('Services', IN[KW.ServiceChange] as string);
    if (this.kw() !== KW.Services)
      this.fail(`expected Services in ServiceChange, found '${this.text()}'`, this.w0, 'Services');
    cmd.services = this.services();
    this.close(IN[KW.ServiceChange] as string);
    return cmd;
  }

  // --- replies --------------------------------------------------------------------------------

  private actionReply(): ActionReply {
    this.level = L_ACTION;
    this.expectEq(AFTER[KW.Ctx] as string);
    const contextId = this.contextId(AFTER[KW.Ctx] as string);
    const a: ActionReply = { contextId, commands: [] };
    if (this.peek() !== C_LBRACE) return a;
    this.open('after Context = <ContextID>');
    let n = 0;
    do {
      this.level = L_ACTION;
      this.count(++n, this.lim.maxCommandsPerAction, 'maxCommandsPerAction', 'commands in an action');
      this.needWord('a command reply, a context property or Error', IN[KW.Ctx] as string);
      const at = this.w0;
      const k = this.kw();
      let r: CommandReply;
      switch (k) {
        case KW.Add:
        case KW.Modify:
        case KW.Move:
        case KW.Subtract:
          r = this.ammsReply(k);
          break;
        case KW.AuditValue:
        case KW.AuditCap:
          r = this.auditReply(k);
          break;
        case KW.Notify:
          r = this.notifyReply();
          break;
        case KW.ServiceChange:
          r = this.serviceChangeReply();
          break;
        case KW.Error:
          if (a.error !== undefined) this.twice('Error', at);
          a.error = this.errorDescriptor();
          continue;
        default:
          if (this.contextProperty((a.context ??= {}), k, at)) continue;
          if (this.peek() === C_EQ)
            this.failCode('ERR_H248_UNKNOWN_COMMAND', `unknown command '${this.text()}'`, at);
          return this.fail(
            `expected a command reply, a context property or Error, found '${this.text()}'`,
            at,
          );
      }
      a.commands.push(r);
    } while (this.comma());
    this.level = L_ACTION;
    this.closeList(IN[KW.Ctx] as string);
    return a;
  }

  private ammsReply(k: number): AmmsReply {
    this.level = L_COMMAND;
    const after = AFTER[k] as string;
    this.expectEq(after);
    const kind = k === KW.Add ? 'add' : k === KW.Modify ? 'modify' : k === KW.Move ? 'move' : 'subtract';
    const r: AmmsReply = { kind, terminationId: '' };
    this.termIds(r, after);
    if (this.peek() === C_LBRACE) {
      const d: Descriptors = {};
      this.descriptorList(d, k);
      r.audit = d;
    }
    return r;
  }

  private auditReply(k: number): AuditReply {
    this.level = L_COMMAND;
    const after = AFTER[k] as string;
    this.expectEq(after);
    const r: AuditReply = { kind: k === KW.AuditValue ? 'auditValue' : 'auditCapabilities' };
    if (this.peek() === C_LSQ) {
      const t: TerminationRef = { terminationId: '' };
      this.termIds(t, after);
      r.terminationId = t.terminationId;
      if (t.terminationIds !== undefined) r.terminationIds = t.terminationIds;
    } else {
      this.needWord('a TerminationID or Context', after);
      if (this.kw() === KW.Ctx && this.peek() === C_LBRACE) {
        this.open('after Context');
        this.needWord('a TerminationID or Error', IN[KW.Ctx] as string);
        if (this.kw() === KW.Error && this.peek() === C_EQ) {
          r.contextError = this.errorDescriptor();
          this.close('after the Error');
          return r;
        }
        const ids = [this.text()];
        while (this.comma()) {
          this.count(ids.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
          this.needWord('a TerminationID', IN[KW.Ctx] as string);
          ids.push(this.text());
        }
        this.closeList('in the TerminationID list');
        r.contextTerminationIds = ids;
        return r;
      }
      r.terminationId = this.text();
    }
    if (this.peek() === C_LBRACE) {
      const d: Descriptors = {};
      this.descriptorList(d, k);
      r.audit = d;
    }
    return r;
  }

  private notifyReply(): NotifyReply {
    this.level = L_COMMAND;
    const after = AFTER[KW.Notify] as string;
    this.expectEq(after);
    const r: NotifyReply = { kind: 'notify', terminationId: '' };
    this.termIds(r, after);
    if (this.peek() === C_LBRACE) {
      this.open('after the TerminationID');
      this.needWord('Error', IN[KW.Notify] as string);
      if (this.kw() !== KW.Error)
        this.fail(`expected Error in a Notify reply, found '${this.text()}'`, this.w0, 'Error');
      r.error = this.errorDescriptor();
      this.close(IN[KW.Notify] as string);
    }
    return r;
  }

  private serviceChangeReply(): ServiceChangeReply {
    this.level = L_COMMAND;
    const after = AFTER[KW.ServiceChange] as string;
    this.expectEq(after);
    const r: ServiceChangeReply = { kind: 'serviceChange', terminationId: '' };
    this.termIds(r, after);
    if (this.peek() === C_LBRACE) {
      this.open('after the TerminationID');
      this.needWord('Services or Error', IN[KW.ServiceChange] as string);
      const k = this.kw();
      if (k === KW.Error) r.error = this.errorDescriptor();
      else if (k === KW.Services) r.services = this.services();
      else this.fail(`expected Services or Error in a ServiceChange reply, found '${this.text()}'`, this.w0);
      this.close(IN[KW.ServiceChange] as string);
    }
    return r;
  }

  // --- descriptors ----------------------------------------------------------------------------

  private item(d: { items?: AuditItem[] }, item: AuditItem): void {
    (d.items ??= []).push(item);
  }

  private descriptor(d: Descriptors): void {
    this.needWord('a descriptor', 'in the command');
    const at = this.w0;
    const k = this.kw();
    switch (k) {
      case KW.Media:
        if (this.peek() !== C_LBRACE) return this.item(d, 'media');
        if (d.media !== undefined) this.twice('Media', at);
        d.media = this.media();
        return;
      case KW.Modem: {
        const c = this.peek();
        if (c !== C_EQ && c !== C_LSQ) return this.item(d, 'modem');
        if (d.modem !== undefined) this.twice('Modem', at);
        d.modem = this.modem();
        return;
      }
      case KW.Mux:
        if (this.peek() !== C_EQ) return this.item(d, 'mux');
        if (d.mux !== undefined) this.twice('Mux', at);
        d.mux = this.mux();
        return;
      case KW.Events:
        if (d.events !== undefined) this.twice('Events', at);
        d.events = this.events();
        return;
      case KW.EventBuffer:
        if (d.eventBuffer !== undefined) this.twice('EventBuffer', at);
        d.eventBuffer = this.eventBuffer();
        return;
      case KW.Signals:
        if (d.signals !== undefined) this.twice('Signals', at);
        d.signals = this.signals();
        return;
      case KW.DigitMap:
        if (this.peek() !== C_EQ) return this.item(d, 'digitMap');
        if (d.digitMap !== undefined) this.twice('DigitMap', at);
        this.p++;
        d.digitMap = this.digitMapValueOrName();
        return;
      case KW.Audit:
        if (d.audit !== undefined) this.twice('Audit', at);
        d.audit = this.audit();
        return;
      case KW.Stats:
        if (d.statistics !== undefined) this.twice('Statistics', at);
        d.statistics = this.statistics();
        return;
      case KW.ObservedEvents:
        if (this.peek() !== C_EQ) return this.item(d, 'observedEvents');
        if (d.observedEvents !== undefined) this.twice('ObservedEvents', at);
        d.observedEvents = this.observedEvents();
        return;
      case KW.Packages:
        if (this.peek() !== C_LBRACE) return this.item(d, 'packages');
        if (d.packages !== undefined) this.twice('Packages', at);
        d.packages = this.packages();
        return;
      case KW.Error:
        if (d.error !== undefined) this.twice('Error', at);
        d.error = this.errorDescriptor();
        return;
      default:
        return this.failCode('ERR_H248_UNKNOWN_DESCRIPTOR', `unknown descriptor '${this.text()}'`, at);
    }
  }

  private media(): MediaDescriptor {
    this.open(AFTER[KW.Media] as string);
    const m: MediaDescriptor = {};
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a media parameter', IN[KW.Media] as string);
      const at = this.w0;
      const k = this.kw();
      if (k === KW.Stream) {
        (m.streams ??= []).push(this.streamDescriptor());
      } else if (k === KW.TerminationState) {
        if (m.terminationState !== undefined) this.twice('TerminationState', at);
        m.terminationState = this.terminationState();
      } else {
        this.streamParm((m.stream ??= {}), k, at, IN[KW.Media] as string);
      }
    } while (this.comma());
    this.closeList(IN[KW.Media] as string);
    return m;
  }

  private streamParm(sp: StreamParms, k: number, at: number, ctx: string): void {
    switch (k) {
      case KW.LocalControl:
        if (sp.localControl !== undefined) this.twice('LocalControl', at);
        sp.localControl = this.localControl();
        return;
      case KW.Local:
        if (sp.local !== undefined) this.twice('Local', at);
        sp.local = this.sdp(KW.Local);
        return;
      case KW.Remote:
        if (sp.remote !== undefined) this.twice('Remote', at);
        sp.remote = this.sdp(KW.Remote);
        return;
      case KW.Stats:
        if (sp.statistics !== undefined) this.twice('Statistics', at);
        sp.statistics = this.statistics();
        return;
      default:
        this.failCode('ERR_H248_UNKNOWN_DESCRIPTOR', `unknown descriptor '${this.text()}' ${ctx}`, at);
    }
  }

  private streamDescriptor(): StreamDescriptor {
    this.expectEq(AFTER[KW.Stream] as string);
    const id = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
    this.open('after Stream = <StreamID>');
    const sd: StreamDescriptor = { id };
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a stream parameter', IN[KW.Stream] as string);
      this.streamParm(sd, this.kw(), this.w0, IN[KW.Stream] as string);
    } while (this.comma());
    this.closeList(IN[KW.Stream] as string);
    return sd;
  }

  /** Local/Remote octet string: opaque up to the first unescaped `}`. */
  private sdp(k: number): string {
    const s = this.s;
    const n = this.n;
    if (this.peek() !== C_LBRACE)
      this.fail(`expected '{' ${AFTER[k] ?? ''}, found ${this.found()}`, this.p, "'{'");
    const open = this.p;
    let p = open + 1;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 9 || c === 13 || c === 10) p++;
      else break;
    }
    const start = p;
    let hasEscape = false;
    let end: number;
    for (;;) {
      const q = s.indexOf('}', p);
      if (q < 0) return this.fail(`'}' missing at the end of ${PRETTY_TOKENS[k] ?? ''}`, open);
      if (q > start && s.charCodeAt(q - 1) === 92) {
        hasEscape = true;
        p = q + 1;
        continue;
      }
      end = q;
      break;
    }
    this.p = end + 1;
    let tEnd = end;
    while (tEnd > start) {
      const c = s.charCodeAt(tEnd - 1);
      if (c === 32 || c === 9 || c === 13 || c === 10) tEnd--;
      else break;
    }
    if (tEnd === start) return '';
    // Line count and length.
    const maxLen = this.lim.maxStringLength;
    const maxLines = this.lim.maxSdpLines;
    let lines = 0;
    let i = start;
    for (;;) {
      const nl = s.indexOf('\n', i);
      const lineEnd = nl < 0 || nl >= tEnd ? tEnd : nl;
      if (lineEnd - i > maxLen) this.limit('maxStringLength', `SDP line longer than ${maxLen} characters`, i);
      if (++lines > maxLines)
        this.limit('maxSdpLines', `more than ${maxLines} SDP lines in ${PRETTY_TOKENS[k] ?? ''}`, i);
      if (lineEnd === tEnd) break;
      i = nl + 1;
    }
    // Keep the SDP's own line end after the last line.
    let text: string;
    const c0 = s.charCodeAt(tEnd);
    if (c0 === 13 && s.charCodeAt(tEnd + 1) === 10) text = s.slice(start, tEnd + 2);
    else if (c0 === 10) text = s.slice(start, tEnd + 1);
    else {
      const firstNl = s.indexOf('\n', start);
      const crlf = firstNl > start && firstNl < tEnd && s.charCodeAt(firstNl - 1) === 13;
      text = s.slice(start, tEnd) + (crlf ? '\r\n' : firstNl >= 0 && firstNl < tEnd ? '\n' : '\r\n');
    }
    return hasEscape ? text.replaceAll('\\}', '}') : text;
  }

  private localControl(): LocalControlDescriptor {
    this.open(AFTER[KW.LocalControl] as string);
    const lc: LocalControlDescriptor = {};
    const ctx = IN[KW.LocalControl] as string;
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a LocalControl parameter', ctx);
      const at = this.w0;
      switch (this.kw()) {
        case KW.Mode:
          if (lc.mode !== undefined) this.fail('Mode appears twice', at);
          this.expectEq(AFTER[KW.Mode] as string);
          lc.mode = this.streamMode(AFTER[KW.Mode] as string);
          break;
        case KW.ReservedValue:
          if (lc.reservedValue !== undefined) this.fail('ReservedValue appears twice', at);
          this.expectEq(AFTER[KW.ReservedValue] as string);
          lc.reservedValue = this.onOff(AFTER[KW.ReservedValue] as string);
          break;
        case KW.ReservedGroup:
          if (lc.reservedGroup !== undefined) this.fail('ReservedGroup appears twice', at);
          this.expectEq(AFTER[KW.ReservedGroup] as string);
          lc.reservedGroup = this.onOff(AFTER[KW.ReservedGroup] as string);
          break;
        default: {
          const prop = this.propertyAfterName(ctx);
          // `MO!=SR` scans as one word (`!` is a SafeChar) but splits into `MO` and `!=`: Mode,
          // ReservedValue and ReservedGroup take `=` only, so it is the same error as `MO#SR`.
          const k = keywordOf(prop.name);
          if (k === KW.Mode || k === KW.ReservedValue || k === KW.ReservedGroup) {
            this.fail(`expected '=' after ${prop.name}, found '${prop.relation}'`, at);
          }
          (lc.properties ??= []).push(prop);
        }
      }
    } while (this.comma());
    this.closeList(ctx);
    return lc;
  }

  private streamMode(ctx: string): StreamMode {
    this.needWord('a stream mode', ctx);
    switch (this.kw()) {
      case KW.Sendonly:
        return 'sendOnly';
      case KW.Recvonly:
        return 'recvOnly';
      case KW.Sendrecv:
        return 'sendRecv';
      case KW.Inactive:
        return 'inactive';
      case KW.Loopback:
        return 'loopback';
      default:
        return this.fail(
          `expected SendOnly, ReceiveOnly, SendReceive, Inactive or Loopback ${ctx}, found '${this.text()}'`,
          this.w0,
          'a stream mode',
        );
    }
  }

  private onOff(ctx: string): boolean {
    this.needWord('ON or OFF', ctx);
    const k = this.kw();
    if (k === KW.On) return true;
    if (k === KW.Off) return false;
    return this.fail(`expected ON or OFF ${ctx}, found '${this.text()}'`, this.w0, 'ON or OFF');
  }

  private serviceState(ctx: string): ServiceState {
    this.needWord('a service state', ctx);
    switch (this.kw()) {
      case KW.Test:
        return 'test';
      case KW.OutOfSvc:
        return 'outOfService';
      case KW.InSvc:
        return 'inService';
      default:
        return this.fail(`expected Test, OutOfService or InService ${ctx}, found '${this.text()}'`, this.w0);
    }
  }

  private terminationState(): TerminationStateDescriptor {
    this.open(AFTER[KW.TerminationState] as string);
    const ts: TerminationStateDescriptor = {};
    const ctx = IN[KW.TerminationState] as string;
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a TerminationState parameter', ctx);
      const at = this.w0;
      switch (this.kw()) {
        case KW.ServiceStates:
          if (ts.serviceState !== undefined) this.fail('ServiceStates appears twice', at);
          this.expectEq(AFTER[KW.ServiceStates] as string);
          ts.serviceState = this.serviceState(AFTER[KW.ServiceStates] as string);
          break;
        case KW.Buffer: {
          if (ts.bufferControl !== undefined) this.fail('Buffer appears twice', at);
          this.expectEq(AFTER[KW.Buffer] as string);
          this.needWord('OFF or LockStep', AFTER[KW.Buffer] as string);
          const v = this.kw();
          if (v === KW.Off) ts.bufferControl = 'off';
          else if (v === KW.LockStep) ts.bufferControl = 'lockStep';
          else this.fail(`expected OFF or LockStep after Buffer, found '${this.text()}'`, this.w0);
          break;
        }
        default:
          (ts.properties ??= []).push(this.propertyAfterName(ctx));
      }
    } while (this.comma());
    this.closeList(ctx);
    return ts;
  }

  /** The relation after a name just read, or undefined when none follows. Consumes it. */
  private relation(): Relation | undefined {
    const s = this.s;
    const bang = s.charCodeAt(this.w1 - 1) === C_BANG && this.w1 === this.p;
    const c = this.peek();
    if (c === C_EQ) {
      this.p++;
      return bang ? '!=' : '=';
    }
    if (c === C_HASH) {
      this.p++;
      return '!=';
    }
    if (c === C_LT) {
      this.p++;
      return '<';
    }
    if (c === C_GT) {
      this.p++;
      return '>';
    }
    if (c === C_BANG && s.charCodeAt(this.p + 1) === C_EQ) {
      this.p += 2;
      return '!=';
    }
    return undefined;
  }

  /** propertyParm / eventOther / sigOther whose name (word) was just read. */
  private propertyAfterName(ctx: string): PropertyParm {
    const nameStart = this.w0;
    let nameEnd = this.w1;
    const rel = this.relation();
    if (rel === undefined)
      this.fail(
        `expected '=' after '${this.s.slice(nameStart, nameEnd)}' ${ctx}, found ${this.found()}`,
        this.p,
        "'='",
      );
    if (rel === '!=' && this.s.charCodeAt(nameEnd - 1) === C_BANG) nameEnd--;
    const p = { name: this.s.slice(nameStart, nameEnd), relation: rel } as PropertyParm;
    this.parmValue(p, rel, ctx);
    return p;
  }

  private parmValue(p: PropertyParm | AuditProperty, rel: Relation, ctx: string): void {
    const c = this.peek();
    if (rel === '=' && (c === C_LSQ || c === C_LBRACE)) {
      this.p++;
      const first = this.value(ctx);
      if (c === C_LSQ && this.peek() === C_COLON) {
        this.p++;
        const high = this.value(ctx);
        if (this.peek() !== C_RSQ) this.expected("']'", 'to end a range');
        this.p++;
        p.range = [first, high];
        return;
      }
      const values = [first];
      while (this.comma()) {
        this.count(values.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
        values.push(this.value(ctx));
      }
      const close = c === C_LSQ ? C_RSQ : C_RBRACE;
      if (this.peek() !== close)
        this.expected(close === C_RSQ ? "',' or ']'" : "',' or '}'", 'in a list of values');
      this.p++;
      if (c === C_LSQ) p.list = values;
      else p.alternatives = values;
      return;
    }
    p.value = this.value(ctx);
  }

  private requestId(ctx: string): RequestId {
    this.needWord('a RequestID', ctx);
    if (this.w1 - this.w0 === 1 && this.s.charCodeAt(this.w0) === 42) return '*';
    const v = this.uintAt(this.w0, this.w1, MAX_UINT32);
    if (v < 0)
      this.fail(
        `expected a RequestID (0..4294967295 or '*') ${ctx}, found '${this.text()}'`,
        this.w0,
        'a RequestID',
      );
    return v;
  }

  private events(): EventsDescriptor {
    let c = this.peek();
    let requestId: RequestId | undefined;
    if (c === C_EQ) {
      this.p++;
      requestId = this.requestId(AFTER[KW.Events] as string);
      c = this.peek();
      if (c !== C_LBRACE) this.expected("'{'", 'after the RequestID');
    }
    const ev: EventsDescriptor = requestId === undefined ? { events: [] } : { requestId, events: [] };
    if (c !== C_LBRACE) return ev;
    this.open(AFTER[KW.Events] as string);
    do {
      this.count(ev.events.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      ev.events.push(this.requestedEvent());
    } while (this.comma());
    this.closeList(IN[KW.Events] as string);
    return ev;
  }

  private requestedEvent(): RequestedEvent {
    this.needWord('an event name', IN[KW.Events] as string);
    const e: RequestedEvent = { name: this.text() };
    if (this.peek() === C_LBRACE) {
      this.open('after the event name');
      let n = 0;
      do {
        this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
        this.eventParameter(e);
      } while (this.comma());
      this.closeList('in the event parameters');
    }
    return e;
  }

  private eventParameter(e: RequestedEvent): void {
    const ctx = 'in the event parameters';
    this.needWord('an event parameter', ctx);
    const at = this.w0;
    switch (this.kw()) {
      case KW.KeepActive:
        e.keepActive = true;
        return;
      case KW.Embed:
        if (e.embed !== undefined) this.twice('Embed', at);
        e.embed = this.embed();
        return;
      case KW.DigitMap:
        if (e.digitMap !== undefined) this.twice('DigitMap', at);
        this.expectEq(AFTER[KW.DigitMap] as string);
        e.digitMap = this.digitMapValueOrName();
        return;
      case KW.Stream:
        if (this.peek() !== C_EQ) break;
        this.p++;
        e.stream = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
        return;
      case KW.NotifyImmediate:
        e.notifyBehaviour = { kind: 'immediate' };
        return;
      case KW.NeverNotify:
        e.notifyBehaviour = { kind: 'never' };
        return;
      case KW.NotifyRegulated: {
        const nb: { kind: 'regulated'; embed?: EmbedDescriptor } = { kind: 'regulated' };
        if (this.peek() === C_LBRACE) {
          this.open(AFTER[KW.NotifyRegulated] as string);
          this.needWord('Embed', IN[KW.NotifyRegulated] as string);
          if (this.kw() !== KW.Embed)
            this.fail(`expected Embed in RegulatedNotify, found '${this.text()}'`, this.w0, 'Embed');
          nb.embed = this.embed();
          this.close(IN[KW.NotifyRegulated] as string);
        }
        e.notifyBehaviour = nb;
        return;
      }
      case KW.ResetEventsDescriptor:
        e.resetEventsDescriptor = true;
        return;
      default:
        break;
    }
    (e.params ??= []).push(this.propertyAfterName(ctx));
  }

  private embed(): EmbedDescriptor {
    this.open(AFTER[KW.Embed] as string);
    const em: EmbedDescriptor = {};
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('Signals or Events', IN[KW.Embed] as string);
      const at = this.w0;
      const k = this.kw();
      if (k === KW.Signals) {
        if (em.signals !== undefined) this.twice('Signals', at);
        em.signals = this.signals();
      } else if (k === KW.Events) {
        if (em.events !== undefined) this.twice('Events', at);
        em.events = this.events();
      } else {
        this.fail(`expected Signals or Events in Embed, found '${this.text()}'`, at);
      }
    } while (this.comma());
    this.closeList(IN[KW.Embed] as string);
    return em;
  }

  private signals(): SignalParm[] {
    const out: SignalParm[] = [];
    if (this.peek() !== C_LBRACE) return out;
    this.open(AFTER[KW.Signals] as string);
    if (this.peek() === C_RBRACE) {
      this.p++;
      this.depth--;
      return out;
    }
    do {
      this.count(out.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a signal', IN[KW.Signals] as string);
      if (this.kw() === KW.SignalList && this.peek() === C_EQ) {
        this.p++;
        out.push(this.signalList());
      } else {
        out.push(this.signalRequest());
      }
    } while (this.comma());
    this.closeList(IN[KW.Signals] as string);
    return out;
  }

  private signalList(): SignalList {
    const id = this.uintWord(MAX_UINT16, 'a signal list id', AFTER[KW.SignalList] as string);
    const l: SignalList = { kind: 'list', id, signals: [] };
    this.open('after SignalList = <id>');
    do {
      this.count(l.signals.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a signal', IN[KW.SignalList] as string);
      l.signals.push(this.signalRequest());
    } while (this.comma());
    this.closeList(IN[KW.SignalList] as string);
    return l;
  }

  /** signalRequest whose name (word) was just read. */
  private signalRequest(): SignalRequest {
    const sig: SignalRequest = { kind: 'signal', name: this.text() };
    if (this.peek() === C_LBRACE) {
      this.open('after the signal name');
      let n = 0;
      do {
        this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
        this.sigParameter(sig);
      } while (this.comma());
      this.closeList('in the signal parameters');
    }
    return sig;
  }

  private sigParameter(sig: SignalRequest): void {
    const ctx = 'in the signal parameters';
    this.needWord('a signal parameter', ctx);
    const k = this.kw();
    switch (k) {
      case KW.Stream:
        this.expectEq(AFTER[k] as string);
        sig.stream = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[k] as string);
        return;
      case KW.SignalType:
        this.expectEq(AFTER[k] as string);
        this.needWord('a signal type', AFTER[k] as string);
        switch (this.kw()) {
          case KW.OnOff:
            sig.signalType = 'onOff';
            return;
          case KW.TimeOut:
            sig.signalType = 'timeOut';
            return;
          case KW.Brief:
            sig.signalType = 'brief';
            return;
          default:
            return this.fail(
              `expected OnOff, TimeOut or Brief after SignalType, found '${this.text()}'`,
              this.w0,
            );
        }
      case KW.Duration:
        this.expectEq(AFTER[k] as string);
        sig.duration = this.uintWord(MAX_UINT16, 'a duration', AFTER[k] as string);
        return;
      case KW.NotifyCompletion: {
        this.expectEq(AFTER[k] as string);
        this.open('after NotifyCompletion =');
        const reasons: NotificationReason[] = [];
        do {
          this.count(reasons.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
          this.needWord('a notification reason', IN[KW.NotifyCompletion] as string);
          switch (this.kw()) {
            case KW.TimeOut:
              reasons.push('timeOut');
              break;
            case KW.InterruptByEvent:
              reasons.push('interruptByEvent');
              break;
            case KW.InterruptByNewSignals:
              reasons.push('interruptByNewSignals');
              break;
            case KW.OtherReason:
              reasons.push('otherReason');
              break;
            case KW.Iteration:
              reasons.push('iteration');
              break;
            default:
              this.fail(
                `expected TimeOut, IntByEvent, IntBySigDescr, OtherReason or Iteration, found '${this.text()}'`,
                this.w0,
              );
          }
        } while (this.comma());
        this.closeList(IN[KW.NotifyCompletion] as string);
        sig.notifyCompletion = reasons;
        return;
      }
      case KW.KeepActive:
        sig.keepActive = true;
        return;
      case KW.Direction:
        this.expectEq(AFTER[k] as string);
        this.needWord('a direction', AFTER[k] as string);
        switch (this.kw()) {
          case KW.External:
            sig.direction = 'external';
            return;
          case KW.Internal:
            sig.direction = 'internal';
            return;
          case KW.Both:
            sig.direction = 'both';
            return;
          default:
            return this.fail(`expected External, Internal or Both, found '${this.text()}'`, this.w0);
        }
      case KW.RequestID:
        this.expectEq(AFTER[k] as string);
        sig.requestId = this.requestId(AFTER[k] as string);
        return;
      case KW.IntsigDelay:
        this.expectEq(AFTER[k] as string);
        sig.intersignalDelay = this.uintWord(MAX_UINT16, 'a delay', AFTER[k] as string);
        return;
      default:
        (sig.params ??= []).push(this.propertyAfterName(ctx));
    }
  }

  private observedEvents(): ObservedEventsDescriptor {
    this.expectEq(AFTER[KW.ObservedEvents] as string);
    const requestId = this.requestId(AFTER[KW.ObservedEvents] as string);
    this.open('after ObservedEvents = <RequestID>');
    const oe: ObservedEventsDescriptor = { requestId, events: [] };
    do {
      this.count(oe.events.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      oe.events.push(this.observedEvent());
    } while (this.comma());
    this.closeList(IN[KW.ObservedEvents] as string);
    return oe;
  }

  private observedEvent(): ObservedEvent {
    const ctx = IN[KW.ObservedEvents] as string;
    this.needWord('an event name', ctx);
    let e: ObservedEvent;
    if (this.peek() === C_COLON) {
      const timestamp = this.timestamp(this.w0, this.w1);
      if (timestamp === undefined)
        this.fail(
          `expected a timestamp (yyyymmddThhmmssss) before ':', found '${this.text()}'`,
          this.w0,
          'a timestamp',
        );
      this.p++;
      this.needWord('an event name', 'after the timestamp');
      e = { name: this.text(), timestamp };
    } else {
      e = { name: this.text() };
    }
    if (this.peek() === C_LBRACE) this.eventSpecParameters(e);
    return e;
  }

  /** `{ Stream = n, name = value ... }` of an observed event or EventBuffer entry. */
  private eventSpecParameters(e: EventSpec): void {
    const ctx = 'in the event parameters';
    this.open('after the event name');
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('an event parameter', ctx);
      if (this.kw() === KW.Stream && this.peek() === C_EQ) {
        this.p++;
        e.stream = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
      } else {
        (e.params ??= []).push(this.propertyAfterName(ctx));
      }
    } while (this.comma());
    this.closeList(ctx);
  }

  /** `yyyymmddThhmmssss` of [a, b) with an uppercase T, or undefined. */
  private timestamp(a: number, b: number): string | undefined {
    const s = this.s;
    if (b - a !== 17) return undefined;
    for (let i = a; i < b; i++) {
      const c = s.charCodeAt(i);
      if (i - a === 8) {
        if ((c | 0x20) !== 116) return undefined;
      } else if (!isDigit(c)) {
        return undefined;
      }
    }
    const t = s.slice(a, b);
    return t.charCodeAt(8) === 116 ? `${t.slice(0, 8)}T${t.slice(9)}` : t;
  }

  private eventBuffer(): EventSpec[] {
    const out: EventSpec[] = [];
    if (this.peek() !== C_LBRACE) return out;
    this.open(AFTER[KW.EventBuffer] as string);
    do {
      this.count(out.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('an event name', IN[KW.EventBuffer] as string);
      const e: EventSpec = { name: this.text() };
      if (this.peek() === C_LBRACE) this.eventSpecParameters(e);
      out.push(e);
    } while (this.comma());
    this.closeList(IN[KW.EventBuffer] as string);
    return out;
  }

  /** After `DigitMap =`: a name, `{ value }` or both. */
  private digitMapValueOrName(): DigitMapDescriptor {
    const dm: DigitMapDescriptor = {};
    if (this.peek() !== C_LBRACE) {
      this.needWord('a digit map name or value', AFTER[KW.DigitMap] as string);
      dm.name = this.text();
      if (this.peek() !== C_LBRACE) return dm;
    }
    dm.value = this.digitMapValue();
    return dm;
  }

  /** `{ digitMapValue }`, returned without white space and comments. */
  private digitMapValue(): string {
    const s = this.s;
    const open = this.p;
    const q = s.indexOf('}', open + 1);
    if (q < 0) this.fail("'}' missing at the end of the digit map", open);
    if (q - open - 1 > this.lim.maxStringLength) {
      this.limit('maxStringLength', `digit map longer than ${this.lim.maxStringLength} characters`, open);
    }
    let out = '';
    let segStart = open + 1;
    for (let i = open + 1; i < q; i++) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 59) {
        out += s.slice(segStart, i);
        if (c === 59) {
          while (i < q && s.charCodeAt(i) !== 10 && s.charCodeAt(i) !== 13) i++;
        }
        segStart = i + 1;
      } else if (c === C_LBRACE || c === C_QUOTE || c < 32 || c >= 127) {
        this.fail('unexpected character in a digit map', i);
      }
    }
    out += s.slice(segStart, q);
    if (out.length === 0) this.fail('empty digit map', open);
    this.p = q + 1;
    return out;
  }

  private statistics(): StatisticsParameter[] {
    const out: StatisticsParameter[] = [];
    if (this.peek() !== C_LBRACE) return out;
    this.open(AFTER[KW.Stats] as string);
    if (this.peek() === C_RBRACE) {
      this.p++;
      this.depth--;
      return out;
    }
    const ctx = IN[KW.Stats] as string;
    do {
      this.count(out.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a statistic name', ctx);
      const sp: StatisticsParameter = { name: this.text() };
      if (this.peek() === C_EQ) {
        this.p++;
        if (this.peek() === C_LSQ) {
          this.p++;
          const values = [this.value(ctx)];
          while (this.comma()) {
            this.count(values.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
            values.push(this.value(ctx));
          }
          if (this.peek() !== C_RSQ) this.expected("',' or ']'", 'in a list of values');
          this.p++;
          sp.values = values;
        } else {
          sp.value = this.value(ctx);
        }
      }
      out.push(sp);
    } while (this.comma());
    this.closeList(ctx);
    return out;
  }

  private packagesItem(ctx: string): PackagesItem {
    this.needWord('a package (name-version)', ctx);
    const s = this.s;
    let i = this.w1 - 1;
    while (i > this.w0 && s.charCodeAt(i) !== C_DASH) i--;
    const version = i > this.w0 ? this.uintAt(i + 1, this.w1, MAX_UINT16) : -1;
    if (version < 0) this.fail(`expected name-version in Packages, found '${this.text()}'`, this.w0);
    return { name: s.slice(this.w0, i), version };
  }

  private packages(): PackagesItem[] {
    this.open(AFTER[KW.Packages] as string);
    const out: PackagesItem[] = [];
    do {
      this.count(out.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      out.push(this.packagesItem(IN[KW.Packages] as string));
    } while (this.comma());
    this.closeList(IN[KW.Packages] as string);
    return out;
  }

  private mux(): MuxDescriptor {
    this.expectEq(AFTER[KW.Mux] as string);
    this.needWord('a mux type', AFTER[KW.Mux] as string);
    const type = this.text();
    this.open('after the mux type');
    const ids: string[] = [];
    do {
      this.count(ids.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a TerminationID', IN[KW.Mux] as string);
      ids.push(this.text());
    } while (this.comma());
    this.closeList(IN[KW.Mux] as string);
    return { type, terminationIds: ids };
  }

  private modem(): ModemDescriptor {
    const types: string[] = [];
    if (this.peek() === C_EQ) {
      this.p++;
      this.needWord('a modem type', AFTER[KW.Modem] as string);
      types.push(this.text());
    } else {
      this.p++; // '['
      do {
        this.count(types.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
        this.needWord('a modem type', IN[KW.Modem] as string);
        types.push(this.text());
      } while (this.comma());
      if (this.peek() !== C_RSQ) this.expected("',' or ']'", 'in the modem types');
      this.p++;
    }
    const md: ModemDescriptor = { types };
    if (this.peek() === C_LBRACE) {
      this.open('after the modem type');
      const props: PropertyParm[] = [];
      do {
        this.count(props.length + 1, this.lim.maxListItems, 'maxListItems', 'items in a list');
        this.needWord('a property', IN[KW.Modem] as string);
        props.push(this.propertyAfterName(IN[KW.Modem] as string));
      } while (this.comma());
      this.closeList(IN[KW.Modem] as string);
      md.properties = props;
    }
    return md;
  }

  /** `= code { "text" }` after the Error keyword. */
  private errorDescriptor(): ErrorDescriptor {
    this.expectEq(AFTER[KW.Error] as string);
    this.needWord('an error code', AFTER[KW.Error] as string);
    const code = this.w1 - this.w0 <= 4 ? this.uintAt(this.w0, this.w1, 9999) : -1;
    if (code < 0)
      this.fail(`expected an error code of 1 to 4 digits, found '${this.text()}'`, this.w0, 'an error code');
    this.open('after the error code');
    const e: ErrorDescriptor = { code };
    if (this.peek() === C_QUOTE) {
      const q = this.quoted();
      e.text = q.slice(1, -1);
    }
    this.close('after the error text');
    return e;
  }

  // --- audit ----------------------------------------------------------------------------------

  private audit(): AuditDescriptor {
    this.open(AFTER[KW.Audit] as string);
    const ad: AuditDescriptor = {};
    if (this.peek() === C_RBRACE) {
      this.p++;
      this.depth--;
      return ad;
    }
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.auditItem(ad);
    } while (this.comma());
    this.closeList(IN[KW.Audit] as string);
    return ad;
  }

  private auditItem(ad: AuditDescriptor): void {
    this.needWord('an audit item', IN[KW.Audit] as string);
    const at = this.w0;
    const k = this.kw();
    const c = this.peek();
    let ia: IndAudDescriptor | undefined;
    switch (k) {
      case KW.Media:
        if (c !== C_LBRACE) return this.item(ad, 'media');
        ia = { kind: 'media', media: this.indAudMedia() };
        break;
      case KW.Modem:
        return this.item(ad, 'modem');
      case KW.Mux:
        return this.item(ad, 'mux');
      case KW.Events: {
        if (c !== C_EQ && c !== C_LBRACE) return this.item(ad, 'events');
        let requestId: RequestId | undefined;
        if (c === C_EQ) {
          this.p++;
          requestId = this.requestId(AFTER[KW.Events] as string);
        }
        this.open(AFTER[KW.Events] as string);
        this.needWord('an event name', IN[KW.Events] as string);
        ia =
          requestId === undefined
            ? { kind: 'events', name: this.text() }
            : { kind: 'events', requestId, name: this.text() };
        this.close(IN[KW.Events] as string);
        break;
      }
      case KW.Signals:
        if (c !== C_LBRACE) return this.item(ad, 'signals');
        ia = this.indAudSignals();
        break;
      case KW.EventBuffer: {
        if (c !== C_LBRACE) return this.item(ad, 'eventBuffer');
        this.open(AFTER[KW.EventBuffer] as string);
        this.needWord('an event name', IN[KW.EventBuffer] as string);
        const eb: { kind: 'eventBuffer'; name: string; stream?: number; param?: string } = {
          kind: 'eventBuffer',
          name: this.text(),
        };
        if (this.peek() === C_LBRACE) {
          this.open('after the event name');
          this.needWord('Stream or a parameter name', 'in the event parameters');
          if (this.kw() === KW.Stream && this.peek() === C_EQ) {
            this.p++;
            eb.stream = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
          } else {
            eb.param = this.text();
          }
          this.close('in the event parameters');
        }
        this.close(IN[KW.EventBuffer] as string);
        ia = eb;
        break;
      }
      case KW.DigitMap:
        if (c !== C_EQ) return this.item(ad, 'digitMap');
        this.p++;
        this.needWord('a digit map name', AFTER[KW.DigitMap] as string);
        ia = { kind: 'digitMap', name: this.text() };
        break;
      case KW.Stats:
        if (c !== C_LBRACE) return this.item(ad, 'statistics');
        this.open(AFTER[KW.Stats] as string);
        this.needWord('a statistic name', IN[KW.Stats] as string);
        ia = { kind: 'statistics', name: this.text() };
        this.close(IN[KW.Stats] as string);
        break;
      case KW.ObservedEvents:
        return this.item(ad, 'observedEvents');
      case KW.Packages: {
        if (c !== C_LBRACE) return this.item(ad, 'packages');
        this.open(AFTER[KW.Packages] as string);
        const pi = this.packagesItem(IN[KW.Packages] as string);
        this.close(IN[KW.Packages] as string);
        ia = { kind: 'packages', name: pi.name, version: pi.version };
        break;
      }
      default:
        return this.failCode('ERR_H248_UNKNOWN_DESCRIPTOR', `unknown audit item '${this.text()}'`, at);
    }
    (ad.indAud ??= []).push(ia);
  }

  private indAudSignals(): IndAudDescriptor {
    this.open(AFTER[KW.Signals] as string);
    const out: { kind: 'signals'; signal?: SignalRequest; list?: { id: number; signal?: SignalRequest } } = {
      kind: 'signals',
    };
    if (this.peek() === C_RBRACE) {
      this.p++;
      this.depth--;
      return out;
    }
    this.needWord('a signal', IN[KW.Signals] as string);
    if (this.kw() === KW.SignalList && this.peek() === C_EQ) {
      this.p++;
      const id = this.uintWord(MAX_UINT16, 'a signal list id', AFTER[KW.SignalList] as string);
      const list: { id: number; signal?: SignalRequest } = { id };
      if (this.peek() === C_LBRACE) {
        this.open('after SignalList = <id>');
        this.needWord('a signal', IN[KW.SignalList] as string);
        list.signal = this.signalRequest();
        this.close(IN[KW.SignalList] as string);
      }
      out.list = list;
    } else {
      out.signal = this.signalRequest();
    }
    this.close(IN[KW.Signals] as string);
    return out;
  }

  private indAudMedia(): IndAudMedia {
    this.open(AFTER[KW.Media] as string);
    const m: IndAudMedia = {};
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a media audit item', IN[KW.Media] as string);
      const k = this.kw();
      if (k === KW.TerminationState) {
        m.terminationState = this.indAudTerminationState();
      } else if (k === KW.Stream) {
        this.expectEq(AFTER[KW.Stream] as string);
        const id = this.uintWord(MAX_UINT16, 'a StreamID', AFTER[KW.Stream] as string);
        const sd: IndAudStreamDescriptor = { id };
        this.open('after Stream = <StreamID>');
        let j = 0;
        do {
          this.count(++j, this.lim.maxListItems, 'maxListItems', 'items in a list');
          this.needWord('a stream audit item', IN[KW.Stream] as string);
          this.indAudStreamParm(sd, this.kw());
        } while (this.comma());
        this.closeList(IN[KW.Stream] as string);
        (m.streams ??= []).push(sd);
      } else {
        this.indAudStreamParm((m.stream ??= {}), k);
      }
    } while (this.comma());
    this.closeList(IN[KW.Media] as string);
    return m;
  }

  private indAudStreamParm(t: IndAudStreamParms, k: number): void {
    switch (k) {
      case KW.LocalControl:
        t.localControl = this.indAudLocalControl();
        return;
      case KW.Local:
        t.local = true;
        return;
      case KW.Remote:
        t.remote = true;
        return;
      case KW.Stats:
        this.open(AFTER[KW.Stats] as string);
        this.needWord('a statistic name', IN[KW.Stats] as string);
        t.statistics = this.text();
        this.close(IN[KW.Stats] as string);
        return;
      default:
        this.failCode('ERR_H248_UNKNOWN_DESCRIPTOR', `unknown audit item '${this.text()}' in Media`, this.w0);
    }
  }

  /** pkgdName, with a selection value when a relation follows. */
  private auditProperty(ctx: string): AuditProperty {
    const nameStart = this.w0;
    let nameEnd = this.w1;
    const rel = this.relation();
    if (rel === undefined) return { name: this.s.slice(nameStart, nameEnd) };
    if (rel === '!=' && this.s.charCodeAt(nameEnd - 1) === C_BANG) nameEnd--;
    const p: AuditProperty = { name: this.s.slice(nameStart, nameEnd), relation: rel };
    this.parmValue(p, rel, ctx);
    return p;
  }

  private selectRelation(): '=' | '!=' | undefined {
    const r = this.relation();
    if (r === '<' || r === '>') this.fail("expected '=' or '#'", this.p - 1);
    return r;
  }

  private indAudLocalControl(): IndAudLocalControl {
    this.open(AFTER[KW.LocalControl] as string);
    const lc: IndAudLocalControl = {};
    const ctx = IN[KW.LocalControl] as string;
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a LocalControl audit item', ctx);
      switch (this.kw()) {
        case KW.Mode: {
          const rel = this.selectRelation();
          if (rel === undefined) lc.mode = true;
          else lc.modeSelect = { relation: rel, mode: this.streamMode(AFTER[KW.Mode] as string) };
          break;
        }
        case KW.ReservedValue:
          lc.reservedValue = true;
          break;
        case KW.ReservedGroup:
          lc.reservedGroup = true;
          break;
        default:
          (lc.properties ??= []).push(this.auditProperty(ctx));
      }
    } while (this.comma());
    this.closeList(ctx);
    return lc;
  }

  private indAudTerminationState(): IndAudTerminationState {
    this.open(AFTER[KW.TerminationState] as string);
    const ts: IndAudTerminationState = {};
    const ctx = IN[KW.TerminationState] as string;
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.needWord('a TerminationState audit item', ctx);
      switch (this.kw()) {
        case KW.ServiceStates: {
          const rel = this.selectRelation();
          if (rel === undefined) ts.serviceStates = true;
          else
            ts.serviceStatesSelect = {
              relation: rel,
              state: this.serviceState(AFTER[KW.ServiceStates] as string),
            };
          break;
        }
        case KW.Buffer:
          ts.bufferControl = true;
          break;
        default:
          (ts.properties ??= []).push(this.auditProperty(ctx));
      }
    } while (this.comma());
    this.closeList(ctx);
    return ts;
  }

  // --- ServiceChange --------------------------------------------------------------------------

  private services(): ServiceChangeParms {
    this.open(AFTER[KW.Services] as string);
    const sc: ServiceChangeParms = {};
    let n = 0;
    do {
      this.count(++n, this.lim.maxListItems, 'maxListItems', 'items in a list');
      this.serviceChangeParm(sc);
    } while (this.comma());
    this.closeList(IN[KW.Services] as string);
    return sc;
  }

  private serviceChangeParm(sc: ServiceChangeParms): void {
    const ctx = IN[KW.Services] as string;
    this.needWord('a ServiceChange parameter', ctx);
    const at = this.w0;
    const k = this.kw();
    const s = this.s;
    switch (k) {
      case KW.Method: {
        if (sc.method !== undefined) this.twice('Method', at);
        this.expectEq(AFTER[k] as string);
        this.needWord('a ServiceChange method', AFTER[k] as string);
        switch (this.kw()) {
          case KW.Failover:
            sc.method = 'failover';
            return;
          case KW.Forced:
            sc.method = 'forced';
            return;
          case KW.Graceful:
            sc.method = 'graceful';
            return;
          case KW.Restart:
            sc.method = 'restart';
            return;
          case KW.Disconnected:
            sc.method = 'disconnected';
            return;
          case KW.HandOff:
            sc.method = 'handOff';
            return;
          default: {
            const ext = this.extensionName();
            if (ext === undefined) {
              return this.fail(
                `expected Failover, Forced, Graceful, Restart, Disconnected, HandOff or X-<name> after Method, found '${this.text()}'`,
                this.w0,
              );
            }
            sc.method = ext as ServiceChangeMethod;
            return;
          }
        }
      }
      case KW.Reason:
        if (sc.reason !== undefined) this.twice('Reason', at);
        this.expectEq(AFTER[k] as string);
        sc.reason = unquoteValue(this.value(AFTER[k] as string));
        return;
      case KW.Delay:
        if (sc.delay !== undefined) this.twice('Delay', at);
        this.expectEq(AFTER[k] as string);
        sc.delay = this.uintWord(MAX_UINT32, 'a delay', AFTER[k] as string);
        return;
      case KW.ServiceChangeAddress:
        if (sc.address !== undefined) this.twice('ServiceChangeAddress', at);
        this.expectEq(AFTER[k] as string);
        sc.address = this.serviceChangeAddress();
        return;
      case KW.Profile: {
        if (sc.profile !== undefined) this.twice('Profile', at);
        this.expectEq(AFTER[k] as string);
        this.needWord('a profile (name/version)', AFTER[k] as string);
        let i = this.w1 - 1;
        while (i > this.w0 && s.charCodeAt(i) !== C_SLASH) i--;
        const version = i > this.w0 && this.w1 - i - 1 <= 2 ? this.uintAt(i + 1, this.w1, 99) : -1;
        if (version < 0) this.fail(`expected name/version after Profile, found '${this.text()}'`, this.w0);
        sc.profile = { name: s.slice(this.w0, i), version };
        return;
      }
      case KW.Version: {
        if (sc.version !== undefined) this.twice('Version', at);
        this.expectEq(AFTER[k] as string);
        this.needWord('a version', AFTER[k] as string);
        const v = this.w1 - this.w0 <= 2 ? this.uintAt(this.w0, this.w1, 99) : -1;
        if (v < 0)
          this.fail(`expected a version of 1 or 2 digits after Version, found '${this.text()}'`, this.w0);
        sc.version = v;
        return;
      }
      case KW.MgcId:
        if (sc.mgcIdToTry !== undefined) this.twice('MgcIdToTry', at);
        this.expectEq(AFTER[k] as string);
        sc.mgcIdToTry = this.mId(AFTER[k] as string);
        return;
      case KW.ServiceChangeInc:
        sc.incomplete = true;
        return;
      case KW.Media:
        (sc.auditItems ??= []).push('media');
        return;
      case KW.Modem:
        (sc.auditItems ??= []).push('modem');
        return;
      case KW.Mux:
        (sc.auditItems ??= []).push('mux');
        return;
      case KW.Events:
        (sc.auditItems ??= []).push('events');
        return;
      case KW.Signals:
        (sc.auditItems ??= []).push('signals');
        return;
      case KW.EventBuffer:
        (sc.auditItems ??= []).push('eventBuffer');
        return;
      case KW.DigitMap:
        (sc.auditItems ??= []).push('digitMap');
        return;
      case KW.Stats:
        (sc.auditItems ??= []).push('statistics');
        return;
      case KW.ObservedEvents:
        (sc.auditItems ??= []).push('observedEvents');
        return;
      case KW.Packages:
        (sc.auditItems ??= []).push('packages');
        return;
      default:
        break;
    }
    const ts = this.timestamp(this.w0, this.w1);
    if (ts !== undefined) {
      if (sc.timestamp !== undefined) this.twice('TimeStamp', at);
      sc.timestamp = ts;
      return;
    }
    if (this.extensionName() !== undefined) {
      (sc.extensions ??= []).push(this.propertyAfterName(ctx));
      return;
    }
    this.fail(`unknown ServiceChange parameter '${this.text()}'`, at);
  }

  /** The word just read as an extensionParameter (`X-name` / `X+name`, X upper-cased), or undefined. */
  private extensionName(): string | undefined {
    const s = this.s;
    const a = this.w0;
    const b = this.w1;
    if (b - a < 3 || (s.charCodeAt(a) | 0x20) !== 120) return undefined;
    const sign = s.charCodeAt(a + 1);
    if (sign !== C_DASH && sign !== 43) return undefined;
    for (let i = a + 2; i < b; i++) {
      const c = s.charCodeAt(i) | 0x20;
      if (!((c >= 97 && c <= 122) || isDigit(s.charCodeAt(i)) || s.charCodeAt(i) === 95)) return undefined;
    }
    return `X${s.slice(a + 1, b)}`;
  }

  private serviceChangeAddress(): ServiceChangeAddress {
    const c = this.peek();
    if (c === C_LSQ || c === C_LT) return this.mId(AFTER[KW.ServiceChangeAddress] as string);
    const save = this.p;
    this.needWord('an address or port', AFTER[KW.ServiceChangeAddress] as string);
    const port = this.uintAt(this.w0, this.w1, MAX_UINT16);
    if (port >= 0) return { kind: 'port', port };
    if (isDigit(this.s.charCodeAt(this.w0)))
      this.fail(`expected a port number (0..65535), found '${this.text()}'`, this.w0);
    this.p = save;
    return this.mId(AFTER[KW.ServiceChangeAddress] as string);
  }
}

function unquoteValue(v: string): string {
  return v.length >= 2 && v.charCodeAt(0) === C_QUOTE ? v.slice(1, -1) : v;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102);
}

/** Dotted quad, each part 0..255 of 1-3 digits. */
export function isIPv4Text(s: string): boolean {
  let parts = 0;
  let i = 0;
  const n = s.length;
  while (i <= n) {
    const start = i;
    let v = 0;
    while (i < n && isDigit(s.charCodeAt(i))) {
      v = v * 10 + s.charCodeAt(i) - 48;
      i++;
    }
    if (i === start || i - start > 3 || v > 255) return false;
    parts++;
    if (i === n) break;
    if (s.charCodeAt(i) !== 46 || parts === 4) return false;
    i++;
  }
  return parts === 4;
}

/** RFC 4291 text form (hex groups, one `::` at most, optional trailing dotted quad). */
export function isIPv6Text(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const groupsOf = (part: string, allowV4: boolean): number => {
    if (part === '') return 0;
    const gs = part.split(':');
    let count = 0;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[i] as string;
      if (allowV4 && i === gs.length - 1 && g.includes('.')) {
        if (!isIPv4Text(g)) return -1;
        count += 2;
        continue;
      }
      if (g.length < 1 || g.length > 4) return -1;
      for (let j = 0; j < g.length; j++) if (!isHex(g.charCodeAt(j))) return -1;
      count++;
    }
    return count;
  };
  if (dbl < 0) return groupsOf(s, true) === 8;
  const left = groupsOf(s.slice(0, dbl), false);
  const right = groupsOf(s.slice(dbl + 2), true);
  return left >= 0 && right >= 0 && left + right <= 7;
}

/** `(ALPHA / DIGIT) *63(ALPHA / DIGIT / "-" / ".")`. */
function isDomainText(s: string): boolean {
  if (s.length < 1 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 122);
    if (!alnum && (i === 0 || (c !== C_DASH && c !== 46))) return false;
  }
  return true;
}
