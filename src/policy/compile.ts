/**
 * A validated policy turned into the lookup structures the decision needs, so
 * that nothing is sorted or rebuilt per request.
 */
import { DEFAULT_SANDBOX_USER_ANNOTATION, type HostPathType, type PathPrefixEntry, type Policy } from './schema.js';
import { sortLongestFirst } from './paths.js';
import { isPattern, parsePattern, segmentsOf, type PatternSegment } from './patterns.js';

/** Targets no request may mount over, whatever the policy says. */
export const SYSTEM_MOUNT_PATHS: readonly string[] = ['/proc', '/sys', '/dev'];

/** An allowedHostPaths or builtinHostPaths entry whose prefix has a `*` or placeholder segment. */
export interface PatternEntry extends PathPrefixEntry {
  readonly segments: readonly PatternSegment[];
}

/** Host path entries of one layer, ready for lookup. */
export interface PathLists {
  /** allowedHostPaths with literal prefixes, longest prefix first: what the annotation may request. */
  readonly requestable: readonly PathPrefixEntry[];
  /** allowedHostPaths and builtinHostPaths with literal prefixes, longest prefix first: what a Pod may carry. */
  readonly carriable: readonly PathPrefixEntry[];
  /** allowedHostPaths with `*` or placeholders, in deciding order (see decidingOrder); empty for a literal policy. */
  readonly requestablePatterns: readonly PatternEntry[];
  /** allowedHostPaths and builtinHostPaths with `*` or placeholders, in deciding order. */
  readonly carriablePatterns: readonly PatternEntry[];
  /** The read-only ones of `carriable` and of `carriablePatterns`, the only ones that can lie below a path and make it read-only. */
  readonly carriableReadOnly: EntryLists;
  /**
   * The most segments of any entry (0 for none). Every path with at least this many segments has the same
   * covering entries as its own descendants, and no entry below it.
   */
  readonly deepestEntry: number;
  /** Whether any pattern has a placeholder segment: only those read a request's fillings (`*` matches without them). */
  readonly placeholders: boolean;
}

/**
 * A layer that can only take host paths away (a namespace's MountPolicy): a
 * path must also have a deciding entry here, and is read-only if that entry is.
 */
export interface NarrowingLayer extends PathLists {
  /** How a denial names the layer: `MountPolicy team-a/tenant`. */
  readonly name: string;
  /** Set when the layer allows no host path at all, in words that follow its name ("is invalid: ..."). */
  readonly closed: string | undefined;
}

export interface CompiledPolicy extends PathLists {
  /** The cluster policy file. */
  readonly spec: Policy;
  readonly annotation: string;
  /** System and reserved targets, the cluster's first. */
  readonly forbiddenTargets: readonly string[];
  /** The reserved targets a narrowing layer added, and the layer's name. */
  readonly reservedBy: ReadonlyMap<string, string>;
  /** The smallest maxMounts of all layers. */
  readonly maxMounts: number;
  /** The narrowing layer whose maxMounts that is; undefined when it is the cluster policy's. */
  readonly maxMountsLayer: string | undefined;
  /** MountPolicies of the namespace (see layers.ts); empty for the cluster policy alone. */
  readonly narrowing: readonly NarrowingLayer[];
  readonly hostPathType: HostPathType;
  /** Names of the containers that receive mounts; undefined means every container. */
  readonly targetContainers: ReadonlySet<string> | undefined;
  /** Who may ask; undefined means anyone. */
  readonly requesters: ReadonlySet<string> | undefined;
  /** Whose sandbox-user annotation fills {sandboxUser}: usernames and "group:NAME". */
  readonly trustedProvisioners: ReadonlySet<string>;
  readonly sandboxUserAnnotation: string;
  /**
   * With handWrittenHostPaths: builtin, the entries a hostPath volume not named `mountgate-` must
   * lie under (builtinHostPaths alone); undefined with the default, where both lists serve.
   */
  readonly handWritten: EntryLists | undefined;
  /** podSecurity: baseline (the default): Pod Security baseline, hostPath volumes aside, for a Pod with hostPath volumes. */
  readonly baseline: boolean;
  /** volumeRoot: writableAncestor: each request's volume is its shortest ancestor a read-write request could name (see volume-root.ts). */
  readonly rootAtWritableAncestor: boolean;
}

/** One list of entries as the matchers read it: literal prefixes longest first, patterns in deciding order. */
export interface EntryLists {
  readonly literal: readonly PathPrefixEntry[];
  readonly patterns: readonly PatternEntry[];
}

export function compilePolicy(spec: Policy): CompiledPolicy {
  return {
    spec,
    annotation: spec.annotation,
    ...pathLists(spec.allowedHostPaths, [...spec.allowedHostPaths, ...spec.builtinHostPaths]),
    forbiddenTargets: [...SYSTEM_MOUNT_PATHS, ...spec.reservedMountPaths],
    reservedBy: new Map(),
    maxMounts: spec.maxMounts,
    maxMountsLayer: undefined,
    narrowing: [],
    hostPathType: spec.hostPathType,
    targetContainers: spec.containers.length > 0 ? new Set(spec.containers) : undefined,
    requesters: spec.requesters.length > 0 ? new Set(spec.requesters) : undefined,
    trustedProvisioners: new Set(spec.trustedProvisioners ?? []),
    sandboxUserAnnotation: spec.sandboxUserAnnotation ?? DEFAULT_SANDBOX_USER_ANNOTATION,
    handWritten: spec.handWrittenHostPaths === 'builtin' ? entryLists(spec.builtinHostPaths) : undefined,
    baseline: spec.podSecurity !== 'privileged',
    rootAtWritableAncestor: spec.volumeRoot === 'writableAncestor',
  };
}

/** Splits entries into EntryLists. */
function entryLists(entries: readonly PathPrefixEntry[]): EntryLists {
  return { literal: sortLongestFirst(entries.filter((entry) => !isPattern(entry.pathPrefix))), patterns: patternsOf(entries) };
}

export function pathLists(requestable: readonly PathPrefixEntry[], carriable: readonly PathPrefixEntry[]): PathLists {
  const asked = entryLists(requestable);
  const carried = entryLists(carriable);
  return {
    requestable: asked.literal,
    carriable: carried.literal,
    requestablePatterns: asked.patterns,
    carriablePatterns: carried.patterns,
    carriableReadOnly: { literal: carried.literal.filter((entry) => entry.readOnly), patterns: carried.patterns.filter((entry) => entry.readOnly) },
    deepestEntry: carried.patterns.reduce((most, entry) => Math.max(most, entry.segments.length), carried.literal.reduce((most, entry) => Math.max(most, segmentsOf(entry.pathPrefix).length), 0)),
    // carriable holds every requestable entry, so its patterns are all of the layer's.
    placeholders: carried.patterns.some((entry) => entry.segments.some((segment) => segment.kind === 'placeholder')),
  };
}

function patternsOf(entries: readonly PathPrefixEntry[]): PatternEntry[] {
  return entries
    .filter((entry) => isPattern(entry.pathPrefix))
    .map((entry) => ({ pathPrefix: entry.pathPrefix, readOnly: entry.readOnly, segments: parsePattern(entry.pathPrefix) }))
    .sort(decidingOrder);
}

/**
 * Which of two entries decides a path both cover: more segments; then, at the
 * first position where one has a literal segment and the other `*` or a
 * placeholder, the literal; then the read-only one. Otherwise the earlier one
 * in the file (the sort is stable).
 */
export function decidingOrder(a: Pick<PatternEntry, 'segments' | 'readOnly'>, b: Pick<PatternEntry, 'segments' | 'readOnly'>): number {
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  for (let i = 0; i < a.segments.length; i++) {
    const literalA = a.segments[i]?.kind === 'literal';
    if (literalA !== (b.segments[i]?.kind === 'literal')) return literalA ? -1 : 1;
  }
  return Number(b.readOnly) - Number(a.readOnly);
}
