/**
 * Pods judged by a namespace's layered policy (cluster policy ∩ its
 * MountPolicies) through the one decision core, with the whole answers: each
 * denial names the layer that refused.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { denialMessage, type Verdict } from '../../src/admission/verdict.js';
import { layeredPolicy, type NamespaceLayers } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { FIELD, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';
import { mountPolicy } from '../helpers/policies.js';

const CLUSTER = parsePolicy(
  JSON.stringify({
    allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/users/{sandboxUser}' }, { pathPrefix: '/srv/models', readOnly: true }],
    builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }],
    reservedMountPaths: ['/mnt/skills'],
    maxMounts: 4,
    trustedProvisioners: ['provisioner'],
  }),
  'cluster.json',
);

const TEAM_A: RequestOptions = { namespace: 'team-a', username: 'alice', groups: [] };

function layersOf(...specs: unknown[]): NamespaceLayers {
  return { known: true, policies: specs.map((spec, i) => compileMountPolicy(mountPolicy(spec, i === 0 ? 'tenant' : `extra-${i}`))) };
}

const TENANT = layersOf({
  allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/reference', readOnly: true }, { pathPrefix: '/skills' }, { pathPrefix: '/srv/models' }],
  reservedMountPaths: ['/workspace/secrets'],
  maxMounts: 2,
});

function asking(...mounts: Array<{ hostPath: string; mountPath?: string; readOnly?: boolean }>): Record<string, unknown> {
  return sandboxPod({ mounts: mounts.map((m, i) => ({ mountPath: `/mnt/m${i}`, ...m })) });
}

function denial(verdict: Verdict): string {
  if (verdict.allowed) throw new Error('the Pod was allowed');
  return denialMessage(verdict.violations);
}

function mutate(pod: unknown, layers: NamespaceLayers, request: RequestOptions = TEAM_A): Verdict {
  return decide('mutate', requestFor(pod, request), layeredPolicy(CLUSTER, layers));
}

describe('admission: MountPolicy layers', () => {
  it('hands decide() the cluster policy itself when the namespace has no MountPolicy', () => {
    expect(layeredPolicy(CLUSTER, { known: true, policies: [] })).to.equal(CLUSTER);
  });

  const denied: Array<[string, unknown, NamespaceLayers, string]> = [
    [
      "another team's tree",
      asking({ hostPath: '/srv/tenants/team-b/x' }),
      TENANT,
      `${FIELD}[0].hostPath: "/srv/tenants/team-b/x" is not under any allowed host path of MountPolicy team-a/tenant`,
    ],
    [
      'a path the cluster policy refuses, naming the cluster policy',
      asking({ hostPath: '/etc' }),
      TENANT,
      `${FIELD}[0].hostPath: "/etc" is not under any allowed host path of the cluster policy`,
    ],
    [
      "read-write under the MountPolicy's read-only entry",
      asking({ hostPath: '/srv/tenants/team-a/reference/v1', readOnly: false }),
      TENANT,
      `${FIELD}[0].readOnly: "/srv/tenants/team-a/reference/v1" is under the read-only prefix "/srv/tenants/team-a/reference" of MountPolicy team-a/tenant and must be mounted read-only`,
    ],
    [
      "read-write under the cluster's read-only entry, naming the cluster policy first",
      asking({ hostPath: '/srv/models/m', readOnly: false }),
      TENANT,
      `${FIELD}[0].readOnly: "/srv/models/m" is under the read-only prefix "/srv/models" of the cluster policy and must be mounted read-only`,
    ],
    [
      "a target the MountPolicy reserves",
      asking({ hostPath: '/srv/tenants/team-a/x', mountPath: '/workspace/secrets/k' }),
      TENANT,
      `${FIELD}[0].mountPath: "/workspace/secrets/k" is inside the reserved path "/workspace/secrets" of MountPolicy team-a/tenant`,
    ],
    [
      "more mounts than the MountPolicy's maxMounts",
      asking({ hostPath: '/srv/tenants/team-a/1' }, { hostPath: '/srv/tenants/team-a/2' }, { hostPath: '/srv/tenants/team-a/3' }),
      TENANT,
      `${FIELD}: asks for 3 mounts, more than maxMounts (2) of MountPolicy team-a/tenant`,
    ],
    [
      'any path under an empty allowedHostPaths',
      asking({ hostPath: '/srv/tenants/team-a/x' }),
      layersOf({ allowedHostPaths: [] }),
      `${FIELD}[0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path of MountPolicy team-a/tenant (its allowedHostPaths is empty)`,
    ],
    [
      'any path under an invalid MountPolicy',
      asking({ hostPath: '/srv/tenants/team-a/x' }),
      layersOf({ maxMounts: 'two' }),
      `${FIELD}[0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path of MountPolicy team-a/tenant (it is invalid, so it allows no host path: spec.maxMounts must be a number)`,
    ],
    [
      'any path while the MountPolicies are not known',
      asking({ hostPath: '/srv/tenants/team-a/x' }),
      { known: false, namespace: 'team-a', why: 'the MountPolicy cache has not synced' },
      `${FIELD}[0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path of the MountPolicies of namespace "team-a" (not known: the MountPolicy cache has not synced)`,
    ],
    [
      'a path one of two MountPolicies refuses, naming that one',
      asking({ hostPath: '/srv/tenants/team-a/x' }),
      layersOf({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }] }, { allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a/y' }] }),
      `${FIELD}[0].hostPath: "/srv/tenants/team-a/x" is not under any allowed host path of MountPolicy team-a/extra-1`,
    ],
    [
      "another sandbox user's tree, naming the cluster policy's placeholder",
      (() => {
        const pod = asking({ hostPath: '/srv/users/u3/work' });
        (pod.metadata as { annotations: Record<string, string> })['annotations']['mountgate.io/sandbox-user'] = 'u4';
        return pod;
      })(),
      layersOf({ allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}/work' }] }),
      `${FIELD}[0].hostPath: "/srv/users/u3/work" is not under any allowed host path of the cluster policy ("/srv/users/{sandboxUser}" has {sandboxUser} = "u4" for this request)`,
    ],
  ];
  for (const [name, pod, layers, message] of denied) {
    it(`/mutate refuses ${name}`, () => {
      const request = name.includes('sandbox user') ? { ...TEAM_A, username: 'provisioner' } : TEAM_A;
      expect(denial(mutate(pod, layers, request))).to.equal(`mountgate denied the Pod: ${message}`);
    });
  }

  it('admits what every layer allows, read-only where a layer says so, and is stable on a second pass', () => {
    const policy = layeredPolicy(CLUSTER, TENANT);
    const pod = asking({ hostPath: '/srv/tenants/team-a/data' }, { hostPath: '/srv/tenants/team-a/reference/v1' });
    const mutation = mutateTwice(pod, policy, TEAM_A);
    if (!mutation.verdict.allowed) throw new Error(denialMessage(mutation.verdict.violations));
    const mounts = (mutation.pod as { spec: { containers: Array<{ volumeMounts: Array<{ mountPath: string; readOnly?: boolean }> }> } }).spec.containers[0]?.volumeMounts ?? [];
    expect(mounts.filter((m) => m.mountPath.startsWith('/mnt/m')).map((m) => [m.mountPath, m.readOnly === true])).to.deep.equal([
      ['/mnt/m0', false],
      ['/mnt/m1', true],
    ]);
    expect(decide('validate', requestFor(mutation.pod, TEAM_A), policy).allowed).to.equal(true);
  });

  describe('/validate of the volumes a Pod carries', () => {
    const carrying = (path: string, readOnly: boolean): Record<string, unknown> =>
      sandboxPod({
        volumes: [{ name: 'own', hostPath: { path, type: 'Directory' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'own', mountPath: '/data', readOnly }] }],
      });
    const validate = (pod: unknown, layers: NamespaceLayers): Verdict => decide('validate', requestFor(pod, TEAM_A), layeredPolicy(CLUSTER, layers));

    it("refuses a hand-written volume in another team's tree, naming the MountPolicy", () => {
      expect(denial(validate(carrying('/srv/tenants/team-b', true), TENANT))).to.equal(
        'mountgate denied the Pod: spec.volumes[0].hostPath.path: "/srv/tenants/team-b" is not under any allowed host path of MountPolicy team-a/tenant',
      );
    });

    it('refuses a cluster built-in the MountPolicy does not list', () => {
      expect(denial(validate(sandboxPod(), layersOf({ allowedHostPaths: [{ pathPrefix: '/srv/tenants/team-a' }] })))).to.equal(
        'mountgate denied the Pod: spec.volumes[0].hostPath.path: "/skills" is not under any allowed host path of MountPolicy team-a/tenant',
      );
    });

    it('names the cluster policy for a volume outside it, and the MountPolicy for read-write under its read-only entry', () => {
      expect(denial(validate(carrying('/var/run', true), TENANT))).to.equal(
        'mountgate denied the Pod: spec.volumes[0].hostPath.path: "/var/run" is not under any allowed or built-in host path of the cluster policy',
      );
      expect(denial(validate(carrying('/srv/tenants/team-a/reference', false), TENANT))).to.equal(
        'mountgate denied the Pod: spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/srv/tenants/team-a/reference" read-write, but "/srv/tenants/team-a/reference" of MountPolicy team-a/tenant is read-only',
      );
    });

    it('admits a Pod without host paths while the MountPolicies are not known', () => {
      const pod = sandboxPod({ volumes: [], containers: [{ name: 'sandbox', image: 'x' }] });
      expect(validate(pod, { known: false, namespace: 'team-a', why: 'x' })).to.deep.equal({ allowed: true, warnings: [], patch: [] });
      expect(mutate(pod, { known: false, namespace: 'team-a', why: 'x' }).allowed).to.equal(true);
    });
  });
});
