/**
 * Request descriptors → typed, validated updates for the gateway model (daemon/mg/types.ts). All
 * package items go through the registry (440/445/446/449/450/451/452/453/455/457/534), SDP through
 * the SDP codec (474), and descriptors a command may not carry are 447. Nothing here touches state.
 */
import type {
  Descriptors,
  EmbedDescriptor,
  EventsDescriptor,
  EventSpec,
  MediaDescriptor,
  PropertyParm,
  SignalParm,
  SignalRequest,
  StatisticsParameter,
  StreamParms,
  TerminationStateDescriptor,
} from '../codec/model.js';
import { parseSdp, type SdpGroup, type SdpLimits } from '../codec/sdp.js';
import type { PackageRegistry, ParameterText } from '../packages/registry.js';
import type { PropertyLocation } from '../packages/types.js';
import { mgError, shown } from '../../mg/errors.js';
import type {
  StoredEvent,
  StoredEvents,
  StoredProperty,
  StoredSignals,
  StreamUpdate,
  TerminationUpdate,
} from '../../mg/types.js';

/** Canonical name of the realm property (H.248.41). */
export const REALM_PROPERTY = 'ipdc/realm';

export interface DescriptorContext {
  readonly registry: PackageRegistry;
  /** Canonical realm name for a controller-given one, undefined when not configured. */
  readonly realmName: (name: string) => string | undefined;
  readonly sdpLimits?: Partial<SdpLimits> | undefined;
}

/** A built update plus what the reply needs to mirror the request's shape. */
export interface BuiltUpdate {
  readonly update: TerminationUpdate;
  /** The request wrote stream parameters without a Stream descriptor (StreamID 1). */
  readonly bareStream: boolean;
}

type AmmKindName = 'Add' | 'Modify' | 'Move';

/** 447 for descriptors an Add/Modify/Move request cannot carry (H.248.1 §7.2.1-7.2.4 input lists). */
export function checkAmmDescriptors(d: Descriptors, command: AmmKindName): void {
  const illegal: string[] = [];
  if (d.observedEvents !== undefined) illegal.push('ObservedEvents');
  if (d.packages !== undefined) illegal.push('Packages');
  if (d.error !== undefined) illegal.push('Error');
  if (d.items !== undefined && d.items.length > 0) illegal.push(d.items.join(', '));
  if (illegal.length > 0) {
    throw mgError('ERR_MG_DESCRIPTOR_ILLEGAL', `${illegal.join(', ')} not legal in ${command}`);
  }
  if (d.modem !== undefined) throw mgError('ERR_CTRL_NOT_IMPLEMENTED', 'Modem descriptor not supported');
  if (d.mux !== undefined) throw mgError('ERR_CTRL_NOT_IMPLEMENTED', 'Mux descriptor not supported');
}

/** The text(s) of a property value; 449 for forms the gateway does not choose from. */
export function valueText(p: PropertyParm): string | readonly string[] {
  if (p.relation === '=' && p.value !== undefined) return p.value;
  if (p.relation === '=' && p.list !== undefined) return p.list;
  // H.248.1 §7.1.1 over/underspecified values: trgwd takes fully specified values only
  throw mgError('ERR_PKG_BAD_VALUE', `only a fully specified value is supported for ${shown(p.name)}`, {
    item: p.name,
  });
}

/** Parses properties of one descriptor; 456 when one appears twice. */
export function parseProperties(
  parms: readonly PropertyParm[] | undefined,
  where: PropertyLocation,
  ctx: DescriptorContext,
): StoredProperty[] {
  const out: StoredProperty[] = [];
  for (const p of parms ?? []) {
    const r = ctx.registry.parseProperty(p.name, valueText(p), where);
    if (out.some((q) => q.name === r.name)) {
      throw mgError('ERR_PKG_PROPERTY_TWICE', `property ${shown(p.name)} appears twice`, { item: r.name });
    }
    out.push({ name: r.name, value: r.value, parm: p });
  }
  return out;
}

/** The realm a property list names (checked against the config: unknown → 449 naming it). */
function realmOf(props: readonly StoredProperty[], ctx: DescriptorContext): string | undefined {
  const p = props.find((q) => q.name === REALM_PROPERTY);
  if (p === undefined) return undefined;
  const name = String(p.value);
  const canonical = ctx.realmName(name);
  if (canonical === undefined) {
    throw mgError('ERR_PKG_BAD_VALUE', `unknown realm ${shown(name)} for ipdc/realm`, { value: name });
  }
  return canonical;
}

export function parseSdpText(text: string, ctx: DescriptorContext): SdpGroup[] {
  return parseSdp(text, ctx.sdpLimits);
}

function streamUpdate(id: number, s: StreamParms, ctx: DescriptorContext, realms: Set<string>): StreamUpdate {
  const out: {
    id: number;
    localControl?: StreamUpdate['localControl'];
    local?: SdpGroup[];
    remote?: SdpGroup[];
  } = { id };
  if (s.localControl !== undefined) {
    const lc = s.localControl;
    const properties = parseProperties(lc.properties, 'LocalControl', ctx);
    const realm = realmOf(properties, ctx);
    if (realm !== undefined) realms.add(realm);
    out.localControl = {
      ...(lc.mode !== undefined ? { mode: lc.mode } : {}),
      ...(lc.reservedValue !== undefined ? { reserveValue: lc.reservedValue } : {}),
      ...(lc.reservedGroup !== undefined ? { reserveGroup: lc.reservedGroup } : {}),
      properties,
    };
  }
  if (s.statistics !== undefined) checkStatistics(s.statistics, ctx);
  if (s.local !== undefined) out.local = parseSdpText(s.local, ctx);
  if (s.remote !== undefined) out.remote = parseSdpText(s.remote, ctx);
  return out;
}

function mediaUpdate(
  m: MediaDescriptor,
  ctx: DescriptorContext,
): { streams: StreamUpdate[]; bare: boolean; state?: TerminationUpdate['terminationState']; realm?: string } {
  const realms = new Set<string>();
  const streams: StreamUpdate[] = [];
  const seen = new Set<number>();
  const bare = m.stream !== undefined;
  if (m.stream !== undefined) {
    // stream parameters without a Stream descriptor mean StreamID 1 (H.248.1 §7.1.4)
    streams.push(streamUpdate(1, m.stream, ctx, realms));
    seen.add(1);
  }
  for (const sd of m.streams ?? []) {
    if (seen.has(sd.id)) throw mgError('ERR_H248_DESCRIPTOR_TWICE', `Stream ${sd.id} appears twice`);
    seen.add(sd.id);
    streams.push(streamUpdate(sd.id, sd, ctx, realms));
  }
  let state: TerminationUpdate['terminationState'];
  if (m.terminationState !== undefined) {
    const ts: TerminationStateDescriptor = m.terminationState;
    const properties = parseProperties(ts.properties, 'TerminationState', ctx);
    const realm = realmOf(properties, ctx);
    if (realm !== undefined) realms.add(realm);
    state = {
      ...(ts.serviceState !== undefined ? { serviceState: ts.serviceState } : {}),
      ...(ts.bufferControl !== undefined ? { bufferControl: ts.bufferControl } : {}),
      properties,
    };
  }
  if (realms.size > 1) {
    throw mgError('ERR_MG_CONFLICTING_VALUES', `conflicting ipdc/realm values: ${[...realms].map((r) => shown(r)).join(', ')}`);
  }
  const realm = realms.values().next().value;
  return { streams, bare, ...(state !== undefined ? { state } : {}), ...(realm !== undefined ? { realm } : {}) };
}

function paramTexts(params: readonly PropertyParm[] | undefined): ParameterText[] {
  return (params ?? []).map((p) => ({ name: p.name, value: valueText(p) }));
}

function checkEmbed(e: EmbedDescriptor | undefined, ctx: DescriptorContext): void {
  if (e === undefined) return;
  if (e.signals !== undefined) parseSignals(e.signals, ctx);
  if (e.events !== undefined) parseEvents(e.events, ctx);
}

/** Events descriptor: each event known (440/451), its parameters typed (446/449/457). */
export function parseEvents(d: EventsDescriptor, ctx: DescriptorContext): StoredEvents | null {
  if (d.requestId === undefined) return null;
  if (d.requestId === '*') throw mgError('ERR_PKG_BAD_VALUE', 'RequestID * is not allowed in an Events descriptor');
  const events: StoredEvent[] = d.events.map((e) => {
    const r = ctx.registry.event(e.name);
    const params = ctx.registry.parseEventParameters(e.name, paramTexts(e.params));
    checkEmbed(e.embed, ctx);
    if (e.notifyBehaviour?.kind === 'regulated') checkEmbed(e.notifyBehaviour.embed, ctx);
    return { name: r.name, params, requested: e };
  });
  return { requestId: d.requestId, events };
}

function checkSignal(s: SignalRequest, ctx: DescriptorContext, names: string[]): void {
  const r = ctx.registry.signal(s.name);
  ctx.registry.parseSignalParameters(s.name, paramTexts(s.params));
  names.push(r.name);
}

/** Signals descriptor: each signal known (440/452), parameters typed (446/449/457). */
export function parseSignals(parms: readonly SignalParm[], ctx: DescriptorContext): StoredSignals {
  const names: string[] = [];
  for (const p of parms) {
    if (p.kind === 'signal') checkSignal(p, ctx, names);
    else for (const s of p.signals) checkSignal(s, ctx, names);
  }
  return { names, parms: [...parms] };
}

/** EventBuffer descriptor: events known, parameters typed. */
export function parseEventBuffer(specs: readonly EventSpec[], ctx: DescriptorContext): EventSpec[] {
  for (const e of specs) {
    ctx.registry.event(e.name);
    ctx.registry.parseEventParameters(e.name, paramTexts(e.params));
  }
  return [...specs];
}

/** Statistics named in a request: each must exist (440/453). */
export function checkStatistics(stats: readonly StatisticsParameter[], ctx: DescriptorContext): void {
  for (const s of stats) ctx.registry.statistic(s.name);
}

/** Builds the update an Add, Modify or Move applies to an ephemeral termination. */
export function buildUpdate(d: Descriptors, command: AmmKindName, ctx: DescriptorContext): BuiltUpdate {
  checkAmmDescriptors(d, command);
  const u: {
    streams?: StreamUpdate[];
    realm?: string;
    terminationState?: TerminationUpdate['terminationState'];
    events?: StoredEvents | null;
    signals?: StoredSignals;
    eventBuffer?: EventSpec[];
    digitMap?: TerminationUpdate['digitMap'];
  } = {};
  let bare = false;
  if (d.media !== undefined) {
    const m = mediaUpdate(d.media, ctx);
    u.streams = m.streams;
    bare = m.bare;
    if (m.state !== undefined) u.terminationState = m.state;
    if (m.realm !== undefined) u.realm = m.realm;
  }
  if (d.events !== undefined) u.events = parseEvents(d.events, ctx);
  if (d.signals !== undefined) u.signals = parseSignals(d.signals, ctx);
  if (d.eventBuffer !== undefined) u.eventBuffer = parseEventBuffer(d.eventBuffer, ctx);
  if (d.digitMap !== undefined) u.digitMap = d.digitMap;
  if (d.statistics !== undefined) checkStatistics(d.statistics, ctx);
  return { update: u, bareStream: bare };
}

/** What a Modify on ROOT may change: root properties (TerminationState) and ROOT's Events. */
export interface RootUpdate {
  readonly properties?: readonly StoredProperty[];
  readonly serviceState?: TerminationStateDescriptor['serviceState'];
  readonly events?: StoredEvents | null;
}

export function buildRootUpdate(d: Descriptors, ctx: DescriptorContext): RootUpdate {
  checkAmmDescriptors(d, 'Modify');
  const notOnRoot: string[] = [];
  if (d.media?.stream !== undefined || (d.media?.streams?.length ?? 0) > 0) notOnRoot.push('Stream');
  if (d.signals !== undefined) notOnRoot.push('Signals');
  if (d.eventBuffer !== undefined) notOnRoot.push('EventBuffer');
  if (d.digitMap !== undefined) notOnRoot.push('DigitMap');
  if (notOnRoot.length > 0) throw mgError('ERR_MG_DESCRIPTOR_ILLEGAL', `${notOnRoot.join(', ')} not legal on ROOT`);
  const out: { properties?: StoredProperty[]; serviceState?: RootUpdate['serviceState']; events?: StoredEvents | null } = {};
  const ts = d.media?.terminationState;
  if (ts !== undefined) {
    out.properties = parseProperties(ts.properties, 'ROOT', ctx);
    if (ts.serviceState !== undefined) out.serviceState = ts.serviceState;
  }
  if (d.events !== undefined) out.events = parseEvents(d.events, ctx);
  if (d.statistics !== undefined) checkStatistics(d.statistics, ctx);
  return out;
}
