/**
 * Audit does not know who created a Pod, so the entries with {user} or {sandboxUser} (filled from
 * the requester) cannot be filled. To tell a Pod that breaks the policy from one that only needs
 * its requester, audit judges it a second time by the same policy with each such segment matching
 * any segment, as "*" does; {namespace} stays as it is, since the Pod's namespace is known.
 */
import type { CompiledPolicy, PathLists, PatternEntry } from '../policy/compile.js';
import type { Placeholder, PatternSegment } from '../policy/patterns.js';

const REQUESTER_PLACEHOLDERS: readonly Placeholder[] = ['user', 'sandboxUser'];

function fromRequester(segment: PatternSegment): boolean {
  return segment.kind === 'placeholder' && REQUESTER_PLACEHOLDERS.includes(segment.name);
}

// Only the segments change: the pathPrefix keeps the policy's words for messages, and the order in
// which entries decide stays (a placeholder and "*" rank alike, both not literal), read-only included.
function widenEntry(entry: PatternEntry): PatternEntry {
  return entry.segments.some(fromRequester) ? { ...entry, segments: entry.segments.map((segment) => (fromRequester(segment) ? { kind: 'any' } : segment)) } : entry;
}

function widenLists<T extends PathLists>(lists: T): T {
  return { ...lists, requestablePatterns: lists.requestablePatterns.map(widenEntry), carriablePatterns: lists.carriablePatterns.map(widenEntry) };
}

/** The requester placeholders the policy or its layers use, as written: "{user}", "{sandboxUser}". */
export function requesterPlaceholders(policy: CompiledPolicy): string[] {
  const used = new Set([policy, ...policy.narrowing].flatMap((lists) => lists.carriablePatterns.flatMap((entry) => entry.segments.filter(fromRequester))).map((segment) => (segment.kind === 'placeholder' ? segment.name : '')));
  return REQUESTER_PLACEHOLDERS.filter((name) => used.has(name)).map((name) => `{${name}}`);
}

/** The policy with every {user} and {sandboxUser} segment matching any segment, in the cluster policy and each layer. */
export function withAnyRequester(policy: CompiledPolicy): CompiledPolicy {
  const { handWritten } = policy;
  return {
    ...widenLists(policy),
    narrowing: policy.narrowing.map(widenLists),
    handWritten: handWritten === undefined ? undefined : { ...handWritten, patterns: handWritten.patterns.map(widenEntry) },
  };
}
