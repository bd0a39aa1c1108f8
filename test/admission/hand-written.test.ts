/**
 * handWrittenHostPaths: a hostPath volume written into a Pod by hand (not named
 * `mountgate-`) lies under either list with `allowed` (the default), under
 * builtinHostPaths alone with `builtin`. Every row is judged under both
 * settings, through /validate, with the whole messages.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { describeViolation, MAX_NAMED_VIOLATIONS } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { parsePolicy } from '../../src/policy/load.js';
import { expectedVolumeName, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';
import { mountPolicy } from '../helpers/policies.js';

const SPEC = {
  allowedHostPaths: [
    { pathPrefix: '/srv/sandbox' },
    { pathPrefix: '/srv/models', readOnly: true },
    // Read-write inside a read-only built-in, and read-only inside a read-write one.
    { pathPrefix: '/skills/scratch' },
    { pathPrefix: '/.deer-flow/threads/shared', readOnly: true },
    // Read-only inside that read-write one: a mount of /skills/scratch is read-only for it, not for /skills.
    { pathPrefix: '/skills/scratch/frozen', readOnly: true },
  ],
  builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/.deer-flow/threads' }, { pathPrefix: '/home/{user}' }],
};

const MODES = ['allowed', 'builtin'] as const;
type Mode = (typeof MODES)[number];

function policyIn(mode: Mode): CompiledPolicy {
  return parsePolicy(JSON.stringify({ ...SPEC, handWrittenHostPaths: mode }), 'policy.json');
}

const TENANT = {
  known: true as const,
  policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/.deer-flow/threads' }] }))],
};

const ALICE: RequestOptions = { username: 'alice', groups: [] };
const EPHEMERAL: RequestOptions = { ...ALICE, operation: 'UPDATE', subResource: 'ephemeralcontainers' };
const TEAM_A: RequestOptions = { ...ALICE, namespace: 'team-a' };
const NOTE = '(with handWrittenHostPaths: builtin, allowed host paths come only through the annotation)';

interface HandVolume {
  readonly name: string;
  readonly path: string;
  readonly readOnly?: boolean;
}

/** A Pod that writes its hostPath volumes itself, each mounted by its one container. */
function handWritten(...volumes: HandVolume[]): Record<string, unknown> {
  return sandboxPod({
    volumes: volumes.map((v) => ({ name: v.name, hostPath: { path: v.path, type: 'Directory' } })),
    containers: [{ name: 'sandbox', image: 'x', volumeMounts: volumes.map((v, i) => ({ name: v.name, mountPath: `/mnt/v${i}`, readOnly: v.readOnly ?? false })) }],
  });
}

const SANDBOX = { hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work', readOnly: false };
const MODELS = { hostPath: '/srv/models/llama', mountPath: '/mnt/models' };

/** What /mutate makes of a Pod that asks for `mounts` through the annotation. */
function injected(policy: CompiledPolicy, options: RequestOptions = ALICE, mounts: unknown[] = [SANDBOX, MODELS]): Record<string, unknown> & { spec: Record<string, unknown[]> } {
  const asked = sandboxPod({ mounts, volumes: [], containers: [{ name: 'sandbox', image: 'x' }] });
  const { verdict, pod } = mutateTwice(asked, policy, options);
  if (!verdict.allowed || pod === undefined) throw new Error('the mutation was denied');
  return pod as Record<string, unknown> & { spec: Record<string, unknown[]> };
}

function withDebugger(pod: Record<string, unknown> & { spec: Record<string, unknown[]> }, volume: string): Record<string, unknown> {
  return { ...pod, spec: { ...pod.spec, ephemeralContainers: [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: volume, mountPath: '/debug', readOnly: true }] }] } };
}

/** An init container that mounts the volume of `hostPath` (injected from the annotation) at `mountPath`, read-write. */
function withInit(pod: Record<string, unknown> & { spec: Record<string, unknown[]> }, hostPath: string, mountPath: string): Record<string, unknown> {
  return { ...pod, spec: { ...pod.spec, initContainers: [{ name: 'init', image: 'x', volumeMounts: [{ name: expectedVolumeName(hostPath), mountPath }] }] } };
}

const OUTSIDE_TARGETS = (field: string, hostPath: string, mountPath: string, container: string): string =>
  `${field}: mount of "${expectedVolumeName(hostPath)}" at "${mountPath}" is in container "${container}", which the annotation does not mount into ` +
  '(with handWrittenHostPaths: builtin, its volumes go only into the target containers)';

interface Row {
  readonly name: string;
  readonly pod: (policy: CompiledPolicy) => unknown;
  readonly request?: RequestOptions;
  /** Judge in namespace team-a, whose MountPolicy allows /srv/sandbox and /.deer-flow/threads. */
  readonly layered?: boolean;
  readonly allowed: readonly string[];
  readonly builtin: readonly string[];
}

const FORGED = expectedVolumeName('/srv/sandbox/x');
const ETC = expectedVolumeName('/etc/x');
const ETC_REQUEST = 'metadata.annotations[mountgate.io/mounts][0].hostPath: "/etc/x" is not under any allowed host path';

const rows: Row[] = [
  {
    name: 'a hand-written volume under allowedHostPaths only',
    pod: () => handWritten({ name: 'work', path: '/srv/sandbox/x' }),
    allowed: [],
    builtin: [`spec.volumes[0].hostPath.path: "/srv/sandbox/x" is not under any built-in host path ${NOTE}`],
  },
  {
    name: 'a hand-written volume under a read-only allowed entry, mounted read-only',
    pod: () => handWritten({ name: 'models', path: '/srv/models/llama', readOnly: true }),
    allowed: [],
    builtin: [`spec.volumes[0].hostPath.path: "/srv/models/llama" is not under any built-in host path ${NOTE}`],
  },
  {
    name: 'a hand-written volume under builtinHostPaths',
    pod: () => handWritten({ name: 'threads', path: '/.deer-flow/threads/t1' }, { name: 'skills', path: '/skills', readOnly: true }),
    allowed: [],
    builtin: [],
  },
  {
    name: 'a hand-written volume outside both lists',
    pod: () => handWritten({ name: 'etc', path: '/etc' }),
    allowed: ['spec.volumes[0].hostPath.path: "/etc" is not under any allowed or built-in host path'],
    builtin: [`spec.volumes[0].hostPath.path: "/etc" is not under any built-in host path ${NOTE}`],
  },
  {
    name: "a hand-written volume under another user's built-in (the placeholder note comes first)",
    pod: () => handWritten({ name: 'home', path: '/home/bob/x' }),
    allowed: ['spec.volumes[0].hostPath.path: "/home/bob/x" is not under any allowed or built-in host path ("/home/{user}" has {user} = "alice" for this request)'],
    builtin: [`spec.volumes[0].hostPath.path: "/home/bob/x" is not under any built-in host path ("/home/{user}" has {user} = "alice" for this request) ${NOTE}`],
  },
  {
    name: "a hand-written volume under the requester's own built-in",
    pod: () => handWritten({ name: 'home', path: '/home/alice/x' }),
    allowed: [],
    builtin: [],
  },
  {
    name: 'a hand-written volume mounted read-write where a read-write allowed entry lies inside a read-only built-in',
    pod: () => handWritten({ name: 'scratch', path: '/skills/scratch/x' }),
    allowed: [],
    builtin: ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/skills/scratch/x" read-write, but "/skills" is read-only'],
  },
  {
    name: 'a hand-written volume mounted read-write where a read-only allowed entry lies inside a read-write built-in',
    pod: () => handWritten({ name: 'shared', path: '/.deer-flow/threads/shared/x' }),
    allowed: ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/.deer-flow/threads/shared/x" read-write, but "/.deer-flow/threads/shared" is read-only'],
    builtin: ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/.deer-flow/threads/shared/x" read-write, but "/.deer-flow/threads/shared" is read-only'],
  },
  {
    name: 'a hand-written volume mounted read-write that holds a read-only allowed entry, inside a read-only built-in: the nearer reason',
    pod: () => handWritten({ name: 'scratch', path: '/skills/scratch' }),
    allowed: ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/skills/scratch" read-write, but "/skills/scratch/frozen" inside it is read-only'],
    builtin: ['spec.containers[0].volumeMounts[0]: container "sandbox" mounts "/skills/scratch" read-write, but "/skills/scratch/frozen" inside it is read-only'],
  },
  {
    name: 'volumes injected from the annotation, under allowedHostPaths',
    pod: (policy) => injected(policy),
    allowed: [],
    builtin: [],
  },
  {
    name: 'an init container that mounts a volume the annotation brings in, at a target the annotation may not ask for',
    pod: (policy) => withInit(injected(policy), SANDBOX.hostPath, '/var/run/secrets/x'),
    allowed: [],
    builtin: [OUTSIDE_TARGETS('spec.initContainers[0].volumeMounts[0]', SANDBOX.hostPath, '/var/run/secrets/x', 'init')],
  },
  {
    name: 'more init-container mounts of a volume the annotation brings in than a denial names: the rest are counted',
    pod: (policy) => {
      const pod = injected(policy);
      const mounts = Array.from({ length: MAX_NAMED_VIOLATIONS + 2 }, (_, i) => ({ name: expectedVolumeName(SANDBOX.hostPath), mountPath: `/m${i}` }));
      return { ...pod, spec: { ...pod.spec, initContainers: [{ name: 'init', image: 'x', volumeMounts: mounts }] } };
    },
    allowed: [],
    builtin: [
      ...Array.from({ length: MAX_NAMED_VIOLATIONS }, (_, i) => OUTSIDE_TARGETS(`spec.initContainers[0].volumeMounts[${i}]`, SANDBOX.hostPath, `/m${i}`, 'init')),
      'spec: 2 more mounts of mountgate volumes outside the target containers',
    ],
  },
  {
    name: 'a hand-written volume named mountgate-... without the annotation',
    pod: () => handWritten({ name: FORGED, path: '/srv/sandbox/x' }),
    allowed: [`spec.volumes[0]: volume "${FORGED}" mounts "/srv/sandbox/x" from the host, but no annotation asks for it`],
    builtin: [`spec.volumes[0]: volume "${FORGED}" mounts "/srv/sandbox/x" from the host, but no annotation asks for it`],
  },
  {
    name: 'a hand-written volume named mountgate-... beside the ones the annotation asks for',
    pod: (policy) => {
      const pod = injected(policy);
      return { ...pod, spec: { ...pod.spec, volumes: [...(pod.spec.volumes ?? []), { name: 'mountgate-000000000000', hostPath: { path: '/srv/sandbox/x' } }] } };
    },
    allowed: ['spec.volumes[2]: volume "mountgate-000000000000" does not match what this request adds'],
    builtin: ['spec.volumes[2]: volume "mountgate-000000000000" does not match what this request adds'],
  },
  {
    name: 'a volume named mountgate-... outside both lists, that the annotation asks for: judged as mountgate\'s own, by both lists',
    pod: () =>
      sandboxPod({
        mounts: [{ hostPath: '/etc/x', mountPath: '/mnt/x' }],
        volumes: [{ name: ETC, hostPath: { path: '/etc/x', type: 'DirectoryOrCreate' } }],
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: [{ name: ETC, mountPath: '/mnt/x' }] }],
      }),
    allowed: [ETC_REQUEST, 'spec.volumes[0].hostPath.path: "/etc/x" is not under any allowed or built-in host path'],
    builtin: [ETC_REQUEST, 'spec.volumes[0].hostPath.path: "/etc/x" is not under any allowed or built-in host path'],
  },
  {
    name: 'kubectl debug of a Pod with a hand-written volume under allowedHostPaths only',
    pod: () => handWritten({ name: 'work', path: '/srv/sandbox/x' }),
    request: EPHEMERAL,
    allowed: [],
    builtin: [`spec.volumes[0].hostPath.path: "/srv/sandbox/x" is not under any built-in host path ${NOTE}`],
  },
  {
    name: 'kubectl debug of a Pod whose volumes were injected',
    pod: (policy) => withDebugger(injected(policy), expectedVolumeName('/srv/models/llama')),
    request: EPHEMERAL,
    allowed: [],
    builtin: [],
  },
  {
    name: 'a hand-written volume under allowedHostPaths only, in a namespace with a MountPolicy',
    pod: () => handWritten({ name: 'work', path: '/srv/sandbox/x' }),
    request: TEAM_A,
    layered: true,
    allowed: [],
    builtin: [`spec.volumes[0].hostPath.path: "/srv/sandbox/x" is not under any built-in host path of the cluster policy ${NOTE}`],
  },
  {
    name: 'a hand-written built-in the MountPolicy allows',
    pod: () => handWritten({ name: 'threads', path: '/.deer-flow/threads/t1' }),
    request: TEAM_A,
    layered: true,
    allowed: [],
    builtin: [],
  },
  {
    name: 'a hand-written built-in the MountPolicy does not allow',
    pod: () => handWritten({ name: 'skills', path: '/skills/x', readOnly: true }),
    request: TEAM_A,
    layered: true,
    allowed: ['spec.volumes[0].hostPath.path: "/skills/x" is not under any allowed host path of MountPolicy team-a/tenant'],
    builtin: ['spec.volumes[0].hostPath.path: "/skills/x" is not under any allowed host path of MountPolicy team-a/tenant'],
  },
  {
    name: 'volumes injected from the annotation, in a namespace with a MountPolicy',
    pod: (policy) => injected(policy, TEAM_A, [SANDBOX]),
    request: TEAM_A,
    layered: true,
    allowed: [],
    builtin: [],
  },
];

describe('admission: handWrittenHostPaths', () => {
  for (const mode of MODES) {
    describe(`handWrittenHostPaths: ${mode}`, () => {
      for (const row of rows) {
        const expected = row[mode];
        it(`${expected.length === 0 ? 'admits' : 'refuses'} ${row.name}`, () => {
          const cluster = policyIn(mode);
          const policy = row.layered === true ? layeredPolicy(cluster, TENANT) : cluster;
          const verdict = decide('validate', requestFor(row.pod(policy), row.request ?? ALICE), policy);
          expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(expected);
        });
      }
    });
  }

  it('handWrittenHostPaths: builtin: mounts outside the targets, named and counted, are all rule injection-mismatch', () => {
    const policy = policyIn('builtin');
    const pod = injected(policy);
    const mounts = Array.from({ length: MAX_NAMED_VIOLATIONS + 2 }, (_, i) => ({ name: expectedVolumeName(SANDBOX.hostPath), mountPath: `/m${i}` }));
    const verdict = decide('validate', requestFor({ ...pod, spec: { ...pod.spec, initContainers: [{ name: 'init', image: 'x', volumeMounts: mounts }] } }, ALICE), policy);
    expect(verdict.allowed ? [] : verdict.violations.map((v) => `${v.rule} ${v.field}`)).to.deep.equal([
      ...Array.from({ length: MAX_NAMED_VIOLATIONS }, (_, i) => `injection-mismatch spec.initContainers[0].volumeMounts[${i}]`),
      'injection-mismatch spec',
    ]);
  });

  for (const mode of MODES) {
    it(`handWrittenHostPaths: ${mode}: a container the annotation does not mount into may ${mode === 'builtin' ? 'not ' : ''}mount a volume it brings in`, () => {
      const policy = parsePolicy(JSON.stringify({ ...SPEC, containers: ['sandbox'], handWrittenHostPaths: mode }), 'policy.json');
      const pod = injected(policy);
      const sidecar = { name: 'sidecar', image: 'x', volumeMounts: [{ name: expectedVolumeName(SANDBOX.hostPath), mountPath: '/elsewhere' }] };
      const withSidecar = { ...pod, spec: { ...pod.spec, containers: [...(pod.spec.containers ?? []), sidecar] } };
      const verdict = decide('validate', requestFor(withSidecar, ALICE), policy);
      expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(
        mode === 'builtin' ? [OUTSIDE_TARGETS('spec.containers[1].volumeMounts[0]', SANDBOX.hostPath, '/elsewhere', 'sidecar')] : [],
      );
    });

    it(`handWrittenHostPaths: ${mode}: /mutate ${mode === 'builtin' ? 'refuses' : 'admits'} a Pod whose init container already mounts a volume the annotation asks for`, () => {
      const policy = policyIn(mode);
      const asked = sandboxPod({ mounts: [SANDBOX], volumes: [], containers: [{ name: 'sandbox', image: 'x' }] });
      const pod = withInit(asked as Record<string, unknown> & { spec: Record<string, unknown[]> }, SANDBOX.hostPath, '/var/run/secrets/x');
      const verdict = decide('mutate', requestFor(pod, ALICE), policy);
      expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(
        mode === 'builtin' ? [OUTSIDE_TARGETS('spec.initContainers[0].volumeMounts[0]', SANDBOX.hostPath, '/var/run/secrets/x', 'init')] : [],
      );
    });
  }

  it('leaves the default policy as it was: no handWrittenHostPaths is allowed', () => {
    const unset = parsePolicy(JSON.stringify(SPEC), 'policy.json');
    expect(unset.spec).to.not.have.any.keys('handWrittenHostPaths');
    expect(unset.handWritten).to.equal(undefined);
    const pod = handWritten({ name: 'work', path: '/srv/sandbox/x' });
    expect(decide('validate', requestFor(pod, ALICE), unset).allowed).to.equal(true);
  });
});
