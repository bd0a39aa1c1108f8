/**
 * Audit does not know who created a Pod, so the entries with {user} or
 * {sandboxUser} (filled from the requester) cannot be filled. To tell a Pod
 * that breaks the policy from one that some requester could have created,
 * audit judges it again as each requester that could change which entries
 * apply: as username, each path segment that stands where an entry's {user}
 * stands (its earlier segments matching the path's), with and without the
 * trust that fills {sandboxUser} from the Pod's own annotation. Any other
 * username makes no {user} entry cover any of the Pod's paths, as a value no
 * path has there, which can only refuse more.
 */
import type { UserInfo } from '../admission/review.js';
import type { CompiledPolicy, PatternEntry } from '../policy/compile.js';
import { GROUP_ENTRY_PREFIX } from '../policy/match.js';
import { canonicalPath } from '../policy/paths.js';
import { PLACEHOLDER_VALUE, type Placeholder, type PatternSegment } from '../policy/patterns.js';

const REQUESTER_PLACEHOLDERS: readonly Placeholder[] = ['user', 'sandboxUser'];
/**
 * The most requesters a Pod is judged as, beyond the judgement without one: each is a whole decision
 * over every volume. A Pod that needs more is not judged by a guessed subset (the owner's path could be
 * the one left out) but listed as one that cannot be judged offline.
 */
export const MAX_CANDIDATE_REQUESTERS = 64;

export type Candidates =
  | { readonly outcome: 'listed'; readonly requesters: readonly UserInfo[] }
  | { readonly outcome: 'too-many' };

function fromRequester(segment: PatternSegment): boolean {
  return segment.kind === 'placeholder' && REQUESTER_PLACEHOLDERS.includes(segment.name);
}

function allPatterns(policy: CompiledPolicy): PatternEntry[] {
  return [policy, ...policy.narrowing].flatMap((lists) => [...lists.carriablePatterns]);
}

/** The requester placeholders the policy or its layers use, as written: "{user}", "{sandboxUser}". */
export function requesterPlaceholders(policy: CompiledPolicy): string[] {
  const used = new Set(allPatterns(policy).flatMap((entry) => entry.segments.filter(fromRequester)).map((segment) => (segment.kind === 'placeholder' ? segment.name : '')));
  return REQUESTER_PLACEHOLDERS.filter((name) => used.has(name)).map((name) => `{${name}}`);
}

/** A pattern's segments before its first {user} (a later {user} must hold the same value). */
interface UserPosition {
  readonly before: readonly PatternSegment[];
}

function userPositions(policy: CompiledPolicy): UserPosition[] {
  return allPatterns(policy).flatMap((entry) => {
    const at = entry.segments.findIndex((segment) => segment.kind === 'placeholder' && segment.name === 'user');
    return at === -1 ? [] : [{ before: entry.segments.slice(0, at) }];
  });
}

/** Whether a segment before {user} can match the path's: {sandboxUser} may hold anything some requester's trust would give it. */
function earlierMatches(part: PatternSegment, segment: string, namespace: string | undefined): boolean {
  if (part.kind === 'literal') return part.text === segment;
  if (part.kind === 'any' || part.name === 'sandboxUser') return true;
  return part.name === 'namespace' && namespace === segment;
}

/**
 * The requesters worth judging a Pod as (see the module comment), the anonymous one with the trusting
 * group included but not the bare anonymous one (judged already), or 'too-many' past the bound.
 */
export function candidateRequesters(hostPaths: readonly string[], namespace: string | undefined, policy: CompiledPolicy): Candidates {
  const trusted = [...policy.trustedProvisioners];
  const trustingGroup = trusted.find((entry) => entry.startsWith(GROUP_ENTRY_PREFIX))?.slice(GROUP_ENTRY_PREFIX.length);
  const trustedNames = trusted.filter((entry) => !entry.startsWith(GROUP_ENTRY_PREFIX));
  const fixed = trustedNames.length + (trustingGroup === undefined ? 0 : 1);
  const perUsername = trustingGroup === undefined ? 1 : 2;
  const usernameBudget = Math.floor((MAX_CANDIDATE_REQUESTERS - fixed) / perUsername);
  if (usernameBudget < 0) return { outcome: 'too-many' };

  const positions = userPositions(policy);
  const wanted = Math.max(0, ...positions.map((position) => position.before.length + 1));
  const usernames = new Set<string>();
  if (positions.length > 0) {
    for (const raw of hostPaths) {
      const canonical = canonicalPath(raw);
      if (!canonical.ok || canonical.path === '/') continue;
      // Only the first segments can stand where a {user} stands: a path may have thousands.
      const segments = canonical.path.slice(1).split('/', wanted);
      for (const { before } of positions) {
        const username = segments[before.length];
        if (username === undefined || !PLACEHOLDER_VALUE.test(username)) continue;
        if (!before.every((part, i) => earlierMatches(part, segments[i] ?? '', namespace))) continue;
        usernames.add(username);
        if (usernames.size > usernameBudget) return { outcome: 'too-many' };
      }
    }
  }
  const named = [...usernames];
  return {
    outcome: 'listed',
    requesters: [
      ...named.map((username): UserInfo => ({ username, groups: [] })),
      // Trusted through a group, so {sandboxUser} is filled whatever the username.
      ...(trustingGroup === undefined ? [] : [{ groups: [trustingGroup] }, ...named.map((username): UserInfo => ({ username, groups: [trustingGroup] }))]),
      // Trusted by name: {user} is then that name.
      ...trustedNames.map((username): UserInfo => ({ username, groups: [] })),
    ],
  };
}
