/**
 * Test harness for the command layer: a MediaGateway on loopback port ranges, a CommandExecutor, and
 * helpers that send H.248 text (decoded by the real codec) and pick replies apart.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { decodeMessage, encodeMessage } from '../../../../daemon/control/codec/index.js';
import type {
  ActionReply,
  AmmsReply,
  AuditReply,
  CommandReply,
  TerminationAudit,
  TransactionRequest,
} from '../../../../daemon/control/codec/model.js';
import { CommandExecutor } from '../../../../daemon/control/commands/index.js';
import type { ControllerLink, NotifyRequestOut, RequestContext } from '../../../../daemon/control/handler.js';
import { MediaGateway, type MediaGatewayOptions } from '../../../../daemon/mg/index.js';
import { EventBus, type StampedEvent } from '../../../../daemon/observe/events.js';
import { createMetrics } from '../../../../daemon/observe/metrics.js';

export const LO = '127.0.0.1';

export const RC: RequestContext = {
  version: 3,
  peer: { address: LO, port: 2945, transport: 'udp', key: 'udp:127.0.0.1:2945' },
};

export class FakeLink implements ControllerLink {
  registered = true;
  readonly notifies: NotifyRequestOut[] = [];
  notify(n: NotifyRequestOut): Promise<void> {
    this.notifies.push(n);
    return Promise.resolve();
  }
  serviceChange(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Harness {
  readonly mg: MediaGateway;
  readonly ex: CommandExecutor;
  readonly link: FakeLink;
  readonly events: StampedEvent[];
  readonly metrics: ReturnType<typeof createMetrics>;
  /** Sends `Transaction = n { body }` and returns the action replies. */
  tx(body: string): Promise<ActionReply[]>;
  close(): Promise<void>;
}

let tid = 1;

/** A gateway with realms `access` [base, base+99] and `core` [base+100, base+199]. */
export function harness(base: number, opts: Partial<MediaGatewayOptions> = {}): Harness {
  const bus = new EventBus();
  const events: StampedEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const metrics = createMetrics({ defaultMetrics: false });
  const link = new FakeLink();
  const mg = new MediaGateway({
    realms: {
      access: { address: LO, ports: [base, base + 99] },
      core: { address: LO, ports: [base + 100, base + 199] },
    },
    defaultRealm: 'core',
    maxContexts: 100,
    maxTerminationsPerContext: 3,
    events: bus,
    metrics,
    link,
    ...opts,
  });
  const ex = new CommandExecutor({ mg });
  return {
    mg,
    ex,
    link,
    events,
    metrics,
    async tx(body: string): Promise<ActionReply[]> {
      const m = decodeMessage(`MEGACO/3 [127.0.0.1]:2945\nTransaction = ${tid++} { ${body} }`);
      const replies = await ex.execute(m.transactions[0] as TransactionRequest, RC);
      // every reply must be encodable and mean the same after a round trip through the codec
      for (const style of ['pretty', 'compact'] as const) {
        const text = encodeMessage(
          { version: 3, mId: { kind: 'ip4', address: LO, port: 2944 }, transactions: [{ kind: 'reply', id: 1, actions: replies }] },
          { style },
        );
        const back = decodeMessage(text).transactions[0];
        assert.deepEqual(back?.kind === 'reply' ? back.actions : undefined, JSON.parse(JSON.stringify(replies)), text);
      }
      return replies;
    },
    close: () => mg.close(),
  };
}

/** Local SDP with `$` for the gateway to fill. */
export function dollarLocal(proto = 'RTP/AVP', fmt = '0', extra = ''): string {
  return `v=0\nc=IN IP4 $\nm=audio $ ${proto} ${fmt}\n${extra}`;
}

export function commands(replies: readonly ActionReply[], i = 0): CommandReply[] {
  return replies[i]?.commands ?? [];
}

export function amm(r: CommandReply | undefined): AmmsReply {
  if (r === undefined || !('audit' in r || r.kind === 'add' || r.kind === 'modify' || r.kind === 'move' || r.kind === 'subtract')) {
    throw new Error(`not an Add/Modify/Move/Subtract reply: ${JSON.stringify(r)}`);
  }
  return r as AmmsReply;
}

export function audit(r: CommandReply | undefined): TerminationAudit | undefined {
  return (r as AmmsReply | AuditReply | undefined)?.audit;
}

/** The Local SDP text of stream 1 (bare or Stream = 1) in a reply's audit. */
export function localOf(a: TerminationAudit | undefined): string | undefined {
  return a?.media?.stream?.local ?? a?.media?.streams?.find((s) => s.id === 1)?.local;
}

/** The m= port in an SDP text. */
export function portOf(sdp: string | undefined): number {
  const m = /m=\S+ (\d+) /.exec(sdp ?? '');
  if (m === null) throw new Error(`no m= port in ${sdp}`);
  return Number(m[1]);
}

/** True when the UDP port is held (binding it here fails with EADDRINUSE). */
export async function udpHeld(port: number): Promise<boolean> {
  const s = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    s.bind({ port, address: LO, exclusive: true });
    const [ev] = await Promise.race([once(s, 'listening').then(() => ['listening']), once(s, 'error')]);
    return ev !== 'listening';
  } catch {
    return true;
  } finally {
    try {
      s.close();
    } catch {
      // never bound
    }
  }
}
