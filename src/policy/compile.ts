/**
 * A validated policy turned into the lookup structures the decision needs, so
 * that nothing is sorted or rebuilt per request.
 */
import { DEFAULT_SANDBOX_USER_ANNOTATION, type HostPathType, type PathPrefixEntry, type Policy } from './schema.js';
import { sortLongestFirst } from './paths.js';
import { isPattern, parsePattern, type PatternSegment } from './patterns.js';

/** Targets no request may mount over, whatever the policy says. */
export const SYSTEM_MOUNT_PATHS: readonly string[] = ['/proc', '/sys', '/dev'];

/** An allowedHostPaths or builtinHostPaths entry whose prefix has a `*` or placeholder segment. */
export interface PatternEntry extends PathPrefixEntry {
  readonly segments: readonly PatternSegment[];
}

export interface CompiledPolicy {
  readonly spec: Policy;
  readonly annotation: string;
  /** allowedHostPaths with literal prefixes, longest prefix first: what the annotation may request. */
  readonly requestable: readonly PathPrefixEntry[];
  /** allowedHostPaths and builtinHostPaths with literal prefixes, longest prefix first: what a Pod may carry. */
  readonly carriable: readonly PathPrefixEntry[];
  /** allowedHostPaths with `*` or placeholders, in deciding order (see decidingOrder); empty for a literal policy. */
  readonly requestablePatterns: readonly PatternEntry[];
  /** allowedHostPaths and builtinHostPaths with `*` or placeholders, in deciding order. */
  readonly carriablePatterns: readonly PatternEntry[];
  /** System and reserved targets. */
  readonly forbiddenTargets: readonly string[];
  readonly maxMounts: number;
  readonly hostPathType: HostPathType;
  /** Names of the containers that receive mounts; undefined means every container. */
  readonly targetContainers: ReadonlySet<string> | undefined;
  /** Who may ask; undefined means anyone. */
  readonly requesters: ReadonlySet<string> | undefined;
  /** Whose sandbox-user annotation fills {sandboxUser}: usernames and "group:NAME". */
  readonly trustedProvisioners: ReadonlySet<string>;
  readonly sandboxUserAnnotation: string;
}

export function compilePolicy(spec: Policy): CompiledPolicy {
  const requestable = spec.allowedHostPaths;
  const carriable = [...spec.allowedHostPaths, ...spec.builtinHostPaths];
  return {
    spec,
    annotation: spec.annotation,
    requestable: sortLongestFirst(requestable.filter((entry) => !isPattern(entry.pathPrefix))),
    carriable: sortLongestFirst(carriable.filter((entry) => !isPattern(entry.pathPrefix))),
    requestablePatterns: patternsOf(requestable),
    carriablePatterns: patternsOf(carriable),
    forbiddenTargets: [...SYSTEM_MOUNT_PATHS, ...spec.reservedMountPaths],
    maxMounts: spec.maxMounts,
    hostPathType: spec.hostPathType,
    targetContainers: spec.containers.length > 0 ? new Set(spec.containers) : undefined,
    requesters: spec.requesters.length > 0 ? new Set(spec.requesters) : undefined,
    trustedProvisioners: new Set(spec.trustedProvisioners ?? []),
    sandboxUserAnnotation: spec.sandboxUserAnnotation ?? DEFAULT_SANDBOX_USER_ANNOTATION,
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
function decidingOrder(a: PatternEntry, b: PatternEntry): number {
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  for (let i = 0; i < a.segments.length; i++) {
    const literalA = a.segments[i]?.kind === 'literal';
    if (literalA !== (b.segments[i]?.kind === 'literal')) return literalA ? -1 : 1;
  }
  return Number(b.readOnly) - Number(a.readOnly);
}
