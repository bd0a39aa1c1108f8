/**
 * What the Pods of one namespace may carry under the cluster policy and every
 * MountPolicy of that namespace together: the list each MountPolicy's status
 * shows (effectiveAllowedHostPaths) and `mountgate check --mount-policy`
 * prints. It is computed in the process that admits Pods from lists a
 * namespace's admin writes, so its work is bounded: past MAX_EFFECTIVE_STEPS
 * it lists nothing rather than stall admission or list something untrue.
 */
import { patternText, segmentsCover, segmentsMeet, type ComparisonCost } from './containment.js';
import { decidingOrder, type CompiledPolicy } from './compile.js';
import { clusterEntries, decidingCover, inNamespace, parsedEntries, rankOf, type CompiledMountPolicy, type Entry, type ParsedEntry } from './mount-policy.js';
import type { PatternSegment } from './patterns.js';
import { MAX_PATH_LENGTH } from './paths.js';

/**
 * How many prefixes effectiveAllowedHostPaths lists at most: MountPolicies with
 * `*` at different places can combine into a product of their entries.
 */
export const MAX_EFFECTIVE_ENTRIES = 1024;

/**
 * How many characters of prefixes it lists at most: 1024 prefixes of 4096
 * characters would make a status of 4 MiB, which the API server refuses, and
 * the status would then never be written.
 */
export const MAX_EFFECTIVE_CHARACTERS = 256 * 1024;

/**
 * How much work it does at most, in segments compared (ComparisonCost) and
 * characters of the prefixes it writes out: some tens of milliseconds. Forty
 * MountPolicies of 128 entries of 2000 characters, crossing one another with
 * `*`, took 3.5 s before it was bounded, all that time without admitting a Pod.
 */
export const MAX_EFFECTIVE_STEPS = 4_000_000;

/** Put before an incomplete list (a message too long for the CRD loses its end). */
export const NOT_ALL_LISTED = `(not all listed: the layers combine into more than ${MAX_EFFECTIVE_ENTRIES} prefixes or ${MAX_EFFECTIVE_CHARACTERS} characters of them, or into a prefix longer than the ${MAX_PATH_LENGTH} a status holds) `;

/** Said instead of a list when working the list out would take too long. */
export const TOO_MANY_TO_LIST = `host paths the layers combine into more prefixes than can be worked out (past ${2 * MAX_EFFECTIVE_ENTRIES} prefixes or ${MAX_EFFECTIVE_STEPS} steps; none listed)`;

export interface EffectiveHostPaths {
  readonly entries: Entry[];
  /**
   * False when the list stopped at MAX_EFFECTIVE_ENTRIES or MAX_EFFECTIVE_CHARACTERS (every entry listed holds,
   * some that hold are missing), or when it could not be worked out at all (then it lists nothing).
   */
  readonly complete: boolean;
}

/**
 * The effective entries as words: `under` starts a non-empty list ("host paths under " in a status),
 * `quote` wraps each prefix in quotes; "no host path" when there is none, TOO_MANY_TO_LIST when it could not be
 * worked out.
 */
export function describeEffective({ entries, complete }: EffectiveHostPaths, under: string, quote: boolean): string {
  if (entries.length === 0) return complete ? 'no host path' : TOO_MANY_TO_LIST;
  const among = complete ? '' : NOT_ALL_LISTED;
  const q = quote ? '"' : '';
  return `${under}${among}${entries.map((entry) => `${q}${entry.pathPrefix}${q}${entry.readOnly ? ' (read-only)' : ''}`).join(', ')}`;
}

/** Thrown when the work runs out; caught below, never seen outside. */
class OutOfSteps extends Error {}

/** A prefix, parsed; `literal` when it has no `*` and no placeholder, `placeholders` when it has a placeholder. */
interface Prefix {
  readonly text: string;
  readonly segments: readonly PatternSegment[];
  readonly literal: boolean;
  readonly placeholders: boolean;
}

function prefixOf(text: string, segments: readonly PatternSegment[]): Prefix {
  return { text, segments, literal: segments.every((segment) => segment.kind === 'literal'), placeholders: segments.some((segment) => segment.kind === 'placeholder') };
}

/** Counts work against MAX_EFFECTIVE_STEPS (see ComparisonCost); written-out prefixes count their length. */
class Steps {
  readonly cost: ComparisonCost = { steps: 0 };

  /** Throws OutOfSteps once the work is past the bound; called after each piece of work. */
  check(): void {
    if (this.cost.steps > MAX_EFFECTIVE_STEPS) throw new OutOfSteps('too much work');
  }

  /** The meet of two prefixes, with its text. */
  meet(a: Prefix, b: Prefix): Prefix | undefined {
    const segments = segmentsMeet(a.segments, b.segments, this.cost);
    const meet = segments === undefined ? undefined : prefixOf(patternText(segments), segments);
    this.cost.steps += meet?.text.length ?? 0;
    this.check();
    return meet;
  }

  covers(outer: Prefix, inner: Prefix): boolean {
    const covers = segmentsCover(outer.segments, inner.segments, this.cost);
    this.check();
    return covers;
  }
}

/** An entry of a layer: parsed, as a Prefix, and with every placeholder as `*` (what it matches for some request). */
interface Item {
  readonly parsed: ParsedEntry;
  readonly prefix: Prefix;
  readonly anyRequest: Prefix;
}

/** A trie of literal entries by segment, so that those covering a prefix are found in as many steps as it has segments. */
interface LiteralNode {
  readonly items: Item[];
  readonly children: Map<string, LiteralNode>;
}

/** A layer's entries: literal ones in a trie, the others (with `*` or a placeholder) in a list. */
interface Layer {
  readonly items: readonly Item[];
  readonly literals: LiteralNode;
  readonly patterns: readonly Item[];
}

function layerOf(items: readonly Item[]): Layer {
  const literals: LiteralNode = { items: [], children: new Map() };
  const patterns: Item[] = [];
  for (const item of items) {
    if (!item.prefix.literal) {
      patterns.push(item);
      continue;
    }
    let node = literals;
    for (const segment of item.prefix.segments) {
      if (segment.kind !== 'literal') break;
      let child = node.children.get(segment.text);
      if (child === undefined) {
        child = { items: [], children: new Map() };
        node.children.set(segment.text, child);
      }
      node = child;
    }
    node.items.push(item);
  }
  return { items, literals, patterns };
}

/**
 * The same pattern with each literal replaced by the one string object of its text, so that comparing two
 * literals is comparing two objects (or their cached hashes), however long the literals are.
 */
function interned(segments: readonly PatternSegment[], texts: Map<string, string>): PatternSegment[] {
  return segments.map((segment) => {
    if (segment.kind !== 'literal') return segment;
    const known = texts.get(segment.text);
    if (known !== undefined) return { kind: 'literal', text: known };
    texts.set(segment.text, segment.text);
    return segment;
  });
}

function anyRequest(prefix: Prefix): Prefix {
  if (!prefix.placeholders) return prefix;
  const segments = prefix.segments.map((segment): PatternSegment => (segment.kind === 'placeholder' ? { kind: 'any' } : segment));
  return prefixOf(patternText(segments), segments);
}

/**
 * What a Pod of `namespace` may carry under the cluster policy and every
 * MountPolicy of that namespace together, for their status: every prefix all
 * layers match, read-only where any layer's deciding entry is, as layers.ts
 * judges a Pod (a mount that holds a listed read-only prefix below it is
 * read-only too; the list shows that prefix). An invalid MountPolicy allows nothing. Patterns stay
 * patterns; where a placeholder meets a literal the prefix holds only for
 * some requests and is left out.
 */
export function effectiveAllowedHostPaths(cluster: CompiledPolicy, namespace: string, policies: readonly CompiledMountPolicy[]): EffectiveHostPaths {
  if (policies.some((policy) => policy.problems.length > 0)) return { entries: [], complete: true };
  const written = [clusterEntries(cluster, namespace)];
  // In name order, so that a list cut at a cap is the same whoever asks (the status writer, a status, `check`).
  for (const policy of [...policies].sort((a, b) => (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0))) {
    const allowed = policy.spec?.allowedHostPaths;
    if (allowed !== undefined) written.push(inNamespace(allowed, namespace));
  }
  const texts = new Map<string, string>();
  const layers: Layer[] = written.map((entries) => {
    const items = parsedEntries(entries).map((written): Item => {
      const parsed = { ...written, segments: interned(written.segments, texts) };
      const prefix = prefixOf(written.entry.pathPrefix, parsed.segments);
      return { parsed, prefix, anyRequest: anyRequest(prefix) };
    });
    return layerOf(items);
  });
  const steps = new Steps();
  try {
    const met = meetOfLayers(layers, steps);
    if (!withInnerBoundaries(met.prefixes, layers, steps, met.complete)) return { entries: [], complete: false };
    return listed(met.prefixes, layers, steps, met.complete);
  } catch (error) {
    if (error instanceof OutOfSteps) return { entries: [], complete: false };
    throw error;
  }
}

/** Every prefix all layers match, up to MAX_EFFECTIVE_ENTRIES (then not complete). */
function meetOfLayers(layers: readonly Layer[], steps: Steps): { prefixes: Map<string, Prefix>; complete: boolean } {
  let complete = true;
  let prefixes = new Map<string, Prefix>();
  for (const { prefix } of layers[0]?.items ?? []) prefixes.set(prefix.text, prefix);
  for (const inner of layers.slice(1)) {
    const narrowed = new Map<string, Prefix>();
    for (const a of prefixes.values()) {
      for (const { prefix: b } of inner.items) {
        const meet = steps.meet(a, b);
        if (meet === undefined || narrowed.has(meet.text)) continue;
        if (narrowed.size === MAX_EFFECTIVE_ENTRIES) complete = false;
        else narrowed.set(meet.text, meet);
      }
    }
    prefixes = narrowed;
  }
  return { prefixes, complete };
}

/**
 * Adds to `prefixes` where, inside one of them, some layer's entry starts
 * deciding: its meet with the prefix, and the meets of those with every entry
 * again. A read-write "/srv/team-a" may hold "/srv/team-a/models", read-only
 * by a cluster entry that matches every team's models; listed apart, each
 * prefix's read-only flag holds for every path it decides. False when
 * MAX_EFFECTIVE_ENTRIES stopped it: the flags could then say read-write where a
 * missing prefix would say read-only.
 *
 * Two literal prefixes meet in one of them or not at all, and a literal entry
 * inside a prefix every layer matches is itself one every layer matches, so
 * when `prefixes` holds all of those (`allMet`), such pairs are skipped: a
 * policy of a thousand plain prefixes costs no closure at all.
 */
function withInnerBoundaries(prefixes: Map<string, Prefix>, layers: readonly Layer[], steps: Steps, allMet: boolean): boolean {
  const entries = new Map<string, Prefix>();
  for (const layer of layers) for (const { prefix } of layer.items) entries.set(prefix.text, prefix);
  let frontier = [...prefixes.values()];
  while (frontier.length > 0) {
    const found: Prefix[] = [];
    for (const prefix of frontier) {
      for (const entry of entries.values()) {
        if (allMet && entry.literal && prefix.literal) continue;
        const meet = steps.meet(entry, prefix);
        if (meet === undefined || prefixes.has(meet.text)) continue;
        if (prefixes.size >= 2 * MAX_EFFECTIVE_ENTRIES) return false;
        prefixes.set(meet.text, meet);
        found.push(meet);
      }
    }
    frontier = found;
  }
  return true;
}

/**
 * The prefixes in order with their read-only flags, at most MAX_EFFECTIVE_ENTRIES of them and
 * MAX_EFFECTIVE_CHARACTERS. A prefix left out may lie inside one listed and be read-only there: the listed one
 * is then said to be read-only too, so that the list never says more than Pods get.
 */
function listed(prefixes: ReadonlyMap<string, Prefix>, layers: readonly Layer[], steps: Steps, complete: boolean): EffectiveHostPaths {
  const decided = new Map<string, boolean>();
  for (const [text, prefix] of prefixes) decided.set(text, layers.some((layer) => readOnlyIn(layer, prefix, steps)));
  const all = [...prefixes.keys()].sort().flatMap((text) => {
    const prefix = prefixes.get(text);
    if (prefix === undefined) return [];
    return [{ prefix, readOnly: decided.get(text) === true || layers.some((layer) => anyInstanceMarker(layer, prefix, prefixes, decided, steps)) }];
  });
  // A prefix whose every match is longer than a path may be matches nothing mountgate admits: not listed, and
  // nothing is missing. One that some path matches but a status cannot hold (a {user} in it stands for a
  // shorter name) is left out, and the list is not complete.
  const matchable = all.filter(({ prefix }) => shortestMatch(prefix.text) <= MAX_PATH_LENGTH);
  const storable = matchable.filter(({ prefix }) => prefix.text.length <= MAX_PATH_LENGTH);
  let shown = 0;
  let characters = 0;
  for (const { prefix } of storable) {
    characters += prefix.text.length;
    if (shown === MAX_EFFECTIVE_ENTRIES || characters > MAX_EFFECTIVE_CHARACTERS) break;
    shown++;
  }
  const listedItems = storable.slice(0, shown);
  const listedSet = new Set(listedItems);
  const readOnlyLeftOut = matchable.filter((item) => item.readOnly && !listedSet.has(item));
  const entries = listedItems.map(({ prefix, readOnly }) => ({
    pathPrefix: prefix.text,
    readOnly:
      readOnly ||
      readOnlyLeftOut.some((inner) => steps.covers(prefix, inner.prefix)),
  }));
  return { entries, complete: complete && shown === matchable.length };
}

/** The length of the shortest path a prefix matches: each placeholder filled with one character (a `*` is one already). */
function shortestMatch(text: string): number {
  return text.replace(/\{(?:user|namespace|sandboxUser)\}/g, 'x').length;
}

/**
 * Whether a layer makes paths under `prefix` read-only: its deciding entry is, or, for some requests, a read-only
 * entry that meets `prefix` only when placeholders are filled and would then decide ("/u/{user}" against
 * "/u/{sandboxUser}"). The status says read-only then: it may understate, never overstate.
 */
function readOnlyIn(layer: Layer, prefix: Prefix, steps: Steps): boolean {
  const deciding = decidingCover(coveringEntries(layer, prefix, steps), prefix.segments, steps.cost);
  steps.check();
  if (deciding?.entry.readOnly === true) return true;
  const prefixForAnyRequest = anyRequest(prefix);
  // Without a placeholder on either side, meeting for some request is meeting: only entries with one can count.
  const candidates = prefix.placeholders ? layer.items : layer.patterns.filter((item) => item.prefix.placeholders);
  return candidates.some(
    ({ parsed, prefix: written, anyRequest: forAnyRequest }) =>
      parsed.entry.readOnly &&
      steps.meet(written, prefix) === undefined &&
      steps.meet(forAnyRequest, prefixForAnyRequest) !== undefined &&
      (deciding === undefined || decidingOrder(rankOf(parsed), rankOf(deciding)) <= 0),
  );
}

// Whether `prefix` must stand for a read-only entry with `*` that the list does not show: an instance of it
// ("/u/u3/a" of "/u/*/a") where a read-write entry decides ("/u/u3/*"). layers.ts counts such an entry below
// every path above any of its instances, outranked there or not (with `*` it stands for more paths than any
// one entry names), so without a read-only entry below them the list would say read-write above the
// instance where Pods get read-only. The instance itself is then said to be read-only, which Pods get
// read-write: the list understates there, never overstates. Only where a listed prefix lies above the
// instance, and no prefix of the entry's text is listed read-only (the cluster policy alone lists the entry,
// which says as much; a read-write entry of the same text, ranked before a filled {namespace}, does not).
function anyInstanceMarker(layer: Layer, prefix: Prefix, listed: ReadonlyMap<string, Prefix>, readOnly: ReadonlyMap<string, boolean>, steps: Steps): boolean {
  return layer.patterns.some(
    ({ parsed, prefix: written, anyRequest: forAnyRequest }) =>
      parsed.entry.readOnly &&
      written.segments.length === prefix.segments.length &&
      written.segments.some((segment) => segment.kind === 'any') &&
      readOnly.get(written.text) !== true &&
      steps.covers(forAnyRequest, anyRequest(prefix)) &&
      [...listed.values()].some((above) => above.segments.length < prefix.segments.length && steps.covers(above, prefix)),
  );
}

/**
 * The layer's entries that may cover `prefix`: the literal ones along its leading literal segments (all of which
 * cover it), and every one with `*` or a placeholder (decidingCover checks those).
 */
function coveringEntries(layer: Layer, prefix: Prefix, steps: Steps): ParsedEntry[] {
  const found: ParsedEntry[] = layer.literals.items.map((item) => item.parsed);
  let node: LiteralNode | undefined = layer.literals;
  for (const segment of prefix.segments) {
    if (segment.kind !== 'literal') break;
    node = node.children.get(segment.text);
    if (node === undefined) break;
    for (const item of node.items) found.push(item.parsed);
  }
  steps.cost.steps += prefix.segments.length + layer.patterns.length;
  for (const item of layer.patterns) found.push(item.parsed);
  return found;
}
