/**
 * The packages trgwd implements, as data. Ids and versions are IANA's (STANDARDS §2). Item names and
 * types come from H.248.1 Annex E where public ([V] in STANDARDS), from the Wireshark text dissector
 * for ds/gm/tman/ipdc, and otherwise from PROFILE.md, which settles for this project the names the
 * public material leaves open. Everything marked `provisional` is such a reading: a deployment whose
 * controller spells an item differently maps it with `h248.aliases` (see registry.ts).
 *
 * Not registered: rtcph (H.248.57, the base of gm), whose item list is not available here; gm's
 * `extends` names it, but no rtcph item resolves through gm.
 */
import type { PackageDef, ParameterDef, ValueType } from './types.js';

const BOOL: ValueType = { kind: 'boolean' };
const STRING: ValueType = { kind: 'string' };
const UINT: ValueType = { kind: 'integer', min: 0 };
const PORT: ValueType = { kind: 'integer', min: 0, max: 65535 };
/** Counters and durations (H.248.1 gives them as "double"; values are whole numbers in practice). */
const COUNT: ValueType = { kind: 'double', min: 0 };
const DIR_IN_OUT: ValueType = { kind: 'enum', values: ['in', 'out'] };

const addrPortObserved = (what: string): ParameterDef[] => [
  { name: 'addr', type: STRING, description: `${what} IP address`, provisional: true },
  { name: 'port', type: PORT, description: `${what} port`, provisional: true },
];

/** Generic package, H.248.1 E.1. */
export const g: PackageDef = {
  name: 'g',
  id: 0x0001,
  version: 2,
  spec: 'ITU-T H.248.1 Annex E.1',
  description: 'Generic',
  events: [
    {
      name: 'cause',
      id: 0x0001,
      description: 'General failure cause of a bearer or termination',
      observed: [
        {
          name: 'Generalcause',
          id: 0x0001,
          type: { kind: 'enum', values: ['NR', 'UR', 'FT', 'FP', 'IW', 'UN'] },
          description:
            'NR normal release, UR unavailable resources, FT failure temporary, FP failure permanent, IW interworking error, UN unsupported',
        },
        { name: 'Failurecause', id: 0x0002, type: STRING, description: 'Failure cause text' },
      ],
    },
    {
      name: 'sc',
      id: 0x0002,
      description: 'Signal completion',
      observed: [
        { name: 'SigID', id: 0x0001, type: STRING, description: 'The signal that completed' },
        {
          name: 'Meth',
          id: 0x0002,
          type: { kind: 'enum', values: ['TO', 'EM', 'SD', 'NC', 'PI'] },
          description: 'Termination method: timeout, event, new Signals descriptor, not completed, iteration',
        },
        { name: 'SLID', id: 0x0003, type: UINT, description: 'Signal list id' },
        { name: 'RID', id: 0x0004, type: UINT, description: 'Request id' },
      ],
    },
  ],
};

/** Base root package, H.248.1 E.2 (property ids from Erlang/OTP megaco, STANDARDS §1.4). */
export const root: PackageDef = {
  name: 'root',
  id: 0x0002,
  version: 2,
  spec: 'ITU-T H.248.1 Annex E.2',
  description: 'Base root: gateway capacity and transaction timers (values come from the config)',
  properties: [
    {
      name: 'maxNumberOfContexts',
      id: 0x0001,
      type: { kind: 'integer', min: 1 },
      where: ['ROOT'],
      readOnly: true,
      description: 'Maximum number of contexts at any time (E.2 types it double; whole numbers here)',
    },
    {
      name: 'maxTerminationsPerContext',
      id: 0x0002,
      type: { kind: 'integer', min: 1 },
      where: ['ROOT'],
      readOnly: true,
      description: 'Maximum number of terminations in one context',
    },
    {
      name: 'normalMGExecutionTime',
      id: 0x0003,
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'Time the MGC expects the MG to need to answer a transaction',
    },
    {
      name: 'normalMGCExecutionTime',
      id: 0x0004,
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'Time the MG expects the MGC to need to answer a transaction',
    },
    {
      name: 'MGProvisionalResponseTimerValue',
      id: 0x0005,
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'Time after which the MG sends Pending for a transaction still running',
    },
    {
      name: 'MGCProvisionalResponseTimerValue',
      id: 0x0006,
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'Time after which the MGC sends Pending',
    },
    {
      name: 'MGCOriginatedPendingLimit',
      id: 0x0007,
      type: { kind: 'integer', min: 1 },
      where: ['ROOT'],
      description: 'Pending replies the MG accepts for one MGC transaction before giving up',
    },
    {
      name: 'MGOriginatedPendingLimit',
      id: 0x0008,
      type: { kind: 'integer', min: 1 },
      where: ['ROOT'],
      description: 'Pending the MG may send for one transaction before answering 506',
    },
  ],
};

/** Network package, H.248.1 E.11. */
export const nt: PackageDef = {
  name: 'nt',
  id: 0x000b,
  version: 1,
  spec: 'ITU-T H.248.1 Annex E.11',
  description: 'Network: jitter buffer, network failure, quality alert, octet statistics',
  properties: [
    {
      name: 'jit',
      id: 0x0007,
      type: UINT,
      unit: 'ms',
      where: ['LocalControl'],
      description: 'Maximum jitter buffer',
    },
  ],
  events: [
    {
      name: 'netfail',
      id: 0x0005,
      description: 'Network failure',
      observed: [{ name: 'cs', id: 0x0001, type: STRING, description: 'Failure cause' }],
    },
    {
      name: 'qualert',
      id: 0x0006,
      description: 'Quality alert (also used for media inactivity)',
      parameters: [
        {
          name: 'th',
          id: 0x0001,
          type: { kind: 'integer', min: 0, max: 99 },
          description: 'Threshold, percent',
        },
      ],
      observed: [
        {
          name: 'th',
          id: 0x0001,
          type: { kind: 'integer', min: 0, max: 99 },
          description: 'Threshold, percent',
        },
      ],
    },
  ],
  statistics: [
    {
      name: 'dur',
      id: 0x0001,
      type: COUNT,
      unit: 'ms',
      description: 'Time the termination has been in the context',
    },
    { name: 'os', id: 0x0002, type: COUNT, unit: 'octets', description: 'Octets sent' },
    { name: 'or', id: 0x0003, type: COUNT, unit: 'octets', description: 'Octets received' },
  ],
};

/** RTP package, H.248.1 E.12; extends nt. */
export const rtp: PackageDef = {
  name: 'rtp',
  id: 0x000c,
  version: 2,
  extends: { name: 'nt', version: 1 },
  spec: 'ITU-T H.248.1 Annex E.12',
  description: 'RTP: payload transitions and RTP statistics',
  events: [
    {
      name: 'pltrans',
      id: 0x0001,
      description: 'RTP payload type changed',
      observed: [
        {
          name: 'rtppltype',
          id: 0x01,
          type: { kind: 'list', of: { kind: 'integer', min: 0, max: 127 } },
          description: 'New payload type(s)',
        },
      ],
    },
  ],
  statistics: [
    { name: 'ps', id: 0x0004, type: COUNT, unit: 'packets', description: 'RTP packets sent' },
    { name: 'pr', id: 0x0005, type: COUNT, unit: 'packets', description: 'RTP packets received' },
    {
      name: 'pl',
      id: 0x0006,
      type: { kind: 'double', min: 0, max: 100 },
      unit: '%',
      description: 'Packet loss rate',
    },
    { name: 'jit', id: 0x0007, type: COUNT, unit: 'ms', description: 'Interarrival jitter (RFC 3550)' },
    { name: 'delay', id: 0x0008, type: COUNT, unit: 'timestamp units', description: 'Average latency' },
  ],
};

/** Inactivity timer, H.248.14 (on ROOT: is the controller still there?). */
export const it: PackageDef = {
  name: 'it',
  id: 0x0045,
  version: 1,
  spec: 'ITU-T H.248.14',
  description: 'Inactivity timer (ROOT): no message from the controller for `mit`',
  events: [
    {
      name: 'ito',
      id: 0x0001,
      description: 'Inactivity timeout',
      parameters: [
        {
          name: 'mit',
          id: 0x0001,
          type: UINT,
          unit: 'ms',
          // PROFILE.md §10 says ms; H.248.14 may count in 10 ms units: check before relying on it.
          provisional: true,
          description: 'Maximum inactivity time',
        },
      ],
    },
  ],
};

/** Differentiated services, H.248.52. */
export const ds: PackageDef = {
  name: 'ds',
  id: 0x008b,
  version: 2,
  spec: 'ITU-T H.248.52 (ex ETSI TS 102 333 Annex A)',
  description: 'DSCP marking of sent media',
  properties: [
    {
      name: 'dscp',
      type: { kind: 'integer', min: 0, max: 63, hex: true },
      where: ['LocalControl'],
      description: 'DSCP of sent packets: decimal (46) or hex (0x2e, 2e); value syntax not verified',
      provisional: true,
    },
  ],
};

/** Gate management, H.248.43: source filtering. */
export const gm: PackageDef = {
  name: 'gm',
  id: 0x008c,
  version: 2,
  extends: { name: 'rtcph', version: 1 },
  spec: 'ITU-T H.248.43 (ex ETSI TS 102 333 Annex B)',
  description: 'Gate management: source address and port filtering',
  properties: [
    {
      name: 'saf',
      type: BOOL,
      default: false,
      where: ['LocalControl'],
      description: 'Source address filtering',
    },
    {
      name: 'sam',
      type: STRING,
      where: ['LocalControl'],
      description: 'Source address mask (address the filter admits)',
      provisional: true,
    },
    {
      name: 'spf',
      type: BOOL,
      default: false,
      where: ['LocalControl'],
      description: 'Source port filtering',
    },
    {
      name: 'spr',
      type: STRING,
      where: ['LocalControl'],
      description: 'Remote source port range admitted',
      provisional: true,
    },
    {
      name: 'esas',
      type: STRING,
      where: ['LocalControl'],
      supported: false,
      description: 'Explicit source address setting',
    },
    {
      name: 'lsa',
      type: STRING,
      where: ['LocalControl'],
      supported: false,
      description: 'Local source address',
    },
    {
      name: 'esps',
      type: STRING,
      where: ['LocalControl'],
      supported: false,
      description: 'Explicit source port setting',
    },
    {
      name: 'lsp',
      type: STRING,
      where: ['LocalControl'],
      supported: false,
      description: 'Local source port',
    },
    {
      name: 'rsb',
      type: STRING,
      where: ['LocalControl'],
      supported: false,
      description: 'RTCP allocation specific behaviour',
    },
  ],
};

/** Traffic management, H.248.53: policing. */
export const tman: PackageDef = {
  name: 'tman',
  id: 0x008d,
  version: 2,
  spec: 'ITU-T H.248.53 (ex ETSI TS 102 333 Annex C)',
  description: 'Traffic management: token-bucket policing of received packets',
  properties: [
    { name: 'pol', type: BOOL, default: false, where: ['LocalControl'], description: 'Policing on/off' },
    {
      name: 'sdr',
      type: UINT,
      unit: 'bytes/s',
      where: ['LocalControl'],
      description: 'Sustainable data rate',
    },
    { name: 'mbs', type: UINT, unit: 'bytes', where: ['LocalControl'], description: 'Maximum burst size' },
    { name: 'pdr', type: UINT, unit: 'bytes/s', where: ['LocalControl'], description: 'Peak data rate' },
    {
      name: 'dvt',
      type: UINT,
      unit: 'us',
      where: ['LocalControl'],
      description: 'Delay variation tolerance (unit not verified)',
      provisional: true,
    },
  ],
};

/** Traffic management statistics, H.248.53. Statistic names are provisional. */
export const tmanr: PackageDef = {
  name: 'tmanr',
  id: 0x00c8,
  version: 2,
  extends: { name: 'tman', version: 2 },
  spec: 'ITU-T H.248.53',
  description: "Policing statistics (names are this project's: H.248.53 item list not available)",
  provisional: true,
  statistics: [
    {
      name: 'dp',
      type: COUNT,
      unit: 'packets',
      description: 'Packets dropped by the policer',
      provisional: true,
    },
    {
      name: 'do',
      type: COUNT,
      unit: 'octets',
      description: 'Octets dropped by the policer',
      provisional: true,
    },
  ],
};

/** Termination heartbeat, H.248.36. */
export const hangterm: PackageDef = {
  name: 'hangterm',
  id: 0x0098,
  version: 1,
  spec: 'ITU-T H.248.36',
  description: 'Hanging termination detection: periodic heartbeat Notify per termination',
  events: [
    {
      name: 'thb',
      id: 0x0001,
      description: 'Termination heartbeat',
      parameters: [
        { name: 'timerx', type: UINT, unit: 's', description: 'Heartbeat period', provisional: true },
      ],
    },
  ],
};

/** NAT traversal (latching), H.248.37. */
export const ipnapt: PackageDef = {
  name: 'ipnapt',
  id: 0x0099,
  version: 1,
  spec: 'ITU-T H.248.37',
  description: 'IP NAPT traversal: latching and re-latching',
  provisional: true,
  properties: [
    {
      name: 'latch',
      type: BOOL,
      default: false,
      where: ['LocalControl'],
      description: 'Send to the source of the first packet received',
      provisional: true,
    },
    {
      name: 'rlatch',
      type: BOOL,
      default: false,
      where: ['LocalControl'],
      description: 'Move to a new source whose packets pass the stream checks',
      provisional: true,
    },
  ],
};

/** Application data inactivity detection, H.248.40. Item names are provisional. */
export const adid: PackageDef = {
  name: 'adid',
  id: 0x009c,
  version: 1,
  spec: 'ITU-T H.248.40',
  description: 'Application data inactivity detection (media stopped)',
  provisional: true,
  events: [
    {
      name: 'ipstop',
      description: 'No media for the detection time',
      provisional: true,
      parameters: [
        { name: 'dt', type: UINT, unit: 'ms', description: 'Detection time', provisional: true },
        {
          name: 'dir',
          type: { kind: 'enum', values: ['in', 'out', 'both'] },
          default: 'in',
          description: 'Direction watched',
          provisional: true,
        },
      ],
    },
  ],
};

/** IP domain connection, H.248.41: realm selection. */
export const ipdc: PackageDef = {
  name: 'ipdc',
  id: 0x009d,
  version: 2,
  spec: 'ITU-T H.248.41',
  description: 'IP realm of a termination',
  properties: [
    {
      name: 'realm',
      type: { kind: 'string', maxLength: 64 },
      where: ['LocalControl', 'TerminationState'],
      description:
        'IP realm identifier (a configured realm name; unknown names are 449 in the command layer)',
    },
  ],
};

/** Segmentation, H.248.1 v3. Property names are provisional. */
export const seg: PackageDef = {
  name: 'seg',
  id: 0x00a3,
  version: 1,
  spec: 'ITU-T H.248.1 v3 (segmentation package)',
  description: 'Message segmentation timers and PDU sizes (ROOT)',
  provisional: true,
  properties: [
    {
      name: 'MGSegmentationTimer',
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'MG waits this long for missing segments',
      provisional: true,
    },
    {
      name: 'MGCSegmentationTimer',
      type: UINT,
      unit: 'ms',
      where: ['ROOT'],
      description: 'MGC segmentation timer',
      provisional: true,
    },
    {
      name: 'MGMaxPDUSize',
      type: { kind: 'integer', min: 1 },
      unit: 'bytes',
      where: ['ROOT'],
      description: 'Largest message the MG receives',
      provisional: true,
    },
    {
      name: 'MGCMaxPDUSize',
      type: { kind: 'integer', min: 1 },
      unit: 'bytes',
      where: ['ROOT'],
      description: 'Largest message the MGC receives',
      provisional: true,
    },
  ],
};

/** Address reporting, H.248.37; extends ipnapt. */
export const adr: PackageDef = {
  name: 'adr',
  id: 0x00ac,
  version: 1,
  extends: { name: 'ipnapt', version: 1 },
  spec: 'ITU-T H.248.37',
  description: 'Address reporting: the latched remote address changed',
  provisional: true,
  events: [
    {
      name: 'ipcha',
      description: 'Latched remote address changed',
      provisional: true,
      observed: addrPortObserved('New remote'),
    },
  ],
};

/** MSRP statistics, H.248.69. Statistic names are provisional. */
export const msrpstat: PackageDef = {
  name: 'msrpstat',
  id: 0x00ea,
  version: 1,
  spec: 'ITU-T H.248.69',
  description: "MSRP statistics (names are this project's: H.248.69 item list not available)",
  provisional: true,
  statistics: [
    { name: 'ms', type: COUNT, unit: 'messages', description: 'MSRP requests sent', provisional: true },
    { name: 'mr', type: COUNT, unit: 'messages', description: 'MSRP requests received', provisional: true },
    { name: 'bs', type: COUNT, unit: 'bytes', description: 'MSRP bytes sent', provisional: true },
    { name: 'br', type: COUNT, unit: 'bytes', description: 'MSRP bytes received', provisional: true },
  ],
};

/** SRTP, H.248.77: a minimal, provisional set (keys travel in SDP a=crypto, PROFILE §4). */
export const srtp: PackageDef = {
  name: 'srtp',
  id: 0x0107,
  version: 1,
  spec: 'ITU-T H.248.77',
  description: 'Secure RTP: rekey warning and protection failure counters (provisional item set)',
  provisional: true,
  events: [
    {
      name: 'rekey',
      description: 'A master key nears the end of its lifetime: the controller should rekey',
      provisional: true,
      observed: [
        { name: 'dir', type: DIR_IN_OUT, description: 'Direction whose key ends', provisional: true },
      ],
    },
  ],
  statistics: [
    {
      name: 'af',
      type: COUNT,
      unit: 'packets',
      description: 'Packets dropped: authentication failed',
      provisional: true,
    },
    {
      name: 'rf',
      type: COUNT,
      unit: 'packets',
      description: 'Packets dropped: replay check failed',
      provisional: true,
    },
  ],
};

/** TCP hole punching (simultaneous open), H.248.84. Names settled in PROFILE §5. */
export const tcphp: PackageDef = {
  name: 'tcphp',
  id: 0x010e,
  version: 1,
  spec: 'ITU-T H.248.84',
  description: 'TCP simultaneous open for peers behind NAT',
  provisional: true,
  properties: [
    {
      name: 'so',
      type: BOOL,
      default: false,
      where: ['LocalControl'],
      description: 'Simultaneous open',
      provisional: true,
    },
    {
      name: 'to',
      type: UINT,
      default: 10000,
      unit: 'ms',
      where: ['LocalControl'],
      description: 'How long to keep trying to connect',
      provisional: true,
    },
  ],
};

/** TCP traffic volume metrics, H.248.84. Statistic names are provisional. */
export const tcptv: PackageDef = {
  name: 'tcptv',
  id: 0x010f,
  version: 1,
  spec: 'ITU-T H.248.84',
  description: "TCP traffic volume (names are this project's: H.248.84 item list not available)",
  provisional: true,
  statistics: [
    { name: 'bs', type: COUNT, unit: 'bytes', description: 'TCP payload bytes sent', provisional: true },
    { name: 'br', type: COUNT, unit: 'bytes', description: 'TCP payload bytes received', provisional: true },
  ],
};

/** TCP basic connection control, H.248.89. Names settled in PROFILE §5. */
export const tcpbcc: PackageDef = {
  name: 'tcpbcc',
  id: 0x0115,
  version: 1,
  spec: 'ITU-T H.248.89',
  description: 'TCP bearer control: delayed establishment, connection events',
  provisional: true,
  properties: [
    {
      name: 'dly',
      type: BOOL,
      default: true,
      where: ['LocalControl'],
      description: 'Delayed establishment: connect out only once the other leg is up',
      provisional: true,
    },
  ],
  events: [
    {
      name: 'est',
      description: 'TCP connection established',
      provisional: true,
      observed: [
        { name: 'dir', type: DIR_IN_OUT, description: 'in: accepted, out: connected', provisional: true },
        ...addrPortObserved('Peer'),
      ],
    },
    {
      name: 'fail',
      description: 'TCP connection could not be established',
      provisional: true,
      observed: [
        { name: 'cause', type: STRING, description: 'Why (refused, timeout, ...)', provisional: true },
      ],
    },
    {
      name: 'rel',
      description: 'TCP connection released',
      provisional: true,
      observed: [
        {
          name: 'cause',
          type: { kind: 'enum', values: ['fin', 'rst', 'timeout', 'local'] },
          description: 'How it ended',
          provisional: true,
        },
      ],
    },
  ],
  signals: [
    {
      name: 'estab',
      signalType: 'BR',
      description: 'Start an establishment that was held',
      provisional: true,
    },
  ],
};

/** TLS basic session control, H.248.90. Names settled in PROFILE §7. */
export const tlsbsc: PackageDef = {
  name: 'tlsbsc',
  id: 0x0117,
  version: 1,
  spec: 'ITU-T H.248.90',
  description: 'TLS/DTLS session control: establishment signal and session events',
  provisional: true,
  events: [
    {
      name: 'est',
      description: 'TLS/DTLS session up',
      provisional: true,
      observed: [
        { name: 'resumed', type: BOOL, description: 'Abbreviated (resumed) handshake', provisional: true },
      ],
    },
    {
      name: 'fail',
      description: 'TLS/DTLS session could not be established or was aborted',
      provisional: true,
      observed: [
        {
          name: 'reason',
          type: { kind: 'enum', values: ['fingerprint', 'handshake', 'timeout', 'cert-change'] },
          description: 'Why',
          provisional: true,
        },
      ],
    },
    { name: 'rel', description: 'TLS/DTLS session released', provisional: true },
  ],
  signals: [
    { name: 'estab', signalType: 'BR', description: 'Start a held client handshake', provisional: true },
  ],
};

/** TLS session maintenance, H.248.90. Names settled in PROFILE §7. */
export const tlsm: PackageDef = {
  name: 'tlsm',
  id: 0x0119,
  version: 1,
  spec: 'ITU-T H.248.90',
  description: 'TLS session maintenance: renegotiation policy',
  provisional: true,
  properties: [
    {
      name: 'rcc',
      type: { kind: 'enum', values: ['allow', 'deny'] },
      default: 'deny',
      where: ['LocalControl'],
      description: 'Renegotiation that changes the peer certificate: allow or abort',
      provisional: true,
    },
  ],
};

/** TLS traffic volume metrics, H.248.90. Statistic names are provisional. */
export const tlstv: PackageDef = {
  name: 'tlstv',
  id: 0x011a,
  version: 1,
  spec: 'ITU-T H.248.90',
  description: "TLS traffic volume (names are this project's: H.248.90 item list not available)",
  provisional: true,
  statistics: [
    {
      name: 'bs',
      type: COUNT,
      unit: 'bytes',
      description: 'Application bytes sent through TLS',
      provisional: true,
    },
    {
      name: 'br',
      type: COUNT,
      unit: 'bytes',
      description: 'Application bytes received through TLS',
      provisional: true,
    },
  ],
};

/** Every package trgwd implements, in the order `packagesDescriptor()` lists them. */
export const PACKAGES: readonly PackageDef[] = [
  g,
  root,
  nt,
  rtp,
  it,
  ds,
  gm,
  tman,
  tmanr,
  hangterm,
  ipnapt,
  adid,
  ipdc,
  seg,
  adr,
  msrpstat,
  srtp,
  tcphp,
  tcptv,
  tcpbcc,
  tlsbsc,
  tlsm,
  tlstv,
];
