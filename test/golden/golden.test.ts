/**
 * Golden transcripts (test/golden/transcripts/*.h248, format in test/golden/README.md) played against
 * a daemon spawned from source, over UDP and over TCP (TPKT). Transcripts with the same @config and
 * @controllers share one daemon per transport (registered once by the harness); @fresh ones get
 * their own daemon and play the registration themselves; @isolated ones get their own daemon, which the
 * harness registers.
 *
 * GOLDEN=<substring> plays only the transcripts whose file name contains it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GoldenSession, parseTranscript, type Transcript } from './harness.js';

const DIR = fileURLToPath(new URL('./transcripts/', import.meta.url));
const only = process.env['GOLDEN'];

const transcripts: Transcript[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.h248') && (only === undefined || f.includes(only)))
  .sort()
  .map((f) => parseTranscript(join(DIR, f)));

interface Group {
  readonly key: string;
  readonly config: string[];
  readonly controllers: number;
  readonly fresh: boolean;
  readonly items: Transcript[];
}

function groups(transport: 'udp' | 'tcp'): Group[] {
  const out = new Map<string, Group>();
  for (const t of transcripts) {
    if (!t.transports.includes(transport)) continue;
    const key = t.fresh || t.isolated ? `own:${t.name}` : JSON.stringify([t.config, t.controllers]);
    let g = out.get(key);
    if (g === undefined) {
      g = { key, config: t.config, controllers: t.controllers, fresh: t.fresh, items: [] };
      out.set(key, g);
    }
    g.items.push(t);
  }
  return [...out.values()];
}

for (const transport of ['udp', 'tcp'] as const) {
  describe(`golden transcripts over ${transport}`, () => {
    for (const g of groups(transport)) {
      // A group whose transcripts are all skipped needs no daemon.
      const skipAll = g.items.every((t) => t.skip !== undefined);
      describe(
        g.key.startsWith('own:')
          ? `${g.items[0]!.name} (own daemon)`
          : `daemon ${g.config.length > 0 ? g.config.join(' ') : 'default config'}`,
        () => {
          const session = new GoldenSession(transport, g.controllers);
          before(() => (skipAll ? undefined : session.start(g.config, !g.fresh)), { timeout: 30_000 });
          after(async () => {
            if (skipAll) return;
            const code = await session.close();
            assert.equal(code, 0, `the daemon exited with ${code}; stderr:\n${session.daemon?.stderr ?? ''}`);
          });
          for (const t of g.items) {
            test(
              `${t.name}: ${t.title}`,
              { timeout: 30_000, ...(t.skip !== undefined ? { skip: t.skip } : {}) },
              () => session.play(t),
            );
          }
        },
      );
    }
  });
}
