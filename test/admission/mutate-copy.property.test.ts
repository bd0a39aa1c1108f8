/**
 * /mutate works on a shallow copy of the Pod (reconcile.copyForApply) rather
 * than a deep clone, for speed. These properties pin down that nothing else
 * changed: the request's Pod is never modified, and the verdict equals the one
 * the deep-clone version gives (structuredClone, apply, diff), patch included,
 * operation for operation.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decide } from '../../src/admission/decide.js';
import { mountPointsAtCreation } from '../../src/admission/mount-points.js';
import { compare } from '../../src/admission/json-patch.js';
import { planMounts } from '../../src/admission/plan.js';
import { requestFillings } from '../../src/admission/placeholders.js';
import { isCheckedPod } from '../../src/admission/pod.js';
import { reconcile } from '../../src/admission/reconcile.js';
import { policyOf } from '../helpers/policies.js';
import { requestFor } from '../helpers/pods.js';
import { likelyAdmittedPod, pod } from '../helpers/arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);
const POLICY = policyOf({ maxMounts: 4 });

/** The patch as mutate made it before copyForApply: a deep clone, reconciled, diffed. */
function deepClonePatch(object: unknown): unknown {
  if (!isCheckedPod(object)) return undefined;
  const request = requestFor(object);
  const planned = planMounts(object, POLICY, request, requestFillings(object, POLICY, request));
  if (planned.kind !== 'planned') return undefined;
  const mutated = structuredClone(object);
  if (reconcile(mutated, planned.plan, 'apply').length > 0) return undefined;
  // Refused: a mount point inside a read-only host mount of the Pod as mutated.
  if (mountPointsAtCreation(mutated, POLICY, requestFillings(object, POLICY, request)).length > 0) return undefined;
  return compare(object, mutated);
}

describe('admission/decide: mutate on a shallow copy', function () {
  this.timeout(120_000);

  it('never changes the Pod it was given', () => {
    fc.assert(
      fc.property(fc.oneof(pod, likelyAdmittedPod), (object) => {
        const before = structuredClone(object);
        decide('mutate', requestFor(object), POLICY);
        expect(object).to.deep.equal(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same patch as a deep clone would', () => {
    fc.assert(
      fc.property(fc.oneof(pod, likelyAdmittedPod), (object) => {
        const verdict = decide('mutate', requestFor(object), POLICY);
        const expected = deepClonePatch(object);
        if (verdict.allowed && verdict.patch.length > 0) expect(verdict.patch).to.deep.equal(expected);
        else if (expected !== undefined) expect(expected).to.deep.equal([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('returns a mutated Pod in which no object appears twice', () => {
    fc.assert(
      fc.property(likelyAdmittedPod, (object) => {
        const verdict = decide('mutate', requestFor(object), POLICY);
        if (!verdict.allowed || verdict.mutated === undefined) return;
        const seen = new Set<object>();
        const walk = (value: unknown): void => {
          if (typeof value !== 'object' || value === null) return;
          expect(seen.has(value)).to.equal(false);
          seen.add(value);
          for (const child of Object.values(value)) walk(child);
        };
        walk(verdict.mutated);
      }),
      { numRuns: RUNS },
    );
  });
});
