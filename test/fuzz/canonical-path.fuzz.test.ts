/**
 * canonicalPath walks the characters instead of splitting (hostile Pods carry
 * tens of thousands of paths). This differential test holds it to the
 * split-based reading it replaced, verdicts and messages alike.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { canonicalPath, MAX_PATH_LENGTH, type CanonicalPath } from '../../src/policy/paths.js';
import { hostilePath } from '../helpers/arbitraries.js';
import { edgePath } from './arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_FUZZ_RUNS ?? 2000);

/** The split-based implementation, as it was. */
function bySplitting(raw: string): CanonicalPath {
  if (raw.length === 0) return { ok: false, problem: 'is empty' };
  if (raw.length > MAX_PATH_LENGTH) return { ok: false, problem: `is longer than ${MAX_PATH_LENGTH} UTF-16 code units` };
  // Added since: a lone surrogate is refused. It is what does not survive a UTF-8 round trip (it comes back as U+FFFD).
  if (Buffer.from(raw, 'utf8').toString('utf8') !== raw) return { ok: false, problem: 'is not well-formed Unicode (it has a lone UTF-16 surrogate)' };
  if (/[\u0000-\u001f\u007f]/.test(raw)) return { ok: false, problem: 'contains a control character' };
  // Added since: a backslash is refused (Windows nodes read it as a separator).
  if (raw.includes('\\')) return { ok: false, problem: 'contains a backslash, a path separator on Windows nodes' };
  if (!raw.startsWith('/')) return { ok: false, problem: 'is not absolute' };
  if (raw === '/') return { ok: true, path: '/' };
  const path = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '') return { ok: false, problem: 'has an empty segment ("//")' };
    if (segment === '.' || segment === '..') return { ok: false, problem: `has a "${segment}" segment` };
  }
  return { ok: true, path };
}

const pieces = fc.constantFrom('/', '//', '.', '..', '...', 'a', '.a', 'a.', '\u2215', '\uff0e', '\u0000', '\u007f', '%2e', '\ud83d', '\ude00', '\ud83d\ude00', '\\');
const assembled = fc.array(pieces, { maxLength: 8 }).map((parts) => parts.join(''));

describe(`fuzz: canonicalPath reads paths as the split-based version did (${RUNS} cases)`, () => {
  const edges = ['', '/', '//', '///', '/.', '/..', '/...', '/./', '/../', '/a/', '/a//', '/a/./b', '/a/../b', '.', 'a/', '/' + 'a'.repeat(MAX_PATH_LENGTH - 1), '/' + 'a'.repeat(MAX_PATH_LENGTH), `/${'a'.repeat(MAX_PATH_LENGTH - 2)}/`];
  for (const edge of edges) {
    it(`agrees on ${JSON.stringify(edge.length > 20 ? `${edge.slice(0, 8)}... (${edge.length} characters)` : edge)}`, () => {
      expect(canonicalPath(edge)).to.deep.equal(bySplitting(edge));
    });
  }

  it('agrees on random paths', () => {
    fc.assert(
      fc.property(fc.oneof(assembled, edgePath, hostilePath, fc.string()), (raw) => {
        expect(canonicalPath(raw)).to.deep.equal(bySplitting(raw));
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
