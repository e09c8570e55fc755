/**
 * The one schema of trgwd's configuration. `config/default.yaml` is the embedded default; every key
 * here has a documented default (docs/CONFIG.md is generated from this file by
 * `npm run docs:config`, and a test fails when the two disagree).
 *
 * Keys used by external test harnesses keep their names and meaning: mg.mid, mg.version, mg.profile,
 * control.listen, control.transports, control.controllers, media.realms, media.defaultRealm,
 * ops.listen, log.level.
 */
import {
  arr,
  bool,
  int,
  ipAddress,
  obj,
  oneOf,
  optStr,
  port,
  portRange,
  record,
  str,
  type Infer,
} from './schema-dsl.js';

const listen = (doc: string, address: string, portNo: number) =>
  obj(
    {
      address: ipAddress({ doc: 'Address to bind.', default: address }),
      port: port({ doc: 'Port to bind (0: any free port, for tests).', default: portNo }),
    },
    { doc },
  );

const controller = obj(
  {
    address: ipAddress({ doc: 'Controller (MGC) address; only configured controllers may send commands.' }),
    port: port({ doc: 'Controller H.248 port.', default: 2944, allowZero: false }),
    transport: oneOf(['udp', 'tcp'] as const, { doc: 'Transport used to reach this controller.', default: 'udp' }),
  },
  { doc: 'One controller.' },
);

const realm = obj(
  {
    address: ipAddress({ doc: 'Local address of this realm (media sockets bind here; returned in Local SDP).' }),
    ports: portRange({ doc: 'Port range for media of this realm; RTP takes even ports, RTCP the next odd one.' }),
    advertise: optStr({
      doc: 'Address written into SDP instead of `address` (e.g. a NAT or container host address).',
    }),
  },
  { doc: 'One IP realm (ipdc/realm).' },
);

export const configSchema = obj(
  {
    mg: obj(
      {
        mid: str({
          doc: 'Our H.248 message identifier (mId), e.g. `[192.0.2.10]:2944` or `<mg1.example.net>`.',
          default: '[127.0.0.1]:2944',
          nonEmpty: true,
        }),
        version: int({ doc: 'Highest H.248 protocol version we offer (1..3).', default: 3, min: 1, max: 3 }),
        profile: obj(
          {
            name: str({
              doc: 'ServiceChangeProfile name sent at registration.',
              default: 'trgw',
              pattern: /^[A-Za-z][A-Za-z0-9_]{0,63}$/,
              patternText: 'H.248 NAME (a letter, then up to 63 letters, digits or _)',
            }),
            version: int({ doc: 'ServiceChangeProfile version.', default: 1, min: 1, max: 99 }),
          },
          { doc: 'Profile announced at registration.' },
        ),
      },
      { doc: 'The media gateway itself.' },
    ),
    control: obj(
      {
        listen: listen('Where we receive H.248 (UDP and TCP/TPKT on the same address and port).', '127.0.0.1', 2944),
        transports: arr(oneOf(['udp', 'tcp'] as const, { doc: 'transport' }), {
          doc: 'Control transports to listen on.',
          default: ['udp', 'tcp'],
          minItems: 1,
        }),
        controllers: arr(controller, {
          doc: 'Controllers, tried in order at registration and failover; only these may send commands.',
          default: [{ address: '127.0.0.1', port: 2945, transport: 'udp' }],
          minItems: 1,
        }),
        encoding: oneOf(['pretty', 'compact'] as const, {
          doc: 'Text style of the requests we originate (replies always follow the request).',
          default: 'pretty',
        }),
        maxMessageBytes: int({
          doc: 'Largest H.248 message accepted (bytes); a larger UDP datagram is dropped and counted, a larger TCP message closes that connection.',
          default: 65535,
          min: 512,
          max: 16777216,
        }),
        maxUdpPayload: int({
          doc: 'Largest UDP datagram we send; v3 replies above it are segmented.',
          default: 1400,
          min: 256,
          max: 65507,
        }),
        maxTcpConnections: int({ doc: 'Concurrent TCP control connections accepted.', default: 64, min: 1 }),
        pendingLimit: int({
          doc: 'MGOriginatedPendingLimit: Pending messages sent for one transaction still running; past it the transaction is answered 506.',
          default: 10,
          min: 1,
        }),
        replyCacheMaxEntries: int({
          doc: 'Answered transactions remembered for duplicates (LONG-TIMER); the oldest are forgotten first beyond it.',
          default: 10000,
          min: 16,
        }),
        maxRedirects: int({ doc: 'MgcIdToTry redirections followed in a row at registration before trying the next controller.', default: 4, min: 0, max: 32 }),
        timers: obj(
          {
            longTimerMs: int({
              doc: 'LONG-TIMER: how long replies are kept to answer duplicates (H.248.1 D.1.1).',
              default: 30000,
              min: 1000,
              unit: 'ms',
            }),
            provisionalResponseMs: int({
              doc: 'MGProvisionalResponseTimerValue: send Pending when a transaction runs longer.',
              default: 1000,
              min: 10,
              unit: 'ms',
            }),
            initialRetransmitMs: int({ doc: 'First retransmission timeout of our requests (UDP).', default: 250, min: 10, unit: 'ms' }),
            maxRetransmitMs: int({ doc: 'Cap of the exponential retransmission back-off.', default: 4000, min: 100, unit: 'ms' }),
            tMaxMs: int({ doc: 'T-MAX: give up on a request (and declare the controller lost) after this.', default: 30000, min: 100, unit: 'ms' }),
            restartDelayMaxMs: int({
              doc: 'Maximum random wait before registering (restart avalanche, H.248.1 §9.2).',
              default: 1000,
              min: 0,
              unit: 'ms',
            }),
            registrationRetryMaxMs: int({ doc: 'Cap of the back-off between registration attempts.', default: 30000, min: 100, unit: 'ms' }),
            gracefulDelayS: int({ doc: 'Delay announced in the ServiceChange Graceful sent on shutdown.', default: 0, min: 0, unit: 's' }),
            gracefulReplyWaitMs: int({
              doc: 'How long shutdown waits for the answer to the ServiceChange Graceful.',
              default: 1000,
              min: 0,
              unit: 'ms',
            }),
            heartbeatDefaultS: int({
              doc: 'Termination heartbeat period (hangterm/thb) when the controller gives no timerx; 0: no heartbeat without timerx.',
              default: 0,
              min: 0,
              unit: 's',
            }),
          },
          { doc: 'Control-plane timers.' },
        ),
      },
      { doc: 'The H.248 control association.' },
    ),
    h248: obj(
      {
        aliases: record(str({ doc: 'canonical item' }), {
          doc: 'Item renames for controllers that spell items differently: `{ "pkg/theirs": "pkg/ours" }`.',
          default: {},
        }),
        limits: obj(
          {
            maxDepth: int({ doc: 'Deepest nesting of braces in a message.', default: 64, min: 8, max: 1024 }),
            maxTransactions: int({ doc: 'Transactions in one message.', default: 128, min: 1 }),
            maxActionsPerTransaction: int({ doc: 'Actions (contexts) in one transaction.', default: 128, min: 1 }),
            maxCommandsPerAction: int({ doc: 'Commands in one action.', default: 128, min: 1 }),
            maxDescriptorItems: int({ doc: 'Items in one descriptor or list.', default: 512, min: 8 }),
            maxSdpLines: int({ doc: 'Lines in one Local or Remote descriptor.', default: 512, min: 8 }),
            maxStringLength: int({ doc: 'Length of one quoted string, name or SDP line.', default: 4096, min: 64 }),
          },
          { doc: 'Codec limits: beyond them a message is rejected with a clear error.' },
        ),
      },
      { doc: 'H.248 text and package handling.' },
    ),
    media: obj(
      {
        realms: record(realm, {
          doc: 'IP realms (ipdc/realm names) → interface and port range.',
          default: {
            access: { address: '127.0.0.1', ports: [30000, 34999] },
            core: { address: '127.0.0.1', ports: [35000, 39999] },
          },
          keyPattern: /^[A-Za-z0-9_.-]{1,64}$/,
          minKeys: 1,
        }),
        defaultRealm: str({ doc: 'Realm used when LocalControl names none.', default: 'core' }),
      },
      { doc: 'Media plane.' },
    ),
    limits: obj(
      {
        maxContexts: int({ doc: 'Contexts at once (root/maxNumberOfContexts); beyond it Add answers 510.', default: 20000, min: 1 }),
        maxTerminationsPerContext: int({
          doc: 'Terminations in one context (root/maxTerminationsPerContext).',
          default: 3,
          min: 2,
          max: 64,
        }),
      },
      { doc: 'Gateway-wide resource limits.' },
    ),
    ops: obj(
      {
        listen: listen('Ops HTTP endpoint: /metrics, /healthz, /readyz and the /events WebSocket.', '127.0.0.1', 9464),
        enabled: bool({ doc: 'Serve the ops endpoint.', default: true }),
        maxEventClients: int({ doc: 'Concurrent /events WebSocket clients.', default: 32, min: 1 }),
        maxEventBufferBytes: int({
          doc: 'Bytes queued for one /events client before it is dropped as too slow.',
          default: 1048576,
          min: 4096,
        }),
      },
      { doc: 'Operations endpoint.' },
    ),
    log: obj(
      {
        level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
          doc: 'Log level of the JSON log on stdout.',
          default: 'info',
        }),
      },
      { doc: 'Logging.' },
    ),
    shutdownTimeoutMs: int({
      doc: 'Bound on an orderly stop (SIGTERM/SIGINT); past it the process exits anyway.',
      default: 4000,
      min: 100,
      unit: 'ms',
    }),
  },
  { doc: 'trgwd configuration' },
);

export type TrgwdConfig = Infer<typeof configSchema>;
export type RealmConfig = TrgwdConfig['media']['realms'][string];
export type ControllerConfig = TrgwdConfig['control']['controllers'][number];
