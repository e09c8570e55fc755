/**
 * Failure behaviour of a daemon spawned from source (PROFILE §1, §2, §10; OPERATIONS /readyz):
 * - a controller unreachable at start: the gateway keeps retrying, /readyz is 503 with a reason, and
 *   it registers as soon as the controller appears;
 * - a controller lost (it stops answering; the inactivity Notify it/ito goes unanswered for T-MAX)
 *   and back: /readyz goes 503, then 200 again after the re-registration (Method = Disconnected);
 * - port exhaustion: Add answers 510, and works again once a Subtract returned ports.
 * Timers are shortened with --set so that each case takes about a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { Mgc } from '../../daemon/cli/mgc.js';
import { eventually, startDaemon, startRegistered } from '../helpers/daemon.js';

const FAST_TIMERS = [
  'control.timers.initialRetransmitMs=50',
  'control.timers.maxRetransmitMs=200',
  'control.timers.tMaxMs=600',
  'control.timers.registrationRetryMaxMs=200',
  'control.timers.gracefulReplyWaitMs=200',
];

/** A port nobody listens on (UDP and TCP) right now. */
async function unusedPort(): Promise<number> {
  for (;;) {
    const s = createSocket('udp4');
    const port = await new Promise<number>((resolve) =>
      s.bind({ address: '127.0.0.1', port: 0 }, () => resolve(s.address().port)),
    );
    await new Promise<void>((r) => s.close(() => r()));
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

const ADD_ACCESS = (n: number) =>
  `Context = $ {\n${Array.from(
    { length: n },
    () =>
      `Add = $ { Media { Stream = 1 { LocalControl { Mode = ReceiveOnly, ipdc/realm = access }, Local {\nv=0\nc=IN IP4 $\nm=audio $ RTP/AVP 0\n} } } }`,
  ).join(',\n')}\n}`;

for (const transport of ['udp', 'tcp'] as const) {
  test(
    `controller unreachable at start (${transport}): retries, /readyz 503 with a reason, registers when it appears`,
    { timeout: 60_000 },
    async () => {
      const port = await unusedPort();
      const daemon = await startDaemon({
        controllers: [{ address: '127.0.0.1', port, transport }],
        sets: FAST_TIMERS,
      });
      const mgc = new Mgc({ listen: { address: '127.0.0.1', port }, transport });
      try {
        // Three attempts: it keeps trying (each one unanswered, then the back-off).
        let seen = 0;
        await daemon.waitLog((l) => l.msg === 'registering' && ++seen >= 3, 15_000);
        const notReady = await daemon.get('/readyz');
        assert.equal(notReady.status, 503);
        assert.match(notReady.body, /^not ready: \S.+/);
        assert.equal(await daemon.metric('trgwd_registered'), 0);
        await mgc.start();
        const reg = await mgc.waitRegistered(15_000);
        assert.equal(reg.method, 'restart');
        await daemon.waitRegistered(10_000);
        const ready = await daemon.get('/readyz');
        assert.equal(ready.status, 200, ready.body);
        assert.match(ready.body, /^ready: registered with 127\.0\.0\.1:\d+/);
        assert.equal(await daemon.metric('trgwd_registered'), 1);
      } finally {
        assert.equal(await daemon.stop(), 0, daemon.stderr);
        await mgc.close();
      }
    },
  );
}

test(
  'controller lost and back: the unanswered it/ito Notify makes /readyz 503, re-registration makes it 200',
  { timeout: 60_000 },
  async () => {
    const { daemon, mgc, close } = await startRegistered({ sets: FAST_TIMERS });
    try {
      assert.equal((await daemon.get('/readyz')).status, 200);
      // Inactivity supervision (H.248.14 it/ito, PROFILE §10): a Notify when we are silent for mit ms.
      const armed = await mgc.request(
        'Context = - { Modify = ROOT { Events = 1 { it/ito { mit = 300 } } } }',
      );
      assert.deepEqual(armed.errors, []);
      const mark = daemon.logs.length;
      mgc.mute();
      await daemon.waitLog((l) => l.msg === 'controller lost: failing over', 15_000, mark);
      const lost = await daemon.get('/readyz');
      assert.equal(lost.status, 503);
      assert.match(lost.body, /not ready: .*lost/);
      assert.equal(await daemon.metric('trgwd_registered'), 0);
      // The same controller answers again: the gateway comes back with Disconnected (H.248.1 §11.5).
      const back = mgc.waitRegistered(15_000, true);
      mgc.mute(false);
      const reg = await back;
      assert.equal(reg.method, 'disconnected');
      await daemon.waitRegistered(10_000, mark);
      assert.equal((await daemon.get('/readyz')).status, 200);
      // Commands work again.
      const audit = await mgc.request('Context = - { AuditValue = ROOT { Audit { } } }');
      assert.deepEqual(audit.errors, []);
    } finally {
      assert.equal(await close(), 0, daemon.stderr);
    }
  },
);

test(
  'port exhaustion: Add answers 510, and succeeds again after a Subtract returned ports',
  { timeout: 60_000 },
  async () => {
    // Two RTP pairs in the access realm: 47100/47101 and 47102/47103.
    const { daemon, mgc, close } = await startRegistered({
      sets: ['media.realms.access.ports=[47100, 47103]'],
    });
    try {
      const first = await mgc.request(ADD_ACCESS(2));
      assert.deepEqual(first.errors, []);
      const ctx = String(first.reply!.actions[0]!.contextId);
      const terms = first.reply!.actions[0]!.commands.map((c) => c.terminationId!);
      assert.equal(terms.length, 2);

      const exhausted = await mgc.request(ADD_ACCESS(1));
      assert.deepEqual(
        exhausted.errors.map((e) => e.code),
        [510],
        JSON.stringify(exhausted.reply),
      );
      assert.ok((await daemon.metric('trgwd_port_allocation_failures_total', { realm: 'access' }))! >= 1);

      const sub = await mgc.request(`Context = ${ctx} { Subtract = ${terms[0]} }`);
      assert.deepEqual(sub.errors, []);
      const again = await mgc.request(ADD_ACCESS(1));
      assert.deepEqual(again.errors, [], 'a port pair is free again');
      const ctx2 = String(again.reply!.actions[0]!.contextId);
      for (const c of [ctx, ctx2])
        assert.deepEqual((await mgc.request(`Context = ${c} { Subtract = * }`)).errors, []);
      await eventually(
        async () =>
          (await daemon.metric('trgwd_ports_in_use', { realm: 'access' })) === 0 ? true : undefined,
        2000,
        'access ports released',
      );
    } finally {
      assert.equal(await close(), 0, daemon.stderr);
    }
  },
);
