import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SessionCache } from '../../../daemon/tls/session-cache.js';

describe('SessionCache', () => {
  it('keeps at most maxEntries, dropping the least recently used', () => {
    const c = new SessionCache<number>(2, 1000, () => 0);
    c.set('a', 1);
    c.set('b', 2);
    assert.equal(c.get('a'), 1); // a is now the most recent
    c.set('c', 3);
    assert.equal(c.get('b'), undefined);
    assert.equal(c.get('a'), 1);
    assert.equal(c.get('c'), 3);
    assert.equal(c.size, 2);
  });

  it('forgets entries past their lifetime', () => {
    let now = 0;
    const c = new SessionCache<string>(10, 100, () => now);
    c.set('k', 'v');
    now = 99;
    assert.equal(c.get('k'), 'v');
    now = 100;
    assert.equal(c.get('k'), undefined);
    assert.equal(c.size, 0);
  });

  it('size 0 caches nothing; delete and clear', () => {
    const z = new SessionCache<number>(0, 100);
    z.set('a', 1);
    assert.equal(z.get('a'), undefined);
    const c = new SessionCache<number>(4, 100);
    c.set('a', 1);
    c.set('b', 2);
    c.delete('a');
    assert.equal(c.get('a'), undefined);
    c.clear();
    assert.equal(c.size, 0);
  });
});
