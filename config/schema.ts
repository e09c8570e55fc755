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
        inactivityTimeoutMs: int({
          doc: 'UDP media inactivity: a stream that received no RTP/UDPTL packet for this long is reported (adid/ipstop, else nt/qualert, where requested; adid/ipstop `dt` overrides it); 0: off.',
          default: 0,
          min: 0,
          unit: 'ms',
        }),
        relatchPackets: int({
          doc: 'ipnapt/rlatch: consecutive valid packets (RTP: of one SSRC) from a new source before the stream re-latches to it.',
          default: 3,
          min: 1,
          max: 1000,
        }),
        statsFlushMs: int({
          doc: 'How often the UDP relay adds its packet and byte counts to the Prometheus counters (the fast path counts in plain numbers).',
          default: 1000,
          min: 50,
          unit: 'ms',
        }),
        workers: int({
          doc: 'Worker threads relaying UDP media (RTP/RTCP, UDPTL): contexts are spread over them and the main thread keeps serving the controller (at 150k packets/s its event-loop delay stays ~4 ms instead of ~110 ms). -1: one per CPU core; 0 (default): relay on the main thread. Measured on a 2-vCPU VM (bench/relay, bench/control): workers hold the relay latency criterion to 100k packets/s (at its edge: 2 runs of 3) against 60-80k on the main thread, but halve the context setup rate (about 1,500-1,600 against 3,300 cycles/s), because every command that changes a context crosses to a worker and waits for its answer (a Modify too: it is answered once the workers apply it), and waking an idle worker thread costs tens of µs of CPU there (binding each port on the main thread and again in the worker is the smaller part: a prototype that let the worker bind alone set up 17% more calls per second). Choose workers for media-heavy loads, 0 for call-setup-heavy ones. A command is answered once its ports are bound where they relay and the workers have applied it. SRTP (e2ae) streams relay on the workers too: each builds its legs\' libsrtp contexts itself. A Move of an SRTP termination to a context on another worker brings that context to the termination\'s worker, so its contexts keep their state (rollover counter, replay window); only when both contexts have secured streams does the moved one start new contexts (ROC 0).',
          default: 0,
          min: -1,
          max: 64,
        }),
        workerMode: oneOf(['thread', 'process'] as const, {
          doc: 'What the relay workers (`media.workers` > 0 or -1) are. `thread` (default): worker threads of the one process. `process`: child processes (forked at start and never restarted: one that dies is logged and its streams stop relaying; they exit with the gateway), counters in shared memory (memfd, through the native addon, which must be built). The open-file limit (RLIMIT_NOFILE) is per process: each worker process holds the sockets of its own contexts (4 descriptors per context of two RTP terminations) under its own limit, so N processes hold N times what one process could (10,000 contexts need 40,000 descriptors: with a hard limit of 20,000, 4 processes). Each process costs its own Node.js runtime (~50 MiB RSS idle; bench/scale.ts: ~115 MiB with 2,500 contexts).',
          default: 'thread',
        }),
        tcp: obj(
          {
            connectTimeoutMs: int({ doc: 'Deadline of an active TCP connect (a=setup:active), retries included; then tcpbcc/fail.', default: 10000, min: 100, unit: 'ms' }),
            connectRetryMinMs: int({ doc: 'First wait between active connect attempts (doubled after each failure).', default: 100, min: 1, unit: 'ms' }),
            connectRetryMaxMs: int({ doc: 'Cap of the wait between active connect attempts.', default: 2000, min: 1, unit: 'ms' }),
            soRetryMinMs: int({ doc: 'First wait between simultaneous-open attempts (the deadline is tcphp/to).', default: 50, min: 1, unit: 'ms' }),
            soRetryMaxMs: int({ doc: 'Cap of the wait between simultaneous-open attempts.', default: 500, min: 1, unit: 'ms' }),
            maxConnections: int({ doc: 'TCP bearers (TCP streams) at once; a new one beyond it is answered 510, an incoming connection beyond it is reset.', default: 10000, min: 1 }),
            maxPendingConnections: int({ doc: 'TCP connections being established at once (connect attempts, TLS handshakes); beyond it they are refused and counted.', default: 1000, min: 1 }),
            bufferBytes: int({ doc: 'Bytes read from one TCP leg and held while the other leg is not up (delayed establishment); then reading pauses.', default: 262144, min: 1024, unit: 'bytes' }),
            highWaterMark: int({ doc: 'Bytes queued towards a slow TCP reader before the other side stops reading (backpressure).', default: 262144, min: 16384, unit: 'bytes' }),
            idleTimeoutMs: int({ doc: 'A TCP bearer connection without bytes either way for this long is closed (tcpbcc/rel cause timeout); 0: never.', default: 7200000, min: 0, unit: 'ms' }),
            closeGraceMs: int({ doc: 'After the gateway sends FIN (Subtract, a=connection:new, idle), the connection is reset if still open this much later.', default: 2000, min: 0, unit: 'ms' }),
            latchRealms: arr(str({ doc: 'realm' }), {
              doc: 'Realms whose passive TCP terminations latch (accept the first connection from any address) when ipnapt/latch is not set: the access side.',
              default: ['access'],
            }),
          },
          { doc: 'TCP bearers (RFC 4145 roles, delayed establishment, simultaneous open): timers and limits.' },
        ),
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
    msrp: obj(
      {
        maxHeaderBytes: int({
          doc: 'Largest MSRP header block (start line to the blank line or end-line) accepted on an MSRP-aware leg; beyond it the peer is disconnected and the event reported.',
          default: 65536,
          min: 1024,
          max: 16777216,
          unit: 'bytes',
        }),
        maxChunkBytes: int({
          doc: 'Largest data of one MSRP chunk on an MSRP-aware leg (chunks are streamed, not buffered, so this bounds no memory); beyond it the peer is disconnected and the event reported.',
          default: 16777216,
          min: 1024,
          unit: 'bytes',
        }),
        maxPendingTransactions: int({
          doc: 'MSRP transactions relayed on one connection and remembered until their response (to map it back exactly); beyond it the oldest is forgotten, and its response goes back with its transaction id as it is.',
          default: 1024,
          min: 16,
        }),
      },
      { doc: 'MSRP-aware relaying (TCP/MSRP, TCP/TLS/MSRP): framing limits.' },
    ),
    tls: obj(
      {
        certFile: optStr({
          doc: 'PEM certificate (chain, leaf first) of TLS media (TCP/TLS, TCP/TLS/MSRP, TCP/TLS/BFCP); with tls.keyFile. Unset: a self-signed ECDSA P-256 certificate is generated at start.',
        }),
        keyFile: optStr({ doc: 'PEM private key of tls.certFile.' }),
        generatedCertDays: int({ doc: 'Lifetime of the certificate generated at start (when tls.certFile is unset).', default: 365, min: 1, max: 36500, unit: 'days' }),
        ciphers: arr(str({ doc: 'OpenSSL cipher suite name', nonEmpty: true }), {
          doc: 'TLS cipher suites, in our order of preference: TLS 1.3 (TLS_*) and TLS 1.2 names (TS 33.310 Annex E profile: ECDHE with AES-GCM).',
          default: [
            'TLS_AES_128_GCM_SHA256',
            'TLS_AES_256_GCM_SHA384',
            'ECDHE-ECDSA-AES128-GCM-SHA256',
            'ECDHE-ECDSA-AES256-GCM-SHA384',
            'ECDHE-RSA-AES128-GCM-SHA256',
            'ECDHE-RSA-AES256-GCM-SHA384',
          ],
          minItems: 1,
        }),
        minVersion: oneOf(['TLSv1.2', 'TLSv1.3'] as const, { doc: 'Lowest TLS version of TLS media.', default: 'TLSv1.2' }),
        maxVersion: oneOf(['TLSv1.2', 'TLSv1.3'] as const, {
          doc: 'Highest TLS version of TLS media (renegotiation, RFC 5746, exists in TLS 1.2 only).',
          default: 'TLSv1.3',
        }),
        handshakeTimeoutMs: int({
          doc: 'A TLS handshake (peer fingerprint check included) not done within this fails: tlsbsc/fail reason timeout.',
          default: 10000,
          min: 100,
          unit: 'ms',
        }),
        maxConnections: int({
          doc: 'TLS media connections at once (each costs tens of KiB); beyond it a new TLS stream is answered 510 and an incoming connection is refused (counted).',
          default: 1024,
          min: 1,
        }),
        sessionCacheSize: int({
          doc: 'TLS sessions remembered for resumption: server session ids, and client sessions keyed by the pinned fingerprint (each cache); the least recently used go first.',
          default: 1024,
          min: 0,
        }),
        sessionTimeoutS: int({ doc: 'Lifetime of a TLS session for resumption (tickets and session ids).', default: 300, min: 1, max: 86400, unit: 's' }),
        closeTimeoutMs: int({
          doc: 'After the gateway sends close_notify (a refused peer certificate, a subtracted stream), the TLS connection is cut if still open this much later.',
          default: 2000,
          min: 0,
          unit: 'ms',
        }),
      },
      { doc: 'TLS termination for TCP media (e2ae, PROFILE §7): certificate, suites, resumption, limits.' },
    ),
    dtls: obj(
      {
        maxHandshakes: int({
          doc: 'DTLS handshakes in progress at once (UDP/TLS/UDPTL, server and client role); a ClientHello beyond it is dropped and counted, a client handshake beyond it fails (tlsbsc/fail).',
          default: 256,
          min: 1,
        }),
        maxHandshakesPerSource: int({
          doc: 'DTLS handshakes in progress at once from one source address (after the cookie exchange); beyond it ClientHellos from that address are dropped and counted.',
          default: 4,
          min: 1,
        }),
        handshakeTimeoutMs: int({
          doc: 'A DTLS handshake not established within this (peer fingerprint check included) fails: tlsbsc/fail reason timeout.',
          default: 30000,
          min: 100,
          unit: 'ms',
        }),
        retransmitInitialMs: int({
          doc: 'First retransmission timeout of a DTLS handshake flight (RFC 6347 §4.2.4.1), doubled after each one up to 60 s.',
          default: 1000,
          min: 10,
          max: 60000,
          unit: 'ms',
        }),
        mtu: int({
          doc: 'Largest DTLS datagram the gateway sends; handshake messages (certificates) are fragmented to fit.',
          default: 1200,
          min: 256,
          max: 65507,
          unit: 'bytes',
        }),
        cookieLifetimeS: int({
          doc: 'Lifetime of a HelloVerifyRequest cookie (stateless, HMAC of the peer address and time): accepted for one to two lifetimes.',
          default: 60,
          min: 1,
          max: 86400,
          unit: 's',
        }),
        ciphers: str({
          doc: 'OpenSSL cipher list of DTLS 1.2 (ECDHE with AEAD first).',
          default:
            'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA',
          nonEmpty: true,
        }),
      },
      { doc: 'DTLS termination for UDPTL (UDP/TLS/UDPTL, RFC 7345): handshake limits and timers.' },
    ),
    srtp: obj(
      {
        replayWindow: int({
          doc: 'SRTP/SRTCP replay window of the contexts the gateway unprotects with (RFC 3711 §3.3.2); a Remote WSH= can only raise it.',
          default: 128,
          min: 128,
          max: 32767,
          unit: 'packets',
        }),
        rekeyNoticePercent: int({
          doc: 'When this share of a key lifetime (a=crypto inline:...|<lifetime>) is used, srtp/rekey is raised where requested; at 100% the key is no longer used (packets dropped, counted key_expired).',
          default: 90,
          min: 1,
          max: 100,
          unit: '%',
        }),
      },
      { doc: 'SRTP termination (e2ae, SDES: RTP/SAVP with a=crypto; PROFILE §4).' },
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
    lab: obj(
      {
        transactionDelayMs: int({
          doc: 'Delays every transaction received from a controller by this long before it runs: for testing how a controller handles Pending and ImmAckRequired (H.248.1 §8.2.3). Keep 0 in production.',
          default: 0,
          min: 0,
          max: 600000,
          unit: 'ms',
        }),
      },
      { doc: 'Lab aids: behaviour a test network may want on purpose.' },
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
