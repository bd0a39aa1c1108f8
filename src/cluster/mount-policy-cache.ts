/**
 * The MountPolicies mountgate knows, by namespace: what the list and watch has
 * listed and watched, each compiled once when it arrives. Pure, so it is
 * tested on recorded objects. Until the first listing, and while the watch
 * is broken, every namespace's layers are unknown, which admits no host path.
 */
import type { NamespaceLayers } from '../policy/layers.js';
import { MAX_EFFECTIVE_CHARACTERS, MAX_EFFECTIVE_ENTRIES } from '../policy/effective.js';
import { compileMountPolicy, judgedPartOf, OBJECT_KEYS, type CompiledMountPolicy, type MountPolicyRef } from '../policy/mount-policy.js';
import { MAX_MESSAGE_LENGTH } from './mount-policy-status.js';

/** A MountPolicy as the API server returns it; only metadata is relied upon, the rest is judged. */
export interface MountPolicyObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly namespace?: string;
    readonly name?: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

export interface CachedMountPolicy {
  readonly object: MountPolicyObject;
  readonly compiled: CompiledMountPolicy;
}

export interface TableChange {
  /** The namespace whose MountPolicies changed; undefined when every namespace's may have (sync gained or lost). */
  readonly namespace: string | undefined;
  /** False when only status or metadata changed, so the layers of the namespace are as they were. */
  readonly layersChanged: boolean;
}

export const NOT_LISTED = 'mountgate has not listed the MountPolicies yet';
export const WATCH_BROKEN = "mountgate's watch on MountPolicies is broken; it is reconnecting";

const NO_POLICIES: NamespaceLayers = { known: true, policies: [] };

export function isMountPolicyObject(value: unknown): value is MountPolicyObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const metadata: unknown = 'metadata' in value ? value.metadata : undefined;
  return metadata === undefined || (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata));
}

/**
 * A stored status whose JSON text is longer than this (in UTF-16 code units, as the bounds on what
 * mountgate writes are counted) is not one mountgate wrote; it is kept as OVERSIZED_STATUS, which no
 * status mountgate writes equals, so the holder of the Lease writes the right one over it. What
 * mountgate writes stays well below: the effective list's prefixes (MAX_EFFECTIVE_CHARACTERS) and the
 * message (MAX_MESSAGE_LENGTH), each character at most doubled by JSON escaping (`"` and `\` may be in
 * a path), and the fixed text around each of at most MAX_EFFECTIVE_ENTRIES entries.
 */
export const MAX_KEPT_STATUS_LENGTH = 2 * (MAX_EFFECTIVE_CHARACTERS + MAX_MESSAGE_LENGTH) + 64 * MAX_EFFECTIVE_ENTRIES + 16 * 1024;
export const OVERSIZED_STATUS = Object.freeze({ mountgateNote: 'the stored status was larger than mountgate keeps' });

/**
 * What the table keeps of a MountPolicy: the metadata it reads, the spec and (bounded) the status. Labels,
 * annotations (up to 256 KiB) and managedFields are left out, so that the table's memory follows the specs,
 * which the admission webhook bounds, rather than whatever a namespace's admin puts beside them.
 * A status write sends this back: the API server takes only the status from it (and the resourceVersion, to
 * refuse a stale write), keeping the rest as stored.
 */
export function keptOf(object: MountPolicyObject): MountPolicyObject {
  const metadata = object.metadata;
  const kept: { -readonly [K in keyof MountPolicyObject]: MountPolicyObject[K] } = {};
  if (object.apiVersion !== undefined) kept.apiVersion = object.apiVersion;
  if (object.kind !== undefined) kept.kind = object.kind;
  if (metadata !== undefined) {
    kept.metadata = {};
    for (const key of ['namespace', 'name', 'uid', 'generation', 'resourceVersion'] as const) {
      if (metadata[key] !== undefined) Object.assign(kept.metadata, { [key]: metadata[key] });
    }
  }
  if (object.spec !== undefined) kept.spec = object.spec;
  if (object.status !== undefined) kept.status = (JSON.stringify(object.status)?.length ?? 0) > MAX_KEPT_STATUS_LENGTH ? OVERSIZED_STATUS : object.status;
  // A key no MountPolicy has (a misspelt spec, stored while the webhook was out of the way) makes the object invalid,
  // allowing no host path: left out, the object would read as one without a spec, which narrows nothing. Its name is
  // all compileMountPolicy reads. Defined, not assigned: a key named __proto__ would set the prototype instead.
  for (const key of Object.keys(object)) {
    if (!OBJECT_KEYS.has(key)) Object.defineProperty(kept, key, { value: null, enumerable: true, writable: true, configurable: true });
  }
  return kept;
}

export class MountPolicyTable {
  readonly #byNamespace = new Map<string, Map<string, CachedMountPolicy>>();
  /** layersOf's answer per namespace with MountPolicies, built when the namespace changes rather than at every admission. */
  readonly #layers = new Map<string, NamespaceLayers>();
  readonly #listeners: Array<(change: TableChange) => void> = [];
  #synced = false;
  #everSynced = false;
  #size = 0;

  get synced(): boolean {
    return this.#synced;
  }

  /** True once the first listing has arrived, whatever happened to the watch since. */
  get everSynced(): boolean {
    return this.#everSynced;
  }

  get size(): number {
    return this.#size;
  }

  onChange(listener: (change: TableChange) => void): void {
    this.#listeners.push(listener);
  }

  markSynced(synced: boolean): void {
    if (synced === this.#synced) return;
    this.#synced = synced;
    if (synced) this.#everSynced = true;
    this.#emit({ namespace: undefined, layersChanged: true });
  }

  /**
   * After a (re-)list: exactly the MountPolicies listed. One the table holds that the list lacks was
   * deleted while the watch was down, and no deletion event will come for it.
   */
  replace(objects: readonly MountPolicyObject[]): void {
    const listed = new Set(objects.map(keyOf));
    for (const entry of this.list()) if (!listed.has(keyOf(entry.object))) this.remove(entry.object);
    for (const object of objects) this.upsert(object);
  }

  /** An object added or changed; one without a namespace or a name cannot be placed and is ignored. */
  upsert(object: MountPolicyObject): void {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return;
    let policies = this.#byNamespace.get(namespace);
    if (policies === undefined) {
      policies = new Map();
      this.#byNamespace.set(namespace, policies);
    }
    const before = policies.get(name);
    if (before === undefined) this.#size++;
    const layersChanged = before === undefined || !sameLayer(before.object, object);
    policies.set(name, { object, compiled: layersChanged || before === undefined ? compileMountPolicy(object) : before.compiled });
    if (layersChanged) this.#layers.delete(namespace);
    this.#emit({ namespace, layersChanged });
  }

  remove(object: MountPolicyObject): void {
    const namespace = object.metadata?.namespace;
    const name = object.metadata?.name;
    if (!namespace || !name) return;
    const policies = this.#byNamespace.get(namespace);
    if (policies?.delete(name) !== true) return;
    this.#size--;
    if (policies.size === 0) this.#byNamespace.delete(namespace);
    this.#layers.delete(namespace);
    this.#emit({ namespace, layersChanged: true });
  }

  /** What decide() must take into account for a Pod of `namespace`. */
  layersOf(namespace: string): NamespaceLayers {
    if (!this.#synced) return { known: false, namespace, why: this.#everSynced ? WATCH_BROKEN : NOT_LISTED };
    const policies = this.#byNamespace.get(namespace);
    // Kept only for a namespace with MountPolicies: a review can name any namespace, and remembering each would grow without bound.
    if (policies === undefined) return NO_POLICIES;
    let layers = this.#layers.get(namespace);
    if (layers === undefined) {
      layers = { known: true, policies: [...policies.values()].map((entry) => entry.compiled) };
      this.#layers.set(namespace, layers);
    }
    return layers;
  }

  get(ref: MountPolicyRef): CachedMountPolicy | undefined {
    return this.#byNamespace.get(ref.namespace)?.get(ref.name);
  }

  /** Every cached MountPolicy, of one namespace or of all. */
  list(namespace?: string): CachedMountPolicy[] {
    if (namespace !== undefined) return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
    return [...this.#byNamespace.values()].flatMap((policies) => [...policies.values()]);
  }

  #emit(change: TableChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

function keyOf(object: MountPolicyObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * With a status subresource, generation moves only with what lies beside metadata and status; that is compared too
 * (the spec, and a key no MountPolicy has, which makes it invalid), for a CRD without one.
 */
function sameLayer(before: MountPolicyObject, after: MountPolicyObject): boolean {
  return (
    before.metadata?.uid === after.metadata?.uid &&
    before.metadata?.generation === after.metadata?.generation &&
    JSON.stringify(judgedPartOf(before)) === JSON.stringify(judgedPartOf(after))
  );
}
