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
