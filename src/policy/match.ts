/**
 * Which policy entry decides a host path, once the placeholders are filled
 * from the request. Literal prefixes are looked up by decidingEntry (the longest wins); entries
 * with `*` or a placeholder are matched segment by segment after them, and
 * only when the policy has any.
 */
import type { PatternEntry } from './compile.js';
import { decidingEntry, isWithin, quoted } from './paths.js';
import { PLACEHOLDER_VALUE, PLACEHOLDER_VALUE_RULE, type PatternSegment, type Placeholder } from './patterns.js';
import type { PathPrefixEntry } from './schema.js';

/** Who asks, as the API server says (request.userInfo). */
export interface Requester {
  readonly username?: string | undefined;
  readonly groups?: readonly string[] | undefined;
}

/** What the placeholders are filled from. Namespace and user come from the API server, never from the Pod. */
export interface RequestFacts {
  readonly namespace: string | undefined;
  readonly requester: Requester | undefined;
  /** The value of the policy's sandboxUserAnnotation on the Pod, if any. */
  readonly sandboxUser: string | undefined;
}

/** A placeholder's value, or why it has none (words that follow "{name} is not filled: "). */
export type Filling = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly why: string };
export type Fillings = Readonly<Record<Placeholder, Filling>>;

/** The policy settings that decide how placeholders are filled. */
export interface FillingRules {
  readonly trustedProvisioners: ReadonlySet<string>;
  readonly sandboxUserAnnotation: string;
}

/** The prefix that makes an entry of requesters or trustedProvisioners name a group. */
export const GROUP_ENTRY_PREFIX = 'group:';

/**
 * True when the requester is listed by username or by one of its groups ("group:NAME"). Users and
 * groups are kept apart, as in RBAC: a username spelled "group:NAME" (an x509 CN, an OIDC claim, a
 * static token can be) is no member of group NAME, so it matches no entry.
 */
export function listsRequester(names: ReadonlySet<string>, requester: Requester | undefined): boolean {
  const username = requester?.username ?? '';
  if (!username.startsWith(GROUP_ENTRY_PREFIX) && names.has(username)) return true;
  return (requester?.groups ?? []).some((group) => names.has(`${GROUP_ENTRY_PREFIX}${group}`));
}

/**
 * "user \"alice\"", or "an anonymous user". The username is quoted as JSON and cut: the authenticator
 * takes it from a certificate's CN or a token's claim, so it may hold quotes or line breaks.
 */
export function describeRequester(requester: Requester | undefined): string {
  const username = requester?.username ?? '';
  return username === '' ? 'an anonymous user' : `user ${quoteShort(username)}`;
}

/** A value as JSON, cut short: an annotation can be 256 KiB, a denial is read by a person. */
function quoteShort(value: string): string {
  return value.length > 80 ? `${quoted(value.slice(0, 80))}...` : quoted(value);
}

function filling(value: string | undefined, what: string, missing: string): Filling {
  if (value === undefined) return { ok: false, why: missing };
  if (!PLACEHOLDER_VALUE.test(value)) return { ok: false, why: `${what} ${quoteShort(value)} is not a valid value (${PLACEHOLDER_VALUE_RULE})` };
  return { ok: true, value };
}

export function fillPlaceholders(rules: FillingRules, facts: RequestFacts): Fillings {
  const username = facts.requester?.username;
  return {
    namespace: filling(facts.namespace, 'the namespace', 'the request has no namespace'),
    user: filling(username === '' ? undefined : username, 'the username', 'the request has no username'),
    sandboxUser: listsRequester(rules.trustedProvisioners, facts.requester)
      ? filling(facts.sandboxUser, `the ${rules.sandboxUserAnnotation} annotation`, `the Pod has no ${rules.sandboxUserAnnotation} annotation`)
      : { ok: false, why: `${describeRequester(facts.requester)} is not in trustedProvisioners` },
  };
}

/** Whether a pattern covers the path's segments, placeholders filled (or, with `anyValue`, as if they were `*`). */
function covers(pattern: PatternEntry, segments: readonly string[], fillings: Fillings, anyValue: boolean): boolean {
  if (pattern.segments.length > segments.length) return false;
  return pattern.segments.every((part, i) => matchesSegment(part, segments[i], fillings, anyValue));
}

function matchesSegment(part: PatternSegment, segment: string | undefined, fillings: Fillings, anyValue: boolean): boolean {
  if (part.kind === 'literal') return part.text === segment;
  if (part.kind === 'any' || anyValue) return true;
  const value = fillings[part.name];
  return value.ok && value.value === segment;
}

/**
 * Whether some path strictly below the one with these (all) segments matches the pattern: its
 * segments match the path's, and every placeholder has a value (else the entry does not apply).
 */
function reachesBelow(pattern: PatternEntry, segments: readonly string[], fillings: Fillings): boolean {
  if (pattern.segments.length <= segments.length) return false;
  return pattern.segments.every((part, i) => {
    const segment = segments[i];
    if (segment === undefined) return part.kind !== 'placeholder' || fillings[part.name].ok;
    return matchesSegment(part, segment, fillings, false);
  });
}

/**
 * The first segments of a canonical path, as many as the longest pattern has (patterns in deciding
 * order: the first is the longest); fewer when the path is shorter. A path can have 2000 segments,
 * a pattern a handful.
 */
function leadingSegments(path: string, patterns: readonly PatternEntry[]): string[] {
  const wanted = patterns[0]?.segments.length ?? 0;
  const segments: string[] = [];
  let start = 1;
  while (segments.length < wanted && start < path.length) {
    const end = path.indexOf('/', start);
    segments.push(path.slice(start, end === -1 ? path.length : end));
    if (end === -1) break;
    start = end + 1;
  }
  return segments;
}

function segmentCount(prefix: string): number {
  let count = 0;
  for (let i = 0; i < prefix.length; i++) if (prefix.charCodeAt(i) === 0x2f) count++;
  return count;
}

/**
 * The entry that decides a canonical path: the literal prefix with the most
 * segments, unless a pattern with more segments covers it (a literal wins a
 * tie, as it is literal where the pattern is not). `literal` is sorted longest
 * first, `patterns` in deciding order, as compilePolicy leaves them.
 */
export function decidingHostPathEntry(
  literal: readonly PathPrefixEntry[],
  patterns: readonly PatternEntry[],
  path: string,
  fillings: Fillings,
): PathPrefixEntry | undefined {
  const best = decidingEntry(literal, path);
  if (patterns.length === 0) return best;
  const fewest = best === undefined ? 0 : segmentCount(best.pathPrefix) + 1;
  const segments = leadingSegments(path, patterns);
  for (const pattern of patterns) {
    // In deciding order: from here on no pattern has more segments than the literal.
    if (pattern.segments.length < fewest) break;
    if (covers(pattern, segments, fillings, false)) return pattern;
  }
  return best;
}

/**
 * A read-only entry that applies strictly below a canonical path, if any: a
 * read-write mount of the path would let the container write there. Literal
 * entries first (the longest), then patterns in deciding order.
 */
export function readOnlyEntryBelow(
  literal: readonly PathPrefixEntry[],
  patterns: readonly PatternEntry[],
  path: string,
  fillings: Fillings,
  /** Whether the entry deciding at a path (a pattern's own prefix, filled) is read-only; by default, taken to be. */
  readOnlyAt: (path: string) => boolean = () => true,
): PathPrefixEntry | undefined {
  const below = literal.find((entry) => entry.readOnly && entry.pathPrefix !== path && isWithin(entry.pathPrefix, path));
  if (below !== undefined || patterns.length === 0) return below;
  // Fewer segments than the longest pattern has means these are all of the path's.
  const segments = leadingSegments(path, patterns);
  return patterns.find((pattern) => pattern.readOnly && reachesBelow(pattern, segments, fillings) && readOnlyAtOwnPrefix(pattern, fillings, readOnlyAt));
}

/**
 * Whether a read-only pattern makes anything read-only. Entries rank by their own shape, whatever the
 * path, so one outranked by a read-write entry at its own prefix (placeholders filled) is outranked at
 * every path below it too: an entry of the same length with a literal where it has a placeholder. A
 * literal entry is outranked only by longer ones, which do not cover its prefix; and one with `*` has
 * other instances than any one entry names: both are taken to count.
 */
function readOnlyAtOwnPrefix(pattern: PatternEntry, fillings: Fillings, readOnlyAt: (path: string) => boolean): boolean {
  const parts: string[] = [];
  for (const part of pattern.segments) {
    if (part.kind === 'any') return true;
    if (part.kind === 'literal') parts.push(part.text);
    else {
      const value = fillings[part.name];
      if (!value.ok) return false;
      parts.push(value.value);
    }
  }
  return readOnlyAt(`/${parts.join('/')}`);
}

/**
 * For a path no entry covers: why the first pattern that would cover it with
 * other placeholder values does not, as a parenthesis to append to the denial
 * ("" when no pattern comes that close).
 */
export function notCoveredNote(patterns: readonly PatternEntry[], path: string, fillings: Fillings): string {
  if (patterns.length === 0) return '';
  const segments = leadingSegments(path, patterns);
  const near = patterns.find((pattern) => covers(pattern, segments, fillings, true));
  if (near === undefined) return '';
  for (const [i, part] of near.segments.entries()) {
    if (part.kind !== 'placeholder') continue;
    const value = fillings[part.name];
    if (!value.ok) return ` ("${near.pathPrefix}" does not apply: {${part.name}} is not filled, as ${value.why})`;
    if (value.value !== segments[i]) return ` ("${near.pathPrefix}" has {${part.name}} = "${value.value}" for this request)`;
  }
  return '';
}
