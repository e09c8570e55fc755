/**
 * H.248.1 text tokens (long "pretty" and short "compact" forms, versions 1-3) and the character
 * classes of Annex B.
 *
 * Keyword lookup is allocation-free: a case-folding FNV-1a hash of the characters in the input
 * string, an open-addressed table, then a character-by-character check. Every keyword spelling is
 * made of letters, digits, `!` and `&`, so `c | 0x20` folds case exactly for the comparison.
 */

/** Keyword ids (0 = not a keyword). */
export const KW = {
  Add: 1,
  Audit: 2,
  AuditCap: 3,
  AuditValue: 4,
  Auth: 5,
  Both: 6,
  Bothway: 7,
  Brief: 8,
  Buffer: 9,
  Ctx: 10,
  ContextAudit: 11,
  ContextAttr: 12,
  ContextList: 13,
  DigitMap: 14,
  Direction: 15,
  Discard: 16,
  Disconnected: 17,
  Delay: 18,
  Duration: 19,
  Embed: 20,
  Emergency: 21,
  EmergencyOff: 22,
  EmergencyValue: 23,
  Error: 24,
  EventBuffer: 25,
  Events: 26,
  External: 27,
  Failover: 28,
  Forced: 29,
  Graceful: 30,
  H221: 31,
  H223: 32,
  H226: 33,
  HandOff: 34,
  IEPS: 35,
  ImmAckRequired: 36,
  Inactive: 37,
  Internal: 38,
  IntsigDelay: 39,
  InterruptByEvent: 40,
  InterruptByNewSignals: 41,
  Isolate: 42,
  InSvc: 43,
  Iteration: 44,
  KeepActive: 45,
  Local: 46,
  LocalControl: 47,
  LockStep: 48,
  Loopback: 49,
  Media: 50,
  Megacop: 51,
  MessageSegment: 52,
  Method: 53,
  MgcId: 54,
  Mode: 55,
  Modify: 56,
  Modem: 57,
  Move: 58,
  Mtp: 59,
  Mux: 60,
  NeverNotify: 61,
  Notify: 62,
  NotifyCompletion: 63,
  NotifyImmediate: 64,
  NotifyRegulated: 65,
  Nx64k: 66,
  ObservedEvents: 67,
  Off: 68,
  Oneway: 69,
  OnewayBoth: 70,
  OnewayExternal: 71,
  OnOff: 72,
  OrAuditSelect: 73,
  AndAuditSelect: 74,
  On: 75,
  OtherReason: 76,
  OutOfSvc: 77,
  Packages: 78,
  Pending: 79,
  Priority: 80,
  Profile: 81,
  Reason: 82,
  Recvonly: 83,
  Reply: 84,
  ResetEventsDescriptor: 85,
  Restart: 86,
  Remote: 87,
  RequestID: 88,
  ReservedGroup: 89,
  ReservedValue: 90,
  SegmentationComplete: 91,
  Sendonly: 92,
  Sendrecv: 93,
  Services: 94,
  ServiceStates: 95,
  ServiceChange: 96,
  ServiceChangeAddress: 97,
  ServiceChangeInc: 98,
  SignalList: 99,
  Signals: 100,
  SignalType: 101,
  Stats: 102,
  Stream: 103,
  Subtract: 104,
  SynchISDN: 105,
  TerminationState: 106,
  Test: 107,
  TimeOut: 108,
  Topology: 109,
  Trans: 110,
  ResponseAck: 111,
  V18: 112,
  V22: 113,
  V22bis: 114,
  V32: 115,
  V32bis: 116,
  V34: 117,
  V76: 118,
  V90: 119,
  V91: 120,
  Version: 121,
} as const;

export type KeywordId = (typeof KW)[keyof typeof KW];

/** [id, pretty spelling, compact spelling, ...other accepted spellings]. */
const TABLE: readonly (readonly [number, string, string, ...string[]])[] = [
  [KW.Add, 'Add', 'A'],
  [KW.Audit, 'Audit', 'AT'],
  [KW.AuditCap, 'AuditCapability', 'AC', 'AuditCapabilities'],
  [KW.AuditValue, 'AuditValue', 'AV'],
  [KW.Auth, 'Authentication', 'AU'],
  [KW.Both, 'Both', 'B'],
  [KW.Bothway, 'Bothway', 'BW'],
  [KW.Brief, 'Brief', 'BR'],
  [KW.Buffer, 'Buffer', 'BF'],
  [KW.Ctx, 'Context', 'C'],
  [KW.ContextAudit, 'ContextAudit', 'CA'],
  [KW.ContextAttr, 'ContextAttr', 'CT'],
  [KW.ContextList, 'ContextList', 'CLT'],
  [KW.DigitMap, 'DigitMap', 'DM'],
  [KW.Direction, 'SPADirection', 'SPADI', 'Direction', 'DI'],
  [KW.Discard, 'Discard', 'DS'],
  [KW.Disconnected, 'Disconnected', 'DC'],
  [KW.Delay, 'Delay', 'DL'],
  [KW.Duration, 'Duration', 'DR'],
  [KW.Embed, 'Embed', 'EM'],
  [KW.Emergency, 'Emergency', 'EG'],
  [KW.EmergencyOff, 'EmergencyOff', 'EGO', 'EmergencyOffToken'],
  [KW.EmergencyValue, 'EmergencyValue', 'EGV'],
  [KW.Error, 'Error', 'ER'],
  [KW.EventBuffer, 'EventBuffer', 'EB'],
  [KW.Events, 'Events', 'E'],
  [KW.External, 'External', 'EX'],
  [KW.Failover, 'Failover', 'FL'],
  [KW.Forced, 'Forced', 'FO'],
  [KW.Graceful, 'Graceful', 'GR'],
  [KW.H221, 'H221', 'H221'],
  [KW.H223, 'H223', 'H223'],
  [KW.H226, 'H226', 'H226'],
  [KW.HandOff, 'HandOff', 'HO'],
  [KW.IEPS, 'IEPSCall', 'IEPS'],
  [KW.ImmAckRequired, 'ImmAckRequired', 'IA'],
  [KW.Inactive, 'Inactive', 'IN'],
  [KW.Internal, 'Internal', 'IT'],
  [KW.IntsigDelay, 'Intersignal', 'SPAIS', 'SPAIntsigDelay'],
  [KW.InterruptByEvent, 'IntByEvent', 'IBE'],
  [KW.InterruptByNewSignals, 'IntBySigDescr', 'IBS'],
  [KW.Isolate, 'Isolate', 'IS'],
  [KW.InSvc, 'InService', 'IV'],
  [KW.Iteration, 'Iteration', 'IR'],
  [KW.KeepActive, 'KeepActive', 'KA'],
  [KW.Local, 'Local', 'L'],
  [KW.LocalControl, 'LocalControl', 'O'],
  [KW.LockStep, 'LockStep', 'SP'],
  [KW.Loopback, 'Loopback', 'LB'],
  [KW.Media, 'Media', 'M'],
  [KW.Megacop, 'MEGACO', '!'],
  [KW.MessageSegment, 'Segment', 'SM'],
  [KW.Method, 'Method', 'MT'],
  [KW.MgcId, 'MgcIdToTry', 'MG'],
  [KW.Mode, 'Mode', 'MO'],
  [KW.Modify, 'Modify', 'MF'],
  [KW.Modem, 'Modem', 'MD'],
  [KW.Move, 'Move', 'MV'],
  [KW.Mtp, 'MTP', 'MTP'],
  [KW.Mux, 'Mux', 'MX'],
  [KW.NeverNotify, 'NeverNotify', 'NBNN'],
  [KW.Notify, 'Notify', 'N'],
  [KW.NotifyCompletion, 'NotifyCompletion', 'NC'],
  [KW.NotifyImmediate, 'ImmediateNotify', 'NBIN'],
  [KW.NotifyRegulated, 'RegulatedNotify', 'NBRN'],
  [KW.Nx64k, 'Nx64Kservice', 'N64'],
  [KW.ObservedEvents, 'ObservedEvents', 'OE'],
  [KW.Off, 'OFF', 'OFF'],
  [KW.Oneway, 'Oneway', 'OW'],
  [KW.OnewayBoth, 'OnewayBoth', 'OWB'],
  [KW.OnewayExternal, 'OnewayExternal', 'OWE'],
  [KW.OnOff, 'OnOff', 'OO'],
  [KW.OrAuditSelect, 'ORLgc', 'ORLgc'],
  [KW.AndAuditSelect, 'ANDLgc', 'ANDLgc', 'ANSLgc'],
  [KW.On, 'ON', 'ON'],
  [KW.OtherReason, 'OtherReason', 'OR'],
  [KW.OutOfSvc, 'OutOfService', 'OS'],
  [KW.Packages, 'Packages', 'PG'],
  [KW.Pending, 'Pending', 'PN'],
  [KW.Priority, 'Priority', 'PR'],
  [KW.Profile, 'Profile', 'PF'],
  [KW.Reason, 'Reason', 'RE'],
  [KW.Recvonly, 'ReceiveOnly', 'RC'],
  [KW.Reply, 'Reply', 'P'],
  [KW.ResetEventsDescriptor, 'ResetEventsDescriptor', 'RSE'],
  [KW.Restart, 'Restart', 'RS'],
  [KW.Remote, 'Remote', 'R'],
  [KW.RequestID, 'SPARequestID', 'SPARQ', 'RequestID', 'RQ'],
  [KW.ReservedGroup, 'ReservedGroup', 'RG'],
  [KW.ReservedValue, 'ReservedValue', 'RV'],
  [KW.SegmentationComplete, 'END', '&'],
  [KW.Sendonly, 'SendOnly', 'SO'],
  [KW.Sendrecv, 'SendReceive', 'SR'],
  [KW.Services, 'Services', 'SV'],
  [KW.ServiceStates, 'ServiceStates', 'SI'],
  [KW.ServiceChange, 'ServiceChange', 'SC'],
  [KW.ServiceChangeAddress, 'ServiceChangeAddress', 'AD'],
  [KW.ServiceChangeInc, 'ServiceChangeInc', 'SIC'],
  [KW.SignalList, 'SignalList', 'SL'],
  [KW.Signals, 'Signals', 'SG'],
  [KW.SignalType, 'SignalType', 'SY'],
  [KW.Stats, 'Statistics', 'SA'],
  [KW.Stream, 'Stream', 'ST'],
  [KW.Subtract, 'Subtract', 'S'],
  [KW.SynchISDN, 'SynchISDN', 'SN'],
  [KW.TerminationState, 'TerminationState', 'TS'],
  [KW.Test, 'Test', 'TE'],
  [KW.TimeOut, 'TimeOut', 'TO'],
  [KW.Topology, 'Topology', 'TP'],
  [KW.Trans, 'Transaction', 'T'],
  [KW.ResponseAck, 'TransactionResponseAck', 'K'],
  [KW.V18, 'V18', 'V18'],
  [KW.V22, 'V22', 'V22'],
  [KW.V22bis, 'V22b', 'V22b'],
  [KW.V32, 'V32', 'V32'],
  [KW.V32bis, 'V32b', 'V32b'],
  [KW.V34, 'V34', 'V34'],
  [KW.V76, 'V76', 'V76'],
  [KW.V90, 'V90', 'V90'],
  [KW.V91, 'V91', 'V91'],
  [KW.Version, 'Version', 'V'],
];

/** Pretty (long) spelling of each keyword id. */
export const PRETTY_TOKENS: readonly string[] = buildSpellings(1);
/** Compact (short) spelling of each keyword id. */
export const COMPACT_TOKENS: readonly string[] = buildSpellings(2);

function buildSpellings(col: 1 | 2): string[] {
  const out: string[] = [];
  for (const row of TABLE) out[row[0]] = row[col];
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = '';
  return out;
}

// --- character classes (Annex B) ------------------------------------------------------------

/** 1 for SafeChar (DIGIT / ALPHA / + - & ! _ / ' ? @ ^ ` ~ * $ \ ( ) % | .), else 0. ASCII only. */
export const SAFE = new Uint8Array(128);
{
  for (let c = 48; c <= 57; c++) SAFE[c] = 1;
  for (let c = 65; c <= 90; c++) SAFE[c] = 1;
  for (let c = 97; c <= 122; c++) SAFE[c] = 1;
  for (const ch of "+-&!_/'?@^`~*$\\()%|.") SAFE[ch.charCodeAt(0)] = 1;
}

/** True when every character of `s` is a SafeChar (and `s` is not empty). */
export function isSafeText(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || SAFE[c] === 0) return false;
  }
  return true;
}

// --- keyword lookup -------------------------------------------------------------------------

const TABLE_BITS = 10;
const TABLE_SIZE = 1 << TABLE_BITS;
const MASK = TABLE_SIZE - 1;
const slotHash = new Int32Array(TABLE_SIZE);
const slotId = new Uint8Array(TABLE_SIZE);
const slotText: string[] = new Array<string>(TABLE_SIZE).fill('');
/** Longest keyword spelling: longer words are never keywords. */
let maxKeywordLength = 0;

function foldHash(s: string, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  for (let i = start; i < end; i++) h = Math.imul(h ^ (s.charCodeAt(i) | 0x20), 0x01000193);
  return h | 0;
}

function insert(spelling: string, id: number): void {
  const lower = spelling.toLowerCase();
  const h = foldHash(lower, 0, lower.length);
  let i = (h ^ (h >>> 15)) & MASK;
  while (slotId[i] !== 0) {
    if (slotText[i] === lower) {
      if (slotId[i] !== id) throw new Error(`token clash: ${spelling}`);
      return;
    }
    i = (i + 1) & MASK;
  }
  slotHash[i] = h;
  slotId[i] = id;
  slotText[i] = lower;
  if (lower.length > maxKeywordLength) maxKeywordLength = lower.length;
}

for (const row of TABLE) for (let k = 1; k < row.length; k++) insert(row[k] as string, row[0]);

/**
 * The keyword spelled by `s[start, end)` (any case), or 0. Does not allocate.
 */
export function keywordAt(s: string, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len > maxKeywordLength) return 0;
  const h = foldHash(s, start, end);
  let i = (h ^ (h >>> 15)) & MASK;
  for (;;) {
    const id = slotId[i] as number;
    if (id === 0) return 0;
    if (slotHash[i] === h) {
      const t = slotText[i] as string;
      if (t.length === len) {
        let j = 0;
        while (j < len && (s.charCodeAt(start + j) | 0x20) === t.charCodeAt(j)) j++;
        if (j === len) return id;
      }
    }
    i = (i + 1) & MASK;
  }
}

/** The keyword spelled by `word` (any case), or 0. */
export function keywordOf(word: string): number {
  return keywordAt(word, 0, word.length);
}
