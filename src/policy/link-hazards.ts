/**
 * Where the cluster policy lets one request plant a symbolic link above the
 * root of another's mount. The kubelet follows links in a hostPath. With
 * volumeRoot: writableAncestor a link below a request's root stays inside it,
 * but a link at or above the root is followed, and the root is chosen from the
 * request's own view (its namespace, user and sandbox user). So a directory is
 * a hazard when some view may mount it read-write (or carry it read-write in a
 * volume written by hand, a built-in) while a view that may not request it
 * read-write mounts a path below it whose root lies below the directory.
 * `requesters` narrows the views that may request; handWrittenHostPaths:
 * builtin, the paths a volume written by hand may carry.
 *
 * The search is exact for a model of the world: a directory's segments are the
 * policy's literals or names the policy does not know, and a view fills each
 * placeholder the policy uses with one of the directory's segments, another
 * unknown name, or (for {sandboxUser}, when someone may name it) nothing. Each
 * hazard found is then checked on its concrete paths with the functions that
 * admit Pods (hostPathAllowance, writableRoot). A namespace's MountPolicies
 * narrow only its own view: given one namespace's, the search judges that
 * namespace with them and takes every other namespace to have none, as a
 * namespace without MountPolicies has.
 */
import { writableRoot } from '../admission/volume-root.js';
import { entryFor, handWrittenAllowance, hostPathAllowance, type Allowance } from './allowance.js';
import type { CompiledPolicy } from './compile.js';
import { GROUP_ENTRY_PREFIX, type Filling, type Fillings } from './match.js';
import { parsePattern, PLACEHOLDER_VALUE, PLACEHOLDERS, type PatternSegment, type Placeholder } from './patterns.js';
import type { PathPrefixEntry } from './schema.js';

/**
 * Entry segments one search may look at, counted as if each allowance call looked at every segment of every
 * entry (about half a second); the example policies take a small part of it.
 */
export const MAX_HAZARD_WORK = 20_000_000;
/** At most this many hazards are described; the rest are counted. */
export const MAX_HAZARDS_DESCRIBED = 5;

/** One namespace judged with its MountPolicies (the layered policy); every other namespace is taken to have none. */
export interface Narrowed {
  readonly namespace: string;
  readonly policy: CompiledPolicy;
}

export interface LinkHazard {
  /** The directory a link may be planted in, with names the policy does not know written <x>, <y>, ... */
  readonly directory: string;
  /** `handWritten`: the writer carries the directory in a hostPath volume written into the Pod, not through the annotation. */
  readonly writer: { readonly view: string; readonly entry: string; readonly handWritten: boolean };
  readonly reader: { readonly view: string; readonly entry: string; readonly path: string; readonly root: string };
}

export interface LinkHazards {
  readonly hazards: readonly LinkHazard[];
  /** Hazards found beyond those described (one per pair of deciding entries). */
  readonly more: number;
  /** False when the search stopped at MAX_HAZARD_WORK. */
  readonly complete: boolean;
}

interface Entry {
  readonly field: string;
  readonly entry: PathPrefixEntry;
  readonly segments: readonly PatternSegment[];
}

const UNFILLED: Filling = { ok: false, why: 'not filled' };
const NOT_A_REQUESTER: Allowance = { allowed: false, of: '', note: '' };

/** A name no literal of the policy is, for names the policy does not know. */
function unknownNames(literals: ReadonlySet<string>, count: number): string[] {
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    const name = `unknown-${i}`;
    if (!literals.has(name)) names.push(name);
  }
  return names;
}

class Search {
  /** Segments of entries looked at: an allowance call may look at every segment of every entry. */
  work = 0;
  readonly entries: readonly Entry[];
  readonly used: readonly Placeholder[];
  readonly literalsAt: ReadonlyArray<ReadonlySet<string>>;
  readonly placeholderLiterals: readonly string[];
  /**
   * Names the policy does not spell that a directory's segments may take, the same one at any depth: one per
   * placeholder in use (each placeholder takes one value, so segments equal to one another through
   * placeholders need no more), and one more for the segments no placeholder takes.
   */
  readonly unknowns: readonly string[];
  /** A name no directory has: the value of a placeholder that matches none of its segments. */
  readonly other: string;
  /** A name no directory and no view has: what pads a path below a directory. */
  readonly filler: string;
  readonly deepest: number;
  readonly sandboxUserFilled: boolean;
  /**
   * Who may request mounts when `requesters` names users only: {user} of a requesting view is one of them (or
   * not filled, for a username no placeholder takes, such as a service account's). Undefined when anyone may,
   * or a group may (a member may have any name).
   */
  readonly requesterNames: ReadonlySet<string> | undefined;
  /** The {user} values a requesting view may have beyond the directory's segments: the requesters that fill it. */
  readonly requesterUsers: readonly string[];
  /** What one allowance call may cost: every segment of every entry. */
  readonly callWeight: number;

  constructor(
    readonly policy: CompiledPolicy,
    readonly narrowed: Narrowed | undefined,
  ) {
    const { spec } = policy;
    this.entries = [
      ...spec.allowedHostPaths.map((entry, index) => ({ field: `allowedHostPaths[${index}]`, entry, segments: parsePattern(entry.pathPrefix) })),
      ...spec.builtinHostPaths.map((entry, index) => ({ field: `builtinHostPaths[${index}]`, entry, segments: parsePattern(entry.pathPrefix) })),
      // A MountPolicy's entries name directories too; its {namespace} is its own namespace.
      ...(narrowed?.policy.narrowing ?? []).flatMap((layer) =>
        [...layer.carriable, ...layer.carriablePatterns].map((entry) => ({ field: layer.name, entry, segments: parsePattern(entry.pathPrefix) })),
      ),
    ];
    const literals = new Set<string>(narrowed === undefined ? [] : [narrowed.namespace]);
    const literalsAt: Array<Set<string>> = [];
    const used = new Set<Placeholder>();
    for (const { segments } of this.entries) {
      segments.forEach((segment, at) => {
        if (segment.kind === 'literal') {
          literals.add(segment.text);
          (literalsAt[at] ??= new Set()).add(segment.text);
        } else if (segment.kind === 'placeholder') used.add(segment.name);
      });
    }
    this.literalsAt = literalsAt;
    // With a narrowed namespace, which namespace a view is in decides its policy, whatever the patterns say.
    if (narrowed !== undefined) used.add('namespace');
    const requesters = policy.requesters;
    this.requesterNames = requesters !== undefined && ![...requesters].some((name) => name.startsWith(GROUP_ENTRY_PREFIX)) ? requesters : undefined;
    // Each requester that fills {user} is a name the policy knows: a name no requester has stays unknown. Requesters
    // no entry spells are alike under every entry, so one per placeholder in use and one more stand for them all.
    const fillers = used.has('user') ? [...(this.requesterNames ?? [])].filter((name) => PLACEHOLDER_VALUE.test(name)) : [];
    const unspelled = fillers.filter((name) => !literals.has(name));
    this.requesterUsers = [...fillers.filter((name) => literals.has(name)), ...unspelled.slice(0, used.size + 1)];
    for (const name of this.requesterUsers) literals.add(name);
    this.used = PLACEHOLDERS.filter((name) => used.has(name));
    // A placeholder couples places: a name one entry spells at one depth may fill another entry's placeholder at
    // another, so with placeholders every literal a placeholder may take is a name at every depth.
    this.placeholderLiterals = this.used.length === 0 ? [] : [...literals].filter((literal) => PLACEHOLDER_VALUE.test(literal));
    // A loop, not Math.max(...): a spread of some hundred thousand entries overflows the stack.
    this.deepest = this.entries.reduce((most, { segments }) => Math.max(most, segments.length), 0);
    // No requester's name either, cut or not: an unknown name stands for someone the policy does not list.
    const names = unknownNames(new Set([...literals, ...fillers]), this.used.length + 3);
    this.unknowns = names.slice(0, this.used.length + 1);
    this.other = names[this.used.length + 1] ?? 'unknown-other';
    this.filler = names[this.used.length + 2] ?? 'unknown-filler';
    this.sandboxUserFilled = spec.trustedProvisioners !== undefined && spec.trustedProvisioners.length > 0;
    this.callWeight = Math.max(1, this.entries.reduce((sum, { segments }) => sum + segments.length, 0));
  }

  get exhausted(): boolean {
    return this.work > MAX_HAZARD_WORK;
  }

  /**
   * Whether the view may request the path, or carry it in a volume written by hand (whoever creates the Pod:
   * `requesters` judges only who asks; with handWrittenHostPaths: builtin, only under a built-in entry).
   */
  allowance(use: 'requestable' | 'carriable', path: string, view: Fillings): Allowance {
    this.work += this.callWeight;
    const policy = this.policyOf(view);
    if (use === 'requestable') return this.mayRequest(view) ? hostPathAllowance(policy, use, path, view) : NOT_A_REQUESTER;
    return policy.handWritten === undefined ? hostPathAllowance(policy, use, path, view) : handWrittenAllowance(policy, policy.handWritten, path, view);
  }

  /** Whether a request in this view may come from someone in `requesters`. */
  mayRequest(view: Fillings): boolean {
    if (this.requesterNames === undefined || !this.used.includes('user')) return true;
    const { user } = view;
    return user.ok ? this.requesterNames.has(user.value) : [...this.requesterNames].some((name) => !PLACEHOLDER_VALUE.test(name));
  }

  /**
   * The names a directory's next segment may take: an unknown name, and each name an entry longer than the
   * directory may have there. Any other name is matched by no longer entry, so it behaves as an unknown one.
   */
  children(prefix: readonly string[], longer: readonly Entry[]): string[] {
    const at = prefix.length;
    // A placeholder here may be filled with a name an entry spells elsewhere; with none here, such a name is as
    // unknown here as any other.
    const placeholderHere = longer.some(({ segments }) => segments[at]?.kind === 'placeholder');
    const candidates = [...(this.literalsAt[at] ?? []), ...(placeholderHere ? this.placeholderLiterals : [])];
    // Each candidate is matched against each longer entry: with thousands of entries side by side, that alone
    // would be the search's cost, so it is charged first and, past the budget, not done.
    this.work += candidates.length * longer.length;
    if (this.exhausted) return [];
    const named = candidates.filter((name) => longer.some(({ segments }) => mayMatch(segments, [...prefix, name])));
    // Unknown names first: a hazard is described with the plainest directory that shows it.
    return [...new Set([...this.unknowns, ...named])];
  }

  /**
   * The entries longer than the directory that may match it. Where there are none, every directory below it is
   * written, requested and rooted as it is (no entry tells them apart), so a hazard there is one here already.
   */
  longer(directory: readonly string[]): Entry[] {
    this.work += this.callWeight;
    return this.entries.filter(({ segments }) => segments.length > directory.length && mayMatch(segments, directory));
  }

  /** Every way the used placeholders may be filled for a directory, each value one of `values`. */
  views(values: readonly string[]): Fillings[] {
    let views: Array<Record<Placeholder, Filling>> = [{ namespace: UNFILLED, user: UNFILLED, sandboxUser: UNFILLED }];
    for (const name of this.used) {
      const named = name === 'user' ? [...new Set([...values, ...this.requesterUsers])] : values;
      const options: Filling[] = named.filter((value) => PLACEHOLDER_VALUE.test(value)).map((value) => ({ ok: true, value }));
      // A name no requester has is no requester's: one whose username fills no {user} (a service account's) asks with it unfilled.
      const fillings =
        name === 'sandboxUser'
          ? [...(this.sandboxUserFilled ? options : []), UNFILLED]
          : name === 'user' && this.requesterNames !== undefined
            ? [...options, UNFILLED]
            : options;
      views = views.flatMap((view) => fillings.map((filling) => ({ ...view, [name]: filling })));
    }
    return views;
  }

  /** The narrowed namespace's views are judged with its MountPolicies; every other namespace is taken to have none. */
  policyOf(view: Fillings): CompiledPolicy {
    const { namespace } = view;
    return this.narrowed !== undefined && namespace.ok && namespace.value === this.narrowed.namespace ? this.narrowed.policy : this.policy;
  }

  mayBeWritten(directory: readonly string[]): boolean {
    this.work += this.callWeight;
    return this.entries.some(({ entry, segments }) => !entry.readOnly && segments.length <= directory.length && mayMatch(segments, directory));
  }

  /** How the view may write the path: by request first, else as a carried built-in; undefined when it may not. */
  writable(path: string, view: Fillings): 'requestable' | 'carriable' | undefined {
    for (const use of ['requestable', 'carriable'] as const) {
      const allowance = this.allowance(use, path, view);
      if (allowance.allowed && allowance.readOnly === undefined) return use;
    }
    return undefined;
  }

  /** A path below `directory` that `view` may request, made from the first entry that allows one. */
  pathBelow(directory: readonly string[], view: Fillings): string | undefined {
    for (const { segments } of this.entries) {
      if (this.exhausted) return undefined;
      if (!mayMatch(segments, directory)) continue;
      const rest = segments.slice(directory.length).map((segment) => nameFor(segment, view, this.filler));
      if (rest.some((name) => name === undefined)) continue;
      const path = `/${[...directory, ...(rest.length > 0 ? rest : [this.filler])].join('/')}`;
      if (this.allowance('requestable', path, view).allowed) return path;
    }
    return undefined;
  }

  /** The cluster entry that decides the path, and in the narrowed namespace each MountPolicy's, e.g. `allowedHostPaths[0] "/srv"`. */
  entryField(path: string, view: Fillings, use: 'requestable' | 'carriable'): string {
    const deciding = entryFor(this.policy, use, path, view);
    const found = this.entries.find(({ entry }) => entry.pathPrefix === deciding?.pathPrefix && entry.readOnly === deciding.readOnly);
    const cluster = found === undefined ? 'no entry' : `${found.field} "${found.entry.pathPrefix}"`;
    const layers = this.policyOf(view).narrowing.flatMap((layer) => {
      const narrowing = entryFor(layer, use, path, view);
      return narrowing === undefined ? [] : [`${layer.name} "${narrowing.pathPrefix}"`];
    });
    return layers.length === 0 ? cluster : `${cluster}, narrowed by ${layers.join(', ')}`;
  }
}

/** Whether some filling lets `segments` match the directory's first segments (or cover it, when shorter). */
function mayMatch(segments: readonly PatternSegment[], directory: readonly string[]): boolean {
  const length = Math.min(segments.length, directory.length);
  for (let at = 0; at < length; at++) {
    const segment = segments[at];
    if (segment?.kind === 'literal' && segment.text !== directory[at]) return false;
  }
  return true;
}

function nameFor(segment: PatternSegment, view: Fillings, unknown: string): string | undefined {
  if (segment.kind === 'literal') return segment.text;
  if (segment.kind === 'any') return unknown;
  const filling = view[segment.name];
  return filling.ok ? filling.value : undefined;
}

/** More ways to fill the placeholders than requestableReadWrite tries: past it, every read-write entry is named. */
const MAX_VIEWS = 10_000;

/**
 * The read-write entries of allowedHostPaths below which some request may mount a path read-write, each as
 * `allowedHostPaths[i] "PREFIX"`: one a read-only entry over it, a placeholder nobody may fill, or `requesters`
 * keeps from that is left out. Placeholders take fresh names or any literal they may take, each its own; the
 * paths tried below an entry are unknown names at each depth and the rest of every longer entry that may match.
 * Too many ways to fill them, or the search's budget spent, and the entry is named: the line errs towards speaking.
 */
export function requestableReadWrite(policy: CompiledPolicy): string[] {
  const search = new Search(policy, undefined);
  const values = [...search.unknowns, ...search.placeholderLiterals];
  const views = (values.length + search.requesterUsers.length + 1) ** search.used.length <= MAX_VIEWS ? search.views(values) : undefined;
  return policy.spec.allowedHostPaths.flatMap((entry, index) => {
    if (entry.readOnly) return [];
    const named = [`allowedHostPaths[${index}] "${entry.pathPrefix}"`];
    if (views === undefined || search.exhausted) return named;
    const segments = parsePattern(entry.pathPrefix);
    // A read-only entry below may hold every path at one depth (`/srv/*/models` below `/srv`), never past the deepest
    // entry; a read-write one below a read-only one reopens the paths it names (`/srv/cache` below `/srv`).
    const unknownBelow = Array.from({ length: Math.max(1, search.deepest - segments.length + 1) }, (_, depth) => Array<string>(depth + 1).fill(search.filler));
    const writable = views.some((view) => {
      if (search.exhausted) return true;
      const prefixes = pathsOf(search, segments, 0, view);
      if (prefixes === undefined) return true;
      return prefixes.some((names) => {
        const suffixes = [...unknownBelow];
        // A pass over every entry, charged as an allowance call is.
        search.work += search.callWeight;
        for (const longer of search.entries) {
          if (longer.segments.length <= segments.length || !mayMatch(longer.segments, names)) continue;
          const rests = pathsOf(search, longer.segments, segments.length, view);
          if (rests === undefined) return true;
          for (const rest of rests) for (let cut = 1; cut <= rest.length; cut++) suffixes.push([...rest.slice(0, cut), search.filler]);
        }
        return suffixes.some((suffix) => {
          const granted = search.allowance('requestable', `/${[...names, ...suffix].join('/')}`, view);
          return granted.allowed && granted.readOnly === undefined;
        });
      });
    });
    return writable ? named : [];
  });
}

/**
 * Every way to name `segments` from `from` on in the view: a literal as it is, a placeholder as the view fills it
 * (none when it does not), `*` as an unknown name, a literal spelled at that depth or a value of the view (another
 * entry there may decide those). Undefined past MAX_VIEWS ways.
 */
function pathsOf(search: Search, segments: readonly PatternSegment[], from: number, view: Fillings): string[][] | undefined {
  const values = Object.values(view).flatMap((filling) => (filling.ok ? [filling.value] : []));
  let paths: string[][] = [[]];
  for (let at = from; at < segments.length; at++) {
    const segment = segments[at];
    if (segment === undefined) break;
    const filling = segment.kind === 'placeholder' ? view[segment.name] : undefined;
    const names =
      segment.kind === 'literal'
        ? [segment.text]
        : filling !== undefined
          ? filling.ok
            ? [filling.value]
            : []
          : [...new Set([search.filler, ...(search.literalsAt[at] ?? []), ...values])];
    if (paths.length * names.length > MAX_VIEWS) return undefined;
    paths = paths.flatMap((path) => names.map((name) => [...path, name]));
  }
  return paths;
}

/** Each hazard of the cluster policy, shallowest first, one per pair of deciding entries. */
export function linkHazards(policy: CompiledPolicy, narrowed?: Narrowed): LinkHazards {
  const search = new Search(policy, narrowed);
  const found: LinkHazard[] = [];
  const pairs = new Set<string>();
  let more = 0;
  let complete = true;
  // Each directory to descend into, with the entries longer than it that may match it.
  let level: Array<{ readonly directory: readonly string[]; readonly longer: readonly Entry[] }> = [{ directory: [], longer: search.longer([]) }];
  for (let depth = 1; depth <= search.deepest && level.length > 0 && complete; depth++) {
    const next: typeof level = [];
    for (const { directory: parent, longer } of level) {
      const children = search.children(parent, longer);
      if (search.exhausted) {
        complete = false;
        break;
      }
      for (const name of children) {
        const directory = [...parent, name];
        const hazard = hazardAt(search, directory);
        if (search.exhausted) {
          complete = false;
          break;
        }
        if (hazard === undefined) {
          const below = search.longer(directory);
          if (below.length > 0) next.push({ directory, longer: below });
          continue;
        }
        const pair = `${hazard.writer.entry}\n${hazard.reader.entry}`;
        if (pairs.has(pair)) continue;
        pairs.add(pair);
        if (found.length < MAX_HAZARDS_DESCRIBED) found.push(describe(search, hazard));
        else more++;
      }
      if (!complete) break;
    }
    level = next;
  }
  return { hazards: found, more, complete };
}

function hazardAt(search: Search, directory: readonly string[]): LinkHazard | undefined {
  // Only a directory at or below a read-write entry can be written; most are not, and need no view.
  if (!search.mayBeWritten(directory)) return undefined;
  const path = `/${directory.join('/')}`;
  // Names the policy does not know first, so that the views described are the plainest ones.
  const views = search.views([...new Set([search.other, ...directory, ...(search.narrowed === undefined ? [] : [search.narrowed.namespace])])]);
  if (search.exhausted) return undefined;
  const uses: Array<'requestable' | 'carriable' | undefined> = [];
  for (const view of views) {
    if (search.exhausted) return undefined;
    uses.push(search.writable(path, view));
  }
  const writerAt = uses.findIndex((use) => use !== undefined);
  const writer = views[writerAt];
  const writerUse = uses[writerAt];
  if (writer === undefined || writerUse === undefined) return undefined;
  for (const [index, view] of views.entries()) {
    if (search.exhausted) return undefined;
    // A root is chosen among what the view may request: a built-in it may carry read-write is no root.
    if (uses[index] === 'requestable') continue;
    const below = search.pathBelow(directory, view);
    if (below === undefined) continue;
    const root = writableRoot(below, search.policyOf(view), view);
    // The link is followed only where the root lies below the directory.
    if (!root.startsWith(`${path}/`)) continue;
    return {
      directory: path,
      writer: { view: describeView(search, writer), entry: search.entryField(path, writer, writerUse), handWritten: writerUse === 'carriable' },
      reader: { view: describeView(search, view), entry: search.entryField(below, view, 'requestable'), path: below, root },
    };
  }
  return undefined;
}

function describeView(search: Search, view: Fillings): string {
  const parts = search.used.map((name) => {
    const filling = view[name];
    if (!filling.ok) return `{${name}} not filled`;
    const narrowed = name === 'namespace' && search.policyOf(view) !== search.policy ? ' under its MountPolicies' : '';
    return `{${name}} = "${filling.value}"${narrowed}`;
  });
  return parts.length === 0 ? 'any request' : parts.join(', ');
}

const UNKNOWN_LETTERS = ['x', 'y', 'z', 'u', 'v', 'w'];

/** The hazard with the names the policy does not know written <x>, <y>, ... in order of appearance. */
function describe(search: Search, hazard: LinkHazard): LinkHazard {
  const unknown = new Set([...search.unknowns, search.other, search.filler]);
  const letters = new Map<string, string>();
  // Whole segments and whole quoted values only: a literal may have an unknown name inside it.
  const rename = (text: string): string =>
    text.replace(/(?<=["/])unknown-\d+(?=["/]|$)/g, (name) => {
      if (!unknown.has(name)) return name;
      const letter = letters.get(name) ?? `<${UNKNOWN_LETTERS[letters.size] ?? `n${letters.size}`}>`;
      letters.set(name, letter);
      return letter;
    });
  // In the order the description names them, so the letters come in order.
  const directory = rename(hazard.directory);
  const writerView = rename(hazard.writer.view);
  const root = rename(hazard.reader.root);
  const path = rename(hazard.reader.path);
  return {
    directory,
    writer: { ...hazard.writer, view: writerView },
    reader: { view: rename(hazard.reader.view), entry: hazard.reader.entry, path, root },
  };
}

function rootOf(hazard: LinkHazard): string {
  const { path, root } = hazard.reader;
  return root === path ? `"${path}"` : `the root "${root}" of "${path}"`;
}

/** One line per hazard, then what was left out; for `check`. */
export function describeLinkHazards(result: LinkHazards): string[] {
  const lines = result.hazards.map(
    (hazard) =>
      `"${hazard.directory}" may be ${hazard.writer.handWritten ? 'carried read-write in a hostPath volume written into the Pod' : 'mounted read-write'} where ${hazard.writer.view} (${hazard.writer.entry}), and lies above ${rootOf(hazard)}, which may be mounted where ${hazard.reader.view} (${hazard.reader.entry}): ` +
      'a symbolic link planted there leads that mount elsewhere on the node, even with volumeRoot: writableAncestor',
  );
  if (result.more > 0) lines.push(`and ${result.more} more such pairs of entries`);
  if (!result.complete) lines.push('the policy is too large to search in full: there may be more such directories');
  return lines;
}
