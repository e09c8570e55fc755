/**
 * trgwd as the relay under test: the daemon is spawned from source (as test/helpers/daemon.ts does)
 * and this process is its controller (daemon/cli/mgc.ts). A call is one context with two terminations, access
 * and core, each an RTP stream: Add both with Local `$` (the gateway picks the ports), then Modify
 * both with Remote = the generator's endpoints and SendReceive (PROFILE §2). Messages are prebuilt
 * text sent with `requestBytes` (no decode/encode on our side).
 */
import { Mgc, capturePath } from '../../daemon/cli/mgc.js';
import { startRegistered, type Registered } from '../../test/helpers/daemon.js';

export interface TrgwdCall {
  readonly ctx: number;
  readonly access: string;
  readonly core: string;
  /** Where endpoint A (behind the access termination) sends: the access Local port. */
  readonly aSendsTo: number;
  /** Where endpoint B (behind the core termination) sends: the core Local port. */
  readonly bSendsTo: number;
}

/**
 * SRTP on the access side (RTP→SRTP bench): A's Remote carries A's key (`remoteCrypto`), the gateway
 * generates its own (Local inline:$) and protects what goes to A.
 */
export interface SrtpCallOptions {
  readonly suite: string;
  /** A's a=crypto value (`1 <suite> inline:...`). */
  readonly remoteCrypto: string;
}

const accessProto = (srtp: SrtpCallOptions | undefined) => (srtp !== undefined ? 'RTP/SAVP' : 'RTP/AVP');

const addTwo = (h: string, tid: number, srtp?: SrtpCallOptions) => `${h}
Transaction = ${tid} {
  Context = $ {
    Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = access }, Local {
v=0
c=IN IP4 $
m=audio $ ${accessProto(srtp)} 0
${srtp !== undefined ? `a=crypto:1 ${srtp.suite} inline:$` : ''}
} } } },
    Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = core }, Local {
v=0
c=IN IP4 $
m=audio $ RTP/AVP 0
} } } }
  }
}
`;

const modifyTwo = (
  h: string,
  tid: number,
  c: { ctx: number; access: string; core: string },
  portA: number,
  portB: number,
  srtp: SrtpCallOptions | undefined,
  latch: boolean,
) => `${h}
Transaction = ${tid} {
  Context = ${c.ctx} {
    Modify = ${c.access} { Media { Stream = 1 { LocalControl { Mode = SendReceive${latch ? ', ipnapt/latch = on' : ''} }, Remote {
v=0
c=IN IP4 127.0.0.1
m=audio ${portA} ${accessProto(srtp)} 0
${srtp !== undefined ? `a=crypto:${srtp.remoteCrypto}` : ''}
} } } },
    Modify = ${c.core} { Media { Stream = 1 { LocalControl { Mode = SendReceive${latch ? ', ipnapt/latch = on' : ''} }, Remote {
v=0
c=IN IP4 127.0.0.1
m=audio ${portB} RTP/AVP 0
} } } }
  }
}
`;

async function tx(mgc: Mgc, build: (tid: number) => string) {
  const tid = mgc.nextTid();
  const o = await mgc.requestBytes(tid, Buffer.from(build(tid)), 20_000);
  if (o.errors.length > 0)
    throw new Error(`H.248 error ${o.errors.map((e) => `${e.code} ${e.text ?? ''}`).join(', ')}`);
  return o;
}

/**
 * One call through trgwd: A (127.0.0.1:portA) on the access side, B (127.0.0.1:portB) on the core side.
 * With `latch`, both terminations latch (ipnapt/latch): each socket is then connect()ed to the
 * endpoint it hears, and its sends skip the per-datagram address handling of an unconnected send.
 */
export async function trgwdCall(
  mgc: Mgc,
  portA: number,
  portB: number,
  srtp?: SrtpCallOptions,
  opts: { latch?: boolean } = {},
): Promise<TrgwdCall> {
  const h = mgc.header();
  const tid = mgc.nextTid();
  const add = await mgc.requestBytes(tid, Buffer.from(addTwo(h, tid, srtp)), 20_000);
  const reply = add.reply!;
  if (add.errors.length > 0) {
    // The first Add may have succeeded (H.248.1 §8.2.2: earlier commands stay done): drop its context.
    const ctx = Number(capturePath(reply, 'actions[0].contextId'));
    if (Number.isInteger(ctx) && ctx > 0) await trgwdHangup(mgc, ctx).catch(() => undefined);
    throw new Error(`H.248 error ${add.errors.map((e) => `${e.code} ${e.text ?? ''}`).join(', ')}`);
  }
  const ctx = Number(capturePath(reply, 'actions[0].contextId'));
  const access = capturePath(reply, 'actions[0].commands[0].terminationId');
  const core = capturePath(reply, 'actions[0].commands[1].terminationId');
  const aSendsTo = Number(capturePath(reply, 'actions[0].commands[0]..local | port'));
  const bSendsTo = Number(capturePath(reply, 'actions[0].commands[1]..local | port'));
  if (
    !Number.isInteger(ctx) ||
    access === undefined ||
    core === undefined ||
    !(aSendsTo > 0) ||
    !(bSendsTo > 0)
  ) {
    throw new Error(`unexpected Add reply: ${JSON.stringify(reply)}`);
  }
  const call = { ctx, access, core, aSendsTo, bSendsTo };
  await tx(mgc, (tid) => modifyTwo(h, tid, call, portA, portB, srtp, opts.latch === true));
  return call;
}

/** Subtract * of one call's context. */
export async function trgwdHangup(mgc: Mgc, ctx: number): Promise<void> {
  const h = mgc.header();
  await tx(mgc, (tid) => `${h}\nTransaction = ${tid} { Context = ${ctx} { Subtract = * } }\n`);
}

/** Runs `fn(i)` for i in 0..n-1 with at most `concurrency` at once, in order of start. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

/**
 * Starts the daemon from source, registered with a controller (this process), with the media realms
 * and extra settings given: startRegistered, with the daemon detached (its own scheduling group,
 * apart from the load generator's; rtpengine is run the same way) and logging at info.
 */
export async function startTrgwd(opts: {
  access: readonly [number, number];
  core: readonly [number, number];
  sets?: readonly string[];
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Copy the daemon's stdout/stderr to our stderr. */
  echo?: boolean;
}): Promise<Registered> {
  return startRegistered({
    transport: 'udp',
    mgc: { retransmitMs: 0 },
    detached: true,
    logLevel: 'info',
    startTimeoutMs: 60_000,
    sets: [
      `media.realms.access.ports=[${opts.access[0]}, ${opts.access[1]}]`,
      `media.realms.core.ports=[${opts.core[0]}, ${opts.core[1]}]`,
      ...(opts.sets ?? []),
    ],
    ...(opts.nodeArgs !== undefined ? { nodeArgs: opts.nodeArgs } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    echo: opts.echo ?? false,
  });
}
