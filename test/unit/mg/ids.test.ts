import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ContextIdAllocator, MAX_CONTEXT_ID, TerminationNamer, isRoot, isWildcard, matchesWildcard } from '../../../daemon/mg/ids.js';

test('wildcards: * matches any run (also /), case-insensitive; ROOT is never matched', () => {
  assert.equal(matchesWildcard('*', 'ip/1'), true);
  assert.equal(matchesWildcard('ip/*', 'ip/12'), true);
  assert.equal(matchesWildcard('IP/*', 'ip/12'), true);
  assert.equal(matchesWildcard('ip/1*', 'ip/1'), true);
  assert.equal(matchesWildcard('ip/1*', 'ip/10'), true);
  assert.equal(matchesWildcard('ip/1*', 'ip/21'), false);
  assert.equal(matchesWildcard('*/2', 'ip/2'), true);
  assert.equal(matchesWildcard('*/2', 'ip/12'), false);
  assert.equal(matchesWildcard('i*1*', 'ip/111'), true);
  assert.equal(matchesWildcard('foo/*', 'ip/1'), false);
  assert.equal(matchesWildcard('*', 'ROOT'), false);
  assert.equal(isRoot('root'), true);
  assert.equal(isWildcard('ip/*'), true);
  assert.equal(isWildcard('ip/1'), false);
});

test('context ids: increasing, never one in use, wrap below the reserved values', () => {
  const a = new ContextIdAllocator();
  const live = new Set<number>();
  for (let i = 0; i < 3; i++) live.add(a.allocate((n) => live.has(n), live.size)!);
  assert.deepEqual([...live], [1, 2, 3]);
  const wrap = new ContextIdAllocator(MAX_CONTEXT_ID);
  const used = new Set([1]);
  assert.equal(wrap.allocate((n) => used.has(n), used.size), MAX_CONTEXT_ID);
  assert.equal(wrap.allocate((n) => used.has(n), used.size), 2, 'wraps to 1, skips the one in use');
  assert.equal(wrap.allocate(() => true, MAX_CONTEXT_ID), undefined);
});

test('termination names ip/<n> are never reused', () => {
  const n = new TerminationNamer();
  assert.equal(n.next(), 'ip/1');
  assert.equal(n.next(), 'ip/2');
  assert.equal(n.issued, 2);
});
