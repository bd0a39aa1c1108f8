/**
 * Canonical absolute paths and whole-segment prefix matching.
 *
 * mountgate never "cleans" a path: anything that is not already canonical is
 * rejected, so what the policy judged is exactly what the kubelet will mount.
 */

import { posix } from 'node:path';

export const MAX_PATH_LENGTH = 4096;

export type CanonicalPath =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly problem: string };

// U+0000-U+001F and U+007F.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
// With the u flag a surrogate pair is one code point, so only a lone half matches. Such a string
// is not Unicode text and has no UTF-8 form: the API server stores U+FFFD in its place, so the
// path judged would not be the path mounted.
const LONE_SURROGATE = /\p{Surrogate}/u;
// Windows reads "\" as a separator, so on a Windows node "/srv/sandbox/x\..\..\..\Windows" is
// "C:\Windows", while every check here (and the API server's) sees one segment below /srv/sandbox.
const BACKSLASH = '\\';
const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Checks a path against the rules of docs/reference.md (section 6) and returns it with one
 * trailing "/" trimmed, or the first rule it breaks in plain words.
 */
export function canonicalPath(raw: string): CanonicalPath {
  if (raw.length === 0) return { ok: false, problem: 'is empty' };
  if (raw.length > MAX_PATH_LENGTH) {
    return { ok: false, problem: `is longer than ${MAX_PATH_LENGTH} UTF-16 code units` };
  }
  if (LONE_SURROGATE.test(raw)) return { ok: false, problem: 'is not well-formed Unicode (it has a lone UTF-16 surrogate)' };
  if (CONTROL_CHARACTER.test(raw)) return { ok: false, problem: 'contains a control character' };
  if (raw.includes(BACKSLASH)) return { ok: false, problem: 'contains a backslash, a path separator on Windows nodes' };
  if (!raw.startsWith('/')) return { ok: false, problem: 'is not absolute' };
  if (raw === '/') return { ok: true, path: '/' };

  // One pass over the characters, without splitting: a hostile Pod can carry tens of thousands of paths.
  const end = raw.charCodeAt(raw.length - 1) === SLASH ? raw.length - 1 : raw.length;
  let segmentStart = 1;
  for (let i = 1; i <= end; i++) {
    if (i < end && raw.charCodeAt(i) !== SLASH) continue;
    const length = i - segmentStart;
    if (length === 0) return { ok: false, problem: 'has an empty segment ("//")' };
    if (raw.charCodeAt(segmentStart) === DOT && (length === 1 || (length === 2 && raw.charCodeAt(segmentStart + 1) === DOT))) {
      return { ok: false, problem: `has a "${raw.slice(segmentStart, i)}" segment` };
    }
    segmentStart = i + 1;
  }
  return { ok: true, path: end === raw.length ? raw : raw.slice(0, end) };
}

/**
 * Where the runtime mounts at `mountPath`: "/mnt//x" and "/mnt/a/../x" at "/mnt/x", a relative "mnt/x" at
 * "/mnt/x" (the kubelet's MakeAbsolutePath: Clean("/" + path)). Most are written where they are: absolute,
 * without "//", a "." or ".." segment or a trailing "/", which canonicalPath and posix.resolve both keep.
 */
export function mountPoint(mountPath: string): string {
  const plain =
    mountPath.charCodeAt(0) === SLASH &&
    (mountPath.length === 1 || mountPath.charCodeAt(mountPath.length - 1) !== SLASH) &&
    !mountPath.includes('//') &&
    !mountPath.includes('/.');
  if (plain) return mountPath;
  const canonical = canonicalPath(mountPath);
  return canonical.ok ? canonical.path : posix.resolve('/', mountPath);
}

// Characters JSON leaves as they are but a reader does not see: DEL, the C1 controls, the line and
// paragraph separators and the marks that reorder text as it is shown.
const UNSEEN = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** A path (or any text) as a message quotes what it refused: JSON, with what a reader would not see escaped too. */
export function quoted(text: string): string {
  return JSON.stringify(text).replace(UNSEEN, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What quoted() writes, without the quotes: for the few messages that show a path bare. */
export function escaped(text: string): string {
  return quoted(text).slice(1, -1);
}

/** True when `path` is `prefix` or lies below it by whole segments. Both must be canonical. */
export function isWithin(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 0x2f);
}

/**
 * The longest prefix that covers `path`, or undefined. `entries` must be
 * sorted longest prefix first (see sortLongestFirst), so the first hit decides.
 */
export function decidingEntry<T extends { readonly pathPrefix: string }>(
  entries: readonly T[],
  path: string,
): T | undefined {
  for (const entry of entries) {
    if (isWithin(path, entry.pathPrefix)) return entry;
  }
  return undefined;
}

/**
 * Longest prefix first; on equal prefixes a read-only entry comes first, so
 * when two lists name the same directory the stricter entry decides.
 */
export function sortLongestFirst<T extends { readonly pathPrefix: string; readonly readOnly: boolean }>(
  entries: readonly T[],
): T[] {
  return [...entries].sort(
    (a, b) => b.pathPrefix.length - a.pathPrefix.length || Number(b.readOnly) - Number(a.readOnly),
  );
}
