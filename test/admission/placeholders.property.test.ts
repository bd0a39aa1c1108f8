/**
 * Placeholders can only narrow: whatever a policy with placeholders admits,
 * the same policy with every placeholder replaced by "*" admits too; and a
 * placeholder that cannot be filled (a value outside the pattern, a missing
 * one, {sandboxUser} from an untrusted requester) admits nothing: the policy
 * answers as if the entries that need it were not there.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decide } from '../../src/admission/decide.js';
import { parsePolicy } from '../../src/policy/load.js';
import {
  asked,
  admitsUnder,
  askedOf,
  type Admission,
  podOf,
  requestOf,
  type Asked,
  hostPath,
  hostPathWith,
  INVALID_VALUES,
  VALUES,
  PLACEHOLDER_SEGMENTS,
  policySpec,
  annotatedOnlyIfTrusted,
  validFacts,
  widened,
  type EntrySpec,
  type Facts,
  type PolicySpec,
} from '../helpers/pattern-arbitraries.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);

function admits(spec: PolicySpec, ask: Asked, facts: Facts): Admission {
  return admitsUnder(parsePolicy(JSON.stringify(spec), 'p.json'), ask, facts);
}

/** /mutate alone: whether it admits, and its patch. */
function mutates(spec: PolicySpec, ask: Asked, facts: Facts): Admission {
  const verdict = decide('mutate', requestOf(podOf(ask, facts), facts), parsePolicy(JSON.stringify(spec), 'p.json'));
  return { allowed: verdict.allowed, patch: verdict.allowed ? verdict.patch : [] };
}

function without(spec: PolicySpec, unfilled: readonly string[]): PolicySpec {
  const keep = (entry: EntrySpec): boolean => !entry.pathPrefix.split('/').some((s) => unfilled.includes(s));
  return { ...spec, allowedHostPaths: spec.allowedHostPaths.filter(keep), builtinHostPaths: spec.builtinHostPaths.filter(keep) };
}

describe('admission: placeholders only narrow', function () {
  this.timeout(120_000);

  it('a read-only Pod the policy admits is admitted, with the same patch, when every placeholder is "*"', () => {
    let admitted = 0;
    fc.assert(
      fc.property(policySpec, asked, validFacts, (spec, ask, anyFacts) => {
        const facts = annotatedOnlyIfTrusted(spec, anyFacts);
        const readOnly = { ...ask, readOnly: true };
        const narrow = admits(spec, readOnly, facts);
        if (!narrow.allowed) return;
        admitted++;
        expect(admits(widened(spec), readOnly, facts)).to.deep.equal(narrow);
      }),
      { numRuns: RUNS },
    );
    // The property says nothing unless a good share of cases is admitted (here about 24%, 6%, 12% and 15%
    // for the four properties; each asks for about a third of that).
    expect(admitted).to.be.above(RUNS / 12);
  });

  it('a path the policy admits read-write is admitted by the "*" policy (read-only at least)', () => {
    let admitted = 0;
    fc.assert(
      fc.property(policySpec, asked, validFacts, (spec, ask, anyFacts) => {
        const facts = annotatedOnlyIfTrusted(spec, anyFacts);
        if (!admits(spec, { ...ask, readOnly: false }, facts).allowed) return;
        admitted++;
        expect(admits(widened(spec), { ...ask, readOnly: true }, facts).allowed).to.equal(true);
      }),
      // Read-write admits are rare (about 5.8%): over RUNS cases, 17 expected, 5 or fewer about one CI run in 2,500.
      { numRuns: 5 * RUNS },
    );
    expect(admitted).to.be.above((5 * RUNS) / 60);
  });

  it('a placeholder value outside the pattern admits nothing: the answer is that of the policy without the entries that need it', () => {
    // One invalid value per case, which the paths asked for may contain as a segment (where a path can hold it at all).
    const cases = fc.constantFrom(...INVALID_VALUES).chain((value) =>
      fc.record({
        ask: askedOf(hostPathWith([...VALUES, value])),
        unfilled: fc.constantFrom(...PLACEHOLDER_SEGMENTS),
        facts: validFacts.map((facts) => ({ ...facts, groups: ['provisioners'] })),
      }).map(({ ask, unfilled, facts }) => ({
        ask,
        unfilled: [unfilled],
        facts: {
          ...facts,
          ...(unfilled === '{namespace}' ? { namespace: value } : unfilled === '{user}' ? { username: value } : { sandboxUser: value }),
        },
      })),
    );
    let admitted = 0;
    fc.assert(
      fc.property(policySpec, cases, (spec, { ask, facts, unfilled }) => {
        const answer = admits({ ...spec, trustedProvisioners: ['group:provisioners'] }, ask, facts);
        if (answer.allowed) admitted++;
        expect(answer).to.deep.equal(admits({ ...without(spec, unfilled), trustedProvisioners: ['group:provisioners'] }, ask, facts));
      }),
      { numRuns: RUNS },
    );
    expect(admitted).to.be.above(RUNS / 40);
  });

  it('{sandboxUser} from a requester not in trustedProvisioners admits nothing, and the annotation from one is refused', () => {
    const untrusted = fc.record({
      namespace: fc.constantFrom('team-a', 'a'),
      username: fc.constantFrom('bob', 'u3', 'a'),
      groups: fc.subarray(['others', 'provisioner']),
      sandboxUser: fc.constantFrom('u3', 'a', 'team-a', 'bob'),
    });
    let admitted = 0;
    fc.assert(
      fc.property(policySpec, asked, untrusted, (spec, ask, facts) => {
        const trusting = { ...spec, trustedProvisioners: ['alice', 'group:provisioners'] };
        // /mutate judges the annotation's requests alone: what it admits does not depend on the entries {sandboxUser} fills.
        expect(mutates(trusting, ask, facts)).to.deep.equal(mutates(without(trusting, ['{sandboxUser}']), ask, facts));
        // Every Pod here carries a hostPath volume once mutated, so /validate refuses the annotation itself.
        expect(admits(trusting, ask, facts).allowed, 'with the annotation').to.equal(false);
        const bare = { ...facts, sandboxUser: undefined };
        const answer = admits(trusting, ask, bare);
        if (answer.allowed) admitted++;
        expect(answer).to.deep.equal(admits(without(trusting, ['{sandboxUser}']), ask, bare));
      }),
      // Few cases tell a trust check left open from a closed one (about 1 in 200): five times the runs.
      { numRuns: 5 * RUNS },
    );
    expect(admitted).to.be.above(RUNS / 40);
  });

  it('the generators reach every placeholder', () => {
    const seen = new Set<string>();
    fc.sample(policySpec, 200).forEach((spec) => spec.allowedHostPaths.forEach((e) => e.pathPrefix.split('/').forEach((s) => seen.add(s))));
    expect(PLACEHOLDER_SEGMENTS.every((p) => seen.has(p))).to.equal(true);
  });
});
