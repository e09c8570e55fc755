/**
 * Loads the effective configuration, in order of precedence (later wins):
 *   1. the file given by --config (or TRGWD_CONFIG), else the embedded config/default.yaml;
 *   2. environment variables TRGWD_<PATH>, path segments joined by `__`
 *      (TRGWD_CONTROL__LISTEN__PORT=3944), values parsed as YAML;
 *   3. --set key=value, a dotted path and a YAML value (--set 'media.realms.access.ports=[5,1]').
 * Then every key is validated against the one schema (config/schema.ts) and defaults are filled.
 * Problems are collected, never thrown one at a time, so `check-config` can show them all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type TrgwdConfig } from './schema.js';
import { validate, type ConfigIssue, type ObjectNode, type SchemaNode } from './schema-dsl.js';

export type { ConfigIssue } from './schema-dsl.js';
export type { TrgwdConfig } from './schema.js';

/** The repository (or installed package) root: the nearest folder above this module with package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('trgwd: cannot find package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export const DEFAULT_CONFIG_PATH = join(packageRoot(), 'config', 'default.yaml');

export interface LoadOptions {
  /** Config file; undefined → TRGWD_CONFIG from env, else the embedded default. */
  file?: string | undefined;
  /** `key=value` strings from --set. */
  sets?: readonly string[];
  /** Environment to read TRGWD_* from (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export type LoadResult =
  | { ok: true; config: TrgwdConfig; source: string }
  | { ok: false; issues: ConfigIssue[]; source: string };

export function loadConfig(opts: LoadOptions = {}): LoadResult {
  const env = opts.env ?? process.env;
  const source = opts.file ?? env.TRGWD_CONFIG ?? DEFAULT_CONFIG_PATH;
  const issues: ConfigIssue[] = [];

  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, source, issues: [{ path: '(file)', message: `cannot read ${source}: ${err.code ?? err.message}` }] };
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true }) ?? {};
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos ? ` at line ${e.linePos[0].line} col ${e.linePos[0].col}` : '';
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { ok: false, source, issues: [{ path: '(file)', message: `${source}: YAML error${where}: ${msg}` }] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, source, issues: [{ path: '(root)', message: `${source}: expected a mapping at the top` }] };
  }
  const tree = raw as Record<string, unknown>;

  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('TRGWD_') || name === 'TRGWD_CONFIG' || value === undefined) continue;
    const segments = name.slice('TRGWD_'.length).split('__');
    // Only variables that name a configuration key are ours; others (tooling) are left alone.
    if (resolveSegment(configSchema, segments[0] ?? '') === undefined) continue;
    applySet(tree, segments, value, `environment ${name}`, issues, true);
  }

  for (const set of opts.sets ?? []) {
    const eq = set.indexOf('=');
    if (eq <= 0) {
      issues.push({ path: '(--set)', message: `expected key=value, got ${JSON.stringify(set)}` });
      continue;
    }
    applySet(tree, set.slice(0, eq).split('.'), set.slice(eq + 1), `--set ${set.slice(0, eq)}`, issues, false);
  }
  if (issues.length > 0) return { ok: false, source, issues };

  const result = validate(configSchema, tree);
  if (!result.ok) return { ok: false, source, issues: result.issues };
  const cross = crossCheck(result.value);
  if (cross.length > 0) return { ok: false, source, issues: cross };
  return { ok: true, config: result.value, source };
}

/** Like loadConfig, but throws a readable Error listing every issue. For tests and embedding. */
export function loadConfigOrThrow(opts: LoadOptions = {}): TrgwdConfig {
  const r = loadConfig(opts);
  if (r.ok) return r.config;
  throw new Error(`invalid configuration (${r.source}):\n${formatIssues(r.issues)}`);
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('\n');
}

/** Checks that involve more than one key. */
function crossCheck(c: TrgwdConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (!(c.media.defaultRealm in c.media.realms)) {
    issues.push({
      path: 'media.defaultRealm',
      message: `names no configured realm (realms: ${Object.keys(c.media.realms).join(', ')})`,
    });
  }
  const realms = Object.entries(c.media.realms);
  for (let i = 0; i < realms.length; i++) {
    for (let j = i + 1; j < realms.length; j++) {
      const [na, a] = realms[i]!;
      const [nb, b] = realms[j]!;
      if (a.address === b.address && a.ports[0] <= b.ports[1] && b.ports[0] <= a.ports[1]) {
        issues.push({ path: `media.realms.${nb}.ports`, message: `overlaps realm ${na} on ${a.address}` });
      }
    }
  }
  if (c.control.timers.maxRetransmitMs < c.control.timers.initialRetransmitMs) {
    issues.push({ path: 'control.timers.maxRetransmitMs', message: 'must be >= control.timers.initialRetransmitMs' });
  }
  return issues;
}

type Fields = Record<string, SchemaNode<unknown>>;

/** Finds the schema key matching `segment` case-insensitively (env variables are upper case). */
function resolveSegment(node: SchemaNode<unknown>, segment: string): string | undefined {
  const fields = (node as ObjectNode<Fields>).fields;
  if (!fields) return undefined;
  const lower = segment.toLowerCase();
  return Object.keys(fields).find((k) => k.toLowerCase() === lower);
}

function applySet(
  tree: Record<string, unknown>,
  segments: string[],
  valueText: string,
  origin: string,
  issues: ConfigIssue[],
  caseInsensitive: boolean,
): void {
  if (segments.some((s) => s.length === 0)) {
    issues.push({ path: segments.join('.'), message: `${origin}: empty path segment` });
    return;
  }
  let value: unknown;
  try {
    value = parseYaml(valueText);
  } catch (e) {
    issues.push({ path: segments.join('.'), message: `${origin}: value is not valid YAML: ${(e as Error).message.split('\n')[0]}` });
    return;
  }
  let node: SchemaNode<unknown> | undefined = configSchema;
  let cursor: Record<string, unknown> | unknown[] = tree;
  const path: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    let seg = segments[i]!;
    const n = node as (SchemaNode<unknown> & { fields?: Fields; item?: SchemaNode<unknown>; value?: SchemaNode<unknown> }) | undefined;
    if (n?.fields) {
      const key = caseInsensitive ? resolveSegment(n, seg) : seg in n.fields ? seg : undefined;
      if (key === undefined) {
        issues.push({ path: [...path, seg].join('.'), message: `${origin}: unknown key (known keys here: ${Object.keys(n.fields).join(', ')})` });
        return;
      }
      seg = key;
      node = n.fields[key];
    } else if (n?.kind === 'record') {
      if (caseInsensitive && !Array.isArray(cursor)) {
        const existing = Object.keys(cursor).find((k) => k.toLowerCase() === seg.toLowerCase());
        seg = existing ?? seg.toLowerCase();
      }
      node = n.value;
    } else if (n?.kind === 'array') {
      if (!/^\d+$/.test(seg)) {
        issues.push({ path: [...path, seg].join('.'), message: `${origin}: expected a list index` });
        return;
      }
      node = n.item;
    } else {
      issues.push({ path: [...path, seg].join('.'), message: `${origin}: ${path.join('.')} has no sub-keys` });
      return;
    }
    path.push(seg);
    const last = i === segments.length - 1;
    if (Array.isArray(cursor)) {
      const idx = Number(seg);
      if (idx > cursor.length) {
        issues.push({ path: path.join('.'), message: `${origin}: index ${idx} past the end of the list (${cursor.length} items)` });
        return;
      }
      if (last) cursor[idx] = value;
      else {
        if (typeof cursor[idx] !== 'object' || cursor[idx] === null) cursor[idx] = nodeIsArray(node) ? [] : {};
        cursor = cursor[idx] as Record<string, unknown> | unknown[];
      }
    } else {
      if (last) cursor[seg] = value;
      else {
        const next = cursor[seg];
        if (typeof next !== 'object' || next === null) cursor[seg] = nodeIsArray(node) ? [] : {};
        cursor = cursor[seg] as Record<string, unknown> | unknown[];
      }
    }
  }
}

function nodeIsArray(node: SchemaNode<unknown> | undefined): boolean {
  return node?.kind === 'array';
}
