/**
 * The golden transcript player (format: test/golden/README.md). The harness is the controller: it
 * listens where the spawned daemon registers, sends each `-->` message and compares each message the
 * gateway sends (`<--`) with the transcript, after normalising it through our encoder in pretty style.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { appendFileSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { decodeMessage, encodeMessage } from '../../daemon/control/codec/index.js';
import type { ServiceChangeRequest } from '../../daemon/control/codec/model.js';
import {
  TcpControlTransport,
  UdpControlTransport,
  type ControlEndpoint,
  type ControlPeer,
  type ControlTransportKind,
} from '../../daemon/control/transport/index.js';
import { startDaemon, type Daemon } from '../helpers/daemon.js';

// ---------------------------------------------------------------------------------------------
// Transcript files

export interface SendStep {
  readonly kind: 'send';
  readonly line: number;
  readonly mgc: number;
  readonly body: string;
  readonly again: boolean;
  readonly raw: boolean;
  readonly only: ControlTransportKind | undefined;
}

export interface ExpectStep {
  readonly kind: 'expect';
  readonly line: number;
  readonly mgc: number;
  readonly body: string;
  readonly same: boolean;
  readonly none: boolean;
  readonly rawText: boolean;
  readonly withinMs: number;
  readonly only: ControlTransportKind | undefined;
}

export interface PortStep {
  readonly kind: 'bound' | 'free';
  readonly line: number;
  readonly name: string;
  readonly only: ControlTransportKind | undefined;
}

export type Step = SendStep | ExpectStep | PortStep;

export interface Transcript {
  readonly file: string;
  readonly name: string;
  readonly title: string;
  /** `--set` overrides for the daemon (`@config`). */
  readonly config: string[];
  /** Controllers the harness plays (`@controllers N`). */
  readonly controllers: number;
  /** A daemon of its own that the harness does not register (`@fresh`). */
  readonly fresh: boolean;
  /** Transports to play it on (`@transports udp tcp`, default both). */
  readonly transports: ControlTransportKind[];
  /** A daemon of its own, registered by the harness (`@isolated`): for transcripts that may leave state behind. */
  readonly isolated: boolean;
  /** `@skip reason`: reported as skipped (e.g. it needs a daemon feature that does not exist yet). */
  readonly skip: string | undefined;
  readonly steps: Step[];
}

const DEFAULT_WITHIN_MS = 5000;

export function parseTranscript(file: string, text = readFileSync(file, 'utf8')): Transcript {
  const lines = text.split(/\r?\n/);
  const config: string[] = [];
  let controllers = 1;
  let fresh = false;
  let transports: ControlTransportKind[] = ['udp', 'tcp'];
  let skip: string | undefined;
  let isolated = false;
  const titleLines: string[] = [];
  const steps: Step[] = [];
  let current: { head: string; line: number; body: string[] } | undefined;
  const where = (n: number) => `${basename(file)}:${n}`;

  const flush = () => {
    if (current === undefined) return;
    const { head, line } = current;
    const body = current.body.join('\n').replace(/^\n+|\s+$/g, '');
    const words = head
      .slice(3)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    let mgc = 1;
    let only: ControlTransportKind | undefined;
    let withinMs = DEFAULT_WITHIN_MS;
    const flags = new Set<string>();
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (/^mgc\d$/.test(w)) mgc = Number(w.slice(3));
      else if (w === 'udp' || w === 'tcp') only = w;
      else if (w === 'within') {
        withinMs = Number(words[++i]);
        if (!Number.isFinite(withinMs) || withinMs <= 0)
          throw new Error(`${where(line)}: 'within' needs a number of ms`);
      } else flags.add(w);
    }
    if (head.startsWith('-->')) {
      for (const f of flags)
        if (f !== 'again' && f !== 'raw') throw new Error(`${where(line)}: unknown --> option '${f}'`);
      const again = flags.has('again');
      if (again !== (body === ''))
        throw new Error(`${where(line)}: '--> again' has no text; any other --> needs one`);
      steps.push({ kind: 'send', line, mgc, body, again, raw: flags.has('raw'), only });
    } else {
      for (const f of flags)
        if (f !== 'same' && f !== 'none' && f !== 'raw')
          throw new Error(`${where(line)}: unknown <-- option '${f}'`);
      const same = flags.has('same');
      const none = flags.has('none');
      if (!same && !none && body === '')
        throw new Error(`${where(line)}: '<--' needs the expected text (or 'same' / 'none')`);
      steps.push({ kind: 'expect', line, mgc, body, same, none, rawText: flags.has('raw'), withinMs, only });
    }
    current = undefined;
  };

  lines.forEach((raw, i) => {
    const n = i + 1;
    if (raw.startsWith('-->') || raw.startsWith('<--')) {
      flush();
      current = { head: raw, line: n, body: [] };
      return;
    }
    if (raw.startsWith('@')) {
      flush();
      const [directive, ...args] = raw.slice(1).trim().split(/\s+/);
      const rest = raw
        .slice(1)
        .trim()
        .slice((directive ?? '').length)
        .trim();
      switch (directive) {
        case 'config':
          if (rest === '') throw new Error(`${where(n)}: @config key=value`);
          config.push(rest);
          break;
        case 'controllers':
          controllers = Number(args[0]);
          if (!(controllers === 1 || controllers === 2)) throw new Error(`${where(n)}: @controllers 1 or 2`);
          break;
        case 'fresh':
          fresh = true;
          break;
        case 'isolated':
          isolated = true;
          break;
        case 'skip':
          skip = rest || 'skipped';
          break;
        case 'transports':
          transports = args.filter((a): a is ControlTransportKind => a === 'udp' || a === 'tcp');
          if (transports.length === 0) throw new Error(`${where(n)}: @transports udp and/or tcp`);
          break;
        case 'bound':
        case 'free': {
          const m = /^\{\{\s*([\w:.-]+)\s*\}\}(?:\s+(udp|tcp))?$/.exec(rest);
          if (m === null) throw new Error(`${where(n)}: @${directive} {{port:name}} [udp|tcp]`);
          steps.push({
            kind: directive,
            line: n,
            name: m[1]!,
            only: m[2] as ControlTransportKind | undefined,
          });
          break;
        }
        default:
          throw new Error(`${where(n)}: unknown directive @${directive}`);
      }
      return;
    }
    if (current !== undefined) {
      current.body.push(raw);
      return;
    }
    if (raw.startsWith('#')) titleLines.push(raw.replace(/^#\s?/, ''));
    else if (raw.trim() !== '') throw new Error(`${where(n)}: text outside a --> or <-- section`);
  });
  flush();
  return {
    file,
    name: basename(file).replace(/\.[^.]+$/, ''),
    title: titleLines.join(' ').trim(),
    config,
    controllers,
    fresh,
    transports,
    isolated,
    skip,
    steps,
  };
}

// ---------------------------------------------------------------------------------------------
// Matching with placeholders

export type Vars = Map<string, string>;

const PLACEHOLDER = /\{\{\s*([\w:.-]+)\s*\}\}/g;

/** Lines for comparison: trimmed, without blank ones. */
function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches `actual` against `expected` line by line. Placeholders already bound match their value;
 * unbound ones capture one token (no blank, brace, comma or quote) and are bound for the rest of
 * the transcript; `{{any}}` matches anything within its line; a line that is just `...` matches any
 * number of lines (fewest first). Returns the new bindings, or throws an AssertionError showing
 * both texts and the first line that differs.
 */
export function matchText(
  expected: string,
  actual: string,
  vars: Vars,
  context: string,
): Map<string, string> {
  const exp = linesOf(expected);
  const act = linesOf(actual);
  let furthest = { e: -1, a: -1, why: '' };
  const note = (e: number, a: number, why: string) => {
    // The deepest expected line reached is the most telling; among tries of it, the first.
    if (e > furthest.e) furthest = { e, a, why };
  };
  const step = (e: number, a: number, bound: Map<string, string>): Map<string, string> | undefined => {
    if (e === exp.length) {
      if (a === act.length) return bound;
      note(e, a, `unexpected extra lines from: ${act[a]}`);
      return undefined;
    }
    const line = exp[e]!;
    if (line === '...') {
      for (let k = a; k <= act.length; k++) {
        const r = step(e + 1, k, bound);
        if (r !== undefined) return r;
      }
      return undefined;
    }
    if (a === act.length) {
      note(e, a, `missing line: ${line}`);
      return undefined;
    }
    const got = matchLine(line, act[a]!, bound);
    if (got === undefined) {
      note(e, a, `line ${a + 1} differs:\n  expected: ${line}\n  actual:   ${act[a]}`);
      return undefined;
    }
    return step(e + 1, a + 1, got);
  };
  const result = step(0, 0, new Map(vars));
  if (result === undefined) {
    assert.fail(
      `${context}: ${furthest.why}\n--- expected (transcript) ---\n${exp.join('\n')}\n--- actual (normalised) ---\n${act.join('\n')}\n`,
    );
  }
  const fresh = new Map<string, string>();
  for (const [k, v] of result) if (!vars.has(k)) fresh.set(k, v);
  return fresh;
}

/** One expected line against one actual line: the bindings after it, or undefined. */
function matchLine(
  line: string,
  actual: string,
  bound: Map<string, string>,
): Map<string, string> | undefined {
  const names: string[] = [];
  let re = '^';
  let last = 0;
  for (const m of line.matchAll(PLACEHOLDER)) {
    re += escapeRe(line.slice(last, m.index));
    last = m.index + m[0].length;
    const name = m[1]!;
    if (name === 'any') re += '.*?';
    else if (bound.has(name)) re += escapeRe(bound.get(name)!);
    else if (names.includes(name)) re += `\\k<g${names.indexOf(name)}>`;
    else {
      re += `(?<g${names.length}>[^\\s{},"]+)`;
      names.push(name);
    }
  }
  re += `${escapeRe(line.slice(last))}$`;
  const m = new RegExp(re).exec(actual);
  if (m === null) return undefined;
  if (names.length === 0) return bound;
  const out = new Map(bound);
  names.forEach((name, k) => out.set(name, m.groups![`g${k}`]!));
  return out;
}

/** Replaces bound placeholders in text to send; an unbound one is an error naming it. */
export function fill(text: string, vars: Vars, context: string): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => {
    const v = vars.get(name);
    if (v === undefined)
      throw new Error(`${context}: {{${name}}} is not bound yet (bound: ${[...vars.keys()].join(', ')})`);
    return v;
  });
}

/** Normalises a received message: decode, then our pretty encoding. */
export function normalise(bytes: Uint8Array): string {
  return encodeMessage(decodeMessage(bytes), { style: 'pretty' });
}

// ---------------------------------------------------------------------------------------------
// The controller side: one listening endpoint per controller

interface Received {
  readonly bytes: Buffer;
  readonly peer: ControlPeer;
}

export class ControllerPipe {
  readonly kind: ControlTransportKind;
  readonly #transport: UdpControlTransport | TcpControlTransport;
  readonly #queue: Received[] = [];
  #waiter: ((r: Received) => void) | undefined;
  /** Told when a message is queued (`queued()`), without consuming it. */
  #queuedWatchers: (() => void)[] = [];
  /** Where the gateway talks from (its last message), to send it ours. */
  gateway: ControlPeer | undefined;
  endpoint: ControlEndpoint | undefined;

  constructor(kind: ControlTransportKind) {
    this.kind = kind;
    const opts = {
      address: '127.0.0.1',
      port: 0,
      onMessage: (bytes: Buffer, peer: ControlPeer) => {
        this.gateway = peer;
        const r = { bytes: Buffer.from(bytes), peer };
        const w = this.#waiter;
        if (w !== undefined) {
          this.#waiter = undefined;
          w(r);
        } else {
          this.#queue.push(r);
          for (const watcher of this.#queuedWatchers.splice(0)) watcher();
        }
      },
    };
    this.#transport = kind === 'udp' ? new UdpControlTransport(opts) : new TcpControlTransport(opts);
  }

  async listen(): Promise<ControlEndpoint> {
    this.endpoint = await this.#transport.listen();
    return this.endpoint;
  }

  get mid(): string {
    return `[127.0.0.1]:${this.endpoint!.port}`;
  }

  /** The next message from the gateway, or undefined after `timeoutMs`. */
  next(timeoutMs: number): Promise<Received | undefined> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.#waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Resolves true once a message is waiting to be consumed (false after `timeoutMs`); consumes nothing. */
  queued(timeoutMs: number): Promise<boolean> {
    if (this.#queue.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const watcher = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#queuedWatchers = this.#queuedWatchers.filter((w) => w !== watcher);
        resolve(false);
      }, timeoutMs);
      this.#queuedWatchers.push(watcher);
    });
  }

  /** Messages received and not yet consumed. */
  get pending(): number {
    return this.#queue.length;
  }

  drain(): Received[] {
    return this.#queue.splice(0);
  }

  send(bytes: Buffer): void {
    const gw = this.gateway;
    if (gw === undefined) throw new Error('the gateway has not talked to this controller yet');
    if (!gw.send(bytes)) throw new Error(`cannot send to the gateway (${gw.key})`);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions: one daemon and its controllers

export class GoldenSession {
  readonly transport: ControlTransportKind;
  readonly pipes: ControllerPipe[];
  daemon: Daemon | undefined;
  /** Transaction ids are unique per session: the daemon's reply cache keys on them (LONG-TIMER). */
  #nextTid = 1000;
  /** Version agreed at registration. */
  version = 3;
  /**
   * What arrived before the first transcript belongs to it when the harness did not register the
   * daemon (@fresh): that is the gateway's ServiceChange, sent as soon as its control part starts,
   * often before `trgwd started` is read. Over TCP it is sent once (H.248.1 D.2), so dropping it
   * leaves the transcript waiting for T-MAX.
   */
  #keepQueued = false;

  constructor(transport: ControlTransportKind, controllers: number) {
    this.transport = transport;
    this.pipes = Array.from({ length: controllers }, () => new ControllerPipe(transport));
  }

  async start(config: readonly string[], register: boolean): Promise<void> {
    const eps = await Promise.all(this.pipes.map((p) => p.listen()));
    this.daemon = await startDaemon({
      controllers: eps.map((ep) => ({ address: '127.0.0.1', port: ep.port, transport: this.transport })),
      sets: config,
    });
    this.#keepQueued = !register;
    if (register) await this.register();
  }

  /** Accepts the gateway's registration on controller 1 (answering with the version it offers). */
  async register(): Promise<void> {
    const pipe = this.pipes[0]!;
    const r = await pipe.next(10_000);
    if (r === undefined)
      throw new Error(`no registration from the daemon within 10 s; stderr: ${this.daemon?.stderr ?? ''}`);
    const msg = decodeMessage(r.bytes);
    const t = msg.transactions[0];
    const sc =
      t?.kind === 'request' ? (t.actions[0]?.commands[0] as ServiceChangeRequest | undefined) : undefined;
    if (t?.kind !== 'request' || sc?.kind !== 'serviceChange')
      throw new Error(`expected the registration ServiceChange, got:\n${r.bytes.toString()}`);
    this.version = sc.services.version ?? msg.version;
    pipe.send(
      Buffer.from(
        `MEGACO/${this.version} ${pipe.mid}\nReply = ${t.id} {\n  Context = - {\n    ServiceChange = ROOT {\n      Services { Version = ${this.version} }\n    }\n  }\n}\n`,
      ),
    );
    await this.daemon!.waitRegistered(10_000);
  }

  nextTid(): number {
    return this.#nextTid++;
  }

  async close(): Promise<number | null | undefined> {
    const code = await this.daemon?.stop();
    await Promise.all(this.pipes.map((p) => p.close()));
    return code;
  }

  /** Plays one transcript; throws an AssertionError naming the transcript line on a mismatch. */
  async play(t: Transcript): Promise<void> {
    const vars: Vars = new Map();
    // Whatever an earlier (failed) transcript or the harness's registration (a UDP retransmission of
    // the ServiceChange) left unread is not this transcript's business.
    if (!this.#keepQueued) for (const p of this.pipes) p.drain();
    this.#keepQueued = false;
    this.pipes.forEach((p, i) => vars.set(i === 0 ? 'mgc' : `mgc${i + 1}`, p.mid));
    vars.set('version', String(this.version));
    const lastReceived = new Map<number, Buffer>();
    let lastSent: { mgc: number; bytes: Buffer } | undefined;
    for (const step of t.steps) {
      if (step.only !== undefined && step.only !== this.transport) continue;
      const ctx = `${basename(t.file)}:${step.line} (${this.transport})`;
      if (step.kind !== 'send' && step.kind !== 'expect') {
        const port = Number(fill(`{{${step.name}}}`, vars, ctx));
        if (step.kind === 'bound')
          assert.equal(
            await udpPortFree(port),
            false,
            `${ctx}: port ${port} ({{${step.name}}}) should be bound by the daemon`,
          );
        else await waitPortFree(port, 2000, ctx);
        continue;
      }
      const pipe = this.pipes[step.mgc - 1];
      if (pipe === undefined) throw new Error(`${ctx}: mgc${step.mgc} does not exist (@controllers)`);
      if (step.kind === 'send') {
        let bytes: Buffer;
        if (step.again) {
          if (lastSent === undefined) throw new Error(`${ctx}: '--> again' with nothing sent before`);
          bytes = lastSent.bytes;
        } else {
          let text = step.body;
          if (!step.raw && !/^(MEGACO|!)\s*\//i.test(text.trimStart())) {
            const header = `MEGACO/{{version}} {{${step.mgc === 1 ? 'mgc' : `mgc${step.mgc}`}}}`;
            if (/^(Transaction|T)\s*=/i.test(text.trimStart())) text = `${header}\n${text}`;
            else {
              vars.set('tid', String(this.nextTid()));
              text = `${header}\nTransaction = {{tid}} {\n${text}\n}`;
            }
          }
          bytes = Buffer.from(`${fill(text, vars, ctx)}\n`, 'utf8');
        }
        pipe.send(bytes);
        lastSent = { mgc: step.mgc, bytes };
        continue;
      }
      // expect
      const r = await pipe.next(step.withinMs);
      if (step.none) {
        assert.equal(
          r,
          undefined,
          `${ctx}: expected nothing within ${step.withinMs} ms, got:\n${r?.bytes.toString() ?? ''}`,
        );
        continue;
      }
      if (r === undefined) {
        // The daemon's last words, so a failure in CI can be diagnosed from its log alone.
        const tail = (this.daemon?.logs ?? []).slice(-15).map((l) => JSON.stringify(l)).join('\n');
        assert.fail(
          `${ctx}: nothing received within ${step.withinMs} ms (mgc${step.mgc})\ndaemon log (last lines):\n${tail}\nstderr: ${this.daemon?.stderr ?? ''}`,
        );
      }
      if (step.same) {
        const prev = lastReceived.get(step.mgc);
        assert.ok(prev !== undefined, `${ctx}: '<-- same' with nothing received before`);
        assert.equal(
          r.bytes.toString('utf8'),
          prev.toString('utf8'),
          `${ctx}: not the same bytes as the previous message`,
        );
        assert.ok(r.bytes.equals(prev), `${ctx}: not the same bytes as the previous message`);
      }
      if (step.body !== '') {
        let actual: string;
        if (step.rawText) actual = r.bytes.toString('utf8');
        else {
          try {
            actual = normalise(r.bytes);
          } catch (e) {
            assert.fail(
              `${ctx}: the gateway sent a message our codec cannot decode (${(e as Error).message}):\n${r.bytes.toString()}`,
            );
          }
        }
        const print = process.env['GOLDEN_PRINT'];
        if (print !== undefined && print !== '')
          appendFileSync(print, `--- ${ctx} received (normalised):\n${actual}\n`);
        const fresh = matchText(step.body, actual, vars, ctx);
        for (const [k, v] of fresh) {
          vars.set(k, v);
          if (k.startsWith('port:')) {
            assert.equal(
              await udpPortFree(Number(v)),
              false,
              `${ctx}: the gateway answered port ${v} ({{${k}}}) but nothing is bound there`,
            );
          }
        }
      }
      lastReceived.set(step.mgc, r.bytes);
    }
  }
}

/** True when a UDP socket can bind 127.0.0.1:port now (then it is released at once). */
export function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function waitPortFree(port: number, ms: number, ctx: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await udpPortFree(port))) {
    if (Date.now() > end) assert.fail(`${ctx}: port ${port} is still bound ${ms} ms later`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
