/** layeredPolicy: a namespace's MountPolicies can only take away from the cluster policy, in the order of their names. */
import { expect } from 'chai';
import { layeredPolicy } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { policyOf } from '../helpers/policies.js';

const CLUSTER = policyOf(); // maxMounts 3, reservedMountPaths /mnt/skills and /mnt/user-data
const layer = (name: string, spec: Record<string, unknown>) => compileMountPolicy({ metadata: { namespace: 'team-a', name }, spec });

describe('policy: layeredPolicy', () => {
  it('takes the smallest maxMounts, naming its MountPolicy; a larger one raises nothing', () => {
    const larger = layeredPolicy(CLUSTER, { known: true, policies: [layer('wide', { maxMounts: 10 })] });
    expect([larger.maxMounts, larger.maxMountsLayer]).to.deep.equal([3, undefined]);
    const smaller = layeredPolicy(CLUSTER, { known: true, policies: [layer('b', { maxMounts: 2 }), layer('a', { maxMounts: 1 }), layer('c', { maxMounts: 10 })] });
    expect([smaller.maxMounts, smaller.maxMountsLayer]).to.deep.equal([1, 'MountPolicy team-a/a']);
  });

  it('adds reserved mount paths, each owned by the first layer that reserves it (the cluster before any MountPolicy)', () => {
    const layered = layeredPolicy(CLUSTER, { known: true, policies: [layer('b', { reservedMountPaths: ['/mnt/skills', '/mnt/b', '/mnt/ab'] }), layer('a', { reservedMountPaths: ['/mnt/ab'] })] });
    expect(layered.forbiddenTargets.slice(CLUSTER.forbiddenTargets.length)).to.deep.equal(['/mnt/ab', '/mnt/b']);
    expect(layered.forbiddenTargets.filter((target) => target === '/mnt/skills')).to.have.length(1);
    expect([...layered.reservedBy]).to.deep.equal([
      ['/mnt/ab', 'MountPolicy team-a/a'],
      ['/mnt/b', 'MountPolicy team-a/b'],
    ]);
  });

  it('narrows by every MountPolicy in the order of their names, whatever order they come in', () => {
    const names = (policies: ReturnType<typeof layer>[]) => layeredPolicy(CLUSTER, { known: true, policies }).narrowing.map((n) => n.name);
    const [b, a, c] = [layer('b', { allowedHostPaths: [] }), layer('a', { allowedHostPaths: [] }), layer('c', { allowedHostPaths: [] })];
    expect(names([b, a, c])).to.deep.equal(names([c, b, a]));
    expect(names([b, a, c])).to.have.length(3);
    expect(names([b, a, c]).map((name) => /team-a\/(\w)/.exec(name)?.[1])).to.deep.equal(['a', 'b', 'c']);
  });

  it('is the cluster policy itself without MountPolicies, and closes every host path while they are not known', () => {
    expect(layeredPolicy(CLUSTER, { known: true, policies: [] })).to.equal(CLUSTER);
    const unknown = layeredPolicy(CLUSTER, { known: false, namespace: 'team-a', why: 'the cache is not synced' });
    expect(unknown.narrowing.map((n) => [n.name, n.closed])).to.deep.equal([['the MountPolicies of namespace "team-a"', 'not known: the cache is not synced']]);
  });
});
