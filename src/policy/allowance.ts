/**
 * Whether a host path may be requested (or carried) under a policy and every
 * layer that narrows it, and which layer says no or read-only. The cluster
 * policy decides first; each narrowing layer can only refuse or make
 * read-only, never allow what the cluster policy does not.
 */
import type { CompiledPolicy, EntryLists, PathLists } from './compile.js';
import { decidingHostPathEntry, notCoveredNote, readOnlyEntryBelow, type Fillings } from './match.js';
import type { PathPrefixEntry } from './schema.js';

/** What the annotation may request, or what a Pod may carry (built-ins included). */
export type PathUse = 'requestable' | 'carriable';

/** Why a path must be mounted read-only: an entry, its layer, and whether it lies below the path rather than over it. */
export interface ReadOnlyReason {
  readonly pathPrefix: string;
  readonly of: string;
  readonly below: boolean;
}

export type Allowance =
  | {
      readonly allowed: true;
      /** The first reason to be read-only (the cluster policy's before any layer's), if any. */
      readonly readOnly: ReadOnlyReason | undefined;
      /**
       * The first reason that is an entry over the path, in any layer, if any: the path itself is read-only,
       * not only something below it. `readOnly` may be a reason below the path while another layer's is over it.
       */
      readonly readOnlyOver: ReadOnlyReason | undefined;
    }
  | {
      readonly allowed: false;
      /** The layer that has no entry for the path, as it follows "any allowed host path": "" or " of MountPolicy a/b". */
      readonly of: string;
      /** Why no entry applies, as a parenthesis; "" when there is nothing more to say. */
      readonly note: string;
    };

/** " of the cluster policy" once a namespace has layers (so a denial always names its layer), "" otherwise. */
export function clusterLayerName(policy: CompiledPolicy): string {
  return policy.narrowing.length > 0 ? ' of the cluster policy' : '';
}

/** The entry of one layer that decides a path, among what may be requested or carried. */
export function entryFor(lists: PathLists, use: PathUse, path: string, fillings: Fillings): PathPrefixEntry | undefined {
  return use === 'requestable'
    ? decidingHostPathEntry(lists.requestable, lists.requestablePatterns, path, fillings)
    : decidingHostPathEntry(lists.carriable, lists.carriablePatterns, path, fillings);
}

function noteFor(lists: PathLists, use: PathUse, path: string, fillings: Fillings): string {
  return notCoveredNote(use === 'requestable' ? lists.requestablePatterns : lists.carriablePatterns, path, fillings);
}

/**
 * Read-only when the deciding entry is; when the deciding entry among both
 * lists is (a built-in entry makes a requested path read-only, as /validate,
 * which sees both lists, would demand); or when a read-only entry of either
 * list applies below the path, since a read-write mount of the path would write
 * there.
 */
function readOnlyReason(lists: PathLists, use: PathUse, entry: PathPrefixEntry, path: string, fillings: Fillings, of: string): ReadOnlyReason | undefined {
  if (entry.readOnly) return { pathPrefix: entry.pathPrefix, of, below: false };
  const carried = use === 'carriable' ? entry : entryFor(lists, 'carriable', path, fillings);
  if (carried?.readOnly === true) return { pathPrefix: carried.pathPrefix, of, below: false };
  // A read-only entry outranked at its own prefix by a read-write one makes nothing below the path read-only.
  const readOnlyAt = (at: string): boolean => entryFor(lists, 'carriable', at, fillings)?.readOnly === true;
  const below = readOnlyEntryBelow(lists.carriableReadOnly.literal, lists.carriableReadOnly.patterns, path, fillings, readOnlyAt);
  return below === undefined ? undefined : { pathPrefix: below.pathPrefix, of, below: true };
}

/** `path` must be canonical; `fillings` are requestFillings of the Pod and its request. */
export function hostPathAllowance(policy: CompiledPolicy, use: PathUse, path: string, fillings: Fillings): Allowance {
  const entry = entryFor(policy, use, path, fillings);
  if (entry === undefined) return { allowed: false, of: clusterLayerName(policy), note: noteFor(policy, use, path, fillings) };
  let readOnly = readOnlyReason(policy, use, entry, path, fillings, clusterLayerName(policy));
  let readOnlyOver = readOnly?.below === false ? readOnly : undefined;
  for (const layer of policy.narrowing) {
    const of = ` of ${layer.name}`;
    if (layer.closed !== undefined) return { allowed: false, of, note: ` (${layer.closed})` };
    const narrowed = entryFor(layer, use, path, fillings);
    if (narrowed === undefined) return { allowed: false, of, note: noteFor(layer, use, path, fillings) };
    const reason = readOnlyReason(layer, use, narrowed, path, fillings, of);
    readOnly ??= reason;
    if (reason?.below === false) readOnlyOver ??= reason;
  }
  return { allowed: true, readOnly, readOnlyOver };
}

/** Why a hand-written volume outside builtinHostPaths is refused, as a parenthesis after the denial. */
const HAND_WRITTEN_NOTE = ' (with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)';

/**
 * A hostPath volume written into the Pod by hand (not named `mountgate-`) under
 * handWrittenHostPaths: builtin. It must lie under a built-in entry of the
 * cluster policy, and is then judged as any carried volume (the layers, and
 * the deciding entry among both lists). It is read-only where that deciding
 * entry, or the deciding built-in entry, is: the option only ever takes away.
 * A refusal naming the cluster layer comes from the built-in test alone, as
 * both lists cover whatever builtinHostPaths covers.
 */
export function handWrittenAllowance(policy: CompiledPolicy, builtin: EntryLists, path: string, fillings: Fillings): Allowance {
  const entry = decidingHostPathEntry(builtin.literal, builtin.patterns, path, fillings);
  if (entry === undefined) {
    return { allowed: false, of: clusterLayerName(policy), note: notCoveredNote(builtin.patterns, path, fillings) + HAND_WRITTEN_NOTE };
  }
  const carried = hostPathAllowance(policy, 'carriable', path, fillings);
  if (!carried.allowed || !entry.readOnly) return carried;
  const builtinReason = { pathPrefix: entry.pathPrefix, of: clusterLayerName(policy), below: false };
  return { allowed: true, readOnly: carried.readOnly ?? builtinReason, readOnlyOver: carried.readOnlyOver ?? builtinReason };
}
