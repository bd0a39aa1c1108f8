/**
 * Patterns in allowedHostPaths and builtinHostPaths prefixes. A segment is a
 * literal, `*` (any one canonical segment) or a placeholder filled from the
 * request: `{namespace}`, `{user}` (the requester's username) or
 * `{sandboxUser}` (a Pod annotation, taken only from trusted provisioners).
 * Nothing in between: `a*`, `{user}-data` or `{foo}` make the policy invalid.
 */

export const PLACEHOLDERS = ['namespace', 'user', 'sandboxUser'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** What a placeholder value must be, whole: never escaped, never partly matched. */
export const PLACEHOLDER_VALUE = /^[A-Za-z0-9_-]{1,64}$/;
export const PLACEHOLDER_VALUE_RULE = 'letters, digits, "_" and "-", 1 to 64 characters';

export type PatternSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'any' }
  | { readonly kind: 'placeholder'; readonly name: Placeholder };

const SPECIAL = /[*{}]/;
const TOKEN = /^\{([A-Za-z]+)\}$/;
const KNOWN = `"*", ${PLACEHOLDERS.map((name) => `{${name}}`).join(', ')}`;

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** The segments of a canonical absolute path ("/" has none). */
export function segmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/** True when a prefix has a `*` or placeholder segment (a literal prefix has none, and is matched as a plain prefix). */
export function isPattern(prefix: string): boolean {
  return SPECIAL.test(prefix);
}

/** Why a canonical prefix is not a valid pattern, in words that follow its field name; undefined when it is. */
export function patternProblem(prefix: string): string | undefined {
  const segments = segmentsOf(prefix);
  for (const segment of segments) {
    if (!SPECIAL.test(segment) || segment === '*') continue;
    const name = TOKEN.exec(segment)?.[1];
    if (name === undefined) return `has a segment "${segment}" that mixes text with "*", "{" or "}" (only ${KNOWN} may stand in a segment, alone)`;
    if (!isPlaceholder(name)) return `has an unknown placeholder "${segment}" (known: ${KNOWN})`;
  }
  const first = segments[0];
  if (first !== undefined && SPECIAL.test(first)) return `must start with a literal segment ("/${first}" would reach into every top-level directory of the node)`;
  return undefined;
}

/** The segments of a valid pattern (see patternProblem). */
export function parsePattern(prefix: string): PatternSegment[] {
  return segmentsOf(prefix).map((text): PatternSegment => {
    if (text === '*') return { kind: 'any' };
    const name = TOKEN.exec(text)?.[1];
    return name !== undefined && isPlaceholder(name) ? { kind: 'placeholder', name } : { kind: 'literal', text };
  });
}
