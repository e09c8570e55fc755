import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../../config/loader.js';
import { renderConfigDoc } from '../../config/doc.js';
import { METRIC_DEFS, renderMetricsDoc } from '../../daemon/observe/metrics.js';
import { documentRows } from '../../config/schema-dsl.js';
import { configSchema } from '../../config/schema.js';

const root = packageRoot();
const read = (p: string) => readFileSync(join(root, p), 'utf8');

test('docs/CONFIG.md is generated from the schema and up to date (run `npm run docs`)', () => {
  assert.equal(read('docs/CONFIG.md'), renderConfigDoc());
  for (const row of documentRows(configSchema)) assert.ok(read('docs/CONFIG.md').includes(`\`${row.path}\``), row.path);
});

test('docs/METRICS.md is generated from the one metrics list and up to date (run `npm run docs`)', () => {
  const doc = read('docs/METRICS.md');
  assert.equal(doc, renderMetricsDoc());
  for (const d of Object.values(METRIC_DEFS)) assert.ok(doc.includes(`\`${d.name}\``), d.name);
});

test('metric names follow Prometheus conventions (trgwd_ prefix, _total on counters, base units)', () => {
  for (const d of Object.values(METRIC_DEFS)) {
    assert.match(d.name, /^trgwd_[a-z0-9_]+$/, d.name);
    if (d.type === 'counter') assert.match(d.name, /_total$/, d.name);
    else assert.doesNotMatch(d.name, /_total$/, d.name);
    assert.doesNotMatch(d.name, /_(ms|milliseconds|kb|mb)(_|$)/, `${d.name}: use base units`);
  }
});

test('docs/ARCHITECTURE.md and docs/PROFILE.md exist', () => {
  assert.match(read('docs/ARCHITECTURE.md'), /Rules of the house/);
  assert.match(read('docs/PROFILE.md'), /The H.248 profile trgwd implements/);
});
