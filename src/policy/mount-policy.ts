/**
 * A namespace's MountPolicy (mountgate.io/v1alpha1): host paths, reserved
 * targets and a mount limit that can only narrow the cluster policy for the
 * Pods of its namespace. Its spec schema is the truth for the custom
 * resource's fields.
 */
import { isRecord } from './json-object.js';
import { array, object, ValidationError, type InferType } from 'yup';
import { decidingOrder, pathLists, type CompiledPolicy, type NarrowingLayer } from './compile.js';
import { prefixCovers, prefixMeet, segmentsCover, type ComparisonCost } from './containment.js';
import { parsePattern, PLACEHOLDER_VALUE, type PatternSegment } from './patterns.js';
import { firstProblems } from './problem-list.js';
import { maxMounts, pathPrefixEntry, refusingUnknownKeys, reservedMountPaths, type PathPrefixEntry } from './schema.js';

export const MOUNT_POLICY_GROUP = 'mountgate.io';
export const MOUNT_POLICY_VERSION = 'v1alpha1';
export const MOUNT_POLICY_KIND = 'MountPolicy';
export const MOUNT_POLICY_RESOURCE = 'mountpolicies';

export const mountPolicySpecSchema = refusingUnknownKeys(
  object({
    /** When present, a host path must also lie under one of these; an empty list allows none. */
    allowedHostPaths: array(pathPrefixEntry).strict().typeError('${path} must be a list').optional(),
    /** Added to the cluster policy's reserved targets. */
    reservedMountPaths: reservedMountPaths().default([]),
    /** The smallest maxMounts of all layers applies. */
    maxMounts: maxMounts().optional(),
  }),
  (path) => `${path} has an unknown key`,
)
  .typeError('${path} must be a mapping of keys such as allowedHostPaths')
  .strict();

export type MountPolicySpec = InferType<typeof mountPolicySpecSchema>;

/** The keys of a MountPolicy object; the CRD keeps any other (x-kubernetes-preserve-unknown-fields) for this to refuse. */
export const OBJECT_KEYS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * What a MountPolicy is judged by: all of it but its metadata and status, that is its spec and any key beside it (one
 * no MountPolicy has, a misspelt spec, makes it invalid). Undefined for what is no object.
 */
export function judgedPartOf(object: unknown): Record<string, unknown> | undefined {
  if (!isRecord(object)) return undefined;
  const { metadata: _metadata, status: _status, ...rest } = object;
  return rest;
}

/**
 * Longer lists are refused before yup reads them: yup explains every bad entry, at tens of microseconds each, and a
 * body of a few MiB holds a million. The CRD allows 128 (maxItems); this only bounds what reaches /validate-mountpolicy
 * some other way.
 */
export const MAX_SPEC_LIST_ENTRIES = 256;
const SPEC_LISTS = ['allowedHostPaths', 'reservedMountPaths'] as const;

/**
 * The largest spec mountgate reads, in bytes of its JSON (UTF-8). Every replica lists every MountPolicy of the
 * cluster into memory, so one namespace's admin must not be able to make that list large: the CRD alone lets a spec
 * hold 2 x 128 strings of 4096 characters (up to 3 MiB), and some 70 specs of 1 MiB made every list page pass the
 * 64 MiB list-watch reads, so no Pod anywhere got a host path. 64 KiB takes the CRD's 128 allowedHostPaths at some
 * 470 characters each, where real host paths have a few dozen. It is measured as JSON.stringify writes the spec, but
 * the API server writes <, > and & as \u003c and the like, 6 bytes for 1, so a spec at the bound can take up to
 * 384 KiB in a list answer and 500 of them (a default list page) could pass the 64 MiB. This bound alone does not
 * bound a page: the MountPolicy watch's page size of 32 does, with etcd's limit on an object (mount-policy-watch.ts):
 * some 2 MiB of specs at this bound, at most 12 MiB escaped.
 */
export const MAX_SPEC_BYTES = 64 * 1024;

/** The object around the spec; only spec is judged, so that error paths read `spec.allowedHostPaths[0]...`. */
const objectSchema = object({ spec: mountPolicySpecSchema.default({ reservedMountPaths: [] }) });

export interface MountPolicyRef {
  readonly namespace: string;
  readonly name: string;
}

export interface CompiledMountPolicy {
  readonly ref: MountPolicyRef;
  readonly generation: number;
  readonly uid: string;
  /** Non-empty when the object is not a valid MountPolicy: it then allows no host path at all. */
  readonly problems: readonly string[];
  /** The validated spec; undefined when there are problems. */
  readonly spec: MountPolicySpec | undefined;
  /** What the layer takes away from host paths; undefined when it lists no allowedHostPaths (and is valid). */
  readonly layer: NarrowingLayer | undefined;
}

export function describeMountPolicy(ref: MountPolicyRef): string {
  return `MountPolicy ${ref.namespace}/${ref.name}`;
}


function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Any object the API server hands over for a MountPolicy; never throws. */
export function compileMountPolicy(object: unknown): CompiledMountPolicy {
  const metadata = isRecord(object) && isRecord(object.metadata) ? object.metadata : {};
  const ref = { namespace: text(metadata.namespace), name: text(metadata.name) };
  const generation = typeof metadata.generation === 'number' && Number.isSafeInteger(metadata.generation) ? metadata.generation : 0;
  const identity = { ref, generation, uid: text(metadata.uid) };

  const problems: string[] = [];
  if (ref.namespace === '') problems.push('metadata.namespace is missing (a MountPolicy is namespaced)');
  if (ref.name === '') problems.push('metadata.name is missing');
  let spec: MountPolicySpec | undefined;
  if (!isRecord(object)) {
    problems.push('the object must be a mapping with a spec');
  } else {
    // A misspelt spec would otherwise read as a MountPolicy without one, narrowing nothing.
    for (const key of Object.keys(object)) if (!OBJECT_KEYS.has(key)) problems.push(`the MountPolicy has an unknown key: ${key}`);
    const tooLong = longLists(object.spec);
    if (tooLong.length === 0) tooLong.push(...largeSpec(object.spec));
    if (tooLong.length > 0) {
      problems.push(...tooLong);
    } else {
      try {
        objectSchema.validateSync({ spec: object.spec }, { strict: true, abortEarly: false });
        spec = mountPolicySpecSchema.cast(object.spec ?? {});
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        problems.push(...error.errors);
      }
    }
  }
  if (spec === undefined || problems.length > 0) {
    const name = describeMountPolicy(ref);
    const listed = firstProblems(problems);
    const closed = `it is invalid, so it allows no host path: ${listed.join('; ')}`;
    return { ...identity, problems: listed, spec: undefined, layer: { name, closed, ...pathLists([], []) } };
  }
  const allowed = spec.allowedHostPaths;
  if (allowed === undefined) return { ...identity, problems, spec, layer: undefined };
  const closed = allowed.length === 0 ? 'its allowedHostPaths is empty' : undefined;
  return { ...identity, problems, spec, layer: { name: describeMountPolicy(ref), closed, ...pathLists(allowed, allowed) } };
}

function longLists(spec: unknown): string[] {
  if (!isRecord(spec)) return [];
  return SPEC_LISTS.flatMap((key) => {
    const list = spec[key];
    return Array.isArray(list) && list.length > MAX_SPEC_LIST_ENTRIES
      ? [`spec.${key} has ${list.length} entries, more than the ${MAX_SPEC_LIST_ENTRIES} mountgate reads`]
      : [];
  });
}

/** Measured after longLists, so that a list of a million entries is refused before it is written out. */
function largeSpec(spec: unknown): string[] {
  let json: string | undefined;
  try {
    json = JSON.stringify(spec);
  } catch {
    // Only an object built in memory (a cycle, a BigInt) gets here; nothing parsed from JSON does.
    return ['spec cannot be written as JSON'];
  }
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
  return bytes > MAX_SPEC_BYTES ? [`spec takes ${bytes} bytes as JSON, more than the ${MAX_SPEC_BYTES} (64 KiB) mountgate reads`] : [];
}

export type Entry = Pick<PathPrefixEntry, 'pathPrefix' | 'readOnly'>;

/** An entry of a layer; `ranking` is the pattern it was written as, when it differs (see inNamespace). */
export type LayerEntry = Entry & { readonly ranking?: readonly PatternSegment[] };

/**
 * Entries as they stand for the Pods of one namespace: a MountPolicy only ever judges Pods of its own namespace, so
 * {namespace} is that namespace there (when it is a value a placeholder can take). Such an entry still ranks as the
 * placeholder it is when entries compete for a path: "/srv/{namespace}" does not outrank "/srv/*" as the literal
 * "/srv/team-a" would.
 */
export function inNamespace(entries: readonly Entry[], namespace: string): LayerEntry[] {
  if (!PLACEHOLDER_VALUE.test(namespace)) return [...entries];
  return entries.map((entry) => {
    const segments = entry.pathPrefix.split('/');
    if (!segments.includes('{namespace}')) return entry;
    return {
      pathPrefix: segments.map((segment) => (segment === '{namespace}' ? namespace : segment)).join('/'),
      readOnly: entry.readOnly,
      ranking: parsePattern(entry.pathPrefix),
    };
  });
}

/** The cluster's entries as they stand for the Pods of one namespace (see inNamespace). */
export function clusterEntries(cluster: CompiledPolicy, namespace: string, which: 'carriable' | 'requestable' = 'carriable'): LayerEntry[] {
  return inNamespace(which === 'carriable' ? [...cluster.spec.allowedHostPaths, ...cluster.spec.builtinHostPaths] : cluster.spec.allowedHostPaths, namespace);
}

/** The MountPolicy's own entries as they stand for the Pods it judges: its {namespace} is always its own namespace. */
function ownEntries(policy: CompiledMountPolicy): LayerEntry[] {
  return inNamespace(policy.spec?.allowedHostPaths ?? [], policy.ref.namespace);
}

/** An entry with its pattern parsed once: `segments` as it matches paths, `ranking` as it competes (see inNamespace). */
export interface ParsedEntry {
  readonly entry: LayerEntry;
  readonly segments: readonly PatternSegment[];
  readonly ranking: readonly PatternSegment[];
}

export function parsedEntries(entries: readonly LayerEntry[]): ParsedEntry[] {
  return entries.map((entry) => {
    const segments = parsePattern(entry.pathPrefix);
    return { entry, segments, ranking: entry.ranking ?? segments };
  });
}

/** How an entry competes in decidingOrder. */
export function rankOf(parsed: ParsedEntry): { readonly readOnly: boolean; readonly segments: readonly PatternSegment[] } {
  return { readOnly: parsed.entry.readOnly, segments: parsed.ranking };
}

/** The entry that decides for everything under `prefix`, among those that cover all of it (see decidingOrder; the first of equals). */
export function decidingCover(entries: readonly ParsedEntry[], prefix: readonly PatternSegment[], cost?: ComparisonCost): ParsedEntry | undefined {
  let deciding: ParsedEntry | undefined;
  for (const candidate of entries) {
    if (!segmentsCover(candidate.segments, prefix, cost)) continue;
    if (deciding === undefined || decidingOrder(rankOf(candidate), rankOf(deciding)) < 0) deciding = candidate;
  }
  return deciding;
}

/**
 * What in a valid MountPolicy reaches outside the cluster policy, each naming
 * its field: an entry no single cluster entry covers, a maxMounts above the
 * cluster's. Such a MountPolicy is refused when written; one already stored
 * still only narrows, as every Pod is judged against both.
 */
export function wideningProblems(cluster: CompiledPolicy, policy: CompiledMountPolicy): string[] {
  const problems: string[] = [];
  const outer = clusterEntries(cluster, policy.ref.namespace);
  const own = ownEntries(policy);
  (policy.spec?.allowedHostPaths ?? []).forEach((entry, index) => {
    const filled = own[index]?.pathPrefix ?? entry.pathPrefix;
    if (outer.some((candidate) => prefixCovers(candidate.pathPrefix, filled))) return;
    problems.push(
      `spec.allowedHostPaths[${index}].pathPrefix: "${entry.pathPrefix}" reaches outside the cluster policy (no allowedHostPaths or builtinHostPaths entry of the cluster policy covers all of it)`,
    );
  });
  const limit = policy.spec?.maxMounts;
  if (limit !== undefined && limit > cluster.spec.maxMounts) {
    problems.push(`spec.maxMounts: ${limit} is more than the cluster policy's maxMounts (${cluster.spec.maxMounts})`);
  }
  return problems;
}

/**
 * What a valid MountPolicy says that will not happen as written: read-write where the cluster says read-only, or
 * above a read-only prefix (a mount holding one is read-only), requests of built-ins.
 */
export function narrowingWarnings(cluster: CompiledPolicy, policy: CompiledMountPolicy): string[] {
  const warnings: string[] = [];
  const own = ownEntries(policy);
  const clusterSide = clusterEntries(cluster, policy.ref.namespace);
  (policy.spec?.allowedHostPaths ?? []).forEach((entry, index) => {
    const field = `spec.allowedHostPaths[${index}]`;
    const filled = own[index]?.pathPrefix ?? entry.pathPrefix;
    const deciding = decidingCover(parsedEntries(clusterSide), parsePattern(filled))?.entry;
    if (deciding?.readOnly === true && !entry.readOnly) {
      warnings.push(`${field}: "${entry.pathPrefix}" is under the cluster policy's read-only prefix "${deciding.pathPrefix}", so it is mounted read-only`);
    } else if (!entry.readOnly) {
      const below = readOnlyBelow(filled, clusterSide);
      const ownBelow = below === undefined ? readOnlyBelow(filled, own) : undefined;
      if (below !== undefined) warnings.push(`${field}: "${entry.pathPrefix}" holds the cluster policy's read-only prefix "${below}", so a mount that holds it is read-only`);
      else if (ownBelow !== undefined) warnings.push(`${field}: "${entry.pathPrefix}" holds the read-only prefix "${ownBelow}", so a mount that holds it is read-only`);
    }
    const requestable = clusterEntries(cluster, policy.ref.namespace, 'requestable').some((allowed) => prefixMeet(allowed.pathPrefix, filled) !== undefined);
    if (deciding !== undefined && !requestable) {
      warnings.push(`${field}: "${entry.pathPrefix}" lies only under the cluster policy's builtinHostPaths: Pods may carry it, the annotation cannot request it`);
    }
  });
  return warnings;
}

/** A read-only entry that some path strictly below `prefix` matches, as it stands for the namespace; undefined when there is none. */
function readOnlyBelow(prefix: string, entries: readonly LayerEntry[]): string | undefined {
  const depth = parsePattern(prefix).length;
  return entries.find((other) => other.readOnly && parsePattern(other.pathPrefix).length > depth && prefixMeet(prefix, other.pathPrefix) !== undefined)?.pathPrefix;
}

/** "MountPolicy team-a/a", or "MountPolicies team-a/a, team-a/b" in name order. */
export function describeMountPolicies(refs: readonly MountPolicyRef[]): string {
  const names = refs.map((ref) => `${ref.namespace}/${ref.name}`).sort();
  return `${names.length === 1 ? 'MountPolicy' : 'MountPolicies'} ${names.join(', ')}`;
}
