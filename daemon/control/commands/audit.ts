/**
 * What command replies return about a termination (H.248.1 §7.2.5, §7.2.6): Media (TerminationState,
 * LocalControl, Local, Remote as stored), Events, Signals, Statistics, Packages, EventBuffer,
 * DigitMap; for ROOT its properties and the package list. Also the default Subtract statistics and the
 * Local the gateway filled in for `$` (returned by Add/Modify/Move).
 */
import type {
  AuditDescriptor,
  AuditItem,
  EventsDescriptor,
  IndAudDescriptor,
  IndAudStreamParms,
  LocalControlDescriptor,
  MediaDescriptor,
  PackagesItem,
  PropertyParm,
  RequestedEvent,
  SignalParm,
  StatisticsParameter,
  StreamDescriptor,
  StreamParms,
  TerminationAudit,
  TerminationStateDescriptor,
} from '../codec/model.js';
import { serializeSdp, type SdpGroup } from '../codec/sdp.js';
import type { PackageRegistry } from '../packages/registry.js';
import { mgError, shown } from '../../mg/errors.js';
import type { RootTermination } from '../../mg/root.js';
import { streamStatistics, terminationStatistics, type StatValue } from '../../mg/stats.js';
import type { Stream } from '../../mg/stream.js';
import type { Termination } from '../../mg/termination.js';

export type AuditMode = 'value' | 'capabilities';

export interface AuditEnv {
  readonly registry: PackageRegistry;
  readonly now: number;
}

/** True for `Audit {}` (or no Audit at all where that means the same). */
export function isEmptyAudit(a: AuditDescriptor | undefined): boolean {
  return a === undefined || ((a.items === undefined || a.items.length === 0) && (a.indAud === undefined || a.indAud.length === 0));
}

function sdpText(groups: readonly SdpGroup[] | undefined): string | undefined {
  return groups === undefined ? undefined : serializeSdp(groups);
}

function localControlOf(s: Stream): LocalControlDescriptor {
  const lc: LocalControlDescriptor = { mode: s.mode };
  if (s.reserveValue) lc.reservedValue = true;
  if (s.reserveGroup) lc.reservedGroup = true;
  if (s.properties.length > 0) lc.properties = s.properties.map((p) => p.parm);
  return lc;
}

function streamParmsOf(s: Stream): StreamParms {
  const out: StreamParms = { localControl: localControlOf(s) };
  const local = sdpText(s.local);
  const remote = sdpText(s.remote);
  if (local !== undefined) out.local = local;
  if (remote !== undefined) out.remote = remote;
  return out;
}

function terminationStateOf(t: Termination): TerminationStateDescriptor | undefined {
  if (t.serviceState === 'inService' && t.bufferControl === 'off' && t.stateProperties.length === 0) return undefined;
  const ts: TerminationStateDescriptor = {};
  if (t.serviceState !== 'inService') ts.serviceState = t.serviceState;
  if (t.bufferControl !== 'off') ts.bufferControl = t.bufferControl;
  if (t.stateProperties.length > 0) ts.properties = t.stateProperties.map((p) => p.parm);
  return ts;
}

/** Puts stream parameters into a Media descriptor: bare (StreamID 1 only) or Stream descriptors. */
function withStreams(m: MediaDescriptor, streams: readonly StreamDescriptor[], bare: boolean): MediaDescriptor {
  if (streams.length === 0) return m;
  const only = streams[0];
  if (bare && streams.length === 1 && only !== undefined && only.id === 1) {
    const { id: _id, ...parms } = only;
    m.stream = parms;
  } else {
    m.streams = [...streams];
  }
  return m;
}

/** The whole Media descriptor of a termination as stored. */
export function mediaOf(t: Termination): MediaDescriptor {
  const m: MediaDescriptor = {};
  const ts = terminationStateOf(t);
  if (ts !== undefined) m.terminationState = ts;
  const streams = [...t.streams.values()].sort((a, b) => a.id - b.id).map((s) => ({ id: s.id, ...streamParmsOf(s) }));
  return withStreams(m, streams, true);
}

/** Media of an Add/Modify/Move reply: the Local of each stream the gateway filled in. */
export function localRepliesOf(replies: ReadonlyMap<number, SdpGroup[]>, bare: boolean): MediaDescriptor | undefined {
  if (replies.size === 0) return undefined;
  const streams: StreamDescriptor[] = [...replies.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([id, groups]) => ({ id, local: serializeSdp(groups) }));
  return withStreams({}, streams, bare);
}

function statsParams(values: readonly StatValue[], registry: PackageRegistry, namesOnly: boolean): StatisticsParameter[] {
  return values.map((v) => {
    if (namesOnly) return { name: v.name };
    const f = registry.format('statistic', v.name, v.value);
    return typeof f === 'string' ? { name: v.name, value: f } : { name: v.name, values: f };
  });
}

/** All statistics of a termination (the default Subtract return, H.248.1 §7.2.3). */
export function statisticsOf(t: Termination, env: AuditEnv, namesOnly = false): StatisticsParameter[] {
  return statsParams(terminationStatistics(t, env.now), env.registry, namesOnly);
}

/** One named statistic: unknown to the registry 440/453; known but not kept here 532. */
function namedStatistic(values: readonly StatValue[], name: string, env: AuditEnv): StatValue {
  const r = env.registry.statistic(name);
  const v = values.find((x) => x.name === r.name);
  if (v === undefined) {
    throw mgError('ERR_MG_AUDIT_NOT_EXIST', `statistic ${shown(name)} is not kept on this termination`, { item: r.name });
  }
  return v;
}

export function packagesOf(registry: PackageRegistry): PackagesItem[] {
  return registry.packages().map((p) => ({ name: p.name, version: p.version }));
}

function eventsDescriptorOf(requestId: number, events: readonly RequestedEvent[]): EventsDescriptor {
  return { requestId, events: [...events] };
}

/** Capabilities: every event / signal of the registry, by name. */
function allEvents(registry: PackageRegistry): RequestedEvent[] {
  const out: RequestedEvent[] = [];
  for (const p of registry.packages()) for (const e of p.events ?? []) out.push({ name: `${p.name}/${e.name}` });
  return out;
}

function allSignals(registry: PackageRegistry): SignalParm[] {
  const out: SignalParm[] = [];
  for (const p of registry.packages()) for (const s of p.signals ?? []) out.push({ kind: 'signal', name: `${p.name}/${s.name}` });
  return out;
}

function addItem(out: TerminationAudit, item: AuditItem, t: Termination, mode: AuditMode, env: AuditEnv): void {
  switch (item) {
    case 'media':
      out.media = mediaOf(t);
      break;
    case 'events':
      if (mode === 'capabilities') {
        const ev = allEvents(env.registry);
        if (ev.length > 0) out.events = { requestId: 0, events: ev };
      } else if (t.events !== undefined) {
        out.events = eventsDescriptorOf(t.events.requestId, t.events.events.map((e) => e.requested));
      }
      break;
    case 'signals':
      if (mode === 'capabilities') out.signals = allSignals(env.registry);
      else out.signals = t.signals !== undefined ? [...t.signals.parms] : [];
      break;
    case 'statistics':
      out.statistics = statisticsOf(t, env, mode === 'capabilities');
      break;
    case 'packages':
      out.packages = packagesOf(env.registry);
      break;
    case 'eventBuffer':
      if (t.eventBuffer !== undefined && t.eventBuffer.length > 0) out.eventBuffer = [...t.eventBuffer];
      break;
    case 'digitMap':
      if (t.digitMap !== undefined) out.digitMap = t.digitMap;
      break;
    case 'observedEvents':
      // EventBufferControl lockstep buffering is not implemented: nothing is ever buffered
      break;
    case 'modem':
    case 'mux':
      // neither exists on an IP termination: nothing to report
      break;
  }
}

function indAudStream(s: Stream, want: IndAudStreamParms, env: AuditEnv): StreamParms {
  const out: StreamParms = {};
  if (want.localControl !== undefined) {
    const w = want.localControl;
    const lc: LocalControlDescriptor = {};
    if (w.mode === true || w.modeSelect !== undefined) lc.mode = s.mode;
    if (w.reservedValue === true) lc.reservedValue = s.reserveValue;
    if (w.reservedGroup === true) lc.reservedGroup = s.reserveGroup;
    if (w.properties !== undefined) {
      const props: PropertyParm[] = [];
      for (const p of w.properties) {
        const r = env.registry.property(p.name, 'LocalControl');
        const stored = s.property(r.name);
        if (stored !== undefined) props.push(stored.parm);
      }
      if (props.length > 0) lc.properties = props;
    }
    out.localControl = lc;
  }
  if (want.local === true) {
    const t = sdpText(s.local);
    if (t !== undefined) out.local = t;
  }
  if (want.remote === true) {
    const t = sdpText(s.remote);
    if (t !== undefined) out.remote = t;
  }
  if (want.statistics !== undefined) {
    const v = namedStatistic(streamStatistics(s), want.statistics, env);
    out.statistics = statsParams([v], env.registry, false);
  }
  return out;
}

function addIndAud(out: TerminationAudit, d: IndAudDescriptor, t: Termination, env: AuditEnv): void {
  switch (d.kind) {
    case 'media': {
      const m: MediaDescriptor = out.media ?? {};
      const want = d.media;
      if (want.terminationState !== undefined) {
        const ts: TerminationStateDescriptor = {};
        if (want.terminationState.serviceStates === true || want.terminationState.serviceStatesSelect !== undefined) {
          ts.serviceState = t.serviceState;
        }
        if (want.terminationState.bufferControl === true) ts.bufferControl = t.bufferControl;
        const props: PropertyParm[] = [];
        for (const p of want.terminationState.properties ?? []) {
          const r = env.registry.property(p.name, 'TerminationState');
          const stored = t.stateProperties.find((q) => q.name === r.name);
          if (stored !== undefined) props.push(stored.parm);
        }
        if (props.length > 0) ts.properties = props;
        m.terminationState = ts;
      }
      const streams: StreamDescriptor[] = [];
      if (want.stream !== undefined) {
        const s = t.streams.get(1);
        if (s !== undefined) streams.push({ id: 1, ...indAudStream(s, want.stream, env) });
      }
      for (const sd of want.streams ?? []) {
        const s = t.streams.get(sd.id);
        if (s === undefined) throw mgError('ERR_MG_AUDIT_NOT_EXIST', `no stream ${sd.id} on ${t.id}`);
        streams.push({ id: sd.id, ...indAudStream(s, sd, env) });
      }
      out.media = withStreams(m, streams, want.stream !== undefined);
      break;
    }
    case 'events': {
      if (t.events === undefined) break;
      const r = env.registry.event(d.name);
      const evs = t.events.events.filter((e) => e.name === r.name).map((e) => e.requested);
      if (evs.length > 0) out.events = eventsDescriptorOf(t.events.requestId, evs);
      break;
    }
    case 'eventBuffer': {
      const r = env.registry.event(d.name);
      const evs = (t.eventBuffer ?? []).filter((e) => env.registry.event(e.name).name === r.name);
      if (evs.length > 0) out.eventBuffer = evs;
      break;
    }
    case 'signals':
      out.signals = t.signals !== undefined ? [...t.signals.parms] : [];
      break;
    case 'digitMap':
      if (t.digitMap !== undefined) out.digitMap = t.digitMap;
      break;
    case 'statistics': {
      const v = namedStatistic(terminationStatistics(t, env.now), d.name, env);
      (out.statistics ??= []).push(...statsParams([v], env.registry, false));
      break;
    }
    case 'packages': {
      const p = env.registry.findPackage(d.name);
      if (p === undefined) throw mgError('ERR_PKG_UNKNOWN_PACKAGE', `unknown package ${shown(d.name)}`);
      (out.packages ??= []).push({ name: p.name, version: p.version });
      break;
    }
  }
}

/**
 * The audit part of a reply for an ephemeral termination: what `a` asks for. Undefined when nothing
 * is to be returned.
 */
export function auditTermination(
  t: Termination,
  a: AuditDescriptor | undefined,
  mode: AuditMode,
  env: AuditEnv,
): TerminationAudit | undefined {
  if (a === undefined) return undefined;
  const out: TerminationAudit = {};
  for (const item of a.items ?? []) addItem(out, item, t, mode, env);
  for (const d of a.indAud ?? []) addIndAud(out, d, t, env);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** ROOT's properties as a Media descriptor (root package properties live in its TerminationState). */
function rootMedia(root: RootTermination, names?: readonly string[], env?: AuditEnv): MediaDescriptor {
  let props = root.properties;
  if (names !== undefined && env !== undefined) {
    props = names.map((n) => {
      const r = env.registry.property(n, 'ROOT');
      const p = root.property(r.name);
      if (p === undefined) throw mgError('ERR_MG_AUDIT_NOT_EXIST', `property ${shown(n)} has no value`, { item: r.name });
      return p;
    });
  }
  const ts: TerminationStateDescriptor = {};
  if (root.serviceState !== 'inService') ts.serviceState = root.serviceState;
  if (props.length > 0) ts.properties = props.map((p) => p.parm);
  return { terminationState: ts };
}

/**
 * AuditValue / AuditCapabilities on ROOT. An empty AuditCapabilities returns everything ROOT has
 * (its properties, events and the package list); an empty AuditValue returns nothing (§7.2.5).
 */
export function auditRoot(
  root: RootTermination,
  a: AuditDescriptor | undefined,
  mode: AuditMode,
  env: AuditEnv,
): TerminationAudit | undefined {
  const out: TerminationAudit = {};
  const items: AuditItem[] =
    mode === 'capabilities' && isEmptyAudit(a) ? ['media', 'events', 'packages'] : [...(a?.items ?? [])];
  for (const item of items) {
    switch (item) {
      case 'media':
        out.media = rootMedia(root);
        break;
      case 'packages':
        out.packages = packagesOf(env.registry);
        break;
      case 'events':
        if (mode === 'capabilities') {
          const ev: RequestedEvent[] = [];
          for (const p of env.registry.packages()) {
            if (p.name === 'it') for (const e of p.events ?? []) ev.push({ name: `${p.name}/${e.name}` });
          }
          if (ev.length > 0) out.events = { requestId: 0, events: ev };
        } else if (root.events !== undefined) {
          out.events = eventsDescriptorOf(root.events.requestId, root.events.events.map((e) => e.requested));
        }
        break;
      default:
        // statistics, signals, digit maps, buffers: ROOT keeps none
        break;
    }
  }
  for (const d of a?.indAud ?? []) {
    if (d.kind === 'media') {
      const names = (d.media.terminationState?.properties ?? []).map((p) => p.name);
      out.media = rootMedia(root, names.length > 0 ? names : undefined, env);
    } else if (d.kind === 'packages') {
      const p = env.registry.findPackage(d.name);
      if (p === undefined) throw mgError('ERR_PKG_UNKNOWN_PACKAGE', `unknown package ${shown(d.name)}`);
      (out.packages ??= []).push({ name: p.name, version: p.version });
    } else if (d.kind === 'events' && root.events !== undefined) {
      const r = env.registry.event(d.name);
      const evs = root.events.events.filter((e) => e.name === r.name).map((e) => e.requested);
      if (evs.length > 0) out.events = eventsDescriptorOf(root.events.requestId, evs);
    } else if (d.kind === 'statistics') {
      env.registry.statistic(d.name);
      throw mgError('ERR_MG_AUDIT_NOT_EXIST', `ROOT keeps no statistic ${shown(d.name)}`);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Merges the Local returned for `$` with what an Audit asked for (a full Media audit wins). */
export function mergeReplyAudit(local: MediaDescriptor | undefined, audit: TerminationAudit | undefined): TerminationAudit | undefined {
  if (local === undefined) return audit;
  if (audit === undefined) return { media: local };
  if (audit.media !== undefined) return audit;
  return { media: local, ...audit };
}
