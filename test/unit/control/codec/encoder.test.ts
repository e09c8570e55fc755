/**
 * encodeMessage: pretty and compact layouts, decode → encode → decode equality over the whole
 * corpus and over hand-written messages using the rarer v2/v3 constructs, SDP escaping, quoting,
 * reply style, and models that cannot be encoded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeMessage,
  encodeMessage,
  H248CodecError,
  replyStyleOf,
} from '../../../../daemon/control/codec/index.js';
import type * as M from '../../../../daemon/control/codec/model.js';

const CORPUS = fileURLToPath(new URL('../../../fixtures/h248-corpus/', import.meta.url));
const index = JSON.parse(readFileSync(join(CORPUS, 'index.json'), 'utf8')) as {
  file: string;
  encoding: string;
}[];

function withoutStyle(m: M.Message): M.Message {
  const { style: _s, ...rest } = m;
  return rest;
}

/** decode → encode (both styles) → decode gives the same model, and the encoding is stable. */
function assertRoundTrip(m: M.Message, what: string): void {
  for (const style of ['pretty', 'compact'] as const) {
    const text = encodeMessage(m, { style });
    const back = decodeMessage(text);
    assert.equal(back.style, style, `${what}: the ${style} encoding decodes as ${back.style}`);
    assert.deepStrictEqual(withoutStyle(back), withoutStyle(m), `${what} (${style}):\n${text}`);
    assert.equal(encodeMessage(back, { style }), text, `${what}: ${style} encoding not stable`);
  }
}

const H3 = 'MEGACO/3 [192.0.2.1]:2944\n';

describe('round trips', () => {
  test('every corpus message: decode → encode (pretty, compact) → decode is the same model', () => {
    assert.ok(index.length >= 240);
    for (const e of index) assertRoundTrip(decodeMessage(readFileSync(join(CORPUS, e.file))), e.file);
  });

  test('the rarer constructs (v2 individual audit, v3 context attributes, topology, notify behaviour, segments...)', () => {
    const texts = [
      `${H3}T=1{C=5{PR=7,EG,IEPS=ON,TP{a,b,OW,ST=2,b,a,OWE,c,d,OWB,e,f,IS},CT{x/y=1,ContextList={1,2}},CA{TP,EG,PR,IEPS,x/z,PR=3,EGV=EGO,IEPS=OFF,ORLgc,CT{x/w=2,x/v}},MF=ip/1}}`,
      `${H3}T=1{C=1{MF=ip/1{E=10{al/of{EM{SG{cg/dt},E=11{dd/ce{DM=dialplan0}}}},dd/ce{DM={T:5,(0|00|[1-7]xxx|9011x.)},ST=2,NBRN{EM{SG{x/y}}},RSE,mode=fast},a/b{NBIN},a/c{NBNN}},DM=dp1{T:3,S:2,(xx|1x.)}}}}`,
      `${H3}T=1{C=1{MF=ip/1{SG{an/apf{an=7,ST=1,SY=BR,KA,SPADI=EX,SPARQ=5,SPAIS=20},x/y{Direction=Both,RequestID=*,Intersignal=1},SL=3{a/b,a/c{SY=OO,NC={IBS,OR,IR}}}}}}}`,
      `${H3}T=1{C=1{AV=ip/1{AT{M{TS{SI,BF,x/a},O{MO,RV,RG,x/b,x/c=2},L,R,SA{rtp/ps},ST=2{O{MO=SR},R},TS{SI#OS}},E=3{g/cause},E{al/of},SG{},SG{cg/rt},SG{SL=4},SG{SL=5{cg/bt}},EB{al/on{ST=1}},EB{al/of{strict}},DM=dp,SA{nt/os},PG{nt-1},OE,DM,MX,MD}}}}`,
      `${H3}P=1{C=1{AV=ip/1{M{ST=1{O{MO=SR},SA{rtp/ps=3}}},SG{cg/rt},DM=dp{(xx)},OE=1{al/on},EB{al/of},PG{g-1},SA{nt/dur=[1,2]},MX=H221{t1,t2},MD=V18{x/y=1},M,PG},AC=C{ER=430{}},S=ip/2{ER=432{"x"}},N=ip/3{ER=400{}},SC=ROOT{ER=501{}}},C=2{IEPS=OFF,MV=ip/4}}`,
      `${H3}T=1{C=-{SC=ROOT{SV{MT=x-mine,RE=902,DL=5,AD=[10.0.0.1]:2944,PF=TrGW_eMediasec/12,V=3,MG=mgc/a,20240229t23595999,SIC,X-foo=bar,X+b={1,2}}}}}`,
      `${H3}T=1{C=-{SC=ROOT{SV{MT=FL,AD=MTP{1234},RE="909",MG=<mgc.example.net>}}}}`,
      `${H3}T=1{C=*{O-MF=ip/*,W-S=[ip/1,ip/2],O-W-AV=ROOT}}`,
      `${H3}T=1{C=1{MF=ip/1{M{O{a/b=1, a/c#2, a/d!=3, a/f<5, a/g>6, a/h=[1,2, 3], a/i={x,"y z"}, a/j=[10:20], a/k="q"}}}}}`,
      `${H3}T=1{C=1{MF=ip/1{M{TS{SI=OS,BF=OFF},ST=1{L{\r\nv=0\r\na=fmtp:96 x={a\\}\r\n},R{v=0}},ST=2{SA{rtp/ps}}},EB,E,SA}}}`,
      `${H3}Segment = 40/2/END\nSM=41/1\nP=42{IA,ER=500{"x"}}\nP=43/1{C=1}\nPN=44{}\nK{1,2-9}`,
      `Authentication = 0x12345678:0x00000001:0x${'ab'.repeat(12)}\nMEGACO/2 MTP{00FF}\nT=1{C=-{N=x{OE=*{20240101T00000000:a/b{ST=1,p="v"},c/d},ER=500{}}}}`,
      'MEGACO/1 gw/mg1\nER=402{}',
      'MEGACO/1 [2001:db8::2]:2944\nT{C=-{AV=ROOT{AT{}}}}',
    ];
    for (const t of texts) assertRoundTrip(decodeMessage(t), t);
  });
});

describe('layout', () => {
  const reply: M.Message = {
    version: 3,
    mId: { kind: 'ip4', address: '192.0.2.10', port: 2944 },
    transactions: [
      {
        kind: 'reply',
        id: 4714,
        actions: [{ contextId: 33, commands: [{ kind: 'modify', terminationId: 'ip/33/access/1' }] }],
      },
    ],
  };

  test('compact: short tokens, no optional white space', () => {
    assert.equal(
      encodeMessage(reply, { style: 'compact' }),
      '!/3 [192.0.2.10]:2944 P=4714{C=33{MF=ip/33/access/1}}',
    );
  });

  test('pretty: long tokens, indented like the H.248.1 examples', () => {
    assert.equal(
      encodeMessage(reply, { style: 'pretty' }),
      'MEGACO/3 [192.0.2.10]:2944\nReply = 4714 {\n\tContext = 33 {\n\t\tModify = ip/33/access/1\n\t}\n}\n',
    );
  });

  test('pretty: one SDP line per line inside Local/Remote; compact the same lines', () => {
    const m: M.Message = {
      version: 3,
      mId: { kind: 'domain', name: 'mg1.example.net', port: 2944 },
      transactions: [
        {
          kind: 'request',
          id: 9,
          actions: [
            {
              contextId: '$',
              commands: [
                {
                  kind: 'add',
                  terminationId: '$',
                  descriptors: {
                    media: {
                      streams: [
                        {
                          id: 1,
                          localControl: {
                            mode: 'sendRecv',
                            properties: [{ name: 'ipdc/realm', relation: '=', value: '"core"' }],
                          },
                          local: 'v=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 0\r\n',
                        },
                      ],
                    },
                    events: { requestId: 1, events: [{ name: 'g/cause' }] },
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    assert.equal(
      encodeMessage(m),
      [
        'MEGACO/3 <mg1.example.net>:2944',
        'Transaction = 9 {',
        '\tContext = $ {',
        '\t\tAdd = $ {',
        '\t\t\tMedia {',
        '\t\t\t\tStream = 1 {',
        '\t\t\t\t\tLocalControl {',
        '\t\t\t\t\t\tMode = SendReceive,',
        '\t\t\t\t\t\tipdc/realm="core"',
        '\t\t\t\t\t},',
        '\t\t\t\t\tLocal {',
        'v=0\r',
        'c=IN IP4 $\r',
        'm=audio $ RTP/AVP 0\r',
        // at column 0: indentation after the SDP would be one more SDP line to Wireshark
        '}',
        '\t\t\t\t}',
        '\t\t\t},',
        '\t\t\tEvents = 1 {',
        '\t\t\t\tg/cause',
        '\t\t\t}',
        '\t\t}',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
    assert.equal(
      encodeMessage(m, { style: 'compact' }),
      '!/3 <mg1.example.net>:2944 T=9{C=${A=${M{ST=1{O{MO=SR,ipdc/realm="core"},L{\nv=0\r\nc=IN IP4 $\r\nm=audio $ RTP/AVP 0\r\n}}},E=1{g/cause}}}}',
    );
  });

  test('every keyword in its long and short form', () => {
    const text = `${H3}T=1{C=1{AV=ip/1{AT{M,MD,MX,E,SG,DM,SA,OE,PG,EB}},MF=ip/2{M{TS{SI=TE,BF=SP}},SG{a/b{SY=OO,NC={TO,IBE,IBS,OR,IR}}}},MV=ip/3,AC=ROOT,N=ip/4{OE=1{a/b}},SC=ROOT{SV{MT=GR,RE="1",DL=1,PF=p/1,V=1}},S=ip/5}}`;
    const m = decodeMessage(text);
    const pretty = encodeMessage(m, { style: 'pretty' });
    for (const t of [
      'AuditValue',
      'Audit',
      'Media',
      'Modem',
      'Mux',
      'Events',
      'Signals',
      'DigitMap',
      'Statistics',
      'ObservedEvents',
      'Packages',
      'EventBuffer',
      'Modify',
      'TerminationState',
      'ServiceStates = Test',
      'Buffer = LockStep',
      'SignalType = OnOff',
      'NotifyCompletion',
      'TimeOut',
      'IntByEvent',
      'IntBySigDescr',
      'OtherReason',
      'Iteration',
      'Move',
      'AuditCapability',
      'Notify',
      'ServiceChange',
      'Services',
      'Method = Graceful',
      'Reason',
      'Delay',
      'Profile',
      'Version',
      'Subtract',
      'Transaction',
      'Context',
    ]) {
      assert.ok(pretty.includes(t), `${t} in\n${pretty}`);
    }
    assert.equal(
      encodeMessage(m, { style: 'compact' }),
      text.replace('MEGACO/3 [192.0.2.1]:2944\n', '!/3 [192.0.2.1]:2944 '),
    );
  });

  test('Signals, Events, Statistics and EventBuffer without content are bare; Audit{} and Error without text keep braces', () => {
    const m = decodeMessage(`${H3}T=1{C=1{MF=ip/1{SG{},E,SA,EB},AV=ip/2{AT{}}}}P=2{C=1{N=ip/1{ER=500{}}}}`);
    assert.equal(
      encodeMessage(decodeMessage(`${H3}SM=1/2/END SM=1/3`), { style: 'compact' }),
      '!/3 [192.0.2.1]:2944 SM=1/2/& SM=1/3',
    );
    // (descriptors come out in a fixed order: Media, Modem, Mux, Events, EventBuffer, Signals, DigitMap, ...)
    assert.equal(
      encodeMessage(m, { style: 'compact' }),
      '!/3 [192.0.2.1]:2944 T=1{C=1{MF=ip/1{E,EB,SG,SA},AV=ip/2{AT{}}}}P=2{C=1{N=ip/1{ER=500{}}}}',
    );
    assert.match(encodeMessage(m, { style: 'pretty' }), /AuditValue = ip\/2 \{\n\t+Audit \{ \}/);
  });
});

describe('escaping and quoting', () => {
  const msgWith = (
    patch: Partial<M.StreamParms> & { error?: M.ErrorDescriptor; props?: M.PropertyParm[] },
  ): M.Message => ({
    version: 3,
    mId: { kind: 'ip4', address: '192.0.2.1' },
    transactions: [
      {
        kind: 'reply',
        id: 1,
        actions: [
          {
            contextId: 1,
            commands: [
              {
                kind: 'add',
                terminationId: 'ip/1',
                audit: {
                  ...(patch.local !== undefined || patch.props !== undefined
                    ? {
                        media: {
                          stream: {
                            ...(patch.local !== undefined ? { local: patch.local } : {}),
                            ...(patch.props !== undefined
                              ? { localControl: { properties: patch.props } }
                              : {}),
                          },
                        },
                      }
                    : {}),
                  ...(patch.error !== undefined ? { error: patch.error } : {}),
                },
              },
            ],
          },
        ],
      },
    ],
  });

  test('} in SDP is written \\} and read back as }', () => {
    const m = msgWith({ local: 'v=0\r\na=x-odd:{braces} and \\ backslash\r\n' });
    for (const style of ['pretty', 'compact'] as const) {
      const text = encodeMessage(m, { style });
      assert.ok(text.includes('a=x-odd:{braces\\} and \\ backslash'), text);
      assert.deepStrictEqual(withoutStyle(decodeMessage(text)), m);
    }
  });

  test('SDP without a final line end gets one; empty SDP is Local{}', () => {
    const text = encodeMessage(msgWith({ local: 'v=0\r\nm=audio 1 RTP/AVP 0' }), { style: 'compact' });
    assert.ok(text.includes('L{\nv=0\r\nm=audio 1 RTP/AVP 0\n}'), text);
    const back = decodeMessage(text).transactions[0] as M.TransactionReply;
    const add = back.actions[0]?.commands[0] as M.AmmsReply;
    assert.equal(add.audit?.media?.stream?.local, 'v=0\r\nm=audio 1 RTP/AVP 0\n');
    assert.ok(encodeMessage(msgWith({ local: '' }), { style: 'compact' }).includes('L{}'));
  });

  test('error texts: a double quote cannot be inside a quoted string; line ends neither', () => {
    const text = encodeMessage(
      msgWith({ error: { code: 449, text: 'unsupported value "UDP/XYZ"\r\nsecond line' } }),
      { style: 'compact' },
    );
    assert.ok(text.includes(`ER=449{"unsupported value 'UDP/XYZ'  second line"}`), text);
    decodeMessage(text);
  });

  test('property values that are not valid VALUE text are quoted; relations are =, #, <, >', () => {
    const text = encodeMessage(
      msgWith({
        props: [
          { name: 'a/b', relation: '=', value: 'two words' },
          { name: 'a/c', relation: '!=', value: '3' },
          { name: 'a/d', relation: '<', value: '"x"' },
          { name: 'a/e', relation: '>', value: 'say "hi"' },
          { name: 'a/f', relation: '=', range: ['1', '9'] },
          { name: 'a/g', relation: '=', list: ['1', 'x y'] },
          { name: 'a/h', relation: '=', alternatives: ['1', '2'] },
        ],
      }),
      { style: 'compact' },
    );
    assert.ok(
      text.includes(`O{a/b="two words",a/c#3,a/d<"x",a/e>"say 'hi'",a/f=[1:9],a/g=[1,"x y"],a/h={1,2}}`),
      text,
    );
    decodeMessage(text);
  });

  test('ServiceChange reason is always a quoted string', () => {
    const m = decodeMessage(`${H3}T=1{C=-{SC=ROOT{SV{MT=RS,RE=901}}}}`);
    assert.ok(encodeMessage(m, { style: 'compact' }).includes('RE="901"'));
  });
});

describe('style and invalid models', () => {
  test('replies use the style of the request; encodeMessage defaults to the message style', () => {
    const req = decodeMessage('!/1 [10.0.0.1]:2944 T=5{C=-{AV=ROOT}}');
    assert.equal(replyStyleOf(req), 'compact');
    assert.equal(
      replyStyleOf(decodeMessage('MEGACO/1 [10.0.0.1]:2944 Transaction=5{Context=-{AuditValue=ROOT}}')),
      'pretty',
    );
    assert.equal(replyStyleOf({}), 'pretty');
    // MEGACO header with short tokens: the body decides
    assert.equal(decodeMessage('MEGACO/1 [10.0.0.1]:2944 T=5{C=-{AV=ROOT}}').style, 'compact');
    const rep: M.Message = {
      version: 1,
      mId: { kind: 'ip4', address: '10.0.0.2', port: 2944 },
      transactions: [
        {
          kind: 'reply',
          id: 5,
          actions: [{ contextId: '-', commands: [{ kind: 'auditValue', terminationId: 'ROOT' }] }],
        },
      ],
      style: replyStyleOf(req),
    };
    assert.equal(encodeMessage(rep), '!/1 [10.0.0.2]:2944 P=5{C=-{AV=ROOT}}');
    assert.equal(encodeMessage(rep, { style: 'pretty' }).split('\n')[1], 'Reply = 5 {');
  });

  test('a model of the wrong shape is ERR_H248_INVALID_MODEL, not a crash', () => {
    const base = { version: 3, mId: { kind: 'ip4', address: '1.2.3.4' } };
    const bad: unknown[] = [
      { ...base, transactions: [] },
      { ...base, transactions: [{ kind: 'bogus', id: 1 }] },
      {
        ...base,
        transactions: [
          {
            kind: 'request',
            id: -1,
            actions: [{ contextId: 1, commands: [{ kind: 'subtract', terminationId: 'x' }] }],
          },
        ],
      },
      { ...base, transactions: [{ kind: 'request', id: 1, actions: [] }] },
      {
        ...base,
        transactions: [
          {
            kind: 'request',
            id: 1,
            actions: [{ contextId: 0xffffffff, commands: [{ kind: 'subtract', terminationId: 'x' }] }],
          },
        ],
      },
      {
        ...base,
        transactions: [
          {
            kind: 'request',
            id: 1,
            actions: [{ contextId: 1, commands: [{ kind: 'jump', terminationId: 'x' }] }],
          },
        ],
      },
      {
        ...base,
        transactions: [
          {
            kind: 'request',
            id: 1,
            actions: [{ contextId: 1, commands: [{ kind: 'add', terminationId: '', descriptors: {} }] }],
          },
        ],
      },
      { ...base, version: 100, transactions: [{ kind: 'pending', id: 1 }] },
      { ...base, mId: { kind: 'x' }, transactions: [{ kind: 'pending', id: 1 }] },
      {
        ...base,
        transactions: [
          {
            kind: 'request',
            id: 1,
            actions: [
              {
                contextId: 1,
                commands: [
                  {
                    kind: 'modify',
                    terminationId: 'x',
                    descriptors: { media: { stream: { localControl: { mode: 'sideways' } } } },
                  },
                ],
              },
            ],
          },
        ],
      },
    ];
    for (const m of bad) {
      assert.throws(
        () => encodeMessage(m as M.Message),
        (e: unknown) => e instanceof H248CodecError && e.code === 'ERR_H248_INVALID_MODEL' && e.h248 === 500,
        JSON.stringify(m),
      );
    }
    assert.throws(
      () =>
        encodeMessage({ ...base, transactions: [{ kind: 'pending', id: 1 }] } as M.Message, {
          style: 'fancy' as 'pretty',
        }),
      H248CodecError,
    );
  });
});
