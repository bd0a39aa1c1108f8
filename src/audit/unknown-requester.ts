/**
 * Audit does not know who created a Pod, so the entries with {user} or
 * {sandboxUser} (filled from the requester) cannot be filled. To tell a Pod
 * that breaks the policy from one that some requester could have created,
 * audit judges it again as each requester that could change which entries
 * apply: every path segment of its hostPath volumes as the username (what
 * {user} could be), with and without the trust that fills {sandboxUser} from
 * the Pod's own annotation. Other usernames fill {user} with a value no path
 * of the Pod has, which can only refuse more.
 */
import type { UserInfo } from '../admission/review.js';
import type { CompiledPolicy, PatternEntry } from '../policy/compile.js';
import { GROUP_ENTRY_PREFIX } from '../policy/match.js';
import { PLACEHOLDER_VALUE, type Placeholder, type PatternSegment } from '../policy/patterns.js';

const REQUESTER_PLACEHOLDERS: readonly Placeholder[] = ['user', 'sandboxUser'];
/** Beyond this many distinct segments a Pod is judged by the first ones only (each costs two decisions). */
export const MAX_CANDIDATE_USERNAMES = 256;

function fromRequester(segment: PatternSegment): boolean {
  return segment.kind === 'placeholder' && REQUESTER_PLACEHOLDERS.includes(segment.name);
}

/** The requester placeholders the policy or its layers use, as written: "{user}", "{sandboxUser}". */
export function requesterPlaceholders(policy: CompiledPolicy): string[] {
  const patterns: PatternEntry[] = [policy, ...policy.narrowing].flatMap((lists) => [...lists.carriablePatterns]);
  const used = new Set(patterns.flatMap((entry) => entry.segments.filter(fromRequester)).map((segment) => (segment.kind === 'placeholder' ? segment.name : '')));
  return REQUESTER_PLACEHOLDERS.filter((name) => used.has(name)).map((name) => `{${name}}`);
}

/** The requesters worth judging a Pod as (see the module comment), anonymous first. */
export function candidateRequesters(hostPaths: readonly string[], policy: CompiledPolicy): UserInfo[] {
  const segments = new Set<string>();
  for (const path of hostPaths) {
    for (const segment of path.split('/')) {
      if (segments.size === MAX_CANDIDATE_USERNAMES) break;
      if (PLACEHOLDER_VALUE.test(segment)) segments.add(segment);
    }
  }
  const trusted = [...policy.trustedProvisioners];
  const trustingGroup = trusted.find((entry) => entry.startsWith(GROUP_ENTRY_PREFIX))?.slice(GROUP_ENTRY_PREFIX.length);
  const usernames: Array<string | undefined> = [undefined, ...segments];
  return [
    ...usernames.map((username): UserInfo => (username === undefined ? { groups: [] } : { username, groups: [] })),
    // Trusted through a group, so {sandboxUser} is filled whatever the username.
    ...(trustingGroup === undefined ? [] : usernames.map((username): UserInfo => (username === undefined ? { groups: [trustingGroup] } : { username, groups: [trustingGroup] }))),
    // Trusted by name: {user} is then that name.
    ...trusted.filter((entry) => !entry.startsWith(GROUP_ENTRY_PREFIX)).map((username): UserInfo => ({ username, groups: [] })),
  ];
}
