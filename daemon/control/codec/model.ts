/**
 * The typed H.248.1 (versions 1-3) message model: plain, JSON-able data (no classes, no bigint,
 * no Map, no undefined-valued keys). The parser produces it, the encoder consumes it, the transaction
 * and command layers read and build it.
 *
 * Conventions:
 * - Optional keys are absent (never `undefined`) when the element is absent; optional lists are
 *   absent rather than empty, unless an empty list means something (an empty Signals descriptor
 *   stops signals, so `signals: []` is kept).
 * - Names (termination ids, package/item names, parameter names) keep the spelling of the text;
 *   H.248 names are case-insensitive, so compare them lower-cased. Keywords (modes, methods,
 *   service states...) are normalised to the lower-camel values of the unions below.
 * - Property, parameter and statistic values are kept as their text (a VALUE of H.248.1 Annex B): a
 *   quoted string keeps its double quotes (`"RTP timeout"`), so that a string typed value is written
 *   back quoted; use {@link unquote} to read it. Numbers stay text too (`40`, `0x1F`).
 * - Local and Remote hold the SDP as opaque text, `\}` already unescaped to `}`. The decoder drops
 *   the whitespace before the first line and after the last, and ends non-empty SDP with a line
 *   end (the SDP's own, CRLF or LF). Several SDP groups in one descriptor stay in one text.
 * - Ids are numbers (UINT32 fits a double exactly).
 */

export type EncodingStyle = 'pretty' | 'compact';

/** ContextID: a number, `-` (null context), `$` (CHOOSE) or `*` (ALL). */
export type ContextId = number | '-' | '$' | '*';

/** RequestID of Events / ObservedEvents: a number or `*` (ALL). */
export type RequestId = number | '*';

/** Relation of a property to its value: `=`, `!=` (written `#` on the wire), `<` or `>`. */
export type Relation = '=' | '!=' | '<' | '>';

export type StreamMode = 'sendOnly' | 'recvOnly' | 'sendRecv' | 'inactive' | 'loopback';
export type ServiceState = 'test' | 'outOfService' | 'inService';
export type BufferControl = 'off' | 'lockStep';
export type SignalType = 'onOff' | 'timeOut' | 'brief';
export type SignalDirection = 'external' | 'internal' | 'both';
export type NotificationReason =
  'timeOut' | 'interruptByEvent' | 'interruptByNewSignals' | 'otherReason' | 'iteration';
export type TopologyDirection = 'bothway' | 'isolate' | 'oneway' | 'onewayExternal' | 'onewayBoth';
export type ServiceChangeMethod =
  | 'failover'
  | 'forced'
  | 'graceful'
  | 'restart'
  | 'disconnected'
  | 'handOff'
  /** extensionParameter: `X-` or `X+` then 1-6 letters/digits. */
  | `X-${string}`
  | `X+${string}`;

/** Bare audit tokens (`Audit { Media, Statistics }`, or an auditReturnItem in a reply). */
export type AuditItem =
  | 'media'
  | 'modem'
  | 'mux'
  | 'events'
  | 'signals'
  | 'digitMap'
  | 'statistics'
  | 'observedEvents'
  | 'packages'
  | 'eventBuffer';

// ---------------------------------------------------------------------------------------------
// Message and transactions

/** Message identifier (mId) of the sender. */
export type MId =
  /** `[192.0.2.1]:2944` */
  | { kind: 'ip4'; address: string; port?: number }
  /** `[2001:db8::1]:2944` (address without the brackets) */
  | { kind: 'ip6'; address: string; port?: number }
  /** `<mg1.example.net>:2944` (name without the angle brackets) */
  | { kind: 'domain'; name: string; port?: number }
  /** `MTP{0A1B2C}`: 4 to 8 hex digits, as written */
  | { kind: 'mtp'; hex: string }
  /** a pathNAME device name */
  | { kind: 'device'; name: string };

/** `Authentication = 0x...:0x...:0x...` (hex texts as written, with their `0x`). */
export interface AuthHeader {
  spi: string;
  seq: string;
  data: string;
}

export interface Message {
  /** Protocol version of the header (`MEGACO/3` → 3). */
  version: number;
  mId: MId;
  auth?: AuthHeader;
  /** The transactions; empty when the message is a message-level error. */
  transactions: Transaction[];
  /** Message-level `Error = code {"text"}` instead of transactions. */
  error?: ErrorDescriptor;
  /** Set by the decoder: the encoding style the message used (replies use the request's style). */
  style?: EncodingStyle;
}

export type Transaction =
  TransactionRequest | TransactionReply | TransactionPending | TransactionResponseAck | SegmentReply;

export interface TransactionRequest {
  kind: 'request';
  /** 0..4294967295; a request written without an id decodes as 0 (H.248.1 §8.2.2). */
  id: number;
  actions: ActionRequest[];
}

export interface TransactionReply {
  kind: 'reply';
  id: number;
  /** v3 segmentation: `Reply = id/segmentNumber[/END]`. */
  segmentNumber?: number;
  /** v3: `END` (`&`) after the segment number: the last segment. */
  segmentationComplete?: true;
  immAckRequired?: true;
  /** Transaction-level error (then `actions` is empty). */
  error?: ErrorDescriptor;
  actions: ActionReply[];
}

export interface TransactionPending {
  kind: 'pending';
  id: number;
}

export interface TransactionResponseAck {
  kind: 'responseAck';
  acks: TransactionAck[];
}

/** One acknowledged id (`10`) or range (`10-15`, `last` present). */
export interface TransactionAck {
  first: number;
  last?: number;
}

/** v3 `Segment = id/segmentNumber[/END]` (`SM=...`): the receiver's segment acknowledgement. */
export interface SegmentReply {
  kind: 'segmentReply';
  id: number;
  segmentNumber: number;
  segmentationComplete?: true;
}

// ---------------------------------------------------------------------------------------------
// Actions and context

export interface ActionRequest {
  contextId: ContextId;
  /** Context properties to set (Priority, Emergency, IEPS, Topology, ContextAttr). */
  context?: ContextProperties;
  /** `ContextAudit { ... }`. */
  contextAudit?: ContextAuditRequest;
  commands: CommandRequest[];
}

export interface ActionReply {
  contextId: ContextId;
  /** Context properties reported back (Priority, Topology...). */
  context?: ContextProperties;
  commands: CommandReply[];
  /** The action's error: after the replies of the commands that ran, or alone. */
  error?: ErrorDescriptor;
}

export interface ContextProperties {
  priority?: number;
  /** `Emergency` → true, `EmergencyOff` → false. */
  emergency?: boolean;
  /** v3 `IEPSCall = ON|OFF`. */
  ieps?: boolean;
  topology?: TopologyTriple[];
  /** v3 `ContextAttr { propertyParm, ... }`. */
  attributes?: PropertyParm[];
  /** v3 `ContextAttr { ContextList = { id, ... } }`. */
  contextList?: ContextId[];
}

export interface TopologyTriple {
  from: string;
  to: string;
  direction: TopologyDirection;
  /** v2+ `Stream = n` after the direction. */
  stream?: number;
}

/** `ContextAudit { ... }`: what to audit (flags) and v3 selection criteria (select*). */
export interface ContextAuditRequest {
  topology?: true;
  emergency?: true;
  priority?: true;
  ieps?: true;
  /** Context attributes (pkgdNames) to audit (v3). */
  properties?: string[];
  selectPriority?: number;
  selectEmergency?: boolean;
  selectIeps?: boolean;
  selectLogic?: 'and' | 'or';
  selectAttributes?: PropertyParm[];
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Termination id(s) of a command: `terminationId` always; `terminationIds` only for the v3 list form `[a, b]`. */
export interface TerminationRef {
  /** `ROOT`, `$` (CHOOSE), `*` (ALL), or a pathNAME that may contain `*` wildcards. */
  terminationId: string;
  /** v3 list form `[t1, t2, ...]`; when present the encoder writes it instead of `terminationId`. */
  terminationIds?: string[];
}

export interface CommandFlags {
  /** `O-`: optional command (the transaction goes on if it fails). */
  optional?: true;
  /** `W-`: wildcarded response wanted. */
  wildcardReply?: true;
}

export type AmmKind = 'add' | 'modify' | 'move';

export interface AmmRequest extends TerminationRef, CommandFlags {
  kind: AmmKind;
  descriptors: Descriptors;
}

export interface SubtractRequest extends TerminationRef, CommandFlags {
  kind: 'subtract';
  audit?: AuditDescriptor;
}

export interface AuditRequest extends TerminationRef, CommandFlags {
  kind: 'auditValue' | 'auditCapabilities';
  /** Required in v1 (`Audit{}` when empty); optional from v2. */
  audit?: AuditDescriptor;
}

export interface NotifyRequest extends TerminationRef, CommandFlags {
  kind: 'notify';
  observedEvents?: ObservedEventsDescriptor;
  error?: ErrorDescriptor;
}

export interface ServiceChangeRequest extends TerminationRef, CommandFlags {
  kind: 'serviceChange';
  services: ServiceChangeParms;
}

export type CommandRequest =
  AmmRequest | SubtractRequest | AuditRequest | NotifyRequest | ServiceChangeRequest;

export interface AmmsReply extends TerminationRef {
  kind: AmmKind | 'subtract';
  audit?: TerminationAudit;
}

/**
 * AuditValue / AuditCapabilities reply: either for a termination (`terminationId`, `audit`), or
 * the context form `AuditValue = Context { t1, t2 }` (`contextTerminationIds`) /
 * `AuditValue = Context { Error = ... }` (`contextError`).
 */
export interface AuditReply {
  kind: 'auditValue' | 'auditCapabilities';
  terminationId?: string;
  terminationIds?: string[];
  audit?: TerminationAudit;
  contextTerminationIds?: string[];
  contextError?: ErrorDescriptor;
}

export interface NotifyReply extends TerminationRef {
  kind: 'notify';
  error?: ErrorDescriptor;
}

export interface ServiceChangeReply extends TerminationRef {
  kind: 'serviceChange';
  /** `Services { ServiceChangeAddress, MgcIdToTry, Profile, Version, TimeStamp }`. */
  services?: ServiceChangeParms;
  error?: ErrorDescriptor;
}

export type CommandReply = AmmsReply | AuditReply | NotifyReply | ServiceChangeReply;

// ---------------------------------------------------------------------------------------------
// Descriptors

/**
 * Descriptors of an Add/Modify/Move request (media, modem, mux, events, eventBuffer, signals,
 * digitMap, audit, statistics) and of a terminationAudit in replies (the same plus observedEvents,
 * packages, error and bare `items`). Each descriptor appears at most once (ERR_H248_DESCRIPTOR_TWICE
 * otherwise). Which are legal in which command is for the command layer to judge (447).
 */
export interface Descriptors {
  media?: MediaDescriptor;
  modem?: ModemDescriptor;
  mux?: MuxDescriptor;
  events?: EventsDescriptor;
  eventBuffer?: EventSpec[];
  /** Empty list: `Signals {}` / `Signals` (stop all signals). */
  signals?: SignalParm[];
  digitMap?: DigitMapDescriptor;
  audit?: AuditDescriptor;
  /** Empty list: bare `Statistics`. */
  statistics?: StatisticsParameter[];
  observedEvents?: ObservedEventsDescriptor;
  packages?: PackagesItem[];
  error?: ErrorDescriptor;
  /** Bare auditReturnItem tokens in a reply (`Media`, `Mux`, `Modem`, `DigitMap`, `ObservedEvents`, `Packages`). */
  items?: AuditItem[];
}

/** What a command reply returns (terminationAudit). */
export type TerminationAudit = Descriptors;

export interface MediaDescriptor {
  terminationState?: TerminationStateDescriptor;
  /** Stream parameters written without a Stream descriptor (StreamID 1 implied). */
  stream?: StreamParms;
  /** `Stream = n { ... }` descriptors. */
  streams?: StreamDescriptor[];
}

export interface StreamParms {
  localControl?: LocalControlDescriptor;
  /** SDP text of `Local { ... }` (see the module comment). */
  local?: string;
  /** SDP text of `Remote { ... }`. */
  remote?: string;
  /** v2+ per-stream Statistics. */
  statistics?: StatisticsParameter[];
}

export interface StreamDescriptor extends StreamParms {
  id: number;
}

export interface LocalControlDescriptor {
  mode?: StreamMode;
  reservedValue?: boolean;
  reservedGroup?: boolean;
  properties?: PropertyParm[];
}

export interface TerminationStateDescriptor {
  serviceState?: ServiceState;
  bufferControl?: BufferControl;
  properties?: PropertyParm[];
}

/**
 * `name = value` and friends. Exactly one of `value`, `list`, `alternatives`, `range` is present;
 * `list`, `alternatives` and `range` only with relation `=`.
 */
export interface PropertyParm {
  /** pkgdName (`nt/jit`) or, for event/signal parameters, the parameter NAME (`cs`). */
  name: string;
  relation: Relation;
  /** A single VALUE (quoted strings keep their quotes). */
  value?: string;
  /** `[a, b]`: all of (AND). */
  list?: string[];
  /** `{a, b}`: one of (OR). */
  alternatives?: string[];
  /** `[low : high]`. */
  range?: [string, string];
}

/** A property in an audit: just the name (`nt/jit`), or with a selection value. */
export interface AuditProperty {
  name: string;
  relation?: Relation;
  value?: string;
  list?: string[];
  alternatives?: string[];
  range?: [string, string];
}

export interface EventsDescriptor {
  /** Absent for a bare `Events` (clears the events). */
  requestId?: RequestId;
  events: RequestedEvent[];
}

export interface RequestedEvent {
  name: string;
  stream?: number;
  keepActive?: true;
  embed?: EmbedDescriptor;
  digitMap?: DigitMapDescriptor;
  /** v3 notification behaviour. */
  notifyBehaviour?: NotifyBehaviour;
  /** v3 `ResetEventsDescriptor`. */
  resetEventsDescriptor?: true;
  /** Other event parameters (`name = value`). */
  params?: PropertyParm[];
}

/** `Embed { Signals {...}, Events = id {...} }`. */
export interface EmbedDescriptor {
  signals?: SignalParm[];
  events?: EventsDescriptor;
}

export type NotifyBehaviour =
  { kind: 'immediate' } | { kind: 'never' } | { kind: 'regulated'; embed?: EmbedDescriptor };

export type SignalParm = SignalRequest | SignalList;

export interface SignalRequest {
  kind: 'signal';
  name: string;
  stream?: number;
  signalType?: SignalType;
  duration?: number;
  notifyCompletion?: NotificationReason[];
  keepActive?: true;
  /** v3 `SPADirection`. */
  direction?: SignalDirection;
  /** v3 `SPARequestID`. */
  requestId?: RequestId;
  /** v3 `Intersignal` delay. */
  intersignalDelay?: number;
  params?: PropertyParm[];
}

/** `SignalList = id { signal, ... }`. */
export interface SignalList {
  kind: 'list';
  id: number;
  signals: SignalRequest[];
}

export interface ObservedEventsDescriptor {
  requestId: RequestId;
  events: ObservedEvent[];
}

export interface ObservedEvent {
  name: string;
  /** `yyyymmddThhmmssss` as written (uppercase T). */
  timestamp?: string;
  stream?: number;
  params?: PropertyParm[];
}

/** An EventBuffer entry: an event name with its stream and parameters. */
export interface EventSpec {
  name: string;
  stream?: number;
  params?: PropertyParm[];
}

/** `DigitMap = name`, `DigitMap = { value }` or `DigitMap = name { value }`. */
export interface DigitMapDescriptor {
  name?: string;
  /** The digitMapValue with all whitespace and comments removed, e.g. `T:5,(0|00|[1-7]xxx)`. */
  value?: string;
}

export interface StatisticsParameter {
  name: string;
  /** `name = VALUE`. */
  value?: string;
  /** `name = [v1, v2]`. */
  values?: string[];
}

/** `name-version` of a Packages descriptor. */
export interface PackagesItem {
  name: string;
  version: number;
}

/** `Mux = type { terminationId, ... }`. */
export interface MuxDescriptor {
  /** `H221`, `H223`, `H226`, `V76`, `Nx64Kservice` or an extension, as written. */
  type: string;
  terminationIds: string[];
}

/** Deprecated Modem descriptor: `Modem = type` or `Modem [t1, t2]`, optional properties. */
export interface ModemDescriptor {
  types: string[];
  properties?: PropertyParm[];
}

export interface ErrorDescriptor {
  /** 1-4 digits. */
  code: number;
  /** The text inside the quotes, without them. */
  text?: string;
}

/** `Audit { ... }`. Both absent: `Audit {}` (audit nothing / all per command). */
export interface AuditDescriptor {
  items?: AuditItem[];
  /** v2+ individual audit descriptors. */
  indAud?: IndAudDescriptor[];
}

export type IndAudDescriptor =
  | { kind: 'media'; media: IndAudMedia }
  | { kind: 'events'; requestId?: RequestId; name: string }
  | { kind: 'eventBuffer'; name: string; stream?: number; param?: string }
  | { kind: 'signals'; signal?: SignalRequest; list?: { id: number; signal?: SignalRequest } }
  | { kind: 'digitMap'; name: string }
  | { kind: 'statistics'; name: string }
  | { kind: 'packages'; name: string; version: number };

export interface IndAudMedia {
  terminationState?: IndAudTerminationState;
  stream?: IndAudStreamParms;
  streams?: IndAudStreamDescriptor[];
}

export interface IndAudStreamParms {
  localControl?: IndAudLocalControl;
  local?: true;
  remote?: true;
  /** pkgdName of a statistic to audit. */
  statistics?: string;
}

export interface IndAudStreamDescriptor extends IndAudStreamParms {
  id: number;
}

export interface IndAudLocalControl {
  /** Bare `Mode`. */
  mode?: true;
  /** `Mode = x` / `Mode # x` selection. */
  modeSelect?: { relation: '=' | '!='; mode: StreamMode };
  reservedValue?: true;
  reservedGroup?: true;
  properties?: AuditProperty[];
}

export interface IndAudTerminationState {
  /** Bare `ServiceStates`. */
  serviceStates?: true;
  serviceStatesSelect?: { relation: '=' | '!='; state: ServiceState };
  /** Bare `Buffer`. */
  bufferControl?: true;
  properties?: AuditProperty[];
}

/** ServiceChangeAddress: an mId or just a port. */
export type ServiceChangeAddress = MId | { kind: 'port'; port: number };

/**
 * `Services { ... }` of a ServiceChange request (Method and Reason required there) and of its reply
 * (address, MgcIdToTry, profile, version, timestamp).
 */
export interface ServiceChangeParms {
  method?: ServiceChangeMethod;
  /** The reason text without quotes: `901 Cold Boot` (always written quoted). */
  reason?: string;
  delay?: number;
  address?: ServiceChangeAddress;
  /** `Profile = name/version`. */
  profile?: { name: string; version: number };
  version?: number;
  mgcIdToTry?: MId;
  /** `yyyymmddThhmmssss`. */
  timestamp?: string;
  /** v3 `ServiceChangeInc`. */
  incomplete?: true;
  /** `X-name = value` extensions. */
  extensions?: PropertyParm[];
  /** v2 audit items in a ServiceChange. */
  auditItems?: AuditItem[];
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** The text of a VALUE: a quoted string without its quotes, anything else as is. */
export function unquote(value: string): string {
  return value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34
    ? value.slice(1, -1)
    : value;
}

/**
 * `text` as a quotedString VALUE. A double quote cannot be written inside one (H.248.1 Annex B), so
 * it becomes `'`; line ends become spaces.
 */
export function quote(text: string): string {
  return `"${sanitizeQuoted(text)}"`;
}

/** Makes text safe to put between double quotes (no `"`, no CR/LF or other control characters). */
export function sanitizeQuoted(text: string): string {
  let bad = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 || (c < 32 && c !== 9) || c === 127) {
      bad = true;
      break;
    }
  }
  if (!bad) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += c === 34 ? "'" : (c < 32 && c !== 9) || c === 127 ? ' ' : text[i];
  }
  return out;
}

/** True for a quoted VALUE (`"..."`). */
export function isQuoted(value: string): boolean {
  return value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34;
}

/** The style replies to `request` must use: the request's own (pretty when unknown). */
export function replyStyleOf(request: Pick<Message, 'style'>): EncodingStyle {
  return request.style ?? 'pretty';
}
