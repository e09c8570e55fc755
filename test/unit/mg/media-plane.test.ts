/**
 * The seam between the gateway model and the media planes (daemon/mg/media-plane.ts): a plane is
 * asked to prepare each stream of its transports (and may fill `$` values or fail the command), is
 * told after each action which contexts changed, and when a context is deleted; flows it hands to a
 * stream close with the stream. Port range 27700-27899 belongs to this file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SdpTransport } from '../../../daemon/control/codec/sdp.js';
import type { Context } from '../../../daemon/mg/context.js';
import type { MediaPlane, StreamPreparation } from '../../../daemon/mg/media-plane.js';
import { TrgwdError } from '../../../daemon/errors.js';
import { amm, audit, commands, dollarLocal, harness, localOf } from '../control/commands/harness.js';

const BASE = 27700;

class RecordingPlane implements MediaPlane {
  readonly name = 'recording';
  prepared: StreamPreparation[] = [];
  changed: number[] = [];
  deleted: number[] = [];
  flowsClosed = 0;
  failNext: TrgwdError | undefined;

  serves(t: SdpTransport): boolean {
    return t === 'RTP/AVP';
  }

  prepareStream(p: StreamPreparation): void {
    this.prepared.push(p);
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    // fill a `$` value this plane owns, as the SRTP/TLS/MSRP planes will
    for (const g of p.local ?? []) {
      for (const m of g.media) if (m.getAttribute('label') === '$') m.setAttribute('label', 'filled-by-plane');
    }
  }

  contextChanged(ctx: Context): void {
    this.changed.push(ctx.id);
    for (const t of ctx.terminations.values()) {
      for (const s of t.streams.values()) {
        // one flow per stream, owned by the stream
        if (!(s as unknown as { __flow?: boolean }).__flow) {
          (s as unknown as { __flow?: boolean }).__flow = true;
          s.own({ close: () => this.flowsClosed++ });
        }
      }
    }
  }

  contextDeleted(ctx: Context): void {
    this.deleted.push(ctx.id);
  }
}

test('prepareStream fills `$` values in the answered Local; contextChanged follows each action; flows close with their streams', async () => {
  const plane = new RecordingPlane();
  const h = harness(BASE, { media: [plane] });
  try {
    const r = await h.tx(`Context = $ {
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Local { ${dollarLocal('RTP/AVP', '0', 'a=label:$\n')} } } } },
      Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Local { ${dollarLocal('udptl', 't38')} } } } } }`);
    assert.equal(r[0]?.error, undefined, JSON.stringify(r[0]?.error));
    const ctx = r[0]!.contextId as number;
    const [a, b] = commands(r).map((c) => amm(c));
    assert.match(localOf(audit(commands(r)[0]!))!, /a=label:filled-by-plane/);
    // only the RTP stream is this plane's; the UDPTL one is not prepared by it
    assert.equal(plane.prepared.length, 1);
    assert.equal(plane.prepared[0]!.transport, 'RTP/AVP');
    assert.equal(plane.prepared[0]!.termination.id, a!.terminationId);
    assert.deepEqual(plane.changed, [ctx], 'one reconcile for the action, after both Adds');

    await h.tx(`Context = ${ctx} { Modify = ${a!.terminationId} { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly } } } } }`);
    assert.deepEqual(plane.changed, [ctx, ctx]);

    await h.tx(`Context = ${ctx} { Subtract = ${a!.terminationId} }`);
    assert.equal(plane.flowsClosed, 1, 'the subtracted termination’s flow closed with its stream');
    assert.deepEqual(plane.changed, [ctx, ctx, ctx], 'the context that remains is reconciled');
    assert.deepEqual(plane.deleted, []);

    await h.tx(`Context = ${ctx} { Subtract = ${b!.terminationId} }`);
    assert.deepEqual(plane.deleted, [ctx], 'the context went with its last termination');
    assert.equal(plane.flowsClosed, 2);
  } finally {
    await h.close();
  }
});

test('a plane that refuses a stream fails the command with its error, and nothing is left allocated', async () => {
  const plane = new RecordingPlane();
  const h = harness(BASE + 200, { media: [plane] });
  try {
    plane.failNext = new TrgwdError('ERR_PKG_BAD_VALUE', 'bad value "FOO_SUITE" for a=crypto');
    const r = await h.tx(`Context = $ { Add = $ { Media { Stream = 1 { LocalControl { Mode = SendReceive }, Local { ${dollarLocal()} } } } } }`);
    assert.equal(r[0]?.error?.code, 449);
    assert.match(r[0]?.error?.text ?? '', /FOO_SUITE/);
    assert.equal([...h.mg.contexts()].length, 0);
    assert.deepEqual(plane.changed, []);
    const counters = h.mg.ports('access')!.counters;
    const core = h.mg.ports('core')!.counters;
    assert.equal(counters.udpPortsInUse + core.udpPortsInUse, 0, 'ports released');
  } finally {
    await h.close();
  }
});
