/**
 * Policy shapes that let a sandbox plant a symbolic link above the mounts of
 * another. The kubelet follows links in a hostPath. With volumeRoot:
 * writableAncestor a link below a request's root stays inside the root, but a
 * link at or above the root is followed, and the root is chosen from the
 * request's own view: its namespace, requester and sandbox user. A directory
 * above it that another view may mount read-write is where such a link comes
 * from, whatever volumeRoot says.
 *
 * Read from the policy alone, these are warnings: which namespaces, users and
 * sandbox users exist is the cluster's to know.
 */
import { segmentsCover, type ComparisonCost } from './containment.js';
import { parsePattern, type PatternSegment } from './patterns.js';
import type { Policy } from './schema.js';

/** At most this many entries are named in one warning; the rest are counted. */
const NAMED_ENTRIES = 3;

interface Parsed {
  /** Its place in its list. */
  readonly index: number;
  readonly field: string;
  readonly pathPrefix: string;
  readonly readOnly: boolean;
  readonly segments: readonly PatternSegment[];
}

function parsedList(entries: Policy['allowedHostPaths'], key: 'allowedHostPaths' | 'builtinHostPaths'): Parsed[] {
  return entries.map((entry, index) => ({ index, field: `${key}[${index}]`, pathPrefix: entry.pathPrefix, readOnly: entry.readOnly, segments: parsePattern(entry.pathPrefix) }));
}

/** How many entries of `byLength` (longest first) have more than `length` segments. */
function countLonger(byLength: readonly Parsed[], length: number): number {
  let low = 0;
  let high = byLength.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((byLength[middle]?.segments.length ?? 0) > length) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether some filling of each could make the two segments the same name. */
function mayMeet(a: PatternSegment, b: PatternSegment): boolean {
  return a.kind !== 'literal' || b.kind !== 'literal' || a.text === b.text;
}

type Crossing = { readonly at: number; readonly meets: PatternSegment };

/** Whether some filling makes `writer` name a directory above paths of `below`. */
function mayBeAbove(writer: readonly PatternSegment[], below: readonly PatternSegment[], cost: ComparisonCost): boolean {
  if (writer.length >= below.length) return false;
  for (let at = 0; at < writer.length; at++) {
    cost.steps++;
    const segment = writer[at];
    const other = below[at];
    if (segment === undefined || other === undefined || !mayMeet(segment, other)) return false;
  }
  return true;
}

/** The writer's placeholders aligned with anything but the same placeholder: where it names the directory only for another view. */
function crossings(writer: readonly PatternSegment[], below: readonly PatternSegment[]): Crossing[] {
  const found: Crossing[] = [];
  writer.forEach((segment, at) => {
    const meets = below[at];
    if (segment.kind === 'placeholder' && meets !== undefined && (meets.kind !== 'placeholder' || meets.name !== segment.name)) found.push({ at, meets });
  });
  return found;
}

function namedEntries(entries: readonly Parsed[]): string {
  const named = entries.slice(0, NAMED_ENTRIES).map((entry) => `${entry.field} ("${entry.pathPrefix}")`);
  const more = entries.length - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

function condition(writer: readonly PatternSegment[], at: number, meets: PatternSegment): string {
  const segment = writer[at];
  const name = segment?.kind === 'placeholder' ? `{${segment.name}}` : '';
  if (meets.kind === 'literal') return `${name} is "${meets.text}"`;
  if (meets.kind === 'any') return `${name} is any name`;
  return `${name} is the other request's {${meets.name}}`;
}

/** The writer's pattern with each crossing placeholder written as what it meets, e.g. "/srv/tenants". */
function instance(writer: readonly PatternSegment[], found: readonly Crossing[]): string {
  const text = (segment: PatternSegment): string => (segment.kind === 'literal' ? segment.text : segment.kind === 'any' ? '*' : `{${segment.name}}`);
  return `/${writer.map((segment, at) => text(found.find((crossing) => crossing.at === at)?.meets ?? segment)).join('/')}`;
}

const CONSEQUENCE = 'a sandbox that mounts it can plant a symbolic link there that leads those mounts elsewhere on the node, even with volumeRoot: writableAncestor';

/** Segment comparisons one look at a policy may take (some 50 ms); a policy of a hundred entries takes a few thousand. */
export const MAX_LINK_PLANTER_STEPS = 1_000_000;

/**
 * Read-write entries that name, in some namespace, for some user or sandbox user, a directory above the roots of
 * paths another entry gives to other ones; and read-write built-ins above such roots, where no read-write request
 * could name the built-in. One warning per writer, in the policy's order; past MAX_LINK_PLANTER_STEPS, a last one
 * says the look stopped short.
 */
export function linkPlanterWarnings(spec: Pick<Policy, 'allowedHostPaths' | 'builtinHostPaths'>): string[] {
  const allowed = parsedList(spec.allowedHostPaths, 'allowedHostPaths');
  const builtins = parsedList(spec.builtinHostPaths, 'builtinHostPaths');
  const writable = allowed.filter((entry) => !entry.readOnly);
  // What every view may mount read-write: a directory under it is no other view's to plant links in.
  const everyones = writable.filter((entry) => entry.segments.every((segment) => segment.kind !== 'placeholder'));
  const cost: ComparisonCost = { steps: 0 };
  // How many segments the roots of an entry's paths have at least, in the entry's own view: a read-write entry that
  // covers it in the same view (the same placeholders) is a directory a request there could name read-write.
  const rootDepths = new Map<Parsed, number>();
  const rootDepth = (entry: Parsed): number => {
    let depth = rootDepths.get(entry);
    if (depth === undefined) {
      depth = entry.segments.length;
      for (const other of writable) {
        cost.steps++;
        if (other.segments.length < depth && segmentsCover(other.segments, entry.segments, cost)) depth = other.segments.length;
      }
      rootDepths.set(entry, depth);
    }
    return depth;
  };
  const above = (writer: Parsed, entry: Parsed): boolean => mayBeAbove(writer.segments, entry.segments, cost) && writer.segments.length < rootDepth(entry);
  const warnings: string[] = [];
  const writers = [
    ...writable.filter((writer) => !everyones.some((entry) => segmentsCover(entry.segments, writer.segments, cost))),
    ...builtins.filter((builtin) => !builtin.readOnly && !writable.some((entry) => segmentsCover(entry.segments, builtin.segments, cost))),
  ];
  // Only a longer entry can lie below a writer: by length, longest first, each writer walks just those.
  const byLength = [...allowed].sort((a, b) => b.segments.length - a.segments.length);
  for (const writer of writers) {
    const builtin = writer.field.startsWith('builtinHostPaths');
    const reached: Array<{ readonly entry: Parsed; readonly found: readonly Crossing[] }> = [];
    const longer = byLength.slice(0, countLonger(byLength, writer.segments.length)).sort((a, b) => a.index - b.index);
    for (const entry of longer) {
      cost.steps++;
      if (cost.steps > MAX_LINK_PLANTER_STEPS) {
        warnings.push(`the policy's entries are too many to look through for such shapes in full: ${MAX_LINK_PLANTER_STEPS} comparisons were made and the rest left out`);
        return warnings;
      }
      if (!above(writer, entry)) continue;
      const found = builtin ? [] : crossings(writer.segments, entry.segments);
      if (builtin || found.length > 0) reached.push({ entry, found });
    }
    const named = namedEntries(reached.map(({ entry }) => entry));
    const [first] = reached;
    if (first === undefined) continue;
    const crossing = first.found[0];
    if (builtin) {
      warnings.push(`${writer.field}: "${writer.pathPrefix}" is read-write and lies above the paths of ${named}, where no read-write allowedHostPaths entry covers it: ${CONSEQUENCE}`);
    } else if (crossing !== undefined) {
      const example = `where ${condition(writer.segments, crossing.at, crossing.meets)}, names "${instance(writer.segments, first.found)}"`;
      warnings.push(`${writer.field}: "${writer.pathPrefix}" is read-write and, ${example}, above the paths of ${named} for other namespaces, users or sandbox users: ${CONSEQUENCE}`);
    }
  }
  return warnings;
}
