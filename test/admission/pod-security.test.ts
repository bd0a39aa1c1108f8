import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { enforceLevel, type ClusterFacts } from '../../src/admission/pod-security.js';
import { describeViolation } from '../../src/admission/violation.js';
import { policyOf } from '../helpers/policies.js';
import { requestFor, sandboxPod } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const POLICY = policyOf();
const ASKING = sandboxPod({ mounts: [{ hostPath: '/srv/sandbox/a', mountPath: '/w' }] });

function mutate(pod: unknown, facts: ClusterFacts): string[] | 'allowed' {
  const verdict = decide('mutate', requestFor(pod), POLICY, facts);
  return verdict.allowed ? 'allowed' : verdict.violations.map(describeViolation);
}

describe('admission/pod-security preflight', () => {
  const rows: Array<[string, ClusterFacts, string[] | 'allowed']> = [
    ['an unknown level (cache not synced, or no label)', {}, 'allowed'],
    ['privileged', { namespacePodSecurity: 'privileged' }, 'allowed'],
    ['baseline', { namespacePodSecurity: 'baseline' }, [
      'request.namespace: namespace "agents" enforces Pod Security level "baseline", which forbids hostPath volumes; label it pod-security.kubernetes.io/enforce=privileged (kubectl label namespace agents pod-security.kubernetes.io/enforce=privileged --overwrite) or exempt it to use host mounts',
    ]],
    ['restricted', { namespacePodSecurity: 'restricted' }, [
      'request.namespace: namespace "agents" enforces Pod Security level "restricted", which forbids hostPath volumes; label it pod-security.kubernetes.io/enforce=privileged (kubectl label namespace agents pod-security.kubernetes.io/enforce=privileged --overwrite) or exempt it to use host mounts',
    ]],
  ];
  for (const [name, facts, expected] of rows) {
    it(`${expected === 'allowed' ? 'allows' : 'denies'} an injection in a namespace whose level is ${name}`, () => {
      expect(mutate(ASKING, facts)).to.deep.equal(expected);
    });
  }

  it('does not judge a Pod that asks for nothing', () => {
    expect(mutate(sandboxPod(), { namespacePodSecurity: 'restricted' })).to.equal('allowed');
    expect(mutate(sandboxPod({ mounts: [] }), { namespacePodSecurity: 'restricted' })).to.equal('allowed');
  });

  it('is not part of /validate', () => {
    // The Pod as /mutate makes it where the level is unknown: annotation and injected hostPath volume together.
    const { verdict, pod: mutated } = mutateTwice(ASKING, POLICY);
    expect(verdict.allowed).to.equal(true);
    expect(mutate(ASKING, { namespacePodSecurity: 'baseline' })).to.not.equal('allowed');
    for (const level of ['baseline', 'restricted'] as const) {
      const validated = decide('validate', requestFor(mutated), POLICY, { namespacePodSecurity: level });
      expect(validated.allowed ? 'allowed' : validated.violations.map(describeViolation), level).to.equal('allowed');
    }
    const verdictOfPlain = decide('validate', requestFor(sandboxPod()), POLICY, { namespacePodSecurity: 'baseline' });
    expect(verdictOfPlain.allowed).to.equal(true);
  });

  describe('enforceLevel', () => {
    const labels: Array<[string, Record<string, string> | undefined, string | undefined]> = [
      ['no labels', undefined, undefined],
      ['no enforce label', { 'pod-security.kubernetes.io/warn': 'restricted' }, undefined],
      ['baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' }, 'baseline'],
      ['restricted', { 'pod-security.kubernetes.io/enforce': 'restricted' }, 'restricted'],
      ['privileged', { 'pod-security.kubernetes.io/enforce': 'privileged' }, 'privileged'],
      ['a value PSA does not know', { 'pod-security.kubernetes.io/enforce': 'Baseline' }, undefined],
    ];
    for (const [name, value, expected] of labels) {
      it(`reads ${name}`, () => expect(enforceLevel(value)).to.equal(expected));
    }
  });
});
