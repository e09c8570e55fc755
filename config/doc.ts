/** docs/CONFIG.md, generated from the schema so the page cannot drift from the checks. */
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH } from './loader.js';
import { configSchema } from './schema.js';
import { documentRows } from './schema-dsl.js';

export function renderConfigDoc(): string {
  const rows = documentRows(configSchema)
    .map((r) => `| \`${r.path}\` | ${r.type.replace(/\|/g, '\\|')} | ${r.default.replace(/\|/g, '\\|')} | ${r.doc.replace(/\|/g, '\\|')} |`)
    .join('\n');
  return `# Configuration

Generated from \`config/schema.ts\` (\`npm run docs\`); a test fails when this page and the schema differ.

trgwd reads one YAML file: \`--config FILE\` (or the environment variable \`TRGWD_CONFIG\`), else the
embedded default \`config/default.yaml\`, which runs on loopback as it is. Keys missing from the file take
the defaults below. Then, later winning:

- environment variables \`TRGWD_<PATH>\`, path segments joined by \`__\`, case-insensitive, values in YAML:
  \`TRGWD_CONTROL__LISTEN__PORT=3944\`, \`TRGWD_LOG__LEVEL=debug\`;
- \`--set key=value\` (repeatable), a dotted path and a YAML value:
  \`--set control.listen.port=3944\`, \`--set 'control.controllers=[{address: 127.0.0.1, port: 3945}]'\`,
  \`--set control.controllers.0.port=2946\`.

\`trgwd check-config\` prints the effective configuration, or every error with its path
(\`media.realms.access.ports: expected [low, high] with low <= high ...\`) and exits 1.

## Keys

| key | type | default | meaning |
|---|---|---|---|
${rows}

## The embedded default (\`config/default.yaml\`)

\`\`\`yaml
${readFileSync(DEFAULT_CONFIG_PATH, 'utf8').trimEnd()}
\`\`\`
`;
}
