/**
 * H.248.1 text encoder.
 *
 * - `pretty`: long tokens, one element per line, tab-indented like the examples of H.248.1 /
 *   RFC 3525 and Erlang/OTP megaco's pretty encoder; SDP lines one per line inside Local/Remote.
 * - `compact`: short tokens and no optional white space: `!/3 [192.0.2.10]:2944 P=4714{C=33{MF=ip/33/access/1}}`.
 *
 * decode(encode(m)) equals m (apart from `style`) for every m the decoder produces. The encoder is
 * total on well-typed models: a VALUE that is not valid as written is quoted, error and reason texts
 * are sanitised for their quotes, `}` in SDP becomes `\}`. A model of the wrong shape (e.g. from
 * JSON) throws H248CodecError ERR_H248_INVALID_MODEL.
 */
import { H248CodecError } from './errors.js';
import {
  sanitizeQuoted as sanitizeQuotedImported,
  type ActionReply,
  type ActionRequest,
  type AuditDescriptor,
  type AuditItem,
  type AuditProperty,
  type CommandReply,
  type CommandRequest,
  type ContextAuditRequest,
  type ContextId,
  type ContextProperties,
  type Descriptors,
  type DigitMapDescriptor,
  type EmbedDescriptor,
  type EncodingStyle,
  type ErrorDescriptor,
  type EventSpec,
  type EventsDescriptor,
  type IndAudDescriptor,
  type IndAudLocalControl,
  type IndAudMedia,
  type IndAudStreamParms,
  type IndAudTerminationState,
  type LocalControlDescriptor,
  type MediaDescriptor,
  type Message,
  type MId,
  type ObservedEventsDescriptor,
  type PropertyParm,
  type RequestedEvent,
  type RequestId,
  type ServiceChangeParms,
  type SignalParm,
  type SignalRequest,
  type StatisticsParameter,
  type StreamParms,
  type TerminationRef,
  type TerminationStateDescriptor,
  type Transaction,
} from './model.js';
import * as tokens from './tokens.js';

// Module-local copies (see parser.ts).
const sanitizeQuoted = sanitizeQuotedImported;
const KW = tokens.KW;
const PRETTY_TOKENS = tokens.PRETTY_TOKENS;
const COMPACT_TOKENS = tokens.COMPACT_TOKENS;
const SAFE = tokens.SAFE;

export interface EncodeOptions {
  /** Token style; default: the message's own `style` (as decoded), else `pretty`. */
  style?: EncodingStyle;
}

/** Encodes a message as H.248 text. */
export function encodeMessage(msg: Message, options?: EncodeOptions): string {
  const style = options?.style ?? msg.style ?? 'pretty';
  if (style !== 'pretty' && style !== 'compact') bad(`unknown style '${String(style)}'`);
  return new Encoder(style === 'pretty').message(msg);
}

function bad(reason: string): never {
  throw new H248CodecError('ERR_H248_INVALID_MODEL', `cannot encode: ${reason}`);
}

const TABS: string[] = [];
for (let i = 0; i < 32; i++) TABS.push('\n' + '\t'.repeat(i));

function nl(level: number): string {
  return level < TABS.length ? (TABS[level] as string) : '\n' + '\t'.repeat(level);
}

/** True for a VALUE that can be written as is: a SafeChar run, or a quoted string without `"` or control characters. */
function isValueText(v: string): boolean {
  const n = v.length;
  if (n === 0) return false;
  if (v.charCodeAt(0) === 34) {
    if (n < 2 || v.charCodeAt(n - 1) !== 34) return false;
    for (let i = 1; i < n - 1; i++) {
      const c = v.charCodeAt(i);
      if (c === 34 || (c < 32 && c !== 9) || c === 127) return false;
    }
    return true;
  }
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128 || SAFE[c] === 0) return false;
  }
  return true;
}

const MODE_KW: Record<string, number> = {
  sendOnly: KW.Sendonly,
  recvOnly: KW.Recvonly,
  sendRecv: KW.Sendrecv,
  inactive: KW.Inactive,
  loopback: KW.Loopback,
};
const SERVICE_STATE_KW: Record<string, number> = {
  test: KW.Test,
  outOfService: KW.OutOfSvc,
  inService: KW.InSvc,
};
const TOPOLOGY_KW: Record<string, number> = {
  bothway: KW.Bothway,
  isolate: KW.Isolate,
  oneway: KW.Oneway,
  onewayExternal: KW.OnewayExternal,
  onewayBoth: KW.OnewayBoth,
};
const SIGNAL_TYPE_KW: Record<string, number> = { onOff: KW.OnOff, timeOut: KW.TimeOut, brief: KW.Brief };
const DIRECTION_KW: Record<string, number> = { external: KW.External, internal: KW.Internal, both: KW.Both };
const REASON_KW: Record<string, number> = {
  timeOut: KW.TimeOut,
  interruptByEvent: KW.InterruptByEvent,
  interruptByNewSignals: KW.InterruptByNewSignals,
  otherReason: KW.OtherReason,
  iteration: KW.Iteration,
};
const METHOD_KW: Record<string, number> = {
  failover: KW.Failover,
  forced: KW.Forced,
  graceful: KW.Graceful,
  restart: KW.Restart,
  disconnected: KW.Disconnected,
  handOff: KW.HandOff,
};
const AUDIT_ITEM_KW: Record<AuditItem, number> = {
  media: KW.Media,
  modem: KW.Modem,
  mux: KW.Mux,
  events: KW.Events,
  signals: KW.Signals,
  digitMap: KW.DigitMap,
  statistics: KW.Stats,
  observedEvents: KW.ObservedEvents,
  packages: KW.Packages,
  eventBuffer: KW.EventBuffer,
};
const AMM_KW: Record<string, number> = {
  add: KW.Add,
  modify: KW.Modify,
  move: KW.Move,
  subtract: KW.Subtract,
};
const RELATION_TEXT: Record<string, string> = { '=': '=', '!=': '#', '<': '<', '>': '>' };

function kwOf(table: Record<string, number>, v: unknown, what: string): number {
  const k = typeof v === 'string' ? table[v] : undefined;
  if (k === undefined) bad(`unknown ${what} '${String(v)}'`);
  return k;
}

class Encoder {
  private o = '';
  private lvl = 0;
  private readonly pretty: boolean;
  private readonly t: readonly string[];
  /** " = " or "=". */
  private readonly eq: string;

  constructor(pretty: boolean) {
    this.pretty = pretty;
    this.t = pretty ? PRETTY_TOKENS : COMPACT_TOKENS;
    this.eq = pretty ? ' = ' : '=';
  }

  // --- layout ---------------------------------------------------------------------------------

  private tok(k: number): void {
    this.o += this.t[k] as string;
  }

  /** `Token = ` */
  private tokEq(k: number): void {
    this.o += (this.t[k] as string) + this.eq;
  }

  private open(): void {
    if (this.pretty) {
      this.lvl++;
      this.o += ' {' + nl(this.lvl);
    } else {
      this.o += '{';
    }
  }

  private sep(): void {
    this.o += this.pretty ? ',' + nl(this.lvl) : ',';
  }

  private close(): void {
    if (this.pretty) {
      this.lvl--;
      this.o += nl(this.lvl) + '}';
    } else {
      this.o += '}';
    }
  }

  private empty(): void {
    this.o += this.pretty ? ' { }' : '{}';
  }

  /** `, ` or `,` inside one-line lists. */
  private get comma(): string {
    return this.pretty ? ', ' : ',';
  }

  private value(v: unknown): void {
    if (typeof v !== 'string') {
      if (typeof v === 'number' && Number.isFinite(v)) {
        this.o += String(v);
        return;
      }
      bad(`a value must be a string, not ${typeof v}`);
    }
    this.o += isValueText(v)
      ? v
      : `"${sanitizeQuoted(v.charCodeAt(0) === 34 ? v.slice(1, v.endsWith('"') && v.length > 1 ? -1 : undefined) : v)}"`;
  }

  private name(v: unknown, what: string): void {
    if (typeof v !== 'string' || v.length === 0) bad(`${what} must be a non-empty string`);
    this.o += v;
  }

  private uint(v: unknown, what: string, max = 4294967295): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      bad(`${what} must be an integer 0..${max}, not ${String(v)}`);
    this.o += String(v);
  }

  private quotedText(s: unknown): void {
    if (typeof s !== 'string') bad('a text must be a string');
    this.o += `"${sanitizeQuoted(s)}"`;
  }

  // --- message --------------------------------------------------------------------------------

  message(m: Message): string {
    if (m === null || typeof m !== 'object') bad('the message must be an object');
    if (m.auth !== undefined) {
      this.tokEq(KW.Auth);
      this.o += `${m.auth.spi}:${m.auth.seq}:${m.auth.data}${this.pretty ? '\n' : ' '}`;
    }
    this.o += this.pretty ? 'MEGACO/' : '!/';
    this.uint(m.version, 'version', 99);
    this.o += ' ';
    this.mId(m.mId);
    this.o += this.pretty ? '\n' : ' ';
    if (m.error !== undefined) {
      this.error(m.error);
    } else {
      if (!Array.isArray(m.transactions) || m.transactions.length === 0)
        bad('a message needs transactions or an error');
      let prev: Transaction | undefined;
      for (const tr of m.transactions) {
        // A Segment reply ends in a word (no closing brace): something must separate it from the next.
        if (prev !== undefined && (this.pretty || prev.kind === 'segmentReply'))
          this.o += this.pretty ? '\n' : ' ';
        prev = tr;
        this.transaction(tr);
      }
    }
    if (this.pretty) this.o += '\n';
    return this.o;
  }

  private mId(m: MId): void {
    if (m === null || typeof m !== 'object') bad('mId must be an object');
    switch (m.kind) {
      case 'ip4':
      case 'ip6':
        this.o += `[${m.address}]`;
        if (m.port !== undefined) this.o += `:${m.port}`;
        return;
      case 'domain':
        this.o += `<${m.name}>`;
        if (m.port !== undefined) this.o += `:${m.port}`;
        return;
      case 'mtp':
        this.o += `${this.t[KW.Mtp] as string}{${m.hex}}`;
        return;
      case 'device':
        this.name(m.name, 'device name');
        return;
      default:
        bad(`unknown mId kind '${String((m as { kind?: unknown }).kind)}'`);
    }
  }

  private transaction(tr: Transaction): void {
    switch (tr.kind) {
      case 'request': {
        this.tokEq(KW.Trans);
        this.uint(tr.id, 'TransactionID');
        if (!Array.isArray(tr.actions) || tr.actions.length === 0) bad('a transaction request needs actions');
        this.open();
        tr.actions.forEach((a, i) => {
          if (i > 0) this.sep();
          this.actionRequest(a);
        });
        this.close();
        return;
      }
      case 'reply': {
        this.tokEq(KW.Reply);
        this.uint(tr.id, 'TransactionID');
        if (tr.segmentNumber !== undefined) {
          this.o += '/';
          this.uint(tr.segmentNumber, 'SegmentNumber', 65535);
          if (tr.segmentationComplete === true) this.o += '/' + (this.t[KW.SegmentationComplete] as string);
        }
        this.open();
        let n = 0;
        if (tr.immAckRequired === true) {
          n++;
          this.tok(KW.ImmAckRequired);
        }
        if (tr.error !== undefined) {
          if (n > 0) this.sep();
          this.error(tr.error);
        } else {
          if (!Array.isArray(tr.actions) || tr.actions.length === 0)
            bad('a transaction reply needs actions or an error');
          for (const a of tr.actions) {
            if (n++) this.sep();
            this.actionReply(a);
          }
        }
        this.close();
        return;
      }
      case 'pending':
        this.tokEq(KW.Pending);
        this.uint(tr.id, 'TransactionID');
        this.empty();
        return;
      case 'responseAck':
        this.tok(KW.ResponseAck);
        if (!Array.isArray(tr.acks) || tr.acks.length === 0) bad('TransactionResponseAck needs acks');
        this.open();
        tr.acks.forEach((a, i) => {
          if (i > 0) this.sep();
          this.uint(a.first, 'TransactionID');
          if (a.last !== undefined) {
            this.o += '-';
            this.uint(a.last, 'TransactionID');
          }
        });
        this.close();
        return;
      case 'segmentReply':
        this.tokEq(KW.MessageSegment);
        this.uint(tr.id, 'TransactionID');
        this.o += '/';
        this.uint(tr.segmentNumber, 'SegmentNumber', 65535);
        if (tr.segmentationComplete === true) this.o += '/' + (this.t[KW.SegmentationComplete] as string);
        return;
      default:
        bad(`unknown transaction kind '${String((tr as { kind?: unknown }).kind)}'`);
    }
  }

  private contextId(c: ContextId): void {
    if (c === '-' || c === '$' || c === '*') this.o += c;
    else this.uint(c, 'ContextID', 0xfffffffd);
  }

  // --- actions --------------------------------------------------------------------------------

  private actionRequest(a: ActionRequest): void {
    this.tokEq(KW.Ctx);
    this.contextId(a.contextId);
    this.open();
    let n = this.contextProperties(a.context, 0);
    if (a.contextAudit !== undefined) {
      if (n++) this.sep();
      this.contextAudit(a.contextAudit);
    }
    if (!Array.isArray(a.commands)) bad('an action needs a commands array');
    for (const c of a.commands) {
      if (n++) this.sep();
      this.commandRequest(c);
    }
    if (n === 0) bad('an action request needs commands or context properties');
    this.close();
  }

  private actionReply(a: ActionReply): void {
    this.tokEq(KW.Ctx);
    this.contextId(a.contextId);
    if (!Array.isArray(a.commands)) bad('an action reply needs a commands array');
    const hasContext = a.context !== undefined && this.hasContextProperties(a.context);
    if (!hasContext && a.commands.length === 0 && a.error === undefined) return;
    this.open();
    let n = hasContext ? this.contextProperties(a.context, 0) : 0;
    for (const c of a.commands) {
      if (n++) this.sep();
      this.commandReply(c);
    }
    if (a.error !== undefined) {
      if (n > 0) this.sep();
      this.error(a.error);
    }
    this.close();
  }

  private hasContextProperties(c: ContextProperties): boolean {
    return (
      c.priority !== undefined ||
      c.emergency !== undefined ||
      c.ieps !== undefined ||
      c.topology !== undefined ||
      c.attributes !== undefined ||
      c.contextList !== undefined
    );
  }

  /** Writes the context properties; returns the running item count. */
  private contextProperties(c: ContextProperties | undefined, n: number): number {
    if (c === undefined) return n;
    if (c.priority !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Priority);
      this.uint(c.priority, 'Priority', 65535);
    }
    if (c.emergency !== undefined) {
      if (n++) this.sep();
      this.tok(c.emergency ? KW.Emergency : KW.EmergencyOff);
    }
    if (c.ieps !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.IEPS);
      this.tok(c.ieps ? KW.On : KW.Off);
    }
    if (c.topology !== undefined) {
      if (n++) this.sep();
      this.tok(KW.Topology);
      this.open();
      c.topology.forEach((t, i) => {
        if (i > 0) this.sep();
        this.name(t.from, 'topology TerminationID');
        this.o += this.comma;
        this.name(t.to, 'topology TerminationID');
        this.o += this.comma;
        this.tok(kwOf(TOPOLOGY_KW, t.direction, 'topology direction'));
        if (t.stream !== undefined) {
          this.o += this.comma;
          this.tokEq(KW.Stream);
          this.uint(t.stream, 'StreamID', 65535);
        }
      });
      this.close();
    }
    if (c.attributes !== undefined || c.contextList !== undefined) {
      if (n++) this.sep();
      this.tok(KW.ContextAttr);
      this.open();
      let k = 0;
      for (const p of c.attributes ?? []) {
        if (k++) this.sep();
        this.property(p);
      }
      if (c.contextList !== undefined) {
        if (k > 0) this.sep();
        this.tokEq(KW.ContextList);
        this.o += this.pretty ? '{ ' : '{';
        c.contextList.forEach((id, i) => {
          if (i > 0) this.o += this.comma;
          this.contextId(id);
        });
        this.o += this.pretty ? ' }' : '}';
      }
      this.close();
    }
    return n;
  }

  private contextAudit(ca: ContextAuditRequest): void {
    this.tok(KW.ContextAudit);
    this.open();
    let n = 0;
    const flag = (on: true | undefined, k: number): void => {
      if (on !== true) return;
      if (n++) this.sep();
      this.tok(k);
    };
    flag(ca.topology, KW.Topology);
    flag(ca.emergency, KW.Emergency);
    flag(ca.priority, KW.Priority);
    flag(ca.ieps, KW.IEPS);
    for (const p of ca.properties ?? []) {
      if (n++) this.sep();
      this.name(p, 'context audit property');
    }
    if (ca.selectPriority !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Priority);
      this.uint(ca.selectPriority, 'Priority', 65535);
    }
    if (ca.selectEmergency !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.EmergencyValue);
      this.tok(ca.selectEmergency ? KW.Emergency : KW.EmergencyOff);
    }
    if (ca.selectIeps !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.IEPS);
      this.tok(ca.selectIeps ? KW.On : KW.Off);
    }
    if (ca.selectLogic !== undefined) {
      if (n++) this.sep();
      this.tok(ca.selectLogic === 'and' ? KW.AndAuditSelect : KW.OrAuditSelect);
    }
    for (const p of ca.selectAttributes ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    if (n === 0) bad('an empty ContextAudit');
    this.close();
  }

  // --- commands -------------------------------------------------------------------------------

  private termIds(r: TerminationRef): void {
    if (r.terminationIds !== undefined) {
      if (!Array.isArray(r.terminationIds) || r.terminationIds.length === 0)
        bad('terminationIds must be a non-empty array');
      this.o += '[';
      r.terminationIds.forEach((t, i) => {
        if (i > 0) this.o += this.comma;
        this.name(t, 'TerminationID');
      });
      this.o += ']';
    } else {
      this.name(r.terminationId, 'TerminationID');
    }
  }

  private commandRequest(c: CommandRequest): void {
    if (c === null || typeof c !== 'object') bad('a command must be an object');
    if (c.optional === true) this.o += 'O-';
    if (c.wildcardReply === true) this.o += 'W-';
    switch (c.kind) {
      case 'add':
      case 'modify':
      case 'move':
        this.tokEq(AMM_KW[c.kind] as number);
        this.termIds(c);
        if (c.descriptors === null || typeof c.descriptors !== 'object')
          bad('an Add/Modify/Move needs descriptors');
        this.descriptors(c.descriptors);
        return;
      case 'subtract':
        this.tokEq(KW.Subtract);
        this.termIds(c);
        if (c.audit !== undefined) {
          this.open();
          this.audit(c.audit);
          this.close();
        }
        return;
      case 'auditValue':
      case 'auditCapabilities':
        this.tokEq(c.kind === 'auditValue' ? KW.AuditValue : KW.AuditCap);
        this.termIds(c);
        if (c.audit !== undefined) {
          this.open();
          this.audit(c.audit);
          this.close();
        }
        return;
      case 'notify': {
        this.tokEq(KW.Notify);
        this.termIds(c);
        this.open();
        let n = 0;
        if (c.observedEvents !== undefined) {
          n++;
          this.observedEvents(c.observedEvents);
        }
        if (c.error !== undefined) {
          if (n++) this.sep();
          this.error(c.error);
        }
        if (n === 0) bad('a Notify needs ObservedEvents');
        this.close();
        return;
      }
      case 'serviceChange':
        this.tokEq(KW.ServiceChange);
        this.termIds(c);
        this.open();
        this.services(c.services);
        this.close();
        return;
      default:
        bad(`unknown command kind '${String((c as { kind?: unknown }).kind)}'`);
    }
  }

  private commandReply(c: CommandReply): void {
    if (c === null || typeof c !== 'object') bad('a command reply must be an object');
    switch (c.kind) {
      case 'add':
      case 'modify':
      case 'move':
      case 'subtract':
        this.tokEq(AMM_KW[c.kind] as number);
        this.termIds(c);
        if (c.audit !== undefined) this.descriptors(c.audit);
        return;
      case 'auditValue':
      case 'auditCapabilities':
        this.tokEq(c.kind === 'auditValue' ? KW.AuditValue : KW.AuditCap);
        if (c.contextTerminationIds !== undefined || c.contextError !== undefined) {
          this.tok(KW.Ctx);
          this.open();
          if (c.contextError !== undefined) {
            this.error(c.contextError);
          } else {
            const ids = c.contextTerminationIds ?? [];
            if (ids.length === 0) bad('contextTerminationIds must not be empty');
            ids.forEach((t, i) => {
              if (i > 0) this.sep();
              this.name(t, 'TerminationID');
            });
          }
          this.close();
          return;
        }
        if (c.terminationIds !== undefined)
          this.termIds({ terminationId: c.terminationId ?? '', terminationIds: c.terminationIds });
        else this.name(c.terminationId, 'TerminationID');
        if (c.audit !== undefined) this.descriptors(c.audit);
        return;
      case 'notify':
        this.tokEq(KW.Notify);
        this.termIds(c);
        if (c.error !== undefined) {
          this.open();
          this.error(c.error);
          this.close();
        }
        return;
      case 'serviceChange':
        this.tokEq(KW.ServiceChange);
        this.termIds(c);
        if (c.error !== undefined) {
          this.open();
          this.error(c.error);
          this.close();
        } else if (c.services !== undefined && this.hasServices(c.services)) {
          this.open();
          this.services(c.services);
          this.close();
        }
        return;
      default:
        bad(`unknown command reply kind '${String((c as { kind?: unknown }).kind)}'`);
    }
  }

  // --- descriptors ----------------------------------------------------------------------------

  /** `{ descriptor, ... }` when there is any; nothing otherwise. */
  private descriptors(d: Descriptors): void {
    if (
      d.media === undefined &&
      d.modem === undefined &&
      d.mux === undefined &&
      d.events === undefined &&
      d.eventBuffer === undefined &&
      d.signals === undefined &&
      d.digitMap === undefined &&
      d.audit === undefined &&
      d.statistics === undefined &&
      d.observedEvents === undefined &&
      d.packages === undefined &&
      d.error === undefined &&
      (d.items === undefined || d.items.length === 0)
    ) {
      return;
    }
    this.open();
    let n = 0;
    if (d.media !== undefined) {
      n++;
      this.media(d.media);
    }
    if (d.modem !== undefined) {
      if (n++) this.sep();
      const md = d.modem;
      this.tok(KW.Modem);
      if (md.types.length === 1) {
        this.o += this.eq;
        this.name(md.types[0], 'modem type');
      } else {
        this.o += this.pretty ? ' [' : '[';
        md.types.forEach((t, i) => {
          if (i > 0) this.o += this.comma;
          this.name(t, 'modem type');
        });
        this.o += ']';
      }
      if (md.properties !== undefined && md.properties.length > 0) this.propertyBlock(md.properties);
    }
    if (d.mux !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Mux);
      this.name(d.mux.type, 'mux type');
      this.open();
      d.mux.terminationIds.forEach((t, i) => {
        if (i > 0) this.sep();
        this.name(t, 'TerminationID');
      });
      this.close();
    }
    if (d.events !== undefined) {
      if (n++) this.sep();
      this.events(d.events);
    }
    if (d.eventBuffer !== undefined) {
      if (n++) this.sep();
      this.eventBuffer(d.eventBuffer);
    }
    if (d.signals !== undefined) {
      if (n++) this.sep();
      this.signals(d.signals);
    }
    if (d.digitMap !== undefined) {
      if (n++) this.sep();
      this.tok(KW.DigitMap);
      this.o += this.eq;
      this.digitMap(d.digitMap);
    }
    if (d.observedEvents !== undefined) {
      if (n++) this.sep();
      this.observedEvents(d.observedEvents);
    }
    if (d.statistics !== undefined) {
      if (n++) this.sep();
      this.statistics(d.statistics);
    }
    if (d.packages !== undefined) {
      if (n++) this.sep();
      this.tok(KW.Packages);
      this.open();
      d.packages.forEach((p, i) => {
        if (i > 0) this.sep();
        this.name(p.name, 'package name');
        this.o += '-';
        this.uint(p.version, 'package version', 65535);
      });
      this.close();
    }
    if (d.audit !== undefined) {
      if (n++) this.sep();
      this.audit(d.audit);
    }
    for (const it of d.items ?? []) {
      if (n++) this.sep();
      this.tok(kwOf(AUDIT_ITEM_KW, it, 'audit item'));
    }
    if (d.error !== undefined) {
      if (n > 0) this.sep();
      this.error(d.error);
    }
    this.close();
  }

  private media(m: MediaDescriptor): void {
    this.tok(KW.Media);
    this.open();
    let n = 0;
    if (m.terminationState !== undefined) {
      n++;
      this.terminationState(m.terminationState);
    }
    if (m.stream !== undefined) n = this.streamParms(m.stream, n);
    for (const s of m.streams ?? []) {
      if (n++) this.sep();
      this.tokEq(KW.Stream);
      this.uint(s.id, 'StreamID', 65535);
      this.open();
      if (this.streamParms(s, 0) === 0) bad('a Stream descriptor needs parameters');
      this.close();
    }
    if (n === 0) bad('an empty Media descriptor');
    this.close();
  }

  private streamParms(sp: StreamParms, n: number): number {
    if (sp.localControl !== undefined) {
      if (n++) this.sep();
      this.localControl(sp.localControl);
    }
    if (sp.local !== undefined) {
      if (n++) this.sep();
      this.sdp(KW.Local, sp.local);
    }
    if (sp.remote !== undefined) {
      if (n++) this.sep();
      this.sdp(KW.Remote, sp.remote);
    }
    if (sp.statistics !== undefined) {
      if (n++) this.sep();
      this.statistics(sp.statistics);
    }
    return n;
  }

  private sdp(k: number, text: string): void {
    if (typeof text !== 'string') bad('Local/Remote must hold SDP text');
    this.tok(k);
    if (text.length === 0) {
      this.empty();
      return;
    }
    let body = text.includes('}') ? text.replaceAll('}', '\\}') : text;
    if (!body.endsWith('\n')) body += '\n';
    // The closing brace goes at column 0 even in pretty style: indentation after the SDP's last line
    // end would read as one more (malformed) SDP line to Wireshark's megaco/SDP dissector.
    this.o += (this.pretty ? ' {\n' : '{\n') + body + '}';
  }

  private localControl(lc: LocalControlDescriptor): void {
    this.tok(KW.LocalControl);
    this.open();
    let n = 0;
    if (lc.mode !== undefined) {
      n++;
      this.tokEq(KW.Mode);
      this.tok(kwOf(MODE_KW, lc.mode, 'stream mode'));
    }
    if (lc.reservedValue !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.ReservedValue);
      this.tok(lc.reservedValue ? KW.On : KW.Off);
    }
    if (lc.reservedGroup !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.ReservedGroup);
      this.tok(lc.reservedGroup ? KW.On : KW.Off);
    }
    for (const p of lc.properties ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    if (n === 0) bad('an empty LocalControl descriptor');
    this.close();
  }

  private terminationState(ts: TerminationStateDescriptor): void {
    this.tok(KW.TerminationState);
    this.open();
    let n = 0;
    if (ts.serviceState !== undefined) {
      n++;
      this.tokEq(KW.ServiceStates);
      this.tok(kwOf(SERVICE_STATE_KW, ts.serviceState, 'service state'));
    }
    if (ts.bufferControl !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Buffer);
      this.tok(ts.bufferControl === 'lockStep' ? KW.LockStep : KW.Off);
    }
    for (const p of ts.properties ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    if (n === 0) bad('an empty TerminationState descriptor');
    this.close();
  }

  /** `name=value`, `name#value`, `name=[a,b]`, `name={a,b}`, `name=[a:b]`. */
  private property(p: PropertyParm | AuditProperty): void {
    if (p === null || typeof p !== 'object') bad('a property must be an object');
    this.name(p.name, 'property name');
    if (p.relation === undefined) return; // an audited property name
    const rel = RELATION_TEXT[p.relation];
    if (rel === undefined) bad(`unknown relation '${String(p.relation)}'`);
    if (p.list !== undefined || p.alternatives !== undefined || p.range !== undefined) {
      if (p.relation !== '=') bad('lists, alternatives and ranges need the relation =');
      this.o += '=';
      if (p.range !== undefined) {
        this.o += '[';
        this.value(p.range[0]);
        this.o += ':';
        this.value(p.range[1]);
        this.o += ']';
        return;
      }
      const list = p.list !== undefined;
      const vs = (list ? p.list : p.alternatives) as string[];
      if (vs.length === 0) bad('an empty list of values');
      this.o += list ? '[' : '{';
      vs.forEach((v, i) => {
        if (i > 0) this.o += ',';
        this.value(v);
      });
      this.o += list ? ']' : '}';
      return;
    }
    if (p.value === undefined) bad(`property ${p.name} has no value`);
    this.o += rel;
    this.value(p.value);
  }

  private propertyBlock(ps: readonly PropertyParm[]): void {
    this.open();
    ps.forEach((p, i) => {
      if (i > 0) this.sep();
      this.property(p);
    });
    this.close();
  }

  private requestId(r: RequestId): void {
    if (r === '*') this.o += '*';
    else this.uint(r, 'RequestID');
  }

  private events(ev: EventsDescriptor): void {
    this.tok(KW.Events);
    if (ev.requestId !== undefined && ev.events.length > 0) {
      this.o += this.eq;
      this.requestId(ev.requestId);
    } else if (ev.events.length === 0) {
      return; // bare Events: no events
    }
    this.open();
    ev.events.forEach((e, i) => {
      if (i > 0) this.sep();
      this.requestedEvent(e);
    });
    this.close();
  }

  private requestedEvent(e: RequestedEvent): void {
    this.name(e.name, 'event name');
    const has =
      e.stream !== undefined ||
      e.keepActive === true ||
      e.embed !== undefined ||
      e.digitMap !== undefined ||
      e.notifyBehaviour !== undefined ||
      e.resetEventsDescriptor === true ||
      (e.params !== undefined && e.params.length > 0);
    if (!has) return;
    this.open();
    let n = 0;
    if (e.stream !== undefined) {
      n++;
      this.tokEq(KW.Stream);
      this.uint(e.stream, 'StreamID', 65535);
    }
    if (e.keepActive === true) {
      if (n++) this.sep();
      this.tok(KW.KeepActive);
    }
    if (e.embed !== undefined) {
      if (n++) this.sep();
      this.embed(e.embed);
    }
    if (e.digitMap !== undefined) {
      if (n++) this.sep();
      this.tok(KW.DigitMap);
      this.o += this.eq;
      this.digitMap(e.digitMap);
    }
    if (e.notifyBehaviour !== undefined) {
      if (n++) this.sep();
      const nb = e.notifyBehaviour;
      if (nb.kind === 'immediate') this.tok(KW.NotifyImmediate);
      else if (nb.kind === 'never') this.tok(KW.NeverNotify);
      else if (nb.kind === 'regulated') {
        this.tok(KW.NotifyRegulated);
        if (nb.embed !== undefined) {
          this.open();
          this.embed(nb.embed);
          this.close();
        }
      } else bad(`unknown notify behaviour '${String((nb as { kind?: unknown }).kind)}'`);
    }
    if (e.resetEventsDescriptor === true) {
      if (n++) this.sep();
      this.tok(KW.ResetEventsDescriptor);
    }
    for (const p of e.params ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    this.close();
  }

  private embed(em: EmbedDescriptor): void {
    this.tok(KW.Embed);
    this.open();
    let n = 0;
    if (em.signals !== undefined) {
      n++;
      this.signals(em.signals);
    }
    if (em.events !== undefined) {
      if (n++) this.sep();
      this.events(em.events);
    }
    if (n === 0) bad('an empty Embed');
    this.close();
  }

  private signals(sigs: readonly SignalParm[]): void {
    this.tok(KW.Signals);
    if (typeof sigs !== 'object' || sigs === null || typeof sigs.length !== 'number')
      bad('Signals must be an array');
    if (sigs.length === 0) return; // bare Signals: stop all signals (accepted by every version's parsers)
    this.open();
    sigs.forEach((s, i) => {
      if (i > 0) this.sep();
      if (s.kind === 'list') {
        this.tokEq(KW.SignalList);
        this.uint(s.id, 'signal list id', 65535);
        if (s.signals.length === 0) bad('an empty SignalList');
        this.open();
        s.signals.forEach((x, j) => {
          if (j > 0) this.sep();
          this.signalRequest(x);
        });
        this.close();
      } else if (s.kind === 'signal') {
        this.signalRequest(s);
      } else {
        bad(`unknown signal kind '${String((s as { kind?: unknown }).kind)}'`);
      }
    });
    this.close();
  }

  private signalRequest(s: SignalRequest): void {
    this.name(s.name, 'signal name');
    const has =
      s.stream !== undefined ||
      s.signalType !== undefined ||
      s.duration !== undefined ||
      s.notifyCompletion !== undefined ||
      s.keepActive === true ||
      s.direction !== undefined ||
      s.requestId !== undefined ||
      s.intersignalDelay !== undefined ||
      (s.params !== undefined && s.params.length > 0);
    if (!has) return;
    this.open();
    let n = 0;
    if (s.stream !== undefined) {
      n++;
      this.tokEq(KW.Stream);
      this.uint(s.stream, 'StreamID', 65535);
    }
    if (s.signalType !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.SignalType);
      this.tok(kwOf(SIGNAL_TYPE_KW, s.signalType, 'signal type'));
    }
    if (s.duration !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Duration);
      this.uint(s.duration, 'Duration', 65535);
    }
    if (s.notifyCompletion !== undefined) {
      if (s.notifyCompletion.length === 0) bad('an empty NotifyCompletion');
      if (n++) this.sep();
      this.tokEq(KW.NotifyCompletion);
      this.o += this.pretty ? '{ ' : '{';
      s.notifyCompletion.forEach((r, i) => {
        if (i > 0) this.o += this.comma;
        this.tok(kwOf(REASON_KW, r, 'notification reason'));
      });
      this.o += this.pretty ? ' }' : '}';
    }
    if (s.keepActive === true) {
      if (n++) this.sep();
      this.tok(KW.KeepActive);
    }
    if (s.direction !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Direction);
      this.tok(kwOf(DIRECTION_KW, s.direction, 'signal direction'));
    }
    if (s.requestId !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.RequestID);
      this.requestId(s.requestId);
    }
    if (s.intersignalDelay !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.IntsigDelay);
      this.uint(s.intersignalDelay, 'Intersignal delay', 65535);
    }
    for (const p of s.params ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    this.close();
  }

  private eventSpecBody(e: EventSpec): void {
    if (e.stream === undefined && (e.params === undefined || e.params.length === 0)) return;
    this.open();
    let n = 0;
    if (e.stream !== undefined) {
      n++;
      this.tokEq(KW.Stream);
      this.uint(e.stream, 'StreamID', 65535);
    }
    for (const p of e.params ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    this.close();
  }

  private eventBuffer(eb: readonly EventSpec[]): void {
    this.tok(KW.EventBuffer);
    if (eb.length === 0) return;
    this.open();
    eb.forEach((e, i) => {
      if (i > 0) this.sep();
      this.name(e.name, 'event name');
      this.eventSpecBody(e);
    });
    this.close();
  }

  private observedEvents(oe: ObservedEventsDescriptor): void {
    this.tokEq(KW.ObservedEvents);
    this.requestId(oe.requestId);
    if (oe.events.length === 0) bad('ObservedEvents needs events');
    this.open();
    oe.events.forEach((e, i) => {
      if (i > 0) this.sep();
      if (e.timestamp !== undefined) this.o += `${e.timestamp}:`;
      this.name(e.name, 'event name');
      this.eventSpecBody(e);
    });
    this.close();
  }

  private digitMap(dm: DigitMapDescriptor): void {
    if (dm.name === undefined && dm.value === undefined) bad('a DigitMap needs a name or a value');
    if (dm.name !== undefined) this.name(dm.name, 'digit map name');
    if (dm.value !== undefined) {
      if (dm.name !== undefined && this.pretty) this.o += ' ';
      this.o += this.pretty ? `{ ${dm.value} }` : `{${dm.value}}`;
    }
  }

  private statistics(st: readonly StatisticsParameter[]): void {
    this.tok(KW.Stats);
    if (st.length === 0) return;
    this.open();
    st.forEach((s, i) => {
      if (i > 0) this.sep();
      this.name(s.name, 'statistic name');
      if (s.values !== undefined) {
        this.o += '=[';
        s.values.forEach((v, j) => {
          if (j > 0) this.o += ',';
          this.value(v);
        });
        this.o += ']';
      } else if (s.value !== undefined) {
        this.o += '=';
        this.value(s.value);
      }
    });
    this.close();
  }

  private error(e: ErrorDescriptor): void {
    if (e === null || typeof e !== 'object') bad('an error descriptor must be an object');
    this.tokEq(KW.Error);
    this.uint(e.code, 'error code', 9999);
    if (e.text === undefined) {
      this.empty();
      return;
    }
    this.o += this.pretty ? ' { ' : '{';
    this.quotedText(e.text);
    this.o += this.pretty ? ' }' : '}';
  }

  // --- audit ----------------------------------------------------------------------------------

  private audit(ad: AuditDescriptor): void {
    this.tok(KW.Audit);
    const items = ad.items ?? [];
    const ind = ad.indAud ?? [];
    if (items.length === 0 && ind.length === 0) {
      this.empty();
      return;
    }
    this.open();
    let n = 0;
    for (const it of items) {
      if (n++) this.sep();
      this.tok(kwOf(AUDIT_ITEM_KW, it, 'audit item'));
    }
    for (const ia of ind) {
      if (n++) this.sep();
      this.indAud(ia);
    }
    this.close();
  }

  private indAud(ia: IndAudDescriptor): void {
    switch (ia.kind) {
      case 'media':
        this.indAudMedia(ia.media);
        return;
      case 'events':
        this.tok(KW.Events);
        if (ia.requestId !== undefined) {
          this.o += this.eq;
          this.requestId(ia.requestId);
        }
        this.open();
        this.name(ia.name, 'event name');
        this.close();
        return;
      case 'eventBuffer':
        this.tok(KW.EventBuffer);
        this.open();
        this.name(ia.name, 'event name');
        if (ia.stream !== undefined || ia.param !== undefined) {
          this.open();
          if (ia.stream !== undefined) {
            this.tokEq(KW.Stream);
            this.uint(ia.stream, 'StreamID', 65535);
          } else {
            this.name(ia.param, 'event parameter name');
          }
          this.close();
        }
        this.close();
        return;
      case 'signals':
        this.tok(KW.Signals);
        if (ia.list !== undefined) {
          this.open();
          this.tokEq(KW.SignalList);
          this.uint(ia.list.id, 'signal list id', 65535);
          if (ia.list.signal !== undefined) {
            this.open();
            this.signalRequest(ia.list.signal);
            this.close();
          }
          this.close();
        } else if (ia.signal !== undefined) {
          this.open();
          this.signalRequest(ia.signal);
          this.close();
        } else {
          this.empty();
        }
        return;
      case 'digitMap':
        this.tokEq(KW.DigitMap);
        this.name(ia.name, 'digit map name');
        return;
      case 'statistics':
        this.tok(KW.Stats);
        this.open();
        this.name(ia.name, 'statistic name');
        this.close();
        return;
      case 'packages':
        this.tok(KW.Packages);
        this.open();
        this.name(ia.name, 'package name');
        this.o += '-';
        this.uint(ia.version, 'package version', 65535);
        this.close();
        return;
      default:
        bad(`unknown individual audit kind '${String((ia as { kind?: unknown }).kind)}'`);
    }
  }

  private indAudMedia(m: IndAudMedia): void {
    this.tok(KW.Media);
    this.open();
    let n = 0;
    if (m.terminationState !== undefined) {
      n++;
      this.indAudTerminationState(m.terminationState);
    }
    if (m.stream !== undefined) n = this.indAudStreamParms(m.stream, n);
    for (const s of m.streams ?? []) {
      if (n++) this.sep();
      this.tokEq(KW.Stream);
      this.uint(s.id, 'StreamID', 65535);
      this.open();
      if (this.indAudStreamParms(s, 0) === 0) bad('an empty Stream audit');
      this.close();
    }
    if (n === 0) bad('an empty Media audit');
    this.close();
  }

  private indAudStreamParms(sp: IndAudStreamParms, n: number): number {
    if (sp.localControl !== undefined) {
      if (n++) this.sep();
      this.indAudLocalControl(sp.localControl);
    }
    if (sp.local === true) {
      if (n++) this.sep();
      this.tok(KW.Local);
    }
    if (sp.remote === true) {
      if (n++) this.sep();
      this.tok(KW.Remote);
    }
    if (sp.statistics !== undefined) {
      if (n++) this.sep();
      this.tok(KW.Stats);
      this.open();
      this.name(sp.statistics, 'statistic name');
      this.close();
    }
    return n;
  }

  private selectRelation(r: '=' | '!='): void {
    this.o += r === '=' ? this.eq : this.pretty ? ' # ' : '#';
  }

  private indAudLocalControl(lc: IndAudLocalControl): void {
    this.tok(KW.LocalControl);
    this.open();
    let n = 0;
    if (lc.mode === true) {
      n++;
      this.tok(KW.Mode);
    }
    if (lc.modeSelect !== undefined) {
      if (n++) this.sep();
      this.tok(KW.Mode);
      this.selectRelation(lc.modeSelect.relation);
      this.tok(kwOf(MODE_KW, lc.modeSelect.mode, 'stream mode'));
    }
    if (lc.reservedValue === true) {
      if (n++) this.sep();
      this.tok(KW.ReservedValue);
    }
    if (lc.reservedGroup === true) {
      if (n++) this.sep();
      this.tok(KW.ReservedGroup);
    }
    for (const p of lc.properties ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    if (n === 0) bad('an empty LocalControl audit');
    this.close();
  }

  private indAudTerminationState(ts: IndAudTerminationState): void {
    this.tok(KW.TerminationState);
    this.open();
    let n = 0;
    if (ts.serviceStates === true) {
      n++;
      this.tok(KW.ServiceStates);
    }
    if (ts.serviceStatesSelect !== undefined) {
      if (n++) this.sep();
      this.tok(KW.ServiceStates);
      this.selectRelation(ts.serviceStatesSelect.relation);
      this.tok(kwOf(SERVICE_STATE_KW, ts.serviceStatesSelect.state, 'service state'));
    }
    if (ts.bufferControl === true) {
      if (n++) this.sep();
      this.tok(KW.Buffer);
    }
    for (const p of ts.properties ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    if (n === 0) bad('an empty TerminationState audit');
    this.close();
  }

  // --- ServiceChange --------------------------------------------------------------------------

  private hasServices(sc: ServiceChangeParms): boolean {
    for (const k in sc) if ((sc as Record<string, unknown>)[k] !== undefined) return true;
    return false;
  }

  private services(sc: ServiceChangeParms): void {
    if (sc === null || typeof sc !== 'object') bad('Services must be an object');
    this.tok(KW.Services);
    this.open();
    let n = 0;
    if (sc.method !== undefined) {
      n++;
      this.tokEq(KW.Method);
      const k = METHOD_KW[sc.method];
      if (k !== undefined) this.tok(k);
      else if (/^[Xx][-+][A-Za-z0-9_]+$/.test(sc.method)) this.o += sc.method;
      else bad(`unknown ServiceChange method '${String(sc.method)}'`);
    }
    if (sc.reason !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Reason);
      this.quotedText(sc.reason);
    }
    if (sc.delay !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Delay);
      this.uint(sc.delay, 'Delay');
    }
    if (sc.address !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.ServiceChangeAddress);
      if (sc.address.kind === 'port') this.uint(sc.address.port, 'port', 65535);
      else this.mId(sc.address);
    }
    if (sc.profile !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Profile);
      this.name(sc.profile.name, 'profile name');
      this.o += '/';
      this.uint(sc.profile.version, 'profile version', 99);
    }
    if (sc.version !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.Version);
      this.uint(sc.version, 'Version', 99);
    }
    if (sc.mgcIdToTry !== undefined) {
      if (n++) this.sep();
      this.tokEq(KW.MgcId);
      this.mId(sc.mgcIdToTry);
    }
    if (sc.timestamp !== undefined) {
      if (n++) this.sep();
      this.name(sc.timestamp, 'timestamp');
    }
    if (sc.incomplete === true) {
      if (n++) this.sep();
      this.tok(KW.ServiceChangeInc);
    }
    for (const p of sc.extensions ?? []) {
      if (n++) this.sep();
      this.property(p);
    }
    for (const it of sc.auditItems ?? []) {
      if (n++) this.sep();
      this.tok(kwOf(AUDIT_ITEM_KW, it, 'audit item'));
    }
    if (n === 0) bad('empty Services');
    this.close();
  }
}
