/**
 * PathIndex grows its table of path lengths as longer paths arrive (it used to
 * be sized for the longest possible path up front). Paths added short to long,
 * long to short, and past MAX_PATH_LENGTH must be found exactly as a scan with
 * isWithin finds them.
 */
import { expect } from 'chai';
import { PathIndex, SCANNED_PATHS } from '../../src/policy/path-index.js';
import { isWithin, MAX_PATH_LENGTH } from '../../src/policy/paths.js';

function nested(depth: number, segment: string): string {
  return Array.from({ length: depth }, () => `/${segment}`).join('');
}

/** Paths that cover none of the queries, added first so that the index hashes what follows (it scans a few). */
const FILLER = Array.from({ length: SCANNED_PATHS }, (_, i) => `/filler-${i}`);

function firstCovering(paths: readonly string[], query: string): string | undefined {
  return paths.find((path) => isWithin(query, path));
}

describe('policy/path-index: lengths of any size', () => {
  for (const order of ['short first', 'long first'] as const) {
    it(`finds covering paths of every length (${order})`, () => {
      const lengths = [1, 2, 10, 40, 63, 64, 65, 200, 1000, 2000, MAX_PATH_LENGTH / 4 - 1];
      const paths = lengths.map((depth) => nested(depth, 'abc')).filter((path) => path.length <= MAX_PATH_LENGTH);
      const added = [...FILLER, ...(order === 'short first' ? paths : [...paths].reverse())];
      const index = new PathIndex<number>();
      added.forEach((path, i) => index.add(path, i));
      for (const depth of [1, 3, 64, 65, 300, 1000, MAX_PATH_LENGTH / 4 - 1]) {
        const query = nested(depth, 'abc');
        expect(index.covering(query)?.path, query.slice(0, 40)).to.equal(firstCovering(added, query));
      }
    });
  }

  it('ignores paths longer than any canonical path, and still answers for shorter ones', () => {
    const index = new PathIndex<string>();
    for (const filler of FILLER) index.add(filler, filler);
    index.add(`/${'x'.repeat(MAX_PATH_LENGTH + 10)}`, 'too long');
    index.add('/srv', 'srv');
    expect(index.covering('/srv/a')?.value).to.equal('srv');
    expect(index.covering(`/${'x'.repeat(MAX_PATH_LENGTH - 1)}`)).to.equal(undefined);
  });
});
