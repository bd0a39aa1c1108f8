/**
 * The entries the volumeRoot: requested line names, held to a brute force: on
 * small random policies (built-ins, requesters, trusted provisioners), an entry
 * is named exactly when some view that may request mounts some path below it
 * read-write, by the functions that admit Pods.
 * MOUNTGATE_PROPERTY_RUNS raises the number of cases.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { hostPathAllowance } from '../../src/policy/allowance.js';
import { requestableReadWrite } from '../../src/policy/link-hazards.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Fillings } from '../../src/policy/match.js';
import { parsePattern } from '../../src/policy/patterns.js';
import { allPaths, allViews, ENTRY, mayRequest, REQUESTERS, RUNS } from './small-world.js';

const POLICY = fc.record({
  allowedHostPaths: fc.array(ENTRY, { minLength: 1, maxLength: 4 }),
  builtinHostPaths: fc.array(ENTRY, { maxLength: 2 }),
  trusted: fc.boolean(),
  requesters: REQUESTERS,
});
const PATHS = allPaths(4);

/** Whether `path` lies strictly below the entry's prefix, its placeholders filled from the view. */
function below(pathPrefix: string, path: string, view: Fillings): boolean {
  const segments = parsePattern(pathPrefix);
  const names = path.split('/').slice(1);
  if (names.length <= segments.length) return false;
  return segments.every((segment, at) => {
    if (segment.kind === 'literal') return segment.text === names[at];
    if (segment.kind === 'any') return true;
    const filling = view[segment.name];
    return filling.ok && filling.value === names[at];
  });
}

describe('policy: the volumeRoot: requested line, held to a brute force (property)', function () {
  this.timeout(600_000);

  it('names exactly the entries below which some request may mount a path read-write', () => {
    let named = 0;
    fc.assert(
      fc.property(POLICY, ({ allowedHostPaths, builtinHostPaths, trusted, requesters }) => {
        const policy = parsePolicy(
          JSON.stringify({ allowedHostPaths, builtinHostPaths, requesters, ...(trusted ? { trustedProvisioners: ['group:p'] } : {}) }),
          'policy.json',
        );
        const views = allViews(trusted).filter((view) => mayRequest(requesters, view));
        const expected = allowedHostPaths.flatMap((entry, index) => {
          if (entry.readOnly) return [];
          const writable = views.some((view) =>
            PATHS.some((path) => {
              if (!below(entry.pathPrefix, path, view)) return false;
              const granted = hostPathAllowance(policy, 'requestable', path, view);
              return granted.allowed && granted.readOnly === undefined;
            }),
          );
          return writable ? [`allowedHostPaths[${index}] "${entry.pathPrefix}"`] : [];
        });
        expect(requestableReadWrite(policy)).to.deep.equal(expected);
        if (expected.length > 0) named++;
      }),
      { numRuns: RUNS },
    );
    // The generator must make both kinds of policy, or the property says little.
    expect(named).to.be.within(RUNS / 20, RUNS - RUNS / 20);
  });
});
