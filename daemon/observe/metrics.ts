/**
 * Every Prometheus metric of trgwd, declared once, here. Labels are bounded (realm, protocol,
 * direction, result, command, transport, reason): never a per-call label. docs/METRICS.md is
 * generated from this list (`npm run docs`) and a test fails if they disagree.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

interface Def {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
}

const def = <const T extends Def>(d: T): T => d;

export const METRIC_DEFS = {
  buildInfo: def({ type: 'gauge', name: 'trgwd_build_info', help: 'Always 1; the version label says which trgwd runs.', labels: ['version'] }),
  registered: def({ type: 'gauge', name: 'trgwd_registered', help: '1 while registered with a controller (ServiceChange answered), else 0.', labels: [] }),
  registrationAttempts: def({ type: 'counter', name: 'trgwd_registration_attempts_total', help: 'ServiceChange registrations sent, by result (accepted, redirected, rejected, timeout).', labels: ['result'] }),
  controlMessages: def({ type: 'counter', name: 'trgwd_control_messages_total', help: 'H.248 messages received (rx) and sent (tx), by transport.', labels: ['transport', 'direction'] }),
  controlDropped: def({ type: 'counter', name: 'trgwd_control_dropped_total', help: 'H.248 input dropped without a reply, by reason (unauthorized, framing, too_large, syntax, binary).', labels: ['reason'] }),
  transactions: def({ type: 'counter', name: 'trgwd_transactions_total', help: 'Commands executed for controllers, by command and result (ok or the H.248 error code).', labels: ['command', 'result'] }),
  transactionSeconds: def({ type: 'histogram', name: 'trgwd_transaction_duration_seconds', help: 'Time to execute one received transaction.', labels: [], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5] }),
  pendingSent: def({ type: 'counter', name: 'trgwd_pending_sent_total', help: 'Pending messages sent for slow transactions.', labels: [] }),
  duplicatesAnswered: def({ type: 'counter', name: 'trgwd_duplicates_answered_total', help: 'Duplicate requests answered from the reply cache (or with Pending while running).', labels: [] }),
  retransmissions: def({ type: 'counter', name: 'trgwd_retransmissions_total', help: 'Retransmissions of our own requests (ServiceChange, Notify).', labels: [] }),
  requestsTimedOut: def({ type: 'counter', name: 'trgwd_requests_timed_out_total', help: 'Our requests given up after T-MAX without a reply.', labels: [] }),
  contexts: def({ type: 'gauge', name: 'trgwd_contexts', help: 'Contexts in existence.', labels: [] }),
  terminations: def({ type: 'gauge', name: 'trgwd_terminations', help: 'Ephemeral terminations in existence.', labels: [] }),
  portsInUse: def({ type: 'gauge', name: 'trgwd_ports_in_use', help: 'Media ports held, by realm.', labels: ['realm'] }),
  portAllocationFailures: def({ type: 'counter', name: 'trgwd_port_allocation_failures_total', help: 'Port allocations refused because the realm range was exhausted.', labels: ['realm'] }),
  eventClients: def({ type: 'gauge', name: 'trgwd_event_clients', help: 'Connected /events WebSocket clients.', labels: [] }),
  eventClientsDropped: def({ type: 'counter', name: 'trgwd_event_clients_dropped_total', help: '/events clients disconnected, by reason (slow, limit).', labels: ['reason'] }),
  mediaStreams: def({ type: 'gauge', name: 'trgwd_media_streams', help: 'Streams the UDP relay serves, by protocol (rtp, udptl).', labels: ['protocol'] }),
  mediaPackets: def({ type: 'counter', name: 'trgwd_media_packets_total', help: 'UDP media packets received (rx, from the exterior) and sent (tx), by realm and protocol (rtp, rtcp, udptl); flushed every media.statsFlushMs.', labels: ['realm', 'protocol', 'direction'] }),
  mediaBytes: def({ type: 'counter', name: 'trgwd_media_bytes_total', help: 'UDP payload octets of the media packets counted by trgwd_media_packets_total.', labels: ['realm', 'protocol', 'direction'] }),
  mediaDropped: def({ type: 'counter', name: 'trgwd_media_dropped_total', help: 'UDP media packets dropped, by realm and reason (malformed, source, policed, no_route, no_destination, send_error, security).', labels: ['realm', 'reason'] }),
  mediaLatches: def({ type: 'counter', name: 'trgwd_media_latches_total', help: 'Latching of a stream to a source address (result latched: first packet; relatched: moved to a new source).', labels: ['realm', 'result'] }),
  mediaInactivity: def({ type: 'counter', name: 'trgwd_media_inactivity_total', help: 'Streams found without media for their inactivity time (reported as adid/ipstop or nt/qualert where requested).', labels: ['realm'] }),
  dscpUnsupported: def({ type: 'counter', name: 'trgwd_dscp_unsupported_total', help: 'Streams given ds/dscp that could not be marked (Node.js has no per-socket TOS setter); counted once per stream.', labels: [] }),
  srtpPackets: def({ type: 'counter', name: 'trgwd_srtp_packets_total', help: 'SRTP and SRTCP packets of e2ae streams, by operation (protect: RTP made SRTP towards the peer; unprotect: SRTP from the peer authenticated and decrypted) and protocol (rtp, rtcp); flushed every media.statsFlushMs.', labels: ['operation', 'protocol'] }),
  srtpFailures: def({ type: 'counter', name: 'trgwd_srtp_failures_total', help: 'SRTP/SRTCP packets dropped by the crypto layer, by reason (auth_fail, replay_fail, replay_old, bad_mki, key_expired, no_key, other); flushed every media.statsFlushMs.', labels: ['reason'] }),
  srtpContexts: def({ type: 'gauge', name: 'trgwd_srtp_contexts', help: 'SRTP crypto contexts in use (one per direction of each e2ae stream with a key).', labels: [] }),
  srtpRekeyNotices: def({ type: 'counter', name: 'trgwd_srtp_rekey_notices_total', help: 'Keys that reached srtp.rekeyNoticePercent of their lifetime, by direction (in: the peer key, out: ours).', labels: ['direction'] }),
  tcpConnections: def({ type: 'gauge', name: 'trgwd_tcp_connections', help: 'TCP bearer connections relaying now, by realm and direction (in: accepted, out: connected).', labels: ['realm', 'direction'] }),
  tcpConnectionAttempts: def({ type: 'counter', name: 'trgwd_tcp_connection_attempts_total', help: 'TCP bearer connections by realm, direction and result (established; refused: a second one on a leg; filtered: not from the Remote address without latching; limit: media.tcp limits; failed: connect gave up).', labels: ['realm', 'direction', 'result'] }),
  tcpReleases: def({ type: 'counter', name: 'trgwd_tcp_releases_total', help: 'TCP bearer connections released, by realm and reason (fin, rst, timeout, local).', labels: ['realm', 'reason'] }),
  tcpBytes: def({ type: 'counter', name: 'trgwd_tcp_bytes_total', help: 'Bytes relayed on TCP bearers (rx: read from a leg, tx: written to a leg), by realm; updated once a second.', labels: ['realm', 'direction'] }),
  msrpMessages: def({ type: 'counter', name: 'trgwd_msrp_messages_total', help: 'MSRP frames (chunks) on MSRP-aware legs, by realm, direction (rx: from the peer, tx: to it) and method (SEND, REPORT, AUTH, other, response).', labels: ['realm', 'direction', 'method'] }),
  msrpBytes: def({ type: 'counter', name: 'trgwd_msrp_bytes_total', help: 'MSRP bytes on MSRP-aware legs, by realm and direction (rx: read from the peer, tx: written to it); updated once a second.', labels: ['realm', 'direction'] }),
  msrpUnknownSession: def({ type: 'counter', name: 'trgwd_msrp_unknown_session_total', help: 'MSRP requests refused for a session that is not ours on that leg (answered 481, REPORTs dropped), by realm.', labels: ['realm'] }),
  msrpFramingErrors: def({ type: 'counter', name: 'trgwd_msrp_framing_errors_total', help: 'MSRP peers disconnected for broken framing, by realm and reason (syntax, header_too_large, chunk_too_large).', labels: ['realm', 'reason'] }),
  dtlsHandshakes: def({ type: 'counter', name: 'trgwd_dtls_handshakes_total', help: 'DTLS handshakes (UDP/TLS/UDPTL), by role (server, client), result (ok, failed, refused) and reason (none, fingerprint, handshake, timeout, limit).', labels: ['role', 'result', 'reason'] }),
  dtlsHandshakesInProgress: def({ type: 'gauge', name: 'trgwd_dtls_handshakes_in_progress', help: 'DTLS handshakes in progress (bounded by dtls.maxHandshakes).', labels: [] }),
  dtlsAssociations: def({ type: 'gauge', name: 'trgwd_dtls_associations', help: 'Established DTLS associations.', labels: [] }),
  dtlsRecords: def({ type: 'counter', name: 'trgwd_dtls_records_total', help: 'DTLS application records (UDPTL datagrams) received (rx) and sent (tx); updated once a second.', labels: ['direction'] }),
  dtlsBytes: def({ type: 'counter', name: 'trgwd_dtls_bytes_total', help: 'Application bytes inside DTLS received (rx) and sent (tx); updated once a second.', labels: ['direction'] }),
  dtlsHelloVerifyRequests: def({ type: 'counter', name: 'trgwd_dtls_hello_verify_requests_total', help: 'HelloVerifyRequests sent (stateless cookie exchange, RFC 6347 §4.2.1); updated once a second.', labels: [] }),
  dtlsDropped: def({ type: 'counter', name: 'trgwd_dtls_dropped_total', help: 'Datagrams dropped on DTLS ports, by reason (malformed: not DTLS; unexpected: no session for it; limit: handshake caps; unverified: data before the pin matched; no_association: data to send without an association); updated once a second.', labels: ['reason'] }),
  tlsHandshakes: def({ type: 'counter', name: 'trgwd_tls_handshakes_total', help: 'TLS media sessions (TCP/TLS), by role (server, client), result (ok, fail) and reason (none; fingerprint, handshake, timeout, cert-change as in tlsbsc/fail).', labels: ['role', 'result', 'reason'] }),
  tlsResumed: def({ type: 'counter', name: 'trgwd_tls_resumed_total', help: 'TLS media sessions established by resumption (ticket or session id), by role; also counted in trgwd_tls_handshakes_total.', labels: ['role'] }),
  tlsRenegotiations: def({ type: 'counter', name: 'trgwd_tls_renegotiations_total', help: 'TLS 1.2 renegotiations completed on TLS media, by role and result (ok, aborted: a refused certificate change).', labels: ['role', 'result'] }),
  tlsConnections: def({ type: 'gauge', name: 'trgwd_tls_connections', help: 'TLS media connections (handshaking or up), bounded by tls.maxConnections.', labels: [] }),
  tlsRefused: def({ type: 'counter', name: 'trgwd_tls_refused_total', help: 'TLS media streams or connections refused at tls.maxConnections.', labels: [] }),
} as const;

type Defs = typeof METRIC_DEFS;
type LabelsOf<D extends Def> = D['labels'][number];
type MetricOf<D extends Def> = D['type'] extends 'counter'
  ? Counter<LabelsOf<D>>
  : D['type'] extends 'gauge'
    ? Gauge<LabelsOf<D>>
    : Histogram<LabelsOf<D>>;

export type Metrics = { readonly [K in keyof Defs]: MetricOf<Defs[K]> } & { readonly registry: Registry };

/** Builds every metric in a fresh registry (one per gateway, so tests can run several). */
export function createMetrics(opts: { defaultMetrics?: boolean; version?: string } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const out: Record<string, unknown> = { registry };
  for (const [key, d] of Object.entries(METRIC_DEFS) as [string, Def][]) {
    const common = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [registry] };
    out[key] =
      d.type === 'counter'
        ? new Counter(common)
        : d.type === 'gauge'
          ? new Gauge(common)
          : new Histogram({ ...common, buckets: [...(d.buckets ?? [])] });
  }
  const m = out as Metrics;
  m.buildInfo.set({ version: opts.version ?? 'unknown' }, 1);
  m.registered.set(0);
  return m;
}

/** docs/METRICS.md, generated from METRIC_DEFS. */
export function renderMetricsDoc(): string {
  const rows = Object.values(METRIC_DEFS as Record<string, Def>)
    .map((d) => `| \`${d.name}\` | ${d.type} | ${d.labels.map((l) => `\`${l}\``).join(', ') || '–'} | ${d.help} |`)
    .join('\n');
  return `# Metrics

Generated from \`daemon/observe/metrics.ts\` (\`npm run docs\`); a test fails when this page and the list differ.
Scrape \`http://<ops.listen>/metrics\`. Besides these, the Node.js process metrics of prom-client
(\`process_*\`, \`nodejs_*\`) are exported. Labels are bounded: never a per-call value.

| metric | type | labels | meaning |
|---|---|---|---|
${rows}
`;
}
