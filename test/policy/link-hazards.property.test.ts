/**
 * linkHazards held to a brute force: on small random policies, every directory
 * and path over a small alphabet, in every view over a small set of names, is
 * tried with the functions that admit Pods, with or without a MountPolicy for
 * one namespace. The search must find a hazard exactly where the brute force
 * does.
 * MOUNTGATE_PROPERTY_RUNS raises the number of cases.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { writableRoot } from '../../src/admission/volume-root.js';
import { handWrittenAllowance, hostPathAllowance, type Allowance } from '../../src/policy/allowance.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { linkHazards } from '../../src/policy/link-hazards.js';
import { parsePolicy } from '../../src/policy/load.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import type { Fillings } from '../../src/policy/match.js';
import { mountPolicy as mountPolicyOf } from '../helpers/policies.js';
import { allPaths, allViews, ENTRY, mayRequest, REQUESTERS, RUNS } from './small-world.js';

const POLICY = fc.record({
  allowedHostPaths: fc.array(ENTRY, { minLength: 1, maxLength: 4 }),
  builtinHostPaths: fc.array(ENTRY, { maxLength: 2 }),
  trusted: fc.boolean(),
  requesters: REQUESTERS,
  handWrittenBuiltin: fc.boolean(),
  // A MountPolicy of namespace "a", when there is one: its entries need not lie inside the cluster's (a stored one may not).
  mountPolicy: fc.option(fc.array(ENTRY, { maxLength: 3 }), { nil: undefined }),
});
const NARROWED = 'a';

const DIRECTORIES = allPaths(3);
const PATHS = allPaths(4);

/** What the view may request, or carry in a volume written by hand (under a built-in entry only, with handWrittenHostPaths: builtin). */
function allowance(policy: CompiledPolicy, use: 'requestable' | 'carriable', path: string, view: Fillings): Allowance {
  if (use === 'requestable') return mayRequest(policy.spec.requesters, view) ? hostPathAllowance(policy, use, path, view) : { allowed: false, of: '', note: '' };
  return policy.handWritten === undefined ? hostPathAllowance(policy, use, path, view) : handWrittenAllowance(policy, policy.handWritten, path, view);
}

function writable(policy: CompiledPolicy, path: string, view: Fillings): boolean {
  return (['requestable', 'carriable'] as const).some((use) => {
    const granted = allowance(policy, use, path, view);
    return granted.allowed && granted.readOnly === undefined;
  });
}

/**
 * Some view may request a path whose root lies below a directory another view may write (or carry) read-write.
 * Views of the narrowed namespace are judged with its MountPolicy; the others with the cluster policy alone.
 */
function bruteForceHazard(cluster: CompiledPolicy, views: readonly Fillings[], layered: CompiledPolicy | undefined): string | undefined {
  const policyOf = (view: Fillings): CompiledPolicy =>
    layered !== undefined && view.namespace.ok && view.namespace.value === NARROWED ? layered : cluster;
  const writtenBySome = new Set(DIRECTORIES.filter((path) => views.some((view) => writable(policyOf(view), path, view))));
  for (const view of views) {
    const policy = policyOf(view);
    for (const path of PATHS) {
      if (!allowance(policy, 'requestable', path, view).allowed) continue;
      const root = writableRoot(path, policy, view);
      const above = root.split('/').slice(1, -1);
      for (let i = 1; i <= above.length; i++) {
        const directory = `/${above.slice(0, i).join('/')}`;
        if (writtenBySome.has(directory)) return `${directory} above the root ${root} of ${path}`;
      }
    }
  }
  return undefined;
}

describe('policy: link hazards, held to a brute force (property)', function () {
  this.timeout(600_000);

  it('finds a hazard exactly where trying every directory, path and view finds one', () => {
    let withHazards = 0;
    fc.assert(
      fc.property(POLICY, ({ allowedHostPaths, builtinHostPaths, trusted, requesters, handWrittenBuiltin, mountPolicy: narrowing }) => {
        const spec = {
          allowedHostPaths,
          builtinHostPaths,
          requesters,
          ...(trusted ? { trustedProvisioners: ['group:p'] } : {}),
          ...(handWrittenBuiltin ? { handWrittenHostPaths: 'builtin' } : {}),
        };
        const policy = parsePolicy(JSON.stringify(spec), 'policy.json');
        const layered =
          narrowing === undefined
            ? undefined
            : layeredPolicy(policy, { known: true, policies: [compileMountPolicy(mountPolicyOf({ allowedHostPaths: narrowing }, 'narrowing', NARROWED))] });
        const expected = bruteForceHazard(policy, allViews(trusted), layered);
        const found = linkHazards(policy, layered === undefined ? undefined : { namespace: NARROWED, policy: layered });
        expect(found.complete).to.equal(true);
        expect(found.hazards.length > 0, `brute force: ${expected ?? 'none'}; search: ${JSON.stringify(found.hazards)}`).to.equal(expected !== undefined);
        if (expected !== undefined) withHazards++;
      }),
      { numRuns: RUNS },
    );
    // The generator must make both kinds of policy, or the property says little.
    expect(withHazards).to.be.within(RUNS / 20, RUNS - RUNS / 20);
  });
});
