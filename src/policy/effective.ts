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
 * characters of the prefixes it writes out: some tens of milliseconds. Twenty MountPolicies of 128
 * entries of 2000 characters, crossing one another with `*`, took seconds
 * before it was bounded, all that time without admitting a Pod.
 */
export const MAX_EFFECTIVE_STEPS = 4_000_000;

/** Put before an incomplete list (a message too long for the CRD loses its end). */
export const NOT_ALL_LISTED = `(not all listed: the layers combine into more than ${MAX_EFFECTIVE_ENTRIES} prefixes or ${MAX_EFFECTIVE_CHARACTERS} characters of them) `;

/** Said instead of a list when working the list out would take too long. */
export const TOO_MANY_TO_LIST = `host paths the layers combine into more prefixes than can be worked out (past ${MAX_EFFECTIVE_ENTRIES} prefixes or ${MAX_EFFECTIVE_STEPS} steps; none listed)`;

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

/** A prefix, parsed. */
interface Prefix {
  readonly text: string;
  readonly segments: readonly PatternSegment[];
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
    const meet = segments === undefined ? undefined : { text: patternText(segments), segments };
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

/** The layer's entries parsed, each also as a Prefix, and with every placeholder as `*`: what it matches for some request. */
interface Layer {
  readonly entries: readonly ParsedEntry[];
  readonly prefixes: readonly Prefix[];
  readonly anyRequest: readonly Prefix[];
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
  const segments = prefix.segments.map((segment): PatternSegment => (segment.kind === 'placeholder' ? { kind: 'any' } : segment));
  return { text: patternText(segments), segments };
}

/**
 * What a Pod of `namespace` may carry under the cluster policy and every
 * MountPolicy of that namespace together, for their status: every prefix all
 * layers match, read-only where any layer's deciding entry is, as layers.ts
 * judges a Pod. An invalid MountPolicy allows nothing. Patterns stay
 * patterns; where a placeholder meets a literal the prefix holds only for
 * some requests and is left out.
 */
export function effectiveAllowedHostPaths(cluster: CompiledPolicy, namespace: string, policies: readonly CompiledMountPolicy[]): EffectiveHostPaths {
  if (policies.some((policy) => policy.problems.length > 0)) return { entries: [], complete: true };
  const written = [clusterEntries(cluster, namespace)];
  for (const policy of policies) {
    const allowed = policy.spec?.allowedHostPaths;
    if (allowed !== undefined) written.push(inNamespace(allowed, namespace));
  }
  const texts = new Map<string, string>();
  const layers: Layer[] = written.map((entries) => {
    const parsed = parsedEntries(entries).map((entry) => ({ ...entry, segments: interned(entry.segments, texts) }));
    const prefixes = parsed.map(({ entry, segments }) => ({ text: entry.pathPrefix, segments }));
    return { entries: parsed, prefixes, anyRequest: prefixes.map(anyRequest) };
  });
  const steps = new Steps();
  try {
    const met = meetOfLayers(layers, steps);
    if (!withInnerBoundaries(met.prefixes, layers, steps)) return { entries: [], complete: false };
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
  for (const prefix of layers[0]?.prefixes ?? []) prefixes.set(prefix.text, prefix);
  for (const inner of layers.slice(1)) {
    const narrowed = new Map<string, Prefix>();
    for (const a of prefixes.values()) {
      for (const b of inner.prefixes) {
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
 */
function withInnerBoundaries(prefixes: Map<string, Prefix>, layers: readonly Layer[], steps: Steps): boolean {
  const entries = new Map<string, Prefix>();
  for (const layer of layers) for (const prefix of layer.prefixes) entries.set(prefix.text, prefix);
  let frontier = [...prefixes.values()];
  while (frontier.length > 0) {
    const found: Prefix[] = [];
    for (const prefix of frontier) {
      for (const entry of entries.values()) {
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
  const all = [...prefixes.keys()].sort().flatMap((text) => {
    const prefix = prefixes.get(text);
    return prefix === undefined ? [] : [{ prefix, readOnly: layers.some((layer) => readOnlyIn(layer, prefix, steps)) }];
  });
  let shown = 0;
  let characters = 0;
  for (const { prefix } of all) {
    characters += prefix.text.length;
    if (shown === MAX_EFFECTIVE_ENTRIES || characters > MAX_EFFECTIVE_CHARACTERS) break;
    shown++;
  }
  const readOnlyLeftOut = all.slice(shown).filter((item) => item.readOnly);
  const entries = all.slice(0, shown).map(({ prefix, readOnly }) => ({
    pathPrefix: prefix.text,
    readOnly:
      readOnly ||
      readOnlyLeftOut.some((inner) => steps.covers(prefix, inner.prefix)),
  }));
  return { entries, complete: complete && shown === all.length };
}

/**
 * Whether a layer makes paths under `prefix` read-only: its deciding entry is, or, for some requests, a read-only
 * entry that meets `prefix` only when placeholders are filled and would then decide ("/u/{user}" against
 * "/u/{sandboxUser}"). The status says read-only then: it may understate, never overstate.
 */
function readOnlyIn(layer: Layer, prefix: Prefix, steps: Steps): boolean {
  const deciding = decidingCover(layer.entries, prefix.segments, steps.cost);
  steps.check();
  if (deciding?.entry.readOnly === true) return true;
  const prefixForAnyRequest = anyRequest(prefix);
  return layer.entries.some((candidate, index) => {
    const written = layer.prefixes[index];
    const forAnyRequest = layer.anyRequest[index];
    if (!candidate.entry.readOnly || written === undefined || forAnyRequest === undefined) return false;
    return (
      steps.meet(written, prefix) === undefined &&
      steps.meet(forAnyRequest, prefixForAnyRequest) !== undefined &&
      (deciding === undefined || decidingOrder(rankOf(candidate), rankOf(deciding)) <= 0)
    );
  });
}
