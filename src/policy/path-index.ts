/**
 * Answers "which of these paths equals or contains this one, by whole
 * segments?" in time linear in the length of the path asked about, however
 * many paths were added. A Pod can carry tens of thousands of mounts and ask
 * for a thousand more; comparing every request with every mount would block
 * the event loop for seconds.
 *
 * Paths are added as written (canonical or not) and matched with the meaning
 * of isWithin: `p` is covered by `q` when q is "/", q equals p, or p starts
 * with q followed by "/". Among several covering paths, covering() answers the first added,
 * closest() the longest.
 *
 * How: the first SCANNED_PATHS paths are kept in a list and scanned; beyond
 * that, each added path is filed under a 30-bit FNV-1a hash. FNV-1a reads a
 * string one character at a time, so one pass over `p` yields the hash of
 * every prefix of `p`; the prefixes that end where p has a "/" are looked up,
 * and a hit is confirmed by comparing the strings. The hash starts from a
 * random seed, so inputs cannot be crafted to collide; a collision would only
 * cost one comparison anyway.
 */
import { randomInt } from 'node:crypto';
import { isWithin, MAX_PATH_LENGTH } from './paths.js';

const FNV_PRIME = 16777619;
/** 30 bits keep every hash a small integer for V8 (no heap numbers in the loops or the Map). */
const HASH_MASK = 0x3fffffff;
const SLASH = 0x2f;
const SEED = randomInt(HASH_MASK);

export interface IndexedPath<T> {
  /** The path as added. */
  readonly path: string;
  readonly value: T;
}

interface Entry<T> extends IndexedPath<T> {
  readonly order: number;
}

function hashOf(path: string): number {
  let hash = SEED;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), FNV_PRIME) & HASH_MASK;
  return hash;
}

/**
 * Up to this many paths are kept in a list and scanned in the order added: for the few mounts most Pods
 * have, a scan costs less than building the hash table (a Map and a table of lengths, per review).
 */
export const SCANNED_PATHS = 16;

export class PathIndex<T> {
  /** The paths added while there are at most SCANNED_PATHS, in order; undefined once they are hashed instead. */
  #few: Array<Entry<T>> | undefined = [];
  #hashed: HashedPaths<T> | undefined;
  #added = 0;

  add(path: string, value: T): void {
    const entry = { order: this.#added++, path, value };
    // Longer than any canonical path: it can cover none.
    if (path.length > MAX_PATH_LENGTH) return;
    if (this.#few !== undefined && this.#few.length < SCANNED_PATHS) {
      this.#few.push(entry);
      return;
    }
    if (this.#hashed === undefined) {
      this.#hashed = new HashedPaths<T>();
      for (const earlier of this.#few ?? []) this.#hashed.add(earlier);
      this.#few = undefined;
    }
    this.#hashed.add(entry);
  }

  /** The first-added path that equals or contains `path`, with its value; undefined when none does. */
  covering(path: string): IndexedPath<T> | undefined {
    if (this.#hashed !== undefined) return this.#hashed.covering(path);
    for (const entry of this.#few ?? []) {
      if (isWithin(path, entry.path)) return entry;
    }
    return undefined;
  }

  /** The longest path that equals or contains `path` (the closest around it; of equal ones the first added), with its value; undefined when none does. */
  closest(path: string): IndexedPath<T> | undefined {
    if (this.#hashed !== undefined) return this.#hashed.closest(path);
    let best: Entry<T> | undefined;
    for (const entry of this.#few ?? []) {
      if (isWithin(path, entry.path) && (best === undefined || entry.path.length > best.path.length)) best = entry;
    }
    return best;
  }
}

/** The paths of a PathIndex that has more than SCANNED_PATHS, filed by hash as described above. */
class HashedPaths<T> {
  /** Distinct paths by hash: one entry, or (after a collision) a list. */
  readonly #byHash = new Map<number, Entry<T> | Array<Entry<T>>>();
  /**
   * Which lengths the added paths have, so most prefixes of a query need no lookup at all.
   * Grown as longer paths arrive rather than sized for the longest possible one: an index is
   * built per review, and zeroing 4 KiB each time was a tenth of a decision. A read past the
   * end gives undefined, which is "no path of that length".
   */
  #lengths = new Uint8Array(0);
  /** An entry for "/", which covers every path. */
  #everything: Entry<T> | undefined;
  /** The longest path added: no longer prefix of a query can match, so hashing stops there. */
  #longest = -1;

  /** `entry.path` is at most MAX_PATH_LENGTH long; entries come in the order added. */
  add(entry: Entry<T>): void {
    const { path } = entry;
    if (path === '/') {
      this.#everything ??= entry;
      return;
    }
    const hash = hashOf(path);
    const known = this.#byHash.get(hash);
    // A path added again is ignored: the first one wins, and lookups stay short however often a path repeats.
    if (known === undefined) this.#byHash.set(hash, entry);
    else if (!Array.isArray(known)) {
      if (known.path !== path) this.#byHash.set(hash, [known, entry]);
    } else if (!known.some((other) => other.path === path)) known.push(entry);
    if (path.length >= this.#lengths.length) {
      const grown = new Uint8Array(Math.min(MAX_PATH_LENGTH + 1, Math.max(path.length + 1, this.#lengths.length * 2, 64)));
      grown.set(this.#lengths);
      this.#lengths = grown;
    }
    this.#lengths[path.length] = 1;
    this.#longest = Math.max(this.#longest, path.length);
  }

  /** The first-added path that equals or contains `path`, with its value; undefined when none does. */
  covering(path: string): IndexedPath<T> | undefined {
    let best = this.#everything;
    let hash = SEED;
    const lengths = this.#lengths;
    const last = Math.min(path.length, this.#longest);
    for (let i = 0; i <= last; i++) {
      // `hash` is now the hash of path.slice(0, i): a candidate when it ends the path or a segment.
      if (lengths[i] === 1 && (i === path.length || path.charCodeAt(i) === SLASH)) best = this.#better(best, hash, path, i);
      if (i < path.length) hash = Math.imul(hash ^ path.charCodeAt(i), FNV_PRIME) & HASH_MASK;
    }
    return best;
  }

  /** The longest path that equals or contains `path`: the prefixes are hashed in one pass, then looked up longest first. */
  closest(path: string): IndexedPath<T> | undefined {
    const ends: number[] = [];
    const hashes: number[] = [];
    let hash = SEED;
    const lengths = this.#lengths;
    const last = Math.min(path.length, this.#longest);
    for (let i = 0; i <= last; i++) {
      if (lengths[i] === 1 && (i === path.length || path.charCodeAt(i) === SLASH)) {
        ends.push(i);
        hashes.push(hash);
      }
      if (i < path.length) hash = Math.imul(hash ^ path.charCodeAt(i), FNV_PRIME) & HASH_MASK;
    }
    for (let k = ends.length - 1; k >= 0; k--) {
      const length = ends[k] ?? -1;
      // "/" (one character) is longer than the empty path, the only shorter one.
      if (length === 0 && this.#everything !== undefined) return this.#everything;
      const known = this.#byHash.get(hashes[k] ?? -1);
      if (known === undefined) continue;
      // A path is filed once (the first added), so at most one entry of a list has this prefix.
      for (const entry of Array.isArray(known) ? known : [known]) {
        if (entry.path.length === length && path.startsWith(entry.path)) return entry;
      }
    }
    return this.#everything;
  }

  #better(best: Entry<T> | undefined, hash: number, path: string, length: number): Entry<T> | undefined {
    const known = this.#byHash.get(hash);
    if (known === undefined) return best;
    let result = best;
    for (const entry of Array.isArray(known) ? known : [known]) {
      if ((result === undefined || entry.order < result.order) && entry.path.length === length && path.startsWith(entry.path)) result = entry;
    }
    return result;
  }
}
