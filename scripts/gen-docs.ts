/**
 * Generates docs/CONFIG.md (from config/schema.ts) and docs/METRICS.md (from
 * daemon/observe/metrics.ts). `npm run docs`; test/unit/docs.test.ts fails when they are stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config/loader.js';
import { renderConfigDoc } from '../config/doc.js';
import { renderMetricsDoc } from '../daemon/observe/metrics.js';

const root = packageRoot();
writeFileSync(join(root, 'docs', 'CONFIG.md'), renderConfigDoc());
writeFileSync(join(root, 'docs', 'METRICS.md'), renderMetricsDoc());
console.log('wrote docs/CONFIG.md and docs/METRICS.md');
