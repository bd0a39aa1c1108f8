/**
 * MountPolicies can only narrow: over generated cluster policies (with `*`
 * and placeholders), MountPolicies, namespaces, users and Pods, whatever the
 * layered policy admits the cluster policy alone admits, with the same host
 * paths. A MountPolicy that repeats the cluster's entries changes nothing; an
 * unknown namespace admits no host path.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { Operation } from '../../src/admission/json-patch.js';
import { parsePolicy } from '../../src/policy/load.js';
import { layeredPolicy, type NamespaceLayers } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { admitsUnder, annotatedOnlyIfTrusted, asked, entrySpec, policySpec, validFacts, type Asked, type Facts, type PolicySpec } from '../helpers/pattern-arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);

/** MountPolicies of a namespace under a cluster policy: often its own entries, some deeper, some random. */
function mountPolicySpecsFor(cluster: PolicySpec): fc.Arbitrary<unknown[]> {
  const near = fc.constantFrom(...cluster.allowedHostPaths, ...cluster.builtinHostPaths).chain((entry) =>
    fc.record({
      pathPrefix: fc.oneof(
        { weight: 4, arbitrary: fc.constant(entry.pathPrefix) },
        { weight: 1, arbitrary: fc.constantFrom('a', 'u3', '*', '{user}').map((s) => `${entry.pathPrefix}/${s}`) },
      ),
      readOnly: fc.boolean(),
    }),
  );
  const spec = fc.record(
    {
      allowedHostPaths: fc.array(fc.oneof({ weight: 4, arbitrary: near }, { weight: 1, arbitrary: entrySpec }), { maxLength: 5 }),
      // The targets podOf mounts at, so reserving them bites.
      reservedMountPaths: fc.subarray(['/m0', '/v0', '/elsewhere'], { maxLength: 1 }),
      maxMounts: fc.integer({ min: 1, max: 4 }),
    },
    { requiredKeys: [] },
  );
  return fc.array(spec, { minLength: 1, maxLength: 2 });
}

const clusterSpec = policySpec.map((spec) => ({ ...spec, maxMounts: 3 }));
const withMountPolicies = clusterSpec.chain((spec) => fc.tuple(fc.constant(spec), mountPolicySpecsFor(spec)));

function layersFor(namespace: string, specs: readonly unknown[]): NamespaceLayers {
  return {
    known: true,
    policies: specs.map((spec, i) => compileMountPolicy({ metadata: { namespace, name: `p${i}`, generation: 1 }, spec })),
  };
}

/** The host paths a patch adds, read-only or not aside. */
function hostPathsOf(patch: readonly Operation[]): string[] {
  return patch
    .filter((op) => op.op === 'add' && op.path.startsWith('/spec/volumes'))
    .flatMap((op) => {
      const value = 'value' in op ? op.value : undefined;
      const volumes = (Array.isArray(value) ? value : [value]) as Array<{ hostPath?: { path?: string } }>;
      return volumes.map((volume) => volume.hostPath?.path ?? '');
    })
    .sort();
}

function judge(spec: PolicySpec & { maxMounts: number }, layers: NamespaceLayers | undefined, ask: Asked, facts: Facts) {
  const cluster = parsePolicy(JSON.stringify(spec), 'cluster.json');
  return admitsUnder(layers === undefined ? cluster : layeredPolicy(cluster, layers), ask, facts);
}

describe('admission: MountPolicies only narrow', function () {
  this.timeout(120_000);

  it('whatever the layered policy admits, the cluster policy alone admits, with the same host paths', () => {
    let admitted = 0;
    let narrowed = 0;
    fc.assert(
      fc.property(withMountPolicies, asked, validFacts, ([spec, specs], ask, anyFacts) => {
        const facts = annotatedOnlyIfTrusted(spec, anyFacts);
        const layered = judge(spec, layersFor(facts.namespace, specs), ask, facts);
        const alone = judge(spec, undefined, ask, facts);
        if (alone.allowed && !layered.allowed) narrowed++;
        if (!layered.allowed) return;
        admitted++;
        expect(alone.allowed, 'the cluster policy alone must admit').to.equal(true);
        expect(hostPathsOf(layered.patch)).to.deep.equal(hostPathsOf(alone.patch));
      }),
      // Every layer must cover every path a Pod asks for, so admitted cases are rare (about 3%): five times the runs,
      // so that the count checked below (about 45 expected) falls under its bound only by chance of 4 or more deviations.
      { numRuns: 5 * RUNS },
    );
    // Says nothing unless both kinds of case come up often enough.
    expect(admitted).to.be.above(RUNS / 20);
    expect(narrowed).to.be.above(RUNS / 10);
  });

  it('a MountPolicy listing the cluster\'s own entries, and nothing else, changes no answer', () => {
    fc.assert(
      fc.property(clusterSpec.map((spec) => ({ ...spec, builtinHostPaths: [] })), asked, validFacts, (spec, ask, anyFacts) => {
        const facts = annotatedOnlyIfTrusted(spec, anyFacts);
        const same = layersFor(facts.namespace, [{ allowedHostPaths: spec.allowedHostPaths, maxMounts: spec.maxMounts }]);
        expect(judge(spec, same, ask, facts)).to.deep.equal(judge(spec, undefined, ask, facts));
      }),
      { numRuns: RUNS },
    );
  });

  it('while a namespace\'s MountPolicies are unknown, no Pod with a host path is admitted', () => {
    const unknown = (namespace: string): NamespaceLayers => ({ known: false, namespace, why: 'not synced' });
    fc.assert(
      fc.property(clusterSpec, asked, validFacts, (spec, ask, anyFacts) => {
        const facts = annotatedOnlyIfTrusted(spec, anyFacts);
        expect(judge(spec, unknown(facts.namespace), ask, facts).allowed).to.equal(false);
        const noHostPaths = { ...ask, requests: [], volumes: [] };
        expect(judge(spec, unknown(facts.namespace), noHostPaths, facts)).to.deep.equal(judge(spec, undefined, noHostPaths, facts));
      }),
      { numRuns: RUNS },
    );
  });
});
