/**
 * PathIndex must answer exactly what a scan with isWithin answers (the first
 * covering path in insertion order; for closest(), the longest), for canonical and non-canonical paths,
 * "/" and "" included, so that replacing the scan changed no verdict.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { PathIndex, SCANNED_PATHS } from '../../src/policy/path-index.js';
import { isWithin } from '../../src/policy/paths.js';
import { hostilePath } from '../helpers/arbitraries.js';
import { edgePath } from './arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_FUZZ_RUNS ?? 2000);
const written = fc.oneof(edgePath, hostilePath, fc.constantFrom('/', '', '//', '/data', '/data/', '/data/x', 'data', '/d\u2215x'));
/** What the index is asked about: canonical paths, as plan.ts asks. */
const asked = fc.oneof(edgePath, hostilePath, fc.constantFrom('/data', '/data/x', '/data/x/y', '/datax', '/d\u2215x/y')).filter((path) => path.startsWith('/') && path !== '/' && !path.slice(1).split('/').some((s) => s === '' || s === '.' || s === '..'));

describe(`fuzz: PathIndex answers as a scan with isWithin (${RUNS} cases)`, () => {
  const rows: Array<[string, string[], string, string | undefined]> = [
    ['nothing added', [], '/a', undefined],
    ['the path itself', ['/a/b'], '/a/b', '/a/b'],
    ['a parent', ['/a'], '/a/b', '/a'],
    ['a sibling sharing text', ['/a'], '/ab', undefined],
    ['the root covers everything', ['/'], '/a', '/'],
    ['the empty path covers every absolute path (as isWithin says)', [''], '/a', ''],
    ['the first added of two covering paths', ['/a/b', '/a'], '/a/b/c', '/a/b'],
    ['a child does not cover its parent', ['/a/b'], '/a', undefined],
  ];
  for (const [name, added, path, expected] of rows) {
    it(name, () => {
      const index = new PathIndex<string>();
      for (const entry of added) index.add(entry, entry);
      expect(index.covering(path)?.value).to.equal(expected);
    });
  }

  // Up to SCANNED_PATHS paths the index scans them; more are hashed: both ways are held to the scan.
  const sizes = [
    ['a few', 0, 12],
    ['more than it scans', SCANNED_PATHS + 1, 3 * SCANNED_PATHS],
  ] as const;
  for (const [name, fewest, most] of sizes) {
    it(`agrees with the scan on random paths (${name})`, () => {
      fc.assert(
        fc.property(fc.array(written, { minLength: fewest, maxLength: most }), fc.array(asked, { minLength: 1, maxLength: 6 }), (added, queries) => {
          const index = new PathIndex<number>();
          added.forEach((path, order) => index.add(path, order));
          for (const query of queries) {
            const scanned = added.findIndex((path) => isWithin(query, path));
            const found = index.covering(query);
            expect(found?.value, `${JSON.stringify(query)} in ${JSON.stringify(added)}`).to.equal(scanned === -1 ? undefined : scanned);
            if (found !== undefined) expect(found.path).to.equal(added[scanned]);
            // closest(): the longest covering path, of equal ones the first added.
            const longest = added.reduce((best, path, order) => (isWithin(query, path) && (best === -1 || path.length > (added[best] ?? '').length) ? order : best), -1);
            const closest = index.closest(query);
            expect(closest?.path, `closest: ${JSON.stringify(query)} in ${JSON.stringify(added)}`).to.equal(longest === -1 ? undefined : added[longest]);
            if (closest !== undefined) expect(added[closest.value]).to.equal(closest.path);
          }
        }),
        { numRuns: RUNS },
      );
    });
  }
});
