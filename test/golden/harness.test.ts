/**
 * The golden harness itself: transcript parsing, placeholder capture and consistency, `{{any}}`,
 * `...` lines, and that a wrong expectation fails (negative controls), without a daemon; and, with
 * one, that a @fresh transcript is given the registration that arrived before it began.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { GoldenSession, fill, matchText, parseTranscript, type Vars } from './harness.js';

test('parseTranscript reads directives, sections and their options', () => {
  const t = parseTranscript(
    '/x/09-demo.h248',
    [
      '# Title one',
      '# and two.',
      '@config a.b=1',
      '@config c=[1, 2]',
      '@controllers 2',
      '@isolated',
      '-->',
      'Context = - { AuditValue = ROOT { Audit { } } }',
      '<-- within 300 udp',
      'MEGACO/3 [127.0.0.1]:2944',
      '--> again',
      '<-- same',
      '<-- mgc2 none within 100',
      '--> mgc2 raw',
      'MEGACO/3 {{mgc2}}',
      '@free {{port:a}} tcp',
    ].join('\n'),
  );
  assert.equal(t.name, '09-demo');
  assert.equal(t.title, 'Title one and two.');
  assert.deepEqual(t.config, ['a.b=1', 'c=[1, 2]']);
  assert.equal(t.controllers, 2);
  assert.equal(t.isolated, true);
  assert.equal(t.fresh, false);
  assert.deepEqual(
    t.steps.map((s) => [s.kind, 'mgc' in s ? s.mgc : undefined, s.only]),
    [
      ['send', 1, undefined],
      ['expect', 1, 'udp'],
      ['send', 1, undefined],
      ['expect', 1, undefined],
      ['expect', 2, undefined],
      ['send', 2, undefined],
      ['free', undefined, 'tcp'],
    ],
  );
  const e = t.steps[1]!;
  assert.ok(e.kind === 'expect' && e.withinMs === 300);
  const s = t.steps[4]!;
  assert.ok(s.kind === 'expect' && s.none && s.withinMs === 100);
  assert.throws(() => parseTranscript('/x/a.h248', '-->\n'), /needs one/);
  assert.throws(() => parseTranscript('/x/a.h248', '<-- bogus\nx'), /unknown <-- option 'bogus'/);
  assert.throws(() => parseTranscript('/x/a.h248', '@nope'), /unknown directive @nope/);
  assert.throws(() => parseTranscript('/x/a.h248', 'stray text'), /outside a --> or <-- section/);
});

const REPLY = `MEGACO/3 [127.0.0.1]:2944
Reply = 1000 {
\tContext = 7 {
\t\tAdd = ip/3 {
\t\t\tMedia {
\t\t\t\tStream = 1 {
\t\t\t\t\tLocal {
v=0
c=IN IP4 127.0.0.1
m=audio 30002 RTP/AVP 0
\t\t\t\t\t}
\t\t\t\t}
\t\t\t}
\t\t}
\t}
}
`;

test('placeholders capture on first use, must match later, and indentation does not matter', () => {
  const vars: Vars = new Map([['tid', '1000']]);
  const got = matchText(
    `MEGACO/3 [127.0.0.1]:2944
    Reply = {{tid}} {
      Context = {{ctx}} {
        Add = {{term:a}} {
          ...
m=audio {{port:a}} RTP/AVP 0
          ...
    }`,
    REPLY,
    vars,
    'demo',
  );
  assert.deepEqual(Object.fromEntries(got), { ctx: '7', 'term:a': 'ip/3', 'port:a': '30002' });
  for (const [k, v] of got) vars.set(k, v);
  // Bound values must match again: a different context id fails.
  assert.throws(
    () =>
      matchText('...\nContext = {{ctx}} {\n...', REPLY.replace('Context = 7', 'Context = 8'), vars, 'demo'),
    /Context = \{\{ctx\}\}/,
  );
  assert.equal(
    fill('Context = {{ctx}} { Subtract = {{term:a}} }', vars, 'demo'),
    'Context = 7 { Subtract = ip/3 }',
  );
  assert.throws(() => fill('{{nope}}', vars, 'demo'), /\{\{nope\}\} is not bound yet/);
});

test('negative controls: wrong lines, missing and extra lines fail with both texts shown', () => {
  const vars: Vars = new Map();
  assert.throws(
    () =>
      matchText(
        'MEGACO/3 [127.0.0.1]:2944\nReply = {{t}} {\n...\nm=audio {{p}} RTP/AVP 8\n...',
        REPLY,
        vars,
        'neg',
      ),
    (e: Error) => {
      assert.match(e.message, /--- expected \(transcript\) ---/);
      assert.match(e.message, /--- actual \(normalised\) ---/);
      return true;
    },
  );
  assert.throws(() => matchText('MEGACO/3 [127.0.0.1]:2944', REPLY, vars, 'neg'), /unexpected extra lines/);
  assert.throws(() => matchText(`${REPLY}\nmore`, REPLY, vars, 'neg'), /missing line: more/);
  // {{any}} stays within its line; a repeated unbound name must be the same value twice in a line.
  assert.deepEqual(Object.fromEntries(matchText('a {{any}} c', 'a b b b c', vars, 'x')), {});
  assert.throws(() => matchText('a {{any}} c', 'a b\nc', vars, 'x'));
  assert.deepEqual(Object.fromEntries(matchText('{{x}} = {{x}}', '5 = 5', vars, 'x')), { x: '5' });
  assert.throws(() => matchText('{{x}} = {{x}}', '5 = 6', vars, 'x'), /differs/);
});

test(
  'a @fresh transcript over TCP gets the ServiceChange that arrived before it began',
  { timeout: 60_000 },
  async () => {
    // The order that used to lose the race: the daemon registers as soon as its control part is up,
    // often before the harness has read `trgwd started`, and over TCP it sends that ServiceChange once.
    const t = parseTranscript(fileURLToPath(new URL('./transcripts/01-registration.h248', import.meta.url)));
    assert.equal(t.fresh, true);
    const session = new GoldenSession('tcp', 1);
    try {
      await session.start(t.config, false);
      assert.equal(await session.pipes[0]!.queued(15_000), true, 'no ServiceChange from the fresh daemon');
      await session.play(t);
    } finally {
      assert.equal(await session.close(), 0);
    }
  },
);
