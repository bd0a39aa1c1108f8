/**
 * A namespace's MountPolicy (mountgate.io/v1alpha1): host paths, reserved
 * targets and a mount limit that can only narrow the cluster policy for the
 * Pods of its namespace. Its spec schema is the truth for the custom
 * resource's fields.
 */
import { array, object, ValidationError, type InferType } from 'yup';
import { decidingOrder, pathLists, type CompiledPolicy, type NarrowingLayer } from './compile.js';
import { prefixCovers, prefixMeet } from './containment.js';
import { parsePattern, PLACEHOLDER_VALUE, type PatternSegment } from './patterns.js';
import { maxMounts, pathPrefixEntry, reservedMountPaths, type PathPrefixEntry } from './schema.js';

export const MOUNT_POLICY_GROUP = 'mountgate.io';
export const MOUNT_POLICY_VERSION = 'v1alpha1';
export const MOUNT_POLICY_KIND = 'MountPolicy';
export const MOUNT_POLICY_RESOURCE = 'mountpolicies';

export const mountPolicySpecSchema = object({
  /** When present, a host path must also lie under one of these; an empty list allows none. */
  allowedHostPaths: array(pathPrefixEntry).strict().typeError('${path} must be a list').optional(),
  /** Added to the cluster policy's reserved targets. */
  reservedMountPaths: reservedMountPaths().default([]),
  /** The smallest maxMounts of all layers applies. */
  maxMounts: maxMounts().optional(),
})
  .noUnknown(true, '${path} has an unknown key: ${unknown}')
  .typeError('${path} must be a mapping of keys such as allowedHostPaths')
  .strict();

export type MountPolicySpec = InferType<typeof mountPolicySpecSchema>;

/** The keys of a MountPolicy object; the CRD keeps any other (x-kubernetes-preserve-unknown-fields) for this to refuse. */
const OBJECT_KEYS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
    try {
      objectSchema.validateSync({ spec: object.spec }, { strict: true, abortEarly: false });
      spec = mountPolicySpecSchema.cast(object.spec ?? {});
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(...error.errors);
    }
  }
  if (spec === undefined || problems.length > 0) {
    const name = describeMountPolicy(ref);
    const closed = `it is invalid, so it allows no host path: ${problems.join('; ')}`;
    return { ...identity, problems, spec: undefined, layer: { name, closed, ...pathLists([], []) } };
  }
  const allowed = spec.allowedHostPaths;
  if (allowed === undefined) return { ...identity, problems, spec, layer: undefined };
  const closed = allowed.length === 0 ? 'its allowedHostPaths is empty' : undefined;
  return { ...identity, problems, spec, layer: { name: describeMountPolicy(ref), closed, ...pathLists(allowed, allowed) } };
}

type Entry = Pick<PathPrefixEntry, 'pathPrefix' | 'readOnly'>;

/** An entry of a layer; `ranking` is the pattern it was written as, when it differs (see inNamespace). */
type LayerEntry = Entry & { readonly ranking?: readonly PatternSegment[] };

/**
 * Entries as they stand for the Pods of one namespace: a MountPolicy only ever judges Pods of its own namespace, so
 * {namespace} is that namespace there (when it is a value a placeholder can take). Such an entry still ranks as the
 * placeholder it is when entries compete for a path: "/srv/{namespace}" does not outrank "/srv/*" as the literal
 * "/srv/team-a" would.
 */
function inNamespace(entries: readonly Entry[], namespace: string): LayerEntry[] {
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
function clusterEntries(cluster: CompiledPolicy, namespace: string, which: 'carriable' | 'requestable' = 'carriable'): LayerEntry[] {
  return inNamespace(which === 'carriable' ? [...cluster.spec.allowedHostPaths, ...cluster.spec.builtinHostPaths] : cluster.spec.allowedHostPaths, namespace);
}

/** The MountPolicy's own entries as they stand for the Pods it judges: its {namespace} is always its own namespace. */
function ownEntries(policy: CompiledMountPolicy): LayerEntry[] {
  return inNamespace(policy.spec?.allowedHostPaths ?? [], policy.ref.namespace);
}

/** The entry that decides for everything under `prefix`, among those that cover all of it (see decidingOrder). */
function decidingCover(entries: readonly LayerEntry[], prefix: string): LayerEntry | undefined {
  return entries
    .filter((entry) => prefixCovers(entry.pathPrefix, prefix))
    .map((entry) => ({ ...entry, segments: entry.ranking ?? parsePattern(entry.pathPrefix) }))
    .sort(decidingOrder)[0];
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

/** What a valid MountPolicy says that will not happen as written: read-write where the cluster says read-only, requests of built-ins. */
export function narrowingWarnings(cluster: CompiledPolicy, policy: CompiledMountPolicy): string[] {
  const warnings: string[] = [];
  const own = ownEntries(policy);
  (policy.spec?.allowedHostPaths ?? []).forEach((entry, index) => {
    const field = `spec.allowedHostPaths[${index}]`;
    const filled = own[index]?.pathPrefix ?? entry.pathPrefix;
    const deciding = decidingCover(clusterEntries(cluster, policy.ref.namespace), filled);
    if (deciding?.readOnly === true && !entry.readOnly) {
      warnings.push(`${field}: "${entry.pathPrefix}" is under the cluster policy's read-only prefix "${deciding.pathPrefix}", so it is mounted read-only`);
    }
    const requestable = clusterEntries(cluster, policy.ref.namespace, 'requestable').some((allowed) => prefixMeet(allowed.pathPrefix, filled) !== undefined);
    if (deciding !== undefined && !requestable) {
      warnings.push(`${field}: "${entry.pathPrefix}" lies only under the cluster policy's builtinHostPaths: Pods may carry it, the annotation cannot request it`);
    }
  });
  return warnings;
}

/** "MountPolicy team-a/a", or "MountPolicies team-a/a, team-a/b" in name order. */
export function describeMountPolicies(refs: readonly MountPolicyRef[]): string {
  const names = refs.map((ref) => `${ref.namespace}/${ref.name}`).sort();
  return `${names.length === 1 ? 'MountPolicy' : 'MountPolicies'} ${names.join(', ')}`;
}

/** The pattern with every placeholder as `*`: what it matches for some request. */
function anyRequest(prefix: string): string {
  return prefix
    .split('/')
    .map((segment) => (segment.startsWith('{') ? '*' : segment))
    .join('/');
}

/**
 * Whether a layer makes paths under `prefix` read-only: its deciding entry is, or, for some requests, a read-only
 * entry that meets `prefix` only when placeholders are filled and would then decide ("/u/{user}" against
 * "/u/{sandboxUser}"). The status says read-only then: it may understate, never overstate.
 */
function readOnlyIn(entries: readonly LayerEntry[], prefix: string): boolean {
  const deciding = decidingCover(entries, prefix);
  if (deciding?.readOnly === true) return true;
  const rank = (entry: LayerEntry) => ({ readOnly: entry.readOnly, segments: entry.ranking ?? parsePattern(entry.pathPrefix) });
  return entries.some(
    (entry) =>
      entry.readOnly &&
      prefixMeet(entry.pathPrefix, prefix) === undefined &&
      prefixMeet(anyRequest(entry.pathPrefix), anyRequest(prefix)) !== undefined &&
      (deciding === undefined || decidingOrder(rank(entry), rank(deciding)) <= 0),
  );
}

/**
 * Adds to `prefixes` where, inside one of them, some layer's entry starts
 * deciding: its meet with the prefix, and the meets of those with every entry
 * again. A read-write "/srv/team-a" may hold "/srv/team-a/models", read-only
 * by a cluster entry that matches every team's models; listed apart, each
 * prefix's read-only flag holds for every path it decides. False when
 * MAX_EFFECTIVE_ENTRIES stopped it.
 */
function withInnerBoundaries(prefixes: Set<string>, layers: ReadonlyArray<readonly LayerEntry[]>): boolean {
  const entries = [...new Set(layers.flatMap((layer) => layer.map((entry) => entry.pathPrefix)))];
  let complete = true;
  let frontier = [...prefixes];
  while (frontier.length > 0) {
    const found: string[] = [];
    for (const prefix of frontier) {
      for (const entry of entries) {
        const meet = prefixMeet(entry, prefix);
        if (meet === undefined || prefixes.has(meet)) continue;
        if (prefixes.size >= MAX_EFFECTIVE_ENTRIES) {
          complete = false;
          continue;
        }
        prefixes.add(meet);
        found.push(meet);
      }
    }
    frontier = found;
  }
  return complete;
}

/**
 * How many prefixes effectiveAllowedHostPaths lists at most: MountPolicies with
 * `*` at different places can combine into a product of their entries, and a
 * namespace's own admin must not be able to stall the process that admits Pods.
 */
export const MAX_EFFECTIVE_ENTRIES = 1024;

/**
 * How many characters of prefixes it lists at most: 1024 prefixes of 4096
 * characters would make a status of 4 MiB, which the API server refuses, and
 * the status would then never be written.
 */
export const MAX_EFFECTIVE_CHARACTERS = 256 * 1024;

/** Put before an incomplete list (a message too long for the CRD loses its end). */
export const NOT_ALL_LISTED = `(not all listed: the layers combine into more than ${MAX_EFFECTIVE_ENTRIES} prefixes or ${MAX_EFFECTIVE_CHARACTERS} characters of them) `;

/**
 * The effective entries as words: `under` starts a non-empty list ("host paths under " in a status),
 * `quote` wraps each prefix in quotes; "no host path" when there is none.
 */
export function describeEffective({ entries, complete }: EffectiveHostPaths, under: string, quote: boolean): string {
  if (entries.length === 0) return 'no host path';
  const among = complete ? '' : NOT_ALL_LISTED;
  const q = quote ? '"' : '';
  return `${under}${among}${entries.map((entry) => `${q}${entry.pathPrefix}${q}${entry.readOnly ? ' (read-only)' : ''}`).join(', ')}`;
}

export interface EffectiveHostPaths {
  readonly entries: Entry[];
  /** False when the list stopped at MAX_EFFECTIVE_ENTRIES or MAX_EFFECTIVE_CHARACTERS: every entry listed holds, some that hold are missing. */
  readonly complete: boolean;
}

/**
 * What a Pod of `namespace` may carry under the cluster policy and every
 * MountPolicy of that namespace together, for their status: every prefix all
 * layers match, read-only where any layer's deciding entry is, as layers.ts
 * judges a Pod. An invalid MountPolicy allows nothing. Patterns stay
 * patterns; where a placeholder meets a literal the prefix holds only for
 * some requests and is left out.
 */
export function effectiveAllowedHostPaths(cluster: CompiledPolicy, namespace: string, policies: readonly CompiledMountPolicy[]): EffectiveHostPaths {
  if (policies.some((policy) => policy.problems.length > 0)) return { entries: [], complete: true };
  const layers: Array<readonly LayerEntry[]> = [clusterEntries(cluster, namespace)];
  for (const policy of policies) {
    const allowed = policy.spec?.allowedHostPaths;
    if (allowed !== undefined) layers.push(inNamespace(allowed, namespace));
  }
  let complete = true;
  let prefixes = new Set<string>(layers[0]?.map((entry) => entry.pathPrefix));
  for (const inner of layers.slice(1)) {
    const narrowed = new Set<string>();
    for (const a of prefixes) {
      for (const b of inner) {
        const meet = prefixMeet(a, b.pathPrefix);
        if (meet === undefined || narrowed.has(meet)) continue;
        if (narrowed.size === MAX_EFFECTIVE_ENTRIES) complete = false;
        else narrowed.add(meet);
      }
    }
    prefixes = narrowed;
  }
  if (!withInnerBoundaries(prefixes, layers)) complete = false;
  const listed: string[] = [];
  let characters = 0;
  for (const pathPrefix of [...prefixes].sort()) {
    characters += pathPrefix.length;
    if (characters > MAX_EFFECTIVE_CHARACTERS) {
      complete = false;
      break;
    }
    listed.push(pathPrefix);
  }
  const entries = listed.map((pathPrefix) => ({ pathPrefix, readOnly: layers.some((entries) => readOnlyIn(entries, pathPrefix)) }));
  return { entries, complete };
}
