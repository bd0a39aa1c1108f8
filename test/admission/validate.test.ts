import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { describeViolation } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { policyOf } from '../helpers/policies.js';
import { expectedVolumeName, FIELD, requestFor, sandboxPod, type PodOptions, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const POLICY = policyOf();
const EPHEMERAL: RequestOptions = { operation: 'UPDATE', subResource: 'ephemeralcontainers' };

function validate(pod: unknown, options: RequestOptions = {}, policy: CompiledPolicy = POLICY): string[] {
  const verdict = decide('validate', requestFor(pod, options), policy);
  return verdict.allowed ? [] : verdict.violations.map(describeViolation);
}

function mutated(options: PodOptions): Record<string, unknown> & { spec: PodSpec } {
  const { verdict, pod } = mutateTwice(sandboxPod(options), POLICY);
  if (!verdict.allowed || pod === undefined) throw new Error('the mutation was denied');
  return pod as Record<string, unknown> & { spec: PodSpec };
}

interface PodSpec {
  containers: Array<{ name: string; volumeMounts?: Array<Record<string, unknown>> }>;
  volumes?: Array<{ name: string; hostPath?: { path: string; type?: string } }>;
  ephemeralContainers?: unknown[];
}

const REQUEST = [
  { hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' },
  { hostPath: '/srv/models/llama', mountPath: '/mnt/models' },
];

describe('admission/decide: /validate', () => {
  it('allows every Pod that /mutate produced', () => {
    expect(validate(mutated({ mounts: REQUEST }))).to.deep.equal([]);
  });

  it('allows a Pod with only built-in host paths mounted as the policy says', () => {
    const volumes = [
      { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
      { name: 'user-data', hostPath: { path: '/.deer-flow/threads/t1/user-data', type: 'DirectoryOrCreate' } },
    ];
    const containers = [
      { name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }, { name: 'user-data', mountPath: '/mnt/user-data' }] },
    ];
    expect(validate(sandboxPod({ volumes, containers }))).to.deep.equal([]);
  });

  it('leaves non-Pod resources and other operations alone', () => {
    const bad = sandboxPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    expect(validate(bad, { resource: 'deployments', group: 'apps' })).to.deep.equal([]);
    expect(validate(bad, { operation: 'UPDATE', oldObject: bad })).to.deep.equal([]);
  });

  it('leaves a "pods" resource of another API group alone (a custom resource, not a Pod)', () => {
    const bad = sandboxPod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] });
    expect(validate(bad, { resource: 'pods', group: 'example.com' })).to.deep.equal([]);
  });

  describe('the annotation is re-judged', () => {
    it('denies a Pod whose annotation breaks a rule, even if its mounts were written by hand', () => {
      const pod = mutated({ mounts: REQUEST });
      const annotations = (pod.metadata as { annotations: Record<string, string> }).annotations;
      annotations['mountgate.io/mounts'] = JSON.stringify([...REQUEST, { hostPath: '/srv/sandbox/x', mountPath: '/mnt/user-data' }]);
      expect(validate(pod)).to.deep.equal([`${FIELD}[2].mountPath: "/mnt/user-data" is inside the reserved path "/mnt/user-data"`]);
    });

    it('denies a requester who is not listed', () => {
      const pod = mutated({ mounts: REQUEST });
      expect(validate(pod, { username: 'mallory', groups: [] }, policyOf({ requesters: ['group:provisioners'] }))).to.deep.equal([
        'request.userInfo: user "mallory" may not request host mounts (not in requesters)',
      ]);
    });

    it("denies a Pod created without the annotation but with mountgate's volumes (its annotation would lie)", () => {
      const pod = mutated({ mounts: REQUEST });
      delete (pod.metadata as { annotations?: Record<string, string> }).annotations;
      const name1 = expectedVolumeName('/srv/sandbox/u1');
      const name2 = expectedVolumeName('/srv/models/llama');
      expect(validate(pod)).to.deep.equal([
        `spec.volumes[1]: volume "${name1}" mounts "/srv/sandbox/u1" from the host, but no annotation asks for it`,
        `spec.volumes[2]: volume "${name2}" mounts "/srv/models/llama" from the host, but no annotation asks for it`,
      ]);
    });

    it('denies a Pod that skipped mutation', () => {
      const name1 = expectedVolumeName('/srv/sandbox/u1');
      const name2 = expectedVolumeName('/srv/models/llama');
      expect(validate(sandboxPod({ mounts: REQUEST }))).to.deep.equal([
        `spec.volumes: requested mount is missing: volume "${name1}" for /srv/sandbox/u1 (mutation skipped or altered)`,
        `spec.volumes: requested mount is missing: volume "${name2}" for /srv/models/llama (mutation skipped or altered)`,
        'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)',
        'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/models" in container "sandbox" (mutation skipped or altered)',
      ]);
    });

    it('shows a missing volume\'s host path with the marks that reorder shown text escaped', () => {
      const hostPath = '/srv/sandbox/\u202egpj.exe';
      const name = expectedVolumeName(hostPath);
      expect(validate(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/work' }] }))).to.deep.equal([
        `spec.volumes: requested mount is missing: volume "${name}" for /srv/sandbox/\\u202egpj.exe (mutation skipped or altered)`,
        'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/work" in container "sandbox" (mutation skipped or altered)',
      ]);
    });

    it('denies a Pod whose injected mount was made read-write afterwards', () => {
      const pod = mutated({ mounts: REQUEST });
      const mounts = pod.spec.containers[0]?.volumeMounts ?? [];
      const models = mounts.find((mount) => mount.mountPath === '/mnt/models');
      if (models === undefined) throw new Error('no injected mount');
      models.readOnly = false;
      delete models.recursiveReadOnly;
      const name = expectedVolumeName('/srv/models/llama');
      expect(validate(pod)).to.deep.equal([
        `spec.containers[0].volumeMounts[2]: mount of "${name}" at "/mnt/models" does not match what this request adds`,
        'spec.containers[0].volumeMounts: requested mount is missing: "/mnt/models" in container "sandbox" (mutation skipped or altered)',
        `spec.containers[0].volumeMounts[2]: container "sandbox" mounts "/srv/models/llama" read-write, but "/srv/models" is read-only`,
      ]);
    });

    it('denies a Pod whose injected mount was taken out of one of several target containers', () => {
      const pod = mutated({
        mounts: REQUEST,
        containers: [
          { name: 'sandbox', image: 'x' },
          { name: 'sidecar', image: 'y' },
        ],
      });
      const sidecar = pod.spec.containers[1];
      if (sidecar?.volumeMounts === undefined) throw new Error('no injected mount');
      sidecar.volumeMounts = sidecar.volumeMounts.filter((mount) => mount.mountPath !== '/mnt/work');
      expect(validate(pod)).to.deep.equal([
        'spec.containers[1].volumeMounts: requested mount is missing: "/mnt/work" in container "sidecar" (mutation skipped or altered)',
      ]);
    });

    it('denies a Pod whose injected volume was pointed elsewhere', () => {
      const pod = mutated({ mounts: REQUEST });
      const volume = pod.spec.volumes?.find((v) => v.name === expectedVolumeName('/srv/sandbox/u1'));
      if (volume?.hostPath === undefined) throw new Error('no injected volume');
      volume.hostPath.path = '/srv/sandbox/someone-else';
      const name = expectedVolumeName('/srv/sandbox/u1');
      expect(validate(pod)).to.deep.equal([
        `spec.volumes[1]: volume "${name}" does not match what this request adds`,
      ]);
    });
  });

  // Section 9: audit logs key on the rule; a Pod that lies about its mounts is refused under these two.
  describe('the rules of an altered or skipped mutation', () => {
    const name = expectedVolumeName('/srv/sandbox/u1');
    const rows: Array<[string, () => unknown, string[]]> = [
      ['injection-missing for every mount a skipped mutation did not add', () => sandboxPod({ mounts: REQUEST }), ['injection-missing', 'injection-missing', 'injection-missing', 'injection-missing']],
      ['injection-mismatch for a volume pointed elsewhere', () => {
        const pod = mutated({ mounts: REQUEST });
        const volume = pod.spec.volumes?.find((v) => v.name === name);
        if (volume?.hostPath === undefined) throw new Error('no injected volume');
        volume.hostPath.path = '/srv/sandbox/someone-else';
        return pod;
      }, ['injection-mismatch']],
      ['injection-mismatch and injection-missing for a mount moved elsewhere', () => {
        const pod = mutated({ mounts: REQUEST });
        const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === name);
        if (mount === undefined) throw new Error('no injected mount');
        mount.mountPath = '/mnt/elsewhere';
        return pod;
      }, ['injection-mismatch', 'injection-missing']],
      ['injection-mismatch for a volume whose type was changed', () => {
        const pod = mutated({ mounts: REQUEST });
        const volume = pod.spec.volumes?.find((v) => v.name === name);
        if (volume?.hostPath === undefined) throw new Error('no injected volume');
        volume.hostPath.type = 'Directory';
        return pod;
      }, ['injection-mismatch']],
      // An explicit readOnly: false says what mutate's mount says by leaving it out: still ours.
      ['no rule for a read-write mount given readOnly: false', () => {
        const pod = mutated({ mounts: REQUEST });
        const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === name);
        if (mount === undefined) throw new Error('no injected mount');
        mount.readOnly = false;
        return pod;
      }, []],
      // Exactly what mutate wrote, even where the change would be stricter.
      ['injection-mismatch and injection-missing for a read-write mount made read-only', () => {
        const pod = mutated({ mounts: REQUEST });
        const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === name);
        if (mount === undefined) throw new Error('no injected mount');
        mount.readOnly = true;
        return pod;
      }, ['injection-mismatch', 'injection-missing']],
      ['injection-mismatch and injection-missing for a read-only mount whose recursiveReadOnly was changed', () => {
        const pod = mutated({ mounts: REQUEST });
        const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === expectedVolumeName('/srv/models/llama'));
        if (mount === undefined) throw new Error('no injected mount');
        mount.recursiveReadOnly = 'Disabled';
        return pod;
      }, ['injection-mismatch', 'injection-missing']],
      // A mount is ours only with exactly the keys mountgate writes: one given another key was altered.
      ...(['mountPropagation', 'subPathExpr'] as const).map((key): [string, () => unknown, string[]] => [
        `injection-mismatch and injection-missing for a mount given ${key}`,
        () => {
          const pod = mutated({ mounts: REQUEST });
          const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === name);
          if (mount === undefined) throw new Error('no injected mount');
          mount[key] = key === 'mountPropagation' ? 'HostToContainer' : '$(POD_NAME)';
          return pod;
        },
        ['injection-mismatch', 'injection-missing'],
      ]),
      ['injection-mismatch and injection-missing for a read-write mount given recursiveReadOnly', () => {
        const pod = mutated({ mounts: REQUEST });
        const mount = pod.spec.containers[0]?.volumeMounts?.find((m) => m.name === name);
        if (mount === undefined) throw new Error('no injected mount');
        mount.recursiveReadOnly = 'Disabled';
        return pod;
      }, ['injection-mismatch', 'injection-missing']],
      // The API server drops unknown fields; a manifest read by `mountgate check` keeps them.
      ['injection-mismatch for a volume whose hostPath has a key the API does not know', () => {
        const pod = mutated({ mounts: REQUEST });
        const volume = pod.spec.volumes?.find((v) => v.name === name);
        if (volume?.hostPath === undefined) throw new Error('no injected volume');
        Object.assign(volume.hostPath, { readOnly: true });
        return pod;
      }, ['injection-mismatch']],
      ['injection-mismatch for a volume given a second source beside its hostPath', () => {
        const pod = mutated({ mounts: REQUEST });
        const volume = pod.spec.volumes?.find((v) => v.name === name);
        if (volume === undefined) throw new Error('no injected volume');
        Object.assign(volume, { emptyDir: {} });
        return pod;
      }, ['injection-mismatch']],
    ];
    for (const [why, pod, rules] of rows) {
      it(why, () => {
        const verdict = decide('validate', requestFor(pod()), POLICY);
        expect(verdict.allowed ? [] : verdict.violations.map((v) => v.rule)).to.deep.equal(rules);
      });
    }
  });

  describe('every hostPath volume, however it got there', () => {
    const rows: Array<[string, PodOptions, string[]]> = [
      ['a hand-written hostPath outside both lists', { volumes: [{ name: 'root', hostPath: { path: '/var/run' } }] }, [
        'spec.volumes[0].hostPath.path: "/var/run" is not under any allowed or built-in host path',
      ]],
      ['a hostPath that only shares characters with a built-in', { volumes: [{ name: 'sk', hostPath: { path: '/skills2' } }] }, [
        'spec.volumes[0].hostPath.path: "/skills2" is not under any allowed or built-in host path',
      ]],
      ['a hostPath whose name reorders shown text, quoted with the marks escaped', { volumes: [{ name: 'rl', hostPath: { path: '/skills2/\u202egpj.exe' } }] }, [
        'spec.volumes[0].hostPath.path: "/skills2/\\u202egpj.exe" is not under any allowed or built-in host path',
      ]],
      ['a non-canonical hostPath', { volumes: [{ name: 'up', hostPath: { path: '/skills/../etc' } }] }, [
        'spec.volumes[0].hostPath.path: "/skills/../etc" has a ".." segment',
      ]],
      ['a hand-written hostPath with backslashes that a Windows node reads as ".." segments', { volumes: [{ name: 'up', hostPath: { path: '/skills/x\\..\\..\\Windows' } }] }, [
        'spec.volumes[0].hostPath.path: "/skills/x\\\\..\\\\..\\\\Windows" contains a backslash, a path separator on Windows nodes',
      ]],
      ['a read-only built-in mounted read-write', {
        volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills' }] }],
      }, ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/skills" read-write, but "/skills" is read-only']],
      ['a read-only built-in mounted read-write by an init container', {
        volumes: [{ name: 'skills', hostPath: { path: '/skills/python', type: 'Directory' } }],
        initContainers: [{ name: 'setup', image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/s', readOnly: false }] }],
      }, ['spec.initContainers[0].volumeMounts[0]: container "setup" mounts "/skills/python" read-write, but "/skills" is read-only']],
      ['a read-only allowed path written by hand and mounted read-write', {
        volumes: [{ name: 'm', hostPath: { path: '/srv/models/x', type: 'Directory' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'm', mountPath: '/m' }] }],
      }, ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/srv/models/x" read-write, but "/srv/models" is read-only']],
      // The API server refuses a Pod with two volumes of one name; mountgate check and a changed API server must not lean on that.
      ['a name shared by a read-write and a read-only host path, mounted read-write', {
        volumes: [{ name: 'h', hostPath: { path: '/srv/sandbox/x' } }, { name: 'h', hostPath: { path: '/srv/models/x', type: 'Directory' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'h', mountPath: '/h' }] }],
      }, ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/srv/models/x" read-write, but "/srv/models" is read-only']],
      ['a name shared by a read-only host path and a later read-write one, mounted read-write', {
        volumes: [{ name: 'h', hostPath: { path: '/srv/models/x', type: 'Directory' } }, { name: 'h', hostPath: { path: '/srv/sandbox/x' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'h', mountPath: '/h' }] }],
      }, ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/srv/models/x" read-write, but "/srv/models" is read-only']],
      ['a name shared by an emptyDir and a host path outside both lists', {
        volumes: [{ name: 'h', emptyDir: {} }, { name: 'h', hostPath: { path: '/etc' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'h', mountPath: '/h' }] }],
      }, ['spec.volumes[1].hostPath.path: "/etc" is not under any allowed or built-in host path']],
    ];
    for (const [name, options, expected] of rows) {
      it(`denies ${name}`, () => expect(validate(sandboxPod(options))).to.deep.equal(expected));
    }

    it('allows a read-write directory inside a read-only prefix when a longer read-write entry covers it', () => {
      const pod = sandboxPod({
        volumes: [{ name: 'scratch', hostPath: { path: '/srv/models/scratch/run1' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
      });
      expect(validate(pod)).to.deep.equal([]);
    });
  });

  describe('UPDATE of pods/ephemeralcontainers (kubectl debug)', () => {
    it('denies an ephemeral container that mounts a read-only volume read-write', () => {
      const pod = mutated({ mounts: REQUEST });
      pod.spec.ephemeralContainers = [
        { name: 'debugger', image: 'busybox', volumeMounts: [{ name: expectedVolumeName('/srv/models/llama'), mountPath: '/models' }] },
      ];
      expect(validate(pod, EPHEMERAL)).to.deep.equal([
        'spec.ephemeralContainers[0].volumeMounts[0]: container "debugger" mounts "/srv/models/llama" read-write, but "/srv/models" is read-only',
      ]);
    });

    it('allows an ephemeral container that mounts it read-only', () => {
      const pod = mutated({ mounts: REQUEST });
      pod.spec.ephemeralContainers = [
        { name: 'debugger', image: 'busybox', volumeMounts: [{ name: expectedVolumeName('/srv/models/llama'), mountPath: '/models', readOnly: true }] },
      ];
      expect(validate(pod, EPHEMERAL)).to.deep.equal([]);
    });

    it('applies only the hostPath rule: an annotation problem does not block kubectl debug', () => {
      const pod = sandboxPod({ mounts: [{ hostPath: '/etc', mountPath: '/etc' }] });
      expect(validate(pod, EPHEMERAL)).to.deep.equal([]);
      expect(validate(pod)).to.deep.equal([`${FIELD}[0].hostPath: "/etc" is not under any allowed host path`]);
    });
  });
});
