/**
 * SDES in Local/Remote (daemon/tls/srtp/sdes.ts, PROFILE §4, §9): which a=crypto lines key which
 * direction, the lines the gateway fills or adds, the errors, and the bandwidth it answers. Pure: no
 * sockets, no native addon, a fixed random source.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSdp, type SdpGroup } from '../../../../daemon/control/codec/sdp.js';
import { isTrgwdError } from '../../../../daemon/errors.js';
import { H248_ERRORS } from '../../../../daemon/control/errors.js';
import { parseCryptoAttr } from '../../../../daemon/tls/srtp/crypto-attr.js';
import {
  DEFAULT_SDES_SUITE,
  chooseCrypto,
  cryptoValues,
  hasCryptoLine,
  packetRate,
  prepareSdes,
  raiseBandwidth,
  usableLines,
} from '../../../../daemon/tls/srtp/sdes.js';
import { SRTP_SUITES, suiteKeyLengths, type SrtpSuite } from '../../../../daemon/tls/srtp/suites.js';

/** Deterministic "random" octets: 1, 2, 3, ... (each call starts over). */
const fixed = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i + 1) & 0xff);
/** The key||salt `fixed` gives for a suite, as SDES writes it. */
const fixedKey = (suite: SrtpSuite): string => {
  const { key, salt } = suiteKeyLengths(suite);
  return Buffer.from(fixed(key + salt)).toString('base64');
};
/** A valid key||salt for a suite, different from `fixedKey`. */
const keyOf = (suite: SrtpSuite, fill = 0x42): string => {
  const { key, salt } = suiteKeyLengths(suite);
  return Buffer.alloc(key + salt, fill).toString('base64');
};
const line = (tag: number, suite: SrtpSuite, extra = '', fill = 0x42): string =>
  `${tag} ${suite} inline:${keyOf(suite, fill)}${extra}`;

/** An H.248 partial SDP (no v=) with one audio m= line and `lines` after it. */
function sdp(lines: readonly string[], proto = 'RTP/SAVP', session: readonly string[] = []): SdpGroup[] {
  return parseSdp(['c=IN IP4 127.0.0.1', ...session, `m=audio 4000 ${proto} 0`, ...lines, ''].join('\r\n'));
}
const cryptos = (lines: readonly string[]): string[] => lines.map((l) => `a=crypto:${l}`);

function m0(groups: readonly SdpGroup[]): NonNullable<SdpGroup['media'][number]> {
  const m = groups[0]?.media[0];
  assert.ok(m !== undefined);
  return m;
}

/** Asserts that fn throws a TrgwdError with `code` that maps to H.248 error 449 (or `h248`). */
function throwsCode(fn: () => unknown, code: string, h248 = 449, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isTrgwdError(e), `a TrgwdError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(H248_ERRORS[e.code as keyof typeof H248_ERRORS]?.h248, h248);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

describe('cryptoValues / hasCryptoLine', () => {
  it('reads the first media section’s a=crypto, else the session’s', () => {
    assert.deepEqual(cryptoValues(sdp(cryptos([line(1, DEFAULT_SDES_SUITE)]))), [
      line(1, DEFAULT_SDES_SUITE),
    ]);
    const atSession = sdp([], 'RTP/SAVP', cryptos([line(2, DEFAULT_SDES_SUITE)]));
    assert.deepEqual(cryptoValues(atSession), [line(2, DEFAULT_SDES_SUITE)]);
    // media level wins over session level
    const both = sdp(
      cryptos([line(3, DEFAULT_SDES_SUITE)]),
      'RTP/SAVP',
      cryptos([line(2, DEFAULT_SDES_SUITE)]),
    );
    assert.deepEqual(cryptoValues(both), [line(3, DEFAULT_SDES_SUITE)]);
    assert.deepEqual(cryptoValues(undefined), []);
    assert.deepEqual(cryptoValues([]), []);
    assert.equal(hasCryptoLine(sdp([])), false);
    assert.equal(hasCryptoLine(both), true);
  });
});

describe('usableLines', () => {
  it('keeps what parses, skips templates ($), malformed lines and other suites, and says why', () => {
    const errors: string[] = [];
    const values = [
      line(1, 'AES_CM_128_HMAC_SHA1_80'),
      '2 AES_CM_128_HMAC_SHA1_80 inline:$',
      `3 AES_CM_128_HMAC_SHA1_80 inline:${keyOf('AEAD_AES_128_GCM')}`, // 28 octets: wrong length
      `4 F8_128_HMAC_SHA1_80 inline:${keyOf('AES_CM_128_HMAC_SHA1_80')}`,
      line(5, 'AEAD_AES_256_GCM'),
    ];
    const got = usableLines(values, errors);
    assert.deepEqual(
      got.map((l) => [l.crypto.tag, l.crypto.suite, l.text]),
      [
        [1, 'AES_CM_128_HMAC_SHA1_80', values[0]],
        [5, 'AEAD_AES_256_GCM', values[4]],
      ],
    );
    assert.equal(errors.length, 2, errors.join('; '));
    assert.match(errors[0]!, /28 octets/);
    assert.match(errors[1]!, /F8_128_HMAC_SHA1_80/);
    assert.deepEqual(usableLines([]), []);
  });
});

describe('chooseCrypto', () => {
  const l1 = line(1, 'AES_CM_128_HMAC_SHA1_80', '', 1);
  const l2 = line(2, 'AES_CM_128_HMAC_SHA1_32', '', 2);
  const r1 = line(1, 'AEAD_AES_128_GCM', '', 3);
  const r2 = line(2, 'AES_CM_128_HMAC_SHA1_32', '', 4);

  it('pairs the Local and Remote lines with the same tag (RFC 4568 §5.1.2)', () => {
    const c = chooseCrypto([l2], [r1, r2]);
    assert.equal(c.local?.text, l2);
    assert.equal(c.remote?.text, r2);
    const d = chooseCrypto([l1, l2], [r2, r1]);
    assert.equal(d.local?.text, l1, 'the first Local line with a match');
    assert.equal(d.remote?.text, r1);
  });

  it('one usable line each without a common tag: those two; several: none', () => {
    const r5 = line(5, 'AES_CM_128_HMAC_SHA1_80', '', 5);
    const c = chooseCrypto([l1], [r5]);
    assert.equal(c.local?.text, l1);
    assert.equal(c.remote?.text, r5);
    const d = chooseCrypto([l1, l2], [r5]);
    assert.equal(d.local, undefined);
    assert.equal(d.remote, undefined);
  });

  it('unusable lines do not count: a malformed Remote tag 1 leaves tag 2 to match', () => {
    const bad1 = `1 AES_CM_128_HMAC_SHA1_80 inline:${keyOf('AEAD_AES_128_GCM')}`;
    const c = chooseCrypto([l2], [bad1, r2]);
    assert.equal(c.remote?.text, r2);
    // and one usable line left on each side (tags differ): still paired
    const e = chooseCrypto([l1], ['1 F8_128_HMAC_SHA1_80 inline:x', r2]);
    assert.equal(e.local?.text, l1);
    assert.equal(e.remote?.text, r2);
  });

  it('one side empty: the other side’s first usable line, nothing for the empty one', () => {
    assert.deepEqual(
      [chooseCrypto([l1, l2], []).local?.text, chooseCrypto([l1, l2], []).remote],
      [l1, undefined],
    );
    assert.deepEqual(
      [chooseCrypto([], [r1, r2]).local, chooseCrypto([], [r1, r2]).remote?.text],
      [undefined, r1],
    );
    assert.deepEqual(chooseCrypto(['1 AES_CM_128_HMAC_SHA1_80 inline:$'], []), {
      local: undefined,
      remote: undefined,
    });
  });
});

describe('prepareSdes: filling Local', () => {
  it('inline:$ becomes a key from the random source; the line keys our direction', () => {
    const remote = sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80')]));
    const local = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']);
    const c = prepareSdes(local, remote, undefined, { random: fixed });
    const filled = `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')}`;
    assert.deepEqual(cryptoValues(local), [filled]);
    assert.equal(c.local?.text, filled);
    assert.equal(c.remote?.text, line(1, 'AES_CM_128_HMAC_SHA1_80'));
    assert.equal(m0(local).getAttribute('crypto'), filled, 'written into the media section');
  });

  it('without a random source the key comes from the CSPRNG (two fills differ)', () => {
    const a = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']);
    const b = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']);
    prepareSdes(a, undefined, undefined);
    prepareSdes(b, undefined, undefined);
    assert.match(cryptoValues(a)[0]!, /^1 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    assert.notEqual(cryptoValues(a)[0], cryptoValues(b)[0]);
  });

  it('every suite: a key of the suite’s length', () => {
    for (const suite of SRTP_SUITES) {
      const local = sdp([`a=crypto:7 ${suite} inline:$`]);
      prepareSdes(local, undefined, undefined, { random: fixed });
      const v = cryptoValues(local)[0]!;
      assert.equal(v, `7 ${suite} inline:${fixedKey(suite)}`);
      const { key, salt } = suiteKeyLengths(suite);
      assert.equal(parseCryptoAttr(v).keys[0]!.keySalt.length, key + salt);
    }
  });

  it('keeps the lifetime and MKI of the template', () => {
    const local = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$|2^20|1:4']);
    prepareSdes(local, undefined, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')}|2^20|1:4`,
    ]);
    const k = parseCryptoAttr(cryptoValues(local)[0]!).keys[0]!;
    assert.equal(k.lifetime, 2 ** 20);
    assert.deepEqual(k.mki, { value: 1n, length: 4 });
  });

  it('$ tag and $ suite take the Remote line’s (the first usable one); $ tag with a suite takes that suite’s line', () => {
    const remote = sdp(
      cryptos([
        `9 F8_128_HMAC_SHA1_80 inline:${keyOf('AES_CM_128_HMAC_SHA1_80')}`,
        line(4, 'AEAD_AES_256_GCM'),
        line(6, 'AES_CM_128_HMAC_SHA1_32'),
      ]),
    );
    const local = sdp(['a=crypto:$ $ inline:$']);
    const c = prepareSdes(local, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [`4 AEAD_AES_256_GCM inline:${fixedKey('AEAD_AES_256_GCM')}`]);
    assert.equal(c.remote?.crypto.tag, 4);

    const bySuite = sdp(['a=crypto:$ AES_CM_128_HMAC_SHA1_32 inline:$']);
    prepareSdes(bySuite, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(bySuite), [
      `6 AES_CM_128_HMAC_SHA1_32 inline:${fixedKey('AES_CM_128_HMAC_SHA1_32')}`,
    ]);

    const byTag = sdp(['a=crypto:6 $ inline:$']);
    prepareSdes(byTag, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(byTag), [
      `6 AES_CM_128_HMAC_SHA1_32 inline:${fixedKey('AES_CM_128_HMAC_SHA1_32')}`,
    ]);
  });

  it('$ tag and $ suite without a Remote: tag 1 and the mandatory AES_CM_128_HMAC_SHA1_80', () => {
    const local = sdp(['a=crypto:$ $ inline:$']);
    prepareSdes(local, undefined, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')}`,
    ]);
  });

  it('a Local without a=crypto while Remote has lines: a line answering the first usable Remote one is added', () => {
    const remote = sdp(
      cryptos([
        `1 AES_CM_128_HMAC_SHA1_80 inline:${keyOf('AEAD_AES_128_GCM')}`,
        line(3, 'AEAD_AES_128_GCM'),
        line(4, 'AES_CM_128_HMAC_SHA1_80'),
      ]),
    );
    const local = sdp(['a=ptime:20']);
    const c = prepareSdes(local, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [`3 AEAD_AES_128_GCM inline:${fixedKey('AEAD_AES_128_GCM')}`]);
    assert.equal(c.local?.crypto.tag, 3);
    assert.equal(c.remote?.crypto.tag, 3);
    assert.equal(c.remote?.crypto.suite, 'AEAD_AES_128_GCM');
  });

  it('session parameters: copied from the peer’s line (they bind both directions), unless the controller gave some', () => {
    const remote = sdp(
      cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80', ' UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP WSH=256')]),
    );
    const local = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']);
    prepareSdes(local, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')} UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP`,
    ]);
    const added = sdp([]);
    prepareSdes(added, remote, undefined, { random: fixed });
    assert.match(cryptoValues(added)[0]!, / UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP$/);
    const own = sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$ UNENCRYPTED_SRTP']);
    prepareSdes(own, remote, undefined, { random: fixed });
    assert.match(cryptoValues(own)[0]!, /inline:\S+ UNENCRYPTED_SRTP$/);
  });

  it('lines already keyed are left as they are; several lines are each filled', () => {
    const given = line(2, 'AES_CM_128_HMAC_SHA1_80', '', 9);
    const remote = sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80'), line(2, 'AES_CM_128_HMAC_SHA1_80')]));
    const local = sdp(cryptos(['1 AES_CM_128_HMAC_SHA1_80 inline:$', given]));
    const c = prepareSdes(local, remote, undefined, { random: fixed });
    assert.deepEqual(cryptoValues(local), [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')}`,
      given,
    ]);
    assert.equal(c.local?.crypto.tag, 1);
    assert.equal(c.remote?.crypto.tag, 1);
  });

  it('a session-level template is filled too', () => {
    const local = sdp([], 'RTP/SAVP', ['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']);
    prepareSdes(local, undefined, undefined, { random: fixed });
    assert.deepEqual(local[0]!.session.getAttributes('crypto'), [
      `1 AES_CM_128_HMAC_SHA1_80 inline:${fixedKey('AES_CM_128_HMAC_SHA1_80')}`,
    ]);
  });

  it('Local unchanged (undefined): the stream’s current Local pairs with the new Remote; nothing is filled', () => {
    const current = sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80', '', 1)]));
    const remote = sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80', '', 2)]));
    const c = prepareSdes(undefined, remote, current, { random: fixed });
    assert.equal(c.local?.text, line(1, 'AES_CM_128_HMAC_SHA1_80', '', 1));
    assert.equal(c.remote?.text, line(1, 'AES_CM_128_HMAC_SHA1_80', '', 2));
  });
});

describe('prepareSdes: errors (449, or 472 when the Local line is missing)', () => {
  const remoteOk = sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80')]));

  it('a Remote whose only line is malformed (wrong key length)', () => {
    const remote = sdp(cryptos([`1 AES_CM_128_HMAC_SHA1_80 inline:${keyOf('AEAD_AES_128_GCM')}`]));
    throwsCode(
      () =>
        prepareSdes(sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$']), remote, undefined, {
          random: fixed,
        }),
      'ERR_SRTP_CRYPTO_ATTR',
      449,
      /no usable Remote a=crypto line: .*28 octets/,
    );
  });

  it('a Remote with only an unsupported suite', () => {
    const remote = sdp(cryptos([`1 F8_128_HMAC_SHA1_80 inline:${keyOf('AES_CM_128_HMAC_SHA1_80')}`]));
    throwsCode(
      () => prepareSdes(sdp([]), remote, undefined),
      'ERR_SRTP_CRYPTO_ATTR',
      449,
      /F8_128_HMAC_SHA1_80/,
    );
  });

  it('a Local template with an unsupported suite', () => {
    throwsCode(
      () => prepareSdes(sdp(['a=crypto:1 F8_128_HMAC_SHA1_80 inline:$']), remoteOk, undefined),
      'ERR_SRTP_SUITE_UNSUPPORTED',
    );
  });

  it('a Local with two lines whose tags match no Remote line', () => {
    throwsCode(
      () =>
        prepareSdes(
          sdp(['a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:$', 'a=crypto:6 AES_CM_128_HMAC_SHA1_32 inline:$']),
          remoteOk,
          undefined,
          { random: fixed },
        ),
      'ERR_SRTP_CRYPTO_ATTR',
      449,
      /tag/,
    );
  });

  it('a malformed Local template (no inline:, too few fields) or a malformed given Local line', () => {
    throwsCode(
      () => prepareSdes(sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 $']), remoteOk, undefined),
      'ERR_SRTP_CRYPTO_ATTR',
    );
    throwsCode(() => prepareSdes(sdp(['a=crypto:1 inline:$']), remoteOk, undefined), 'ERR_SRTP_CRYPTO_ATTR');
    throwsCode(
      () =>
        prepareSdes(sdp(['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$|2^99']), remoteOk, undefined, {
          random: fixed,
        }),
      'ERR_SRTP_CRYPTO_ATTR',
    );
    throwsCode(
      () =>
        prepareSdes(
          sdp(cryptos([`1 AES_CM_128_HMAC_SHA1_80 inline:${keyOf('AEAD_AES_256_GCM')}`])),
          remoteOk,
          undefined,
        ),
      'ERR_SRTP_CRYPTO_ATTR',
      449,
      /no usable Local/,
    );
  });

  it('no Local a=crypto and nothing to answer: 472', () => {
    throwsCode(() => prepareSdes(sdp([]), undefined, undefined), 'ERR_MG_REQUIRED_INFO_MISSING', 472);
    throwsCode(() => prepareSdes(undefined, remoteOk, undefined), 'ERR_MG_REQUIRED_INFO_MISSING', 472);
  });
});

describe('packetRate', () => {
  it('1000 / a=ptime, default 20 ms; media level over session level; nonsense ignored', () => {
    assert.equal(packetRate(m0(sdp([]))), 50);
    assert.equal(packetRate(m0(sdp(['a=ptime:20']))), 50);
    assert.equal(packetRate(m0(sdp(['a=ptime:40']))), 25);
    assert.equal(packetRate(m0(sdp(['a=ptime:30']))), 1000 / 30);
    assert.equal(packetRate(m0(sdp(['a=ptime:10']))), 100);
    const s = sdp([], 'RTP/SAVP', ['a=ptime:60']);
    assert.equal(packetRate(m0(s), s[0]!.session), 1000 / 60);
    const both = sdp(['a=ptime:10'], 'RTP/SAVP', ['a=ptime:60']);
    assert.equal(packetRate(m0(both), both[0]!.session), 100);
    for (const bad of ['0', '-20', 'x', '']) assert.equal(packetRate(m0(sdp([`a=ptime:${bad}`]))), 50, bad);
    assert.equal(packetRate(undefined), 50);
  });
});

describe('raiseBandwidth', () => {
  it('b=AS += ceil(octets·8·rate / 1000), b=TIAS += octets·8·rate, at both levels; RS/RR untouched', () => {
    const g = sdp(['b=AS:38', 'b=TIAS:30000', 'b=RS:800', 'b=RR:2000', 'a=ptime:20'], 'RTP/SAVP', [
      'b=AS:100',
    ]);
    raiseBandwidth(g, 10);
    assert.equal(m0(g).bandwidth('AS'), 42);
    assert.equal(m0(g).bandwidth('TIAS'), 34000);
    assert.equal(m0(g).bandwidth('RS'), 800);
    assert.equal(m0(g).bandwidth('RR'), 2000);
    assert.equal(g[0]!.session.bandwidth('AS'), 104);
  });

  it('nothing added where there is no b=, and nothing for no overhead', () => {
    const g = sdp(['a=ptime:20']);
    raiseBandwidth(g, 10);
    assert.equal(m0(g).bandwidths().length, 0);
    assert.equal(g[0]!.session.bandwidths().length, 0);
    const z = sdp(['b=AS:38']);
    raiseBandwidth(z, 0);
    assert.equal(m0(z).bandwidth('AS'), 38);
  });

  it('each group at its own packet rate', () => {
    const groups = [...sdp(['b=TIAS:30000', 'a=ptime:20']), ...sdp(['b=TIAS:30000', 'a=ptime:40'])];
    raiseBandwidth(groups, 10);
    assert.deepEqual(
      groups.map((g) => m0([g]).bandwidth('TIAS')),
      [34000, 32000],
    );
  });
});

describe('prepareSdes: bandwidth answered (PROFILE §9)', () => {
  /** b=AS and b=TIAS of Local after prepareSdes with this Remote line and Local lines. */
  function answered(
    remoteLine: string | undefined,
    localLines: readonly string[],
  ): { as?: number; tias?: number } {
    const local = sdp(localLines);
    prepareSdes(local, remoteLine !== undefined ? sdp(cryptos([remoteLine])) : undefined, undefined, {
      random: fixed,
    });
    const out: { as?: number; tias?: number } = {};
    const as = m0(local).bandwidth('AS');
    const tias = m0(local).bandwidth('TIAS');
    if (as !== undefined) out.as = as;
    if (tias !== undefined) out.tias = tias;
    return out;
  }
  const tmpl80 = 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:$';

  it('AES_CM_128_HMAC_SHA1_80 at 20 ms: AMR-WB b=AS:38 → 42, b=TIAS:30000 → 34000', () => {
    const r = line(1, 'AES_CM_128_HMAC_SHA1_80');
    assert.deepEqual(answered(r, ['b=AS:38', 'a=ptime:20', tmpl80]), { as: 42 });
    assert.deepEqual(answered(r, ['b=TIAS:30000', 'a=ptime:20', tmpl80]), { tias: 34000 });
    assert.deepEqual(
      answered(r, ['b=AS:38', 'b=TIAS:30000', tmpl80]),
      { as: 42, tias: 34000 },
      'default ptime 20',
    );
  });

  it('AES_CM_128_HMAC_SHA1_32: 4 octets, 1600 bit/s, b=AS rounds up to +2', () => {
    const r = line(1, 'AES_CM_128_HMAC_SHA1_32');
    const l = 'a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:$';
    assert.deepEqual(answered(r, ['b=AS:38', 'b=TIAS:30000', 'a=ptime:20', l]), { as: 40, tias: 31600 });
  });

  it('AEAD suites: 16 octets, +7 (6.4) and +6400', () => {
    for (const suite of ['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM'] as const) {
      const got = answered(line(1, suite), ['b=AS:38', 'b=TIAS:30000', `a=crypto:1 ${suite} inline:$`]);
      assert.deepEqual(got, { as: 45, tias: 36400 }, suite);
    }
  });

  it('a=ptime:40 halves it', () => {
    const r = line(1, 'AES_CM_128_HMAC_SHA1_80');
    assert.deepEqual(answered(r, ['b=AS:38', 'b=TIAS:30000', 'a=ptime:40', tmpl80]), { as: 40, tias: 32000 });
  });

  it('an MKI adds its length (the peer’s key, the one the packets we receive carry)', () => {
    const r = line(1, 'AES_CM_128_HMAC_SHA1_80', '|1:4');
    // 14 octets at 50/s: 5600 bit/s
    assert.deepEqual(answered(r, ['b=AS:38', 'b=TIAS:30000', `${tmpl80}|2^20|1:4`]), { as: 44, tias: 35600 });
  });

  it('the overhead is the peer’s line’s (what the packets we receive carry), not ours', () => {
    // Local b= is what we receive: SRTP protected with the Remote key (its tag and MKI)
    assert.deepEqual(
      answered(line(1, 'AES_CM_128_HMAC_SHA1_80', '|1:4'), ['b=AS:38', 'b=TIAS:30000', tmpl80]),
      { as: 44, tias: 35600 },
    );
    assert.deepEqual(
      answered(line(1, 'AES_CM_128_HMAC_SHA1_80'), ['b=AS:38', 'b=TIAS:30000', `${tmpl80}|2^20|1:4`]),
      { as: 42, tias: 34000 },
    );
    assert.deepEqual(answered(line(1, 'AES_CM_128_HMAC_SHA1_32'), ['b=AS:38', 'b=TIAS:30000', tmpl80]), {
      as: 40,
      tias: 31600,
    });
  });

  it('without a Remote yet: our own line’s overhead', () => {
    assert.deepEqual(answered(undefined, ['b=AS:38', 'b=TIAS:30000', `${tmpl80}|2^20|2:2`]), {
      as: 43,
      tias: 34800,
    });
  });

  it('no b= in Local: none added; UNAUTHENTICATED_SRTP (no tag) adds nothing', () => {
    assert.deepEqual(answered(line(1, 'AES_CM_128_HMAC_SHA1_80'), ['a=ptime:20', tmpl80]), {});
    assert.deepEqual(
      answered(line(1, 'AES_CM_128_HMAC_SHA1_80', ' UNAUTHENTICATED_SRTP'), ['b=AS:38', tmpl80]),
      { as: 38 },
    );
  });

  it('a Local that is not being set (undefined) is not touched', () => {
    const current = sdp(['b=AS:38', ...cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80', '', 1)])]);
    prepareSdes(undefined, sdp(cryptos([line(1, 'AES_CM_128_HMAC_SHA1_80')])), current);
    assert.equal(m0(current).bandwidth('AS'), 38);
  });
});
