/** Token table: long and short spellings, case-insensitive lookup, no clashes; SafeChar class. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPACT_TOKENS,
  KW,
  PRETTY_TOKENS,
  SAFE,
  isSafeText,
  keywordAt,
  keywordOf,
} from '../../../../daemon/control/codec/tokens.js';

describe('tokens', () => {
  test('every keyword id has a pretty and a compact spelling that look it up', () => {
    for (const id of Object.values(KW)) {
      const p = PRETTY_TOKENS[id] as string;
      const c = COMPACT_TOKENS[id] as string;
      assert.ok(p.length > 0 && c.length > 0, `id ${id}`);
      assert.equal(keywordOf(p), id, p);
      assert.equal(keywordOf(c), id, c);
      assert.equal(keywordOf(p.toLowerCase()), id);
      assert.equal(keywordOf(p.toUpperCase()), id);
      assert.equal(keywordOf(c.toLowerCase()), id);
    }
  });

  test('the H.248.1 Annex B pairs', () => {
    const pairs: [string, string][] = [
      ['Add', 'A'],
      ['Audit', 'AT'],
      ['AuditCapability', 'AC'],
      ['AuditValue', 'AV'],
      ['Bothway', 'BW'],
      ['Context', 'C'],
      ['ContextAudit', 'CA'],
      ['DigitMap', 'DM'],
      ['Emergency', 'EG'],
      ['Error', 'ER'],
      ['EventBuffer', 'EB'],
      ['Events', 'E'],
      ['ImmAckRequired', 'IA'],
      ['Inactive', 'IN'],
      ['Isolate', 'IS'],
      ['KeepActive', 'KA'],
      ['Local', 'L'],
      ['LocalControl', 'O'],
      ['LockStep', 'SP'],
      ['Loopback', 'LB'],
      ['Media', 'M'],
      ['MEGACO', '!'],
      ['Method', 'MT'],
      ['MgcIdToTry', 'MG'],
      ['Mode', 'MO'],
      ['Modify', 'MF'],
      ['Move', 'MV'],
      ['Notify', 'N'],
      ['ObservedEvents', 'OE'],
      ['Oneway', 'OW'],
      ['Packages', 'PG'],
      ['Pending', 'PN'],
      ['Priority', 'PR'],
      ['Profile', 'PF'],
      ['Reason', 'RE'],
      ['ReceiveOnly', 'RC'],
      ['Reply', 'P'],
      ['Remote', 'R'],
      ['ReservedGroup', 'RG'],
      ['ReservedValue', 'RV'],
      ['SendOnly', 'SO'],
      ['SendReceive', 'SR'],
      ['Services', 'SV'],
      ['ServiceStates', 'SI'],
      ['ServiceChange', 'SC'],
      ['ServiceChangeAddress', 'AD'],
      ['Signals', 'SG'],
      ['Statistics', 'SA'],
      ['Stream', 'ST'],
      ['Subtract', 'S'],
      ['TerminationState', 'TS'],
      ['Topology', 'TP'],
      ['Transaction', 'T'],
      ['TransactionResponseAck', 'K'],
      ['Version', 'V'],
      ['Segment', 'SM'],
      ['END', '&'],
      ['ContextAttr', 'CT'],
      ['IEPSCall', 'IEPS'],
      ['ServiceChangeInc', 'SIC'],
      ['OnewayExternal', 'OWE'],
      ['OnewayBoth', 'OWB'],
      ['EmergencyOff', 'EGO'],
    ];
    for (const [long, short] of pairs) {
      assert.ok(keywordOf(long) !== 0, long);
      assert.equal(keywordOf(long), keywordOf(short), `${long}/${short}`);
    }
    // v3 SPA* tokens and their earlier spellings
    assert.equal(keywordOf('SPADirection'), KW.Direction);
    assert.equal(keywordOf('DI'), KW.Direction);
    assert.equal(keywordOf('SPARQ'), KW.RequestID);
    assert.equal(keywordOf('SPAIS'), KW.IntsigDelay);
  });

  test('non-keywords, sub-ranges and odd characters', () => {
    for (const w of [
      '',
      'Ads',
      'Adds',
      'ip/1',
      'g/cause',
      'ROOT',
      'Transactions',
      'x'.repeat(200),
      'A\u0001',
      'Médi',
    ])
      assert.equal(keywordOf(w), 0, w);
    const s = 'xxModifyyy';
    assert.equal(keywordAt(s, 2, 8), KW.Modify);
    assert.equal(keywordAt(s, 2, 9), 0);
    assert.equal(keywordAt(s, 5, 5), 0);
  });

  test('SafeChar class (Annex B)', () => {
    const safe = "abcXYZ019+-&!_/'?@^`~*$\\()%|.";
    for (const ch of safe) assert.equal(SAFE[ch.charCodeAt(0)], 1, ch);
    for (const ch of ' \t\r\n;[]{}:,#<>="') assert.equal(SAFE[ch.charCodeAt(0)], 0, JSON.stringify(ch));
    assert.ok(isSafeText('ip/1'));
    assert.ok(!isSafeText(''));
    assert.ok(!isSafeText('a b'));
    assert.ok(!isSafeText('caf\u00e9'));
  });
});
