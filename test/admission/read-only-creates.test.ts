/**
 * The kubelet writes into a host path before it mounts it, as root and whatever the mount's readOnly
 * says: it creates a missing DirectoryOrCreate or FileOrCreate path, and a missing subPath (or
 * expanded subPathExpr) inside the volume. In a read-only host path /validate refuses both (rule
 * host-path-volume-creates). Whole messages; the control rows are admitted.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { applyPatch } from '../../src/admission/json-patch.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { JUDGED_STACK } from '../../src/admission/mount-points.js';
import { describeViolation, type Violation } from '../../src/admission/violation.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { parsePolicy } from '../../src/policy/load.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { BASE_POLICY, mountPolicy, policyOf } from '../helpers/policies.js';
import { deerFlowSandboxPod, extraMountsFor } from '../e2e/deer-flow-pods.js';
import { expectedVolumeName, requestFor, sandboxPod } from '../helpers/pods.js';

const DEFAULT = policyOf();
const BUILTIN = policyOf({ handWrittenHostPaths: 'builtin' });
// A read-write tree that holds a read-only entry.
const HOLDING = policyOf({ allowedHostPaths: [...BASE_POLICY.allowedHostPaths, { pathPrefix: '/srv/sandbox/shared', readOnly: true }] });
// A read-write allowed entry inside a read-only built-in, with and without handWrittenHostPaths: builtin.
const DATA_WORK = { allowedHostPaths: [{ pathPrefix: '/data/work' }], builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/data', readOnly: true }] };
const DATA_WORK_ALLOWED = policyOf(DATA_WORK);
const DATA_WORK_BUILTIN = policyOf({ ...DATA_WORK, handWrittenHostPaths: 'builtin' });

type Mount = Record<string, unknown>;

/** The sandbox with the built-in skills volume and one more hostPath volume "own", mounted as `mount` says. */
function podWith(path: string, type: string, mount: Mount = { readOnly: true }, list: 'containers' | 'initContainers' = 'containers'): Record<string, unknown> {
  const own = { name: 'own', mountPath: '/mnt/own', ...mount };
  const skills = { name: 'skills', mountPath: '/mnt/skills', readOnly: true };
  return sandboxPod({
    volumes: [
      { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
      { name: 'own', hostPath: { path, type } },
    ],
    containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: list === 'containers' ? [skills, own] : [skills] }],
    ...(list === 'initContainers' ? { initContainers: [{ name: 'init', image: 'init:1', volumeMounts: [own] }] } : {}),
  });
}

interface Row {
  readonly name: string;
  readonly pod: Record<string, unknown>;
  readonly policy?: CompiledPolicy;
  /** The whole denial message, or undefined when the Pod is admitted. */
  readonly denied: string | undefined;
}

const subPathDenial = (field: string, container: string, path: string, key: string, value: string, readOnly: string): string =>
  `${field}.${key}: container "${container}" mounts "${path}" with ${key} ${JSON.stringify(value)}, which the kubelet creates when it is missing, ` +
  `but ${readOnly} is read-only; mount the subdirectory as a hostPath volume of its own`;

const ROWS: readonly Row[] = [
  {
    name: 'DirectoryOrCreate in a read-only allowed path',
    pod: podWith('/srv/models/planted/a/b', 'DirectoryOrCreate'),
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models/planted/a/b" when it is missing, but "/srv/models" is read-only; use Directory',
  },
  {
    name: 'FileOrCreate in a read-only allowed path',
    pod: podWith('/srv/models/evil.py', 'FileOrCreate'),
    denied: 'spec.volumes[1].hostPath.type: "FileOrCreate" has the kubelet create "/srv/models/evil.py" when it is missing, but "/srv/models" is read-only; use File',
  },
  {
    name: 'DirectoryOrCreate in a read-only built-in path, under handWrittenHostPaths: builtin',
    pod: podWith('/skills/new-skill', 'DirectoryOrCreate'),
    policy: BUILTIN,
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/skills/new-skill" when it is missing, but "/skills" is read-only; use Directory',
  },
  { name: 'control: Directory in a read-only path', pod: podWith('/srv/models/llama', 'Directory'), denied: undefined },
  {
    name: 'no type in a read-only path: the container runtime creates a missing one',
    pod: podWith('/srv/models/llama', ''),
    denied: 'spec.volumes[1].hostPath.type: is not set, so the container runtime creates "/srv/models/llama" when it is missing, but "/srv/models" is read-only; use Directory',
  },
  ...['File', 'Socket', 'CharDevice', 'BlockDevice'].map((type): Row => ({ name: `control: ${type} in a read-only path creates nothing`, pod: podWith('/srv/models/x', type), denied: undefined })),
  { name: 'control: DirectoryOrCreate in a read-write path', pod: podWith('/srv/models/scratch/x', 'DirectoryOrCreate', { readOnly: false }), denied: undefined },
  {
    name: 'control: DirectoryOrCreate of a read-write path that holds a read-only entry (creates nothing inside it)',
    pod: podWith('/srv/sandbox', 'DirectoryOrCreate'),
    policy: HOLDING,
    denied: undefined,
  },
  {
    name: 'a subPath on a read-only mount of a read-only path',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: 'x/y/z' }),
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPath', 'x/y/z', '"/srv/models"'),
  },
  {
    name: 'a subPathExpr on a read-only mount of a read-only path',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPathExpr: 'pods/$(POD_NAME)' }),
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPathExpr', 'pods/$(POD_NAME)', '"/srv/models"'),
  },
  {
    name: 'a subPath into the read-only entry below a read-write path',
    pod: podWith('/srv/sandbox', 'Directory', { readOnly: true, subPath: 'shared/planted' }),
    policy: HOLDING,
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/sandbox', 'subPath', 'shared/planted', '"/srv/sandbox/shared" inside it'),
  },
  {
    name: 'a subPath in an init container',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: 'x' }, 'initContainers'),
    denied: subPathDenial('spec.initContainers[0].volumeMounts[0]', 'init', '/srv/models', 'subPath', 'x', '"/srv/models"'),
  },
  {
    name: "a read-write mount with a subPath of a DirectoryOrCreate volume breaks three rules, named in the backstop's order",
    pod: podWith('/srv/models', 'DirectoryOrCreate', { subPath: 'x' }),
    denied: [
      'spec.containers[0].volumeMounts[1]: container "sandbox" mounts "/srv/models" read-write, but "/srv/models" is read-only',
      'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models" when it is missing, but "/srv/models" is read-only; use Directory',
      subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPath', 'x', '"/srv/models"'),
    ].join('; '),
  },
  {
    name: 'a volume outside the lists is named before an earlier one of a creating type',
    pod: sandboxPod({
      volumes: [
        { name: 'new', hostPath: { path: '/srv/models/new', type: 'DirectoryOrCreate' } },
        { name: 'etc', hostPath: { path: '/etc', type: 'Directory' } },
      ],
      containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'new', mountPath: '/a', readOnly: true }, { name: 'etc', mountPath: '/b', readOnly: true }] }],
    }),
    denied: [
      'spec.volumes[1].hostPath.path: "/etc" is not under any allowed or built-in host path',
      'spec.volumes[0].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models/new" when it is missing, but "/srv/models" is read-only; use Directory',
    ].join('; '),
  },
  {
    name: 'a MountPolicy that makes the path read-only, beside a read-only cluster entry below it',
    pod: podWith('/srv/tenants/team-a/ref/new', 'DirectoryOrCreate'),
    policy: layeredPolicy(policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/team-a/ref/new/frozen', readOnly: true }] }), {
      known: true,
      policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/skills' }, { pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/ref', readOnly: true }] }))],
    }),
    denied:
      'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/tenants/team-a/ref/new" when it is missing, but "/srv/tenants/team-a/ref" of MountPolicy team-a/tenant is read-only; use Directory',
  },
  {
    name: 'a read-only built-in over a path that also holds a read-only entry below it (handWrittenHostPaths: builtin)',
    pod: podWith('/data/work', 'DirectoryOrCreate'),
    policy: policyOf({
      allowedHostPaths: [{ pathPrefix: '/data/work' }, { pathPrefix: '/data/work/frozen', readOnly: true }],
      builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/data', readOnly: true }],
      handWrittenHostPaths: 'builtin',
    }),
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/data/work" when it is missing, but "/data" is read-only; use Directory',
  },
  { name: 'control: an empty subPath', pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: '' }), denied: undefined },
  { name: 'control: a subPath in a read-write path', pod: podWith('/srv/models/scratch', 'Directory', { readOnly: false, subPath: 'x' }), denied: undefined },
];

/** One test per row: /validate admits the Pod, or refuses it with exactly `denied`, by rules that `rulesHold` accepts. */
function itJudges(rows: readonly Row[], rulesHold: (rules: string[]) => boolean): void {
  for (const row of rows) {
    it(row.name, () => {
      const verdict = decide('validate', requestFor(row.pod), row.policy ?? DEFAULT);
      if (row.denied === undefined) {
        expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
        return;
      }
      if (verdict.allowed) throw new Error('expected a denial');
      expect(verdict.violations.map((v) => v.rule)).to.satisfy(rulesHold);
      expect(denialMessage(verdict.violations)).to.equal(`mountgate denied the Pod: ${row.denied}`);
    });
  }
}

describe('admission: the kubelet creates nothing in a read-only host path', () => {
  itJudges(ROWS, (rules) => rules.includes('host-path-volume-creates'));

  it("a subPath on a mount of a volume the annotation brought in, in an init container: refused", () => {
    const asked = sandboxPod({ mounts: [{ hostPath: '/srv/models/llama', mountPath: '/mnt/models' }] });
    const mutated = decide('mutate', requestFor(asked), DEFAULT);
    if (!mutated.allowed) throw new Error(`mutate denied: ${denialMessage(mutated.violations)}`);
    const pod = applyPatch(structuredClone(asked), structuredClone([...mutated.patch]), true, false).newDocument as { spec: Record<string, unknown> };
    const name = expectedVolumeName('/srv/models/llama');
    pod.spec.initContainers = [{ name: 'init', image: 'init:1', volumeMounts: [{ name, mountPath: '/m', readOnly: true, subPath: 'planted' }] }];
    const verdict = decide('validate', requestFor(pod), DEFAULT);
    if (verdict.allowed) throw new Error('expected a denial');
    expect(denialMessage(verdict.violations)).to.equal(
      `mountgate denied the Pod: ${subPathDenial('spec.initContainers[0].volumeMounts[0]', 'init', '/srv/models/llama', 'subPath', 'planted', '"/srv/models"')}`,
    );
  });

  it('is judged at creation only: kubectl debug on a Pod created before the rule is not refused for it', () => {
    const created = podWith('/srv/models', 'DirectoryOrCreate', { readOnly: true, subPath: 'x' });
    const spec = created.spec as Record<string, unknown>;
    const debugged = { ...created, spec: { ...spec, ephemeralContainers: [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'own', mountPath: '/own', readOnly: true }] }] } };
    const verdict = decide('validate', requestFor(debugged, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: created }), DEFAULT);
    expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
    expect(decide('validate', requestFor(created), DEFAULT).allowed, 'the same Pod at creation').to.equal(false);
  });

  describe('under hostPathType: DirectoryOrCreate only mountgate\'s own volumes, of that type, may be created', () => {
    const policy = policyOf({ hostPathType: 'DirectoryOrCreate' });
    const injectedName = expectedVolumeName('/srv/models/llama');
    const rows: ReadonlyArray<{ readonly name: string; readonly volume: string; readonly type?: string; readonly denied: readonly string[] }> = [
      {
        name: 'a mountgate- volume of another creating type (none) is still refused',
        volume: injectedName,
        denied: [
          `spec.volumes[1]: volume "${injectedName}" mounts "/srv/models/llama" from the host, but no annotation asks for it`,
          'spec.volumes[1].hostPath.type: is not set, so the container runtime creates "/srv/models/llama" when it is missing, but "/srv/models" is read-only; use Directory',
        ],
      },
      {
        name: 'a hand-written DirectoryOrCreate volume is still refused',
        volume: 'own',
        type: 'DirectoryOrCreate',
        denied: ['spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models/llama" when it is missing, but "/srv/models" is read-only; use Directory'],
      },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const pod = sandboxPod({
          volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name: row.volume, hostPath: { path: '/srv/models/llama', ...(row.type === undefined ? {} : { type: row.type }) } }],
          containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }, { name: row.volume, mountPath: '/m', readOnly: true }] }],
        });
        const verdict = decide('validate', requestFor(pod), policy);
        expect(verdict.allowed ? [] : verdict.violations.map(describeViolation)).to.deep.equal(row.denied);
      });
    }
  });

  it("mountgate's own volume keeps the policy's hostPathType: DirectoryOrCreate for a read-only request is admitted", () => {
    const policy = policyOf({ hostPathType: 'DirectoryOrCreate' });
    const asked = sandboxPod({ mounts: [{ hostPath: '/srv/models/llama', mountPath: '/mnt/models' }] });
    const mutated = decide('mutate', requestFor(asked), policy);
    if (!mutated.allowed) throw new Error(`mutate denied: ${denialMessage(mutated.violations)}`);
    const pod = applyPatch(structuredClone(asked), structuredClone([...mutated.patch]), true, false).newDocument;
    expect(JSON.stringify(pod)).to.contain('"type":"DirectoryOrCreate"');
    const verdict = decide('validate', requestFor(pod), policy);
    expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
  });
});

/**
 * A mount point inside a read-only host mount of the same container: the container runtime makes a missing one
 * in the host path, as root. runc makes the mount read-only at once and then fails with "read-only file system";
 * crun (1.8.1 tested) makes every read-only mount read-only only after the last mount, so the directory or
 * file is made on the node. Mount points come from the container's other mounts, its terminationMessagePath and
 * what the node mounts into every container (/etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/shm); crun makes a
 * missing workingDir there too.
 */
describe('admission: no mount point is made inside a read-only host mount', () => {
  const RUNTIME = '(crun makes it before it makes the mount read-only)';
  const KEEP = 'keep mount points out of read-only host paths';
  const own = (path = '/srv/models', at = '/mnt/own'): Mount => ({ name: 'own', mountPath: at, readOnly: true, _path: path });
  /** The sandbox with the skills volume, the read-only hostPath volume "own" and an emptyDir "scratch", mounted as `mounts` say. */
  function nested(mounts: Mount[], extra: Record<string, unknown> = {}, path = '/srv/models'): Record<string, unknown> {
    return sandboxPod({
      volumes: [
        { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
        { name: 'own', hostPath: { path, type: 'Directory' } },
        { name: 'scratch', emptyDir: {} },
        // A claim of a block-mode PersistentVolume, which a container takes as a device (volumeDevices).
        { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } },
      ],
      containers: [
        {
          name: 'sandbox',
          image: 'sandbox:1',
          terminationMessagePath: '/dev/termination-log',
          ...extra,
          volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }, ...mounts.map(({ _path, ...mount }) => mount)],
        },
      ],
    });
  }
  const scratch = (at: string): Mount => ({ name: 'scratch', mountPath: at });
  /** The denial of the node's three /etc files, made in /srv/models through its mount at /etc, the container's mount `mountIndex`. */
  const etcFilesMadeIn = (mountIndex: number): string =>
    ['hosts', 'hostname', 'resolv.conf']
      .map(
        (file) =>
          `spec.containers[0].volumeMounts[${mountIndex}].mountPath: container "sandbox" has "/etc/${file}" mounted by the node, as every container has, inside its mount of "/srv/models" at "/etc", ` +
          `so the container runtime makes the mount point "/srv/models/${file}" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
      )
      .join('; ');

  const rows: readonly Row[] = [
    {
      name: 'an emptyDir mounted inside a read-only mount of a read-only path',
      pod: nested([own(), scratch('/mnt/own/cache')]),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'a mount written with "//" lies where the runtime mounts it',
      pod: nested([own(), scratch('/mnt/own//a/b')]),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own//a/b", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/a/b" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'the termination message file inside a read-only mount',
      pod: nested([own()], { terminationMessagePath: '/mnt/own/exit.log' }),
      denied:
        'spec.containers[0].terminationMessagePath: container "sandbox" has its termination message file mounted at "/mnt/own/exit.log", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/exit.log" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'the working directory inside a read-only mount (crun makes it, with its parents)',
      pod: nested([own()], { workingDir: '/mnt/own/wd/deeper' }),
      denied:
        'spec.containers[0].workingDir: container "sandbox" has its working directory at "/mnt/own/wd/deeper", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the directory "/srv/models/wd/deeper" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    { name: 'control: the working directory is the read-only mount itself (it exists)', pod: nested([own()], { workingDir: '/mnt/own' }), denied: undefined },
    {
      name: 'a read-only path mounted at /etc, where the node mounts /etc/hosts, /etc/hostname and /etc/resolv.conf',
      pod: nested([own('/srv/models', '/etc')]),
      denied: etcFilesMadeIn(1),
    },
    {
      name: 'a read-only path mounted at the container root "/": every other mount point of the container is made in it',
      pod: nested([own('/srv/models', '/')]),
      denied: [
        'spec.containers[0].volumeMounts[0].mountPath: container "sandbox" mounts volume "skills" at "/mnt/skills", inside its mount of "/srv/models" at "/", ' +
          `so the container runtime makes the mount point "/srv/models/mnt/skills" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
        'spec.containers[0].terminationMessagePath: container "sandbox" has its termination message file mounted at "/dev/termination-log", inside its mount of "/srv/models" at "/", ' +
          `so the container runtime makes the mount point "/srv/models/dev/termination-log" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
        ...['/etc/hosts', '/etc/hostname', '/etc/resolv.conf', '/dev/shm'].map(
          (file) =>
            `spec.containers[0].volumeMounts[1].mountPath: container "sandbox" has "${file}" mounted by the node, as every container has, inside its mount of "/srv/models" at "/", ` +
            `so the container runtime makes the mount point "/srv/models${file}" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
        ),
      ].join('; '),
    },
    {
      name: 'a read-only path mounted at /dev, where the node mounts the Pod\'s shared memory at /dev/shm (the termination file elsewhere)',
      pod: nested([own('/srv/models', '/dev')], { terminationMessagePath: '/tmp/termination-log' }),
      denied:
        'spec.containers[0].volumeMounts[1].mountPath: container "sandbox" has "/dev/shm" mounted by the node, as every container has, inside its mount of "/srv/models" at "/dev", ' +
        `so the container runtime makes the mount point "/srv/models/shm" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'a read-only path mounted at /dev with the container\'s own /dev/shm: that mount point is named once (the node then mounts none there)',
      pod: nested([own('/srv/models', '/dev'), scratch('/dev/shm')], { terminationMessagePath: '/tmp/termination-log' }),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/dev/shm", inside its mount of "/srv/models" at "/dev", ' +
        `so the container runtime makes the mount point "/srv/models/shm" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'a mount inside a read-only mount of a path that holds a read-only entry',
      pod: nested([own('/srv/sandbox'), scratch('/mnt/own/shared/x')], {}, '/srv/sandbox'),
      policy: HOLDING,
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/shared/x", inside its mount of "/srv/sandbox" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/sandbox/shared/x" when it is missing ${RUNTIME}, but "/srv/sandbox/shared" is read-only; ${KEEP}`,
    },
    {
      name: 'control: a mount inside a read-only mount of a path that holds a read-only entry, beside that entry (made where the path may be written)',
      pod: nested([own('/srv/sandbox'), scratch('/mnt/own/other')], {}, '/srv/sandbox'),
      policy: HOLDING,
      denied: undefined,
    },
    {
      name: "control: a read-write entry's own directory inside a read-only one, mounted inside a read-only mount of it (as a DirectoryOrCreate volume of it may make it)",
      pod: nested([own(), { name: 'scratch', mountPath: '/mnt/own/scratch' }]),
      denied: undefined,
    },
    {
      name: 'only the closest mount around a mount point counts: one inside an emptyDir inside the read-only mount is made in the emptyDir',
      pod: nested([own(), scratch('/mnt/own/cache'), { name: 'skills', mountPath: '/mnt/own/cache/skills', readOnly: true }]),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'mounts stacked at one place ("/mnt/own" and "/mnt/own/"): the read-only one may be on top, though an emptyDir there is listed first',
      pod: nested([scratch('/mnt/own'), own('/srv/models', '/mnt/own/'), scratch('/mnt/own/cache')]),
      denied:
        'spec.containers[0].volumeMounts[3].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own/", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: `more than ${JUDGED_STACK} read-only host mounts stacked at one place: a mount point inside them is refused without judging each`,
      pod: nested([...Array.from({ length: JUDGED_STACK + 1 }, (_, i) => own('/srv/models', `/mnt/${'/'.repeat(i)}own`)), scratch('/mnt/own/cache')]),
      denied:
        `spec.containers[0].volumeMounts[${JUDGED_STACK + 2}].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", ` +
        `inside ${JUDGED_STACK + 1} mounts of read-only host paths stacked at "/mnt/own", more than are judged one by one ` +
        `(the container runtime makes the mount point in whichever is on top); ${KEEP}`,
    },
    { name: 'control: a mount beside the read-only mount (a longer name, not a segment below)', pod: nested([own(), scratch('/mnt/own2')]), denied: undefined },
    { name: 'control: a read-only mount inside a read-write one (a read-only directory inside a workspace)', pod: nested([scratch('/work'), own('/srv/models', '/work/models')]), denied: undefined },
    {
      name: 'control: a read-write path mounted read-only, with a mount inside it (the path may be written)',
      pod: nested([own('/srv/sandbox/u1'), scratch('/mnt/own/cache')], {}, '/srv/sandbox/u1'),
      denied: undefined,
    },
    {
      name: 'under handWrittenHostPaths: builtin, a mount point in a hand-written volume is judged as that volume is: a read-write allowed entry inside the read-only built-in may not be made',
      pod: nested([own('/data'), scratch('/mnt/own/work')], {}, '/data'),
      policy: DATA_WORK_BUILTIN,
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/work", inside its mount of "/data" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/data/work" when it is missing ${RUNTIME}, but "/data" is read-only; ${KEEP}`,
    },
    {
      name: 'control: under handWrittenHostPaths: allowed, the read-write allowed entry inside the read-only built-in may be made',
      pod: nested([own('/data'), scratch('/mnt/own/work')], {}, '/data'),
      policy: DATA_WORK_ALLOWED,
      denied: undefined,
    },
    {
      name: 'a mount point that is no canonical path (a control character, a backslash, a quote) is escaped in every part of the message',
      pod: nested([own(), scratch('/mnt/own/a\u0001\\"b')]),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/a\\u0001\\\\\\"b", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/a\\u0001\\\\\\"b" when it is missing ${RUNTIME}, but "/srv/models/a\\u0001\\\\\\"b" is read-only; ${KEEP}`,
    },
    {
      name: "a block device (volumeDevices) inside a read-only mount: crun makes the device node, with its parents, before it makes the mount read-only",
      pod: nested([own()], { volumeDevices: [{ name: 'disk', devicePath: '/mnt/own/dev/disk0' }] }),
      denied:
        'spec.containers[0].volumeDevices[0].devicePath: container "sandbox" has the block device of volume "disk" at "/mnt/own/dev/disk0", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the device node "/srv/models/dev/disk0" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'a block device written with "//" lies where the runtime makes it',
      pod: nested([own('/srv/models', '/etc')], { volumeDevices: [{ name: 'disk', devicePath: '/etc//x' }] }),
      denied: [
        'spec.containers[0].volumeDevices[0].devicePath: container "sandbox" has the block device of volume "disk" at "/etc//x", inside its mount of "/srv/models" at "/etc", ' +
          `so the container runtime makes the device node "/srv/models/x" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
        ...['hosts', 'hostname', 'resolv.conf'].map(
          (file) =>
            `spec.containers[0].volumeMounts[1].mountPath: container "sandbox" has "/etc/${file}" mounted by the node, as every container has, inside its mount of "/srv/models" at "/etc", ` +
            `so the container runtime makes the mount point "/srv/models/${file}" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
        ),
      ].join('; '),
    },
    { name: 'control: a block device beside the read-only mount', pod: nested([own()], { volumeDevices: [{ name: 'disk', devicePath: '/dev/xvdb' }] }), denied: undefined },
    {
      name: 'control: a block device inside an emptyDir inside the read-only mount is made in the emptyDir',
      pod: nested([own(), scratch('/mnt/own/cache')], { volumeDevices: [{ name: 'disk', devicePath: '/mnt/own/cache/disk0' }] }),
      denied:
        'spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'two mounts at one mount point, spelt apart ("/mnt/own/" and "/mnt/own"): the runtime mounts both, the later on top, so the read-only one counts',
      pod: nested([scratch('/mnt/own/'), own(), scratch('/mnt/own/cache')]),
      denied:
        'spec.containers[0].volumeMounts[3].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
    {
      name: 'two mounts at /etc, spelt "/etc//" and "/etc": the files the node mounts there are made in the read-only one',
      pod: nested([scratch('/etc//'), own('/srv/models', '/etc')]),
      denied: etcFilesMadeIn(2),
    },
    {
      name: 'two mounts at one mount point, the read-only one first: it still counts (the runtime may mount mounts of one depth in either order)',
      pod: nested([own(), scratch('/mnt//own'), scratch('/mnt/own/cache')]),
      denied:
        'spec.containers[0].volumeMounts[3].mountPath: container "sandbox" mounts volume "scratch" at "/mnt/own/cache", inside its mount of "/srv/models" at "/mnt/own", ' +
        `so the container runtime makes the mount point "/srv/models/cache" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    },
  ];

  itJudges(rows, (rules) => rules.every((rule) => rule === 'host-path-volume-creates'));

  it("deer-flow's layout is admitted: the read-write Lark locks inside the read-only Lark config, in the sandbox and in the broker sidecar", () => {
    const text = readFileSync('examples/deer-flow-policy.yaml', 'utf8');
    const extras = extraMountsFor('u1', 't1');
    const asked = [extras.larkConfig, extras.larkLocks, extras.larkData, extras.larkRuntime, extras.acpWorkspace, extras.integrationSkills];
    for (const handWritten of ['allowed', 'builtin']) {
      const policy = parsePolicy(`${text}\nhandWrittenHostPaths: ${handWritten}\n`, 'deer-flow-policy.yaml');
      for (const pod of [
        deerFlowSandboxPod({ sandboxId: 's1', userId: 'u1', threadId: 't1', extraMounts: asked }),
        deerFlowSandboxPod({ sandboxId: 's1', userId: 'u1', threadId: 't1', extraMounts: asked, larkBroker: true }),
      ]) {
        const verdict = decide('validate', requestFor(pod), policy);
        expect(verdict.allowed, verdict.allowed ? '' : `${handWritten}: ${denialMessage(verdict.violations)}`).to.equal(true);
      }
    }
  });

  it('a mount in another container is made in that container: admitted', () => {
    const pod = nested([own()]);
    (pod.spec as { initContainers?: unknown[] }).initContainers = [{ name: 'init', image: 'init:1', volumeMounts: [{ name: 'scratch', mountPath: '/mnt/own/cache' }] }];
    const verdict = decide('validate', requestFor(pod), DEFAULT);
    expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
  });

  it('nested requests of the annotation: a read-write request inside a read-only one is refused by /mutate, with the words of /validate', () => {
    const asked = sandboxPod({
      mounts: [
        { hostPath: '/srv/models/llama', mountPath: '/work' },
        { hostPath: '/srv/sandbox/u1', mountPath: '/work/out' },
      ],
    });
    const mutated = decide('mutate', requestFor(asked), DEFAULT);
    if (mutated.allowed) throw new Error('expected a denial');
    expect(denialMessage(mutated.violations)).to.equal(
      `mountgate denied the Pod: spec.containers[0].volumeMounts[2].mountPath: container "sandbox" mounts volume "${expectedVolumeName('/srv/sandbox/u1')}" at "/work/out", ` +
        `inside its mount of "/srv/models/llama" at "/work", so the container runtime makes the mount point "/srv/models/llama/out" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    );
    // The other way round is the layout of a read-only directory inside a workspace: admitted.
    const workspace = sandboxPod({
      mounts: [
        { hostPath: '/srv/sandbox/u1', mountPath: '/work' },
        { hostPath: '/srv/models/llama', mountPath: '/work/models' },
      ],
    });
    const admitted = decide('mutate', requestFor(workspace), DEFAULT);
    expect(admitted.allowed, admitted.allowed ? '' : denialMessage(admitted.violations)).to.equal(true);
  });

  it("a read-only request whose mount would hold the container's block device is refused by /mutate, with the words of /validate", () => {
    const asked = sandboxPod({
      mounts: [{ hostPath: '/srv/models/llama', mountPath: '/work' }],
      volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
      containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }], volumeDevices: [{ name: 'disk', devicePath: '/work/disk0' }] }],
    });
    const mutated = decide('mutate', requestFor(asked), DEFAULT);
    if (mutated.allowed) throw new Error('expected a denial');
    expect(denialMessage(mutated.violations)).to.equal(
      'mountgate denied the Pod: spec.containers[0].volumeDevices[0].devicePath: container "sandbox" has the block device of volume "disk" at "/work/disk0", ' +
        `inside its mount of "/srv/models/llama" at "/work", so the container runtime makes the device node "/srv/models/llama/disk0" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    );
  });

  it('/mutate names what /validate names first: a hand-written volume outside the lists before the mount point', () => {
    const asked = sandboxPod({
      mounts: [{ hostPath: '/srv/models/llama', mountPath: '/work' }],
      volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name: 'etc', hostPath: { path: '/etc', type: 'Directory' } }],
      containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'skills', mountPath: '/work/skills', readOnly: true }, { name: 'etc', mountPath: '/e', readOnly: true }] }],
    });
    const mutated = decide('mutate', requestFor(asked), DEFAULT);
    if (mutated.allowed) throw new Error('expected a denial');
    expect(denialMessage(mutated.violations)).to.equal(
      'mountgate denied the Pod: spec.volumes[1].hostPath.path: "/etc" is not under any allowed or built-in host path; ' +
        'spec.containers[0].volumeMounts[0].mountPath: container "sandbox" mounts volume "skills" at "/work/skills", ' +
        `inside its mount of "/srv/models/llama" at "/work", so the container runtime makes the mount point "/srv/models/llama/skills" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    );
  });

  it('kubectl debug: a debug container the update adds is judged, one added earlier (or the Pod\'s own) is not', () => {
    const created = nested([own(), scratch('/mnt/own/cache')]);
    const spec = created.spec as Record<string, unknown>;
    const debug = (name: string, at: string) => ({ name, image: 'busybox', volumeMounts: [{ name: 'own', mountPath: '/o', readOnly: true }, { name: 'scratch', mountPath: at }] });
    const before = { ...created, spec: { ...spec, ephemeralContainers: [debug('first', '/o/x')] } };
    const inside = { ...before, spec: { ...before.spec, ephemeralContainers: [debug('first', '/o/x'), debug('second', '/o/y')] } };
    const verdict = decide('validate', requestFor(inside, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: before }), DEFAULT);
    if (verdict.allowed) throw new Error('expected a denial');
    expect(denialMessage(verdict.violations)).to.equal(
      'mountgate denied the Pod: spec.ephemeralContainers[1].volumeMounts[1].mountPath: container "second" mounts volume "scratch" at "/o/y", inside its mount of "/srv/models" at "/o", ' +
        `so the container runtime makes the mount point "/srv/models/y" when it is missing ${RUNTIME}, but "/srv/models" is read-only; ${KEEP}`,
    );
    const beside = { ...before, spec: { ...before.spec, ephemeralContainers: [debug('first', '/o/x'), debug('second', '/p')] } };
    const allowed = decide('validate', requestFor(beside, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: before }), DEFAULT);
    expect(allowed.allowed, allowed.allowed ? '' : denialMessage(allowed.violations)).to.equal(true);
  });

  it('a hostile container with many nested mounts: the first are named, the rest counted, quickly', () => {
    const mounts = [own(), ...Array.from({ length: 5000 }, (_, i) => scratch(`/mnt/own/${'d/'.repeat(i % 50)}m${i}`))];
    const pod = nested(mounts);
    const started = performance.now();
    const verdict = decide('validate', requestFor(pod), DEFAULT);
    expect(performance.now() - started).to.be.below(1000);
    if (verdict.allowed) throw new Error('expected a denial');
    expect(verdict.violations).to.have.length(21);
    expect(describeViolation(verdict.violations[20] as Violation)).to.equal('spec: 4980 more mount points inside read-only host mounts');
  });
});
