/**
 * The command layer: executes the actions of a transaction request against the gateway model with
 * H.248.1 semantics and builds the ActionReplies (TransactionHandler, daemon/control/handler.ts).
 *
 * - Transactions run one at a time (a queue): commands are short (port binds on the local host), and
 *   serial execution means no command ever sees a half-applied one of another transaction.
 * - Commands of a transaction run in order; the first failing command that is not optional (`O-`)
 *   stops the whole transaction: its action's reply holds the replies of the commands that ran plus
 *   the error (H.248.1 §8, §8.2.2). A failed optional command answers with an Error inside its own
 *   reply and processing goes on. A failed command leaves no state behind (ports released, a context
 *   created for it deleted).
 * - Wildcards (`*`, `ip/*`, `ip/1*`): the command runs for every match, one reply each (an error in
 *   that match's reply); after a match fails, later commands are not run (§8). With `W-` one reply
 *   names the wildcard: Packages are the union, per-termination values are not merged.
 * - Context properties (Priority, Emergency, IEPS, Topology) are applied after the action's commands,
 *   since a topology names terminations the same action may create; the reply reports them.
 */
import type {
  ActionReply,
  ActionRequest,
  AmmRequest,
  AuditDescriptor,
  AuditRequest,
  CommandReply,
  CommandRequest,
  ContextAuditRequest,
  ContextId,
  ContextProperties,
  ErrorDescriptor,
  NotifyRequest,
  ServiceChangeRequest,
  SubtractRequest,
  TransactionRequest,
} from '../codec/model.js';
import { sanitizeQuoted } from '../codec/model.js';
import { toH248Error } from '../errors.js';
import type { RequestContext, TransactionHandler } from '../handler.js';
import { errorMessage, isTrgwdError } from '../../errors.js';
import type { SdpGroup } from '../codec/sdp.js';
import type { Context } from '../../mg/context.js';
import { mgError, shown } from '../../mg/errors.js';
import { isRoot, isWildcard, matchesWildcard } from '../../mg/ids.js';
import type { MediaGateway } from '../../mg/media-gateway.js';
import type { Termination } from '../../mg/termination.js';
import type { Logger } from '../../observe/log.js';
import {
  auditRoot,
  auditTermination,
  isEmptyAudit,
  localRepliesOf,
  mergeReplyAudit,
  packagesOf,
  statisticsOf,
  type AuditEnv,
} from './audit.js';
import { buildRootUpdate, buildUpdate, parseProperties, type DescriptorContext } from './descriptors.js';

export interface CommandExecutorOptions {
  readonly mg: MediaGateway;
  readonly log?: Logger;
}

/** A command failed: its H.248 error, and the replies it produced before (wildcard matches). */
class CommandFailure {
  constructor(
    readonly error: ErrorDescriptor,
    /** Replies already produced by the command (wildcard matches that ran). */
    readonly partial: readonly Placed[],
  ) {}
}

/** A command reply and the context it belongs to. */
interface Placed {
  readonly contextId: ContextId;
  readonly reply: CommandReply;
}

/** One target of a command. */
type Target = { kind: 'root' } | { kind: 'term'; term: Termination };

/** State of one action while it runs. */
interface ActionRun {
  readonly request: ActionRequest;
  /** The action's context: given, or created for `$` (undefined before that / for `-` and `*`). */
  ctx: Context | undefined;
  /** A context this action created (to delete again if its first command fails). */
  created: Context | undefined;
  /** Contexts whose media this action changed: their media planes reconcile when it ends. */
  readonly touched: Set<Context>;
}

function toErrorDescriptor(e: unknown): ErrorDescriptor {
  const { code, text } = toH248Error(e);
  // the text as it will be on the wire: a quotedString cannot hold `"` (H.248.1 Annex B)
  return { code, text: sanitizeQuoted(text) };
}

/** A reply carrying an error for one command / termination (errors inside the command's reply). */
function errorReply(cmd: CommandRequest, terminationId: string, error: ErrorDescriptor): CommandReply {
  switch (cmd.kind) {
    case 'add':
    case 'modify':
    case 'move':
    case 'subtract':
    case 'auditValue':
    case 'auditCapabilities':
      return { kind: cmd.kind, terminationId, audit: { error } };
    case 'notify':
      return { kind: 'notify', terminationId, error };
    case 'serviceChange':
      return { kind: 'serviceChange', terminationId, error };
  }
}

export class CommandExecutor implements TransactionHandler {
  readonly #mg: MediaGateway;
  readonly #log: Logger;
  readonly #dctx: DescriptorContext;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: CommandExecutorOptions) {
    this.#mg = options.mg;
    this.#log = options.log ?? options.mg.log;
    this.#dctx = {
      registry: options.mg.registry,
      realmName: (n) => options.mg.realm(n)?.name,
      sdpLimits: options.mg.sdpLimits,
    };
  }

  execute(request: TransactionRequest, ctx: RequestContext): Promise<ActionReply[]> {
    const run = this.#queue.then(() => this.#transaction(request, ctx));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #transaction(request: TransactionRequest, rctx: RequestContext): Promise<ActionReply[]> {
    const out: ActionReply[] = [];
    const log = this.#log.child({ tid: request.id, peer: rctx.peer.key });
    for (const action of request.actions) {
      if (!(await this.#action(action, out, log))) break;
    }
    return out;
  }

  // ---- actions -----------------------------------------------------------------------------

  /** Runs one action, appending its reply (or replies, for `Context = *`). False: stop the transaction. */
  async #action(a: ActionRequest, out: ActionReply[], log: Logger): Promise<boolean> {
    const run: ActionRun = { request: a, ctx: undefined, created: undefined, touched: new Set() };
    const byContext = new Map<string, ActionReply>();
    const order: ActionReply[] = [];
    const replyFor = (id: ContextId): ActionReply => {
      const key = String(id);
      let r = byContext.get(key);
      if (r === undefined) {
        r = { contextId: id, commands: [] };
        byContext.set(key, r);
        order.push(r);
      }
      return r;
    };
    const main = (): ActionReply => replyFor(a.contextId === '*' ? '*' : a.contextId);

    if (typeof a.contextId === 'number') {
      const ctx = this.#mg.context(a.contextId);
      if (ctx === undefined) {
        const e = toErrorDescriptor(mgError('ERR_MG_UNKNOWN_CONTEXT', `The transaction refers to an unknown ContextId ${a.contextId}`));
        out.push({ contextId: a.contextId, commands: [], error: e });
        return false;
      }
      run.ctx = ctx;
    }

    let ok = true;
    for (const cmd of a.commands) {
      try {
        const placed = await this.#command(cmd, run, log);
        for (const p of placed) this.#place(p, a.contextId, replyFor, main).commands.push(p.reply);
      } catch (e) {
        const failure = e instanceof CommandFailure ? e : new CommandFailure(this.#describe(e, log, cmd), []);
        for (const p of failure.partial) this.#place(p, a.contextId, replyFor, main).commands.push(p.reply);
        if (cmd.optional === true) {
          // an optional command's error goes into its own reply; the transaction goes on (§8.2.2)
          if (failure.partial.length === 0) main().commands.push(errorReply(cmd, cmd.terminationId, failure.error));
          continue;
        }
        if (failure.partial.length === 0) main().error = failure.error;
        ok = false;
        break;
      }
    }
    if (run.created !== undefined) this.#mg.discardIfEmpty(run.created);

    if (ok && (a.context !== undefined || a.contextAudit !== undefined)) {
      try {
        this.#contextProperties(a, run, replyFor, main);
      } catch (e) {
        main().error = this.#describe(e, log, undefined);
        ok = false;
      }
    }
    // Media follows what was committed, even when a later command failed (§8.2.2: earlier ones stay done).
    for (const c of run.touched) this.#mg.mediaChanged(c);
    // With relay workers, a port moves from the main thread to a worker: answer once it is bound again,
    // so a port in the reply is never briefly free.
    if (run.touched.size > 0) await this.#mg.mediaSettled();
    if (order.length === 0) main();
    for (const r of order) {
      if (r.contextId === '$' && run.created !== undefined) r.contextId = run.created.id;
      out.push(r);
    }
    return ok;
  }

  /** Which ActionReply a command reply goes to: its own context under `Context = *`, else the action's. */
  #place(p: Placed, requested: ContextId, replyFor: (id: ContextId) => ActionReply, main: () => ActionReply): ActionReply {
    return requested === '*' ? replyFor(p.contextId) : main();
  }

  #describe(e: unknown, log: Logger, cmd: CommandRequest | undefined): ErrorDescriptor {
    if (!isTrgwdError(e)) {
      log.error({ err: errorMessage(e), stack: e instanceof Error ? e.stack : undefined, cmd: cmd?.kind }, 'command failed unexpectedly');
    } else {
      log.debug({ code: e.code, err: e.message, cmd: cmd?.kind, term: cmd?.terminationId }, 'command failed');
    }
    return toErrorDescriptor(e);
  }

  // ---- commands ----------------------------------------------------------------------------

  async #command(cmd: CommandRequest, run: ActionRun, log: Logger): Promise<Placed[]> {
    switch (cmd.kind) {
      case 'add':
        return this.#add(cmd, run, log);
      case 'modify':
      case 'move':
        return this.#modifyOrMove(cmd, run, log);
      case 'subtract':
        return this.#subtract(cmd, run);
      case 'auditValue':
      case 'auditCapabilities':
        return this.#audit(cmd, run);
      case 'notify':
        return this.#notify(cmd);
      case 'serviceChange':
        return this.#serviceChange(cmd, run);
    }
  }

  /** The ids a command names (v3 list form or one id). */
  #ids(cmd: CommandRequest): string[] {
    return cmd.terminationIds !== undefined && cmd.terminationIds.length > 0 ? [...cmd.terminationIds] : [cmd.terminationId];
  }

  /**
   * The terminations a command addresses in this action's context scope (H.248.1 §7.2.5 table):
   * specific context → its terminations; `*` → every context; `-` → ROOT only (all our terminations
   * are ephemeral, so none lives in the null context). 430 unknown, 435 in another context, 431 when a
   * wildcard matches nothing.
   */
  #targets(cmd: CommandRequest, run: ActionRun, opts: { anyContext?: boolean } = {}): Target[] {
    const scope = run.request.contextId;
    const out: Target[] = [];
    for (const id of this.#ids(cmd)) {
      if (id === '$') throw mgError('ERR_H248_INCORRECT_ID', `CHOOSE ($) is not allowed in ${cmd.kind}`);
      if (isRoot(id)) {
        if (scope !== '-' && scope !== '*') {
          throw mgError('ERR_MG_TERMINATION_NOT_IN_CONTEXT', 'ROOT is addressed in the null context (-)');
        }
        out.push({ kind: 'root' });
        continue;
      }
      if (isWildcard(id)) {
        const pool: Termination[] =
          opts.anyContext === true || scope === '*'
            ? this.#mg.terminations()
            : run.ctx !== undefined
              ? [...run.ctx.terminations.values()]
              : [];
        const hits = pool.filter((t) => matchesWildcard(id, t.id) && (opts.anyContext !== true || t.context !== run.ctx));
        if (hits.length === 0) throw mgError('ERR_MG_NO_WILDCARD_MATCH', `No TerminationID matched ${shown(id)}`);
        for (const t of hits) out.push({ kind: 'term', term: t });
        continue;
      }
      const t = this.#mg.termination(id);
      if (t === undefined) throw mgError('ERR_MG_UNKNOWN_TERMINATION', `Unknown TerminationID ${shown(id)}`);
      if (opts.anyContext !== true && scope !== '*' && t.context !== run.ctx) {
        throw mgError(
          'ERR_MG_TERMINATION_NOT_IN_CONTEXT',
          `${t.id} is not in context ${run.ctx?.id ?? String(scope)}${t.context !== undefined ? ` (it is in ${t.context.id})` : ''}`,
        );
      }
      out.push({ kind: 'term', term: t });
    }
    return out;
  }

  /**
   * Runs `fn` for each target: one reply each; a failing match gets its error in its reply and the
   * transaction stops after this command (§8). `W-` folds the replies into one naming the wildcard.
   */
  async #each(
    cmd: CommandRequest,
    run: ActionRun,
    targets: readonly Target[],
    fn: (t: Target) => Promise<Placed>,
  ): Promise<Placed[]> {
    const ids = this.#ids(cmd);
    if (targets.length === 1 && ids.length === 1 && !isWildcard(ids[0] as string)) return [await fn(targets[0] as Target)];
    const placed: Placed[] = [];
    let firstError: ErrorDescriptor | undefined;
    for (const t of targets) {
      try {
        placed.push(await fn(t));
      } catch (e) {
        const err = toErrorDescriptor(e);
        firstError ??= err;
        const id = t.kind === 'root' ? 'ROOT' : t.term.id;
        const contextId: ContextId = t.kind === 'term' && t.term.context !== undefined ? t.term.context.id : '-';
        placed.push({ contextId, reply: errorReply(cmd, id, err) });
      }
    }
    if (cmd.wildcardReply === true) {
      // W-: one reply naming the wildcard (H.248.1 §7.2.5); only the package list is a union
      const scope = run.request.contextId;
      const contextId: ContextId = scope === '*' ? '*' : (placed[0]?.contextId ?? scope);
      const reply: CommandReply =
        firstError !== undefined ? errorReply(cmd, cmd.terminationId, firstError) : this.#wildcardReply(cmd);
      const one: Placed[] = [{ contextId, reply }];
      if (firstError !== undefined) throw new CommandFailure(firstError, one);
      return one;
    }
    if (firstError !== undefined) throw new CommandFailure(firstError, placed);
    return placed;
  }

  #wildcardReply(cmd: CommandRequest): CommandReply {
    const audit: AuditDescriptor | undefined =
      cmd.kind === 'add' || cmd.kind === 'modify' || cmd.kind === 'move'
        ? cmd.descriptors.audit
        : cmd.kind === 'subtract' || cmd.kind === 'auditValue' || cmd.kind === 'auditCapabilities'
          ? cmd.audit
          : undefined;
    const wantsPackages =
      audit?.items?.includes('packages') === true || (audit?.indAud ?? []).some((d) => d.kind === 'packages');
    switch (cmd.kind) {
      case 'notify':
        return { kind: 'notify', terminationId: cmd.terminationId };
      case 'serviceChange':
        return { kind: 'serviceChange', terminationId: cmd.terminationId };
      default:
        return wantsPackages
          ? { kind: cmd.kind, terminationId: cmd.terminationId, audit: { packages: packagesOf(this.#mg.registry) } }
          : { kind: cmd.kind, terminationId: cmd.terminationId };
    }
  }

  #env(): AuditEnv {
    return { registry: this.#mg.registry, now: this.#mg.clock.now() };
  }


  // ---- Add ---------------------------------------------------------------------------------

  async #add(cmd: AmmRequest, run: ActionRun, log: Logger): Promise<Placed[]> {
    const scope = run.request.contextId;
    if (scope === '-' || scope === '*') {
      throw mgError('ERR_MG_ILLEGAL_ACTION', `Add is not allowed in Context ${scope}`);
    }
    const ids = this.#ids(cmd);
    if (ids.length !== 1 || ids[0] !== '$') {
      // only ephemeral terminations exist here, and every one of them is in a context already
      for (const id of ids) {
        if (isRoot(id)) throw mgError('ERR_MG_NOT_ALLOWED', 'ROOT cannot be added to a context');
        if (isWildcard(id)) throw mgError('ERR_MG_NO_WILDCARD_MATCH', `No TerminationID in the null context matched ${shown(id)}`);
        const t = this.#mg.termination(id);
        if (t === undefined) throw mgError('ERR_MG_UNKNOWN_TERMINATION', `Unknown TerminationID ${shown(id)}`);
        throw mgError('ERR_MG_TERMINATION_IN_CONTEXT', `${t.id} is already in context ${t.context?.id ?? '-'}`);
      }
    }
    const built = buildUpdate(cmd.descriptors, 'Add', this.#dctx);
    const streams = built.update.streams ?? [];
    if (streams.length > 0 && !streams.some((su) => su.local !== undefined || su.remote !== undefined)) {
      // Stream parameters without any SDP describe a bearer that cannot be set up (PROFILE §2). A
      // bare `Add = $` stays legal: a termination whose media comes later (H.248.1 §7.1.8 a).
      throw mgError('ERR_MG_MISSING_LOCAL_REMOTE', 'Missing Remote or Local Descriptor: the Add sets stream parameters but neither Local nor Remote');
    }
    const ctx = this.#contextForNew(run);
    const t = this.#mg.newTermination(built.update.realm);
    let locals: ReadonlyMap<number, SdpGroup[]>;
    try {
      this.#mg.checkRoom(ctx);
      const prepared = await t.prepare(built.update);
      locals = prepared.localReplies;
      prepared.commit();
      this.#mg.attach(t, ctx);
      run.touched.add(ctx);
    } catch (e) {
      // nothing of a failed Add may stay: its ports, its termination, the context made for it
      t.close();
      await t.released;
      this.#dropCreated(run);
      throw e;
    }
    log.debug({ ctx: ctx.id, term: t.id, realm: t.realm }, 'add');
    return [{ contextId: ctx.id, reply: this.#ammReply(cmd, t, built.bareStream, locals) }];
  }

  /** The context a new or moved termination goes into: the action's, or one created for `$`. */
  #contextForNew(run: ActionRun): Context {
    if (run.ctx !== undefined) {
      if (run.ctx.deleted) {
        throw mgError('ERR_MG_UNKNOWN_CONTEXT', `context ${run.ctx.id} was deleted when its last termination left`);
      }
      return run.ctx;
    }
    const ctx = this.#mg.createContext();
    run.ctx = ctx;
    run.created = ctx;
    return ctx;
  }

  /** The `$` context created for a command that then failed: forget it if nothing is in it. */
  #dropCreated(run: ActionRun): void {
    const c = run.created;
    if (c !== undefined && c.size === 0) {
      this.#mg.discardIfEmpty(c);
      run.ctx = undefined;
      run.created = undefined;
    }
  }

  #ammReply(cmd: AmmRequest, t: Termination, bare: boolean, locals: ReadonlyMap<number, SdpGroup[]>): CommandReply {
    const local = localRepliesOf(locals, bare);
    const audit = mergeReplyAudit(local, auditTermination(t, cmd.descriptors.audit, 'value', this.#env()));
    return audit !== undefined ? { kind: cmd.kind, terminationId: t.id, audit } : { kind: cmd.kind, terminationId: t.id };
  }

  // ---- Modify, Move ------------------------------------------------------------------------

  async #modifyOrMove(cmd: AmmRequest, run: ActionRun, log: Logger): Promise<Placed[]> {
    const scope = run.request.contextId;
    const ids = this.#ids(cmd);
    if (cmd.kind === 'move') {
      if (scope === '-' || scope === '*') {
        throw mgError('ERR_MG_ILLEGAL_ACTION', `Move is not allowed in Context ${scope} (H.248.1 §7.2.4)`);
      }
      if (ids.some(isRoot)) throw mgError('ERR_MG_NOT_ALLOWED', 'ROOT cannot be moved');
      const targets = this.#targets(cmd, run, { anyContext: true });
      return this.#each(cmd, run, targets, async (tg) => {
        const t = (tg as { term: Termination }).term;
        const built = buildUpdate(cmd.descriptors, 'Move', this.#dctx);
        const ctx = this.#contextForNew(run);
        let locals: ReadonlyMap<number, SdpGroup[]>;
        try {
          if (t.context !== ctx) this.#mg.checkRoom(ctx);
          const prepared = await t.prepare(built.update);
          locals = prepared.localReplies;
          prepared.commit();
        } catch (e) {
          this.#dropCreated(run);
          throw e;
        }
        // the reply's statistics are those of the termination just before the Move (§7.2.4)
        const reply = this.#ammReply(cmd, t, built.bareStream, locals);
        const from = t.context?.id;
        if (t.context !== undefined) run.touched.add(t.context);
        this.#mg.move(t, ctx);
        run.touched.add(ctx);
        log.debug({ ctx: ctx.id, term: t.id, from }, 'move');
        return { contextId: ctx.id, reply };
      });
    }
    if (ids.length === 1 && isRoot(ids[0] as string)) {
      if (scope !== '-') throw mgError('ERR_MG_TERMINATION_NOT_IN_CONTEXT', 'ROOT is addressed in the null context (-)');
      return [{ contextId: '-', reply: this.#modifyRoot(cmd) }];
    }
    const targets = this.#targets(cmd, run);
    return this.#each(cmd, run, targets, async (tg) => {
      if (tg.kind === 'root') return { contextId: '-', reply: this.#modifyRoot(cmd) };
      const t = tg.term;
      const built = buildUpdate(cmd.descriptors, 'Modify', this.#dctx);
      const prepared = await t.prepare(built.update);
      prepared.commit();
      if (t.context !== undefined) run.touched.add(t.context);
      t.log.debug({ streams: built.update.streams?.map((s) => s.id) }, 'modify');
      return { contextId: t.context?.id ?? '-', reply: this.#ammReply(cmd, t, built.bareStream, prepared.localReplies) };
    });
  }

  #modifyRoot(cmd: AmmRequest): CommandReply {
    const u = buildRootUpdate(cmd.descriptors, this.#dctx);
    const root = this.#mg.root;
    if (u.properties !== undefined) root.setProperties(u.properties);
    if (u.serviceState !== undefined) root.serviceState = u.serviceState;
    if (u.events !== undefined) root.setEvents(u.events);
    const audit = auditRoot(root, cmd.descriptors.audit, 'value', this.#env());
    return audit !== undefined ? { kind: 'modify', terminationId: 'ROOT', audit } : { kind: 'modify', terminationId: 'ROOT' };
  }

  // ---- Subtract ----------------------------------------------------------------------------

  async #subtract(cmd: SubtractRequest, run: ActionRun): Promise<Placed[]> {
    const scope = run.request.contextId;
    if (this.#ids(cmd).some(isRoot)) throw mgError('ERR_MG_NOT_ALLOWED', 'ROOT cannot be subtracted');
    if (scope === '-') throw mgError('ERR_MG_ILLEGAL_ACTION', 'Subtract from the null context is not allowed (H.248.1 §7.2.3)');
    const targets = this.#targets(cmd, run);
    return this.#each(cmd, run, targets, async (tg) => {
      const t = (tg as { term: Termination }).term;
      // statistics are returned by default; `Audit{}` asks for nothing (§7.2.3)
      const audit =
        cmd.audit === undefined ? { statistics: statisticsOf(t, this.#env()) } : auditTermination(t, cmd.audit, 'value', this.#env());
      const contextId: ContextId = t.context?.id ?? '-';
      if (t.context !== undefined) run.touched.add(t.context);
      await this.#mg.subtract(t);
      const reply: CommandReply = audit !== undefined ? { kind: 'subtract', terminationId: t.id, audit } : { kind: 'subtract', terminationId: t.id };
      return { contextId, reply };
    });
  }

  // ---- AuditValue, AuditCapabilities -------------------------------------------------------

  async #audit(cmd: AuditRequest, run: ActionRun): Promise<Placed[]> {
    const scope = run.request.contextId;
    const mode = cmd.kind === 'auditValue' ? 'value' : 'capabilities';
    const ids = this.#ids(cmd);
    if (ids.length === 1 && isRoot(ids[0] as string)) {
      if (scope === '*') {
        // ALL + ROOT: the list of context ids, one action reply each (§7.2.5)
        const ctxs = this.#mg.contexts();
        if (ctxs.length === 0) return [{ contextId: '*', reply: { kind: cmd.kind, terminationId: 'ROOT' } }];
        return ctxs.map((c) => ({ contextId: c.id, reply: { kind: cmd.kind, terminationId: 'ROOT' } }));
      }
      if (scope !== '-') throw mgError('ERR_MG_TERMINATION_NOT_IN_CONTEXT', 'ROOT is addressed in the null context (-)');
      const audit = auditRoot(this.#mg.root, cmd.audit, mode, this.#env());
      return [{ contextId: '-', reply: audit !== undefined ? { kind: cmd.kind, terminationId: 'ROOT', audit } : { kind: cmd.kind, terminationId: 'ROOT' } }];
    }
    const targets = this.#targets(cmd, run);
    if (mode === 'value' && isEmptyAudit(cmd.audit) && ids.some(isWildcard) && cmd.wildcardReply !== true) {
      // an empty audit of a wildcard lists the ids, in the condensed form `AuditValue = Context { t1, t2 }`
      const byCtx = new Map<ContextId, string[]>();
      for (const tg of targets) {
        if (tg.kind !== 'term') continue;
        const id: ContextId = tg.term.context?.id ?? '-';
        let list = byCtx.get(id);
        if (list === undefined) byCtx.set(id, (list = []));
        list.push(tg.term.id);
      }
      return [...byCtx.entries()].map(([contextId, list]) => ({ contextId, reply: { kind: cmd.kind, contextTerminationIds: list } }));
    }
    return this.#each(cmd, run, targets, async (tg) => {
      if (tg.kind === 'root') {
        const audit = auditRoot(this.#mg.root, cmd.audit, mode, this.#env());
        return { contextId: '-', reply: audit !== undefined ? { kind: cmd.kind, terminationId: 'ROOT', audit } : { kind: cmd.kind, terminationId: 'ROOT' } };
      }
      const t = tg.term;
      const audit = auditTermination(t, cmd.audit ?? {}, mode, this.#env());
      return {
        contextId: t.context?.id ?? '-',
        reply: audit !== undefined ? { kind: cmd.kind, terminationId: t.id, audit } : { kind: cmd.kind, terminationId: t.id },
      };
    });
  }

  // ---- Notify, ServiceChange ---------------------------------------------------------------

  async #notify(_cmd: NotifyRequest): Promise<Placed[]> {
    // Notify goes from the gateway to the controller only (H.248.1 §7.2.7)
    throw mgError('ERR_H248_UNKNOWN_COMMAND', 'Notify is sent by the gateway, not to it (H.248.1 §7.2.7)');
  }

  async #serviceChange(cmd: ServiceChangeRequest, run: ActionRun): Promise<Placed[]> {
    if (this.#ids(cmd).some(isRoot)) {
      // the association answers ServiceChange on ROOT before the command layer sees it
      throw mgError('ERR_CTRL_NOT_IMPLEMENTED', 'ServiceChange on ROOT is handled by the control association');
    }
    const targets = this.#targets(cmd, run);
    return this.#each(cmd, run, targets, async (tg) => {
      const t = (tg as { term: Termination }).term;
      const m = cmd.services.method;
      // the controller takes terminations out of or back into service (§7.2.8)
      if (m === 'forced' || m === 'graceful') t.serviceState = 'outOfService';
      else if (m === 'restart') t.serviceState = 'inService';
      t.log.info({ method: m, reason: cmd.services.reason }, 'service change from controller');
      return { contextId: t.context?.id ?? '-', reply: { kind: 'serviceChange', terminationId: t.id } };
    });
  }

  // ---- context properties ------------------------------------------------------------------

  #contextProperties(
    a: ActionRequest,
    run: ActionRun,
    replyFor: (id: ContextId) => ActionReply,
    main: () => ActionReply,
  ): void {
    const scope = a.contextId;
    if (scope === '-') throw mgError('ERR_MG_ILLEGAL_ACTION', 'context properties are not legal in the null context');
    if (scope === '*') {
      if (a.context !== undefined) throw mgError('ERR_MG_ILLEGAL_ACTION', 'context properties cannot be set on Context *');
      if (a.contextAudit !== undefined) {
        for (const c of this.#mg.contexts()) {
          if (selects(c, a.contextAudit)) replyFor(c.id).context = contextAudit(c, a.contextAudit);
        }
      }
      return;
    }
    const ctx = run.ctx;
    if (ctx === undefined) throw mgError('ERR_MG_ILLEGAL_ACTION', 'Context $ needs an Add or Move to create the context');
    if (ctx.deleted) return; // emptied by this action: nothing left to set or report
    let reported: ContextProperties | undefined;
    if (a.context !== undefined) {
      this.#applyContext(ctx, a.context);
      run.touched.add(ctx);
      reported = reportedContext(ctx, a.context);
    }
    if (a.contextAudit !== undefined) reported = { ...reported, ...contextAudit(ctx, a.contextAudit) };
    if (reported !== undefined && Object.keys(reported).length > 0) main().context = reported;
  }

  /** Validates everything first, then applies (no half-applied context properties). */
  #applyContext(ctx: Context, p: ContextProperties): void {
    if (p.priority !== undefined && (!Number.isInteger(p.priority) || p.priority < 0 || p.priority > 15)) {
      throw mgError('ERR_PKG_BAD_VALUE', `bad Priority ${p.priority} (0..15)`, { value: p.priority });
    }
    for (const t of p.topology ?? []) {
      if (t.direction === 'onewayExternal' || t.direction === 'onewayBoth') {
        throw mgError('ERR_MG_TOPOLOGY', `topology direction ${t.direction} is not supported`);
      }
      for (const id of [t.from, t.to]) {
        if (isWildcard(id) || isRoot(id)) throw mgError('ERR_MG_TOPOLOGY', `topology needs terminations of the context, not ${shown(id)}`);
        const term = this.#mg.termination(id);
        if (term === undefined) throw mgError('ERR_MG_UNKNOWN_TERMINATION', `Unknown TerminationID ${shown(id)} in Topology`);
        if (term.context !== ctx) throw mgError('ERR_MG_TERMINATION_NOT_IN_CONTEXT', `${term.id} is not in context ${ctx.id}`);
      }
    }
    if (p.attributes !== undefined && p.attributes.length > 0) {
      // no package defines context attributes trgwd keeps: unknown names 440/450, known ones 455
      parseProperties(p.attributes, 'TerminationState', this.#dctx);
      throw mgError('ERR_PKG_ILLEGAL_IN_DESCRIPTOR', 'context attributes are not supported');
    }
    if (p.priority !== undefined) ctx.priority = p.priority;
    if (p.emergency !== undefined) ctx.emergency = p.emergency;
    if (p.ieps !== undefined) ctx.ieps = p.ieps;
    if (p.topology !== undefined) ctx.setTopology(p.topology);
  }
}

/** The context properties a reply reports after a change: those the request set, as they are now. */
function reportedContext(ctx: Context, asked: ContextProperties): ContextProperties {
  const out: ContextProperties = {};
  if (asked.priority !== undefined && ctx.priority !== undefined) out.priority = ctx.priority;
  if (asked.emergency !== undefined && ctx.emergency !== undefined) out.emergency = ctx.emergency;
  if (asked.ieps !== undefined && ctx.ieps !== undefined) out.ieps = ctx.ieps;
  if (asked.topology !== undefined && ctx.topology.length > 0) out.topology = ctx.topology.map((t) => ({ ...t }));
  return out;
}

/** ContextAudit (§7.2.9): the values after this action's changes. */
function contextAudit(ctx: Context, a: ContextAuditRequest): ContextProperties {
  const out: ContextProperties = {};
  if (a.priority === true) out.priority = ctx.priority ?? 0;
  if (a.emergency === true) out.emergency = ctx.emergency ?? false;
  if (a.ieps === true) out.ieps = ctx.ieps ?? false;
  if (a.topology === true && ctx.topology.length > 0) out.topology = ctx.topology.map((t) => ({ ...t }));
  return out;
}

/** v3 ContextAudit selection criteria for `Context = *`. */
function selects(ctx: Context, a: ContextAuditRequest): boolean {
  const tests: boolean[] = [];
  if (a.selectPriority !== undefined) tests.push((ctx.priority ?? 0) === a.selectPriority);
  if (a.selectEmergency !== undefined) tests.push((ctx.emergency ?? false) === a.selectEmergency);
  if (a.selectIeps !== undefined) tests.push((ctx.ieps ?? false) === a.selectIeps);
  if (tests.length === 0) return true;
  return a.selectLogic === 'or' ? tests.some(Boolean) : tests.every(Boolean);
}
