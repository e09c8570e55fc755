/**
 * One media stream of a termination (H.248.1 §7.1.6): mode and LocalControl properties, Local and
 * Remote as parsed SDP, the port leases it owns, and the counters the media plane updates.
 */
import type { StreamMode } from '../control/codec/model.js';
import type { SdpGroup } from '../control/codec/sdp.js';
import { Owned, type Closable } from './resource.js';
import { releaseAll, type MediaPort } from './media.js';
import { newStreamCounters, type StoredProperty, type StreamCounters } from './types.js';

/** H.248.1 §7.1.7: "The default value for the mode property is Inactive". */
export const DEFAULT_MODE: StreamMode = 'inactive';

export class Stream implements Closable {
  readonly id: number;
  mode: StreamMode = DEFAULT_MODE;
  reserveValue = false;
  reserveGroup = false;
  /** LocalControl package properties, as last set (a new LocalControl replaces them all). */
  properties: readonly StoredProperty[] = [];
  /** Local as the gateway answered it (filled); undefined until a Local arrives; [] after an empty Local. */
  local: SdpGroup[] | undefined;
  /** Local as the controller wrote it (with `$`), to redo the allocation if the realm changes. */
  localTemplate: SdpGroup[] | undefined;
  remote: SdpGroup[] | undefined;
  /** Port leases owned by this stream. */
  ports: readonly MediaPort[] = [];
  readonly #counters: StreamCounters = newStreamCounters();
  /**
   * Set by a media plane whose counters live elsewhere (a worker thread's shared memory): it brings
   * them into `counters` before each read, so statistics stay a synchronous read.
   */
  counterSource: ((into: StreamCounters) => void) | undefined;
  /**
   * Package statistics a media plane keeps on this stream beyond `counters` (e.g. `tcptv/bs`), by
   * canonical name: read when statistics are reported (Subtract, AuditValue), summed per termination.
   */
  readonly extraStatistics = new Map<string, () => number>();
  #closed = false;
  #linger = false;
  #lingerUntil: Promise<unknown>[] = [];
  #released: Promise<void> = Promise.resolve();
  /** Flows, crypto contexts, policers and connections the media planes created for this stream. */
  readonly #owned = new Owned();

  constructor(id: number) {
    this.id = id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Updated by the media plane; read by statistics. Never replaced, but read it here each time rather
   * than keeping the object: a plane with a counterSource brings its numbers in on this read.
   */
  get counters(): StreamCounters {
    this.counterSource?.(this.#counters);
    return this.#counters;
  }

  /** Typed value of a LocalControl property by canonical name. */
  property(name: string): StoredProperty | undefined {
    const lower = name.toLowerCase();
    return this.properties.find((p) => p.name.toLowerCase() === lower);
  }

  /** True when the stream's Local (else Remote) transport is an RTP profile. */
  get isRtp(): boolean {
    const g = this.local?.[0] ?? this.remote?.[0];
    const t = g?.media[0]?.transport;
    return t === 'RTP/AVP' || t === 'RTP/AVPF' || t === 'RTP/SAVP' || t === 'RTP/SAVPF';
  }

  /** Replaces the held ports; the ones no longer held are released. */
  setPorts(next: readonly MediaPort[]): void {
    const gone = this.ports.filter((p) => !next.includes(p));
    this.ports = next;
    if (gone.length > 0) this.#track(releaseAll(gone));
  }

  /** Resolves when every port this stream gave up has been returned to its PortManager. */
  get released(): Promise<void> {
    return this.#released;
  }

  /** Takes ownership of a media resource: it is closed with the stream (before its ports). */
  own<T extends Closable>(r: T): T {
    return this.#owned.own(r);
  }

  /** Closes one owned resource early (e.g. a flow replaced by a Modify). */
  disown(r: Closable): void {
    this.#owned.release(r);
  }

  /**
   * Asks that close() release this stream's ports one turn later instead of at once, so that a flow
   * closed with the stream can still send a last datagram (a DTLS close_notify: Node sends a UDP
   * datagram only after an asynchronous address lookup, and a socket closed before it drops the
   * datagram). `released` still resolves once the ports are back.
   * With `until`, the ports also wait for it (a relay worker thread that still has them bound closes
   * its sockets first, so a released port is really free); a rejection counts as settled.
   */
  lingerPorts(until?: Promise<unknown>): void {
    this.#linger = true;
    if (until !== undefined) this.#lingerUntil.push(until.then(undefined, () => undefined));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#owned.close();
    if (this.#linger && this.ports.length > 0) {
      const gone = this.ports;
      this.ports = [];
      const turn = new Promise<void>((resolve) => setImmediate(resolve));
      this.#track(Promise.all([turn, ...this.#lingerUntil]).then(() => releaseAll(gone)));
    } else {
      this.setPorts([]);
    }
  }

  #track(p: Promise<void>): void {
    const prev = this.#released;
    this.#released = Promise.all([prev, p]).then(() => undefined);
  }
}
