/**
 * The mount-point rule asks each container first, from its spec alone, whether anything lies below one of
 * its hostPath mounts, and reads most mount paths as written. Both shortcuts must answer exactly what the
 * plain definitions answer, or a nested mount point could slip past the rule: mountPoint() as canonicalPath,
 * else posix.resolve; belowAny() as "the parent is within one of them" (isWithin), for few and many outers.
 */
import { posix } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { belowAny, parentOf } from '../../src/admission/mount-points.js';
import { SCANNED_PATHS } from '../../src/policy/path-index.js';
import { canonicalPath, isWithin, mountPoint } from '../../src/policy/paths.js';
import { hostilePath } from '../helpers/arbitraries.js';
import { edgePath } from './arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_FUZZ_RUNS ?? 2000);
const written = fc.oneof(
  edgePath,
  hostilePath,
  fc.stringMatching(/^[/.a\\\u0001]{0,8}$/),
  fc.constantFrom('/', '', '//', '/.', '/..', '/a/', '/a/.', '/a/..', '/a//b', 'a', './a', '/.a', '/a.', '/a\\..', '/a\u0000/b', '/\ud800'),
);

function mountPointByDefinition(mountPath: string): string {
  const canonical = canonicalPath(mountPath);
  return canonical.ok ? canonical.path : posix.resolve('/', mountPath);
}

function belowByDefinition(outers: readonly string[], path: string): boolean {
  const parent = parentOf(path);
  return parent !== undefined && outers.some((outer) => isWithin(parent, outer));
}

describe(`fuzz: the mount-point rule's shortcuts answer as the definitions (${RUNS} cases)`, () => {
  it('mountPoint reads a path as canonicalPath, else posix.resolve, does', () => {
    fc.assert(
      fc.property(written, (mountPath) => {
        expect(mountPoint(mountPath)).to.equal(mountPointByDefinition(mountPath));
      }),
      { numRuns: RUNS },
    );
  });

  for (const [name, maxLength] of [
    ['a few outer mounts, compared one by one', SCANNED_PATHS],
    ['more outer mounts than are compared one by one, indexed', SCANNED_PATHS * 3],
  ] as const) {
    it(`belowAny: ${name}`, () => {
      const outers = fc.array(written.map(mountPoint), { minLength: name.startsWith('more') ? SCANNED_PATHS + 1 : 1, maxLength });
      fc.assert(
        fc.property(outers, fc.array(written.map(mountPoint), { maxLength: 8 }), (outerPaths, asked) => {
          const below = belowAny(outerPaths);
          // Ask about the outers themselves and their children too, so that hits are common.
          for (const path of [...asked, ...outerPaths, ...outerPaths.map((outer) => `${outer === '/' ? '' : outer}/x`)]) {
            expect(below(path), `${JSON.stringify(path)} below ${JSON.stringify(outerPaths)}`).to.equal(belowByDefinition(outerPaths, path));
          }
        }),
        { numRuns: RUNS / 4 },
      );
    });
  }
});
